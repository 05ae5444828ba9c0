// The closed-loop load of cairn_raft_bench_load (see raft_bench_load.cpp).
#include <algorithm>
#include <cinttypes>

#include "common/framing.h"
#include "common/uv_env.h"
#include "tests/bench/bench_flags.h"
#include "tests/bench/bench_protocol.h"

namespace cairn::bench {
namespace {

using namespace std::chrono_literals;

constexpr Duration kRequestTimeout = 3s;
constexpr Duration kRetryDelay = 20ms;

class LoadRun {
 public:
  LoadRun(UvEnv& env, const Flags& flags, std::vector<NetAddress> targets) : env_(env), targets_(std::move(targets)) {
    const size_t concurrency = std::max<uint64_t>(1, flags.GetInt("concurrency", 256));
    const size_t connections = std::clamp<uint64_t>(flags.GetInt("connections", 8), 1, concurrency);
    payload_bytes_ = flags.GetInt("payload", 128);
    duration_ = flags.GetDuration("duration", 10s);
    warmup_ = flags.GetDuration("warmup", 1s);
    count_max_ = flags.GetInt("count", 0);
    record_path_ = flags.Get("record");
    char run[32];
    std::snprintf(run, sizeof(run), "%08" PRIx64, static_cast<uint64_t>(env.RandomSeed() & 0xffffffffU));
    run_id_ = run;
    connections_.resize(connections);
    proposers_.resize(concurrency);
    for (size_t i = 0; i < concurrency; ++i) proposers_[i].connection = i % connections;
  }

  int Run() {
    start_ = env_.Now();
    measure_from_ = start_ + warmup_;
    for (size_t c = 0; c < connections_.size(); ++c) Connect(c);
    for (size_t p = 0; p < proposers_.size(); ++p) NextProposal(p);
    ScheduleSweep();
    env_.RunUntil([this] { return finished_; }, duration_ + warmup_ + 60s);
    for (Connection& c : connections_) c.stream.reset();
    return Report();
  }

 private:
  struct Connection {
    std::unique_ptr<TcpStream> stream;
    FrameDecoder decoder{1 << 20};
    uint64_t generation = 0;
    bool connecting = false;
    std::string out;
  };
  struct Proposer {
    size_t connection = 0;
    uint64_t seq = 0;
    uint64_t request_id = 0;  // 0: nothing in flight
    std::string payload;
    MonoTime first_sent;  // latency is measured from the first attempt
    MonoTime last_sent;
  };

  void Connect(size_t c) {
    Connection& conn = connections_[c];
    conn.stream.reset();
    conn.decoder = FrameDecoder(1 << 20);
    conn.connecting = true;
    const uint64_t generation = ++conn.generation;
    env_.ConnectTcp(targets_[target_], [this, c, generation](Result<std::unique_ptr<TcpStream>> s) {
      Connection& conn = connections_[c];
      if (generation != conn.generation) return;
      conn.connecting = false;
      if (!s.IsOk()) {
        // The target may be down: try the next one (all connections follow).
        env_.StartTimer(50ms, [this, c, generation] {
          if (connections_[c].generation != generation) return;
          if (env_.Now() - last_switch_ > 100ms) {
            last_switch_ = env_.Now();
            SwitchTarget("");
          } else {
            Connect(c);
          }
        });
        return;
      }
      conn.stream = std::move(s).Value();
      conn.stream->Start(TcpStreamHandlers{[this, c](std::string_view data) { OnData(c, data); },
                                           [this, c, generation](Status) {
                                             if (connections_[c].generation == generation) Connect(c);
                                           }});
      for (size_t p = 0; p < proposers_.size(); ++p) {
        if (proposers_[p].connection == c && proposers_[p].request_id != 0) Send(p);
      }
    });
  }

  void SwitchTarget(const std::string& hint) {
    size_t next = (target_ + 1) % targets_.size();
    for (size_t i = 0; i < targets_.size(); ++i) {
      if (targets_[i].ToString() == hint) next = i;
    }
    if (next == target_ && !hint.empty()) return;
    target_ = next;
    for (size_t c = 0; c < connections_.size(); ++c) Connect(c);
  }

  void NextProposal(size_t p) {
    Proposer& pr = proposers_[p];
    if (stopping_) {
      pr.request_id = 0;
      return;
    }
    pr.payload = "r" + run_id_ + "-p" + std::to_string(p) + "-s" + std::to_string(pr.seq++) + "-";
    if (pr.payload.size() < payload_bytes_) pr.payload.resize(payload_bytes_, 'x');
    pr.first_sent = env_.Now();
    Send(p);
  }

  void Send(size_t p) {
    Proposer& pr = proposers_[p];
    pr.request_id = next_request_id_++;
    pr.last_sent = env_.Now();
    by_request_[pr.request_id] = p;
    Connection& conn = connections_[pr.connection];
    if (!conn.stream) return;  // sent again once connected
    Encoder e;
    e.PutU8(static_cast<uint8_t>(Op::kPropose));
    e.PutVarint64(pr.request_id);
    e.PutBytes(pr.payload);
    const bool schedule = conn.out.empty();
    AppendFrame(conn.out, e.View());
    if (schedule) {
      const uint64_t generation = conn.generation;
      const size_t c = pr.connection;
      if (!env_.Post([this, c, generation] { Flush(c, generation); }).IsOk()) Flush(c, generation);
    }
  }

  void Flush(size_t c, uint64_t generation) {
    Connection& conn = connections_[c];
    if (conn.generation != generation || !conn.stream) {
      conn.out.clear();
      return;
    }
    if (!conn.stream->Write(std::move(conn.out)).IsOk()) Connect(c);
    conn.out.clear();
  }

  void OnData(size_t c, std::string_view data) {
    connections_[c].decoder.Feed(data);
    while (true) {
      auto frame = connections_[c].decoder.Next();
      if (!frame.IsOk()) {
        Connect(c);
        return;
      }
      if (!frame->has_value()) return;
      OnResponse(**frame);
    }
  }

  void OnResponse(std::string_view response) {
    Decoder d(response, "response");
    d.ReadU8();
    const uint64_t request_id = d.ReadVarint64();
    const Code code = static_cast<Code>(d.ReadU8());
    auto it = by_request_.find(request_id);
    if (it == by_request_.end()) return;  // an answer to an attempt already retried
    const size_t p = it->second;
    by_request_.erase(it);
    Proposer& pr = proposers_[p];
    if (pr.request_id != request_id) return;
    if (code == Code::kOk) {
      Acked(pr);
      NextProposal(p);
    } else if (code == Code::kNotLeader) {
      ++not_leader_;
      const std::string hint(d.ReadBytes(256));
      pr.request_id = 0;
      RetryLater(p);
      if (env_.Now() - last_switch_ > 100ms) {
        last_switch_ = env_.Now();
        SwitchTarget(hint);
      }
    } else {
      ++errors_;
      pr.request_id = 0;
      RetryLater(p);
    }
  }

  void RetryLater(size_t p) {
    env_.StartTimer(kRetryDelay, [this, p] {
      if (proposers_[p].request_id == 0 && !stopping_) Send(p);
    });
  }

  void Acked(const Proposer& pr) {
    const MonoTime now = env_.Now();
    ++acked_total_;
    if (!record_path_.empty()) record_ += pr.payload + "\n";
    if (now >= measure_from_ && now < measure_from_ + duration_) {
      latencies_ns_.push_back((now - pr.first_sent).count());
    }
    if (count_max_ != 0 && acked_total_ >= count_max_) Stop();
  }

  void ScheduleSweep() {
    env_.StartTimer(100ms, [this] {
      const MonoTime now = env_.Now();
      if (now >= measure_from_ + duration_) Stop();
      if (stopping_) {
        bool idle = true;
        for (const Proposer& pr : proposers_) idle = idle && pr.request_id == 0;
        if (idle || now >= stop_at_ + 5s) finished_ = true;
        if (!finished_) ScheduleSweep();
        return;
      }
      for (size_t p = 0; p < proposers_.size(); ++p) {
        if (proposers_[p].request_id != 0 && now - proposers_[p].last_sent > kRequestTimeout) {
          ++timeouts_;
          Send(p);
        }
      }
      ScheduleSweep();
    });
  }

  // Stops issuing new proposals; in-flight ones may still be acknowledged (and recorded).
  void Stop() {
    if (stopping_) return;
    stopping_ = true;
    stop_at_ = env_.Now();
  }

  int Report() {
    if (!record_path_.empty()) {
      auto file = env_.NewWritableFile(record_path_);
      if (!file.IsOk() || !(*file)->Append(record_).IsOk() || !(*file)->Sync().IsOk()) {
        std::fprintf(stderr, "cannot write %s\n", record_path_.c_str());
        return 1;
      }
    }
    std::sort(latencies_ns_.begin(), latencies_ns_.end());
    auto pct = [this](double q) -> double {
      if (latencies_ns_.empty()) return 0;
      const size_t i = std::min(latencies_ns_.size() - 1, static_cast<size_t>(q * latencies_ns_.size()));
      return latencies_ns_[i] / 1e6;
    };
    const double seconds = std::chrono::duration<double>(duration_).count();
    std::printf(
        "concurrency=%zu payload=%zu measured_s=%.1f acked=%zu ops_per_s=%.0f latency_ms p50=%.3f p90=%.3f "
        "p99=%.3f p99.9=%.3f max=%.3f total_acked=%" PRIu64 " not_leader=%" PRIu64 " errors=%" PRIu64
        " timeouts=%" PRIu64 "\n",
        proposers_.size(), payload_bytes_, seconds, latencies_ns_.size(), latencies_ns_.size() / seconds, pct(0.50),
        pct(0.90), pct(0.99), pct(0.999), latencies_ns_.empty() ? 0.0 : latencies_ns_.back() / 1e6, acked_total_,
        not_leader_, errors_, timeouts_);
    return count_max_ != 0 && acked_total_ < count_max_ ? 1 : 0;
  }

  UvEnv& env_;
  std::vector<NetAddress> targets_;
  size_t target_ = 0;
  size_t payload_bytes_ = 128;
  Duration duration_;
  Duration warmup_;
  uint64_t count_max_ = 0;
  std::string record_path_;
  std::string record_;
  std::string run_id_;
  std::vector<Connection> connections_;
  std::vector<Proposer> proposers_;
  std::map<uint64_t, size_t> by_request_;
  uint64_t next_request_id_ = 1;
  MonoTime start_;
  MonoTime measure_from_;
  MonoTime stop_at_;
  MonoTime last_switch_;
  bool stopping_ = false;
  bool finished_ = false;
  std::vector<int64_t> latencies_ns_;
  uint64_t acked_total_ = 0;
  uint64_t not_leader_ = 0;
  uint64_t errors_ = 0;
  uint64_t timeouts_ = 0;
};

}  // namespace

int LoadMode(UvEnv& env, const Flags& flags, std::vector<NetAddress> targets) {
  LoadRun run(env, flags, std::move(targets));
  return run.Run();
}

}  // namespace cairn::bench
