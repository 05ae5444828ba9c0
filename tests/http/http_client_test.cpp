// http.client: the blocking HTTP/1.1 client (http/http_client.h) on real loopback sockets,
// against cpp-httplib's server (an independent implementation) and against a scripted server
// that answers byte for byte and closes connections where a test needs it.
#include "http/http_client.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/limits.h"
#include "tests/support/scripted_http_server.h"
#include "tests/support/test_ports.h"

namespace cairn::http {
namespace {

using namespace std::chrono_literals;
using cairn::testing::ScriptedServer;

std::string Ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

ScriptedServer::Script Always(std::string bytes) {
  return [bytes](int, int, const std::string&) { return ScriptedServer::Reply{bytes}; };
}

HttpClientOptions ShortTimeouts() {
  HttpClientOptions options;
  options.connect_timeout = 1s;
  options.read_timeout = 2s;
  options.write_timeout = 2s;
  return options;
}

// cpp-httplib's server on 127.0.0.1, answering with `handler` for every method and path.
class ReferenceServer {
 public:
  explicit ReferenceServer(httplib::Server::Handler handler) {
    server_.Get(".*", handler);
    server_.Put(".*", handler);
    server_.Post(".*", handler);
    server_.Delete(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // This httplib has no wait_until_ready(): poll until the accept loop runs.
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(2ms);
    REQUIRE(server_.is_running());
  }
  ~ReferenceServer() {
    server_.stop();
    thread_.join();
  }
  uint16_t Port() const { return static_cast<uint16_t>(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_SUITE("http.client") {
  TEST_CASE("requests reuse one kept-alive connection, and method, target, headers and body arrive") {
    std::mutex mu;
    std::vector<int> ports;
    ReferenceServer server([&](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu);
        ports.push_back(req.remote_port);
      }
      res.set_header("X-Consul-Index", "42");
      res.set_content(req.method + " " + req.target + " " + req.get_header_value("Content-Type") + " " +
                          req.get_header_value("X-Token") + " [" + req.body + "]",
                      "text/plain");
    });
    HttpClient client("127.0.0.1", server.Port(), ShortTimeouts());
    Result<Response> get = client.Send("GET", "/v1/kv/a%20b?recurse");
    REQUIRE(get.IsOk());
    CHECK(get->status == 200);
    CHECK(get->body == "GET /v1/kv/a%20b?recurse   []");
    CHECK(get->HeaderValue("x-consul-index") == "42");
    Result<Response> put = client.Send("PUT", "/v1/kv/k", "v1", "application/octet-stream");
    REQUIRE(put.IsOk());
    CHECK(put->body == "PUT /v1/kv/k application/octet-stream  [v1]");
    Request request;
    request.method = "DELETE";
    request.target = "/v1/kv/k";
    request.headers.emplace("X-Token", "secret");
    request.headers.emplace("Content-Length", "999");  // ignored: the client frames the body
    Result<Response> deleted = client.Send(request);
    REQUIRE(deleted.IsOk());
    CHECK(deleted->body == "DELETE /v1/kv/k  secret []");
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(ports.size() == 3);
    CHECK(ports[0] == ports[1]);
    CHECK(ports[1] == ports[2]);
  }

  TEST_CASE("a chunked answer from an independent server is decoded") {
    const std::string part(5000, 'x');
    ReferenceServer server([&](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [&](size_t, httplib::DataSink& sink) {
        sink.write(part.data(), part.size());
        sink.write("tail", 4);
        sink.done();
        return true;
      });
    });
    HttpClient client("127.0.0.1", server.Port(), ShortTimeouts());
    for (int i = 0; i < 2; ++i) {
      Result<Response> answer = client.Send("GET", "/chunked");
      REQUIRE(answer.IsOk());
      CHECK(answer->body == part + "tail");
    }
  }

  TEST_CASE("chunk extensions and trailers are accepted; the connection stays usable") {
    ScriptedServer server([](int, int index, const std::string&) {
      if (index == 0) {
        return ScriptedServer::Reply{
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"};
      }
      return ScriptedServer::Reply{Ok("again")};
    });
    HttpClient client("127.0.0.1", server.Port(), ShortTimeouts());
    Result<Response> chunked = client.Send("GET", "/");
    REQUIRE(chunked.IsOk());
    CHECK(chunked->body == "hello world");
    Result<Response> next = client.Send("GET", "/");
    REQUIRE(next.IsOk());
    CHECK(next->body == "again");
    CHECK(server.Connections() == 1);
  }

  TEST_CASE("an answer without a length runs to the close, and the next request reconnects") {
    ScriptedServer server([](int, int, const std::string&) {
      return ScriptedServer::Reply{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true};
    });
    HttpClient client("127.0.0.1", server.Port(), ShortTimeouts());
    for (int i = 0; i < 2; ++i) {
      Result<Response> answer = client.Send("GET", "/");
      REQUIRE(answer.IsOk());
      CHECK(answer->body == "until the end");
    }
    CHECK(server.Connections() == 2);
  }

  TEST_CASE("a kept connection the server closed while idle is replaced, for writes too") {
    ScriptedServer server([](int, int, const std::string&) { return ScriptedServer::Reply{Ok("ok"), true}; });
    HttpClient client("127.0.0.1", server.Port(), ShortTimeouts());
    for (const char* method : {"GET", "PUT", "DELETE"}) {
      Result<Response> answer = client.Send(method, "/v1/kv/k", "x");
      REQUIRE_MESSAGE(answer.IsOk(), answer.GetStatus().ToString());
      CHECK(answer->body == "ok");
      std::this_thread::sleep_for(50ms);  // the server's close reaches the client
    }
    CHECK(server.Connections() == 3);
    CHECK(server.Requests().size() == 3);
  }

  TEST_CASE("closed after the request went out: a read is sent again, a write is outcome-unknown") {
    // On the first connection the second request is read and the connection closed unanswered.
    const auto script = [](int connection, int index, const std::string&) {
      if (connection == 0 && index == 1) return ScriptedServer::Reply{"", true};
      return ScriptedServer::Reply{Ok("ok")};
    };
    SUBCASE("GET") {
      ScriptedServer server(script);
      HttpClient client("127.0.0.1", server.Port(), ShortTimeouts());
      REQUIRE(client.Send("GET", "/").IsOk());
      Result<Response> again = client.Send("GET", "/");
      REQUIRE_MESSAGE(again.IsOk(), again.GetStatus().ToString());
      CHECK(server.Requests().size() == 3);
      CHECK(server.Connections() == 2);
    }
    SUBCASE("PUT") {
      ScriptedServer server(script);
      HttpClient client("127.0.0.1", server.Port(), ShortTimeouts());
      REQUIRE(client.Send("PUT", "/", "a").IsOk());
      Result<Response> lost = client.Send("PUT", "/", "b");
      REQUIRE_FALSE(lost.IsOk());
      CHECK(lost.GetStatus().Code() == StatusCode::kTimeout);
      CHECK(server.Requests().size() == 2);  // never sent twice
      Result<Response> next = client.Send("PUT", "/", "c");
      REQUIRE(next.IsOk());
      CHECK(server.Connections() == 2);
    }
  }

  TEST_CASE("HEAD reads no body whatever Content-Length says, and keeps the connection") {
    ScriptedServer server([](int, int index, const std::string&) {
      if (index == 0)
        return ScriptedServer::Reply{"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nX-Consul-Index: 9\r\n\r\n"};
      return ScriptedServer::Reply{Ok("body")};
    });
    HttpClient client("127.0.0.1", server.Port(), ShortTimeouts());
    Result<Response> head = client.Send("HEAD", "/v1/kv/k");
    REQUIRE(head.IsOk());
    CHECK(head->body.empty());
    CHECK(head->HeaderValue("Content-Length") == "1234");
    CHECK(head->HeaderValue("X-Consul-Index") == "9");
    Result<Response> get = client.Send("GET", "/v1/kv/k");
    REQUIRE(get.IsOk());
    CHECK(get->body == "body");
    CHECK(server.Connections() == 1);
  }

  TEST_CASE("an interim 100 Continue is skipped; 204 has no body") {
    ScriptedServer server(Always("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"));
    HttpClient client("127.0.0.1", server.Port(), ShortTimeouts());
    Result<Response> answer = client.Send("PUT", "/", "x");
    REQUIRE(answer.IsOk());
    CHECK(answer->status == 204);
    CHECK(answer->body.empty());
  }

  TEST_CASE("answers over response_bytes_max are refused, however they are framed") {
    HttpClientOptions options = ShortTimeouts();
    options.response_bytes_max = 1000;
    const std::string big(600, 'b');
    const std::string framings[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" + big + "\r\n258\r\n" + big + "\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\n" + big + big,
    };
    for (const std::string& bytes : framings) {
      ScriptedServer server([&](int, int, const std::string&) { return ScriptedServer::Reply{bytes, true}; });
      HttpClient client("127.0.0.1", server.Port(), options);
      Result<Response> answer = client.Send("GET", "/");
      REQUIRE_FALSE(answer.IsOk());
      CHECK(answer.GetStatus().Code() == StatusCode::kResourceExhausted);
      CHECK(answer.GetStatus().Message().find("response_bytes_max (1000 bytes)") != std::string::npos);
    }
  }

  TEST_CASE("a head or chunk-size line longer than the head limit is refused, not buffered") {
    const std::string endless(limits::kHttpResponseHeadBytesMax + 4096, 'a');
    const std::string framings[] = {
        "HTTP/1.1 200 OK\r\nX-Long: " + endless,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + endless,
    };
    for (const std::string& bytes : framings) {
      // The connection stays open: only the limit can end the read.
      ScriptedServer server([&](int, int, const std::string&) { return ScriptedServer::Reply{bytes, false}; });
      HttpClient client("127.0.0.1", server.Port(), ShortTimeouts());
      Result<Response> answer = client.Send("GET", "/");
      REQUIRE_FALSE(answer.IsOk());
      CHECK(answer.GetStatus().Code() == StatusCode::kResourceExhausted);
      CHECK(answer.GetStatus().Message().find("head or chunk line") != std::string::npos);
    }
  }

  TEST_CASE("a refused connection is kUnavailable: nothing was sent") {
    const uint16_t port = cairn::testing::ReserveLoopbackPort();
    HttpClient client("127.0.0.1", port, ShortTimeouts());
    Result<Response> answer = client.Send("PUT", "/v1/kv/k", "x");
    REQUIRE_FALSE(answer.IsOk());
    CHECK(answer.GetStatus().Code() == StatusCode::kUnavailable);
    CHECK(answer.GetStatus().Message().find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
    HttpClient unnamed("no-such-host.invalid", port, ShortTimeouts());
    CHECK(unnamed.Send("GET", "/").GetStatus().Code() == StatusCode::kUnavailable);
  }

  TEST_CASE("a server that takes the request and never answers is a read timeout: outcome unknown") {
    ScriptedServer server([](int, int, const std::string&) { return ScriptedServer::Reply{"", false, true}; });
    HttpClientOptions options = ShortTimeouts();
    options.read_timeout = 300ms;
    HttpClient client("127.0.0.1", server.Port(), options);
    const auto start = std::chrono::steady_clock::now();
    Result<Response> answer = client.Send("PUT", "/v1/kv/k", "x");
    REQUIRE_FALSE(answer.IsOk());
    CHECK(answer.GetStatus().Code() == StatusCode::kTimeout);
    CHECK(std::chrono::steady_clock::now() - start >= 300ms);
    CHECK(server.Requests().size() == 1);
  }

  TEST_CASE("a malformed answer is kCorruption; a request that cannot be sent is kInvalidArgument") {
    ScriptedServer server(Always("HTTP/2 200 OK\r\n\r\n"));
    HttpClient client("127.0.0.1", server.Port(), ShortTimeouts());
    CHECK(client.Send("GET", "/").GetStatus().Code() == StatusCode::kCorruption);
    ScriptedServer bad_header(Always("HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n"));
    HttpClient header_client("127.0.0.1", bad_header.Port(), ShortTimeouts());
    CHECK(header_client.Send("GET", "/").GetStatus().Code() == StatusCode::kCorruption);
    CHECK(client.Send("GET", "no-slash").GetStatus().Code() == StatusCode::kInvalidArgument);
    CHECK(client.Send("GET", "/a\r\nX: y").GetStatus().Code() == StatusCode::kInvalidArgument);
    CHECK(client.Send("BAD METHOD", "/").GetStatus().Code() == StatusCode::kInvalidArgument);
    Request injected;
    injected.method = "GET";
    injected.target = "/";
    injected.headers.emplace("X-Note", "a\r\nX-Evil: 1");
    CHECK(client.Send(injected).GetStatus().Code() == StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace cairn::http
