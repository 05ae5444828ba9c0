// raft.scenarios: scripted scenarios whose expected traces are readable text files in
// tests/server/raft_scenarios/*.txt.
//
// A file is a sequence of commands (lines starting with "> ") each followed by the output it
// must produce; lines starting with "#" and blank lines are comments and are kept as they are.
// The test replays every command, regenerates the whole file and fails with a line diff on any
// difference. CAIRN_REWRITE=1 writes the regenerated text back (review the diff before keeping).
//
// Commands (nodes are numbered from 1):
//   nodes <n> [pre_vote=0|1] [check_quorum=0|1] [lease=0|1]   a cluster of n founding voters
//   add-node <id>                   an empty node (for a learner added later)
//   campaign <id> | tick <id> [k] | tick-all [k]
//   propose <id> <data> | conf <id> add-learner|promote|remove <node>
//   read-index <id> <ctx> | transfer <id> <target>
//   stabilize                       persist + deliver until nothing is left, printing each message
//   deliver [<from>-><to>]          deliver the queued messages (optionally only one link), once
//   drop [<from>-><to>]             discard queued messages
//   process <id>                    handle <id>'s Ready (persist, queue messages, apply)
//   partition <ids> | <ids>         block both directions between the groups; heal: unblock all
//   crash <id> | restart <id>       lose everything not persisted | rebuild from the disk
//   compact <id> <keep>             snapshot at applied, keep <keep> trailing entries
//   status <id> | log <id>
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "server/raft/memory_storage.h"
#include "server/raft/message_codec.h"
#include "server/raft/raft.h"

namespace cairn::raft {
namespace {

std::string EntryString(const Entry& e) {
  std::string s = std::to_string(e.index.value) + "/" + std::to_string(e.term.value);
  if (e.type == EntryType::kConfigChange) {
    Result<ConfigChange> cc = DecodeConfigChange(e.data);
    static const char* kNames[] = {"add-learner", "promote", "remove"};
    s += ":conf(" + std::string(kNames[static_cast<int>(cc->type)]) + " " + std::to_string(cc->node.value) + ")";
  } else if (!e.data.empty()) {
    s += ":" + e.data;
  }
  return s;
}

std::string Ids(const std::vector<NodeId>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i].value);
  return s + "]";
}

std::string MessageString(const Message& m) {
  std::ostringstream out;
  out << m.from.value << "->" << m.to.value << " " << MessageTypeName(m.type) << " t" << m.term.value;
  switch (m.type) {
    case MessageType::kPreVote:
    case MessageType::kVote:
      out << " last=" << m.index.value << "/" << m.log_term.value << (m.transfer ? " transfer" : "");
      break;
    case MessageType::kPreVoteResponse:
    case MessageType::kVoteResponse: out << (m.reject ? " reject" : " grant"); break;
    case MessageType::kAppend: {
      out << " prev=" << m.index.value << "/" << m.log_term.value << " commit=" << m.commit.value << " [";
      for (size_t i = 0; i < m.entries.size(); ++i) out << (i ? " " : "") << EntryString(m.entries[i]);
      out << "]";
      break;
    }
    case MessageType::kAppendResponse:
      if (m.reject) {
        out << " reject index=" << m.index.value << " hint=" << m.reject_hint.value << "/" << m.hint_term.value;
      } else {
        out << " index=" << m.index.value;
      }
      break;
    case MessageType::kHeartbeat: out << " commit=" << m.commit.value << " round=" << m.round; break;
    case MessageType::kHeartbeatResponse: out << " round=" << m.round; break;
    case MessageType::kSnapshot:
      out << " snap=" << m.snapshot.meta.index.value << "/" << m.snapshot.meta.term.value
          << " voters=" << Ids(m.snapshot.meta.configuration.voters);
      break;
    case MessageType::kTimeoutNow: break;
    case MessageType::kReadIndex: out << " ctx=" << m.context; break;
    case MessageType::kReadIndexResponse:
      out << (m.reject ? " reject" : "") << " index=" << m.index.value << " ctx=" << m.context;
      break;
  }
  return out.str();
}

struct ScenarioNode {
  NodeId id;
  MemoryStorage storage;
  std::unique_ptr<Raft> raft;
  Index applied;
  Configuration config;  // as of `applied`, for snapshots
};

class Scenario {
 public:
  std::string Run(const std::string& script);

 private:
  void Execute(const std::vector<std::string>& args);
  bool ExecuteClusterCommand(const std::vector<std::string>& args);
  void ExecuteNodeCommand(const std::vector<std::string>& args);
  void PrintProposal(const Result<LogPosition>& pos);
  void CreateCluster(const std::vector<std::string>& args);
  ScenarioNode& AddNode(NodeId id, bool bootstrap);
  void Start(ScenarioNode& n);
  ScenarioNode& Node(const std::string& id);
  bool Process(ScenarioNode& n);
  void Deliver(const std::string& filter, bool drop);
  void Stabilize();
  void Status(ScenarioNode& n);
  void PrintResult(const cairn::Status& s);
  static std::pair<uint64_t, uint64_t> Link(const std::string& filter);

  std::ostringstream out_;
  std::map<uint64_t, std::unique_ptr<ScenarioNode>> nodes_;
  std::vector<Message> queue_;
  std::set<std::pair<uint64_t, uint64_t>> blocked_;
  RaftConfig base_;
  int voters_ = 0;
};

std::vector<std::string> Split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

std::string Scenario::Run(const std::string& script) {
  std::istringstream in(script);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("> ", 0) == 0) {
      out_ << line << "\n";
      Execute(Split(line.substr(2)));
    } else if (line.empty() || line[0] == '#') {
      out_ << line << "\n";
    }  // anything else is expected output, regenerated by the commands
  }
  return out_.str();
}

void Scenario::CreateCluster(const std::vector<std::string>& args) {
  nodes_.clear();
  queue_.clear();
  blocked_.clear();
  voters_ = std::stoi(args.at(1));
  base_ = RaftConfig{};
  base_.election_timeout_ticks = 10;
  base_.heartbeat_ticks = 1;
  for (size_t i = 2; i < args.size(); ++i) {
    const bool on = args[i].back() == '1';
    if (args[i].rfind("pre_vote=", 0) == 0) base_.pre_vote = on;
    if (args[i].rfind("check_quorum=", 0) == 0) base_.check_quorum = on;
    if (args[i].rfind("lease=", 0) == 0) base_.read_mode = on ? ReadMode::kLease : ReadMode::kSafe;
  }
  for (int i = 1; i <= voters_; ++i) Start(AddNode(NodeId(static_cast<uint64_t>(i)), true));
}

ScenarioNode& Scenario::AddNode(NodeId id, bool bootstrap) {
  auto n = std::make_unique<ScenarioNode>();
  n->id = id;
  if (bootstrap) {
    Snapshot snap;
    for (int i = 1; i <= voters_; ++i) snap.meta.configuration.voters.push_back(NodeId(static_cast<uint64_t>(i)));
    snap.meta.index = Index(1);
    snap.meta.term = Term(1);
    REQUIRE(n->storage.ApplySnapshot(snap).IsOk());
    REQUIRE(n->storage.SetHardState(HardState{Term(1), kNoNode, Index(1)}).IsOk());
  }
  ScenarioNode& ref = *n;
  nodes_[id.value] = std::move(n);
  return ref;
}

void Scenario::Start(ScenarioNode& n) {
  RaftConfig cfg = base_;
  cfg.id = n.id;
  cfg.seed = n.id.value;
  Result<std::unique_ptr<Raft>> raft = Raft::Create(cfg, n.storage);
  REQUIRE_MESSAGE(raft.IsOk(), raft.GetStatus().ToString());
  n.raft = std::move(raft).Value();
  Result<Snapshot> snap = n.storage.GetSnapshot();
  n.applied = snap->meta.index;
  n.config = snap->meta.configuration;
}

ScenarioNode& Scenario::Node(const std::string& id) {
  auto it = nodes_.find(std::stoull(id));
  REQUIRE_MESSAGE(it != nodes_.end(), "no node " << id);
  REQUIRE_MESSAGE(it->second->raft != nullptr, "node " << id << " is down");
  return *it->second;
}

void Scenario::PrintResult(const cairn::Status& s) {
  if (!s.IsOk()) out_ << "error: " << s.ToString() << "\n";
}

void Scenario::Execute(const std::vector<std::string>& a) {
  REQUIRE(!a.empty());
  if (!ExecuteClusterCommand(a)) ExecuteNodeCommand(a);
}

bool Scenario::ExecuteClusterCommand(const std::vector<std::string>& a) {
  const std::string& cmd = a[0];
  if (cmd == "nodes") {
    CreateCluster(a);
  } else if (cmd == "add-node") {
    Start(AddNode(NodeId(std::stoull(a.at(1))), false));
  } else if (cmd == "tick-all") {
    const int k = a.size() > 1 ? std::stoi(a[1]) : 1;
    for (int i = 0; i < k; ++i) {
      for (auto& [id, n] : nodes_) {
        if (n->raft) n->raft->Tick();
      }
    }
  } else if (cmd == "stabilize") {
    Stabilize();
  } else if (cmd == "deliver" || cmd == "drop") {
    Deliver(a.size() > 1 ? a[1] : "", cmd == "drop");
  } else if (cmd == "partition") {
    std::vector<uint64_t> sides[2];
    int side = 0;
    for (size_t i = 1; i < a.size(); ++i) {
      if (a[i] == "|") {
        side = 1;
      } else {
        sides[side].push_back(std::stoull(a[i]));
      }
    }
    for (uint64_t x : sides[0]) {
      for (uint64_t y : sides[1]) {
        blocked_.insert({x, y});
        blocked_.insert({y, x});
      }
    }
  } else if (cmd == "heal") {
    blocked_.clear();
  } else if (cmd == "crash") {
    ScenarioNode& n = Node(a.at(1));
    n.raft.reset();
    std::erase_if(queue_, [&](const Message& m) { return m.to == n.id; });
  } else if (cmd == "restart") {
    ScenarioNode& n = *nodes_.at(std::stoull(a.at(1)));
    Start(n);
    Status(n);
  } else {
    return false;
  }
  return true;
}

void Scenario::PrintProposal(const Result<LogPosition>& pos) {
  if (pos.IsOk()) {
    out_ << "proposed at " << pos->index.value << "/" << pos->term.value << "\n";
  } else {
    PrintResult(pos.GetStatus());
  }
}

void Scenario::ExecuteNodeCommand(const std::vector<std::string>& a) {
  const std::string& cmd = a[0];
  ScenarioNode& n = Node(a.at(1));
  if (cmd == "campaign") {
    PrintResult(n.raft->Campaign());
  } else if (cmd == "tick") {
    const int k = a.size() > 2 ? std::stoi(a[2]) : 1;
    for (int i = 0; i < k; ++i) n.raft->Tick();
  } else if (cmd == "propose") {
    PrintProposal(n.raft->Propose(a.at(2)));
  } else if (cmd == "conf") {
    const std::string& type = a.at(2);
    ConfigChange cc{ConfigChangeType::kAddLearner, NodeId(std::stoull(a.at(3))), {}};
    if (type == "promote") cc.type = ConfigChangeType::kPromote;
    if (type == "remove") cc.type = ConfigChangeType::kRemove;
    PrintProposal(n.raft->ProposeConfigChange(cc));
  } else if (cmd == "read-index") {
    PrintResult(n.raft->ReadIndex(a.at(2)));
  } else if (cmd == "transfer") {
    PrintResult(n.raft->TransferLeadership(NodeId(std::stoull(a.at(2)))));
  } else if (cmd == "process") {
    Process(n);
  } else if (cmd == "compact") {
    const uint64_t keep = std::stoull(a.at(2));
    PrintResult(n.storage.CreateSnapshot(n.applied, n.config, "image@" + std::to_string(n.applied.value)));
    PrintResult(n.storage.Compact(Index(n.applied.value > keep ? n.applied.value - keep : 0)));
    out_ << "first index " << n.storage.FirstIndex().value << "\n";
  } else if (cmd == "status") {
    Status(n);
  } else if (cmd == "log") {
    const RaftLog& log = n.raft->Log();
    Result<std::vector<Entry>> entries = log.Slice(log.FirstIndex(), log.LastIndex().Next(), UINT64_MAX);
    out_ << a.at(1) << ": log first=" << log.FirstIndex().value << " [";
    for (size_t i = 0; i < entries->size(); ++i) out_ << (i ? " " : "") << EntryString((*entries)[i]);
    out_ << "]\n";
  } else {
    FAIL("unknown scenario command: " << cmd);
  }
}

// Handles one Ready as a host would: persist, send, apply, advance. Returns false if none.
bool Scenario::Process(ScenarioNode& n) {
  if (!n.raft->HasReady()) return false;
  Ready rd = n.raft->GetReady();
  const std::string id = std::to_string(n.id.value);
  if (rd.soft_state) {
    out_ << id << ": " << RoleName(rd.soft_state->role) << " t" << n.raft->CurrentTerm().value
         << " leader=" << rd.soft_state->leader.value << "\n";
  }
  if (rd.snapshot) {
    REQUIRE(n.storage.ApplySnapshot(*rd.snapshot).IsOk());
    n.applied = rd.snapshot->meta.index;
    n.config = rd.snapshot->meta.configuration;
    out_ << id << ": installed snapshot " << n.applied.value << "/" << rd.snapshot->meta.term.value
         << " voters=" << Ids(n.config.voters) << " learners=" << Ids(n.config.learners) << "\n";
  }
  REQUIRE(n.storage.Append(rd.entries).IsOk());
  if (rd.hard_state) REQUIRE(n.storage.SetHardState(*rd.hard_state).IsOk());
  for (Message& m : rd.early_messages) queue_.push_back(std::move(m));
  for (Message& m : rd.messages) queue_.push_back(std::move(m));
  if (!rd.committed_entries.empty()) {
    out_ << id << ": apply";
    for (const Entry& e : rd.committed_entries) {
      out_ << " " << EntryString(e);
      n.applied = e.index;
    }
    out_ << "\n";
    n.config = n.raft->GetConfiguration();
  }
  for (const ReadState& rs : rd.read_states)
    out_ << id << ": read " << rs.context << " at index " << rs.index.value << "\n";
  n.raft->Advance();
  return true;
}

std::pair<uint64_t, uint64_t> Scenario::Link(const std::string& filter) {
  const size_t arrow = filter.find("->");
  REQUIRE_MESSAGE(arrow != std::string::npos, "expected <from>-><to>, got " << filter);
  return {std::stoull(filter.substr(0, arrow)), std::stoull(filter.substr(arrow + 2))};
}

void Scenario::Deliver(const std::string& filter, bool drop) {
  std::vector<Message> now;
  std::vector<Message> later;
  for (Message& m : queue_) {
    bool match = true;
    if (!filter.empty()) match = Link(filter) == std::make_pair(m.from.value, m.to.value);
    (match ? now : later).push_back(std::move(m));
  }
  queue_ = std::move(later);
  for (const Message& m : now) {
    // Every message crosses the wire codec, as it would between servers.
    Result<Message> decoded = DecodeMessage(EncodeMessage(m));
    REQUIRE(decoded.IsOk());
    REQUIRE(*decoded == m);
    auto it = nodes_.find(m.to.value);
    const bool down = it == nodes_.end() || !it->second->raft;
    if (drop || down || blocked_.count({m.from.value, m.to.value})) {
      out_ << MessageString(m) << "  (dropped)\n";
      continue;
    }
    out_ << MessageString(m) << "\n";
    PrintResult(it->second->raft->Step(m));
  }
}

void Scenario::Stabilize() {
  for (int round = 0; round < 1000; ++round) {
    bool any = false;
    for (auto& [id, n] : nodes_) {
      if (n->raft) any = Process(*n) || any;
    }
    if (queue_.empty() && !any) return;
    Deliver("", false);
  }
  FAIL("stabilize did not settle");
}

void Scenario::Status(ScenarioNode& n) {
  const Raft& r = *n.raft;
  out_ << n.id.value << ": " << RoleName(r.GetRole()) << " t" << r.CurrentTerm().value << " leader=" << r.Leader().value
       << " vote=" << r.Vote().value << " commit=" << r.Log().Committed().value << " applied=" << n.applied.value
       << " last=" << r.Log().LastIndex().value << " voters=" << Ids(r.GetConfiguration().voters)
       << " learners=" << Ids(r.GetConfiguration().learners) << "\n";
  for (const ProgressView& p : r.Progresses()) {
    out_ << "   progress " << p.id.value << ": " << ProgressStateName(p.state) << " match=" << p.match.value
         << " next=" << p.next.value << (p.learner ? " learner" : "") << "\n";
  }
}

// A minimal line diff: every line that differs, with its number.
std::string Diff(const std::string& want, const std::string& got) {
  std::istringstream a(want);
  std::istringstream b(got);
  std::string la;
  std::string lb;
  std::ostringstream out;
  int line = 0;
  int shown = 0;
  for (;;) {
    const bool ha = static_cast<bool>(std::getline(a, la));
    const bool hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) break;
    ++line;
    if (ha && hb && la == lb) continue;
    if (++shown > 40) {
      out << "...\n";
      break;
    }
    out << "line " << line << ":\n  - " << (ha ? la : "<end>") << "\n  + " << (hb ? lb : "<end>") << "\n";
  }
  return out.str();
}

}  // namespace

TEST_SUITE("raft.scenarios") {
  TEST_CASE("every scenario file reproduces its expected trace") {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(CAIRN_RAFT_SCENARIO_DIR)) {
      if (e.path().extension() == ".txt") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 7);
    const bool rewrite = std::getenv("CAIRN_REWRITE") != nullptr;
    for (const fs::path& file : files) {
      std::ifstream in(file);
      std::stringstream buffer;
      buffer << in.rdbuf();
      const std::string want = buffer.str();
      Scenario scenario;
      const std::string got = scenario.Run(want);
      if (rewrite && got != want) {
        std::ofstream(file) << got;
        MESSAGE("rewrote " << file.string());
        continue;
      }
      CHECK_MESSAGE(got == want, file.filename().string()
                                     << " differs from its expected trace:\n"
                                     << Diff(want, got) << "(CAIRN_REWRITE=1 regenerates the file)");
    }
  }
}

}  // namespace cairn::raft
