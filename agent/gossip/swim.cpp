#include "agent/gossip/swim.h"

#include <algorithm>
#include <cmath>

#include "common/limits.h"

namespace cairn::gossip {
namespace {

// Room for the header and a varint count of up to kMessagesPerPacketMax.
constexpr size_t kPacketOverheadBytesMax = kPacketHeaderBytes + 2;
// A datagram must hold the largest alive update (name, address and metadata at their limits,
// about 730 bytes) with its packet overhead, or that update could never be sent.
constexpr size_t kUdpPacketBytesMin = 1024;
// Random draws per wanted member before giving up (members may be dead or already drawn).
constexpr size_t kRandomDrawsPerPick = 4;

}  // namespace

Status ValidateConfig(const SwimConfig& c) {
  CAIRN_RETURN_IF_ERROR(ValidateNodeName(c.name));
  CAIRN_RETURN_IF_ERROR(ValidateMetadata(c.meta));
  if (c.address.host.empty() || c.address.host.size() > kHostBytesMax) {
    return Status::InvalidArgument("gossip address host must be 1.." + std::to_string(kHostBytesMax) + " bytes");
  }
  if (c.probe_interval <= Duration::zero() || c.probe_timeout <= Duration::zero() ||
      c.probe_timeout > c.probe_interval) {
    return Status::InvalidArgument("need 0 < probe_timeout <= probe_interval");
  }
  if (c.gossip_interval <= Duration::zero() || c.push_pull_interval <= Duration::zero() ||
      c.reconnect_interval <= Duration::zero()) {
    return Status::InvalidArgument("gossip, push-pull and reconnect intervals must be positive");
  }
  if (c.indirect_checks > kIndirectChecksMax) {
    return Status::InvalidArgument("indirect_checks over kIndirectChecksMax (" + std::to_string(kIndirectChecksMax) +
                                   ")");
  }
  if (c.awareness_max == 0 || c.awareness_max > kAwarenessMax) {
    return Status::InvalidArgument("awareness_max must be 1.." + std::to_string(kAwarenessMax));
  }
  if (c.retransmit_mult == 0 || c.suspicion_mult == 0 || c.suspicion_max_timeout_mult == 0) {
    return Status::InvalidArgument("retransmit and suspicion multipliers must be positive");
  }
  // A refused suspicion is the short one; longer than Lifeguard's floor it would mean nothing.
  if (c.refused_suspicion_mult > c.suspicion_mult) {
    return Status::InvalidArgument("refused_suspicion_mult must be 0..suspicion_mult (" +
                                   std::to_string(c.suspicion_mult) + ")");
  }
  if (c.udp_packet_bytes_max < kUdpPacketBytesMin || c.udp_packet_bytes_max > limits::kUdpDatagramBytesMax) {
    return Status::InvalidArgument("udp_packet_bytes_max out of range");
  }
  return OkStatus();
}

Duration PushPullInterval(Duration base, size_t members) {
  constexpr size_t kScaleThreshold = 32;
  if (members <= kScaleThreshold) return base;
  const double doublings = std::ceil(std::log2(static_cast<double>(members)) - std::log2(double{kScaleThreshold}));
  return base * static_cast<int64_t>(doublings + 1);
}

Result<std::unique_ptr<Swim>> Swim::Create(const SwimConfig& config, MonoTime now) {
  CAIRN_RETURN_IF_ERROR(ValidateConfig(config));
  return std::unique_ptr<Swim>(new Swim(config, now));
}

Swim::Swim(const SwimConfig& config, MonoTime now)
    : config_(config), random_(config.seed), now_(now), broadcasts_(kBroadcastsQueuedMax) {
  Member self;
  self.name = config_.name;
  self.address = config_.address;
  self.meta = config_.meta;
  self.state_changed = now;
  members_.push_back(self);
  index_.emplace(self.name, 0);
  Broadcast(self.name, Alive{self.name, self.incarnation, self.address, self.meta});
  // Random phases keep a cluster started at once from probing and gossiping in lockstep.
  auto jitter = [&](Duration d) { return Duration(static_cast<int64_t>(random_.Below(d.count()))); };
  next_probe_at_ = now + jitter(config_.probe_interval);
  next_gossip_at_ = now + jitter(config_.gossip_interval);
  next_push_pull_at_ = now + config_.push_pull_interval + jitter(config_.push_pull_interval);
  next_reconnect_at_ = now + config_.reconnect_interval + jitter(config_.reconnect_interval);
  next_reap_at_ = now + config_.probe_interval;
}

Ready Swim::TakeReady() {
  Ready out = std::move(ready_);
  ready_ = Ready{};
  return out;
}

const Member* Swim::Find(std::string_view name) const {
  auto i = IndexOf(name);
  return i ? &members_[*i] : nullptr;
}

std::optional<size_t> Swim::IndexOf(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

Status Swim::Step(MonoTime now, const NetAddress& from, std::string_view packet) {
  now_ = std::max(now_, now);
  auto decoded = DecodePacket(packet);
  if (!decoded.IsOk()) {
    ++stats_.packets_rejected;
    return decoded.GetStatus().WithContext("gossip packet from " + from.ToString());
  }
  ++stats_.packets_received;
  stats_.bytes_received += packet.size();
  for (Message& m : decoded.Value()) Dispatch(from, m);
  return OkStatus();
}

Result<std::string> Swim::HandleStream(MonoTime now, const NetAddress& from, std::string_view packet) {
  now_ = std::max(now_, now);
  auto decoded = DecodePacket(packet);
  if (!decoded.IsOk()) {
    ++stats_.packets_rejected;
    return decoded.GetStatus().WithContext("gossip stream from " + from.ToString());
  }
  const std::vector<Message>& messages = decoded.Value();
  if (messages.size() != 1) return Status::InvalidArgument("gossip stream request must hold one message");
  if (const auto* ping = std::get_if<Ping>(&messages[0])) {
    if (ping->target != config_.name) return Status::InvalidArgument("stream ping for " + ping->target);
    return EncodePacket({Ack{ping->seq, config_.name}});
  }
  if (const auto* pp = std::get_if<PushPull>(&messages[0])) {
    // The reply is taken before merging so that it reflects what this node knew, which is what
    // lets the requester refute anything this node held against it.
    std::string reply = EncodePacket({LocalState(false)});
    MergeState(*pp);
    return reply;
  }
  return Status::InvalidArgument("gossip stream request of type " + std::string(MessageTypeName(TypeOf(messages[0]))));
}

void Swim::Dispatch(const NetAddress& from, Message& m) {
  std::visit(
      [&](auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, Ping>) OnPing(from, msg);
        if constexpr (std::is_same_v<T, Ack>) OnAck(msg);
        if constexpr (std::is_same_v<T, Nack>) OnNack(msg);
        if constexpr (std::is_same_v<T, PingReq>) OnPingReq(from, msg);
        if constexpr (std::is_same_v<T, Alive>) OnAlive(msg);
        if constexpr (std::is_same_v<T, Suspect>) OnSuspect(msg);
        if constexpr (std::is_same_v<T, Dead>) OnDead(msg);
        if constexpr (std::is_same_v<T, gossip::Leave>) OnLeave(msg);
        if constexpr (std::is_same_v<T, PushPull>) MergeState(msg);
      },
      m);
}

void Swim::OnPing(const NetAddress& from, const Ping& m) {
  // A ping meant for a previous owner of this address must not vouch for us.
  if (m.target != config_.name) return;
  SendWithPiggyback(from, Ack{m.seq, config_.name});
  // A probe from a stranger means gossip missed an update between us; a push-pull repairs it
  // now instead of at the next periodic sync. Rate-limited: one per probe interval.
  if (!leaving_ && !IndexOf(m.source) && now_ >= next_stranger_sync_at_) {
    next_stranger_sync_at_ = now_ + config_.probe_interval;
    ready_.streams.push_back(StreamRequest{StreamKind::kPushPull, from, EncodePacket({LocalState(false)})});
  }
}

void Swim::OnAck(const Ack& m) {
  if (probe_.active && m.seq == probe_.seq) {
    if (!probe_.indirect_sent) probe_.direct_ack = true;
    probe_.acked = true;
    return;
  }
  auto relay = relays_.find(m.seq);
  if (relay == relays_.end()) return;
  SendWithPiggyback(relay->second.origin, Ack{relay->second.origin_seq, config_.name});
  relays_.erase(relay);
}

void Swim::OnNack(const Nack& m) {
  if (!probe_.active || m.seq != probe_.seq) return;
  ++probe_.nacks;
  if (m.refused) ++probe_.refused_nacks;  // counts only with our own refusal (RefusalConfirmed)
  FinishRefusedProbe();
}

void Swim::OnPingReq(const NetAddress& from, const PingReq& m) {
  if (relays_.size() >= kRelaysMax || leaving_) return;
  const uint32_t seq = next_seq_++;
  relays_.emplace(
      seq, Relay{from, m.seq, m.target_address, now_ + config_.probe_timeout / 2, now_ + config_.probe_timeout, false});
  SendWithPiggyback(m.target_address, Ping{seq, m.target, config_.name});
}

void Swim::SendWithPiggyback(const NetAddress& to, const Message& primary) {
  const std::string first = EncodeMessage(primary);
  const size_t budget = config_.udp_packet_bytes_max - kPacketOverheadBytesMax;
  CAIRN_ASSERT(first.size() <= budget, "a probe message always fits a datagram");
  std::vector<std::string> extra = broadcasts_.Take(budget - first.size(), 0, kMessagesPerPacketMax - 1,
                                                    RetransmitLimit(config_.retransmit_mult, live_count_));
  std::vector<std::string_view> parts{first};
  for (const std::string& e : extra) parts.push_back(e);
  std::string bytes = EncodePacketFromEncoded(parts);
  ++stats_.packets_sent;
  stats_.bytes_sent += bytes.size();
  ready_.packets.push_back(OutPacket{to, std::move(bytes)});
}

void Swim::Tick(MonoTime now) {
  now_ = std::max(now_, now);
  if (now_ >= next_probe_at_) {
    FinishProbe();
    if (!leaving_) StartProbe();
    next_probe_at_ = now_ + ScaledProbeInterval();
  }
  if (probe_.active && !probe_.acked && !probe_.indirect_sent && now_ >= probe_.timeout_at) SendIndirectProbes();
  ExpireRelays();
  ExpireSuspicions();
  if (now_ >= next_gossip_at_) {
    Gossip();
    next_gossip_at_ = now_ + config_.gossip_interval;
  }
  if (now_ >= next_push_pull_at_) {
    PeriodicPushPull();
    next_push_pull_at_ = now_ + PushPullInterval(config_.push_pull_interval, live_count_);
  }
  if (now_ >= next_reap_at_) {
    ReapAndReconnect();
    next_reap_at_ = now_ + config_.probe_interval;
  }
}

void Swim::Unreachable(MonoTime now, const NetAddress& to) {
  now_ = std::max(now_, now);
  ++stats_.refusals_heard;
  if (config_.refused_suspicion_mult == 0) return;
  // As a relay: the requester hears of the refusal now, not at half a probe timeout.
  for (auto& [seq, relay] : relays_) {
    if (relay.nacked || relay.target_address != to) continue;
    relay.nacked = true;
    SendWithPiggyback(relay.origin, Nack{relay.origin_seq, /*refused=*/true});
  }
  if (!probe_.active || probe_.acked || probe_.address != to) return;
  probe_.refused = true;
  // No ack can come from a closed port, so the relays need not wait out the probe timeout.
  if (!probe_.indirect_sent) SendIndirectProbes();
  FinishRefusedProbe();
}

void Swim::FinishRefusedProbe() {
  if (probe_.active && !probe_.acked && probe_.RefusalConfirmed()) FinishProbe();
}

void Swim::StartProbe() {
  // Round-robin over a freshly shuffled list: every member is probed once per round, so a
  // failure is found within one round at worst, not just in expectation.
  for (size_t attempts = 0; attempts <= probe_order_.size(); ++attempts) {
    if (probe_position_ >= probe_order_.size()) {
      probe_order_.clear();
      for (size_t i = 1; i < members_.size(); ++i) probe_order_.push_back(members_[i].name);
      for (size_t i = probe_order_.size(); i > 1; --i) std::swap(probe_order_[i - 1], probe_order_[random_.Below(i)]);
      probe_position_ = 0;
      if (probe_order_.empty()) return;
    }
    auto index = IndexOf(probe_order_[probe_position_++]);
    if (!index) continue;
    const Member& target = members_[*index];
    if (target.state == MemberState::kDead || target.state == MemberState::kLeft) continue;
    probe_ = Probe{};
    probe_.active = true;
    probe_.seq = next_seq_++;
    probe_.target = target.name;
    probe_.address = target.address;
    probe_.timeout_at = now_ + ScaledProbeTimeout();
    ++stats_.probes;
    SendWithPiggyback(target.address, Ping{probe_.seq, target.name, config_.name});
    return;
  }
}

void Swim::SendIndirectProbes() {
  probe_.indirect_sent = true;
  const std::vector<size_t> relays = RandomMembers(config_.indirect_checks, probe_.target, false);
  for (size_t i : relays) {
    if (members_[i].state != MemberState::kAlive) continue;
    ++probe_.expected_nacks;
    SendWithPiggyback(members_[i].address, PingReq{probe_.seq, probe_.target, probe_.address, config_.name});
  }
  if (config_.tcp_fallback_probe) {
    ready_.streams.push_back(StreamRequest{StreamKind::kProbe, probe_.address,
                                           EncodePacket({Ping{probe_.seq, probe_.target, config_.name}})});
  }
}

void Swim::FinishProbe() {
  if (!probe_.active) return;
  probe_.active = false;
  if (probe_.acked) {
    if (probe_.direct_ack) ApplyAwareness(-1);
    return;
  }
  ++stats_.probes_failed;
  // Relays that answered with nacks prove our network works, so the blame for silence falls
  // on the target; missing nacks suggest the fault may be ours. A confirmed refusal already
  // proves both, and the other relays' nacks were simply not waited for.
  const bool refused = probe_.RefusalConfirmed();
  if (!refused) {
    ApplyAwareness(probe_.expected_nacks > 0
                       ? static_cast<int>(probe_.expected_nacks - std::min(probe_.nacks, probe_.expected_nacks))
                       : 1);
  }
  auto index = IndexOf(probe_.target);
  if (!index) return;
  const Member& target = members_[*index];
  if (target.state == MemberState::kDead || target.state == MemberState::kLeft) return;
  if (refused) ++stats_.refused_suspicions;
  OnSuspect(Suspect{target.name, target.incarnation, config_.name, refused});
}

void Swim::ExpireRelays() {
  for (auto it = relays_.begin(); it != relays_.end();) {
    Relay& relay = it->second;
    if (!relay.nacked && now_ >= relay.nack_at) {
      relay.nacked = true;
      SendWithPiggyback(relay.origin, Nack{relay.origin_seq});
    }
    it = now_ >= relay.expire_at ? relays_.erase(it) : std::next(it);
  }
}

void Swim::ApplyAwareness(int delta) {
  const int64_t next = std::clamp<int64_t>(int64_t{awareness_} + delta, 0, int64_t{config_.awareness_max} - 1);
  awareness_ = static_cast<uint32_t>(next);
}

std::vector<size_t> Swim::RandomMembers(size_t count, const std::string& exclude, bool include_recent_dead) {
  std::vector<size_t> out;
  if (members_.size() <= 1) return out;
  // Bounded random draws instead of a scan: O(count) even in a large cluster.
  for (size_t attempt = 0; attempt < count * kRandomDrawsPerPick && out.size() < count; ++attempt) {
    const size_t i = 1 + random_.Below(members_.size() - 1);
    const Member& m = members_[i];
    if (m.name == exclude || std::find(out.begin(), out.end(), i) != out.end()) continue;
    const bool live = m.state == MemberState::kAlive || m.state == MemberState::kSuspect;
    const bool recent_dead = m.state == MemberState::kDead && now_ - m.state_changed < config_.gossip_to_dead;
    if (live || (include_recent_dead && recent_dead)) out.push_back(i);
  }
  return out;
}

void Swim::Gossip() {
  if (broadcasts_.Empty()) return;
  const std::vector<size_t> targets = RandomMembers(config_.gossip_nodes, config_.name, true);
  const size_t budget = config_.udp_packet_bytes_max - kPacketOverheadBytesMax;
  for (size_t i : targets) {
    std::vector<std::string> parts =
        broadcasts_.Take(budget, 0, kMessagesPerPacketMax, RetransmitLimit(config_.retransmit_mult, live_count_));
    if (parts.empty()) return;
    std::string bytes = EncodePacketFromEncoded(std::vector<std::string_view>(parts.begin(), parts.end()));
    ++stats_.packets_sent;
    stats_.bytes_sent += bytes.size();
    ready_.packets.push_back(OutPacket{members_[i].address, std::move(bytes)});
  }
}

}  // namespace cairn::gossip
