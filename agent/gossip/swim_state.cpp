// Membership updates: how alive, suspect, dead and leave claims change the member table, and
// the periodic work that keeps the table whole (suspicion expiry, reaping, push-pull, reconnect).
#include <algorithm>

#include "agent/gossip/swim.h"

namespace cairn::gossip {

void Swim::SetState(size_t index, MemberState state) {
  Member& m = members_[index];
  const auto live = [](MemberState s) { return s == MemberState::kAlive || s == MemberState::kSuspect; };
  if (live(m.state) && !live(state)) --live_count_;
  if (!live(m.state) && live(state)) ++live_count_;
  if (index != 0) {
    if (live(state)) {
      gone_.erase(m.name);
    } else {
      gone_.insert(m.name);
    }
  }
  m.state = state;
  m.state_changed = now_;
}

void Swim::Broadcast(const std::string& key, const Message& m) { broadcasts_.Queue(key, EncodeMessage(m)); }

void Swim::Emit(EventKind kind, size_t index) { ready_.events.push_back(MemberEvent{kind, members_[index]}); }

uint32_t Swim::ExpectedConfirmations() const {
  // Only members other than the suspect and the accuser can confirm.
  const int64_t wanted = int64_t{config_.suspicion_mult} - 2;
  const int64_t possible = static_cast<int64_t>(live_count_) - 2;
  return static_cast<uint32_t>(std::max<int64_t>(0, std::min(wanted, possible)));
}

size_t Swim::AddMember(const Alive& m) {
  Member member;
  member.name = m.name;
  member.address = m.address;
  member.meta = m.meta;
  member.incarnation = m.incarnation;
  member.state = MemberState::kAlive;
  member.state_changed = now_;
  members_.push_back(std::move(member));
  index_.emplace(m.name, members_.size() - 1);
  ++live_count_;
  // A random slot in the rest of this round, so newcomers are probed soon but in no set order.
  // Appending and swapping keeps this O(1) during a mass join.
  probe_order_.push_back(m.name);
  const size_t from = std::min(probe_position_, probe_order_.size() - 1);
  const size_t slot = from + random_.Below(probe_order_.size() - from);
  std::swap(probe_order_[slot], probe_order_.back());
  return members_.size() - 1;
}

void Swim::RemoveMember(size_t index) {
  CAIRN_ASSERT(index != 0 && index < members_.size(), "cannot remove self or a missing member");
  const std::string name = members_[index].name;
  if (index != members_.size() - 1) {
    std::swap(members_[index], members_.back());
    index_[members_[index].name] = index;
  }
  members_.pop_back();
  index_.erase(name);
  gone_.erase(name);
  suspicions_.erase(name);
  broadcasts_.Forget(name);
}

void Swim::Refute(uint64_t accused_incarnation) {
  Member& self = members_[0];
  self.incarnation = std::max(self.incarnation, accused_incarnation) + 1;
  Broadcast(self.name, Alive{self.name, self.incarnation, self.address, self.meta});
  // Being suspected is a hint that our own messages arrive late or not at all.
  ApplyAwareness(1);
  ++stats_.refutations;
}

void Swim::OnAlive(const Alive& m) {
  if (m.name == config_.name) {
    // Someone holds a newer incarnation of us (we restarted and forgot it): outbid it.
    if (!leaving_ && m.incarnation > members_[0].incarnation) Refute(m.incarnation);
    return;
  }
  auto index = IndexOf(m.name);
  if (!index) {
    if (members_.size() >= kMembersMax) return;
    const size_t added = AddMember(m);
    Emit(EventKind::kJoin, added);
    Broadcast(m.name, m);
    return;
  }
  Member& member = members_[*index];
  if (m.incarnation <= member.incarnation) return;
  const bool was_gone = member.state == MemberState::kDead || member.state == MemberState::kLeft;
  member.incarnation = m.incarnation;
  member.address = m.address;
  member.meta = m.meta;
  suspicions_.erase(m.name);
  SetState(*index, MemberState::kAlive);
  Emit(was_gone ? EventKind::kJoin : EventKind::kUpdate, *index);
  Broadcast(m.name, m);
}

std::optional<size_t> Swim::AccusedMember(std::string_view name, uint64_t incarnation) {
  auto index = IndexOf(name);
  if (!index || incarnation < members_[*index].incarnation) return std::nullopt;
  if (*index == 0) {
    if (!leaving_) Refute(incarnation);
    return std::nullopt;
  }
  return index;
}

void Swim::OnSuspect(const Suspect& m) {
  auto index = AccusedMember(m.name, m.incarnation);
  if (!index) return;
  Member& member = members_[*index];
  const bool refused = m.refused && config_.refused_suspicion_mult > 0;
  if (member.state == MemberState::kSuspect) {
    member.incarnation = m.incarnation;
    auto s = suspicions_.find(m.name);
    if (s == suspicions_.end()) return;
    const bool confirmed = s->second.Confirm(m.from);
    const bool hastened = refused && s->second.Hasten(RefusedSuspicionTimeout());
    // Passing on each new confirmation lets every suspicion timer shrink, not just ours. The
    // refusal rides along once known: this message replaces any queued one about the member.
    if (confirmed || hastened) Broadcast(m.name, Suspect{m.name, m.incarnation, m.from, s->second.Hastened()});
    return;
  }
  if (member.state != MemberState::kAlive) return;
  member.incarnation = m.incarnation;
  SetState(*index, MemberState::kSuspect);
  const SuspicionTimeouts bounds = ComputeSuspicionTimeouts(config_.suspicion_mult, config_.suspicion_max_timeout_mult,
                                                            live_count_, config_.probe_interval);
  Suspicion suspicion(now_, bounds, ExpectedConfirmations(), m.from);
  if (refused) suspicion.Hasten(RefusedSuspicionTimeout());
  suspicions_.insert_or_assign(m.name, std::move(suspicion));
  Emit(EventKind::kSuspect, *index);
  Broadcast(m.name, Suspect{m.name, m.incarnation, m.from, refused});
}

Duration Swim::RefusedSuspicionTimeout() const {
  return ComputeSuspicionTimeouts(config_.refused_suspicion_mult, 1, live_count_, config_.probe_interval).min;
}

void Swim::OnDead(const Dead& m) {
  auto index = AccusedMember(m.name, m.incarnation);
  if (!index) return;
  Member& member = members_[*index];
  if (member.state == MemberState::kDead || member.state == MemberState::kLeft) return;
  member.incarnation = m.incarnation;
  suspicions_.erase(m.name);
  SetState(*index, MemberState::kDead);
  Emit(EventKind::kFailed, *index);
  Broadcast(m.name, m);
}

void Swim::OnLeave(const gossip::Leave& m) {
  auto index = IndexOf(m.name);
  if (!index) return;
  Member& member = members_[*index];
  if (m.incarnation < member.incarnation) return;
  if (*index == 0) {
    if (!leaving_) Refute(m.incarnation);
    return;
  }
  if (member.state == MemberState::kLeft) return;
  member.incarnation = m.incarnation;
  suspicions_.erase(m.name);
  SetState(*index, MemberState::kLeft);
  Emit(EventKind::kLeft, *index);
  Broadcast(m.name, m);
}

void Swim::ExpireSuspicions() {
  for (auto it = suspicions_.begin(); it != suspicions_.end();) {
    if (now_ < it->second.Deadline()) {
      ++it;
      continue;
    }
    const std::string name = it->first;
    it = suspicions_.erase(it);
    auto index = IndexOf(name);
    if (index && members_[*index].state == MemberState::kSuspect) {
      OnDead(Dead{name, members_[*index].incarnation, config_.name});
    }
    it = suspicions_.lower_bound(name);  // OnDead may have erased entries
  }
}

PushPull Swim::LocalState(bool join) const {
  PushPull pp;
  pp.join = join;
  pp.source = config_.name;
  pp.members.reserve(members_.size());
  for (const Member& m : members_)
    pp.members.push_back(PushPullEntry{m.name, m.address, m.meta, m.incarnation, m.state});
  return pp;
}

void Swim::MergeState(const PushPull& pp) {
  for (const PushPullEntry& e : pp.members) {
    switch (e.state) {
      case MemberState::kAlive: OnAlive(Alive{e.name, e.incarnation, e.address, e.meta}); break;
      // Another node's verdict is only a suspicion here: the member gets its chance to refute.
      case MemberState::kSuspect:
      case MemberState::kDead: OnSuspect(Suspect{e.name, e.incarnation, pp.source}); break;
      case MemberState::kLeft: OnLeave(gossip::Leave{e.name, e.incarnation}); break;
    }
  }
}

void Swim::PeriodicPushPull() {
  if (leaving_) return;
  const std::vector<size_t> peers = RandomMembers(1, config_.name, false);
  if (peers.empty()) return;
  ready_.streams.push_back(
      StreamRequest{StreamKind::kPushPull, members_[peers[0]].address, EncodePacket({LocalState(false)})});
}

void Swim::ReapAndReconnect() {
  std::vector<std::string> reap;
  std::vector<NetAddress> candidates;
  for (const std::string& name : gone_) {
    const Member& m = members_[index_.at(name)];
    if (now_ - m.state_changed >= config_.reap_after) {
      reap.push_back(name);
    } else if (m.state == MemberState::kDead) {
      candidates.push_back(m.address);
    }
  }
  for (const std::string& name : reap) {
    const size_t index = index_.at(name);
    Emit(EventKind::kReaped, index);
    RemoveMember(index);
  }
  if (leaving_ || now_ < next_reconnect_at_) return;
  next_reconnect_at_ = now_ + config_.reconnect_interval;
  // Dead members may be on the far side of a healed partition; seeds bring back a node that
  // lost everyone. Either way one push-pull across the gap merges the two views.
  if (candidates.empty() || live_count_ <= 1) {
    for (const NetAddress& seed : seeds_) {
      if (seed != config_.address) candidates.push_back(seed);
    }
  }
  if (candidates.empty()) return;
  const NetAddress& to = candidates[random_.Below(candidates.size())];
  ready_.streams.push_back(StreamRequest{StreamKind::kPushPull, to, EncodePacket({LocalState(false)})});
}

Status Swim::Join(MonoTime now, const std::vector<NetAddress>& seeds) {
  now_ = std::max(now_, now);
  if (seeds.size() > kSeedsMax) {
    return Status::InvalidArgument("join with " + std::to_string(seeds.size()) + " seeds, over kSeedsMax (" +
                                   std::to_string(kSeedsMax) + ")");
  }
  seeds_ = seeds;
  // The seed's state is a snapshot; updates in flight while we joined may never reach us by
  // gossip (the epidemic can die out before we are known). An early second sync with a random
  // member closes that window.
  next_push_pull_at_ = now_ + config_.probe_interval * 2 +
                       Duration(static_cast<int64_t>(random_.Below((config_.probe_interval * 3).count())));
  for (const NetAddress& seed : seeds) {
    if (seed == config_.address) continue;
    ready_.streams.push_back(StreamRequest{StreamKind::kJoin, seed, EncodePacket({LocalState(true)})});
  }
  return OkStatus();
}

void Swim::Leave(MonoTime now) {
  now_ = std::max(now_, now);
  if (leaving_) return;
  leaving_ = true;
  Member& self = members_[0];
  ++self.incarnation;
  SetState(0, MemberState::kLeft);
  Broadcast(self.name, gossip::Leave{self.name, self.incarnation});
}

Status Swim::ForceLeave(MonoTime now, const std::string& name) {
  now_ = std::max(now_, now);
  auto index = IndexOf(name);
  if (!index) return Status::NotFound("no member named \"" + name + "\"");
  const Member& member = members_[*index];
  if (*index == 0) return Status::FailedPrecondition("cannot force-leave this node itself; use leave");
  if (member.state == MemberState::kLeft) return OkStatus();
  if (member.state != MemberState::kDead) {
    return Status::FailedPrecondition("member \"" + name + "\" is not failed (" +
                                      std::string(MemberStateName(member.state)) + ")");
  }
  // The member's own incarnation: it is the one claim it can still refute if it comes back.
  OnLeave(gossip::Leave{name, member.incarnation});
  return OkStatus();
}

Status Swim::SetMetadata(MonoTime now, const Metadata& meta) {
  now_ = std::max(now_, now);
  CAIRN_RETURN_IF_ERROR(ValidateMetadata(meta));
  Member& self = members_[0];
  self.meta = meta;
  ++self.incarnation;
  Broadcast(self.name, Alive{self.name, self.incarnation, self.address, self.meta});
  return OkStatus();
}

}  // namespace cairn::gossip
