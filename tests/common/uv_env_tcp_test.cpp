#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/limits.h"
#include "common/random.h"
#include "common/uv_env.h"

namespace cairn {
namespace {

constexpr Duration kWaitMax = std::chrono::seconds(20);
const NetAddress kAnyLoopbackPort{"127.0.0.1", 0};

std::string RandomBytes(size_t size, uint64_t seed) {
  Prng prng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(prng.Next64());
  return out;
}

// A listener and one connection through it; `server` is the accepted end. Nothing is started.
struct Connection {
  std::unique_ptr<TcpListener> listener;
  std::unique_ptr<TcpStream> server;
  std::unique_ptr<TcpStream> client;
};

void Connect(UvEnv& env, Connection& c) {
  auto listener = env.ListenTcp(kAnyLoopbackPort, [&c](std::unique_ptr<TcpStream> s) { c.server = std::move(s); });
  REQUIRE(listener.IsOk());
  c.listener = std::move(*listener);
  bool connected = false;
  env.ConnectTcp(c.listener->LocalAddress(), [&](Result<std::unique_ptr<TcpStream>> s) {
    CHECK(s.IsOk());  // not REQUIRE: an exception must not unwind through libuv
    if (s.IsOk()) c.client = std::move(*s);
    connected = true;
  });
  CHECK_FALSE(connected);  // never from inside ConnectTcp
  REQUIRE(env.RunUntil([&] { return connected && c.server != nullptr; }, kWaitMax));
  REQUIRE(c.client != nullptr);
}

// Records what a stream's callbacks delivered.
struct Received {
  std::string data;
  int close_calls = 0;
  std::optional<Status> close_reason;

  TcpStreamHandlers Handlers() {
    return {[this](std::string_view d) { data.append(d); },
            [this](Status reason) {
              ++close_calls;
              close_reason = std::move(reason);
            }};
  }
};

TEST_SUITE("common.uv_tcp") {
  TEST_CASE("a several-megabyte payload echoes back in order") {
    UvEnv env;
    Connection c;
    Connect(env, c);
    CHECK(c.client->PeerAddress() == c.listener->LocalAddress());
    CHECK(c.server->PeerAddress() == c.client->LocalAddress());
    CHECK(c.server->LocalAddress() == c.listener->LocalAddress());

    size_t max_chunk = 0;
    c.server->Start({[&](std::string_view d) {
                       max_chunk = std::max(max_chunk, d.size());
                       CHECK(c.server->Write(std::string(d)).IsOk());
                     },
                     [](Status) {}});
    Received echoed;
    c.client->Start(echoed.Handlers());
    const std::string payload = RandomBytes(6 * 1024 * 1024 + 3, 42);
    for (size_t offset = 0; offset < payload.size(); offset += 1024 * 1024) {
      REQUIRE(c.client->Write(payload.substr(offset, 1024 * 1024)).IsOk());
    }
    REQUIRE(env.RunUntil([&] { return echoed.data.size() >= payload.size(); }, kWaitMax));
    CHECK(echoed.data.size() == payload.size());
    CHECK(echoed.data == payload);
    CHECK(max_chunk <= limits::kTcpReadChunkBytesMax);
    CHECK(c.client->QueuedBytes() == 0);
    CHECK(echoed.close_calls == 0);
  }

  TEST_CASE("the peer's close ends the stream with OK, once; a local close calls nothing") {
    UvEnv env;
    Connection c;
    Connect(env, c);
    Received at_server;
    Received at_client;
    c.server->Start(at_server.Handlers());
    c.client->Start(at_client.Handlers());
    REQUIRE(c.client->Write("last words").IsOk());
    c.client->Close();
    CHECK(c.client->Write("more").Code() == StatusCode::kUnavailable);
    REQUIRE(env.RunUntil([&] { return at_server.close_calls > 0; }, kWaitMax));
    CHECK(at_server.data == "last words");
    REQUIRE(at_server.close_reason.has_value());
    CHECK(at_server.close_reason->IsOk());
    CHECK(c.server->Write("too late").Code() == StatusCode::kUnavailable);
    env.RunUntil([] { return false; }, std::chrono::milliseconds(50));
    CHECK(at_server.close_calls == 1);
    CHECK(at_client.close_calls == 0);
  }

  TEST_CASE("destroying a stream closes it: the peer sees OK, flushed data first") {
    UvEnv env;
    Connection c;
    Connect(env, c);
    Received at_client;
    c.client->Start(at_client.Handlers());
    const std::string payload = RandomBytes(3 * 1024 * 1024, 7);
    REQUIRE(c.server->Write(payload).IsOk());
    c.server.reset();  // destroyed with bytes still queued: they are flushed first
    REQUIRE(env.RunUntil([&] { return at_client.close_calls > 0; }, kWaitMax));
    CHECK(at_client.data == payload);
    CHECK(at_client.close_reason->IsOk());
  }

  TEST_CASE("bytes and the end that arrive before Start are delivered after it") {
    UvEnv env;
    Connection c;
    Connect(env, c);
    REQUIRE(c.server->Write("early").IsOk());
    c.server.reset();
    env.RunUntil([] { return false; }, std::chrono::milliseconds(50));
    Received at_client;
    c.client->Start(at_client.Handlers());
    CHECK(at_client.data.empty());  // nothing from inside Start
    REQUIRE(env.RunUntil([&] { return at_client.close_calls > 0; }, kWaitMax));
    CHECK(at_client.data == "early");
    CHECK(at_client.close_reason->IsOk());
  }

  TEST_CASE("connecting to a closed port or a bad address fails through the callback") {
    UvEnv env;
    NetAddress closed;
    {
      auto listener = env.ListenTcp(kAnyLoopbackPort, [](std::unique_ptr<TcpStream>) {});
      REQUIRE(listener.IsOk());
      closed = (*listener)->LocalAddress();
    }
    std::optional<Status> refused;
    env.ConnectTcp(closed, [&](Result<std::unique_ptr<TcpStream>> s) { refused = s.GetStatus(); });
    std::optional<Status> bad;
    env.ConnectTcp(NetAddress{"localhost", 80}, [&](Result<std::unique_ptr<TcpStream>> s) { bad = s.GetStatus(); });
    CHECK_FALSE(refused.has_value());
    CHECK_FALSE(bad.has_value());
    REQUIRE(env.RunUntil([&] { return refused.has_value() && bad.has_value(); }, kWaitMax));
    CHECK(refused->Code() == StatusCode::kIoError);
    CHECK(refused->Message().find(closed.ToString()) != std::string::npos);
    CHECK(refused->Message().find("ECONNREFUSED") != std::string::npos);
    CHECK(bad->Code() == StatusCode::kInvalidArgument);
  }

  TEST_CASE("listening on a taken port fails; a destroyed listener leaves accepted streams working") {
    UvEnv env;
    Connection c;
    Connect(env, c);
    auto again = env.ListenTcp(c.listener->LocalAddress(), [](std::unique_ptr<TcpStream>) {});
    REQUIRE_FALSE(again.IsOk());
    CHECK(again.GetStatus().Code() == StatusCode::kIoError);
    c.listener.reset();
    Received at_server;
    c.server->Start(at_server.Handlers());
    REQUIRE(c.client->Write("still here").IsOk());
    REQUIRE(env.RunUntil([&] { return at_server.data == "still here"; }, kWaitMax));
  }

  TEST_CASE("a peer that does not read fills the write queue up to its limit, then ResourceExhausted") {
    UvEnv env;
    Connection c;
    Connect(env, c);  // the server end is never started, so nothing is read
    constexpr size_t kChunk = 1024 * 1024;
    const std::string chunk(kChunk, 'q');
    Status last;
    size_t accepted = 0;
    for (int i = 0; i < 200 && last.IsOk(); ++i) {
      last = c.client->Write(chunk);
      if (last.IsOk()) accepted += kChunk;
    }
    CHECK(last.Code() == StatusCode::kResourceExhausted);
    CHECK(last.Message().find("tcp_write_queue_bytes_max") != std::string::npos);
    CHECK(c.client->QueuedBytes() <= limits::kTcpWriteQueueBytesMax);
    CHECK(c.client->QueuedBytes() + kChunk > limits::kTcpWriteQueueBytesMax);
    CHECK(accepted >= limits::kTcpWriteQueueBytesMax - kChunk);
  }

  TEST_CASE("a stream may be destroyed inside its own on_data and on_close") {
    UvEnv env;
    Connection c;
    Connect(env, c);
    int data_calls = 0;
    c.client->Start({[&](std::string_view) {
                       ++data_calls;
                       c.client.reset();
                     },
                     [](Status) { FAIL_CHECK("on_close after the stream was destroyed"); }});
    Received at_server;
    c.server->Start(at_server.Handlers());
    // More than one read's worth, so more bytes are waiting when on_data destroys the stream.
    REQUIRE(c.server->Write(RandomBytes(4 * 1024 * 1024, 3)).IsOk());
    REQUIRE(env.RunUntil([&] { return at_server.close_calls > 0; }, kWaitMax));
    CHECK(data_calls == 1);
    CHECK(c.client == nullptr);

    Connection d;
    Connect(env, d);
    int close_calls = 0;
    d.client->Start({[](std::string_view) {},
                     [&](Status reason) {
                       ++close_calls;
                       CHECK(reason.IsOk());
                       d.client.reset();
                     }});
    d.server.reset();
    REQUIRE(env.RunUntil([&] { return close_calls > 0; }, kWaitMax));
    env.RunUntil([] { return false; }, std::chrono::milliseconds(50));
    CHECK(close_calls == 1);
    CHECK(d.client == nullptr);
  }

  TEST_CASE("a connect still in flight is dropped silently when the env goes away") {
    bool called = false;
    {
      UvEnv env;
      auto listener = env.ListenTcp(kAnyLoopbackPort, [](std::unique_ptr<TcpStream>) {});
      REQUIRE(listener.IsOk());
      env.ConnectTcp((*listener)->LocalAddress(), [&](Result<std::unique_ptr<TcpStream>>) { called = true; });
      listener->reset();
    }
    CHECK_FALSE(called);
  }
}

}  // namespace
}  // namespace cairn
