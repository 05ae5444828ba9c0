// ServerPool: the servers a client agent can send requests to, and the one it uses now.
//
// A client agent learns the servers of its datacenter from gossip metadata (role "server",
// the HTTP address) and keeps using one of them, so that its requests share one keep-alive
// connection. When a request to that server fails, the server goes to the back of the list and
// the next one takes over (failover). Every RebalanceInterval the agent picks a random server
// again, so that clients spread over servers that joined after them (rebalancing).
//
// The rebalance interval follows Consul's client router (agent/router/manager.go): at least
// two minutes plus up to one more minute of jitter, and long enough that all clients together
// reconnect at no more than 64 connections per second per server.
//
// Threads: every method may be called from any thread (the loop updates the list, HTTP
// workers read the current server and report failures).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/gossip/types.h"
#include "common/env.h"
#include "common/random.h"

namespace cairn::agent {

class ServerPool {
 public:
  explicit ServerPool(uint64_t seed) : prng_(seed) {}

  // Keeps the alive servers of `datacenter` among `members` (by their HTTP addresses). The
  // current server stays current if it is still there; a newcomer goes to a random place
  // behind it. Returns true when the set of servers changed.
  bool Update(const std::vector<gossip::Member>& members, const std::string& datacenter);
  // The server to use now; nullopt when none is known.
  std::optional<std::string> Current() const;
  // A request to `server` failed: it goes to the back, so the next server is used. A report
  // about a server that is no longer current (another request already failed over) is ignored.
  void Failed(const std::string& server);
  // Picks the current server at random.
  void Rebalance();
  size_t Size() const;
  std::vector<std::string> Servers() const;

  static Duration RebalanceInterval(size_t servers, size_t members, Prng& prng);

 private:
  mutable std::mutex mu_;
  std::vector<std::string> servers_;  // servers_.front() is current
  Prng prng_;
};

}  // namespace cairn::agent
