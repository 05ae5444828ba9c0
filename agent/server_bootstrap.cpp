#include "agent/server_bootstrap.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cairn::agent {

raft::NodeId ServerIdForNode(std::string_view node_name) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64-bit offset basis
  for (unsigned char c : node_name) {
    hash ^= c;
    hash *= 0x100000001b3ULL;  // FNV-1a 64-bit prime
  }
  return raft::NodeId{hash == 0 ? 1 : hash};
}

std::optional<ServerPeers> ExpectedServers(const std::vector<gossip::Member>& members, std::string_view datacenter,
                                           size_t expect) {
  ServerPeers peers;
  for (const gossip::Member& member : members) {
    if (member.state != gossip::MemberState::kAlive) continue;
    if (member.meta.role != "server" || member.meta.datacenter != datacenter) continue;
    Result<NetAddress> address = NetAddress::Parse(member.meta.rpc_address);
    if (!address.IsOk()) continue;
    peers[ServerIdForNode(member.name)] = *address;
  }
  if (peers.size() != expect) return std::nullopt;
  return peers;
}

Result<std::optional<ServerPeers>> LoadServerPeers(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::optional<ServerPeers>();
  ServerPeers peers;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    uint64_t id = 0;
    std::string address_text;
    if (!(fields >> id >> address_text) || id == 0) {
      return Status::Corruption(path + ":" + std::to_string(number) + ": want \"<raft id> <host:port>\"");
    }
    Result<NetAddress> address = NetAddress::Parse(address_text);
    if (!address.IsOk())
      return Status::Corruption(path + ":" + std::to_string(number) + ": " + address.GetStatus().Message());
    peers[raft::NodeId{id}] = *address;
  }
  if (peers.empty()) return Status::Corruption(path + ": no peers");
  return std::optional<ServerPeers>(std::move(peers));
}

namespace {

Status SyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return Status::IoError("open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IoError("fsync " + path + ": " + std::strerror(errno));
  return OkStatus();
}

}  // namespace

Status SaveServerPeers(const std::string& path, const ServerPeers& peers) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    for (const auto& [id, address] : peers) out << id.value << " " << address.ToString() << "\n";
    if (!out.flush()) return Status::IoError("cannot write " + temporary);
  }
  CAIRN_RETURN_IF_ERROR(SyncPath(temporary, O_RDONLY));
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) return Status::IoError("rename " + temporary + ": " + ec.message());
  return SyncPath(std::filesystem::path(path).parent_path().string(), O_RDONLY | O_DIRECTORY);
}

}  // namespace cairn::agent
