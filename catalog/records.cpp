#include "catalog/records.h"

#include "common/codec.h"
#include "common/crc32c.h"
#include "common/sealed_record.h"

namespace cairn::catalog {

const std::string kMetaRecordKey = "m";

namespace {

// Bodies start with a format byte so a later layout can be told apart from this one.
constexpr uint8_t kRecordFormat = 1;
constexpr size_t kFieldBytesMax = 1 << 20;  // any single string field; values are far smaller

std::string Prefixed(char table, std::string_view rest) {
  std::string key{table, '/'};
  key.append(rest);
  return key;
}

std::string Scoped(char table, const NodeScoped& key) {
  std::string out{table, '/'};
  AppendVarint64(out, key.first.size());
  out.append(key.first);
  out.append(key.second);
  return out;
}

void PutMap(Encoder& e, const StringMap& map) {
  e.PutVarint64(map.size());
  for (const auto& [k, v] : map) {
    e.PutBytes(k);
    e.PutBytes(v);
  }
}

StringMap ReadMap(Decoder& d) {
  StringMap map;
  const uint64_t count = d.ReadVarint64();
  if (count > d.Remaining()) d.Fail("map size exceeds the record");
  for (uint64_t i = 0; i < count && !d.HasError(); ++i) {
    std::string key(d.ReadBytes(kFieldBytesMax));
    map[key] = std::string(d.ReadBytes(kFieldBytesMax));
  }
  return map;
}

void PutList(Encoder& e, const std::vector<std::string>& list) {
  e.PutVarint64(list.size());
  for (const std::string& s : list) e.PutBytes(s);
}

std::vector<std::string> ReadList(Decoder& d) {
  std::vector<std::string> list;
  const uint64_t count = d.ReadVarint64();
  if (count > d.Remaining()) d.Fail("list size exceeds the record");
  for (uint64_t i = 0; i < count && !d.HasError(); ++i) list.emplace_back(d.ReadBytes(kFieldBytesMax));
  return list;
}

std::string Str(Decoder& d) { return std::string(d.ReadBytes(kFieldBytesMax)); }
RaftIndex Idx(Decoder& d) { return RaftIndex(d.ReadVarint64()); }

Encoder Begin() {
  Encoder e;
  e.PutU8(kRecordFormat);
  return e;
}

void CheckFormat(Decoder& d) {
  const uint8_t format = d.ReadU8();
  if (!d.HasError() && format != kRecordFormat) d.Fail("unknown record format " + std::to_string(format));
}

Node DecodeNode(Decoder& d) {
  Node n;
  CheckFormat(d);
  n.name = Str(d);
  n.id = Str(d);
  n.address = Str(d);
  n.datacenter = Str(d);
  n.tagged_addresses = ReadMap(d);
  n.meta = ReadMap(d);
  n.create_index = Idx(d);
  n.modify_index = Idx(d);
  return n;
}

Service DecodeService(Decoder& d) {
  Service s;
  CheckFormat(d);
  s.node = Str(d);
  s.id = Str(d);
  s.name = Str(d);
  s.tags = ReadList(d);
  s.address = Str(d);
  const uint64_t port = d.ReadVarint64();
  if (port > 65535) d.Fail("port out of range");
  s.port = static_cast<uint16_t>(port);
  s.meta = ReadMap(d);
  s.weights.passing = static_cast<int32_t>(d.ReadFixed32());
  s.weights.warning = static_cast<int32_t>(d.ReadFixed32());
  s.enable_tag_override = d.ReadU8() != 0;
  s.create_index = Idx(d);
  s.modify_index = Idx(d);
  return s;
}

Check DecodeCheck(Decoder& d) {
  Check c;
  CheckFormat(d);
  c.node = Str(d);
  c.check_id = Str(d);
  c.name = Str(d);
  const uint8_t status = d.ReadU8();
  if (status > static_cast<uint8_t>(HealthStatus::kCritical)) d.Fail("unknown check status");
  c.status = static_cast<HealthStatus>(status);
  c.notes = Str(d);
  c.output = Str(d);
  c.service_id = Str(d);
  c.service_name = Str(d);
  c.create_index = Idx(d);
  c.modify_index = Idx(d);
  return c;
}

KvEntry DecodeKv(Decoder& d) {
  KvEntry e;
  CheckFormat(d);
  e.key = Str(d);
  e.value = Str(d);
  e.flags = d.ReadFixed64();
  e.create_index = Idx(d);
  e.modify_index = Idx(d);
  e.lock_index = d.ReadVarint64();
  e.session = Str(d);
  return e;
}

Session DecodeSession(Decoder& d) {
  Session s;
  CheckFormat(d);
  s.id = Str(d);
  s.name = Str(d);
  s.node = Str(d);
  s.checks = ReadList(d);
  s.lock_delay_millis = static_cast<int64_t>(d.ReadFixed64());
  const uint8_t behavior = d.ReadU8();
  if (behavior > static_cast<uint8_t>(SessionBehavior::kDelete)) d.Fail("unknown session behavior");
  s.behavior = static_cast<SessionBehavior>(behavior);
  s.ttl_millis = static_cast<int64_t>(d.ReadFixed64());
  s.create_index = Idx(d);
  s.modify_index = Idx(d);
  return s;
}

Status LoadMeta(Tables& tables, Decoder& d) {
  CheckFormat(d);
  tables.applied = Idx(d);
  const uint64_t count = d.ReadVarint64();
  if (!d.HasError() && count != kTableCount) d.Fail("meta record has " + std::to_string(count) + " table indexes");
  for (size_t i = 0; i < kTableCount && !d.HasError(); ++i) tables.table_index[i] = Idx(d);
  return d.Finish();
}

// Decodes with `decode`, checks the record re-encodes to the same key, then stores it.
template <typename T, typename DecodeFn, typename KeyFn, typename StoreFn>
Status LoadTyped(std::string_view key, std::string_view body, DecodeFn decode, KeyFn key_of, StoreFn store) {
  Decoder d(body, "catalog record");
  T value = decode(d);
  CAIRN_RETURN_IF_ERROR(d.Finish().WithContext("record " + std::string(key)));
  if (key_of(value) != key) return Status::Corruption("record under key " + std::string(key) + " belongs elsewhere");
  store(std::move(value));
  return OkStatus();
}

// Tombstones, per-service indexes and lock-delays: the key names the thing, the body is one
// number.
Status LoadKeyedScalar(Tables& t, std::string_view key, std::string_view body) {
  Decoder d(body, "catalog record");
  CheckFormat(d);
  const std::string name(key.substr(2));
  if (key[0] == 'd') {
    const auto until = static_cast<int64_t>(d.ReadFixed64());
    CAIRN_RETURN_IF_ERROR(d.Finish().WithContext("record " + std::string(key)));
    t.SetLockDelay(name, until);
    return OkStatus();
  }
  const RaftIndex index = Idx(d);
  CAIRN_RETURN_IF_ERROR(d.Finish().WithContext("record " + std::string(key)));
  if (key[0] == 't') {
    t.SetTombstone(name, index);
  } else {
    t.SetServiceIndex(name, index);
  }
  return OkStatus();
}

}  // namespace

std::string NodeRecordKey(std::string_view name) { return Prefixed('n', name); }
std::string ServiceRecordKey(const NodeScoped& key) { return Scoped('s', key); }
std::string CheckRecordKey(const NodeScoped& key) { return Scoped('c', key); }
std::string KvRecordKey(std::string_view key) { return Prefixed('k', key); }
std::string TombstoneRecordKey(std::string_view key) { return Prefixed('t', key); }
std::string SessionRecordKey(std::string_view id) { return Prefixed('x', id); }
std::string LockDelayRecordKey(std::string_view key) { return Prefixed('d', key); }
std::string ServiceIndexRecordKey(std::string_view name) { return Prefixed('i', name); }

std::string EncodeNode(const Node& n) {
  Encoder e = Begin();
  e.PutBytes(n.name);
  e.PutBytes(n.id);
  e.PutBytes(n.address);
  e.PutBytes(n.datacenter);
  PutMap(e, n.tagged_addresses);
  PutMap(e, n.meta);
  e.PutVarint64(n.create_index.value);
  e.PutVarint64(n.modify_index.value);
  return e.Take();
}

std::string EncodeService(const Service& s) {
  Encoder e = Begin();
  e.PutBytes(s.node);
  e.PutBytes(s.id);
  e.PutBytes(s.name);
  PutList(e, s.tags);
  e.PutBytes(s.address);
  e.PutVarint64(s.port);
  PutMap(e, s.meta);
  e.PutFixed32(static_cast<uint32_t>(s.weights.passing));
  e.PutFixed32(static_cast<uint32_t>(s.weights.warning));
  e.PutU8(s.enable_tag_override ? 1 : 0);
  e.PutVarint64(s.create_index.value);
  e.PutVarint64(s.modify_index.value);
  return e.Take();
}

std::string EncodeCheck(const Check& c) {
  Encoder e = Begin();
  e.PutBytes(c.node);
  e.PutBytes(c.check_id);
  e.PutBytes(c.name);
  e.PutU8(static_cast<uint8_t>(c.status));
  e.PutBytes(c.notes);
  e.PutBytes(c.output);
  e.PutBytes(c.service_id);
  e.PutBytes(c.service_name);
  e.PutVarint64(c.create_index.value);
  e.PutVarint64(c.modify_index.value);
  return e.Take();
}

std::string EncodeKv(const KvEntry& k) {
  Encoder e = Begin();
  e.PutBytes(k.key);
  e.PutBytes(k.value);
  e.PutFixed64(k.flags);
  e.PutVarint64(k.create_index.value);
  e.PutVarint64(k.modify_index.value);
  e.PutVarint64(k.lock_index);
  e.PutBytes(k.session);
  return e.Take();
}

std::string EncodeTombstone(RaftIndex index) {
  Encoder e = Begin();
  e.PutVarint64(index.value);
  return e.Take();
}

std::string EncodeSession(const Session& s) {
  Encoder e = Begin();
  e.PutBytes(s.id);
  e.PutBytes(s.name);
  e.PutBytes(s.node);
  PutList(e, s.checks);
  e.PutFixed64(static_cast<uint64_t>(s.lock_delay_millis));
  e.PutU8(static_cast<uint8_t>(s.behavior));
  e.PutFixed64(static_cast<uint64_t>(s.ttl_millis));
  e.PutVarint64(s.create_index.value);
  e.PutVarint64(s.modify_index.value);
  return e.Take();
}

std::string EncodeLockDelay(int64_t until_millis) {
  Encoder e = Begin();
  e.PutFixed64(static_cast<uint64_t>(until_millis));
  return e.Take();
}

std::string EncodeMeta(const Tables& tables) {
  Encoder e = Begin();
  e.PutVarint64(tables.applied.value);
  e.PutVarint64(kTableCount);
  for (RaftIndex index : tables.table_index) e.PutVarint64(index.value);
  return e.Take();
}

std::string Seal(std::string_view key, std::string body) { return SealRecord(key, std::move(body)); }

Result<std::string_view> Unseal(std::string_view key, std::string_view value) {
  return UnsealRecord(key, value, "record " + std::string(key));
}

Status LoadRecord(Tables& t, std::string_view key, std::string_view body) {
  if (key == kMetaRecordKey) {
    Decoder d(body, "catalog meta record");
    return LoadMeta(t, d);
  }
  if (key.size() < 2 || key[1] != '/') return Status::Corruption("unknown catalog record key " + std::string(key));
  switch (key[0]) {
    case 'n':
      return LoadTyped<Node>(
          key, body, DecodeNode, [](const Node& n) { return NodeRecordKey(n.name); },
          [&t](Node n) {
            const std::string name = n.name;
            t.SetNode(name, std::move(n));
          });
    case 's':
      return LoadTyped<Service>(
          key, body, DecodeService,
          [](const Service& s) {
            return ServiceRecordKey({s.node, s.id});
          },
          [&t](Service s) {
            const NodeScoped scoped(s.node, s.id);
            t.SetService(scoped, std::move(s));
          });
    case 'c':
      return LoadTyped<Check>(
          key, body, DecodeCheck,
          [](const Check& c) {
            return CheckRecordKey({c.node, c.check_id});
          },
          [&t](Check c) {
            const NodeScoped scoped(c.node, c.check_id);
            t.SetCheck(scoped, std::move(c));
          });
    case 'k':
      return LoadTyped<KvEntry>(
          key, body, DecodeKv, [](const KvEntry& e) { return KvRecordKey(e.key); },
          [&t](KvEntry e) {
            const std::string kv_key = e.key;
            t.SetKv(kv_key, std::move(e));
          });
    case 'x':
      return LoadTyped<Session>(
          key, body, DecodeSession, [](const Session& s) { return SessionRecordKey(s.id); },
          [&t](Session s) {
            const std::string id = s.id;
            t.SetSession(id, std::move(s));
          });
    case 't':
    case 'i':
    case 'd': return LoadKeyedScalar(t, key, body);
    default: return Status::Corruption("unknown catalog record key " + std::string(key));
  }
}

void ForEachRecord(const Tables& t, const std::function<void(const std::string&, const std::string&)>& fn) {
  fn(kMetaRecordKey, EncodeMeta(t));
  for (const auto& [name, node] : t.nodes) fn(NodeRecordKey(name), EncodeNode(node));
  for (const auto& [key, service] : t.services) fn(ServiceRecordKey(key), EncodeService(service));
  for (const auto& [key, check] : t.checks) fn(CheckRecordKey(key), EncodeCheck(check));
  for (const auto& [key, entry] : t.kv) fn(KvRecordKey(key), EncodeKv(entry));
  for (const auto& [key, index] : t.tombstones) fn(TombstoneRecordKey(key), EncodeTombstone(index));
  for (const auto& [id, session] : t.sessions) fn(SessionRecordKey(id), EncodeSession(session));
  for (const auto& [key, until] : t.lock_delays) fn(LockDelayRecordKey(key), EncodeLockDelay(until));
  for (const auto& [name, index] : t.service_index) fn(ServiceIndexRecordKey(name), EncodeTombstone(index));
}

}  // namespace cairn::catalog
