// The event-driven HTTP server (http/http_server.h) over real sockets, spoken to byte for byte.
#include "http/http_server.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "http/worker_pool.h"

using namespace std::chrono_literals;
using cairn::http::HttpServer;
using cairn::http::HttpServerOptions;

namespace {

// A raw client socket with a read that waits at most a deadline.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool Connected() const { return connected_; }
  void Send(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // Reads until `text` has arrived (true), the peer closes or `wait` passes (false).
  bool ReadUntil(const std::string& text, std::chrono::milliseconds wait = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (received_.find(text) == std::string::npos) {
      if (!ReadSome(deadline)) return false;
    }
    return true;
  }
  // True if the peer closes the connection before `wait` passes.
  bool ClosedWithin(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (ReadSome(deadline)) {
    }
    return closed_;
  }
  const std::string& Received() const { return received_; }
  size_t Count(const std::string& text) const {
    size_t n = 0;
    for (size_t pos = received_.find(text); pos != std::string::npos; pos = received_.find(text, pos + 1)) ++n;
    return n;
  }

 private:
  bool ReadSome(std::chrono::steady_clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms || closed_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[65536];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    received_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

// Echoes the method, the path and the body; `/block` waits until released; `/defer` defers
// its first run (deadline 300 ms), keeping the resumer, and answers with the run count after.
struct EchoHandler {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::atomic<int> blocked{0};
  std::function<void()> resumer;
  std::atomic<int> gave_up{0};

  void operator()(const cairn::http::Request& req, cairn::http::Response& res, cairn::http::RequestControl& control) {
    if (req.path == "/defer") {
      if (!control.State()) control.State() = std::make_shared<int>(0);
      int& runs = *static_cast<int*>(control.State().get());
      if (++runs == 1) {
        {
          std::lock_guard<std::mutex> lock(mu);
          resumer = control.Resumer();
        }
        control.Defer(std::chrono::steady_clock::now() + 300ms, [this] { ++gave_up; });
        return;
      }
      res.SetContent("runs=" + std::to_string(runs), "text/plain");
      return;
    }
    if (req.path == "/block") {
      ++blocked;
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [this] { return released; });
    }
    if (req.path == "/throw") throw std::runtime_error("boom");
    res.status = 200;
    res.SetContent(req.method + " " + req.path + " [" + req.body + "]" + (control.OnLoop() ? " on-loop" : ""),
                   "text/plain");
  }
  std::function<void()> Resumer() {
    std::lock_guard<std::mutex> lock(mu);
    return resumer;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
    cv.notify_all();
  }
};

struct ServerFixture {
  explicit ServerFixture(HttpServerOptions options = {})
      : server(options, [this](const cairn::http::Request& req, cairn::http::Response& res,
                               cairn::http::RequestControl& control) { echo(req, res, control); }) {
    REQUIRE(server.Start().IsOk());
  }
  ~ServerFixture() {
    echo.Release();
    server.Stop();
  }
  EchoHandler echo;
  HttpServer server;
};

}  // namespace

TEST_SUITE("http.server") {
  TEST_CASE("keep-alive and pipelined requests are answered in order on one connection") {
    ServerFixture f;
    RawClient c(f.server.Port());
    REQUIRE(c.Connected());
    c.Send("GET /one HTTP/1.1\r\n\r\nPUT /two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\n\r\n");
    REQUIRE(c.ReadUntil("GET /three []"));
    const std::string& got = c.Received();
    CHECK(got.find("GET /one []") < got.find("PUT /two [abc]"));
    CHECK(got.find("PUT /two [abc]") < got.find("GET /three []"));
    CHECK(c.Count("Connection: keep-alive") == 3);
    c.Send("GET /four HTTP/1.1\r\nConnection: close\r\n\r\n");
    CHECK(c.ReadUntil("GET /four []"));
    CHECK(c.ClosedWithin(2000ms));
    CHECK(f.server.Stats().requests == 4);
  }

  TEST_CASE("a request split into single bytes, a chunked body, and 100-continue") {
    ServerFixture f;
    RawClient c(f.server.Port());
    for (char ch : std::string("PUT /slow HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n")) {
      c.Send(std::string(1, ch));
    }
    CHECK(c.ReadUntil("PUT /slow [xyz]"));
    c.Send("PUT /big HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    REQUIRE(c.ReadUntil("HTTP/1.1 100 Continue\r\n\r\n"));
    c.Send("ok");
    CHECK(c.ReadUntil("PUT /big [ok]"));
  }

  TEST_CASE("bad requests get their status and the connection is closed") {
    HttpServerOptions options;
    options.limits.body_bytes_max = 8;
    ServerFixture f(options);
    RawClient oversized(f.server.Port());
    oversized.Send("PUT /x HTTP/1.1\r\nContent-Length: 9\r\n\r\n");
    CHECK(oversized.ReadUntil("HTTP/1.1 413 Payload Too Large"));
    CHECK(oversized.ClosedWithin(8000ms));
    RawClient garbage(f.server.Port());
    garbage.Send("hello there\r\n\r\n");
    CHECK(garbage.ReadUntil("HTTP/1.1 400 Bad Request"));
    CHECK(garbage.ClosedWithin(8000ms));
    RawClient throwing(f.server.Port());
    throwing.Send("GET /throw HTTP/1.1\r\n\r\n");
    CHECK(throwing.ReadUntil("boom"));
    CHECK(throwing.Received().starts_with("HTTP/1.1 500 "));
  }

  TEST_CASE("idle and half-sent connections are closed after their timeouts; extra connections are refused") {
    HttpServerOptions options;
    options.idle_timeout = 300ms;
    options.request_timeout = 300ms;
    options.connections_max = 2;
    ServerFixture f(options);
    RawClient idle(f.server.Port());
    RawClient partial(f.server.Port());
    partial.Send("GET /never-finished HTTP/1.1\r\n");
    RawClient extra(f.server.Port());
    CHECK(extra.ClosedWithin(2000ms));  // the accept happened, then the server closed it
    CHECK(partial.ClosedWithin(8000ms));
    CHECK(partial.Received().starts_with("HTTP/1.1 408 "));
    CHECK(idle.ClosedWithin(4000ms));
    CHECK(idle.Received().empty());
  }

  TEST_CASE("a blocked handler holds only its own connection; threads grow with demand") {
    HttpServerOptions options;
    options.worker_threads_max = 4;
    ServerFixture f(options);
    RawClient blocked(f.server.Port());
    blocked.Send("GET /block HTTP/1.1\r\n\r\n");
    while (f.echo.blocked.load() == 0) std::this_thread::sleep_for(1ms);
    RawClient other(f.server.Port());
    other.Send("GET /free HTTP/1.1\r\n\r\n");
    CHECK(other.ReadUntil("GET /free []"));
    CHECK(f.server.Stats().worker_threads == 2);
    CHECK(f.server.Stats().connections_open == 2);
    f.echo.Release();
    CHECK(blocked.ReadUntil("GET /block []"));
  }

  TEST_CASE("a deferred request holds no thread and runs again when resumed, at its deadline, or never") {
    HttpServerOptions options;
    options.worker_threads_max = 1;  // a deferred request must not hold it
    ServerFixture f(options);
    RawClient resumed(f.server.Port());
    resumed.Send("GET /defer HTTP/1.1\r\n\r\n");
    while (f.server.Stats().requests_deferred == 0) std::this_thread::sleep_for(1ms);
    RawClient other(f.server.Port());
    other.Send("GET /free HTTP/1.1\r\n\r\n");
    CHECK(other.ReadUntil("GET /free []"));  // the only worker was free
    f.echo.Resumer()();
    f.echo.Resumer()();  // a second resume of the same request changes nothing
    CHECK(resumed.ReadUntil("runs=2"));
    CHECK(f.echo.gave_up.load() == 0);

    RawClient timed_out(f.server.Port());
    const auto sent = std::chrono::steady_clock::now();
    timed_out.Send("GET /defer HTTP/1.1\r\n\r\n");
    CHECK(timed_out.ReadUntil("runs=2"));
    CHECK(std::chrono::steady_clock::now() - sent >= 290ms);
    CHECK(f.echo.gave_up.load() == 1);

    {
      RawClient gone(f.server.Port());
      gone.Send("GET /defer HTTP/1.1\r\n\r\n");
      while (f.server.Stats().requests_deferred == 0) std::this_thread::sleep_for(1ms);
    }
    while (f.server.Stats().requests_deferred != 0) std::this_thread::sleep_for(1ms);
    CHECK(f.echo.gave_up.load() == 2);  // the client left: the server stopped waiting
    f.echo.Resumer()();                 // a resumer of a dropped request does nothing
    CHECK(f.server.Stats().worker_threads == 1);
  }

  TEST_CASE("requests marked to run on the loop need no worker; they defer and resume there too") {
    HttpServerOptions options;
    options.worker_threads_max = 1;
    options.runs_on_loop = [](const cairn::http::Request& req) {
      return req.path.starts_with("/loop") || req.path == "/defer";
    };
    ServerFixture f(options);
    RawClient blocker(f.server.Port());
    blocker.Send("GET /block HTTP/1.1\r\n\r\n");
    while (f.echo.blocked.load() == 0) std::this_thread::sleep_for(1ms);  // the only worker is taken

    RawClient pipelined(f.server.Port());
    std::string requests;
    for (int i = 0; i < 50; ++i) requests += "GET /loop/" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
    pipelined.Send(requests);
    REQUIRE(pipelined.ReadUntil("GET /loop/49 [] on-loop"));
    CHECK(pipelined.Count(" on-loop") == 50);
    CHECK(pipelined.Received().find("GET /loop/7 []") < pipelined.Received().find("GET /loop/8 []"));

    RawClient deferred(f.server.Port());
    deferred.Send("GET /defer HTTP/1.1\r\n\r\n");
    while (f.server.Stats().requests_deferred == 0) std::this_thread::sleep_for(1ms);
    f.echo.Resumer()();
    CHECK(deferred.ReadUntil("runs=2"));

    f.echo.Release();
    CHECK(blocker.ReadUntil("GET /block []"));
    CHECK(blocker.Received().find("on-loop") == std::string::npos);
  }

  TEST_CASE("the worker pool grows to its maximum under blocking tasks and shrinks when idle") {
    cairn::http::WorkerPool pool(3, 100ms);
    EchoHandler gate;
    std::atomic<int> done{0};
    for (int i = 0; i < 5; ++i) {
      REQUIRE(pool.Submit([&] {
        std::unique_lock<std::mutex> lock(gate.mu);
        gate.cv.wait(lock, [&] { return gate.released; });
        ++done;
      }));
    }
    CHECK(pool.Threads() == 3);  // capped: two tasks wait for a thread
    gate.Release();
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while ((done.load() < 5 || pool.Threads() > 0) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    CHECK(done.load() == 5);
    CHECK(pool.Threads() == 0);             // every thread ended after 100 ms idle
    REQUIRE(pool.Submit([&] { ++done; }));  // a shrunk pool starts a thread again
    while (done.load() < 6 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    CHECK(done.load() == 6);
    pool.Stop();
    CHECK_FALSE(pool.Submit([] {}));
  }

  TEST_CASE("Stop closes open connections and a second Stop is harmless") {
    ServerFixture f;
    RawClient c(f.server.Port());
    c.Send("GET /a HTTP/1.1\r\n\r\n");
    REQUIRE(c.ReadUntil("GET /a []"));
    CHECK(f.server.Stats().connections_open == 1);
    f.server.Stop();
    CHECK(c.ClosedWithin(2000ms));
    f.server.Stop();
  }
}
