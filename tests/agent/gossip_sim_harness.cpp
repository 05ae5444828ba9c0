#include "tests/agent/gossip_sim_harness.h"

#include <doctest/doctest.h>

namespace cairn::gossip::simtest {
namespace {

std::string HostName(size_t i) { return "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1); }
constexpr uint16_t kPort = 7946;

}  // namespace

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// An Env whose loop runs late: each timer fires, and each datagram is handled, up to
// `delay_max` after it should. Everything else passes straight through.
class Cluster::SlowEnv : public Env {
 public:
  SlowEnv(Env& inner, uint64_t seed, Duration delay_max) : inner_(inner), random_(seed), delay_max_(delay_max) {}

  MonoTime Now() override { return inner_.Now(); }
  int64_t WallMillis() override { return inner_.WallMillis(); }
  TimerId StartTimer(Duration delay, std::function<void()> fn) override {
    return inner_.StartTimer(delay + Lag(), std::move(fn));
  }
  bool CancelTimer(TimerId id) override { return inner_.CancelTimer(id); }
  uint64_t RandomSeed() override { return inner_.RandomSeed(); }
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p) override {
    return inner_.NewWritableFile(p);
  }
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& p) override {
    return inner_.NewAppendableFile(p);
  }
  Result<std::string> ReadFile(const std::string& p) override { return inner_.ReadFile(p); }
  Status RenameFile(const std::string& a, const std::string& b) override { return inner_.RenameFile(a, b); }
  Status RemoveFile(const std::string& p) override { return inner_.RemoveFile(p); }
  Status CreateDir(const std::string& p) override { return inner_.CreateDir(p); }
  Status SyncDir(const std::string& p) override { return inner_.SyncDir(p); }
  Result<std::vector<std::string>> ListDir(const std::string& p) override { return inner_.ListDir(p); }
  bool FileExists(const std::string& p) override { return inner_.FileExists(p); }
  Result<std::unique_ptr<UdpSocket>> OpenUdp(const NetAddress& bind, UdpReceiveFn on_receive) override {
    if (delay_max_ == Duration::zero()) return inner_.OpenUdp(bind, std::move(on_receive));
    auto shared = std::make_shared<UdpReceiveFn>(std::move(on_receive));
    return inner_.OpenUdp(bind, [this, shared](const NetAddress& from, std::string_view d) {
      inner_.StartTimer(Lag(), [shared, from, data = std::string(d)] { (*shared)(from, data); });
    });
  }
  Result<std::unique_ptr<TcpListener>> ListenTcp(const NetAddress& bind, TcpAcceptFn fn) override {
    return inner_.ListenTcp(bind, std::move(fn));
  }
  void ConnectTcp(const NetAddress& to, TcpConnectFn fn) override { inner_.ConnectTcp(to, std::move(fn)); }
  Status Post(std::function<void()> fn) override { return inner_.Post(std::move(fn)); }

 private:
  Duration Lag() {
    if (delay_max_ == Duration::zero()) return Duration::zero();
    return Duration(static_cast<int64_t>(random_.Below(static_cast<uint64_t>(delay_max_.count()) + 1)));
  }
  Env& inner_;
  Prng random_;
  Duration delay_max_;
};

Cluster::Cluster(uint64_t seed, const ClusterOptions& options) : sim_(seed), options_(options) {
  sim::LinkFaults faults;
  faults.drop_probability = options.drop_probability;
  faults.delay_min = options.delay_min;
  faults.delay_max = options.delay_max;
  sim_.SetDefaultLinkFaults(faults);
  for (size_t i = 0; i < options.members; ++i) {
    sim::SimEnv& env = sim_.AddNode(HostName(i));
    const Duration lag = options.slow.count(i) ? options.slow_delay_max : Duration::zero();
    slow_envs_.push_back(std::make_unique<SlowEnv>(env, sim_.Random().Next64(), lag));
    hosts_.push_back(StartHost(i));
  }
}

std::unique_ptr<GossipHost> Cluster::StartHost(size_t i) {
  GossipHostConfig config = options_.host;
  config.swim.name = Name(i);
  config.swim.address = NetAddress{HostName(i), kPort};
  config.swim.seed = sim_.Random().Next64();
  auto host = GossipHost::Start(*slow_envs_[i], config, [this, i](const MemberEvent& e) { OnEvent(i, e); });
  REQUIRE_MESSAGE(host.IsOk(), host.GetStatus().ToString());
  return std::move(host.Value());
}

void Cluster::Restart(size_t i) {
  CAIRN_ASSERT(hosts_[i] == nullptr, "restart of a member that is up");
  sim_.Restart(HostName(i));
  crashed_.erase(Name(i));
  hosts_[i] = StartHost(i);
  CHECK(hosts_[i]->Join({NetAddress{HostName(0), kPort}}).IsOk());
}

Cluster::~Cluster() { hosts_.clear(); }

void Cluster::OnEvent(size_t observer, const MemberEvent& e) {
  // Joins and updates are a million events in a 1,000-member join; nothing measures them.
  if (e.kind == EventKind::kJoin || e.kind == EventKind::kUpdate) return;
  Seen& s = seen_[{e.kind, e.member.name}];
  (void)observer;
  if (s.reports == 0) s.first = sim_.Now();
  s.last = sim_.Now();
  ++s.reports;
  if (e.kind == EventKind::kSuspect) ++suspect_events_;
  if (e.kind == EventKind::kFailed && !crashed_.count(e.member.name)) {
    ++false_failures_;
    falsely_failed_.insert(e.member.name);
  }
}

void Cluster::JoinAll() {
  const std::vector<NetAddress> seeds{NetAddress{HostName(0), kPort}};
  for (size_t i = 1; i < hosts_.size(); ++i) {
    const Duration at(
        static_cast<int64_t>(sim_.Random().Below(static_cast<uint64_t>(options_.join_spread.count()) + 1)));
    sim_.Node(HostName(i)).StartTimer(at, [this, i, seeds] {
      if (hosts_[i]) CHECK(hosts_[i]->Join(seeds).IsOk());
    });
  }
}

bool Cluster::Converged() const {
  const size_t up = hosts_.size() - crashed_.size();
  for (const auto& h : hosts_) {
    if (h && h->Core().AliveCount() != up) return false;
  }
  for (const std::string& name : crashed_) {
    if (CountSeeing(name, MemberState::kAlive) + CountSeeing(name, MemberState::kSuspect) > 0) return false;
  }
  return true;
}

std::optional<Duration> Cluster::RunUntilConverged(Duration limit) {
  const MonoTime start = sim_.Now();
  const Duration step = std::chrono::milliseconds(100);
  while (sim_.Now() - start < limit) {
    if (Converged()) return sim_.Now() - start;
    sim_.RunFor(step);
  }
  if (Converged()) return sim_.Now() - start;
  return std::nullopt;
}

void Cluster::Crash(size_t i) {
  Kill(i);
  sim_.Crash(HostName(i));
}

void Cluster::Kill(size_t i) {
  const Swim& core = hosts_[i]->Core();
  crashed_traffic_.packets += core.Stats().packets_sent;
  crashed_traffic_.bytes += core.Stats().bytes_sent;
  crashed_traffic_.tcp_bytes += hosts_[i]->Stats().tcp_bytes_sent;
  crashed_.insert(Name(i));
  hosts_[i].reset();  // closes its sockets: the port is free, as after the process exits
}

void Cluster::Partition(const std::vector<size_t>& a, const std::vector<size_t>& b) {
  std::vector<std::string> ha, hb;
  for (size_t i : a) ha.push_back(HostName(i));
  for (size_t i : b) hb.push_back(HostName(i));
  sim_.Partition(ha, hb);
}

void Cluster::Heal() { sim_.HealAll(); }

std::optional<MonoTime> Cluster::FirstEvent(EventKind kind, const std::string& name) const {
  auto it = seen_.find({kind, name});
  if (it == seen_.end()) return std::nullopt;
  return it->second.first;
}

MonoTime Cluster::LastEvent(EventKind kind, const std::string& name) const {
  auto it = seen_.find({kind, name});
  return it == seen_.end() ? MonoTime{} : it->second.last;
}

size_t Cluster::Reporters(EventKind kind, const std::string& name) const {
  auto it = seen_.find({kind, name});
  return it == seen_.end() ? 0 : it->second.reports;
}

size_t Cluster::CountSeeing(const std::string& name, MemberState state) const {
  size_t n = 0;
  for (const auto& h : hosts_) {
    if (!h) continue;
    const Member* m = h->Core().Find(name);
    if (m != nullptr && m->state == state) ++n;
  }
  return n;
}

Cluster::Traffic Cluster::TotalTraffic() const {
  Traffic t = crashed_traffic_;
  for (const auto& h : hosts_) {
    if (!h) continue;
    t.packets += h->Core().Stats().packets_sent;
    t.bytes += h->Core().Stats().bytes_sent;
    t.tcp_bytes += h->Stats().tcp_bytes_sent;
  }
  return t;
}

std::string Cluster::Repro(const char* suite) const {
  return "seed=" + std::to_string(sim_.Seed()) + "; rerun: CAIRN_SEED=" + std::to_string(sim_.Seed()) + " " +
         kGossipTestBinary + " --test-suite=" + suite;
}

}  // namespace cairn::gossip::simtest
