// cairn_kv_bench_load: closed-loop HTTP/1.1 load on a KV store, Cairn or etcd 3.4, for the
// side-by-side benchmark in kv_bench.sh.
//
//   cairn_kv_bench_load --mode=MODE --target=127.0.0.1:8501[,...] [--concurrency=200]
//       [--duration=10s] [--warmup=1s] [--keys=1000] [--value-bytes=128] [--preload]
//
// MODE: cairn-put, cairn-get-consistent, cairn-get-stale, etcd-put, etcd-range,
// etcd-range-serializable. Each client owns one keep-alive connection to one target (clients
// are dealt round-robin over the targets) and has one request in flight; keys are drawn
// uniformly from bench/k0000.. Every response is checked: status 200, and a body that shows
// the write was done or the key was found. --preload writes every key once and exits.
// One event-loop thread drives every connection, so the generator costs the same per request
// against either system. The last line is "RESULT key=value ..." for the script.
#include <sys/resource.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "common/base64.h"
#include "common/uv_env.h"
#include "tests/bench/bench_flags.h"
#include "tests/bench/kv_bench_http.h"

namespace cairn::bench {
namespace {

using namespace std::chrono_literals;

enum class Mode { kCairnPut, kCairnGetConsistent, kCairnGetStale, kEtcdPut, kEtcdRange, kEtcdRangeSerializable };

std::optional<Mode> ParseMode(const std::string& name) {
  if (name == "cairn-put") return Mode::kCairnPut;
  if (name == "cairn-get-consistent") return Mode::kCairnGetConsistent;
  if (name == "cairn-get-stale") return Mode::kCairnGetStale;
  if (name == "etcd-put") return Mode::kEtcdPut;
  if (name == "etcd-range") return Mode::kEtcdRange;
  if (name == "etcd-range-serializable") return Mode::kEtcdRangeSerializable;
  return std::nullopt;
}

bool IsWrite(Mode mode) { return mode == Mode::kCairnPut || mode == Mode::kEtcdPut; }

std::string KeyName(uint64_t k) {
  char name[32];
  std::snprintf(name, sizeof(name), "bench/k%04" PRIu64, k);
  return name;
}

// One request and what its answer must contain to count as a success.
struct Request {
  std::string bytes;
  std::string expect;  // a substring of the body (or, for a Cairn put, the whole body)
};

Request BuildRequest(Mode mode, const std::string& host, const std::string& key, const std::string& value) {
  const std::string key64 = Base64Encode(key);
  switch (mode) {
    case Mode::kCairnPut: return {HttpRequest("PUT", "/v1/kv/" + key, host, "", value), "true"};
    case Mode::kCairnGetConsistent:
      return {HttpRequest("GET", "/v1/kv/" + key + "?consistent", host, "", ""), "\"Key\":\"" + key + "\""};
    case Mode::kCairnGetStale:
      return {HttpRequest("GET", "/v1/kv/" + key + "?stale", host, "", ""), "\"Key\":\"" + key + "\""};
    case Mode::kEtcdPut:
      return {HttpRequest("POST", "/v3/kv/put", host, "application/json",
                          R"({"key":")" + key64 + R"(","value":")" + Base64Encode(value) + R"("})"),
              "\"revision\""};
    case Mode::kEtcdRange:
      return {HttpRequest("POST", "/v3/kv/range", host, "application/json", R"({"key":")" + key64 + R"("})"), key64};
    case Mode::kEtcdRangeSerializable:
      return {HttpRequest("POST", "/v3/kv/range", host, "application/json",
                          R"({"key":")" + key64 + R"(","serializable":true})"),
              key64};
  }
  return {};
}

bool Accepts(Mode mode, const Request& request, const HttpResponse& response) {
  if (response.status != 200) return false;
  if (mode == Mode::kCairnPut) {
    std::string_view body = response.body;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
    return body == request.expect;
  }
  return response.body.find(request.expect) != std::string::npos;
}

double Percentile(const std::vector<int64_t>& sorted_ns, double q) {
  if (sorted_ns.empty()) return 0;
  const size_t i = std::min(sorted_ns.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted_ns.size())));
  return static_cast<double>(sorted_ns[i]) / 1e6;
}

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

// Every client, its connection and the counters; all on the env's one loop thread.
class KvLoad {
 public:
  KvLoad(UvEnv& env, const Flags& flags, Mode mode, std::vector<NetAddress> targets)
      : env_(env), mode_(mode), targets_(std::move(targets)) {
    duration_ = flags.GetDuration("duration", 10s);
    warmup_ = flags.GetDuration("warmup", 1s);
    keys_ = std::max<uint64_t>(1, flags.GetInt("keys", 1000));
    value_bytes_ = flags.GetInt("value-bytes", 128);
    preload_ = flags.Has("preload");
    random_ = env.RandomSeed() | 1;
    clients_.resize(std::max<uint64_t>(1, flags.GetInt("concurrency", 200)));
    for (size_t c = 0; c < clients_.size(); ++c) clients_[c].target = c % targets_.size();
  }

  int Run() {
    start_ = env_.Now();
    measure_from_ = preload_ ? start_ : start_ + warmup_;
    for (size_t c = 0; c < clients_.size(); ++c) Connect(c);
    ScheduleSweep();
    env_.RunUntil([this] { return finished_; }, duration_ + warmup_ + 120s);
    for (Client& c : clients_) c.stream.reset();
    return Report();
  }

 private:
  struct Client {
    size_t target = 0;
    std::unique_ptr<TcpStream> stream;
    HttpResponseParser parser;
    uint64_t generation = 0;
    bool in_flight = false;
    Request request;
    MonoTime first_sent;  // latency runs from the first attempt, across a resend
  };

  void Connect(size_t c) {
    Client& client = clients_[c];
    client.stream.reset();
    client.parser.Reset();
    const uint64_t generation = ++client.generation;
    env_.ConnectTcp(targets_[client.target], [this, c, generation](Result<std::unique_ptr<TcpStream>> s) {
      if (clients_[c].generation != generation) return;
      if (!s.IsOk()) {
        ++connect_failures_;
        env_.StartTimer(50ms, [this, c, generation] {
          if (clients_[c].generation == generation) Connect(c);
        });
        return;
      }
      OnConnected(c, generation, std::move(s).Value());
    });
  }

  void OnConnected(size_t c, uint64_t generation, std::unique_ptr<TcpStream> stream) {
    Client& client = clients_[c];
    ++connects_;
    client.stream = std::move(stream);
    client.stream->Start(TcpStreamHandlers{[this, c](std::string_view data) { OnData(c, data); },
                                           [this, c, generation](Status) { OnClosed(c, generation); }});
    if (client.in_flight) {
      ++resent_;  // the connection dropped under a request before any answer
      Write(c);
    } else {
      NextRequest(c);
    }
  }

  void OnClosed(size_t c, uint64_t generation) {
    if (clients_[c].generation != generation) return;
    if (stopping_ && !clients_[c].in_flight) {
      clients_[c].stream.reset();
      return;
    }
    Connect(c);
  }

  uint64_t NextKey() {
    if (preload_) return preload_next_++;
    random_ ^= random_ << 13;
    random_ ^= random_ >> 7;
    random_ ^= random_ << 17;
    return random_ % keys_;
  }

  std::string NextValue() {
    std::string value = "v" + std::to_string(sent_) + "-";
    value.resize(value_bytes_, 'x');
    return value;
  }

  void NextRequest(size_t c) {
    if (stopping_ || (preload_ && preload_next_ >= keys_)) return;
    Client& client = clients_[c];
    const std::string host = targets_[client.target].ToString();
    client.request = BuildRequest(mode_, host, KeyName(NextKey()), IsWrite(mode_) ? NextValue() : "");
    client.in_flight = true;
    client.first_sent = env_.Now();
    ++sent_;
    Write(c);
  }

  void Write(size_t c) {
    Client& client = clients_[c];
    if (!client.stream->Write(client.request.bytes).IsOk()) Connect(c);
  }

  void OnData(size_t c, std::string_view data) {
    Client& client = clients_[c];
    client.parser.Feed(data);
    while (true) {
      Result<std::optional<HttpResponse>> response = client.parser.Next();
      if (!response.IsOk()) {
        ++errors_;
        Note("unparsable response: " + response.GetStatus().ToString());
        client.in_flight = false;
        Connect(c);
        return;
      }
      if (!response->has_value()) return;
      if (!Complete(c, **response)) return;
    }
  }

  // Returns false when the client's connection was replaced (stop reading from the old one).
  bool Complete(size_t c, const HttpResponse& response) {
    Client& client = clients_[c];
    if (!client.in_flight) {
      ++errors_;
      Note("a response with no request in flight");
      return true;
    }
    client.in_flight = false;
    Record(client, response);
    if (response.close) {
      ++server_closes_;
      Connect(c);
      return false;
    }
    NextRequest(c);
    return true;
  }

  void Record(const Client& client, const HttpResponse& response) {
    const MonoTime now = env_.Now();
    ++completed_;
    if (!Accepts(mode_, client.request, response)) {
      ++errors_;
      Note("status " + std::to_string(response.status) + " body " + response.body.substr(0, 200));
      return;
    }
    if (now >= measure_from_ && (preload_ || now < measure_from_ + duration_)) {
      latencies_ns_.push_back((now - client.first_sent).count());
    }
  }

  void Note(const std::string& what) {
    if (++notes_ <= 5) std::fprintf(stderr, "error: %s\n", what.c_str());
  }

  bool Idle() const {
    return std::none_of(clients_.begin(), clients_.end(), [](const Client& c) { return c.in_flight; });
  }

  void ScheduleSweep() {
    env_.StartTimer(20ms, [this] {
      const MonoTime now = env_.Now();
      const bool preload_done = preload_ && preload_next_ >= keys_;
      if (!stopping_ && (preload_done || (!preload_ && now >= measure_from_ + duration_))) {
        stopping_ = true;
        stop_at_ = now;
      }
      if (stopping_ && (Idle() || now >= stop_at_ + 10s)) {
        finished_ = true;
        return;
      }
      ScheduleSweep();
    });
  }

  int Report() {
    std::sort(latencies_ns_.begin(), latencies_ns_.end());
    const double window_s = preload_ ? std::chrono::duration<double>(stop_at_ - start_).count()
                                     : std::chrono::duration<double>(duration_).count();
    const double ops_per_s = static_cast<double>(latencies_ns_.size()) / window_s;
    uint64_t unfinished = 0;
    for (const Client& c : clients_) unfinished += c.in_flight ? 1 : 0;
    std::printf("RESULT ok=%zu ops_per_s=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f errors=%" PRIu64
                " completed=%" PRIu64 " unfinished=%" PRIu64 " connects=%" PRIu64 " server_closes=%" PRIu64
                " resent=%" PRIu64 " connect_failures=%" PRIu64 " load_cpu_s=%.2f\n",
                latencies_ns_.size(), ops_per_s, Percentile(latencies_ns_, 0.5), Percentile(latencies_ns_, 0.9),
                Percentile(latencies_ns_, 0.99), Percentile(latencies_ns_, 0.999), errors_, completed_, unfinished,
                connects_, server_closes_, resent_, connect_failures_, OwnCpuSeconds());
    return errors_ == 0 && unfinished == 0 && !latencies_ns_.empty() ? 0 : 1;
  }

  UvEnv& env_;
  const Mode mode_;
  const std::vector<NetAddress> targets_;
  Duration duration_{};
  Duration warmup_{};
  uint64_t keys_ = 0;
  size_t value_bytes_ = 0;
  bool preload_ = false;
  uint64_t preload_next_ = 0;
  uint64_t random_ = 0;
  std::vector<Client> clients_;
  MonoTime start_;
  MonoTime measure_from_;
  MonoTime stop_at_;
  bool stopping_ = false;
  bool finished_ = false;
  std::vector<int64_t> latencies_ns_;
  uint64_t sent_ = 0;
  uint64_t completed_ = 0;
  uint64_t errors_ = 0;
  uint64_t notes_ = 0;
  uint64_t connects_ = 0;
  uint64_t server_closes_ = 0;
  uint64_t resent_ = 0;
  uint64_t connect_failures_ = 0;
};

}  // namespace cairn::bench

int main(int argc, char** argv) {
  using namespace cairn;
  const bench::Flags flags(argc, argv);
  const std::optional<bench::Mode> mode = bench::ParseMode(flags.Get("mode"));
  const std::vector<NetAddress> targets = bench::ParseTargets(flags.Get("target"));
  if (!mode || targets.empty()) {
    std::fprintf(stderr,
                 "usage: cairn_kv_bench_load --mode=cairn-put|cairn-get-consistent|cairn-get-stale|etcd-put|"
                 "etcd-range|etcd-range-serializable --target=ip:port[,...] [--concurrency=200] [--duration=10s] "
                 "[--warmup=1s] [--keys=1000] [--value-bytes=128] [--preload]\n");
    return 2;
  }
  UvEnv env;
  bench::KvLoad load(env, flags, *mode, targets);
  return load.Run();
}
