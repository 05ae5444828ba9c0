// cairn_blocking_bench_load: Consul-style blocking queries held open against one Cairn agent,
// then rounds of one KV write each, for blocking_bench.sh.
//
//   cairn_blocking_bench_load --target=127.0.0.1:8500 [--agent-pid=PID] [--queries=10000]
//       [--keys=100] [--rounds=50] [--wait=5m] [--idle=10s] [--settle=2s] [--quiet=200ms]
//       [--open-timeout=120s] [--wake-timeout=10s] [--request-timeout=10s]
//       [--connects-in-flight=256]
//
// 1. Writes the keys bq/k000.. and reads each one's X-Consul-Index.
// 2. Opens --queries connections; connection i holds GET /v1/kv/bq/k<i % keys>?index=<that
//    key's index>&wait=<wait>, which must not be answered. Once every query is sent it waits
//    --settle, checks that the agent still answers a plain GET, and samples the agent from
//    /proc/<agent-pid> (RSS, threads, descriptors) against a sample taken before opening; then
//    leaves the queries held for --idle with no write and measures the agent's CPU, against
//    the same period measured before opening (the agent's own gossip and Raft ticks).
// 3. Round r PUTs a new value to key r % keys over a separate connection. Every watcher of that
//    key must answer 200 with the new value and a higher X-Consul-Index, and re-arms at once
//    with that index, so N stay held. Any other answer (another key's watcher, a second answer,
//    an answer between rounds) is a spurious wake. A round ends --quiet after its last expected
//    answer. Wake latency: the watcher's answer arriving minus the PUT's answer arriving (also
//    reported from the PUT being sent), both stamped on this tool's one loop thread.
//
// Every wait has a deadline: a server that stalls shows as "only X of N held", a request that
// timed out, or a round with missing wake-ups, never as a hang. The last line is
// "RESULT key=value ..."; the exit status is 0 when every query was held, every round woke
// exactly its watchers with the right answer, and nothing timed out.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <deque>

#include "common/base64.h"
#include "common/uv_env.h"
#include "tests/bench/bench_flags.h"
#include "tests/bench/kv_bench_http.h"
#include "tests/bench/proc_sample.h"

namespace cairn::bench {
namespace {

using namespace std::chrono_literals;

constexpr int kConnectAttemptsMax = 3;
constexpr uint64_t kNotesMax = 12;

std::string KeyName(size_t k) {
  char name[32];
  std::snprintf(name, sizeof(name), "bq/k%03zu", k);
  return name;
}

double Ms(Duration d) { return static_cast<double>(d.count()) / 1e6; }
double Seconds(Duration d) { return static_cast<double>(d.count()) / 1e9; }

std::string SecondsText(Duration d) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f s", Seconds(d));
  return text;
}

double Percentile(const std::vector<int64_t>& sorted_ns, double q) {
  if (sorted_ns.empty()) return 0;
  const size_t i = std::min(sorted_ns.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted_ns.size())));
  return static_cast<double>(sorted_ns[i]) / 1e6;
}

// A stream's close reason is OK for an orderly end of stream.
std::string ClosedReason(const Status& reason) { return reason.IsOk() ? " (end of stream)" : ": " + reason.ToString(); }

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Raises this process's descriptor limit to the hard limit: every held query is a socket.
uint64_t RaiseOpenFilesLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

}  // namespace

class BlockingLoad {
 public:
  BlockingLoad(UvEnv& env, const Flags& flags, NetAddress target)
      : env_(env), target_(std::move(target)), host_(target_.ToString()) {
    queries_ = std::max<uint64_t>(1, flags.GetInt("queries", 10000));
    keys_ = std::max<uint64_t>(1, flags.GetInt("keys", 100));
    rounds_ = flags.GetInt("rounds", 50);
    agent_pid_ = static_cast<int>(flags.GetInt("agent-pid", 0));
    wait_ = flags.Get("wait", "5m");
    idle_ = flags.GetDuration("idle", 10s);
    settle_ = flags.GetDuration("settle", 2s);
    quiet_ = flags.GetDuration("quiet", 200ms);
    open_timeout_ = flags.GetDuration("open-timeout", 120s);
    wake_timeout_ = flags.GetDuration("wake-timeout", 10s);
    request_timeout_ = flags.GetDuration("request-timeout", 10s);
    connects_in_flight_max_ = std::max<uint64_t>(1, flags.GetInt("connects-in-flight", 256));
    watchers_.resize(queries_);
    for (size_t i = 0; i < watchers_.size(); ++i) watchers_[i].key = i % keys_;
    clk_tck_ = static_cast<double>(sysconf(_SC_CLK_TCK));
  }

  int Run() {
    if (Status s = WriteKeys(); !s.IsOk()) return Abort("setting up the keys: " + s.ToString());
    // The agent's own idle CPU (gossip, Raft ticks) over the same period, with nothing held.
    base_sample_ = Sample("before the baseline idle period");
    base_idle_seconds_ = Idle();
    before_ = Sample("before opening");
    if (Status s = OpenAll(); !s.IsOk()) Fail(s.ToString());
    env_.RunUntil([] { return false; }, settle_);
    Probe();
    held_sample_ = Sample("with the queries held");
    held_at_sample_ = held_;
    CheckHeld("after opening");
    CheckAccepted();
    idle_seconds_ = Idle();
    idle_sample_ = Sample("after the idle period");
    CheckHeld("after the idle period");
    rounds_started_ = true;
    RunRounds();
    after_sample_ = Sample("after the rounds");
    CheckHeld("after the rounds");
    Report();
    for (Watcher& w : watchers_) w.stream.reset();
    control_.reset();
    return failed_ ? 1 : 0;
  }

 private:
  struct Watcher {
    size_t key = 0;
    uint64_t index = 0;
    std::unique_ptr<TcpStream> stream;
    HttpResponseParser parser;
    uint64_t generation = 0;  // callbacks of an older stream or connect are ignored
    int connect_attempts = 0;
    bool armed_once = false;
    bool in_flight = false;  // a query is sent and not yet answered
    bool dead = false;       // closed or failed; no longer held
    int64_t expect_round = -1;
    int64_t answered_round = -1;
  };

  struct Answer {
    HttpResponse response;
    MonoTime sent;
    MonoTime arrived;
  };

  // ---- the control connection: setup, the probe and the rounds' writes ----

  Status ConnectControl() {
    control_.reset();
    control_parser_.Reset();
    control_answer_.reset();
    control_error_.reset();
    const uint64_t generation = ++control_generation_;
    control_connecting_ = true;
    env_.ConnectTcp(target_, [this, generation](Result<std::unique_ptr<TcpStream>> stream) {
      if (generation != control_generation_) return;
      control_connecting_ = false;
      if (!stream.IsOk()) {
        control_error_ = stream.GetStatus();
        return;
      }
      control_ = std::move(stream).Value();
      control_->Start(TcpStreamHandlers{[this, generation](std::string_view data) { OnControlData(generation, data); },
                                        [this, generation](Status reason) {
                                          if (generation != control_generation_) return;
                                          control_error_ = Status::Unavailable(
                                              "the agent closed the control connection" + ClosedReason(reason));
                                        }});
    });
    env_.RunUntil([this] { return !control_connecting_; }, request_timeout_);
    if (control_connecting_) {
      ++control_generation_;
      control_connecting_ = false;
      return Status::Timeout("connecting to " + host_ + " took more than " + SecondsText(request_timeout_));
    }
    return control_error_ ? *control_error_ : OkStatus();
  }

  void OnControlData(uint64_t generation, std::string_view data) {
    const MonoTime now = env_.Now();
    if (generation != control_generation_) return;
    control_parser_.Feed(data);
    Result<std::optional<HttpResponse>> response = control_parser_.Next();
    if (!response.IsOk()) {
      control_error_ = response.GetStatus().WithContext("unparsable answer on the control connection");
    } else if (response->has_value()) {
      if (control_answer_) control_error_ = Status::Internal("two answers to one request on the control connection");
      control_answer_ = std::move(**response);
      control_arrived_ = now;
    }
  }

  // Sends one request on the control connection and waits up to --request-timeout for its
  // answer. After a timeout or an error the next call opens a new connection.
  Result<Answer> Control(const std::string& bytes) {
    if (!control_ || control_error_) CAIRN_RETURN_IF_ERROR(ConnectControl());
    control_answer_.reset();
    Answer out;
    out.sent = env_.Now();
    if (Status s = control_->Write(bytes); !s.IsOk()) {
      control_error_ = s;
      return s;
    }
    env_.RunUntil([this] { return control_answer_.has_value() || control_error_.has_value(); }, request_timeout_);
    if (control_answer_ && !control_error_) {
      out.response = std::move(*control_answer_);
      out.arrived = control_arrived_;
      control_answer_.reset();
      if (out.response.close) control_error_ = Status::Unavailable("the agent closed the control connection");
      return out;
    }
    if (!control_error_) {
      control_error_ = Status::Timeout("no answer within --request-timeout=" + SecondsText(request_timeout_) +
                                       " (the agent stalled?)");
    }
    return *control_error_;
  }

  Status WriteKeys() {
    indexes_.resize(keys_);
    for (size_t k = 0; k < keys_; ++k) {
      CAIRN_ASSIGN_OR_RETURN(Answer put, Control(HttpRequest("PUT", "/v1/kv/" + KeyName(k), host_, "", "initial")));
      if (put.response.status != 200 || put.response.body.find("true") == std::string::npos) {
        return Status::Internal("PUT " + KeyName(k) + ": status " + std::to_string(put.response.status) + " body " +
                                put.response.body.substr(0, 200));
      }
    }
    for (size_t k = 0; k < keys_; ++k) {
      CAIRN_ASSIGN_OR_RETURN(Answer get, Control(HttpRequest("GET", "/v1/kv/" + KeyName(k), host_, "", "")));
      if (get.response.status != 200 || !get.response.consul_index || *get.response.consul_index == 0) {
        return Status::Internal("GET " + KeyName(k) + ": status " + std::to_string(get.response.status) +
                                ", no X-Consul-Index or 0");
      }
      indexes_[k] = *get.response.consul_index;
    }
    for (Watcher& w : watchers_) w.index = indexes_[w.key];
    return OkStatus();
  }

  // A plain read with every query held: a server whose handlers are all taken by blocking
  // queries does not answer it.
  void Probe() {
    Result<Answer> got = Control(HttpRequest("GET", "/v1/status/leader", host_, "", ""));
    if (got.IsOk() && got->response.status == 200) {
      probe_ms_ = Ms(got->arrived - got->sent);
      return;
    }
    Fail("with " + std::to_string(held_) + " queries open, GET /v1/status/leader failed: " +
         (got.IsOk() ? "status " + std::to_string(got->response.status) : got.GetStatus().ToString()) +
         ". The open queries look held from here but are probably queued behind busy handlers");
  }

  // ---- the held queries ----

  Status OpenAll() {
    open_start_ = env_.Now();
    OpenMore();
    const bool all = env_.RunUntil([this] { return armed_ + dead_ >= queries_; }, open_timeout_);
    open_seconds_ = Seconds(env_.Now() - open_start_);
    opening_closed_ = true;  // a connect that completes later is dropped
    if (!all) {
      return Status::Timeout("only " + std::to_string(armed_) + " of " + std::to_string(queries_) +
                             " queries were sent within --open-timeout=" + SecondsText(open_timeout_) + " (" +
                             std::to_string(connects_in_flight_) + " connects still pending)");
    }
    return OkStatus();
  }

  void OpenMore() {
    while (!opening_closed_ && connects_in_flight_ < connects_in_flight_max_ &&
           (!retry_.empty() || next_open_ < watchers_.size())) {
      size_t i = next_open_;
      if (!retry_.empty()) {
        i = retry_.front();
        retry_.pop_front();
      } else {
        ++next_open_;
      }
      Connect(i);
    }
  }

  void Connect(size_t i) {
    Watcher& w = watchers_[i];
    ++connects_in_flight_;
    ++w.connect_attempts;
    const uint64_t generation = ++w.generation;
    env_.ConnectTcp(target_, [this, i, generation](Result<std::unique_ptr<TcpStream>> stream) {
      --connects_in_flight_;
      Watcher& w = watchers_[i];
      if (w.generation != generation || w.dead) return;
      if (opening_closed_) return Kill(i, "connected after --open-timeout");
      if (!stream.IsOk()) {
        ++connect_failures_;
        if (w.connect_attempts >= kConnectAttemptsMax)
          return Kill(i, "connect failed: " + stream.GetStatus().ToString());
        env_.StartTimer(100ms, [this, i] {
          retry_.push_back(i);
          OpenMore();
        });
        return;
      }
      w.stream = std::move(stream).Value();
      w.stream->Start(TcpStreamHandlers{[this, i, generation](std::string_view data) { OnData(i, generation, data); },
                                        [this, i, generation](Status reason) { OnClosed(i, generation, reason); }});
      Arm(i);
      OpenMore();
    });
  }

  std::string QueryRequest(const Watcher& w) const {
    return HttpRequest("GET", "/v1/kv/" + KeyName(w.key) + "?index=" + std::to_string(w.index) + "&wait=" + wait_,
                       host_, "", "");
  }

  void Arm(size_t i) {
    Watcher& w = watchers_[i];
    if (Status s = w.stream->Write(QueryRequest(w)); !s.IsOk()) return Kill(i, "sending the query: " + s.ToString());
    w.in_flight = true;
    ++held_;
    if (!w.armed_once) {
      w.armed_once = true;
      ++armed_;
    }
  }

  void Kill(size_t i, const std::string& why) {
    Watcher& w = watchers_[i];
    if (w.dead) return;
    if (w.in_flight) --held_;
    w.in_flight = false;
    w.dead = true;
    ++w.generation;
    ++dead_;
    Note("connection " + std::to_string(i) + " (" + KeyName(w.key) + ") lost: " + why);
    w.stream.reset();
  }

  void OnClosed(size_t i, uint64_t generation, const Status& reason) {
    if (watchers_[i].generation != generation) return;
    ++closed_by_agent_;
    Kill(i, "the agent closed it" + ClosedReason(reason));
  }

  void OnData(size_t i, uint64_t generation, std::string_view data) {
    const MonoTime now = env_.Now();
    Watcher& w = watchers_[i];
    if (w.generation != generation) return;
    w.parser.Feed(data);
    while (!w.dead) {
      Result<std::optional<HttpResponse>> response = w.parser.Next();
      if (!response.IsOk()) {
        ++protocol_errors_;
        return Kill(i, "unparsable answer: " + response.GetStatus().ToString());
      }
      if (!response->has_value()) return;
      OnAnswer(i, **response, now);
    }
  }

  void OnAnswer(size_t i, const HttpResponse& response, MonoTime now) {
    Watcher& w = watchers_[i];
    if (!w.in_flight) {
      ++protocol_errors_;
      return Kill(i, "an answer with no query in flight");
    }
    w.in_flight = false;
    --held_;
    const uint64_t old_index = w.index;
    if (rounds_started_ && w.expect_round == round_ && w.answered_round != round_) {
      w.answered_round = round_;
      ++round_answered_;
      round_arrivals_.push_back(now);
      if (!IsWake(response, old_index)) {
        ++wrong_answers_;
        Note("round " + std::to_string(round_) + ": connection " + std::to_string(i) + " woke with " +
             Describe(response, old_index));
      }
    } else {
      ++(rounds_started_ ? spurious_ : early_answers_);
      Note(std::string(rounds_started_ ? "spurious wake in round " + std::to_string(round_) : "early answer") +
           ": connection " + std::to_string(i) + " (" + KeyName(w.key) + ") got " + Describe(response, old_index));
    }
    if (response.consul_index && *response.consul_index > 0) w.index = *response.consul_index;
    if (response.close) {
      ++closed_by_agent_;
      return Kill(i, "the agent answered with Connection: close");
    }
    Arm(i);
  }

  bool IsWake(const HttpResponse& response, uint64_t old_index) const {
    return response.status == 200 && response.consul_index && *response.consul_index > old_index &&
           response.body.find("\"" + Base64Encode(round_value_) + "\"") != std::string::npos;
  }

  static std::string Describe(const HttpResponse& response, uint64_t old_index) {
    const uint64_t index = response.consul_index.value_or(0);
    return "status " + std::to_string(response.status) + ", index " + std::to_string(old_index) + " -> " +
           std::to_string(index) + (index == old_index ? " (unchanged: no change, or the wait expired)" : "") +
           ", body " + response.body.substr(0, 160);
  }

  void CheckHeld(const std::string& when) {
    if (held_ == queries_) return;
    Fail("only " + std::to_string(held_) + " of " + std::to_string(queries_) + " queries held " + when + " (" +
         std::to_string(dead_) + " connections lost, " + std::to_string(early_answers_ + spurious_) +
         " unexpected answers)");
  }

  // Runs the loop for --idle with nothing sent; returns the seconds that passed.
  double Idle() {
    const MonoTime start = env_.Now();
    env_.RunUntil([] { return false; }, idle_);
    return Seconds(env_.Now() - start);
  }

  // A connection the agent never accepted (say, out of descriptors) waits in its listen backlog
  // and looks held from here; the agent's descriptor count tells them apart.
  void CheckAccepted() {
    if (!before_ || !held_sample_) return;
    const int64_t accepted = static_cast<int64_t>(held_sample_->fds) - static_cast<int64_t>(before_->fds);
    const int64_t slack = 16 + static_cast<int64_t>(held_at_sample_ / 100);  // the agent's own files come and go
    if (accepted + slack >= static_cast<int64_t>(held_at_sample_)) return;
    Fail("the agent holds only " + std::to_string(accepted) + " more descriptors than before opening, for " +
         std::to_string(held_at_sample_) + " held queries: the rest were never accepted (its open files limit is " +
         std::to_string(held_sample_->fds_soft_max) + "; EMFILE?)");
  }

  // ---- the rounds ----

  void RunRounds() {
    for (uint64_t r = 0; r < rounds_; ++r) {
      const size_t key = r % keys_;
      size_t expected = 0;
      for (Watcher& w : watchers_) {
        if (!w.dead && w.in_flight && w.key == key) {
          w.expect_round = static_cast<int64_t>(r);
          ++expected;
        }
      }
      round_ = static_cast<int64_t>(r);
      round_answered_ = 0;
      round_arrivals_.clear();
      round_value_ = "round" + std::to_string(r) + "-" + std::to_string(env_.RandomSeed() % 1000000);
      Result<Answer> put = Control(HttpRequest("PUT", "/v1/kv/" + KeyName(key), host_, "", round_value_));
      if (!put.IsOk() || put->response.status != 200 || put->response.body.find("true") == std::string::npos) {
        Fail("round " + std::to_string(r) + ": PUT " + KeyName(key) + " failed: " +
             (put.IsOk()
                  ? "status " + std::to_string(put->response.status) + " body " + put->response.body.substr(0, 160)
                  : put.GetStatus().ToString()) +
             "; stopping the rounds");
        return;
      }
      put_ns_.push_back((put->arrived - put->sent).count());
      env_.RunUntil([this, expected] { return round_answered_ >= expected; }, wake_timeout_);
      env_.RunUntil([] { return false; }, quiet_);
      ++rounds_done_;
      expected_wakes_ += expected;
      if (round_answered_ < expected) {
        missed_ += expected - round_answered_;
        Fail("round " + std::to_string(r) + ": only " + std::to_string(round_answered_) + " of " +
             std::to_string(expected) + " watchers of " + KeyName(key) +
             " answered within --wake-timeout=" + SecondsText(wake_timeout_));
      }
      for (MonoTime t : round_arrivals_) {
        wake_from_ack_ns_.push_back((t - put->arrived).count());
        wake_from_send_ns_.push_back((t - put->sent).count());
      }
    }
  }

  // ---- samples, notes and the report ----

  std::optional<ProcSample> Sample(const std::string& when) {
    if (agent_pid_ <= 0) return std::nullopt;
    Result<ProcSample> sample = SampleProcess(env_, agent_pid_);
    if (sample.IsOk()) return *sample;
    Fail("cannot sample the agent " + when + ": " + sample.GetStatus().ToString());
    return std::nullopt;
  }

  void Note(const std::string& what) {
    if (++notes_ <= kNotesMax) std::fprintf(stderr, "error: %s\n", what.c_str());
    if (notes_ == kNotesMax + 1) std::fprintf(stderr, "error: (further errors are only counted)\n");
  }

  void Fail(const std::string& what) {
    failed_ = true;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }

  int Abort(const std::string& what) {
    Fail(what);
    std::printf("RESULT ok=0 queries=%" PRIu64 " held=0\n", queries_);
    return 1;
  }

  void ReportAgent() const {
    if (!before_ || !held_sample_) return;
    const double rss_delta_kb = static_cast<double>(held_sample_->rss_kb) - static_cast<double>(before_->rss_kb);
    const double per_query_bytes = held_at_sample_ > 0 ? rss_delta_kb * 1024 / static_cast<double>(held_at_sample_) : 0;
    std::printf(" rss_before_kb=%" PRIu64 " rss_held_kb=%" PRIu64 " bytes_per_query=%.0f threads_before=%" PRIu64
                " threads_held=%" PRIu64 " fds_before=%" PRIu64 " fds_held=%" PRIu64 " agent_nofile=%" PRIu64,
                before_->rss_kb, held_sample_->rss_kb, per_query_bytes, before_->threads, held_sample_->threads,
                before_->fds, held_sample_->fds, held_sample_->fds_soft_max);
    if (idle_sample_ && base_sample_) {
      // CPU ms per second of the agent with nothing held (base) and with every query held; per
      // 1,000 held queries is the difference, scaled.
      // From the threads' schedstat (ns): the clock ticks of `stat` are too coarse for an idle agent.
      // A thread that exits between two samples takes its time with it: signed, not wrapped.
      const auto ms_per_s = [](const ProcSample& from, const ProcSample& to, double seconds) {
        return (static_cast<double>(to.cpu_ns) - static_cast<double>(from.cpu_ns)) / 1e6 / seconds;
      };
      const double base_ms_per_s = ms_per_s(*base_sample_, *before_, base_idle_seconds_);
      const double held_ms_per_s = ms_per_s(*held_sample_, *idle_sample_, idle_seconds_);
      const double per_1k =
          held_at_sample_ > 0 ? (held_ms_per_s - base_ms_per_s) / (static_cast<double>(held_at_sample_) / 1000) : 0;
      std::printf(" idle_s=%.1f idle_base_cpu_ms_per_s=%.2f idle_held_cpu_ms_per_s=%.2f idle_cpu_ms_per_s_per_1k=%.3f",
                  idle_seconds_, base_ms_per_s, held_ms_per_s, per_1k);
      if (after_sample_) {
        const double rounds_cpu_s = static_cast<double>(after_sample_->cpu_ticks - idle_sample_->cpu_ticks) / clk_tck_;
        std::printf(" rounds_cpu_s=%.2f rss_after_kb=%" PRIu64 " threads_after=%" PRIu64, rounds_cpu_s,
                    after_sample_->rss_kb, after_sample_->threads);
      }
    }
  }

  void Report() {
    std::sort(wake_from_ack_ns_.begin(), wake_from_ack_ns_.end());
    std::sort(wake_from_send_ns_.begin(), wake_from_send_ns_.end());
    std::sort(put_ns_.begin(), put_ns_.end());
    const bool ok = !failed_ && spurious_ == 0 && early_answers_ == 0 && wrong_answers_ == 0 && missed_ == 0;
    failed_ = !ok;
    const auto max_ms = [](const std::vector<int64_t>& v) {
      return v.empty() ? 0.0 : static_cast<double>(v.back()) / 1e6;
    };
    const auto min_ms = [](const std::vector<int64_t>& v) {
      return v.empty() ? 0.0 : static_cast<double>(v.front()) / 1e6;
    };
    std::printf("RESULT ok=%d queries=%" PRIu64 " keys=%" PRIu64 " held=%" PRIu64 " held_after_open=%" PRIu64
                " open_s=%.2f probe_ms=%.3f rounds=%" PRIu64 " rounds_done=%" PRIu64 " woken=%zu expected=%" PRIu64
                " missed=%" PRIu64 " spurious=%" PRIu64 " early=%" PRIu64 " wrong=%" PRIu64 " lost=%" PRIu64
                " closed_by_agent=%" PRIu64 " protocol_errors=%" PRIu64 " connect_failures=%" PRIu64,
                ok ? 1 : 0, queries_, keys_, held_, held_at_sample_, open_seconds_, probe_ms_, rounds_, rounds_done_,
                wake_from_ack_ns_.size(), expected_wakes_, missed_, spurious_, early_answers_, wrong_answers_, dead_,
                closed_by_agent_, protocol_errors_, connect_failures_);
    const auto before_ack =
        std::count_if(wake_from_ack_ns_.begin(), wake_from_ack_ns_.end(), [](int64_t ns) { return ns < 0; });
    std::printf(" woken_before_put_answer=%td", before_ack);
    std::printf(
        " wake_p50_ms=%.3f wake_p90_ms=%.3f wake_p99_ms=%.3f wake_max_ms=%.3f wake_min_ms=%.3f"
        " wake_from_send_p50_ms=%.3f wake_from_send_p99_ms=%.3f wake_from_send_max_ms=%.3f put_p50_ms=%.3f"
        " put_max_ms=%.3f",
        Percentile(wake_from_ack_ns_, 0.5), Percentile(wake_from_ack_ns_, 0.9), Percentile(wake_from_ack_ns_, 0.99),
        max_ms(wake_from_ack_ns_), min_ms(wake_from_ack_ns_), Percentile(wake_from_send_ns_, 0.5),
        Percentile(wake_from_send_ns_, 0.99), max_ms(wake_from_send_ns_), Percentile(put_ns_, 0.5), max_ms(put_ns_));
    ReportAgent();
    std::printf(" load_cpu_s=%.2f\n", OwnCpuSeconds());
  }

  UvEnv& env_;
  const NetAddress target_;
  const std::string host_;
  uint64_t queries_ = 0;
  uint64_t keys_ = 0;
  uint64_t rounds_ = 0;
  int agent_pid_ = 0;
  std::string wait_;
  Duration idle_{};
  Duration settle_{};
  Duration quiet_{};
  Duration open_timeout_{};
  Duration wake_timeout_{};
  Duration request_timeout_{};
  uint64_t connects_in_flight_max_ = 0;
  double clk_tck_ = 100;

  // The control connection.
  std::unique_ptr<TcpStream> control_;
  HttpResponseParser control_parser_;
  uint64_t control_generation_ = 0;
  bool control_connecting_ = false;
  std::optional<HttpResponse> control_answer_;
  MonoTime control_arrived_;
  std::optional<Status> control_error_;

  // The held queries.
  std::vector<uint64_t> indexes_;
  std::vector<Watcher> watchers_;
  std::deque<size_t> retry_;
  size_t next_open_ = 0;
  uint64_t connects_in_flight_ = 0;
  bool opening_closed_ = false;
  MonoTime open_start_;
  double open_seconds_ = 0;
  uint64_t armed_ = 0;  // queries sent at least once
  uint64_t held_ = 0;   // queries sent and not answered, on live connections
  uint64_t held_at_sample_ = 0;
  uint64_t dead_ = 0;
  double probe_ms_ = -1;

  // The rounds.
  bool rounds_started_ = false;
  int64_t round_ = -1;
  std::string round_value_;
  uint64_t round_answered_ = 0;
  std::vector<MonoTime> round_arrivals_;
  uint64_t rounds_done_ = 0;
  uint64_t expected_wakes_ = 0;
  std::vector<int64_t> wake_from_ack_ns_;
  std::vector<int64_t> wake_from_send_ns_;
  std::vector<int64_t> put_ns_;

  // Counters of what went wrong.
  uint64_t missed_ = 0;
  uint64_t spurious_ = 0;
  uint64_t early_answers_ = 0;
  uint64_t wrong_answers_ = 0;
  uint64_t closed_by_agent_ = 0;
  uint64_t protocol_errors_ = 0;
  uint64_t connect_failures_ = 0;
  uint64_t notes_ = 0;
  bool failed_ = false;

  // The agent, from /proc.
  std::optional<ProcSample> base_sample_;
  std::optional<ProcSample> before_;
  std::optional<ProcSample> held_sample_;
  std::optional<ProcSample> idle_sample_;
  std::optional<ProcSample> after_sample_;
  double base_idle_seconds_ = 0;
  double idle_seconds_ = 0;
};

}  // namespace cairn::bench

int main(int argc, char** argv) {
  using namespace cairn;
  const bench::Flags flags(argc, argv);
  const std::vector<NetAddress> targets = bench::ParseTargets(flags.Get("target"));
  if (targets.size() != 1) {
    std::fprintf(stderr,
                 "usage: cairn_blocking_bench_load --target=ip:port [--agent-pid=PID] [--queries=10000] [--keys=100] "
                 "[--rounds=50] [--wait=5m] [--idle=10s] [--settle=2s] [--quiet=200ms] [--open-timeout=120s] "
                 "[--wake-timeout=10s] [--request-timeout=10s] [--connects-in-flight=256]\n");
    return 2;
  }
  const uint64_t open_files = bench::RaiseOpenFilesLimit();
  const uint64_t queries = flags.GetInt("queries", 10000);
  if (open_files < queries + 64) {
    std::fprintf(stderr,
                 "FAIL: %" PRIu64 " queries need %" PRIu64 "+ descriptors; this process may open %" PRIu64
                 " (raise the hard limit: ulimit -Hn)\n",
                 queries, queries + 64, open_files);
    std::printf("RESULT ok=0 queries=%" PRIu64 " held=0\n", queries);
    return 1;
  }
  UvEnv env;
  bench::BlockingLoad load(env, flags, targets[0]);
  return load.Run();
}
