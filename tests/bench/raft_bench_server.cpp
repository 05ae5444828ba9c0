// cairn_raft_bench_server: one Raft replica (RaftHost, fsync on) with a bench state machine and
// the framed client protocol of bench_protocol.h.
//
//   cairn_raft_bench_server --id=1 --peers=1@127.0.0.1:7301,2@127.0.0.1:7302,3@127.0.0.1:7303
//       --clients=1@127.0.0.1:7401,2@127.0.0.1:7402,3@127.0.0.1:7403 --data-dir=/tmp/s1
//       [--tick-ms=10] [--election-ticks=10] [--snapshot-entries=100000] [--track=1]
//
// The state machine counts commands and folds them into an order-sensitive digest, so replicas
// that applied the same log report the same digest. With --track=1 it also keeps every command,
// so a test can ask whether an acknowledged one is present (kCheck).
#include <unordered_set>

#include "common/framing.h"
#include "common/uv_env.h"
#include "server/raft_host.h"
#include "tests/bench/bench_flags.h"
#include "tests/bench/bench_protocol.h"

namespace cairn::bench {
namespace {

uint64_t Fnv1a(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : bytes) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return h;
}

class BenchMachine final : public server::StateMachine {
 public:
  explicit BenchMachine(bool track) : track_(track) {}
  void Apply(raft::Index, std::string_view command) override {
    ++commands_;
    uint64_t mix = digest_ ^ Fnv1a(command);
    digest_ = SplitMix64(mix);
    if (track_) seen_.emplace(command);
  }
  std::string TakeSnapshot() override {
    Encoder e;
    e.PutVarint64(commands_);
    e.PutFixed64(digest_);
    e.PutVarint64(seen_.size());
    for (const std::string& s : seen_) e.PutBytes(s);
    return e.Take();
  }
  Status Restore(std::string_view image) override {
    commands_ = 0;
    digest_ = 0;
    seen_.clear();
    if (image.empty()) return OkStatus();
    Decoder d(image, "bench image");
    commands_ = d.ReadVarint64();
    digest_ = d.ReadFixed64();
    const uint64_t count = d.ReadVarint64();
    for (uint64_t i = 0; i < count && !d.HasError(); ++i) seen_.emplace(d.ReadBytes(1 << 20));
    return d.Finish();
  }
  bool Contains(std::string_view command) const { return seen_.count(std::string(command)) != 0; }
  uint64_t Commands() const { return commands_; }
  uint64_t Digest() const { return digest_; }

 private:
  bool track_;
  uint64_t commands_ = 0;
  uint64_t digest_ = 0;
  std::unordered_set<std::string> seen_;
};

class BenchServer {
 public:
  BenchServer(UvEnv& env, server::RaftHost& host, BenchMachine& machine, std::map<uint64_t, NetAddress> clients)
      : env_(env), host_(host), machine_(machine), client_addresses_(std::move(clients)) {}

  Status Listen(const NetAddress& address) {
    auto listener = env_.ListenTcp(address, [this](std::unique_ptr<TcpStream> stream) { Accept(std::move(stream)); });
    if (!listener.IsOk()) return listener.GetStatus();
    listener_ = std::move(listener).Value();
    return OkStatus();
  }

 private:
  struct Client {
    std::unique_ptr<TcpStream> stream;
    FrameDecoder decoder;
    std::string out;  // framed replies waiting for this iteration's flush
  };

  void Accept(std::unique_ptr<TcpStream> stream) {
    const uint64_t id = next_client_++;
    auto client = std::make_unique<Client>(Client{std::move(stream), FrameDecoder(1 << 20), {}});
    TcpStream& raw = *client->stream;
    clients_.emplace(id, std::move(client));
    raw.Start(TcpStreamHandlers{[this, id](std::string_view data) { OnData(id, data); },
                                [this, id](Status) { clients_.erase(id); }});
  }

  void OnData(uint64_t id, std::string_view data) {
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    it->second->decoder.Feed(data);
    while (true) {
      auto it2 = clients_.find(id);
      if (it2 == clients_.end()) return;
      auto frame = it2->second->decoder.Next();
      if (!frame.IsOk()) {
        clients_.erase(id);
        return;
      }
      if (!frame->has_value()) return;
      Handle(id, **frame);
    }
  }

  void Handle(uint64_t client, std::string_view request) {
    Decoder d(request, "bench request");
    const Op op = static_cast<Op>(d.ReadU8());
    const uint64_t request_id = d.ReadVarint64();
    if (op == Op::kPropose) {
      std::string payload(d.ReadBytes(1 << 20));
      host_.Propose(std::move(payload), [this, client, request_id](Status status) {
        Encoder e = Header(Op::kPropose, request_id, status);
        Reply(client, e.Take());
      });
    } else if (op == Op::kStatus) {
      Encoder e = Header(Op::kStatus, request_id, OkStatus());
      PutStatus(e, CurrentStatus());
      Reply(client, e.Take());
    } else if (op == Op::kCheck) {
      const uint64_t count = d.ReadVarint64();
      uint64_t present = 0;
      uint64_t missing = 0;
      for (uint64_t i = 0; i < count && i < kCheckBatchMax && !d.HasError(); ++i) {
        (machine_.Contains(d.ReadBytes(1 << 20)) ? present : missing)++;
      }
      Encoder e = Header(Op::kCheck, request_id, OkStatus());
      e.PutVarint64(present);
      e.PutVarint64(missing);
      Reply(client, e.Take());
    }
  }

  Encoder Header(Op op, uint64_t request_id, const Status& status) {
    Encoder e;
    e.PutU8(static_cast<uint8_t>(op));
    e.PutVarint64(request_id);
    if (status.IsOk()) {
      e.PutU8(static_cast<uint8_t>(Code::kOk));
    } else if (status.Code() == StatusCode::kUnavailable && !host_.IsLeader()) {
      e.PutU8(static_cast<uint8_t>(Code::kNotLeader));
      auto it = client_addresses_.find(host_.Leader().value);
      e.PutBytes(it == client_addresses_.end() ? std::string() : it->second.ToString());
    } else {
      e.PutU8(static_cast<uint8_t>(Code::kError));
      e.PutBytes(status.ToString());
    }
    return e;
  }

  NodeStatus CurrentStatus() const {
    const server::RaftHostStatus s = host_.GetStatus();
    return NodeStatus{s.id.value,         s.leader.value,         static_cast<uint64_t>(s.role),
                      s.term.value,       s.commit.value,         s.applied.value,
                      s.last_index.value, s.snapshot_index.value, machine_.Commands(),
                      machine_.Digest(),  s.stats.persists,       s.stats.persisted_entries,
                      s.stats.readies};
  }

  // Replies of one loop iteration leave in one write per client.
  void Reply(uint64_t client, std::string payload) {
    auto it = clients_.find(client);
    if (it == clients_.end()) return;
    AppendFrame(it->second->out, payload);
    if (flush_scheduled_) return;
    flush_scheduled_ = env_.Post([this] { Flush(); }).IsOk();
    if (!flush_scheduled_) Flush();
  }

  void Flush() {
    flush_scheduled_ = false;
    std::vector<uint64_t> broken;
    for (auto& [id, client] : clients_) {
      if (client->out.empty()) continue;
      if (!client->stream->Write(std::move(client->out)).IsOk()) broken.push_back(id);
      client->out.clear();
    }
    for (uint64_t id : broken) clients_.erase(id);
  }

  UvEnv& env_;
  server::RaftHost& host_;
  BenchMachine& machine_;
  std::map<uint64_t, NetAddress> client_addresses_;
  std::unique_ptr<TcpListener> listener_;
  std::map<uint64_t, std::unique_ptr<Client>> clients_;
  uint64_t next_client_ = 1;
  bool flush_scheduled_ = false;
};

int Main(int argc, char** argv) {
  const Flags flags(argc, argv);
  const uint64_t id = flags.GetInt("id", 0);
  const auto peers = ParseIdAddresses(flags.Get("peers"), "peers");
  const auto clients = ParseIdAddresses(flags.Get("clients"), "clients");
  if (id == 0 || peers.count(id) == 0 || clients.count(id) == 0 || !flags.Has("data-dir")) {
    std::fprintf(stderr,
                 "usage: cairn_raft_bench_server --id=N --peers=1@ip:port,... --clients=1@ip:port,... "
                 "--data-dir=DIR [--tick-ms=10] [--election-ticks=10] [--snapshot-entries=100000] [--track=1]\n");
    return 2;
  }
  UvEnv env;
  const MonoTime start = env.Now();
  Logger logger("s" + std::to_string(id),
                [&env, start] { return std::chrono::duration<double>(env.Now() - start).count(); });
  BenchMachine machine(flags.GetInt("track", 0) != 0);

  server::RaftHostOptions options;
  options.raft.id = raft::NodeId(id);
  options.raft.election_timeout_ticks = static_cast<uint32_t>(flags.GetInt("election-ticks", 10));
  options.raft.seed = env.RandomSeed();
  for (const auto& [peer, address] : peers) options.peers[raft::NodeId(peer)] = address;
  options.data_dir = flags.Get("data-dir");
  options.tick_interval = std::chrono::milliseconds(flags.GetInt("tick-ms", 10));
  options.snapshot_entries = flags.GetInt("snapshot-entries", 100000);
  options.snapshot_trailing_entries = flags.GetInt("snapshot-trailing-entries", 10000);
  auto host = server::RaftHost::Open(env, logger, machine, options);
  if (!host.IsOk()) {
    logger.Error("cannot start the replica", {{"error", host.GetStatus().ToString()}});
    return 1;
  }
  BenchServer server(env, **host, machine, clients);
  Status listening = server.Listen(clients.at(id));
  if (!listening.IsOk()) {
    logger.Error("cannot listen for clients", {{"error", listening.ToString()}});
    return 1;
  }
  logger.Info("bench server ready", {{"client", clients.at(id).ToString()}});
  env.Run();
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
