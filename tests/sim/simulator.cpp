// SimCore (event queue, hosts, trace) and the Simulator facade over it.
#include "tests/sim/simulator.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "tests/sim/sim_core.h"
#include "tests/sim/sim_host.h"
#include "tests/sim/sim_network.h"

namespace cairn::sim {
namespace internal {

uint64_t MixInto(uint64_t state, uint64_t value) {
  uint64_t s = (state * 0x9e3779b97f4a7c15ULL) ^ value;
  return SplitMix64(s);
}

uint64_t DigestBytes(std::string_view bytes) {
  uint64_t digest = MixInto(0x6a09e667f3bcc908ULL, bytes.size());
  size_t offset = 0;
  for (; offset + 8 <= bytes.size(); offset += 8) {
    uint64_t word = 0;
    std::memcpy(&word, bytes.data() + offset, 8);
    digest = MixInto(digest, word);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + offset, bytes.size() - offset);
  return MixInto(digest, tail);
}

SimCore::SimCore(uint64_t seed)
    : seed_(seed),
      master_(seed),
      test_random_(master_.Fork()),
      host_forks_(master_.Fork()),
      trace_(MixInto(0, seed)),
      life_(std::make_shared<const int>(0)) {
  network_ = std::make_unique<SimNetwork>(*this, master_.Next64());
}

SimCore::~SimCore() {
  // Order matters: handles see the expired token and stop calling in; the queue is emptied
  // before the callbacks it holds are destroyed, because destroying them may run destructors of
  // code under test that cancel timers or close streams.
  tearing_down_ = true;
  life_.reset();
  auto doomed = std::move(queue_);
  queue_.clear();
  doomed.clear();
  network_.reset();
}

HostEnv& SimCore::AddHost(const std::string& name) {
  CAIRN_ASSERT(!name.empty(), "a host needs a name");
  CAIRN_ASSERT(name != "127.0.0.1" && name != "localhost" && name != "0.0.0.0",
               "host name '" + name + "' is reserved for loopback or any-address");
  CAIRN_ASSERT(FindHost(name) < 0, "host '" + name + "' added twice");
  const int index = static_cast<int>(hosts_.size());
  hosts_.push_back(std::make_unique<HostEnv>(*this, index, name, host_forks_.Fork()));
  host_index_.emplace(name, index);
  network_->AddHost();
  return *hosts_.back();
}

int SimCore::FindHost(std::string_view name) const {
  const auto it = host_index_.find(name);
  return it == host_index_.end() ? -1 : it->second;
}

HostEnv& SimCore::HostAt(int index) {
  CAIRN_ASSERT(index >= 0 && index < HostCount(), "host index out of range");
  return *hosts_[index];
}

HostEnv& SimCore::HostNamed(std::string_view name) {
  const int index = FindHost(name);
  CAIRN_ASSERT(index >= 0, "unknown host '" + std::string(name) + "'");
  return *hosts_[index];
}

std::vector<std::string> SimCore::HostNames() const {
  std::vector<std::string> names;
  for (const auto& host : hosts_) names.push_back(host->Host());
  return names;
}

void SimCore::Crash(int index) {
  HostEnv& host = HostAt(index);
  if (!host.IsUp()) return;
  Mix(TraceKind::kCrash, index, host.Incarnation());
  host.OnCrash(disk_faults_.torn_write_probability);
  network_->CrashHost(index);
}

void SimCore::Restart(int index) {
  HostEnv& host = HostAt(index);
  if (host.IsUp()) return;
  Mix(TraceKind::kRestart, index, host.Incarnation());
  host.OnRestart();
}

EventKey SimCore::Schedule(MonoTime at, EventOwner owner, TraceKind kind, uint64_t digest, std::function<void()> fn) {
  const EventKey key{std::max(at, now_), TakeSeq()};
  ScheduleAs(key, owner, kind, digest, std::move(fn));
  return key;
}

void SimCore::ScheduleAs(EventKey key, EventOwner owner, TraceKind kind, uint64_t digest, std::function<void()> fn) {
  CAIRN_ASSERT(key.time >= now_, "an event scheduled in the past");
  CAIRN_ASSERT(key.seq < next_seq_, "an event sequence number not taken from TakeSeq");
  if (tearing_down_) return;
  const bool inserted = queue_.emplace(key, Event{owner, kind, digest, std::move(fn)}).second;
  CAIRN_ASSERT(inserted, "two events share a sequence number");
}

bool SimCore::Unschedule(const EventKey& key) { return queue_.erase(key) > 0; }

bool SimCore::IsStale(const Event& event) const {
  return event.owner.incarnation != 0 && hosts_[event.owner.host]->Incarnation() != event.owner.incarnation;
}

bool SimCore::SkipStaleHead() {
  while (!queue_.empty() && IsStale(queue_.begin()->second)) queue_.erase(queue_.begin());
  return !queue_.empty();
}

bool SimCore::RunOne() {
  if (!SkipStaleHead()) return false;
  auto node = queue_.extract(queue_.begin());
  CAIRN_ASSERT(node.key().time >= now_, "an event was scheduled in the past");
  now_ = node.key().time;
  Event& event = node.mapped();
  Mix(event.kind, event.owner.host, event.digest);
  ++events_run_;
  event.fn();
  return true;
}

void SimCore::RunUntil(MonoTime deadline) {
  while (SkipStaleHead() && queue_.begin()->first.time <= deadline) RunOne();
  now_ = std::max(now_, deadline);
}

bool SimCore::RunUntilTrue(const std::function<bool()>& done, Duration limit) {
  const MonoTime deadline = now_ + limit;
  if (done()) return true;
  while (SkipStaleHead() && queue_.begin()->first.time <= deadline) {
    RunOne();
    if (done()) return true;
  }
  now_ = std::max(now_, deadline);
  return done();
}

void SimCore::Mix(TraceKind kind, int host, uint64_t digest) {
  trace_ = MixInto(trace_, static_cast<uint64_t>(now_.time_since_epoch().count()));
  trace_ = MixInto(trace_, (static_cast<uint64_t>(host + 1) << 8) | static_cast<uint64_t>(kind));
  trace_ = MixInto(trace_, digest);
}

void SimCore::SetDiskFaults(const DiskFaults& faults) {
  CAIRN_ASSERT(faults.torn_write_probability >= 0.0 && faults.torn_write_probability <= 1.0,
               "torn_write_probability outside [0, 1]");
  disk_faults_ = faults;
}

}  // namespace internal

struct Simulator::Impl {
  explicit Impl(uint64_t seed) : core(seed) {}
  internal::SimCore core;
};

Simulator::Simulator(uint64_t seed) : impl_(std::make_unique<Impl>(seed)) {}
Simulator::~Simulator() = default;

uint64_t Simulator::Seed() const { return impl_->core.Seed(); }
Prng& Simulator::Random() { return impl_->core.TestRandom(); }

SimEnv& Simulator::AddNode(const std::string& host) { return impl_->core.AddHost(host); }
SimEnv& Simulator::Node(std::string_view host) { return impl_->core.HostNamed(host); }
std::vector<std::string> Simulator::Hosts() const { return impl_->core.HostNames(); }
void Simulator::Crash(std::string_view host) { impl_->core.Crash(impl_->core.HostNamed(host).Index()); }
void Simulator::Restart(std::string_view host) { impl_->core.Restart(impl_->core.HostNamed(host).Index()); }

MonoTime Simulator::Now() const { return impl_->core.Now(); }
bool Simulator::RunOne() { return impl_->core.RunOne(); }
void Simulator::RunUntil(MonoTime deadline) { impl_->core.RunUntil(deadline); }
void Simulator::RunFor(Duration duration) { impl_->core.RunUntil(impl_->core.Now() + duration); }
bool Simulator::RunUntilTrue(const std::function<bool()>& done, Duration limit) {
  return impl_->core.RunUntilTrue(done, limit);
}
uint64_t Simulator::EventsRun() const { return impl_->core.EventsRun(); }
size_t Simulator::PendingEvents() const { return impl_->core.PendingEvents(); }

void Simulator::SetDefaultLinkFaults(const LinkFaults& faults) { impl_->core.Network().SetDefaultFaults(faults); }

void Simulator::SetLinkFaults(std::string_view from, std::string_view to, const LinkFaults& faults) {
  auto& core = impl_->core;
  core.Network().SetFaults(core.HostNamed(from).Index(), core.HostNamed(to).Index(), faults);
}

void Simulator::BlockLink(std::string_view from, std::string_view to) {
  auto& core = impl_->core;
  core.Network().Block(core.HostNamed(from).Index(), core.HostNamed(to).Index());
}

void Simulator::UnblockLink(std::string_view from, std::string_view to) {
  auto& core = impl_->core;
  core.Network().Unblock(core.HostNamed(from).Index(), core.HostNamed(to).Index());
}

void Simulator::Partition(const std::vector<std::string>& side_a, const std::vector<std::string>& side_b) {
  for (const std::string& a : side_a) {
    for (const std::string& b : side_b) {
      BlockLink(a, b);
      BlockLink(b, a);
    }
  }
}

void Simulator::HealAll() { impl_->core.Network().UnblockAll(); }

bool Simulator::LinkBlocked(std::string_view from, std::string_view to) const {
  auto& core = impl_->core;
  return core.Network().Blocked(core.HostNamed(from).Index(), core.HostNamed(to).Index());
}

size_t Simulator::OpenTcpConnections() const { return impl_->core.Network().OpenConnections(); }

void Simulator::SetDiskFaults(const DiskFaults& faults) { impl_->core.SetDiskFaults(faults); }

std::optional<std::string> Simulator::DurableFileContents(std::string_view host, const std::string& path) const {
  return impl_->core.HostNamed(host).Disk().DurableContents(path);
}

uint64_t Simulator::TraceHash() const { return impl_->core.TraceHash(); }

std::string Simulator::ReproHint(std::string_view test_binary, std::string_view test_case) const {
  const std::string seed = std::to_string(Seed());
  return "seed=" + seed + "; rerun: CAIRN_SEED=" + seed + " " + std::string(test_binary) + " --test-case='" +
         std::string(test_case) + "'";
}

}  // namespace cairn::sim
