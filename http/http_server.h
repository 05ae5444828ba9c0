// HttpServer: an event-driven HTTP/1.1 server.
//
// One thread runs a libuv loop (a UvEnv of the server's own) that accepts connections, reads
// and parses requests (http/request_parser.h) and writes responses. Each complete request runs
// on a WorkerPool thread, because handlers may block (a Raft commit, a blocking query); the
// response goes back to the loop to be written. Requests the options mark as non-blocking
// run on the loop itself (runs_on_loop). An idle keep-alive connection costs its buffer
// and a socket, not a thread, so thousands of clients can stay connected.
//
// A handler may also defer its answer (RequestControl): the request then waits without a
// thread until it is resumed or its deadline passes, and runs again. Blocking queries wait so.
//
// A connection runs one request at a time: pipelined requests wait, buffered, until the one
// before has been answered. Limits: connections_max (extra connections are closed at once),
// the parser's header and body limits (431/413, then close), a request that does not arrive
// whole within request_timeout (408, then close), and keep-alive connections idle longer than
// idle_timeout (closed).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/message.h"
#include "http/request_parser.h"

namespace cairn::http {

struct HttpServerOptions {
  std::string bind_host = "127.0.0.1";  // a dotted quad
  uint16_t port = 0;                    // 0: an ephemeral port (see HttpServer::Port)
  ParserLimits limits;
  size_t connections_max = 16384;
  // Handler threads; a blocking query holds one while it waits.
  size_t worker_threads_max = 512;
  // Requests served on one connection before the server closes it.
  size_t keep_alive_requests_max = 100000;
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds idle_timeout{120000};
  // Requests this returns true for run on the loop thread itself instead of on a worker
  // (asked on the loop before each run). Their handler must not block; it defers instead
  // (RequestControl::OnLoop). For requests that only start work elsewhere, such as a write
  // handed to the agent, this saves the worker's two thread hand-offs.
  std::function<bool(const Request&)> runs_on_loop;
};

// What a handler may do besides answering: defer the answer. A deferred request holds no
// thread; it runs again (the handler is called anew, with the same request and control and a
// fresh response) when the resumer is called or the deadline passes, whichever comes first.
class RequestControl {
 public:
  virtual ~RequestControl() = default;
  // Ends this run without an answer. `give_up` runs once, on the server's thread, if the server
  // stops waiting for the resumer (the deadline passed, the client went away, the server
  // stopped), e.g. to cancel what would have called the resumer.
  virtual void Defer(std::chrono::steady_clock::time_point deadline, std::function<void()> give_up) = 0;
  // Runs the request again soon. Callable from any thread, before or after Defer, any number
  // of times, also after the request or the server has gone (then it does nothing).
  virtual std::function<void()> Resumer() = 0;
  // Whatever the handler keeps from one run to the next; empty on the first run.
  virtual std::shared_ptr<void>& State() = 0;
  // True when this run is on the server's loop thread (HttpServerOptions::runs_on_loop): the
  // handler must not block, and defers instead of waiting.
  virtual bool OnLoop() const = 0;
};

// Fills `response` for `request`, or defers it through `control`; runs on a worker thread (or
// on the loop, see runs_on_loop). An exception becomes a 500.
using RequestHandler = std::function<void(const Request& request, Response& response, RequestControl& control)>;

struct HttpServerStats {
  size_t connections_open = 0;
  size_t requests_deferred = 0;  // waiting for a resume, holding no thread
  size_t worker_threads = 0;
  uint64_t requests = 0;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, RequestHandler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the loop thread. kIoError when the address cannot be bound,
  // kFailedPrecondition when already started.
  Status Start();
  // The bound port; 0 before Start.
  uint16_t Port() const { return port_; }
  // Closes the listener and every connection, waits for running handlers and joins the
  // threads. Idempotent. A handler blocked in a query holds Stop until it returns.
  void Stop();
  // Safe from any thread while running.
  HttpServerStats Stats() const;

 private:
  class Loop;
  HttpServerOptions options_;
  RequestHandler handler_;
  std::unique_ptr<Loop> loop_;
  uint16_t port_ = 0;
};

}  // namespace cairn::http
