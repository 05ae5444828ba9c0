// /v1/kv/<key>: GET (recurse, keys, separator, raw), PUT (flags, cas, acquire, release),
// DELETE (recurse, cas). Writes answer true/false as Consul does.
#include "catalog/catalog_limits.h"
#include "http/render.h"
#include "http/routes.h"

namespace cairn::http {
namespace {

using catalog::KvOp;
using catalog::KvVerb;
using catalog::StateStore;

// Checks a key before it reaches the store, so a bad one is a 400 that consumes no index.
Status ValidateKey(const std::string& key, bool prefix) {
  if (key.empty() && !prefix) return Status::InvalidArgument("Missing key name");
  if (key.size() > catalog::limits::kKvKeyBytesMax) {
    return Status::InvalidArgument("Invalid key: " + std::to_string(key.size()) + " bytes, more than the " +
                                   std::to_string(catalog::limits::kKvKeyBytesMax) + " byte limit");
  }
  if (!IsValidUtf8(key)) return Status::InvalidArgument("Invalid key: not valid UTF-8");
  return OkStatus();
}

void GetOne(ApiContext& ctx, const Request& req, Response& res, const std::string& key) {
  std::optional<catalog::KvEntry> entry;
  auto read = [&](const StateStore& store) {
    auto got = store.KvGet(key);
    entry = std::move(got.value);
    return got.index;
  };
  if (!RunQuery(ctx, req, res, StateStore::TopicsForKvGet(key), read)) return;
  if (!entry) return ReplyText(res, 404, "");
  if (HasFlag(req, "raw")) {
    res.status = 200;
    return res.SetContent(entry->value, "application/octet-stream");
  }
  ReplyJson(res, Json::array({RenderKv(*entry)}));
}

void GetTree(ApiContext& ctx, const Request& req, Response& res, const std::string& prefix) {
  std::vector<catalog::KvEntry> entries;
  auto read = [&](const StateStore& store) {
    auto got = store.KvList(prefix);
    entries = std::move(got.value);
    return got.index;
  };
  if (!RunQuery(ctx, req, res, StateStore::TopicsForKvList(prefix), read)) return;
  if (entries.empty()) return ReplyText(res, 404, "");
  Json out = Json::array();
  for (const catalog::KvEntry& entry : entries) out.push_back(RenderKv(entry));
  ReplyJson(res, out);
}

void GetKeys(ApiContext& ctx, const Request& req, Response& res, const std::string& prefix) {
  const std::string separator = Param(req, "separator").value_or("");
  std::vector<std::string> keys;
  auto read = [&](const StateStore& store) {
    auto got = store.KvKeys(prefix, separator);
    keys = std::move(got.value);
    return got.index;
  };
  if (!RunQuery(ctx, req, res, StateStore::TopicsForKvList(prefix), read)) return;
  if (keys.empty()) return ReplyText(res, 404, "");
  ReplyJson(res, keys);
}

void KvGet(ApiContext& ctx, const Request& req, Response& res) {
  const std::string key = req.matches[1];
  const bool recurse = HasFlag(req, "recurse");
  const bool keys = HasFlag(req, "keys");
  if (Failed(res, ValidateKey(key, recurse || keys))) return;
  if (keys) return GetKeys(ctx, req, res, key);
  if (recurse) return GetTree(ctx, req, res, key);
  GetOne(ctx, req, res, key);
}

// Applies one KV write and answers Consul's true/false.
void ApplyKvWrite(ApiContext& ctx, Response& res, KvOp op) {
  std::optional<catalog::CommandResult> result = RunWrite(ctx, res, {0, catalog::KvCommand{std::move(op)}});
  if (!result) return;
  switch (result->outcome.code) {
    case catalog::OutcomeCode::kOk: return ReplyJson(res, true);
    case catalog::OutcomeCode::kRejected:
    case catalog::OutcomeCode::kLockDelay: return ReplyJson(res, false);
    default: return ReplyOutcome(res, result->outcome);
  }
}

Result<KvOp> PutOp(const ApiOptions& options, const Request& req) {
  KvOp op;
  op.key = req.matches[1];
  CAIRN_RETURN_IF_ERROR(ValidateKey(op.key, false));
  if (req.body.size() > options.kv_value_bytes_max) {
    return Status::ResourceExhausted("Value exceeds " + std::to_string(options.kv_value_bytes_max) + " byte limit (" +
                                     std::to_string(req.body.size()) + " bytes)");
  }
  op.value = req.body;
  CAIRN_ASSIGN_OR_RETURN(std::optional<uint64_t> flags, UintParam(req, "flags"));
  op.flags = flags.value_or(0);
  CAIRN_ASSIGN_OR_RETURN(std::optional<uint64_t> cas, UintParam(req, "cas"));
  std::optional<std::string> acquire = Param(req, "acquire");
  std::optional<std::string> release = Param(req, "release");
  if (acquire && release) return Status::InvalidArgument("Conflicting flags: ?acquire and ?release");
  if (cas) {
    op.verb = KvVerb::kCas;
    op.index = catalog::RaftIndex(*cas);
  }
  // As in Consul, a lock verb takes precedence over ?cas.
  if (acquire || release) {
    op.verb = acquire ? KvVerb::kLock : KvVerb::kUnlock;
    op.session = acquire ? *acquire : *release;
    if (op.session.empty())
      return Status::InvalidArgument("Missing session for ?" + std::string(acquire ? "acquire" : "release"));
  }
  return op;
}

void KvPut(ApiContext& ctx, const Request& req, Response& res) {
  Result<KvOp> op = PutOp(ctx.options, req);
  if (!op.IsOk() && op.GetStatus().Code() == StatusCode::kResourceExhausted) {
    return ReplyText(res, 413, op.GetStatus().Message());
  }
  if (Failed(res, op)) return;
  ApplyKvWrite(ctx, res, std::move(op).Value());
}

void KvDelete(ApiContext& ctx, const Request& req, Response& res) {
  KvOp op;
  op.key = req.matches[1];
  const bool recurse = HasFlag(req, "recurse");
  if (Failed(res, ValidateKey(op.key, recurse))) return;
  Result<std::optional<uint64_t>> cas = UintParam(req, "cas");
  if (Failed(res, cas)) return;
  op.verb = recurse ? KvVerb::kDeleteTree : KvVerb::kDelete;
  if (!recurse && *cas) {
    op.verb = KvVerb::kDeleteCas;
    op.index = catalog::RaftIndex(**cas);
  }
  ApplyKvWrite(ctx, res, std::move(op));
}

}  // namespace

void AddKvRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", R"(/v1/kv/(.*))", KvGet});
  routes.push_back({"PUT", R"(/v1/kv/(.*))", KvPut});
  routes.push_back({"DELETE", R"(/v1/kv/(.*))", KvDelete});
}

}  // namespace cairn::http
