// HttpApi: Consul's HTTP/JSON API (/v1/...) served by cpp-httplib on a pool of worker
// threads, written against Backend (http/backend.h).
//
// Threads: Start() runs the listener on a thread of its own; requests run on the worker pool
// and call Backend from there. A blocking query holds its worker until it returns, so the
// pool must be larger than the number of blocking queries expected at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "catalog/catalog_limits.h"
#include "common/status.h"
#include "http/backend.h"
#include "http/http_util.h"

namespace httplib {
class Server;
}

namespace cairn::http {

struct ApiOptions {
  std::string bind_host = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port (see HttpApi::Port)
  // Bodies larger than this are refused with 413 before they are read.
  size_t body_bytes_max = 1024 * 1024;
  size_t kv_value_bytes_max = catalog::limits::kKvValueBytesMax;
  size_t txn_ops_max = catalog::limits::kTxnOpsMax;
  // Requests served on one keep-alive connection before it is closed.
  size_t keep_alive_requests_max = 100000;
  // Workers serving connections: httplib gives a keep-alive connection one worker for as long
  // as it stays open, and a blocking query holds its worker while it waits, so this bounds
  // the clients served at once (the rest wait for a worker). Idle threads cost only stack.
  size_t worker_threads = 512;
  BlockingLimits blocking;
};

class HttpApi {
 public:
  // `backend` must outlive the HttpApi.
  HttpApi(Backend& backend, ApiOptions options);
  ~HttpApi();  // stops the server
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds and starts serving; returns once the server accepts connections. kIoError when
  // the address cannot be bound, kFailedPrecondition when already started.
  Status Start();
  // The bound port (the ephemeral one when options.port was 0); 0 before Start.
  uint16_t Port() const { return port_; }
  // Stops accepting, lets running handlers finish and joins the threads. Idempotent. A
  // blocking query in flight holds its worker until Backend::Query returns, so the backend
  // should end its waits when the agent shuts down.
  void Stop();

 private:
  void InstallRoutes();

  Backend& backend_;
  ApiOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  uint16_t port_ = 0;
};

}  // namespace cairn::http
