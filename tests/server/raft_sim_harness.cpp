#include "tests/server/raft_sim_harness.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "common/codec.h"
#include "common/random.h"
#include "server/raft/memory_storage.h"
#include "server/raft/message_codec.h"

namespace cairn::raft::sim {
namespace {

constexpr uint64_t kTickUnits = 100;

uint64_t Mix(uint64_t h, uint64_t v) {
  uint64_t s = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  return SplitMix64(s);
}

uint64_t HashString(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return h;
}

uint64_t EntryDigest(const Entry& e) {
  return Mix(Mix(HashString(e.data), static_cast<uint64_t>(e.type)), e.term.value);
}

// The state machine's snapshot image: the applied index and the hash chain up to it.
std::string EncodeImage(Index index, uint64_t hash) {
  Encoder enc;
  enc.PutVarint64(index.value);
  enc.PutFixed64(hash);
  return enc.Take();
}

enum class EventKind : uint8_t { kDeliver = 0, kDiskDone, kTick, kChaos };

struct Event {
  uint64_t time;
  uint64_t seq;
  EventKind kind;
  uint64_t node;         // target node id
  uint64_t incarnation;  // for kDiskDone / kTick: stale after a crash
  std::string payload;   // encoded message for kDeliver
  bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

struct PendingProposal {
  uint64_t incarnation;
  LogPosition position;
  std::string data;
};

struct SimNode {
  NodeId id;
  MemoryStorage storage;  // durable
  std::unique_ptr<Raft> raft;
  uint64_t incarnation = 0;
  bool up = false;
  bool stopped = false;  // removed from the cluster and shut down for good
  std::optional<Ready> pending_ready;
  uint64_t tick_period = kTickUnits;
  // State machine (volatile; rebuilt from the snapshot on restart).
  Index applied;
  uint64_t hash = 0;
  Configuration config;
  Index snapshot_index;
  // Observation for the checker.
  Role last_role = Role::kFollower;
  Term last_term;
  std::vector<PendingProposal> proposals;
};

struct Fault {
  double drop = 0;
  double duplicate = 0;
  uint64_t delay_max = 100;
};

class Cluster {
 public:
  Cluster(uint64_t seed, const SimOptions& options);
  SimResult Run();

 private:
  // setup
  void DrawOptions();
  SimNode& AddNode(NodeId id, bool bootstrap);
  void StartNode(SimNode& n);
  void CrashNode(SimNode& n);
  RaftConfig MakeRaftConfig(NodeId id);

  // events
  void Schedule(uint64_t delay, EventKind kind, uint64_t node, uint64_t incarnation, std::string payload = {});
  void HandleEvent(const Event& ev);
  void SendAll(SimNode& from, const std::vector<Message>& msgs);
  void ProcessReady(SimNode& n);
  void FinishDiskWrite(SimNode& n);
  void ApplyEntry(SimNode& n, const Entry& e);
  void ApplySnapshot(SimNode& n, const Snapshot& snap);
  void MaybeTakeSnapshot(SimNode& n);

  // workload and faults
  void Chaos();
  void Calm();
  void ChaosPartition();
  void Propose(const std::string& data);
  void ChangeMembership();
  SimNode* Leader();
  std::vector<SimNode*> UpNodes();

  // checker
  void CheckAfterEvent(SimNode& n);
  void CheckNewEntries(SimNode& n, const std::vector<Entry>& entries);
  void CheckLeaderCompleteness(SimNode& n);
  void CheckDurableMatches();
  void CheckAcknowledgedSurvive();
  void CheckElectability();
  void Violation(const std::string& what);
  void Trace(const std::string& line);
  bool Converged();

  uint64_t seed_;
  SimOptions opt_;
  Prng prng_;
  Fault fault_;
  SimResult result_;
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  uint64_t next_node_id_ = 1;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  std::map<uint64_t, std::unique_ptr<SimNode>> nodes_;
  std::set<std::pair<uint64_t, uint64_t>> blocked_;
  bool calm_ = false;

  // Global knowledge for the checker.
  std::vector<Entry> committed_;  // committed_[i-1] = the entry applied at index i
  std::vector<uint64_t> chain_;   // chain_[i-1] = hash chain through index i
  std::map<uint64_t, uint64_t> leader_of_term_;
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> log_entries_;  // (i,t)->(digest, prev term)
  std::map<std::string, uint64_t> reads_;  // context -> index the read point must reach
  uint64_t max_acked_index_ = 0;
  std::set<uint64_t> acked_indexes_;
  uint64_t proposal_seq_ = 0;
  uint64_t read_seq_ = 0;
  std::optional<std::string> final_data_;
  bool final_acked_ = false;
};

Cluster::Cluster(uint64_t seed, const SimOptions& options) : seed_(seed), opt_(options), prng_(seed) {
  if (opt_.swarm) DrawOptions();
  // Index 1 is the founding configuration (see AddNode); it is committed by construction.
  committed_.push_back(Entry{Term(1), Index(1), EntryType::kNormal, {}});
  chain_.push_back(0);
  fault_ = Fault{opt_.drop_probability, opt_.duplicate_probability, opt_.delay_max_units};
  for (int i = 0; i < opt_.voters; ++i) AddNode(NodeId(next_node_id_++), true);
  for (auto& [id, n] : nodes_) StartNode(*n);
  Schedule(kTickUnits, EventKind::kChaos, 0, 0);
}

// Swarm testing: each seed gets its own mix of faults, so rare combinations show up.
void Cluster::DrawOptions() {
  const double drops[] = {0.0, 0.01, 0.05, 0.2};
  const double dups[] = {0.0, 0.02, 0.1};
  const uint64_t delays[] = {20, 100, 300};
  const double crashes[] = {0.0, 0.005, 0.02};
  const double partitions[] = {0.0, 0.02, 0.05};
  opt_.drop_probability = drops[prng_.Below(4)];
  opt_.duplicate_probability = dups[prng_.Below(3)];
  opt_.delay_max_units = delays[prng_.Below(3)];
  opt_.disk_delay_max_units = 1 + prng_.Below(120);
  opt_.crash_per_tick = crashes[prng_.Below(3)] * (opt_.bug == TestingBug::kNone ? 1 : 2);
  opt_.partition_per_tick = partitions[prng_.Below(3)];
  opt_.member_change_per_tick = prng_.Chance(0.5) ? 0.02 : 0.0;
  opt_.transfer_per_tick = prng_.Chance(0.3) ? 0.01 : 0.0;
  opt_.lease_reads = prng_.Chance(0.3);
  const uint64_t append_bytes[] = {1, 256, 4096};  // 1: one entry per message
  opt_.append_bytes_max = append_bytes[prng_.Below(3)];
}

RaftConfig Cluster::MakeRaftConfig(NodeId id) {
  RaftConfig cfg;
  cfg.id = id;
  cfg.election_timeout_ticks = 10;
  cfg.heartbeat_ticks = 2;
  cfg.pre_vote = true;
  cfg.check_quorum = true;
  cfg.read_mode = opt_.lease_reads ? ReadMode::kLease : ReadMode::kSafe;
  cfg.append_bytes_max = opt_.append_bytes_max;
  cfg.inflight_messages_max = 4;
  cfg.seed = prng_.Next64();
  cfg.testing_bug = opt_.bug;
  return cfg;
}

SimNode& Cluster::AddNode(NodeId id, bool bootstrap) {
  auto node = std::make_unique<SimNode>();
  node->id = id;
  node->tick_period = kTickUnits - 5 + prng_.Below(11);
  if (bootstrap) {
    // Every founding member starts from the same snapshot at index 1 holding the founding
    // configuration, as a bootstrap tool would write it.
    Configuration config;
    for (int i = 1; i <= opt_.voters; ++i) config.voters.push_back(NodeId(static_cast<uint64_t>(i)));
    Snapshot snap;
    snap.meta = SnapshotMeta{Index(1), Term(1), config};
    snap.data = EncodeImage(Index(1), 0);
    (void)node->storage.ApplySnapshot(snap);
    (void)node->storage.SetHardState(HardState{Term(1), kNoNode, Index(1)});
  }
  SimNode& ref = *node;
  nodes_[id.value] = std::move(node);
  return ref;
}

void Cluster::StartNode(SimNode& n) {
  Result<std::unique_ptr<Raft>> raft = Raft::Create(MakeRaftConfig(n.id), n.storage);
  if (!raft.IsOk()) {
    Violation("node " + std::to_string(n.id.value) + " failed to restart: " + raft.GetStatus().ToString());
    return;
  }
  n.raft = std::move(raft).Value();
  n.up = true;
  ++n.incarnation;
  n.pending_ready.reset();
  n.proposals.clear();
  Result<Snapshot> snap = n.storage.GetSnapshot();
  n.applied = Index(0);
  n.hash = 0;
  n.config = Configuration{};
  n.snapshot_index = Index(0);
  if (!snap->Empty()) ApplySnapshot(n, *snap);
  n.last_role = Role::kFollower;
  n.last_term = n.raft->CurrentTerm();
  Schedule(prng_.Below(n.tick_period) + 1, EventKind::kTick, n.id.value, n.incarnation);
  Trace("start node=" + std::to_string(n.id.value));
}

void Cluster::CrashNode(SimNode& n) {
  if (!n.up) return;
  n.raft.reset();
  n.pending_ready.reset();  // an unfinished disk write is lost
  n.up = false;
  ++n.incarnation;
  ++result_.crashes;
  Trace("crash node=" + std::to_string(n.id.value));
}

void Cluster::Schedule(uint64_t delay, EventKind kind, uint64_t node, uint64_t incarnation, std::string payload) {
  events_.push(Event{now_ + delay, seq_++, kind, node, incarnation, std::move(payload)});
}

void Cluster::Violation(const std::string& what) {
  if (!result_.ok) return;
  result_.ok = false;
  result_.violation = "t=" + std::to_string(now_) + ": " + what;
}

void Cluster::Trace(const std::string& line) {
  result_.trace_hash = Mix(result_.trace_hash, HashString(line));
  if (opt_.trace) std::fprintf(stderr, "[%llu] %s\n", static_cast<unsigned long long>(now_), line.c_str());
}

// ---------------------------------------------------------------------------------------------
// Events

SimResult Cluster::Run() {
  const uint64_t chaos_end = opt_.chaos_ticks * kTickUnits;
  const uint64_t calm_end = chaos_end + opt_.calm_ticks_max * kTickUnits;
  while (result_.ok && !events_.empty()) {
    Event ev = events_.top();
    events_.pop();
    now_ = ev.time;
    if (!calm_ && now_ >= chaos_end) Calm();
    if (calm_ && Converged()) {
      CheckAcknowledgedSurvive();
      break;
    }
    if (now_ >= calm_end) {
      std::string members;
      if (SimNode* l = Leader()) {
        for (NodeId v : l->raft->GetConfiguration().voters) members += " " + std::to_string(v.value);
      }
      Violation("no convergence within " + std::to_string(opt_.calm_ticks_max) +
                " ticks after healing (leader voters:" + members + ")");
      break;
    }
    ++result_.events;
    HandleEvent(ev);
  }
  result_.acked = acked_indexes_.size();
  return result_;
}

void Cluster::HandleEvent(const Event& ev) {
  if (ev.kind == EventKind::kChaos) {
    if (!calm_) Chaos();
    Schedule(kTickUnits, EventKind::kChaos, 0, 0);
    if (calm_ && !final_acked_) Propose("final");
    return;
  }
  auto it = nodes_.find(ev.node);
  if (it == nodes_.end()) return;
  SimNode& n = *it->second;
  if (!n.up) return;
  switch (ev.kind) {
    case EventKind::kDeliver: {
      Result<Message> m = DecodeMessage(ev.payload);
      if (!m.IsOk()) {
        Violation("undecodable message: " + m.GetStatus().ToString());
        return;
      }
      if (blocked_.count({m->from.value, m->to.value})) return;  // the link went down in flight
      Trace("deliver " + std::string(MessageTypeName(m->type)) + " " + std::to_string(m->from.value) + "->" +
            std::to_string(m->to.value) + " t" + std::to_string(m->term.value) + " i" + std::to_string(m->index.value));
      (void)n.raft->Step(*m);
      break;
    }
    case EventKind::kDiskDone:
      if (ev.incarnation != n.incarnation) return;
      FinishDiskWrite(n);
      break;
    case EventKind::kTick:
      if (ev.incarnation != n.incarnation) return;
      n.raft->Tick();
      Schedule(n.tick_period, EventKind::kTick, n.id.value, n.incarnation);
      break;
    case EventKind::kChaos: break;
  }
  if (!n.up) return;
  ProcessReady(n);
  CheckAfterEvent(n);
}

void Cluster::SendAll(SimNode& from, const std::vector<Message>& msgs) {
  for (const Message& m : msgs) {
    if (m.type == MessageType::kSnapshot) ++result_.snapshots_sent;
    if (blocked_.count({from.id.value, m.to.value})) continue;
    if (prng_.Chance(fault_.drop)) continue;
    const int copies = prng_.Chance(fault_.duplicate) ? 2 : 1;
    std::string bytes = EncodeMessage(m);
    for (int c = 0; c < copies; ++c) {
      Schedule(1 + prng_.Below(fault_.delay_max), EventKind::kDeliver, m.to.value, 0, bytes);
    }
  }
}

void Cluster::ProcessReady(SimNode& n) {
  if (!n.up || n.pending_ready || !n.raft->HasReady()) return;
  Ready rd = n.raft->GetReady();
  CheckNewEntries(n, rd.entries);
  SendAll(n, rd.early_messages);
  n.pending_ready = std::move(rd);
  Schedule(1 + prng_.Below(opt_.disk_delay_max_units), EventKind::kDiskDone, n.id.value, n.incarnation);
}

void Cluster::FinishDiskWrite(SimNode& n) {
  Ready rd = std::move(*n.pending_ready);
  n.pending_ready.reset();
  // One synced batch: snapshot, entries, hard state.
  const Status persisted = PersistReady(n.storage, rd.snapshot, rd.entries, rd.hard_state);
  if (!persisted.IsOk()) {
    Violation("persisting a Ready failed: " + persisted.ToString());
    return;
  }
  SendAll(n, rd.messages);
  if (rd.snapshot) ApplySnapshot(n, *rd.snapshot);
  for (const Entry& e : rd.committed_entries) {
    ApplyEntry(n, e);
    if (!result_.ok || !n.up) return;
  }
  for (const ReadState& rs : rd.read_states) {
    auto it = reads_.find(rs.context);
    if (it == reads_.end()) continue;
    ++result_.reads_checked;
    if (rs.index.value < it->second) {
      Violation("stale read: node " + std::to_string(n.id.value) + " read point " + std::to_string(rs.index.value) +
                " < acknowledged index " + std::to_string(it->second) + " at request time");
      return;
    }
    reads_.erase(it);
  }
  n.raft->Advance();
  MaybeTakeSnapshot(n);
}

void Cluster::ApplySnapshot(SimNode& n, const Snapshot& snap) {
  Decoder dec(snap.data, "image");
  const Index index(dec.ReadVarint64());
  const uint64_t hash = dec.ReadFixed64();
  if (!dec.Finish().IsOk() || index != snap.meta.index) {
    Violation("bad snapshot image");
    return;
  }
  if (index.value > 1 && (index.value > chain_.size() || chain_[index.value - 1] != hash)) {
    Violation("snapshot at " + std::to_string(index.value) + " on node " + std::to_string(n.id.value) +
              " disagrees with the committed history");
    return;
  }
  n.applied = index;
  n.hash = hash;
  n.config = snap.meta.configuration;
  n.snapshot_index = index;
}

void Cluster::ApplyEntry(SimNode& n, const Entry& e) {
  if (e.index != n.applied.Next()) {
    Violation("node " + std::to_string(n.id.value) + " applied index " + std::to_string(e.index.value) + " after " +
              std::to_string(n.applied.value));
    return;
  }
  const uint64_t i = e.index.value;
  if (i <= committed_.size()) {
    if (!(committed_[i - 1] == e)) {
      Violation("state machine safety: node " + std::to_string(n.id.value) + " applied (t" +
                std::to_string(e.term.value) + ") at index " + std::to_string(i) + " but (t" +
                std::to_string(committed_[i - 1].term.value) + ") was applied there before");
      return;
    }
  } else {
    committed_.push_back(e);
    chain_.push_back(Mix(chain_.empty() ? 0 : chain_.back(), EntryDigest(e)));
  }
  n.applied = e.index;
  n.hash = chain_[i - 1];
  if (e.type == EntryType::kConfigChange) {
    Result<ConfigChange> cc = DecodeConfigChange(e.data);
    auto erase = [](std::vector<NodeId>& v, NodeId id) { std::erase(v, id); };
    if (cc->type == ConfigChangeType::kAddLearner) n.config.learners.push_back(cc->node);
    if (cc->type == ConfigChangeType::kPromote) {
      erase(n.config.learners, cc->node);
      n.config.voters.push_back(cc->node);
    }
    if (cc->type == ConfigChangeType::kRemove) {
      erase(n.config.voters, cc->node);
      erase(n.config.learners, cc->node);
      // The operator shuts a removed server down once its removal is committed.
      auto it = nodes_.find(cc->node.value);
      if (it != nodes_.end() && !it->second->stopped) {
        it->second->stopped = true;
        Trace("stop node=" + std::to_string(cc->node.value));
        if (it->second.get() == &n) {
          CrashNode(n);
          return;
        }
        CrashNode(*it->second);
      }
    }
    std::sort(n.config.voters.begin(), n.config.voters.end());
    std::sort(n.config.learners.begin(), n.config.learners.end());
  }
  for (auto it = n.proposals.begin(); it != n.proposals.end();) {
    if (it->incarnation == n.incarnation && it->position.index == e.index) {
      if (it->position.term == e.term) {
        if (e.data != it->data) Violation("acknowledged entry has other data");
        acked_indexes_.insert(i);
        max_acked_index_ = std::max(max_acked_index_, i);
        if (final_data_ && e.data == *final_data_) final_acked_ = true;
      }
      it = n.proposals.erase(it);
    } else {
      ++it;
    }
  }
}

void Cluster::MaybeTakeSnapshot(SimNode& n) {
  constexpr uint64_t kSnapshotEvery = 24;
  constexpr uint64_t kTrailing = 6;
  if (n.applied.value < n.snapshot_index.value + kSnapshotEvery) return;
  Status s = n.storage.CreateSnapshot(n.applied, n.config, EncodeImage(n.applied, n.hash));
  if (!s.IsOk()) return;  // e.g. applied entries not yet in storage (cannot happen; harmless)
  n.snapshot_index = n.applied;
  (void)n.storage.Compact(Index(n.applied.value - kTrailing));
}

// ---------------------------------------------------------------------------------------------
// Workload and faults

SimNode* Cluster::Leader() {
  SimNode* best = nullptr;
  for (auto& [id, n] : nodes_) {
    if (!n->up || n->raft->GetRole() != Role::kLeader) continue;
    if (!best || n->raft->CurrentTerm() > best->raft->CurrentTerm()) best = n.get();
  }
  return best;
}

std::vector<SimNode*> Cluster::UpNodes() {
  std::vector<SimNode*> out;
  for (auto& [id, n] : nodes_) {
    if (n->up) out.push_back(n.get());
  }
  return out;
}

void Cluster::Propose(const std::string& data) {
  // Clients reach whichever node believes it leads, a deposed one cut off in a minority too:
  // that is how uncommitted entries of older terms pile up in odd places.
  std::vector<SimNode*> leaders;
  for (auto& [id, n] : nodes_) {
    if (n->up && n->raft->GetRole() == Role::kLeader) leaders.push_back(n.get());
  }
  if (leaders.empty()) return;
  SimNode* l = calm_ ? Leader() : leaders[prng_.Below(leaders.size())];
  for (const PendingProposal& p : l->proposals) {
    if (p.data == data && p.incarnation == l->incarnation && p.position.term == l->raft->CurrentTerm()) return;
  }
  Result<LogPosition> pos = l->raft->Propose(data);
  if (!pos.IsOk()) return;
  l->proposals.push_back(PendingProposal{l->incarnation, *pos, data});
  Trace("propose node=" + std::to_string(l->id.value) + " " + data + " at " + std::to_string(pos->index.value));
  ProcessReady(*l);
}

void Cluster::Chaos() {
  if (prng_.Chance(opt_.propose_per_tick)) Propose("c" + std::to_string(++proposal_seq_));
  if (prng_.Chance(opt_.read_per_tick)) {
    std::vector<SimNode*> up = UpNodes();
    if (!up.empty()) {
      SimNode* n = up[prng_.Below(up.size())];
      const std::string ctx = "r" + std::to_string(++read_seq_);
      if (n->raft->ReadIndex(ctx).IsOk()) {
        reads_[ctx] = max_acked_index_;
        ProcessReady(*n);
      }
    }
  }
  if (prng_.Chance(opt_.crash_per_tick)) {
    std::vector<SimNode*> up = UpNodes();
    if (!up.empty()) CrashNode(*up[prng_.Below(up.size())]);
  }
  for (auto& [id, n] : nodes_) {
    if (!n->up && !n->stopped && prng_.Chance(0.1)) StartNode(*n);
  }
  if (prng_.Chance(opt_.partition_per_tick)) ChaosPartition();
  if (!blocked_.empty() && prng_.Chance(opt_.heal_per_tick)) {
    blocked_.clear();
    Trace("heal");
  }
  if (prng_.Chance(opt_.member_change_per_tick)) ChangeMembership();
  if (prng_.Chance(opt_.transfer_per_tick)) {
    SimNode* l = Leader();
    if (l) {
      const std::vector<NodeId>& voters = l->raft->GetConfiguration().voters;
      NodeId target = voters[prng_.Below(voters.size())];
      if (l->raft->TransferLeadership(target).IsOk()) {
        Trace("transfer to " + std::to_string(target.value));
        ProcessReady(*l);
      }
    }
  }
}

void Cluster::ChaosPartition() {
  std::vector<uint64_t> ids;
  for (auto& [id, n] : nodes_) {
    if (!n->stopped) ids.push_back(id);
  }
  blocked_.clear();
  const uint64_t kind = prng_.Below(5);
  std::set<uint64_t> side;
  if (kind == 0 || kind == 4) {  // isolate the leader (kind 4: together with one follower)
    SimNode* l = Leader();
    side.insert(l ? l->id.value : ids[prng_.Below(ids.size())]);
    if (kind == 4) side.insert(ids[prng_.Below(ids.size())]);
  } else {  // a random minority or majority
    for (uint64_t id : ids) {
      if (prng_.Chance(0.5)) side.insert(id);
    }
  }
  for (uint64_t a : ids) {
    for (uint64_t b : ids) {
      if (side.count(a) == side.count(b)) continue;
      // kind 3: one-way (the side can send but not receive)
      if (kind == 3 && side.count(a)) continue;
      blocked_.insert({a, b});
    }
  }
  Trace("partition kind=" + std::to_string(kind) + " side=" + std::to_string(side.size()));
}

void Cluster::ChangeMembership() {
  SimNode* l = Leader();
  if (!l) return;
  const Configuration& config = l->raft->GetConfiguration();
  ConfigChange cc;
  if (!config.learners.empty()) {
    cc = ConfigChange{ConfigChangeType::kPromote, config.learners.front(), {}};
  } else if (config.voters.size() > static_cast<size_t>(opt_.voters)) {
    cc = ConfigChange{ConfigChangeType::kRemove, config.voters[prng_.Below(config.voters.size())], {}};
  } else {
    if (next_node_id_ > static_cast<uint64_t>(opt_.voters) + 4) return;  // bound the run's size
    cc = ConfigChange{ConfigChangeType::kAddLearner, NodeId(next_node_id_), {}};
  }
  Result<LogPosition> pos = l->raft->ProposeConfigChange(cc);
  if (!pos.IsOk()) return;
  ++result_.member_changes;
  Trace("member change type=" + std::to_string(static_cast<int>(cc.type)) + " node=" + std::to_string(cc.node.value));
  if (cc.type == ConfigChangeType::kAddLearner) {
    SimNode& fresh = AddNode(NodeId(next_node_id_++), false);
    StartNode(fresh);
  }
  ProcessReady(*l);
}

void Cluster::Calm() {
  calm_ = true;
  blocked_.clear();
  fault_ = Fault{0.0, 0.0, 20};
  for (auto& [id, n] : nodes_) {
    if (!n->up && !n->stopped) StartNode(*n);
  }
  final_data_ = "final";
  Trace("calm");
}

bool Cluster::Converged() {
  if (!final_acked_) return false;
  SimNode* l = Leader();
  if (!l) return false;
  const Index commit = l->raft->Log().Committed();
  // A leader that has not committed in its own term may not know the latest commit yet.
  if (l->raft->Log().TermOrZero(commit) != l->raft->CurrentTerm() || commit.value < max_acked_index_) return false;
  if (l->applied < commit) return false;
  const Configuration& config = l->raft->GetConfiguration();
  for (const std::vector<NodeId>* group : {&config.voters, &config.learners}) {
    for (NodeId id : *group) {
      auto it = nodes_.find(id.value);
      if (it == nodes_.end() || !it->second->up || it->second->applied < commit) return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Checker

void Cluster::CheckAfterEvent(SimNode& n) {
  if (!n.up || !result_.ok) return;
  const Role role = n.raft->GetRole();
  const Term term = n.raft->CurrentTerm();
  result_.max_term = std::max(result_.max_term, term.value);
  if (role == Role::kLeader && (n.last_role != Role::kLeader || n.last_term != term)) {
    auto [it, inserted] = leader_of_term_.emplace(term.value, n.id.value);
    if (!inserted && it->second != n.id.value) {
      Violation("election safety: nodes " + std::to_string(it->second) + " and " + std::to_string(n.id.value) +
                " both lead term " + std::to_string(term.value));
      return;
    }
    Trace("leader node=" + std::to_string(n.id.value) + " term=" + std::to_string(term.value));
    CheckLeaderCompleteness(n);
  }
  n.last_role = role;
  n.last_term = term;
  CheckDurableMatches();
  CheckElectability();
}

// At the end: every member's state machine holds the full committed history, so every
// acknowledged proposal is in it.
void Cluster::CheckAcknowledgedSurvive() {
  SimNode* l = Leader();
  for (auto& [id, n] : nodes_) {
    if (!n->up || !IsVoter(l->raft->GetConfiguration(), n->id)) continue;
    if (n->applied.value < max_acked_index_ || n->hash != chain_[n->applied.value - 1]) {
      Violation("node " + std::to_string(id) + " ended without every acknowledged proposal (applied " +
                std::to_string(n->applied.value) + ", newest acknowledged " + std::to_string(max_acked_index_) + ")");
      return;
    }
  }
}

// A leader's `match` for a follower is a promise the follower made after persisting: unless
// the follower has since moved to a newer term, its disk must still hold that entry.
void Cluster::CheckDurableMatches() {
  for (auto& [lid, l] : nodes_) {
    if (!result_.ok) return;
    if (!l->up || l->raft->GetRole() != Role::kLeader) continue;
    const Term term = l->raft->CurrentTerm();
    for (const ProgressView& p : l->raft->Progresses()) {
      if (p.id == l->id || p.match == Index(0)) continue;
      auto it = nodes_.find(p.id.value);
      if (it == nodes_.end() || it->second->stopped) continue;
      const MemoryStorage& disk = it->second->storage;
      if (disk.GetHardState().term > term) continue;
      if (disk.GetSnapshot()->meta.index >= p.match) continue;
      const Term want = l->raft->Log().TermOrZero(p.match);
      Result<Term> have = disk.TermAt(p.match);
      if (want == Term(0) || (have.IsOk() && *have == want)) continue;
      Violation("durability: leader " + std::to_string(l->id.value) + " counts node " + std::to_string(p.id.value) +
                " as holding index " + std::to_string(p.match.value) + " but its disk does not");
      return;
    }
  }
}

// Once an entry is committed, no node lacking it may be able to collect a quorum of votes on
// log grounds, judged against every voter's durable log (the least up-to-date it can be).
void Cluster::CheckElectability() {
  if (!result_.ok) return;
  const Index k(committed_.size());
  const Term kt = committed_.back().term;
  for (auto& [cid, c] : nodes_) {
    if (!c->up) continue;
    const RaftLog& log = c->raft->Log();
    if (log.FirstIndex() > k || log.TermOrZero(k) == kt) continue;  // holds it (maybe in a snapshot)
    const Configuration& config = c->raft->GetConfiguration();
    if (!IsVoter(config, c->id)) continue;
    const Index last = log.LastIndex();
    const Term last_term = log.LastTerm();
    size_t votes = 0;
    for (NodeId v : config.voters) {
      auto it = nodes_.find(v.value);
      if (it == nodes_.end() || it->second->stopped) continue;
      const MemoryStorage& disk = it->second->storage;
      const Index vlast = disk.LastIndex();
      const Term vterm = disk.TermAt(vlast).ValueOr(Term(0));
      if (v == c->id || last_term > vterm || (last_term == vterm && last >= vlast)) ++votes;
    }
    if (votes >= config.voters.size() / 2 + 1) {
      Violation("committed index " + std::to_string(k.value) + " (t" + std::to_string(kt.value) +
                ") is missing on node " + std::to_string(c->id.value) + ", which could still win an election (last t" +
                std::to_string(last_term.value) + " i" + std::to_string(last.value) + ")");
      return;
    }
  }
}

void Cluster::CheckNewEntries(SimNode& n, const std::vector<Entry>& entries) {
  for (const Entry& e : entries) {
    const uint64_t prev_term = n.raft->Log().TermOrZero(e.index.Prev()).value;
    auto key = std::make_pair(e.index.value, e.term.value);
    auto value = std::make_pair(EntryDigest(e), prev_term);
    auto [it, inserted] = log_entries_.emplace(key, value);
    if (inserted) continue;
    if (it->second.first != value.first ||
        (prev_term != 0 && it->second.second != 0 && it->second.second != prev_term)) {
      Violation("log matching: node " + std::to_string(n.id.value) +
                " holds a different entry (or predecessor) at index " + std::to_string(e.index.value) + " term " +
                std::to_string(e.term.value));
      return;
    }
    if (prev_term != 0 && it->second.second == 0) it->second.second = prev_term;
  }
}

void Cluster::CheckLeaderCompleteness(SimNode& n) {
  const RaftLog& log = n.raft->Log();
  if (log.LastIndex().value < committed_.size()) {
    Violation("leader completeness: leader " + std::to_string(n.id.value) + " of term " +
              std::to_string(n.raft->CurrentTerm().value) + " has last index " + std::to_string(log.LastIndex().value) +
              " but index " + std::to_string(committed_.size()) + " was committed");
    return;
  }
  for (uint64_t i = log.FirstIndex().value; i <= committed_.size(); ++i) {
    if (log.TermOrZero(Index(i)) != committed_[i - 1].term) {
      Violation("leader completeness: leader " + std::to_string(n.id.value) + " of term " +
                std::to_string(n.raft->CurrentTerm().value) + " lacks committed index " + std::to_string(i));
      return;
    }
  }
}

}  // namespace

SimResult RunSimulation(uint64_t seed, const SimOptions& options) {
  Cluster cluster(seed, options);
  return cluster.Run();
}

}  // namespace cairn::raft::sim
