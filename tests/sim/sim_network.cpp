// Links, UDP and TCP listeners. TCP connections live in sim_tcp.cpp.
#include "tests/sim/sim_network.h"

#include <utility>

#include "common/limits.h"
#include "tests/sim/sim_host.h"

namespace cairn::sim::internal {
namespace {

// Loopback traffic never crosses a simulated link: no loss, a tiny fixed delay.
const LinkFaults kLoopbackFaults{0.0, 0.0, std::chrono::microseconds(10), std::chrono::microseconds(10)};

bool IsLoopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost"; }
bool IsAnyAddress(const std::string& host) { return host.empty() || host == "0.0.0.0"; }

class SimUdpSocket final : public UdpSocket {
 public:
  SimUdpSocket(SimCore& core, std::shared_ptr<UdpState> state)
      : life_(core.LifeToken()), core_(&core), state_(std::move(state)) {}
  ~SimUdpSocket() override {
    if (!life_.expired()) core_->Network().CloseUdp(state_);
  }
  Status SendTo(const NetAddress& to, std::string_view datagram) override {
    if (life_.expired() || !state_->open) return Status::Unavailable("udp socket is closed");
    return core_->Network().SendUdp(*state_, to, datagram);
  }
  NetAddress LocalAddress() const override { return state_->local; }
  void SetUnreachableHandler(UdpUnreachableFn on_unreachable) override {
    if (life_.expired() || !state_->open) return;
    state_->on_unreachable = std::make_shared<UdpUnreachableFn>(std::move(on_unreachable));
  }

 private:
  std::weak_ptr<const int> life_;
  SimCore* core_;
  std::shared_ptr<UdpState> state_;
};

class SimTcpListener final : public TcpListener {
 public:
  SimTcpListener(SimCore& core, std::shared_ptr<ListenerState> state)
      : life_(core.LifeToken()), core_(&core), state_(std::move(state)) {}
  ~SimTcpListener() override {
    if (!life_.expired()) core_->Network().CloseListener(state_);
  }
  NetAddress LocalAddress() const override { return state_->local; }

 private:
  std::weak_ptr<const int> life_;
  SimCore* core_;
  std::shared_ptr<ListenerState> state_;
};

}  // namespace

void CheckFaults(const LinkFaults& faults) {
  CAIRN_ASSERT(faults.drop_probability >= 0.0 && faults.drop_probability <= 1.0, "drop_probability outside [0, 1]");
  CAIRN_ASSERT(faults.duplicate_probability >= 0.0 && faults.duplicate_probability <= 1.0,
               "duplicate_probability outside [0, 1]");
  CAIRN_ASSERT(faults.delay_min >= Duration::zero(), "negative delay_min");
  CAIRN_ASSERT(faults.delay_min <= faults.delay_max, "delay_min > delay_max");
}

SimNetwork::SimNetwork(SimCore& core, uint64_t link_seed) : core_(core), link_seed_(link_seed) {}

void SimNetwork::AddHost() { hosts_.emplace_back(); }

SimNetwork::Link& SimNetwork::LinkFor(int from, int to) {
  const auto key = std::make_pair(from, to);
  auto it = links_.find(key);
  if (it == links_.end()) {
    const uint64_t seed = MixInto(MixInto(link_seed_, static_cast<uint64_t>(from)), static_cast<uint64_t>(to));
    it = links_.emplace(key, Link(Prng(seed))).first;
  }
  return it->second;
}

const LinkFaults& SimNetwork::FaultsOf(int from, int to, const Link& link) const {
  if (link.faults) return *link.faults;
  return from == to ? kLoopbackFaults : default_faults_;
}

Duration SimNetwork::DrawDelay(int from, int to) {
  Link& link = LinkFor(from, to);
  const LinkFaults& faults = FaultsOf(from, to, link);
  return Duration(link.random.Between(faults.delay_min.count(), faults.delay_max.count()));
}

void SimNetwork::SetDefaultFaults(const LinkFaults& faults) {
  CheckFaults(faults);
  default_faults_ = faults;
}

void SimNetwork::SetFaults(int from, int to, const LinkFaults& faults) {
  CheckFaults(faults);
  LinkFor(from, to).faults = faults;
}

void SimNetwork::Block(int from, int to) {
  Link& link = LinkFor(from, to);
  if (link.blocked) return;
  link.blocked = true;
  core_.Mix(TraceKind::kLinkChange, from, static_cast<uint64_t>(to) * 2 + 1);
  ResetStreamsBetween(from, to);
}

void SimNetwork::Unblock(int from, int to) {
  const auto it = links_.find(std::make_pair(from, to));
  if (it == links_.end() || !it->second.blocked) return;
  it->second.blocked = false;
  core_.Mix(TraceKind::kLinkChange, from, static_cast<uint64_t>(to) * 2);
}

void SimNetwork::UnblockAll() {
  for (auto& [key, link] : links_) {
    if (link.blocked) Unblock(key.first, key.second);
  }
}

bool SimNetwork::Blocked(int from, int to) const {
  const auto it = links_.find(std::make_pair(from, to));
  return it != links_.end() && it->second.blocked;
}

bool SimNetwork::TcpPathOpen(int a, int b) const { return !Blocked(a, b) && !Blocked(b, a); }

int SimNetwork::Resolve(int from, const std::string& host) const {
  if (IsLoopback(host)) return from;
  return core_.FindHost(host);
}

Result<NetAddress> SimNetwork::BindAddress(int host, const NetAddress& bind, bool tcp) {
  const std::string& name = core_.HostAt(host).Host();
  if (!IsAnyAddress(bind.host) && !IsLoopback(bind.host) && bind.host != name) {
    return Status::InvalidArgument("cannot bind " + bind.ToString() + " on host " + name);
  }
  uint16_t port = bind.port;
  if (port == 0) port = EphemeralPort(host, tcp);
  const HostTables& tables = hosts_[host];
  const bool in_use = tcp ? tables.listeners.contains(port) : tables.udp.contains(port);
  if (in_use) return Status::IoError("address in use: " + name + ":" + std::to_string(port));
  return NetAddress{name, port};
}

uint16_t SimNetwork::EphemeralPort(int host, bool tcp) {
  HostTables& tables = hosts_[host];
  for (int tries = 0; tries <= 65535 - kEphemeralPortFirst; ++tries) {
    const uint16_t port = tables.next_ephemeral_port;
    tables.next_ephemeral_port = port == 65535 ? kEphemeralPortFirst : static_cast<uint16_t>(port + 1);
    const bool in_use = tcp ? tables.listeners.contains(port) : tables.udp.contains(port);
    if (!in_use) return port;
  }
  CAIRN_UNREACHABLE("every ephemeral port is in use");
}

Result<std::unique_ptr<UdpSocket>> SimNetwork::OpenUdp(int host, const NetAddress& bind, UdpReceiveFn on_receive) {
  CAIRN_ASSIGN_OR_RETURN(NetAddress local, BindAddress(host, bind, /*tcp=*/false));
  auto state = std::make_shared<UdpState>();
  state->host = host;
  state->local = local;
  state->on_receive = std::make_shared<UdpReceiveFn>(std::move(on_receive));
  hosts_[host].udp[local.port] = state;
  return std::unique_ptr<UdpSocket>(std::make_unique<SimUdpSocket>(core_, std::move(state)));
}

void SimNetwork::CloseUdp(const std::shared_ptr<UdpState>& socket) {
  if (!socket->open) return;
  socket->open = false;
  socket->on_receive.reset();
  socket->on_unreachable.reset();
  auto& table = hosts_[socket->host].udp;
  const auto it = table.find(socket->local.port);
  if (it != table.end() && it->second == socket) table.erase(it);
}

Status SimNetwork::SendUdp(const UdpState& socket, const NetAddress& to, std::string_view datagram) {
  if (datagram.size() > limits::kUdpDatagramBytesMax) {
    return Status::InvalidArgument("datagram of " + std::to_string(datagram.size()) +
                                   " bytes exceeds limits::kUdpDatagramBytesMax");
  }
  const int from = socket.host;
  const int dest = Resolve(from, to.host);
  if (dest < 0) return OkStatus();  // nobody there: lost, as on a real network
  Link& link = LinkFor(from, dest);
  if (link.blocked) return OkStatus();
  const LinkFaults& faults = FaultsOf(from, dest, link);
  if (link.random.Chance(faults.drop_probability)) return OkStatus();
  const int copies = link.random.Chance(faults.duplicate_probability) ? 2 : 1;
  auto payload = std::make_shared<const std::string>(datagram);
  const uint64_t digest = DigestBytes(datagram) ^ (static_cast<uint64_t>(to.port) << 48);
  for (int copy = 0; copy < copies; ++copy) {
    const Duration delay = DrawDelay(from, dest);
    core_.Schedule(
        core_.Now() + delay, EventOwner{dest, 0}, TraceKind::kUdpDelivery, digest,
        [this, dest, port = to.port, source = socket.local, payload] { DeliverUdp(dest, port, source, payload); });
  }
  return OkStatus();
}

void SimNetwork::DeliverUdp(int to, uint16_t port, const NetAddress& from,
                            const std::shared_ptr<const std::string>& datagram) {
  if (!core_.HostAt(to).IsUp()) return;
  // A partition that began while the datagram was in flight still stops it.
  const int source = core_.FindHost(from.host);
  if (source >= 0 && Blocked(source, to)) return;
  const auto& table = hosts_[to].udp;
  const auto it = table.find(port);
  if (it == table.end()) {
    if (source >= 0) RefuseUdp(to, port, source, from.port);
    return;
  }
  const std::shared_ptr<UdpReceiveFn> on_receive = it->second->on_receive;
  (*on_receive)(from, *datagram);
}

void SimNetwork::RefuseUdp(int to, uint16_t port, int source, uint16_t source_port) {
  const auto sender = hosts_[source].udp.find(source_port);
  // Only a sender that asked to hear refusals gets one, so that traffic of the others draws
  // exactly the random numbers it always did.
  if (sender == hosts_[source].udp.end() || !sender->second->on_unreachable) return;
  Link& link = LinkFor(to, source);
  if (link.blocked || link.random.Chance(FaultsOf(to, source, link).drop_probability)) return;
  const NetAddress refused{core_.HostAt(to).Host(), port};
  std::weak_ptr<UdpState> target = sender->second;
  core_.Schedule(core_.Now() + DrawDelay(to, source), EventOwner{source, 0}, TraceKind::kUdpDelivery,
                 DigestBytes(refused.ToString()), [this, source, target, refused] {
                   const std::shared_ptr<UdpState> socket = target.lock();
                   if (!socket || !socket->open || !socket->on_unreachable) return;
                   if (!core_.HostAt(source).IsUp()) return;
                   const auto handler = socket->on_unreachable;
                   (*handler)(refused);
                 });
}

Result<std::unique_ptr<TcpListener>> SimNetwork::ListenTcp(int host, const NetAddress& bind, TcpAcceptFn on_accept) {
  CAIRN_ASSIGN_OR_RETURN(NetAddress local, BindAddress(host, bind, /*tcp=*/true));
  auto state = std::make_shared<ListenerState>();
  state->host = host;
  state->local = local;
  state->on_accept = std::make_shared<TcpAcceptFn>(std::move(on_accept));
  hosts_[host].listeners[local.port] = state;
  return std::unique_ptr<TcpListener>(std::make_unique<SimTcpListener>(core_, std::move(state)));
}

void SimNetwork::CloseListener(const std::shared_ptr<ListenerState>& listener) {
  if (!listener->open) return;
  listener->open = false;
  listener->on_accept.reset();
  auto& table = hosts_[listener->host].listeners;
  const auto it = table.find(listener->local.port);
  if (it != table.end() && it->second == listener) table.erase(it);
}

void SimNetwork::CrashHost(int host) {
  HostTables& tables = hosts_[host];
  for (auto& [port, socket] : tables.udp) {
    socket->open = false;
    socket->on_receive.reset();
    socket->on_unreachable.reset();
  }
  for (auto& [port, listener] : tables.listeners) {
    listener->open = false;
    listener->on_accept.reset();
  }
  tables.udp.clear();
  tables.listeners.clear();
  // Copy: Reset and ForgetIfFinished edit the registry.
  const auto connections = connections_;
  for (const auto& [id, conn] : connections) {
    bool touched = false;
    for (TcpSide& side : conn->sides) {
      if (side.host != host) continue;
      touched = true;
      side.state = SideState::kDead;
      side.handlers.reset();
      side.inbox.clear();
      side.pending_close.reset();
    }
    if (touched) {
      Reset(conn);
      ForgetIfFinished(conn);
    }
  }
}

}  // namespace cairn::sim::internal
