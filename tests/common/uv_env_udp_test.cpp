#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/limits.h"
#include "common/uv_env.h"

namespace cairn {
namespace {

constexpr Duration kWaitMax = std::chrono::seconds(10);
const NetAddress kAnyLoopbackPort{"127.0.0.1", 0};

struct Datagram {
  NetAddress from;
  std::string data;
};

TEST_SUITE("common.uv_udp") {
  TEST_CASE("datagrams round-trip between two sockets, with the sender's address") {
    UvEnv env;
    std::vector<Datagram> at_a;
    std::unique_ptr<UdpSocket> b;
    auto a = env.OpenUdp(kAnyLoopbackPort, [&](const NetAddress& from, std::string_view data) {
      at_a.push_back({from, std::string(data)});
    });
    REQUIRE(a.IsOk());
    auto opened_b = env.OpenUdp(kAnyLoopbackPort, [&](const NetAddress& from, std::string_view data) {
      CHECK(b->SendTo(from, "echo:" + std::string(data)).IsOk());
    });
    REQUIRE(opened_b.IsOk());
    b = std::move(*opened_b);
    const NetAddress a_address = (*a)->LocalAddress();
    CHECK(a_address.host == "127.0.0.1");
    CHECK(a_address.port != 0);
    CHECK(b->LocalAddress().port != a_address.port);

    for (int i = 0; i < 5; ++i) REQUIRE((*a)->SendTo(b->LocalAddress(), "ping" + std::to_string(i)).IsOk());
    REQUIRE(env.RunUntil([&] { return at_a.size() == 5; }, kWaitMax));
    for (const Datagram& d : at_a) {
      CHECK(d.from == b->LocalAddress());
      CHECK(d.data.rfind("echo:ping", 0) == 0);
    }
  }

  TEST_CASE("the largest datagram passes intact; one byte more is refused, naming the limit") {
    UvEnv env;
    std::string received;
    bool got = false;
    auto receiver = env.OpenUdp(kAnyLoopbackPort, [&](const NetAddress&, std::string_view data) {
      received = std::string(data);
      got = true;
    });
    REQUIRE(receiver.IsOk());
    auto sender = env.OpenUdp(kAnyLoopbackPort, [](const NetAddress&, std::string_view) {});
    REQUIRE(sender.IsOk());

    std::string largest(limits::kUdpDatagramBytesMax, '\0');
    for (size_t i = 0; i < largest.size(); ++i) largest[i] = static_cast<char>(i * 7);
    const Status too_big = (*sender)->SendTo((*receiver)->LocalAddress(), largest + "x");
    CHECK(too_big.Code() == StatusCode::kInvalidArgument);
    CHECK(too_big.Message().find("udp_datagram_bytes_max") != std::string::npos);

    REQUIRE((*sender)->SendTo((*receiver)->LocalAddress(), largest).IsOk());
    REQUIRE(env.RunUntil([&] { return got; }, kWaitMax));
    CHECK(received == largest);
  }

  TEST_CASE("binding a bad address or a taken port fails") {
    UvEnv env;
    auto noop = [](const NetAddress&, std::string_view) {};
    CHECK(env.OpenUdp(NetAddress{"not-an-ip", 0}, noop).GetStatus().Code() == StatusCode::kInvalidArgument);
    auto first = env.OpenUdp(kAnyLoopbackPort, noop);
    REQUIRE(first.IsOk());
    auto second = env.OpenUdp((*first)->LocalAddress(), noop);
    REQUIRE_FALSE(second.IsOk());
    CHECK(second.GetStatus().Code() == StatusCode::kIoError);
  }

  TEST_CASE("a datagram to a port nobody listens on is reported as refused, and the socket keeps working") {
    UvEnv env;
    auto noop = [](const NetAddress&, std::string_view) {};
    NetAddress closed;
    {
      auto released = env.OpenUdp(kAnyLoopbackPort, noop);
      REQUIRE(released.IsOk());
      closed = (*released)->LocalAddress();
    }
    std::vector<NetAddress> refused;
    std::vector<std::string> echoed;
    auto a = env.OpenUdp(kAnyLoopbackPort, [&](const NetAddress&, std::string_view d) { echoed.emplace_back(d); });
    REQUIRE(a.IsOk());
    (*a)->SetUnreachableHandler([&](const NetAddress& to) { refused.push_back(to); });
    // The released port closes on the loop, so a first datagram may still find it open.
    for (int attempt = 0; attempt < 20 && refused.empty(); ++attempt) {
      REQUIRE((*a)->SendTo(closed, "anyone?").IsOk());
      (void)env.RunUntil([&] { return !refused.empty(); }, std::chrono::milliseconds(100));
    }
    REQUIRE_FALSE(refused.empty());
    CHECK(refused.front() == closed);

    // The kernel's pending error neither eats later sends nor stops receiving.
    std::unique_ptr<UdpSocket> b;
    auto opened_b = env.OpenUdp(kAnyLoopbackPort,
                                [&](const NetAddress& from, std::string_view d) { CHECK(b->SendTo(from, d).IsOk()); });
    REQUIRE(opened_b.IsOk());
    b = std::move(*opened_b);
    REQUIRE((*a)->SendTo(closed, "again").IsOk());
    for (int i = 0; i < 3; ++i) REQUIRE((*a)->SendTo(b->LocalAddress(), "hello").IsOk());
    REQUIRE(env.RunUntil([&] { return echoed.size() == 3 && refused.size() >= 2; }, kWaitMax));
    for (const NetAddress& to : refused) CHECK(to == closed);
  }

  TEST_CASE("no callback runs after the socket is destroyed, even from inside its own callback") {
    UvEnv env;
    int calls = 0;
    std::unique_ptr<UdpSocket> receiver;
    auto opened = env.OpenUdp(kAnyLoopbackPort, [&](const NetAddress&, std::string_view) {
      ++calls;
      receiver.reset();
    });
    REQUIRE(opened.IsOk());
    receiver = std::move(*opened);
    const NetAddress target = receiver->LocalAddress();
    auto sender = env.OpenUdp(kAnyLoopbackPort, [](const NetAddress&, std::string_view) {});
    REQUIRE(sender.IsOk());
    // Several datagrams are waiting when the first callback destroys the socket.
    for (int i = 0; i < 10; ++i) REQUIRE((*sender)->SendTo(target, "d").IsOk());
    REQUIRE(env.RunUntil([&] { return calls > 0; }, kWaitMax));
    env.RunUntil([] { return false; }, std::chrono::milliseconds(50));
    CHECK(calls == 1);
    CHECK(receiver == nullptr);

    // Destroyed before the loop ever ran: nothing is delivered either.
    int late_calls = 0;
    auto short_lived = env.OpenUdp(kAnyLoopbackPort, [&](const NetAddress&, std::string_view) { ++late_calls; });
    REQUIRE(short_lived.IsOk());
    REQUIRE((*sender)->SendTo((*short_lived)->LocalAddress(), "late").IsOk());
    short_lived->reset();
    env.RunUntil([] { return false; }, std::chrono::milliseconds(50));
    CHECK(late_calls == 0);
  }
}

}  // namespace
}  // namespace cairn
