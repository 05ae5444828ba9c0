// ScriptedServer: a loopback HTTP server for client tests that answers each request with the
// bytes a script gives, byte for byte, and closes or holds connections where a test needs it.
// It serves one connection at a time and frames requests by Content-Length only.
#pragma once

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cairn::testing {

inline bool ReadableWithin(int fd, std::chrono::milliseconds wait) {
  pollfd entry{fd, POLLIN, 0};
  return ::poll(&entry, 1, static_cast<int>(wait.count())) > 0;
}

class ScriptedServer {
 public:
  struct Reply {
    std::string bytes;
    bool close_after = false;  // close the connection after sending `bytes`
    bool silent = false;       // send nothing and hold the connection until the server stops
  };
  // connection number, request number on that connection, the request's bytes.
  using Script = std::function<Reply(int connection, int request, const std::string& bytes)>;

  explicit ScriptedServer(Script script) : script_(std::move(script)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  uint16_t Port() const { return port_; }
  int Connections() const { return connections_; }
  std::vector<std::string> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      if (!ReadableWithin(listener_, std::chrono::milliseconds(20))) continue;
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      ServeConnection(fd, connections_++);
      ::close(fd);
    }
  }

  void ServeConnection(int fd, int connection) {
    std::string buffer;
    for (int index = 0; !stop_; ++index) {
      std::optional<std::string> request = ReadRequest(fd, buffer);
      if (!request) return;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(*request);
      }
      const Reply reply = script_(connection, index, *request);
      if (reply.silent) {
        while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return;
      }
      if (!reply.bytes.empty()) {
        REQUIRE(::send(fd, reply.bytes.data(), reply.bytes.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(reply.bytes.size()));
      }
      if (reply.close_after) return;
    }
  }

  // The next whole request on `fd`, or nullopt when the client closes or the server stops.
  std::optional<std::string> ReadRequest(int fd, std::string& buffer) {
    for (;;) {
      const size_t head_end = buffer.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t body = 0;
        const size_t length = buffer.find("Content-Length: ");
        if (length != std::string::npos && length < head_end) body = std::stoul(buffer.substr(length + 16));
        const size_t total = head_end + 4 + body;
        if (buffer.size() >= total) {
          std::string request = buffer.substr(0, total);
          buffer.erase(0, total);
          return request;
        }
      }
      if (stop_) return std::nullopt;
      if (!ReadableWithin(fd, std::chrono::milliseconds(20))) continue;
      char chunk[4096];
      const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
      if (got <= 0) return std::nullopt;
      buffer.append(chunk, static_cast<size_t>(got));
    }
  }

  Script script_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace cairn::testing
