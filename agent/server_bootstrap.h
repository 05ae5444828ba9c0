// How servers find each other and form the first Raft configuration.
//
// Servers gossip like every agent and advertise role "server" with their Raft address. A new
// server waits until it sees `bootstrap_expect` alive servers of its datacenter (itself
// included); each of them then computes the same voter set from the same membership and
// starts Raft with it. The set is saved in the data dir before Raft starts, so a restarted
// server never bootstraps a second time: it starts from its saved peers and its Raft log.
//
// A server's Raft id is derived from its node name (unique in a datacenter), so every server
// computes every other's id without another round of messages.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/gossip/types.h"
#include "common/env.h"
#include "common/status.h"
#include "server/raft/types.h"

namespace cairn::agent {

using ServerPeers = std::map<raft::NodeId, NetAddress>;

// FNV-1a of the node name, never 0 (0 means "no node" in Raft).
raft::NodeId ServerIdForNode(std::string_view node_name);

// The voter set once exactly `expect` alive servers of `datacenter` are known; nullopt while
// fewer are (or more: that is a configuration error the caller reports).
std::optional<ServerPeers> ExpectedServers(const std::vector<gossip::Member>& members, std::string_view datacenter,
                                           size_t expect);

// The saved voter set in `path` (one "id host:port" line each), nullopt if none was saved.
// kCorruption names a malformed line.
Result<std::optional<ServerPeers>> LoadServerPeers(const std::string& path);
// Writes the set durably (temporary file, fsync, rename, fsync of the directory).
Status SaveServerPeers(const std::string& path, const ServerPeers& peers);

}  // namespace cairn::agent
