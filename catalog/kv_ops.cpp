#include "catalog/catalog_limits.h"
#include "catalog/ops.h"

namespace cairn::catalog::ops {
namespace {

Outcome Invalid(std::string message) { return Outcome::Fail(OutcomeCode::kInvalidArgument, std::move(message)); }
Outcome Rejected(std::string message) { return Outcome::Fail(OutcomeCode::kRejected, std::move(message)); }

// The number of continuation bytes a UTF-8 lead byte announces, or -1 for a byte that
// cannot start a character.
int ContinuationBytes(unsigned char lead) {
  if (lead < 0x80) return 0;
  if ((lead & 0xE0) == 0xC0) return 1;
  if ((lead & 0xF0) == 0xE0) return 2;
  if ((lead & 0xF8) == 0xF0) return 3;
  return -1;
}

bool IsValidUtf8(std::string_view s) {
  constexpr uint32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const int extra = ContinuationBytes(lead);
    if (extra < 0 || i + extra >= s.size()) return false;
    uint32_t code = lead & (0x7F >> extra);
    for (int k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and code points past Unicode are not UTF-8.
    if (code < kSmallest[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

const KvEntry* Find(const Mutation& m, const std::string& key) {
  auto it = m.View().kv.find(key);
  return it == m.View().kv.end() ? nullptr : &it->second;
}

KvEntry Written(const Mutation& m, const KvOp& op, const KvEntry* existing) {
  KvEntry entry;
  entry.key = op.key;
  entry.value = op.value;
  entry.flags = op.flags;
  entry.create_index = existing ? existing->create_index : m.Index();
  entry.modify_index = m.Index();
  // A plain write keeps the lock (and its count) as it is; only lock/unlock change them.
  entry.lock_index = existing ? existing->lock_index : 0;
  entry.session = existing ? existing->session : "";
  return entry;
}

Outcome Lock(Mutation& m, const KvOp& op, const KvEntry* existing) {
  if (op.session.empty()) return Outcome::Fail(OutcomeCode::kInvalidSession, "lock needs a session");
  if (!m.View().sessions.contains(op.session)) {
    return Outcome::Fail(OutcomeCode::kInvalidSession, "invalid session " + op.session);
  }
  if (auto delay = m.View().lock_delays.find(op.key); delay != m.View().lock_delays.end()) {
    if (m.NowMillis() < delay->second) {
      return Outcome::Fail(OutcomeCode::kLockDelay,
                           "key " + op.key + " is in lock-delay until " + std::to_string(delay->second) + " ms");
    }
    m.EraseLockDelay(op.key);
  }
  if (existing && !existing->session.empty() && existing->session != op.session) {
    return Rejected("key " + op.key + " is locked by session " + existing->session);
  }
  KvEntry entry = Written(m, op, existing);
  const bool reacquire = existing && existing->session == op.session;
  entry.lock_index = reacquire ? existing->lock_index : (existing ? existing->lock_index + 1 : 1);
  entry.session = op.session;
  m.PutKv(std::move(entry));
  return Outcome::Success();
}

Outcome Unlock(Mutation& m, const KvOp& op, const KvEntry* existing) {
  if (!existing) return Rejected("key " + op.key + " does not exist");
  if (op.session.empty() || existing->session != op.session) {
    return Rejected("key " + op.key + " is not locked by session " + op.session);
  }
  KvEntry entry = Written(m, op, existing);
  entry.session.clear();
  m.PutKv(std::move(entry));
  return Outcome::Success();
}

Outcome DeleteTree(Mutation& m, const std::string& prefix) {
  std::vector<std::string> doomed;
  for (auto it = m.View().kv.lower_bound(prefix); it != m.View().kv.end() && it->first.starts_with(prefix); ++it) {
    doomed.push_back(it->first);
  }
  for (const std::string& key : doomed) m.EraseKv(key);
  return Outcome::Success();
}

}  // namespace

Outcome ValidateKvKey(std::string_view key, bool is_prefix) {
  if (key.empty() && !is_prefix) return Invalid("missing key name");
  if (key.size() > limits::kKvKeyBytesMax) {
    return Invalid("key is " + std::to_string(key.size()) + " bytes, more than kKvKeyBytesMax (" +
                   std::to_string(limits::kKvKeyBytesMax) + ")");
  }
  if (key.starts_with('/')) return Invalid("key must not begin with '/'");
  if (!IsValidUtf8(key)) return Invalid("key is not valid UTF-8");
  return Outcome::Success();
}

Outcome KvWrite(Mutation& m, const KvOp& op) {
  const bool tree = op.verb == KvVerb::kDeleteTree;
  if (Outcome key = ValidateKvKey(op.key, tree); !key.Ok()) return key;
  if (op.value.size() > limits::kKvValueBytesMax) {
    return Invalid("value is " + std::to_string(op.value.size()) + " bytes, more than kKvValueBytesMax (" +
                   std::to_string(limits::kKvValueBytesMax) + ")");
  }
  const KvEntry* existing = Find(m, op.key);
  switch (op.verb) {
    case KvVerb::kSet: m.PutKv(Written(m, op, existing)); return Outcome::Success();
    case KvVerb::kCas:
      if (op.index.value == 0 && existing) return Rejected("key " + op.key + " exists (cas=0 only creates)");
      if (op.index.value != 0 && (!existing || existing->modify_index != op.index)) {
        return Rejected("failed to set key " + op.key + ", index is stale");
      }
      m.PutKv(Written(m, op, existing));
      return Outcome::Success();
    case KvVerb::kLock: return Lock(m, op, existing);
    case KvVerb::kUnlock: return Unlock(m, op, existing);
    case KvVerb::kDelete:
      if (existing) m.EraseKv(op.key);
      return Outcome::Success();
    case KvVerb::kDeleteCas:
      // Consul answers true for a key that is already gone.
      if (!existing) return Outcome::Success();
      if (existing->modify_index != op.index) return Rejected("failed to delete key " + op.key + ", index is stale");
      m.EraseKv(op.key);
      return Outcome::Success();
    case KvVerb::kDeleteTree: return DeleteTree(m, op.key);
    default: return Invalid("KV verb is only valid inside a transaction");
  }
}

Outcome ReapTombstones(Mutation& m, RaftIndex up_to) {
  std::vector<std::string> reaped;
  for (const auto& [key, index] : m.View().tombstones) {
    if (index <= up_to) reaped.push_back(key);
  }
  for (const std::string& key : reaped) m.EraseTombstone(key);
  std::vector<std::string> expired;
  for (const auto& [key, until] : m.View().lock_delays) {
    if (until <= m.NowMillis()) expired.push_back(key);
  }
  for (const std::string& key : expired) m.EraseLockDelay(key);
  return Outcome::Success();
}

Outcome SessionCreate(Mutation& m, Session session) {
  if (session.id.empty() || session.id.size() > limits::kNameBytesMax)
    return Invalid("session id is empty or too long");
  if (m.View().sessions.contains(session.id)) return Invalid("session id " + session.id + " is in use");
  if (session.ttl_millis != 0 &&
      (session.ttl_millis < limits::kSessionTtlMillisMin || session.ttl_millis > limits::kSessionTtlMillisMax)) {
    return Invalid("session TTL " + std::to_string(session.ttl_millis) +
                   " ms is outside [kSessionTtlMillisMin, kSessionTtlMillisMax] (10s..24h)");
  }
  if (session.lock_delay_millis < 0 || session.lock_delay_millis > limits::kSessionLockDelayMillisMax) {
    return Invalid("session lock-delay is outside [0, kSessionLockDelayMillisMax]");
  }
  if (session.checks.size() > limits::kSessionChecksMax)
    return Invalid("session has more than kSessionChecksMax checks");
  if (!m.View().nodes.contains(session.node)) {
    return Outcome::Fail(OutcomeCode::kNotFound, "missing node registration " + session.node);
  }
  for (const std::string& check_id : session.checks) {
    auto check = m.View().checks.find(NodeScoped(session.node, check_id));
    if (check == m.View().checks.end()) {
      return Outcome::Fail(OutcomeCode::kNotFound, "missing check " + check_id + " on node " + session.node);
    }
    if (check->second.status == HealthStatus::kCritical) return Invalid("check " + check_id + " is in critical state");
  }
  session.create_index = m.Index();
  session.modify_index = m.Index();
  m.PutSession(std::move(session));
  return Outcome::Success();
}

Outcome SessionInvalidate(Mutation& m, const std::string& id) {
  auto found = m.View().sessions.find(id);
  if (found == m.View().sessions.end()) return Outcome::Fail(OutcomeCode::kNotFound, "unknown session " + id);
  const Session session = found->second;
  std::set<std::string> held;
  if (auto locks = m.View().locks_by_session.find(id); locks != m.View().locks_by_session.end()) held = locks->second;
  for (const std::string& key : held) {
    if (session.behavior == SessionBehavior::kDelete) {
      m.EraseKv(key);
    } else {
      KvEntry entry = m.View().kv.at(key);
      entry.session.clear();
      entry.modify_index = m.Index();
      m.PutKv(std::move(entry));
    }
    if (session.lock_delay_millis > 0) m.PutLockDelay(key, m.NowMillis() + session.lock_delay_millis);
  }
  m.EraseSession(id);
  return Outcome::Success();
}

}  // namespace cairn::catalog::ops
