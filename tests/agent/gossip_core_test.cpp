// gossip.core: the Swim core's state transitions, driven by hand through a tiny in-test network,
// and the suspicion-timeout math.
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <set>

#include "agent/gossip/swim.h"

namespace cairn::gossip {
namespace {

using namespace std::chrono_literals;

// Several cores wired by address: datagrams and stream requests are delivered at once unless
// blocked. Time moves only in Advance().
struct TestNet {
  MonoTime now = MonoTime(1h);
  std::vector<std::unique_ptr<Swim>> nodes;
  std::map<std::string, size_t> by_host;
  std::set<std::pair<std::string, std::string>> udp_blocked;  // (from host, to host)
  std::set<std::pair<std::string, std::string>> tcp_blocked;
  std::set<std::string> down;
  // Hosts whose process is gone but whose machine is up: datagrams to them come back refused
  // at once, and TCP to them fails.
  std::set<std::string> killed;
  std::vector<std::vector<MemberEvent>> events;

  static SwimConfig Config(size_t i) {
    SwimConfig c;
    c.name = "n" + std::to_string(i);
    c.address = NetAddress{"10.0.0." + std::to_string(i + 1), 7946};
    c.seed = 1000 + i;
    c.reap_after = 60s;
    return c;
  }
  explicit TestNet(size_t n, const std::function<void(SwimConfig&)>& tweak = {}) {
    for (size_t i = 0; i < n; ++i) {
      SwimConfig c = Config(i);
      if (tweak) tweak(c);
      auto s = Swim::Create(c, now);
      REQUIRE(s.IsOk());
      by_host[c.address.host] = i;
      nodes.push_back(std::move(s.Value()));
      events.emplace_back();
    }
  }
  Swim& operator[](size_t i) { return *nodes[i]; }
  std::string Host(size_t i) { return nodes[i]->Self().address.host; }
  bool Blocked(const std::set<std::pair<std::string, std::string>>& set, const std::string& a, const std::string& b) {
    return down.count(a) || down.count(b) || killed.count(a) || killed.count(b) || set.count({a, b});
  }
  void DeliverFrom(size_t i) {
    Ready r = nodes[i]->TakeReady();
    for (auto& e : r.events) events[i].push_back(e);
    const std::string from = Host(i);
    for (auto& p : r.packets) {
      if (killed.count(p.to.host) && !down.count(from)) {
        nodes[i]->Unreachable(now, p.to);
        continue;
      }
      auto to = by_host.find(p.to.host);
      if (to == by_host.end() || Blocked(udp_blocked, from, p.to.host)) continue;
      CHECK(p.bytes.size() <= kUdpPacketBytesMax);
      CHECK(nodes[to->second]->Step(now, nodes[i]->Self().address, p.bytes).IsOk());
    }
    for (auto& s : r.streams) {
      auto to = by_host.find(s.to.host);
      if (to == by_host.end() || Blocked(tcp_blocked, from, s.to.host) || Blocked(tcp_blocked, s.to.host, from))
        continue;
      auto reply = nodes[to->second]->HandleStream(now, nodes[i]->Self().address, s.bytes);
      REQUIRE(reply.IsOk());
      CHECK(nodes[i]->Step(now, s.to, reply.Value()).IsOk());
    }
  }
  void Pump() {
    for (int round = 0; round < 1000; ++round) {
      bool any = false;
      for (size_t i = 0; i < nodes.size(); ++i) {
        if (down.count(Host(i)) || killed.count(Host(i))) {
          (void)nodes[i]->TakeReady();
          continue;
        }
        if (nodes[i]->HasReady()) {
          any = true;
          DeliverFrom(i);
        }
      }
      if (!any) return;
    }
    FAIL("network did not settle");
  }
  void Advance(Duration d, Duration step = 100ms) {
    for (Duration t{0}; t < d; t += step) {
      now += step;
      for (size_t i = 0; i < nodes.size(); ++i) {
        if (!down.count(Host(i)) && !killed.count(Host(i))) nodes[i]->Tick(now);
      }
      Pump();
    }
  }
  void JoinAll() {
    for (size_t i = 1; i < nodes.size(); ++i) REQUIRE(nodes[i]->Join(now, {nodes[0]->Self().address}).IsOk());
    Pump();
  }
  MemberState StateAt(size_t observer, size_t subject) {
    const Member* m = nodes[observer]->Find(nodes[subject]->Name());
    REQUIRE(m != nullptr);
    return m->state;
  }
  size_t Count(size_t observer, EventKind kind, const std::string& name) {
    size_t n = 0;
    for (auto& e : events[observer]) n += (e.kind == kind && e.member.name == name);
    return n;
  }
};

// Three members after their joins; n1 serves as the relay between requester n0 and target n2.
struct RelayFixture {
  RelayFixture() : net(3) {
    net.JoinAll();
    net.Advance(3s);
    (void)relay.TakeReady();
  }
  TestNet net;
  Swim& relay = net[1];
  const NetAddress requester = net[0].Self().address;
  const NetAddress target = net[2].Self().address;
};

// The primary message of a datagram (piggybacked updates may follow it).
Message FirstMessage(const std::string& bytes) {
  auto decoded = DecodePacket(bytes);
  REQUIRE(decoded.IsOk());
  return decoded.Value().front();
}

}  // namespace

TEST_SUITE("gossip.core") {
  TEST_CASE("suspicion timeout: starts at max, shrinks log-scaled with confirmations, floors at min") {
    const SuspicionTimeouts b = ComputeSuspicionTimeouts(4, 6, 100, 1s);
    CHECK(b.min == 8s);  // 4 * log10(100) * 1s
    CHECK(b.max == 48s);
    CHECK(ComputeSuspicionTimeouts(4, 6, 5, 1s).min == 4s);  // log10 scale floors at 1
    CHECK(SuspicionTimeout(b, 2, 0) == 48s);
    const Duration one = SuspicionTimeout(b, 2, 1);
    CHECK(one < 48s);
    CHECK(one > 8s);
    // log(2)/log(3) of the span: 48 - 40 * 0.6309 = 22.76 s.
    CHECK(std::chrono::duration<double>(one).count() == doctest::Approx(22.763).epsilon(0.001));
    CHECK(SuspicionTimeout(b, 2, 2) == 8s);
    CHECK(SuspicionTimeout(b, 2, 5) == 8s);
    CHECK(SuspicionTimeout(b, 0, 0) == 8s);  // nobody could confirm: no reason to wait longer

    Suspicion s(MonoTime(1h), b, 2, "accuser");
    CHECK(s.Deadline() == MonoTime(1h) + 48s);
    CHECK_FALSE(s.Confirm("accuser"));  // the accuser is not its own confirmation
    CHECK(s.Confirm("x"));
    CHECK_FALSE(s.Confirm("x"));
    CHECK(s.Deadline() == MonoTime(1h) + one);
    CHECK(s.Confirm("y"));
    CHECK_FALSE(s.Confirm("z"));  // past expected: nothing left to shrink
    CHECK(s.Deadline() == MonoTime(1h) + 8s);
  }

  TEST_CASE("push-pull interval grows with cluster size") {
    CHECK(PushPullInterval(30s, 10) == 30s);
    CHECK(PushPullInterval(30s, 32) == 30s);
    CHECK(PushPullInterval(30s, 33) == 60s);
    CHECK(PushPullInterval(30s, 64) == 60s);
    CHECK(PushPullInterval(30s, 1000) == 180s);
  }

  TEST_CASE("config and metadata limits are enforced with clear errors") {
    SwimConfig c = TestNet::Config(0);
    c.meta.role = std::string(kMetaFieldBytesMax + 1, 'r');
    auto s = Swim::Create(c, MonoTime(1h));
    CHECK(s.GetStatus().Message().find("kMetaFieldBytesMax") != std::string::npos);
    c = TestNet::Config(0);
    c.name = "";
    CHECK_FALSE(Swim::Create(c, MonoTime(1h)).IsOk());
    c = TestNet::Config(0);
    c.probe_timeout = 2s;
    CHECK_FALSE(Swim::Create(c, MonoTime(1h)).IsOk());
    c = TestNet::Config(0);
    c.refused_suspicion_mult = c.suspicion_mult + 1;
    CHECK(Swim::Create(c, MonoTime(1h)).GetStatus().Message().find("refused_suspicion_mult") != std::string::npos);

    TestNet net(1);
    Metadata big;
    big.build = std::string(kMetaFieldBytesMax + 1, 'b');
    CHECK(net[0].SetMetadata(net.now, big).Code() == StatusCode::kInvalidArgument);
    CHECK(net[0].Self().incarnation == 0);
    CHECK(net[0].Join(net.now, std::vector<NetAddress>(kSeedsMax + 1, NetAddress{"10.0.0.9", 1})).Code() ==
          StatusCode::kInvalidArgument);
  }

  TEST_CASE("join through a seed: everyone learns everyone") {
    TestNet net(5);
    net.JoinAll();
    net.Advance(10s);
    for (size_t i = 0; i < 5; ++i) {
      CHECK(net[i].AliveCount() == 5);
      for (size_t j = 0; j < 5; ++j) CHECK(net.StateAt(i, j) == MemberState::kAlive);
    }
    CHECK(net.Count(1, EventKind::kJoin, "n4") == 1);
  }

  TEST_CASE("a malformed packet is rejected and changes nothing") {
    TestNet net(3);
    net.JoinAll();
    net.Advance(3s);
    const auto before = net[0].Members().size();
    const uint64_t inc = net[0].Self().incarnation;
    std::string bad = EncodePacket({Suspect{"n0", 99, "n1"}});
    bad[bad.size() - 1] ^= 1;
    CHECK(net[0].Step(net.now, NetAddress{"10.0.0.2", 7946}, bad).Code() == StatusCode::kCorruption);
    CHECK_FALSE(net[0].HasReady());
    CHECK(net[0].Self().incarnation == inc);
    CHECK(net[0].Members().size() == before);
    CHECK(net[0].Stats().packets_rejected == 1);
    CHECK_FALSE(net[0].HandleStream(net.now, NetAddress{"10.0.0.2", 7946}, "junk").IsOk());
    CHECK_FALSE(net[0].HandleStream(net.now, NetAddress{"10.0.0.2", 7946}, EncodePacket({Nack{1}})).IsOk());
  }

  TEST_CASE("a crashed member is suspected, then declared failed, and everyone learns it") {
    TestNet net(6);
    net.JoinAll();
    net.Advance(5s);
    net.down.insert(net.Host(5));
    bool all_suspect_or_dead = false;
    for (int s = 0; s < 120 && !all_suspect_or_dead; ++s) {
      net.Advance(1s);
      all_suspect_or_dead = true;
      for (size_t i = 0; i < 5; ++i) all_suspect_or_dead &= net.StateAt(i, 5) == MemberState::kDead;
    }
    CHECK(all_suspect_or_dead);
    for (size_t i = 0; i < 5; ++i) {
      CHECK(net.Count(i, EventKind::kFailed, "n5") == 1);
      CHECK(net[i].AliveCount() == 5);
    }
    // Nobody healthy was touched.
    for (size_t i = 0; i < 5; ++i)
      for (size_t j = 0; j < 5; ++j) CHECK(net.StateAt(i, j) == MemberState::kAlive);
    // After the reap window the dead member is forgotten.
    net.Advance(70s, 1s);
    for (size_t i = 0; i < 5; ++i) {
      CHECK(net[i].Find("n5") == nullptr);
      CHECK(net.Count(i, EventKind::kReaped, "n5") == 1);
    }
  }

  TEST_CASE("a killed process whose port refuses is declared failed after the short, refused suspicion") {
    // Kills n4. Returns how long after the first suspicion the first and the last observer
    // declared it failed, and how many suspicions were raised with a confirmed refusal.
    struct Outcome {
      Duration first_failed, last_failed;
      uint64_t refused_suspicions = 0;
    };
    auto kill_one = [](uint32_t refused_mult) {
      TestNet net(5, [&](SwimConfig& c) { c.refused_suspicion_mult = refused_mult; });
      net.JoinAll();
      net.Advance(5s);
      net.killed.insert(net.Host(4));
      std::optional<MonoTime> suspected, first_failed;
      size_t failed = 0;
      for (int step = 0; step < 1200 && failed < 4; ++step) {
        net.Advance(50ms, 50ms);
        failed = 0;
        for (size_t i = 0; i < 4; ++i) {
          const MemberState state = net.StateAt(i, 4);
          if (state != MemberState::kAlive && !suspected) suspected = net.now;
          failed += state == MemberState::kDead;
        }
        if (failed > 0 && !first_failed) first_failed = net.now;
      }
      REQUIRE(failed == 4);
      Outcome out{*first_failed - *suspected, net.now - *suspected};
      for (size_t i = 0; i < 4; ++i) out.refused_suspicions += net[i].Stats().refused_suspicions;
      return out;
    };
    // Heeded: everyone knows one probe interval (log10 5 < 1) after the first suspicion.
    const Outcome fast = kill_one(1);
    CHECK(fast.refused_suspicions >= 1);
    CHECK(fast.last_failed <= 1100ms);
    // Ignored: Lifeguard's suspicion of at least suspicion_mult (4) probe intervals.
    const Outcome slow = kill_one(0);
    CHECK(slow.refused_suspicions == 0);
    CHECK(slow.first_failed >= 4s);
  }

  TEST_CASE("a refusal nobody else confirms does not shorten the suspicion") {
    // Two members: there is no relay to confirm n0's refused ping, so n1 gets the full timeout.
    TestNet net(2);
    net.JoinAll();
    net.Advance(3s);
    net.killed.insert(net.Host(1));
    std::optional<MonoTime> suspected, failed;
    for (int step = 0; step < 400 && !failed; ++step) {
      net.Advance(50ms, 50ms);
      const MemberState state = net.StateAt(0, 1);
      if (state != MemberState::kAlive && !suspected) suspected = net.now;
      if (state == MemberState::kDead) failed = net.now;
    }
    REQUIRE(failed.has_value());
    CHECK(*failed - *suspected >= 4s);
    CHECK(net[0].Stats().refusals_heard >= 1);
    CHECK(net[0].Stats().refused_suspicions == 0);
  }

  TEST_CASE("a live member accused with a refusal still refutes and stays alive everywhere") {
    TestNet net(4);
    net.JoinAll();
    net.Advance(3s);
    const uint64_t incarnation = net[2].Self().incarnation;
    REQUIRE(net[0].Step(net.now, net[1].Self().address, EncodePacket({Suspect{"n2", incarnation, "n1", true}})).IsOk());
    net.Pump();
    net.Advance(5s);
    for (size_t i = 0; i < 4; ++i) {
      if (i != 2) CHECK(net.StateAt(i, 2) == MemberState::kAlive);
      CHECK(net.Count(i, EventKind::kFailed, "n2") == 0);
    }
    CHECK(net[2].Self().incarnation > incarnation);
  }

  TEST_CASE("a suspect refutes with a higher incarnation and is alive again everywhere") {
    TestNet net(4);
    net.JoinAll();
    net.Advance(5s);
    CHECK(net[1].Step(net.now, net[2].Self().address, EncodePacket({Suspect{"n3", 0, "n2"}})).IsOk());
    CHECK(net.StateAt(1, 3) == MemberState::kSuspect);
    net.Pump();
    net.Advance(5s);
    CHECK(net[3].Self().incarnation >= 1);
    CHECK(net[3].Stats().refutations >= 1);
    for (size_t i = 0; i < 4; ++i) CHECK(net.StateAt(i, 3) == MemberState::kAlive);
    CHECK(net.Count(1, EventKind::kSuspect, "n3") == 1);
    CHECK(net.Count(1, EventKind::kUpdate, "n3") >= 1);
  }

  TEST_CASE("incarnation rules: stale claims are ignored, dead beats alive at equal incarnation") {
    TestNet net(3);
    net.JoinAll();
    net.Advance(3s);
    auto step = [&](const Message& m) { CHECK(net[0].Step(net.now, net[1].Self().address, EncodePacket({m})).IsOk()); };
    const NetAddress addr2 = net[2].Self().address;
    step(Alive{"n2", 5, addr2, {}});
    CHECK(net[0].Find("n2")->incarnation == 5);
    step(Suspect{"n2", 4, "n1"});  // stale
    CHECK(net.StateAt(0, 2) == MemberState::kAlive);
    step(Suspect{"n2", 5, "n1"});  // same incarnation: suspicion wins over alive
    CHECK(net.StateAt(0, 2) == MemberState::kSuspect);
    step(Alive{"n2", 5, addr2, {}});  // same incarnation cannot refute
    CHECK(net.StateAt(0, 2) == MemberState::kSuspect);
    step(Dead{"n2", 5, "n1"});
    CHECK(net.StateAt(0, 2) == MemberState::kDead);
    step(Alive{"n2", 5, addr2, {}});
    CHECK(net.StateAt(0, 2) == MemberState::kDead);
    step(Alive{"n2", 6, addr2, {"server", "dc1", "", "", ""}});  // a newer life rejoins
    CHECK(net.StateAt(0, 2) == MemberState::kAlive);
    CHECK(net[0].Find("n2")->meta.role == "server");
    step(Suspect{"unknown", 1, "n1"});  // claims about strangers change nothing
    CHECK(net[0].Find("unknown") == nullptr);
    // A claim of our own death is refuted, never accepted.
    step(Dead{"n0", 0, "n1"});
    CHECK(net[0].Self().state == MemberState::kAlive);
    CHECK(net[0].Self().incarnation == 1);
    CHECK(net[0].Awareness() == 1);
  }

  TEST_CASE("indirect probes through relays keep a member reachable only indirectly alive") {
    TestNet net(5, [](SwimConfig& c) { c.tcp_fallback_probe = false; });
    net.JoinAll();
    net.Advance(3s);
    net.udp_blocked.insert({net.Host(0), net.Host(4)});
    net.udp_blocked.insert({net.Host(4), net.Host(0)});
    net.Advance(60s);
    CHECK(net.Count(0, EventKind::kSuspect, "n4") == 0);
    CHECK(net.Count(4, EventKind::kSuspect, "n0") == 0);
    CHECK(net.StateAt(1, 4) == MemberState::kAlive);
  }

  TEST_CASE("TCP fallback keeps a member alive when UDP to it is lost and no relay exists") {
    TestNet net(2);
    net.JoinAll();
    net.Advance(2s);
    net.udp_blocked.insert({net.Host(0), net.Host(1)});
    net.udp_blocked.insert({net.Host(1), net.Host(0)});
    net.Advance(60s);
    CHECK(net.Count(0, EventKind::kSuspect, "n1") == 0);
    net.tcp_blocked.insert({net.Host(0), net.Host(1)});
    net.Advance(5s);
    CHECK(net.Count(0, EventKind::kSuspect, "n1") == 1);
  }

  TEST_CASE("relays answer nacks; a prober cut off from everyone raises its awareness instead") {
    TestNet net(5, [](SwimConfig& c) { c.tcp_fallback_probe = false; });
    net.JoinAll();
    net.Advance(3s);
    // n4 crashes: relays nack, so probers of n4 keep their awareness low.
    net.down.insert(net.Host(4));
    net.Advance(30s);
    for (size_t i = 0; i < 4; ++i) CHECK(net[i].Awareness() <= 1);
    // n0 loses every inbound packet: its probes fail and no nacks come back.
    for (size_t i = 1; i < 4; ++i) net.udp_blocked.insert({net.Host(i), net.Host(0)});
    net.Advance(20s);
    CHECK(net[0].Awareness() >= 3);
    CHECK(net[0].ScaledProbeInterval() >= 4s);
    CHECK(net[0].ScaledProbeTimeout() == net[0].ScaledProbeInterval() / 2);
  }

  TEST_CASE("a relay pings the target for the requester and answers ack or nack") {
    RelayFixture f;
    TestNet& net = f.net;
    Swim& relay = f.relay;
    const NetAddress requester = f.requester;
    const NetAddress target = f.target;
    auto decode_one = FirstMessage;
    // Nack path: the target never answers.
    REQUIRE(relay.Step(net.now, requester, EncodePacket({PingReq{42, "n2", target, "n0"}})).IsOk());
    Ready r = relay.TakeReady();
    REQUIRE(r.packets.size() == 1);
    CHECK(r.packets[0].to == target);
    const Ping ping = std::get<Ping>(decode_one(r.packets[0].bytes));
    CHECK(ping.target == "n2");
    relay.Tick(net.now + 250ms);  // half a probe timeout: in time for the requester's period
    r = relay.TakeReady();
    bool nacked = false;
    for (auto& p : r.packets) {
      if (p.to == requester) nacked |= std::holds_alternative<Nack>(decode_one(p.bytes));
    }
    CHECK(nacked);
    // An ack after the nack but within the probe timeout is still forwarded.
    REQUIRE(relay.Step(net.now + 300ms, target, EncodePacket({Ack{ping.seq, "n2"}})).IsOk());
    r = relay.TakeReady();
    REQUIRE(r.packets.size() == 1);
    CHECK(std::get<Ack>(decode_one(r.packets[0].bytes)).seq == 42);
    net.now += 300ms;
    // Ack path: the target's ack is forwarded with the requester's sequence number.
    REQUIRE(relay.Step(net.now, requester, EncodePacket({PingReq{43, "n2", target, "n0"}})).IsOk());
    r = relay.TakeReady();
    REQUIRE(r.packets.size() == 1);
    const Ping ping2 = std::get<Ping>(decode_one(r.packets[0].bytes));
    REQUIRE(relay.Step(net.now, target, EncodePacket({Ack{ping2.seq, "n2"}})).IsOk());
    r = relay.TakeReady();
    REQUIRE(r.packets.size() == 1);
    CHECK(r.packets[0].to == requester);
    CHECK(std::get<Ack>(decode_one(r.packets[0].bytes)).seq == 43);
  }

  TEST_CASE("a relay whose ping is refused nacks at once and says so") {
    RelayFixture f;
    const MonoTime now = f.net.now;
    REQUIRE(f.relay.Step(now, f.requester, EncodePacket({PingReq{77, "n2", f.target, "n0"}})).IsOk());
    (void)f.relay.TakeReady();
    f.relay.Unreachable(now, NetAddress{"10.9.9.9", 1});  // someone else's refusal: no effect
    CHECK(f.relay.TakeReady().packets.empty());
    f.relay.Unreachable(now, f.target);
    Ready r = f.relay.TakeReady();
    REQUIRE(r.packets.size() == 1);
    CHECK(r.packets[0].to == f.requester);
    const Nack nack = std::get<Nack>(FirstMessage(r.packets[0].bytes));
    CHECK(nack.seq == 77);
    CHECK(nack.refused);
    // The nack is not sent a second time at half a probe timeout.
    f.relay.Tick(now + 300ms);
    for (const OutPacket& p : f.relay.TakeReady().packets)
      CHECK_FALSE(std::holds_alternative<Nack>(FirstMessage(p.bytes)));
  }

  TEST_CASE("a ping from a stranger is answered and triggers one push-pull with it") {
    TestNet net(2);
    const NetAddress stranger{"10.9.9.9", 7946};
    REQUIRE(net[0].Step(net.now, stranger, EncodePacket({Ping{5, "n0", "stranger"}})).IsOk());
    Ready r = net[0].TakeReady();
    REQUIRE(r.packets.size() == 1);
    CHECK(r.packets[0].to == stranger);
    REQUIRE(r.streams.size() == 1);
    CHECK(r.streams[0].to == stranger);
    CHECK(r.streams[0].kind == StreamKind::kPushPull);
    // Rate-limited: a second ping in the same probe interval triggers no second sync.
    REQUIRE(net[0].Step(net.now, stranger, EncodePacket({Ping{6, "n0", "stranger"}})).IsOk());
    CHECK(net[0].TakeReady().streams.empty());
    // A ping for another name is not answered at all.
    REQUIRE(net[0].Step(net.now, stranger, EncodePacket({Ping{7, "someone-else", "stranger"}})).IsOk());
    CHECK(net[0].TakeReady().packets.empty());
  }

  TEST_CASE("a graceful leave reaches everyone as left, not failed") {
    TestNet net(5);
    net.JoinAll();
    net.Advance(5s);
    net[2].Leave(net.now);
    CHECK(net[2].Self().incarnation == 1);
    net.Advance(3s);
    net.down.insert(net.Host(2));
    net.Advance(30s);
    for (size_t i : {0, 1, 3, 4}) {
      CHECK(net.StateAt(i, 2) == MemberState::kLeft);
      CHECK(net.Count(i, EventKind::kLeft, "n2") == 1);
      CHECK(net.Count(i, EventKind::kFailed, "n2") == 0);
    }
  }

  TEST_CASE("force-leave turns a failed member left everywhere; alive members and self are refused") {
    TestNet net(5);
    net.JoinAll();
    net.Advance(5s);
    CHECK(net[0].ForceLeave(net.now, "n3").Code() == StatusCode::kFailedPrecondition);  // alive
    CHECK(net[0].ForceLeave(net.now, "n0").Code() == StatusCode::kFailedPrecondition);  // self
    CHECK(net[0].ForceLeave(net.now, "nobody").Code() == StatusCode::kNotFound);
    CHECK(net.StateAt(1, 3) == MemberState::kAlive);
    net.down.insert(net.Host(3));
    for (int s = 0; s < 120 && net.StateAt(0, 3) != MemberState::kDead; ++s) net.Advance(1s);
    REQUIRE(net.StateAt(0, 3) == MemberState::kDead);
    REQUIRE(net[0].ForceLeave(net.now, "n3").IsOk());
    net.Advance(5s);
    for (size_t i : {0, 1, 2, 4}) {
      CHECK(net.StateAt(i, 3) == MemberState::kLeft);
      CHECK(net.Count(i, EventKind::kLeft, "n3") == 1);
    }
    CHECK(net[0].ForceLeave(net.now, "n3").IsOk());  // already left: nothing to do
  }

  TEST_CASE("after a partition heals, reconnect push-pulls bring everyone back alive") {
    TestNet net(6, [](SwimConfig& c) { c.reconnect_interval = 5s; });
    net.JoinAll();
    net.Advance(5s);
    for (size_t a : {0, 1, 2})
      for (size_t b : {3, 4, 5}) {
        for (auto* set : {&net.udp_blocked, &net.tcp_blocked}) {
          set->insert({net.Host(a), net.Host(b)});
          set->insert({net.Host(b), net.Host(a)});
        }
      }
    net.Advance(50s);
    CHECK(net.StateAt(0, 4) == MemberState::kDead);
    CHECK(net.StateAt(4, 0) == MemberState::kDead);
    net.udp_blocked.clear();
    net.tcp_blocked.clear();
    net.Advance(40s);
    for (size_t i = 0; i < 6; ++i) {
      CHECK(net[i].AliveCount() == 6);
      for (size_t j = 0; j < 6; ++j) CHECK(net.StateAt(i, j) == MemberState::kAlive);
    }
  }

  TEST_CASE("metadata changes spread with a new incarnation") {
    TestNet net(4);
    net.JoinAll();
    net.Advance(3s);
    CHECK(net[1].SetMetadata(net.now, Metadata{"server", "dc2", "10.0.0.2:8300", "v2", "10.0.0.2:8500"}).IsOk());
    net.Advance(5s);
    for (size_t i = 0; i < 4; ++i) CHECK(net[i].Find("n1")->meta.datacenter == "dc2");
  }

  TEST_CASE("every outgoing datagram fits the UDP payload limit even with a big backlog") {
    TestNet net(40);
    net.JoinAll();  // 40 alive updates queued at the seed at once, and each DeliverFrom checks sizes
    net.Advance(5s);
    for (size_t i = 0; i < 40; ++i) CHECK(net[i].AliveCount() == 40);
  }
}

}  // namespace cairn::gossip
