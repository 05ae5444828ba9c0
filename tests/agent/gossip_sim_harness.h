// A gossip cluster on the deterministic simulator: one GossipHost per simulated host, with
// helpers to crash, partition and slow members, and to measure convergence, detection,
// dissemination, false positives and traffic.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/gossip/gossip_host.h"
#include "tests/sim/simulator.h"

namespace cairn::gossip::simtest {

inline constexpr const char* kGossipTestBinary = "tests/agent/cairn_test_gossip";

struct ClusterOptions {
  size_t members = 10;
  double drop_probability = 0.0;
  Duration delay_min = std::chrono::microseconds(200);
  Duration delay_max = std::chrono::milliseconds(2);
  Duration join_spread = std::chrono::seconds(2);  // joins start at random times in this window
  // Members whose event loop runs late: every timer and every received datagram is handled up
  // to `slow_delay_max` late.
  std::set<size_t> slow;
  Duration slow_delay_max = std::chrono::milliseconds(0);
  GossipHostConfig host;  // swim.name/address/seed are filled per member
};

class Cluster {
 public:
  Cluster(uint64_t seed, const ClusterOptions& options);
  ~Cluster();

  sim::Simulator& Sim() { return sim_; }
  size_t Size() const { return hosts_.size(); }
  GossipHost& Host(size_t i) { return *hosts_[i]; }
  std::string Name(size_t i) const { return "node-" + std::to_string(i); }
  bool Up(size_t i) const { return hosts_[i] != nullptr; }

  // Every member joins through member 0 at a random moment within join_spread.
  void JoinAll();
  // Runs until every up member sees exactly the up members as live, or `limit` passes.
  // Returns the virtual time it took, or nullopt.
  std::optional<Duration> RunUntilConverged(Duration limit);
  bool Converged() const;
  // The member's machine goes away: nothing answers at its address any more.
  void Crash(size_t i);
  // Only the member's process dies (kill -9): its machine stays up and answers datagrams for
  // the closed port with port unreachable.
  void Kill(size_t i);
  // Brings a crashed member back as a fresh process (incarnation 0) and joins it again.
  void Restart(size_t i);
  void Partition(const std::vector<size_t>& a, const std::vector<size_t>& b);
  void Heal();
  void RunFor(Duration d) { sim_.RunFor(d); }

  // kFailed events about members that were up (not crashed) when reported.
  uint64_t FalseFailures() const { return false_failures_; }
  std::set<std::string> FalselyFailed() const { return falsely_failed_; }
  uint64_t SuspectEvents() const { return suspect_events_; }
  // First time any member reported `kind` about `name`, and how many reports there were.
  std::optional<MonoTime> FirstEvent(EventKind kind, const std::string& name) const;
  size_t Reporters(EventKind kind, const std::string& name) const;
  MonoTime LastEvent(EventKind kind, const std::string& name) const;
  // Members (up) whose view of `name` is in `state`.
  size_t CountSeeing(const std::string& name, MemberState state) const;

  struct Traffic {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t tcp_bytes = 0;
  };
  Traffic TotalTraffic() const;

  std::string Repro(const char* suite) const;

 private:
  class SlowEnv;
  void OnEvent(size_t observer, const MemberEvent& e);
  std::unique_ptr<GossipHost> StartHost(size_t i);

  sim::Simulator sim_;
  ClusterOptions options_;
  std::vector<std::unique_ptr<SlowEnv>> slow_envs_;
  std::vector<std::unique_ptr<GossipHost>> hosts_;
  std::set<std::string> crashed_;
  uint64_t false_failures_ = 0;
  std::set<std::string> falsely_failed_;
  uint64_t suspect_events_ = 0;
  struct Seen {
    MonoTime first;
    MonoTime last;
    size_t reports = 0;  // one per observer: each reports a transition once
  };
  std::map<std::pair<EventKind, std::string>, Seen> seen_;
  Traffic crashed_traffic_;
};

double Seconds(Duration d);

}  // namespace cairn::gossip::simtest
