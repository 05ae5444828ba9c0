#pragma once
// Ports for tests that start real listeners on 127.0.0.1.
//
// Binding port 0 and handing the number on races twice: a test running beside it may pick the
// same number, and the kernel may give it to any outgoing connection as its local port before
// the listener binds it. So ports come from below the kernel's ephemeral range (32768+ on
// Linux, see /proc/sys/net/ipv4/ip_local_port_range) and are reserved across processes with a
// lock file per port, the same files tests/compat/cairn_agent.py uses.

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string>

namespace cairn::testing {

inline constexpr int kTestPortFirst = 20000;
inline constexpr int kTestPortLast = 32000;
// A reservation older than this belongs to a test that has finished.
inline constexpr time_t kTestPortLeaseSeconds = 3600;

inline std::string TestPortDirectory() {
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/cairn-test-ports";
}

// True if nothing on this host holds `port` on 127.0.0.1 for `type` (SOCK_STREAM or SOCK_DGRAM).
inline bool LoopbackPortFree(int port, int type) {
  const int fd = ::socket(AF_INET, type, 0);
  if (fd < 0) return false;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the listeners themselves do
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return bound;
}

// Claims the lock file of `port`, taking over one whose lease has run out.
inline bool ClaimTestPort(const std::string& directory, int port) {
  const std::string path = directory + "/" + std::to_string(port);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0 || std::time(nullptr) - info.st_mtime < kTestPortLeaseSeconds) return false;
    ::unlink(path.c_str());
  }
  return false;
}

// A port on 127.0.0.1, free for both TCP and UDP, that no other test will be given for an hour.
inline uint16_t ReserveLoopbackPort() {
  const std::string directory = TestPortDirectory();
  ::mkdir(directory.c_str(), 0777);
  const int span = kTestPortLast - kTestPortFirst + 1;
  const auto seed = static_cast<unsigned>(::getpid()) * 2654435761u ^ static_cast<unsigned>(std::time(nullptr));
  static unsigned next = seed;
  for (int tries = 0; tries < span; ++tries) {
    const int port = kTestPortFirst + static_cast<int>(next++ % static_cast<unsigned>(span));
    if (!LoopbackPortFree(port, SOCK_STREAM) || !LoopbackPortFree(port, SOCK_DGRAM)) continue;
    if (ClaimTestPort(directory, port)) return static_cast<uint16_t>(port);
  }
  throw std::runtime_error("no free test port in " + directory);
}

}  // namespace cairn::testing
