// The wire format of catalog commands and their results (catalog/command.h).
//
// Every string is length-prefixed and read against the catalog limit of the field it fills, and
// every count against its limit (or, where there is none, against the bytes left), so a hostile
// or damaged input can neither allocate without bound nor decode into a value the store would
// never have accepted. Enumerations are checked against their known values.
#include <type_traits>

#include "catalog/catalog_limits.h"
#include "catalog/command.h"
#include "common/codec.h"

namespace cairn::catalog {
namespace {

// The command format; a new layout gets a new number and the decoder refuses what it does not know.
constexpr uint8_t kCommandVersion = 1;
constexpr uint8_t kResultVersion = 1;
constexpr uint8_t kNodeRegistrationsVersion = 1;
// A node's services and checks have no limit of their own; the bytes left bound them.
constexpr uint64_t kNodeRecordsMax = uint64_t{1} << 32;
// Outcome and txn error messages are produced by the store and are short; this bounds a hostile one.
constexpr size_t kMessageBytesMax = 64 * 1024;

// The wire kind of each CommandBody alternative is its position plus one; new kinds go at the end.
constexpr uint8_t kCommandKindCount = std::variant_size_v<CommandBody>;
constexpr uint8_t kTxnOpKindCount = std::variant_size_v<TxnOp>;
constexpr uint8_t kTxnItemKindCount = std::variant_size_v<TxnResultItem>;

// ---- encoding ------------------------------------------------------------------------------

void PutI64(Encoder& e, int64_t v) { e.PutFixed64(static_cast<uint64_t>(v)); }
void PutIndex(Encoder& e, RaftIndex index) { e.PutVarint64(index.value); }

void PutList(Encoder& e, const std::vector<std::string>& list) {
  e.PutVarint64(list.size());
  for (const std::string& s : list) e.PutBytes(s);
}

void PutMap(Encoder& e, const StringMap& map) {
  e.PutVarint64(map.size());
  for (const auto& [k, v] : map) {
    e.PutBytes(k);
    e.PutBytes(v);
  }
}

void PutNode(Encoder& e, const Node& n) {
  e.PutBytes(n.name);
  e.PutBytes(n.id);
  e.PutBytes(n.address);
  e.PutBytes(n.datacenter);
  PutMap(e, n.tagged_addresses);
  PutMap(e, n.meta);
  PutIndex(e, n.create_index);
  PutIndex(e, n.modify_index);
}

void PutService(Encoder& e, const Service& s) {
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
  PutIndex(e, s.create_index);
  PutIndex(e, s.modify_index);
}

void PutCheck(Encoder& e, const Check& c) {
  e.PutBytes(c.node);
  e.PutBytes(c.check_id);
  e.PutBytes(c.name);
  e.PutU8(static_cast<uint8_t>(c.status));
  e.PutBytes(c.notes);
  e.PutBytes(c.output);
  e.PutBytes(c.service_id);
  e.PutBytes(c.service_name);
  PutIndex(e, c.create_index);
  PutIndex(e, c.modify_index);
}

void PutKvEntry(Encoder& e, const KvEntry& kv) {
  e.PutBytes(kv.key);
  e.PutBytes(kv.value);
  e.PutFixed64(kv.flags);
  PutIndex(e, kv.create_index);
  PutIndex(e, kv.modify_index);
  e.PutVarint64(kv.lock_index);
  e.PutBytes(kv.session);
}

void PutSession(Encoder& e, const Session& s) {
  e.PutBytes(s.id);
  e.PutBytes(s.name);
  e.PutBytes(s.node);
  PutList(e, s.checks);
  PutI64(e, s.lock_delay_millis);
  e.PutU8(static_cast<uint8_t>(s.behavior));
  PutI64(e, s.ttl_millis);
  PutIndex(e, s.create_index);
  PutIndex(e, s.modify_index);
}

void PutKvOp(Encoder& e, const KvOp& op) {
  e.PutU8(static_cast<uint8_t>(op.verb));
  e.PutBytes(op.key);
  e.PutBytes(op.value);
  e.PutFixed64(op.flags);
  PutIndex(e, op.index);
  e.PutBytes(op.session);
}

void PutTxnOp(Encoder& e, const TxnOp& op) {
  e.PutU8(static_cast<uint8_t>(op.index() + 1));
  if (const auto* kv = std::get_if<KvOp>(&op)) {
    PutKvOp(e, *kv);
  } else if (const auto* n = std::get_if<NodeTxnOp>(&op)) {
    e.PutU8(static_cast<uint8_t>(n->verb));
    PutNode(e, n->node);
  } else if (const auto* s = std::get_if<ServiceTxnOp>(&op)) {
    e.PutU8(static_cast<uint8_t>(s->verb));
    PutService(e, s->service);
  } else {
    const auto& c = std::get<CheckTxnOp>(op);
    e.PutU8(static_cast<uint8_t>(c.verb));
    PutCheck(e, c.check);
  }
}

void PutRegistration(Encoder& e, const Registration& r) {
  PutNode(e, r.node);
  e.PutU8(r.service ? 1 : 0);
  if (r.service) PutService(e, *r.service);
  e.PutVarint64(r.checks.size());
  for (const Check& c : r.checks) PutCheck(e, c);
}

void PutBody(Encoder& e, const CommandBody& body) {
  std::visit(
      [&e](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, KvCommand>) {
          PutKvOp(e, b.op);
        } else if constexpr (std::is_same_v<T, SessionCreateCommand>) {
          PutSession(e, b.session);
        } else if constexpr (std::is_same_v<T, SessionDestroyCommand>) {
          e.PutBytes(b.id);
        } else if constexpr (std::is_same_v<T, RegisterCommand>) {
          PutRegistration(e, b.registration);
        } else if constexpr (std::is_same_v<T, DeregisterCommand>) {
          e.PutBytes(b.node);
          e.PutBytes(b.service_id);
          e.PutBytes(b.check_id);
        } else if constexpr (std::is_same_v<T, TxnCommand>) {
          e.PutVarint64(b.ops.size());
          for (const TxnOp& op : b.ops) PutTxnOp(e, op);
        } else {
          static_assert(std::is_same_v<T, ReapCommand>);
          PutIndex(e, b.up_to);
        }
      },
      body);
}

// ---- decoding ------------------------------------------------------------------------------

std::string Name(Decoder& d) { return std::string(d.ReadBytes(limits::kNameBytesMax)); }
std::string Key(Decoder& d) { return std::string(d.ReadBytes(limits::kKvKeyBytesMax)); }
std::string Value(Decoder& d) { return std::string(d.ReadBytes(limits::kKvValueBytesMax)); }
std::string Text(Decoder& d) { return std::string(d.ReadBytes(limits::kCheckTextBytesMax)); }
RaftIndex Index(Decoder& d) { return RaftIndex(d.ReadVarint64()); }
int64_t I64(Decoder& d) { return static_cast<int64_t>(d.ReadFixed64()); }

// A count of at most `max` items, each taking at least one byte of what is left.
uint64_t Count(Decoder& d, uint64_t max, std::string_view what) {
  const uint64_t count = d.ReadVarint64();
  if (d.HasError()) return 0;
  if (count > max) {
    d.Fail(std::string(what) + " count " + std::to_string(count) + " exceeds its limit of " + std::to_string(max));
    return 0;
  }
  if (count > d.Remaining()) {
    d.Fail(std::string(what) + " count " + std::to_string(count) + " exceeds the bytes left");
    return 0;
  }
  return count;
}

// An enumeration byte no greater than `last`.
uint8_t Enum(Decoder& d, uint8_t last, std::string_view what) {
  const uint8_t v = d.ReadU8();
  if (!d.HasError() && v > last) d.Fail("unknown " + std::string(what) + " " + std::to_string(v));
  return d.HasError() ? 0 : v;
}

std::vector<std::string> NameList(Decoder& d, uint64_t max, std::string_view what) {
  std::vector<std::string> list;
  const uint64_t count = Count(d, max, what);
  for (uint64_t i = 0; i < count && !d.HasError(); ++i) list.push_back(Name(d));
  return list;
}

StringMap Map(Decoder& d, std::string_view what) {
  StringMap map;
  const uint64_t count = Count(d, limits::kMetaPairsMax, what);
  for (uint64_t i = 0; i < count && !d.HasError(); ++i) {
    std::string key = Name(d);
    map[std::move(key)] = std::string(d.ReadBytes(limits::kMetaValueBytesMax));
  }
  return map;
}

Node ReadNode(Decoder& d) {
  Node n;
  n.name = Name(d);
  n.id = Name(d);
  n.address = Name(d);
  n.datacenter = Name(d);
  n.tagged_addresses = Map(d, "tagged address");
  n.meta = Map(d, "node meta");
  n.create_index = Index(d);
  n.modify_index = Index(d);
  return n;
}

Service ReadService(Decoder& d) {
  Service s;
  s.node = Name(d);
  s.id = Name(d);
  s.name = Name(d);
  s.tags = NameList(d, limits::kTagsMax, "service tag");
  s.address = Name(d);
  const uint64_t port = d.ReadVarint64();
  if (port > UINT16_MAX) d.Fail("service port " + std::to_string(port) + " out of range");
  s.port = static_cast<uint16_t>(port);
  s.meta = Map(d, "service meta");
  s.weights.passing = static_cast<int32_t>(d.ReadFixed32());
  s.weights.warning = static_cast<int32_t>(d.ReadFixed32());
  s.enable_tag_override = Enum(d, 1, "boolean") == 1;
  s.create_index = Index(d);
  s.modify_index = Index(d);
  return s;
}

Check ReadCheck(Decoder& d) {
  Check c;
  c.node = Name(d);
  c.check_id = Name(d);
  c.name = Name(d);
  c.status = static_cast<HealthStatus>(Enum(d, static_cast<uint8_t>(HealthStatus::kCritical), "check status"));
  c.notes = Text(d);
  c.output = Text(d);
  c.service_id = Name(d);
  c.service_name = Name(d);
  c.create_index = Index(d);
  c.modify_index = Index(d);
  return c;
}

KvEntry ReadKvEntry(Decoder& d) {
  KvEntry kv;
  kv.key = Key(d);
  kv.value = Value(d);
  kv.flags = d.ReadFixed64();
  kv.create_index = Index(d);
  kv.modify_index = Index(d);
  kv.lock_index = d.ReadVarint64();
  kv.session = Name(d);
  return kv;
}

Session ReadSession(Decoder& d) {
  Session s;
  s.id = Name(d);
  s.name = Name(d);
  s.node = Name(d);
  s.checks = NameList(d, limits::kSessionChecksMax, "session check");
  s.lock_delay_millis = I64(d);
  s.behavior =
      static_cast<SessionBehavior>(Enum(d, static_cast<uint8_t>(SessionBehavior::kDelete), "session behavior"));
  s.ttl_millis = I64(d);
  s.create_index = Index(d);
  s.modify_index = Index(d);
  return s;
}

KvOp ReadKvOp(Decoder& d) {
  KvOp op;
  op.verb = static_cast<KvVerb>(Enum(d, static_cast<uint8_t>(KvVerb::kCheckNotExists), "kv verb"));
  op.key = Key(d);
  op.value = Value(d);
  op.flags = d.ReadFixed64();
  op.index = Index(d);
  op.session = Name(d);
  return op;
}

// Node, service and check txn ops share the verb set {kSet, kGet, kDelete}.
template <typename Op, typename ReadFn>
Op ReadCatalogTxnOp(Decoder& d, ReadFn read) {
  Op op;
  op.verb = static_cast<typename Op::Verb>(Enum(d, 2, "catalog txn verb"));
  read(d, op);
  return op;
}

TxnOp ReadTxnOp(Decoder& d) {
  const uint8_t kind = d.ReadU8();
  switch (kind) {
    case 1: return ReadKvOp(d);
    case 2: return ReadCatalogTxnOp<NodeTxnOp>(d, [](Decoder& dd, NodeTxnOp& op) { op.node = ReadNode(dd); });
    case 3:
      return ReadCatalogTxnOp<ServiceTxnOp>(d, [](Decoder& dd, ServiceTxnOp& op) { op.service = ReadService(dd); });
    case 4: return ReadCatalogTxnOp<CheckTxnOp>(d, [](Decoder& dd, CheckTxnOp& op) { op.check = ReadCheck(dd); });
    default:
      static_assert(kTxnOpKindCount == 4, "a new txn op kind needs a case here");
      if (!d.HasError()) d.Fail("unknown txn op kind " + std::to_string(kind));
      return KvOp{};
  }
}

Registration ReadRegistration(Decoder& d) {
  Registration r;
  r.node = ReadNode(d);
  if (Enum(d, 1, "service presence") == 1) r.service = ReadService(d);
  // A registration carries the service's checks and the node's; the store bounds neither by
  // count, so the bytes left bound them.
  const uint64_t checks = Count(d, UINT64_MAX, "registration check");
  for (uint64_t i = 0; i < checks && !d.HasError(); ++i) r.checks.push_back(ReadCheck(d));
  return r;
}

CommandBody ReadBody(Decoder& d, uint8_t kind) {
  static_assert(kCommandKindCount == 7, "a new command kind needs a case here");
  switch (kind) {
    case 1: return KvCommand{ReadKvOp(d)};
    case 2: return SessionCreateCommand{ReadSession(d)};
    case 3: return SessionDestroyCommand{Name(d)};
    case 4: return RegisterCommand{ReadRegistration(d)};
    case 5: {
      DeregisterCommand c;
      c.node = Name(d);
      c.service_id = Name(d);
      c.check_id = Name(d);
      return c;
    }
    case 6: {
      TxnCommand c;
      const uint64_t count = Count(d, limits::kTxnOpsMax, "txn op");
      for (uint64_t i = 0; i < count && !d.HasError(); ++i) c.ops.push_back(ReadTxnOp(d));
      return c;
    }
    case 7: return ReapCommand{Index(d)};
    default:
      if (!d.HasError()) d.Fail("unknown command kind " + std::to_string(kind));
      return ReapCommand{};
  }
}

// ---- results -------------------------------------------------------------------------------

void PutTxnItem(Encoder& e, const TxnResultItem& item) {
  e.PutU8(static_cast<uint8_t>(item.index() + 1));
  std::visit(
      [&e](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, KvEntry>) PutKvEntry(e, v);
        if constexpr (std::is_same_v<T, Node>) PutNode(e, v);
        if constexpr (std::is_same_v<T, Service>) PutService(e, v);
        if constexpr (std::is_same_v<T, Check>) PutCheck(e, v);
      },
      item);
}

TxnResultItem ReadTxnItem(Decoder& d) {
  static_assert(kTxnItemKindCount == 4, "a new txn result kind needs a case here");
  const uint8_t kind = d.ReadU8();
  switch (kind) {
    case 1: return ReadKvEntry(d);
    case 2: return ReadNode(d);
    case 3: return ReadService(d);
    case 4: return ReadCheck(d);
    default:
      if (!d.HasError()) d.Fail("unknown txn result kind " + std::to_string(kind));
      return KvEntry{};
  }
}

void PutTxnResult(Encoder& e, const TxnResult& txn) {
  e.PutVarint64(txn.results.size());
  for (const TxnResultItem& item : txn.results) PutTxnItem(e, item);
  e.PutVarint64(txn.errors.size());
  for (const TxnError& error : txn.errors) {
    e.PutVarint64(error.op_index);
    e.PutBytes(error.what);
  }
}

TxnResult ReadTxnResult(Decoder& d) {
  TxnResult txn;
  // A get-tree yields one item per key, so only the bytes left bound the items.
  const uint64_t items = Count(d, UINT64_MAX, "txn result");
  for (uint64_t i = 0; i < items && !d.HasError(); ++i) txn.results.push_back(ReadTxnItem(d));
  const uint64_t errors = Count(d, limits::kTxnOpsMax, "txn error");
  for (uint64_t i = 0; i < errors && !d.HasError(); ++i) {
    TxnError error;
    error.op_index = d.ReadVarint64();
    error.what = std::string(d.ReadBytes(kMessageBytesMax));
    txn.errors.push_back(std::move(error));
  }
  return txn;
}

}  // namespace

std::string EncodeCommand(const Command& command) {
  Encoder e;
  e.PutU8(kCommandVersion);
  e.PutU8(static_cast<uint8_t>(command.body.index() + 1));
  PutI64(e, command.now_millis);
  PutBody(e, command.body);
  return e.Take();
}

Result<Command> DecodeCommand(std::string_view bytes) {
  Decoder d(bytes, "catalog command");
  const uint8_t version = d.ReadU8();
  if (!d.HasError() && version != kCommandVersion) d.Fail("unknown command version " + std::to_string(version));
  const uint8_t kind = d.ReadU8();
  const int64_t now_millis = I64(d);
  Result<Command> command(Command{now_millis, ReadBody(d, kind)});
  CAIRN_RETURN_IF_ERROR(d.Finish());
  return command;
}

std::string EncodeCommandResult(const CommandResult& result) {
  Encoder e;
  e.PutU8(kResultVersion);
  PutIndex(e, result.index);
  e.PutU8(static_cast<uint8_t>(result.outcome.code));
  e.PutBytes(result.outcome.message);
  e.PutU8(result.txn ? 1 : 0);
  if (result.txn) PutTxnResult(e, *result.txn);
  e.PutBytes(result.session_id);
  return e.Take();
}

Result<CommandResult> DecodeCommandResult(std::string_view bytes) {
  Decoder d(bytes, "catalog command result");
  const uint8_t version = d.ReadU8();
  if (!d.HasError() && version != kResultVersion) d.Fail("unknown result version " + std::to_string(version));
  CommandResult result;
  result.index = Index(d);
  result.outcome.code =
      static_cast<OutcomeCode>(Enum(d, static_cast<uint8_t>(OutcomeCode::kInvalidArgument), "outcome code"));
  result.outcome.message = std::string(d.ReadBytes(kMessageBytesMax));
  if (Enum(d, 1, "txn result presence") == 1) result.txn = ReadTxnResult(d);
  result.session_id = Name(d);
  CAIRN_RETURN_IF_ERROR(d.Finish());
  return result;
}

std::string EncodeNodeRegistrations(const NodeRegistrations& registrations) {
  Encoder e;
  e.PutU8(kNodeRegistrationsVersion);
  e.PutU8(registrations.node ? 1 : 0);
  if (registrations.node) PutNode(e, *registrations.node);
  e.PutVarint64(registrations.services.size());
  for (const Service& service : registrations.services) PutService(e, service);
  e.PutVarint64(registrations.checks.size());
  for (const Check& check : registrations.checks) PutCheck(e, check);
  return e.Take();
}

Result<NodeRegistrations> DecodeNodeRegistrations(std::string_view bytes) {
  Decoder d(bytes, "node registrations");
  const uint8_t version = d.ReadU8();
  if (!d.HasError() && version != kNodeRegistrationsVersion) {
    d.Fail("unknown node registrations version " + std::to_string(version));
  }
  NodeRegistrations registrations;
  if (Enum(d, 1, "node presence") == 1) registrations.node = ReadNode(d);
  const uint64_t services = Count(d, kNodeRecordsMax, "service");
  for (uint64_t i = 0; i < services && !d.HasError(); ++i) registrations.services.push_back(ReadService(d));
  const uint64_t checks = Count(d, kNodeRecordsMax, "check");
  for (uint64_t i = 0; i < checks && !d.HasError(); ++i) registrations.checks.push_back(ReadCheck(d));
  CAIRN_RETURN_IF_ERROR(d.Finish());
  return registrations;
}

}  // namespace cairn::catalog
