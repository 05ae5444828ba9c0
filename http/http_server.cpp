#include "http/http_server.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "common/thread_name.h"
#include "common/uv_env.h"
#include "http/worker_pool.h"

namespace cairn::http {

namespace {

// How often the loop looks for connections past their request or idle timeout.
constexpr auto kSweepInterval = std::chrono::seconds(1);
// After a final error reply the server keeps reading, and discarding, for this long (or up to
// twice the buffer limit) before it closes: a client still sending the body it was refused
// for then reads the reply instead of a connection reset (a "lingering close").
constexpr auto kLingerFor = std::chrono::seconds(1);

Response PlainResponse(int status, const std::string& text) {
  Response response;
  response.status = status;
  response.SetContent(text, "text/plain; charset=utf-8");
  return response;
}

}  // namespace

namespace {

// One request from the moment it is parsed until it is answered or dropped. Shared between
// the loop (which owns it through its connection) and the worker running it.
struct PendingRequest {
  enum class Phase { kRunning, kDeferred };
  uint64_t connection = 0;
  Request request;
  bool keep_alive = false;
  std::shared_ptr<void> state;  // RequestControl::State
  // Loop thread only:
  Phase phase = Phase::kRunning;
  bool resume_early = false;  // a resume arrived while the request was still running
  std::function<void()> give_up;
  TimerId timer = 0;
};

// The way back to the loop for resumers, which may outlive the server.
struct LoopHandle {
  std::mutex mu;
  Env* env = nullptr;  // null once the loop has stopped
  std::function<void(const std::shared_ptr<PendingRequest>&)> resume;
};

// One run of a request, on a worker thread or on the loop.
class Control final : public RequestControl {
 public:
  Control(std::shared_ptr<PendingRequest> pending, std::shared_ptr<LoopHandle> handle, bool on_loop)
      : pending_(std::move(pending)), handle_(std::move(handle)), on_loop_(on_loop) {}

  void Defer(std::chrono::steady_clock::time_point deadline, std::function<void()> give_up) override {
    deferred_ = true;
    deadline_ = deadline;
    give_up_ = std::move(give_up);
  }
  std::function<void()> Resumer() override {
    return [weak = std::weak_ptr<PendingRequest>(pending_), handle = handle_] {
      std::shared_ptr<PendingRequest> pending = weak.lock();
      if (!pending) return;
      std::lock_guard<std::mutex> lock(handle->mu);
      if (handle->env == nullptr) return;
      (void)handle->env->Post([handle, pending] { handle->resume(pending); });
    };
  }
  std::shared_ptr<void>& State() override { return pending_->state; }
  bool OnLoop() const override { return on_loop_; }
  // A handler that deferred and then threw answers after all; what it waits for is released.
  void Undefer() {
    if (deferred_ && give_up_) give_up_();
    deferred_ = false;
    give_up_ = nullptr;
  }

  bool deferred_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::function<void()> give_up_;

 private:
  std::shared_ptr<PendingRequest> pending_;
  std::shared_ptr<LoopHandle> handle_;
  bool on_loop_;
};

}  // namespace

// Everything that lives on the server's loop thread.
class HttpServer::Loop {
 public:
  Loop(const HttpServerOptions& options, const RequestHandler& handler)
      : options_(options), handler_(handler), workers_(options.worker_threads_max) {
    handle_->env = &env_;
    handle_->resume = [this](const std::shared_ptr<PendingRequest>& pending) { Resume(pending); };
  }

  Result<uint16_t> Listen() {
    CAIRN_ASSIGN_OR_RETURN(listener_, env_.ListenTcp(NetAddress{options_.bind_host, options_.port},
                                                     [this](std::unique_ptr<TcpStream> s) { Accept(std::move(s)); }));
    ArmSweep();
    return listener_->LocalAddress().port;
  }

  void RunOnThread() {
    thread_ = std::thread([this] {
      NameThisThread("cairn-http");
      env_.Run();
    });
  }

  // Any thread but the loop's. Ends with the loop stopped and every thread joined.
  void Shutdown() {
    Status posted = env_.Post([this] { CloseEverything(); });
    if (!posted.IsOk()) CloseEverythingWhenStopped();
    if (thread_.joinable()) thread_.join();
    {
      std::lock_guard<std::mutex> lock(handle_->mu);
      handle_->env = nullptr;
    }
    // Handlers still running post their answers into a stopped loop, which drops them.
    workers_.Stop();
  }

  HttpServerStats Stats() const {
    HttpServerStats stats;
    stats.connections_open = open_.load();
    stats.requests_deferred = deferred_.load();
    stats.worker_threads = workers_.Threads();
    stats.requests = requests_.load();
    return stats;
  }

 private:
  struct Connection {
    std::unique_ptr<TcpStream> stream;
    std::string buffer;
    std::shared_ptr<PendingRequest> pending;  // the request being served, if any
    bool sent_continue = false;
    bool lingering = false;  // answered with an error: discarding input until closed
    size_t discarded = 0;
    size_t served = 0;
    MonoTime last_activity;
    std::optional<MonoTime> request_started;  // the first byte of a request not yet whole
  };

  void Accept(std::unique_ptr<TcpStream> stream) {
    if (connections_.size() >= options_.connections_max) return;  // dropping closes it
    const uint64_t id = next_id_++;
    Connection& c = connections_[id];
    c.stream = std::move(stream);
    c.last_activity = env_.Now();
    open_ = connections_.size();
    c.stream->Start(
        TcpStreamHandlers{[this, id](std::string_view data) { OnData(id, data); }, [this, id](Status) { Forget(id); }});
  }

  void OnData(uint64_t id, std::string_view data) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    Connection& c = it->second;
    if (c.lingering) {
      c.discarded += data.size();
      if (c.discarded > 2 * BufferBytesMax()) Close(id);
      return;
    }
    c.last_activity = env_.Now();
    if (!c.request_started) c.request_started = c.last_activity;
    // Pipelined bytes wait while a request runs; a client sending far more than one request
    // can hold is cut off rather than buffered without end.
    if (c.buffer.size() + data.size() > BufferBytesMax()) return Reply(id, PlainResponse(413, "request too large"));
    c.buffer.append(data);
    if (!c.pending) Dispatch(id);
  }

  size_t BufferBytesMax() const { return 2 * (options_.limits.header_bytes_max + options_.limits.body_bytes_max); }

  // Parses the next request in the buffer and hands it to a worker.
  void Dispatch(uint64_t id) {
    Connection& c = connections_.at(id);
    if (c.buffer.empty()) return;
    ParseOutcome parsed = ParseRequest(c.buffer, options_.limits);
    if (parsed.kind == ParseOutcome::Kind::kIncomplete) {
      if (parsed.expects_continue && !c.sent_continue) {
        c.sent_continue = true;
        (void)c.stream->Write("HTTP/1.1 100 Continue\r\n\r\n");
      }
      return;
    }
    if (parsed.kind == ParseOutcome::Kind::kError) {
      return Reply(id, PlainResponse(parsed.error_status, parsed.error_message));
    }
    c.buffer.erase(0, parsed.consumed);
    c.sent_continue = false;
    c.request_started.reset();
    if (!c.buffer.empty()) c.request_started = env_.Now();
    ++c.served;
    ++requests_;
    auto pending = std::make_shared<PendingRequest>();
    pending->connection = id;
    pending->keep_alive = parsed.keep_alive && c.served < options_.keep_alive_requests_max;
    pending->request = std::move(parsed.request);
    c.pending = pending;
    Submit(pending);
  }

  void Submit(const std::shared_ptr<PendingRequest>& pending) {
    pending->phase = PendingRequest::Phase::kRunning;
    if (options_.runs_on_loop && options_.runs_on_loop(pending->request)) return RunOnLoop(pending);
    if (!workers_.Submit([this, pending] { RunOnWorker(pending); })) Close(pending->connection);
  }

  // What one run of the handler came to: deferred, or the response's bytes.
  struct RunOutcome {
    bool deferred = false;
    std::chrono::steady_clock::time_point deadline;
    std::function<void()> give_up;
    std::string bytes;
  };

  RunOutcome RunHandler(const std::shared_ptr<PendingRequest>& pending, bool on_loop) {
    Response response;
    Control control(pending, handle_, on_loop);
    try {
      handler_(pending->request, response, control);
    } catch (const std::exception& e) {
      control.Undefer();
      response = PlainResponse(500, std::string("Internal error: ") + e.what());
    } catch (...) {
      control.Undefer();
      response = PlainResponse(500, "Internal error");
    }
    if (control.deferred_) return RunOutcome{true, control.deadline_, std::move(control.give_up_), {}};
    return RunOutcome{
        false, {}, nullptr, SerializeResponse(response, pending->keep_alive, pending->request.method == "HEAD")};
  }

  // On a worker thread.
  void RunOnWorker(const std::shared_ptr<PendingRequest>& pending) {
    RunOutcome outcome = RunHandler(pending, /*on_loop=*/false);
    // A stopped loop refuses the post; the request is dropped with its connection.
    (void)env_.Post([this, pending, outcome = std::move(outcome)]() mutable { Finish(pending, std::move(outcome)); });
  }

  void RunOnLoop(const std::shared_ptr<PendingRequest>& pending) {
    ++loop_runs_depth_;
    Finish(pending, RunHandler(pending, /*on_loop=*/true));
    --loop_runs_depth_;
  }

  void Finish(const std::shared_ptr<PendingRequest>& pending, RunOutcome outcome) {
    if (outcome.deferred) return Deferred(pending, outcome.deadline, std::move(outcome.give_up));
    Answered(pending, std::move(outcome.bytes));
  }

  bool Current(const std::shared_ptr<PendingRequest>& pending) const {
    auto it = connections_.find(pending->connection);
    return it != connections_.end() && it->second.pending == pending;
  }

  void Deferred(const std::shared_ptr<PendingRequest>& pending, std::chrono::steady_clock::time_point deadline,
                std::function<void()> give_up) {
    if (!Current(pending)) {  // the client went away meanwhile
      if (give_up) give_up();
      return;
    }
    pending->give_up = std::move(give_up);
    if (pending->resume_early) {
      pending->resume_early = false;
      pending->give_up = nullptr;
      return Submit(pending);
    }
    pending->phase = PendingRequest::Phase::kDeferred;
    ++deferred_;
    const auto delay =
        std::max(deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration::zero());
    pending->timer = env_.StartTimer(std::chrono::duration_cast<Duration>(delay), [this, pending] {
      pending->timer = 0;
      StopWaiting(pending, /*gave_up=*/true);
      Submit(pending);
    });
  }

  void Resume(const std::shared_ptr<PendingRequest>& pending) {
    if (!Current(pending)) return;
    if (pending->phase == PendingRequest::Phase::kRunning) {
      pending->resume_early = true;
      return;
    }
    StopWaiting(pending, /*gave_up=*/false);
    Submit(pending);
  }

  // Ends a deferred request's wait; `gave_up` runs its give-up call (the resumer will not come).
  void StopWaiting(const std::shared_ptr<PendingRequest>& pending, bool gave_up) {
    if (pending->phase != PendingRequest::Phase::kDeferred) return;
    pending->phase = PendingRequest::Phase::kRunning;
    --deferred_;
    if (pending->timer != 0) env_.CancelTimer(pending->timer);
    pending->timer = 0;
    std::function<void()> give_up = std::move(pending->give_up);
    pending->give_up = nullptr;
    if (gave_up && give_up) give_up();
  }

  void Answered(const std::shared_ptr<PendingRequest>& pending, std::string bytes) {
    if (!Current(pending)) return;  // the client went away meanwhile
    const uint64_t id = pending->connection;
    Connection& c = connections_.at(id);
    c.pending.reset();
    c.last_activity = env_.Now();
    if (!c.stream->Write(std::move(bytes)).IsOk() || !pending->keep_alive) return Close(id);
    if (loop_runs_depth_ == 0) return Dispatch(id);
    // Answered inside a run on the loop: the next pipelined request starts from the loop, not
    // from this call chain, so that many of them cannot deepen the stack without end.
    if (!c.buffer.empty()) {
      (void)env_.Post([this, id] {
        auto it = connections_.find(id);
        if (it != connections_.end() && !it->second.pending) Dispatch(id);
      });
    }
  }

  // Sends a final response, then lingers before closing.
  void Reply(uint64_t id, const Response& response) {
    Connection& c = connections_.at(id);
    if (!c.stream->Write(SerializeResponse(response, /*keep_alive=*/false, /*head_only=*/false)).IsOk()) {
      return Close(id);
    }
    c.lingering = true;
    c.buffer.clear();
    c.request_started = env_.Now();
  }

  void Close(uint64_t id) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    it->second.stream->Close();
    Forget(id);
  }

  void Forget(uint64_t id) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    if (it->second.pending) StopWaiting(it->second.pending, /*gave_up=*/true);
    connections_.erase(it);
    open_ = connections_.size();
  }

  void ArmSweep() {
    sweep_timer_ = env_.StartTimer(kSweepInterval, [this] {
      Sweep();
      ArmSweep();
    });
  }

  void Sweep() {
    const MonoTime now = env_.Now();
    std::vector<uint64_t> late, idle;
    for (const auto& [id, c] : connections_) {
      if (c.pending) continue;
      if (c.lingering) {
        if (now - *c.request_started > kLingerFor) idle.push_back(id);
        continue;
      }
      if (c.request_started && now - *c.request_started > options_.request_timeout) late.push_back(id);
      if (!c.request_started && now - c.last_activity > options_.idle_timeout) idle.push_back(id);
    }
    for (uint64_t id : late) Reply(id, PlainResponse(408, "request not received in time"));
    for (uint64_t id : idle) Close(id);
  }

  void CloseEverything() {
    if (sweep_timer_ != 0) env_.CancelTimer(sweep_timer_);
    sweep_timer_ = 0;
    listener_.reset();
    std::vector<uint64_t> ids;
    for (const auto& [id, c] : connections_) ids.push_back(id);
    for (uint64_t id : ids) Close(id);
    env_.Stop();
  }

  // The loop never ran (or already stopped): its handles are closed from this thread.
  void CloseEverythingWhenStopped() {
    if (thread_.joinable()) thread_.join();
    listener_.reset();
    connections_.clear();
    open_ = 0;
  }

  const HttpServerOptions& options_;
  const RequestHandler& handler_;
  // Declared before what it hands out, so that it is destroyed after them.
  UvEnv env_;
  std::shared_ptr<LoopHandle> handle_ = std::make_shared<LoopHandle>();
  WorkerPool workers_;
  std::unique_ptr<TcpListener> listener_;
  std::map<uint64_t, Connection> connections_;
  uint64_t next_id_ = 1;
  TimerId sweep_timer_ = 0;
  int loop_runs_depth_ = 0;  // handlers running on the loop thread now (nested runs)
  std::thread thread_;
  std::atomic<size_t> open_{0};
  std::atomic<size_t> deferred_{0};
  std::atomic<uint64_t> requests_{0};
};

HttpServer::HttpServer(HttpServerOptions options, RequestHandler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  if (loop_) return Status::FailedPrecondition("HTTP server already started");
  auto loop = std::make_unique<Loop>(options_, handler_);
  Result<uint16_t> port = loop->Listen();
  if (!port.IsOk()) {
    return Status::IoError("cannot bind the HTTP API to " + options_.bind_host + ":" + std::to_string(options_.port) +
                           ": " + port.GetStatus().ToString());
  }
  port_ = *port;
  loop->RunOnThread();
  loop_ = std::move(loop);
  return OkStatus();
}

void HttpServer::Stop() {
  if (!loop_) return;
  loop_->Shutdown();
  loop_.reset();
}

HttpServerStats HttpServer::Stats() const { return loop_ ? loop_->Stats() : HttpServerStats{}; }

}  // namespace cairn::http
