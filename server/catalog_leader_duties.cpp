// The CatalogServer's leader duties: session TTLs and tombstone reaping. One periodic timer
// runs on every replica; the replica that leads also proposes what the duties decide.
#include <algorithm>
#include <vector>

#include "server/catalog_server.h"

namespace cairn::server {
namespace {

using namespace std::chrono_literals;

// Pairs recorded within one tombstone_ttl; bounds applied_times_ however busy the log is.
constexpr int64_t kAppliedTimesPerTtl = 1024;

}  // namespace

void CatalogServer::ScheduleDuties() {
  duty_timer_ = env_.StartTimer(options_.session_check_interval, [this] {
    duty_timer_ = 0;
    RunDuties();
    ScheduleDuties();
  });
}

void CatalogServer::RunDuties() {
  SyncLeadership();
  RecordAppliedTime();
  if (!leading_) return;
  ExpireSessions();
  MaybeReap();
}

MonoTime CatalogServer::SessionDeadline(const catalog::Session& session) {
  // Consul lets a session live twice its TTL without a renewal.
  const double ttl_nanos = 2.0 * static_cast<double>(session.ttl_millis) * 1e6 * options_.session_ttl_scale;
  return env_.Now() + Duration(static_cast<int64_t>(ttl_nanos));
}

void CatalogServer::SyncLeadership() {
  const bool leader = raft_->IsLeader();
  // The term tells apart a leadership lost and won back between two checks.
  const raft::Term term = leader ? raft_->GetStatus().term : raft::Term();
  if (leader == leading_ && term == leading_term_) return;
  leading_ = leader;
  leading_term_ = term;
  session_deadlines_.clear();
  reaped_ = catalog::RaftIndex();
  if (!leader) return;
  // This replica cannot know when the previous leader last saw a renewal, so every TTL
  // session gets its full time again.
  for (const catalog::Session& session : store_->Sessions().value) {
    if (session.ttl_millis > 0) session_deadlines_[session.id] = SessionDeadline(session);
  }
  next_reap_ = env_.Now() + options_.reap_interval;
  logger_.Info("catalog leader duties started", {{"ttl_sessions", session_deadlines_.size()}});
}

Result<catalog::Session> CatalogServer::RenewSession(const std::string& id) {
  SyncLeadership();
  if (!leading_) return Status::Unavailable("catalog server: not the leader; renew at the leader");
  CAIRN_ASSIGN_OR_RETURN(catalog::Session session, store_->SessionRenew(id));
  if (session.ttl_millis > 0) session_deadlines_[session.id] = SessionDeadline(session);
  return session;
}

void CatalogServer::ExpireSessions() {
  const MonoTime now = env_.Now();
  std::vector<std::string> expired;
  for (auto it = session_deadlines_.begin(); it != session_deadlines_.end();) {
    const bool exists = store_->SessionInfo(it->first).value.has_value();
    if (exists && it->second > now) {
      ++it;
      continue;
    }
    // Gone already (destroyed, or its node or check went away) or expired.
    if (exists) expired.push_back(it->first);
    it = session_deadlines_.erase(it);
  }
  for (const std::string& id : expired) {
    logger_.Info("session TTL expired", {{"session", id}});
    Write(catalog::Command{env_.WallMillis(), catalog::SessionDestroyCommand{id}},
          [this, id](Result<catalog::CommandResult> result) {
            if (result.IsOk()) return;
            // Leadership moved or a limit was hit: try again on the next round if still leading.
            logger_.WarnRateLimited("session-expiry", "proposing a session expiry failed",
                                    {{"session", id}, {"error", result.GetStatus().ToString()}});
            if (leading_ && raft_->IsLeader()) session_deadlines_[id] = env_.Now();
          });
  }
}

void CatalogServer::RecordAppliedTime() {
  const MonoTime now = env_.Now();
  const catalog::RaftIndex applied = store_->AppliedIndex();
  const Duration spacing = std::max<Duration>(options_.tombstone_ttl / kAppliedTimesPerTtl, 1ms);
  if (applied_times_.empty() ||
      (applied > applied_times_.back().first && now - applied_times_.back().second >= spacing)) {
    applied_times_.emplace_back(applied, now);
  }
  // Everything applied by a time at least tombstone_ttl ago is old enough to reap.
  while (!applied_times_.empty() && now - applied_times_.front().second >= options_.tombstone_ttl) {
    reapable_ = std::max(reapable_, applied_times_.front().first);
    applied_times_.pop_front();
  }
}

void CatalogServer::MaybeReap() {
  if (env_.Now() < next_reap_) return;
  next_reap_ = env_.Now() + options_.reap_interval;
  if (reapable_ <= reaped_) return;
  const catalog::RaftIndex up_to = reapable_;
  reaped_ = up_to;
  Write(catalog::Command{env_.WallMillis(), catalog::ReapCommand{up_to}},
        [this](Result<catalog::CommandResult> result) {
          if (result.IsOk()) return;
          logger_.WarnRateLimited("tombstone-reap", "proposing a tombstone reap failed",
                                  {{"error", result.GetStatus().ToString()}});
          reaped_ = catalog::RaftIndex();  // propose again next round
        });
}

}  // namespace cairn::server
