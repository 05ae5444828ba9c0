#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/limits.h"
#include "tests/sim/seeds.h"
#include "tests/sim/simulator.h"

namespace cairn::sim {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr const char* kA = "10.0.0.1";
constexpr const char* kB = "10.0.0.2";
constexpr const char* kC = "10.0.0.3";
constexpr uint16_t kUdpPort = 8301;
constexpr uint16_t kTcpPort = 8300;

// A UDP socket that counts and records what it receives.
struct UdpProbe {
  UdpProbe(SimEnv& env, uint16_t port) {
    auto opened = env.OpenUdp(NetAddress{env.Host(), port}, [this](const NetAddress& from, std::string_view data) {
      received.emplace_back(from.host, std::string(data));
    });
    REQUIRE_MESSAGE(opened.IsOk(), opened.GetStatus().ToString());
    socket = std::move(opened).Value();
  }
  void Send(const std::string& host, const std::string& data) {
    REQUIRE(socket->SendTo(NetAddress{host, kUdpPort}, data).IsOk());
  }
  size_t CountFrom(const std::string& host) const {
    size_t count = 0;
    for (const auto& [from, data] : received) count += from == host ? 1 : 0;
    return count;
  }
  std::unique_ptr<UdpSocket> socket;
  std::vector<std::pair<std::string, std::string>> received;
};

// One end of a TCP stream that records what happens to it.
struct StreamProbe {
  void Adopt(std::unique_ptr<TcpStream> s) {
    stream = std::move(s);
    stream->Start(TcpStreamHandlers{[this](std::string_view data) {
                                      received += data;
                                      ++chunks;
                                      largest_chunk = std::max(largest_chunk, data.size());
                                    },
                                    [this](Status reason) {
                                      CHECK_FALSE(closed.has_value());  // exactly once
                                      closed = reason;
                                    }});
  }
  std::unique_ptr<TcpStream> stream;
  std::string received;
  size_t chunks = 0;
  size_t largest_chunk = 0;
  std::optional<Status> closed;
};

// A listener that adopts every accepted stream into a StreamProbe.
struct Server {
  Server(SimEnv& env, uint16_t port) {
    auto opened = env.ListenTcp(NetAddress{"0.0.0.0", port}, [this](std::unique_ptr<TcpStream> stream) {
      accepted.push_back(std::make_unique<StreamProbe>());
      accepted.back()->Adopt(std::move(stream));
    });
    REQUIRE_MESSAGE(opened.IsOk(), opened.GetStatus().ToString());
    listener = std::move(opened).Value();
  }
  std::unique_ptr<TcpListener> listener;
  std::vector<std::unique_ptr<StreamProbe>> accepted;
};

// Connects and runs until the connect completes; returns the error if it failed.
Status Connect(Simulator& sim, SimEnv& from, const std::string& host, uint16_t port, StreamProbe& probe) {
  std::optional<Status> result;
  from.ConnectTcp(NetAddress{host, port}, [&](Result<std::unique_ptr<TcpStream>> stream) {
    result = stream.GetStatus();
    if (stream.IsOk()) probe.Adopt(std::move(stream).Value());
  });
  CHECK_FALSE(result.has_value());  // never from inside ConnectTcp
  REQUIRE(sim.RunUntilTrue([&] { return result.has_value(); }, milliseconds(100)));
  return *result;
}

TEST_SUITE("sim.network") {
  TEST_CASE("a symmetric partition isolates UDP and TCP both ways, and healing restores them") {
    Simulator sim(1);
    SimEnv& a = sim.AddNode(kA);
    SimEnv& b = sim.AddNode(kB);
    SimEnv& c = sim.AddNode(kC);
    UdpProbe ua(a, kUdpPort), ub(b, kUdpPort), uc(c, kUdpPort);
    Server server_b(b, kTcpPort);
    StreamProbe client_a;
    REQUIRE(Connect(sim, a, kB, kTcpPort, client_a).IsOk());
    sim.RunFor(milliseconds(1));
    REQUIRE(server_b.accepted.size() == 1);
    StreamProbe& accepted = *server_b.accepted[0];

    sim.Partition({kA}, {kB, kC});
    CHECK(sim.LinkBlocked(kA, kB));
    CHECK(sim.LinkBlocked(kC, kA));
    CHECK_FALSE(sim.LinkBlocked(kB, kC));
    for (int i = 0; i < 50; ++i) {
      ua.Send(kB, "a->b");
      ub.Send(kA, "b->a");
      ub.Send(kC, "b->c");
      uc.Send(kA, "c->a");
    }
    CHECK(client_a.stream->Write("into the void").Code() == StatusCode::kUnavailable);
    sim.RunFor(milliseconds(10));
    CHECK(ub.CountFrom(kA) == 0);
    CHECK(ua.received.empty());
    CHECK(uc.CountFrom(kB) == 50);  // the majority side still talks
    // Both ends of the crossing stream see a reset.
    REQUIRE(client_a.closed.has_value());
    REQUIRE(accepted.closed.has_value());
    CHECK_FALSE(client_a.closed->IsOk());
    CHECK_FALSE(accepted.closed->IsOk());
    CHECK(accepted.received.empty());
    StreamProbe refused;
    CHECK_FALSE(Connect(sim, a, kB, kTcpPort, refused).IsOk());
    CHECK_FALSE(Connect(sim, b, kA, kTcpPort, refused).IsOk());

    sim.HealAll();
    CHECK_FALSE(sim.LinkBlocked(kA, kB));
    ua.Send(kB, "healed");
    ub.Send(kA, "healed");
    sim.RunFor(milliseconds(10));
    CHECK(ub.CountFrom(kA) == 1);
    CHECK(ua.CountFrom(kB) == 1);
    StreamProbe again;
    REQUIRE(Connect(sim, a, kB, kTcpPort, again).IsOk());
    REQUIRE(again.stream->Write("hello").IsOk());
    sim.RunFor(milliseconds(10));
    CHECK(server_b.accepted.back()->received == "hello");
  }

  TEST_CASE("a one-way block stops one direction of UDP only, and unblocking restores it") {
    Simulator sim(2);
    SimEnv& a = sim.AddNode(kA);
    SimEnv& b = sim.AddNode(kB);
    UdpProbe ua(a, kUdpPort), ub(b, kUdpPort);
    sim.BlockLink(kA, kB);
    for (int i = 0; i < 20; ++i) {
      ua.Send(kB, "a->b");
      ub.Send(kA, "b->a");
    }
    sim.RunFor(milliseconds(10));
    CHECK(ub.received.empty());
    CHECK(ua.CountFrom(kB) == 20);
    // TCP needs both directions: a connect either way fails.
    StreamProbe probe;
    Server server_b(b, kTcpPort);
    CHECK_FALSE(Connect(sim, a, kB, kTcpPort, probe).IsOk());
    sim.UnblockLink(kA, kB);
    ua.Send(kB, "again");
    sim.RunFor(milliseconds(10));
    CHECK(ub.CountFrom(kA) == 1);
    CHECK(Connect(sim, a, kB, kTcpPort, probe).IsOk());
  }

  TEST_CASE("a datagram is lost if its link is blocked when it is sent or when it arrives") {
    Simulator sim(3);
    sim.SetDefaultLinkFaults(LinkFaults{0.0, 0.0, milliseconds(5), milliseconds(5)});
    SimEnv& a = sim.AddNode(kA);
    SimEnv& b = sim.AddNode(kB);
    UdpProbe ua(a, kUdpPort), ub(b, kUdpPort);
    ua.Send(kB, "in flight");
    sim.RunFor(milliseconds(1));
    sim.BlockLink(kA, kB);
    sim.RunFor(milliseconds(10));
    CHECK(ub.received.empty());
    // Sent into a partition that heals before the datagram would have arrived: still lost.
    ua.Send(kB, "into the partition");
    sim.RunFor(milliseconds(1));
    sim.UnblockLink(kA, kB);
    sim.RunFor(milliseconds(10));
    CHECK(ub.received.empty());
    ua.Send(kB, "after");
    sim.RunFor(milliseconds(10));
    CHECK(ub.received.size() == 1);
  }

  TEST_CASE("drop rate statistics match the configured probability") {
    Simulator sim(4);
    SimEnv& a = sim.AddNode(kA);
    SimEnv& b = sim.AddNode(kB);
    sim.SetLinkFaults(kA, kB, LinkFaults{0.3, 0.0, microseconds(100), microseconds(100)});
    UdpProbe ua(a, kUdpPort), ub(b, kUdpPort);
    constexpr int kSent = 10000;
    for (int i = 0; i < kSent; ++i) ua.Send(kB, "x");
    for (int i = 0; i < 1000; ++i) ub.Send(kA, "y");  // the reverse link keeps its own faults
    sim.RunFor(milliseconds(10));
    // Binomial(10000, 0.7): standard deviation ~46; allow about 6 of them.
    CHECK(ub.received.size() > 6700);
    CHECK(ub.received.size() < 7300);
    CHECK(ua.received.size() == 1000);
  }

  TEST_CASE("a delay range reorders datagrams, and duplicates happen at the configured rate") {
    Simulator sim(5);
    SimEnv& a = sim.AddNode(kA);
    SimEnv& b = sim.AddNode(kB);
    sim.SetLinkFaults(kA, kB, LinkFaults{0.0, 0.2, milliseconds(1), milliseconds(10)});
    UdpProbe ua(a, kUdpPort), ub(b, kUdpPort);
    constexpr int kSent = 2000;
    for (int i = 0; i < kSent; ++i) {
      ua.Send(kB, std::to_string(i));
      sim.RunFor(microseconds(100));
    }
    sim.RunFor(milliseconds(20));
    int inversions = 0;
    std::map<int, int> copies;
    int previous = -1;
    for (const auto& [from, data] : ub.received) {
      const int value = std::stoi(data);
      if (value < previous) ++inversions;
      previous = value;
      ++copies[value];
    }
    CHECK(inversions > 100);
    CHECK(copies.size() == kSent);  // nothing lost
    int duplicated = 0;
    for (const auto& [value, count] : copies) {
      CHECK(count <= 2);
      duplicated += count == 2 ? 1 : 0;
    }
    // Binomial(2000, 0.2): mean 400, standard deviation ~18.
    CHECK(duplicated > 300);
    CHECK(duplicated < 500);
  }

  TEST_CASE("TCP delivers bytes in order over a jittery link, in bounded chunks") {
    for (uint64_t seed : TestSeeds(20)) {
      Simulator sim(seed);
      INFO(sim.ReproHint(kSimTestBinary, "TCP delivers bytes in order over a jittery link, in bounded chunks"));
      sim.SetDefaultLinkFaults(LinkFaults{0.5, 0.5, microseconds(10), milliseconds(20)});  // UDP-only faults
      SimEnv& a = sim.AddNode(kA);
      SimEnv& b = sim.AddNode(kB);
      Server server_b(b, kTcpPort);
      StreamProbe client;
      REQUIRE(Connect(sim, a, kB, kTcpPort, client).IsOk());
      std::string sent_to_b, sent_to_a;
      sim.RunFor(milliseconds(30));
      REQUIRE(server_b.accepted.size() == 1);
      StreamProbe& accepted = *server_b.accepted[0];
      for (int i = 0; i < 300; ++i) {
        const std::string message = "<" + std::to_string(i) + ">";
        REQUIRE(client.stream->Write(message).IsOk());
        REQUIRE(accepted.stream->Write(message + message).IsOk());
        sent_to_b += message;
        sent_to_a += message + message;
        sim.RunFor(microseconds(sim.Random().Between(0, 500)));
      }
      const std::string big(3 * limits::kTcpReadChunkBytesMax + 17, 'z');
      REQUIRE(client.stream->Write(big).IsOk());
      sent_to_b += big;
      CHECK(client.stream->QueuedBytes() > 0);
      sim.RunFor(milliseconds(50));
      CHECK(accepted.received == sent_to_b);
      CHECK(client.received == sent_to_a);
      CHECK(client.stream->QueuedBytes() == 0);
      CHECK(accepted.largest_chunk <= limits::kTcpReadChunkBytesMax);
      CHECK_FALSE(client.closed.has_value());
      CHECK(client.stream->PeerAddress() == NetAddress{kB, kTcpPort});
      CHECK(accepted.stream->PeerAddress() == client.stream->LocalAddress());
    }
  }

  TEST_CASE("connecting to a port with no listener, or to an unknown host, fails") {
    Simulator sim(6);
    SimEnv& a = sim.AddNode(kA);
    sim.AddNode(kB);
    StreamProbe probe;
    const Status refused = Connect(sim, a, kB, 1234, probe);
    CHECK(refused.Code() == StatusCode::kUnavailable);
    CHECK(Connect(sim, a, "10.9.9.9", 1234, probe).Code() == StatusCode::kUnavailable);
    CHECK(probe.stream == nullptr);
    // A closed listener refuses too.
    auto server = std::make_unique<Server>(a, kTcpPort);
    server.reset();
    CHECK_FALSE(Connect(sim, a, "127.0.0.1", kTcpPort, probe).IsOk());
  }

  TEST_CASE("a local close flushes queued bytes, then the peer sees an OK close; the closer hears nothing") {
    Simulator sim(7);
    SimEnv& a = sim.AddNode(kA);
    SimEnv& b = sim.AddNode(kB);
    sim.SetDefaultLinkFaults(LinkFaults{0.0, 0.0, microseconds(10), milliseconds(5)});
    Server server_b(b, kTcpPort);
    StreamProbe client;
    REQUIRE(Connect(sim, a, kB, kTcpPort, client).IsOk());
    REQUIRE(client.stream->Write("last words").IsOk());
    client.stream->Close();
    CHECK(client.stream->Write("after close").Code() == StatusCode::kUnavailable);
    sim.RunFor(milliseconds(20));
    REQUIRE(server_b.accepted.size() == 1);
    StreamProbe& accepted = *server_b.accepted[0];
    CHECK(accepted.received == "last words");
    REQUIRE(accepted.closed.has_value());
    CHECK(accepted.closed->IsOk());
    CHECK_FALSE(client.closed.has_value());
    CHECK(accepted.stream->Write("too late").Code() == StatusCode::kUnavailable);
    accepted.stream.reset();
    CHECK(sim.OpenTcpConnections() == 0);
  }

  TEST_CASE("a stream cut by a partition mid-transfer never ends with a clean close") {
    Simulator sim(14);
    sim.SetDefaultLinkFaults(LinkFaults{0.0, 0.0, milliseconds(5), milliseconds(5)});
    SimEnv& a = sim.AddNode(kA);
    SimEnv& b = sim.AddNode(kB);
    Server server_b(b, kTcpPort);
    StreamProbe client;
    REQUIRE(Connect(sim, a, kB, kTcpPort, client).IsOk());
    REQUIRE(server_b.accepted.size() == 1);
    REQUIRE(client.stream->Write("half of it").IsOk());
    client.stream->Close();  // the close trails the bytes
    sim.RunFor(milliseconds(1));
    sim.Partition({kA}, {kB});
    sim.RunFor(milliseconds(20));
    StreamProbe& accepted = *server_b.accepted[0];
    REQUIRE(accepted.closed.has_value());
    CHECK_FALSE(accepted.closed->IsOk());
    CHECK(accepted.received.empty());
    CHECK_FALSE(client.closed.has_value());
  }

  TEST_CASE("a stream may be destroyed from inside its own callbacks") {
    Simulator sim(8);
    SimEnv& a = sim.AddNode(kA);
    SimEnv& b = sim.AddNode(kB);
    std::unique_ptr<TcpStream> accepted;
    int data_calls = 0;
    auto listener = b.ListenTcp(NetAddress{kB, kTcpPort}, [&](std::unique_ptr<TcpStream> stream) {
      accepted = std::move(stream);
      accepted->Start(TcpStreamHandlers{[&](std::string_view) {
                                          ++data_calls;
                                          accepted.reset();  // destroys the stream and this lambda's owner
                                        },
                                        [&](Status) { FAIL("on_close after the stream was destroyed"); }});
    });
    REQUIRE(listener.IsOk());
    StreamProbe client;
    REQUIRE(Connect(sim, a, kB, kTcpPort, client).IsOk());
    REQUIRE(client.stream->Write("one").IsOk());
    REQUIRE(client.stream->Write("two").IsOk());
    sim.RunFor(milliseconds(10));
    CHECK(data_calls == 1);
    REQUIRE(client.closed.has_value());
    CHECK(client.closed->IsOk());
    // The same from on_close: the accepted stream destroys itself when the client goes away.
    std::unique_ptr<TcpStream> self_closing;
    int closes = 0;
    auto listener2 = b.ListenTcp(NetAddress{kB, kTcpPort + 1}, [&](std::unique_ptr<TcpStream> stream) {
      self_closing = std::move(stream);
      self_closing->Start(TcpStreamHandlers{[](std::string_view) {},
                                            [&](Status) {
                                              ++closes;
                                              self_closing.reset();
                                            }});
    });
    REQUIRE(listener2.IsOk());
    StreamProbe second;
    REQUIRE(Connect(sim, a, kB, kTcpPort + 1, second).IsOk());
    second.stream.reset();
    sim.RunFor(milliseconds(10));
    CHECK(closes == 1);
    CHECK(self_closing == nullptr);
    CHECK(sim.OpenTcpConnections() == 0);
  }

  TEST_CASE("a crash resets the peer's streams and silences the crashed side") {
    Simulator sim(9);
    SimEnv& a = sim.AddNode(kA);
    SimEnv& b = sim.AddNode(kB);
    Server server_b(b, kTcpPort);
    StreamProbe client;
    REQUIRE(Connect(sim, a, kB, kTcpPort, client).IsOk());
    sim.RunFor(milliseconds(1));
    REQUIRE(server_b.accepted.size() == 1);
    REQUIRE(client.stream->Write("before crash").IsOk());
    sim.Crash(kB);
    sim.RunFor(milliseconds(10));
    REQUIRE(client.closed.has_value());
    CHECK_FALSE(client.closed->IsOk());
    StreamProbe& dead = *server_b.accepted[0];
    CHECK(dead.received.empty());
    CHECK_FALSE(dead.closed.has_value());
    CHECK(dead.stream->Write("zombie").Code() == StatusCode::kUnavailable);
    // Connecting to the down host fails; after restart there is no listener until one is built.
    StreamProbe probe;
    CHECK_FALSE(Connect(sim, a, kB, kTcpPort, probe).IsOk());
    sim.Restart(kB);
    CHECK_FALSE(Connect(sim, a, kB, kTcpPort, probe).IsOk());
    Server fresh(b, kTcpPort);
    CHECK(Connect(sim, a, kB, kTcpPort, probe).IsOk());
    // The old incarnation's objects are destroyed late, harmlessly.
    server_b.accepted.clear();
    server_b.listener.reset();
    sim.RunFor(milliseconds(10));
    CHECK(fresh.accepted.size() == 1);
  }

  TEST_CASE("a reader that never starts makes the writer hit the write queue bound") {
    Simulator sim(10);
    SimEnv& a = sim.AddNode(kA);
    SimEnv& b = sim.AddNode(kB);
    std::unique_ptr<TcpStream> lazy;
    auto listener = b.ListenTcp(NetAddress{kB, kTcpPort}, [&](std::unique_ptr<TcpStream> s) { lazy = std::move(s); });
    REQUIRE(listener.IsOk());
    StreamProbe client;
    REQUIRE(Connect(sim, a, kB, kTcpPort, client).IsOk());
    const std::string block(1 << 20, 'q');
    size_t written = 0;
    Status status;
    while ((status = client.stream->Write(block)).IsOk()) {
      written += block.size();
      sim.RunFor(milliseconds(1));
    }
    CHECK(status.Code() == StatusCode::kResourceExhausted);
    CHECK(written == limits::kTcpWriteQueueBytesMax);
    CHECK(client.stream->QueuedBytes() == written);
    // Once the reader starts, the queue drains and writing works again.
    REQUIRE(lazy != nullptr);
    size_t read = 0;
    lazy->Start(TcpStreamHandlers{[&](std::string_view data) { read += data.size(); }, [](Status) {}});
    sim.RunFor(milliseconds(10));
    CHECK(read == written);
    CHECK(client.stream->QueuedBytes() == 0);
    CHECK(client.stream->Write(block).IsOk());
  }

  TEST_CASE("bytes and a reset that arrive before Start are delivered from the loop after it") {
    Simulator sim(12);
    SimEnv& a = sim.AddNode(kA);
    SimEnv& b = sim.AddNode(kB);
    std::unique_ptr<TcpStream> late;
    auto listener = b.ListenTcp(NetAddress{kB, kTcpPort}, [&](std::unique_ptr<TcpStream> s) { late = std::move(s); });
    REQUIRE(listener.IsOk());
    StreamProbe client;
    REQUIRE(Connect(sim, a, kB, kTcpPort, client).IsOk());
    REQUIRE(client.stream->Write("early").IsOk());
    sim.RunFor(milliseconds(5));
    sim.Partition({kA}, {kB});
    sim.RunFor(milliseconds(5));
    REQUIRE(late != nullptr);
    std::string got;
    std::optional<Status> closed;
    late->Start(
        TcpStreamHandlers{[&](std::string_view data) { got += data; }, [&](Status reason) { closed = reason; }});
    CHECK_FALSE(closed.has_value());  // nothing from inside Start
    sim.RunFor(Duration::zero());
    REQUIRE(closed.has_value());
    CHECK(closed->Code() == StatusCode::kUnavailable);
    CHECK(got.empty());  // a reset discards what was not read
  }

  TEST_CASE("handles may outlive the simulator, and callbacks it still holds are destroyed safely") {
    auto sim = std::make_unique<Simulator>(13);
    SimEnv& a = sim->AddNode(kA);
    SimEnv& b = sim->AddNode(kB);
    Server server_b(b, kTcpPort);
    StreamProbe client;
    REQUIRE(Connect(*sim, a, kB, kTcpPort, client).IsOk());
    UdpProbe udp(a, kUdpPort);
    auto file = a.NewWritableFile("f");
    REQUIRE(file.IsOk());
    // A pending timer that owns a stream: destroying the queue destroys the stream.
    auto owned = std::make_shared<StreamProbe>();
    REQUIRE(Connect(*sim, a, kB, kTcpPort, *owned).IsOk());
    a.StartTimer(milliseconds(100), [owned] { FAIL("never runs"); });
    owned.reset();
    REQUIRE(client.stream->Write("pending").IsOk());
    sim.reset();
    CHECK(client.stream->Write("x").Code() == StatusCode::kUnavailable);
    CHECK(udp.socket->SendTo(NetAddress{kB, kUdpPort}, "x").Code() == StatusCode::kUnavailable);
    CHECK_FALSE((*file)->Append("x").IsOk());
    client.stream->Close();
    client.stream.reset();
    server_b.accepted.clear();
    server_b.listener.reset();
    udp.socket.reset();
    file = Status::Aborted("dropped");
  }

  TEST_CASE("UDP rejects oversized datagrams and busy ports") {
    Simulator sim(11);
    SimEnv& a = sim.AddNode(kA);
    UdpProbe probe(a, kUdpPort);
    const std::string huge(limits::kUdpDatagramBytesMax + 1, 'h');
    CHECK(probe.socket->SendTo(NetAddress{kA, kUdpPort}, huge).Code() == StatusCode::kInvalidArgument);
    auto busy = a.OpenUdp(NetAddress{kA, kUdpPort}, [](const NetAddress&, std::string_view) {});
    CHECK_FALSE(busy.IsOk());
    auto foreign = a.OpenUdp(NetAddress{kB, 1}, [](const NetAddress&, std::string_view) {});
    CHECK(foreign.GetStatus().Code() == StatusCode::kInvalidArgument);
    auto ephemeral = a.OpenUdp(NetAddress{"0.0.0.0", 0}, [](const NetAddress&, std::string_view) {});
    REQUIRE(ephemeral.IsOk());
    CHECK((*ephemeral)->LocalAddress().host == kA);
    CHECK((*ephemeral)->LocalAddress().port != 0);
    // Loopback reaches the host itself.
    REQUIRE((*ephemeral)->SendTo(NetAddress{"127.0.0.1", kUdpPort}, "self").IsOk());
    sim.RunFor(milliseconds(1));
    CHECK(probe.CountFrom(kA) == 1);
  }

  TEST_CASE("a datagram to a closed port on an up host comes back as refused; a down host answers nothing") {
    Simulator sim(12);
    SimEnv& a = sim.AddNode(kA);
    sim.AddNode(kB);
    sim.AddNode(kC);
    UdpProbe probe(a, kUdpPort);
    std::vector<NetAddress> refused;
    probe.socket->SetUnreachableHandler([&](const NetAddress& to) { refused.push_back(to); });
    UdpProbe quiet(a, kUdpPort + 1);  // asked for nothing, hears nothing

    probe.Send(kB, "closed port");
    quiet.Send(kB, "closed port");
    sim.RunFor(milliseconds(10));
    REQUIRE(refused.size() == 1);
    CHECK(refused[0] == NetAddress{kB, kUdpPort});

    // A down machine and a partitioned one stay silent.
    sim.Crash(kC);
    probe.Send(kC, "machine gone");
    sim.Partition({kA}, {kB});
    probe.Send(kB, "cut off");
    sim.RunFor(milliseconds(10));
    CHECK(refused.size() == 1);

    // A refusal on its way back is dropped once the socket is closed.
    sim.HealAll();
    probe.Send(kB, "closed port");
    probe.socket.reset();
    sim.RunFor(milliseconds(10));
    CHECK(refused.size() == 1);
  }
}

}  // namespace
}  // namespace cairn::sim
