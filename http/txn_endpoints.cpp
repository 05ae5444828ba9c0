// /v1/txn: KV, Node, Service and Check operations applied all-or-nothing. A transaction of
// reads only is served through Backend::ReadTxn (no Raft round), as Consul does.
#include <set>

#include "http/parse.h"
#include "http/render.h"
#include "http/routes.h"

namespace cairn::http {
namespace {

using catalog::KvVerb;
using catalog::TxnOp;

// What one op contributes to the flat results list, so get-or-empty (run as a get-tree of
// its key, since the store has no such verb) can be narrowed back to the key itself.
struct OpShape {
  size_t fixed = 0;           // results a fixed-size op yields
  size_t item_kind = 0;       // its results' TxnResultItem alternative (0: KvEntry for `key`)
  bool variable = false;      // get-tree / get-or-empty: one result per key under `key`
  bool get_or_empty = false;  // keep only the entry for exactly `key`
  std::string key;
};

struct ParsedTxn {
  std::vector<TxnOp> ops;
  std::vector<OpShape> shapes;
  bool read_only = true;
};

const std::map<std::string, KvVerb>& KvVerbs() {
  static const std::map<std::string, KvVerb> verbs = {{"set", KvVerb::kSet},
                                                      {"cas", KvVerb::kCas},
                                                      {"lock", KvVerb::kLock},
                                                      {"unlock", KvVerb::kUnlock},
                                                      {"get", KvVerb::kGet},
                                                      {"get-or-empty", KvVerb::kGetTree},
                                                      {"get-tree", KvVerb::kGetTree},
                                                      {"check-index", KvVerb::kCheckIndex},
                                                      {"check-session", KvVerb::kCheckSession},
                                                      {"check-not-exists", KvVerb::kCheckNotExists},
                                                      {"delete", KvVerb::kDelete},
                                                      {"delete-tree", KvVerb::kDeleteTree},
                                                      {"delete-cas", KvVerb::kDeleteCas}};
  return verbs;
}

bool IsRead(KvVerb verb) {
  return verb == KvVerb::kGet || verb == KvVerb::kGetTree || verb == KvVerb::kCheckIndex ||
         verb == KvVerb::kCheckSession || verb == KvVerb::kCheckNotExists;
}

Status TooLarge(std::string message) { return Status::ResourceExhausted(std::move(message)); }

Status ParseKvOp(const ApiOptions& options, const Json& value, const std::string& what, ParsedTxn& txn) {
  CAIRN_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, what));
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> verb_name, fields.String("Verb"));
  auto verb = KvVerbs().find(verb_name.value_or(""));
  if (verb == KvVerbs().end())
    return Status::InvalidArgument(what + ": unknown KV verb \"" + verb_name.value_or("") + "\"");
  catalog::KvOp op;
  op.verb = verb->second;
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> key, fields.String("Key"));
  op.key = key.value_or("");
  if (!IsValidUtf8(op.key)) return Status::InvalidArgument(what + ": key is not valid UTF-8");
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> encoded, fields.String("Value"));
  if (encoded) {
    Result<std::string> decoded = Base64Decode(*encoded);
    if (!decoded.IsOk()) return Status::InvalidArgument(what + ": Value: " + decoded.GetStatus().Message());
    op.value = std::move(decoded).Value();
  }
  if (op.value.size() > options.kv_value_bytes_max) {
    return TooLarge(what + ": value exceeds " + std::to_string(options.kv_value_bytes_max) + " byte limit");
  }
  CAIRN_ASSIGN_OR_RETURN(std::optional<uint64_t> flags, fields.Uint("Flags"));
  op.flags = flags.value_or(0);
  CAIRN_ASSIGN_OR_RETURN(std::optional<uint64_t> index, fields.Uint("Index"));
  op.index = catalog::RaftIndex(index.value_or(0));
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> session, fields.String("Session"));
  op.session = session.value_or("");
  CAIRN_RETURN_IF_ERROR(fields.CheckAllUsed({"Namespace", "Partition"}));
  OpShape shape;
  shape.variable = op.verb == KvVerb::kGetTree;
  shape.get_or_empty = verb->first == "get-or-empty";
  shape.key = op.key;
  const bool yields_one = op.verb == KvVerb::kSet || op.verb == KvVerb::kCas || op.verb == KvVerb::kLock ||
                          op.verb == KvVerb::kUnlock || op.verb == KvVerb::kGet;
  shape.fixed = yields_one ? 1 : 0;
  txn.read_only = txn.read_only && IsRead(op.verb);
  txn.ops.emplace_back(std::move(op));
  txn.shapes.push_back(std::move(shape));
  return OkStatus();
}

// The catalog verbs Cairn's store runs: set, get, delete.
template <typename Verb>
Result<Verb> CatalogVerb(JsonFields& fields, const std::string& what) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> verb, fields.String("Verb"));
  if (verb == "set") return Verb::kSet;
  if (verb == "get") return Verb::kGet;
  if (verb == "delete") return Verb::kDelete;
  return Status::InvalidArgument(what + ": unsupported verb \"" + verb.value_or("") + "\"");
}

template <typename Verb>
void AddCatalogOp(ParsedTxn& txn, Verb verb, TxnOp op) {
  txn.read_only = txn.read_only && verb == Verb::kGet;
  // TxnResultItem holds KvEntry, Node, Service, Check; TxnOp holds KvOp, Node, Service, Check ops.
  txn.shapes.push_back({verb == Verb::kDelete ? size_t{0} : size_t{1}, op.index(), false, false, {}});
  txn.ops.push_back(std::move(op));
}

Status ParseCatalogOp(const std::string& kind, const Json& value, const std::string& what, ParsedTxn& txn) {
  CAIRN_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, what));
  const Json* body = fields.Raw(kind);
  if (!body) return Status::InvalidArgument(what + ": missing " + kind);
  if (kind == "Node") {
    catalog::NodeTxnOp op;
    CAIRN_ASSIGN_OR_RETURN(op.verb, CatalogVerb<catalog::NodeTxnOp::Verb>(fields, what));
    CAIRN_ASSIGN_OR_RETURN(op.node, ParseNode(*body, what + ".Node"));
    AddCatalogOp(txn, op.verb, op);
  } else if (kind == "Service") {
    catalog::ServiceTxnOp op;
    CAIRN_ASSIGN_OR_RETURN(op.verb, CatalogVerb<catalog::ServiceTxnOp::Verb>(fields, what));
    CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> node, fields.String("Node"));
    CAIRN_ASSIGN_OR_RETURN(op.service, ParseService(*body, "Service", what + ".Service"));
    op.service.node = node.value_or("");
    AddCatalogOp(txn, op.verb, op);
  } else {
    catalog::CheckTxnOp op;
    CAIRN_ASSIGN_OR_RETURN(op.verb, CatalogVerb<catalog::CheckTxnOp::Verb>(fields, what));
    CAIRN_ASSIGN_OR_RETURN(op.check, ParseCatalogCheck(*body, what + ".Check"));
    AddCatalogOp(txn, op.verb, op);
  }
  return fields.CheckAllUsed({"Namespace", "Partition"});
}

Result<ParsedTxn> ParseTxn(const ApiOptions& options, const Json& body) {
  if (!body.is_array())
    return Status::InvalidArgument("Request decode failed: the body must be a JSON array of operations");
  if (body.size() > options.txn_ops_max) {
    return TooLarge("Transaction contains too many operations (" + std::to_string(body.size()) + " > " +
                    std::to_string(options.txn_ops_max) + ")");
  }
  ParsedTxn txn;
  for (size_t i = 0; i < body.size(); ++i) {
    const std::string what = "operation " + std::to_string(i);
    CAIRN_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(body[i], what));
    std::vector<std::string> kinds;
    for (const char* kind : {"KV", "Node", "Service", "Check"}) {
      if (fields.Raw(kind)) kinds.emplace_back(kind);
    }
    CAIRN_RETURN_IF_ERROR(fields.CheckAllUsed());
    if (kinds.size() != 1) return Status::InvalidArgument(what + ": must hold exactly one of KV, Node, Service, Check");
    if (kinds[0] == "KV") {
      CAIRN_RETURN_IF_ERROR(ParseKvOp(options, *fields.Raw("KV"), what + ".KV", txn));
    } else {
      CAIRN_RETURN_IF_ERROR(ParseCatalogOp(kinds[0], *fields.Raw(kinds[0]), what + "." + kinds[0], txn));
    }
  }
  return txn;
}

// Splits the flat results list back into each op's share. Fixed ops yield entries of a known
// kind (a KV op's entry carries the op's key); get-tree / get-or-empty yield an ascending run
// of keys under their prefix. A depth-first search with memoized dead ends finds the split.
class ResultSplitter {
 public:
  ResultSplitter(const std::vector<OpShape>& shapes, const std::vector<catalog::TxnResultItem>& results)
      : shapes_(shapes), results_(results), spans_(shapes.size(), 0) {}

  // The number of results each op yielded, or nullopt when no split fits.
  std::optional<std::vector<size_t>> Split() {
    if (!Match(0, 0)) return std::nullopt;
    return spans_;
  }

 private:
  bool Fits(const OpShape& shape, const catalog::TxnResultItem& item) const {
    if (shape.item_kind != 0) return item.index() == shape.item_kind;
    const auto* kv = std::get_if<catalog::KvEntry>(&item);
    return kv && kv->key == shape.key;
  }

  // How long a run of ascending keys under the op's prefix starts at `pos`.
  size_t TreeRun(const OpShape& shape, size_t pos) const {
    size_t n = 0;
    for (; pos + n < results_.size(); ++n) {
      const auto* kv = std::get_if<catalog::KvEntry>(&results_[pos + n]);
      if (!kv || !kv->key.starts_with(shape.key)) break;
      if (n > 0 && !(std::get<catalog::KvEntry>(results_[pos + n - 1]).key < kv->key)) break;
    }
    return n;
  }

  bool Match(size_t op, size_t pos) {
    if (op == shapes_.size()) return pos == results_.size();
    if (dead_.contains({op, pos})) return false;
    const OpShape& shape = shapes_[op];
    if (!shape.variable) {
      bool fits = pos + shape.fixed <= results_.size();
      for (size_t k = 0; fits && k < shape.fixed; ++k) fits = Fits(shape, results_[pos + k]);
      if (fits && Match(op + 1, pos + shape.fixed)) {
        spans_[op] = shape.fixed;
        return true;
      }
    } else {
      for (size_t take = TreeRun(shape, pos) + 1; take-- > 0;) {
        if (Match(op + 1, pos + take)) {
          spans_[op] = take;
          return true;
        }
      }
    }
    dead_.insert({op, pos});
    return false;
  }

  const std::vector<OpShape>& shapes_;
  const std::vector<catalog::TxnResultItem>& results_;
  std::vector<size_t> spans_;
  std::set<std::pair<size_t, size_t>> dead_;
};

Json RenderResults(const ParsedTxn& txn, const std::vector<catalog::TxnResultItem>& results) {
  Json out = Json::array();
  std::optional<std::vector<size_t>> spans = ResultSplitter(txn.shapes, results).Split();
  if (!spans) {  // cannot happen for results the store produced; report them unfiltered
    for (const catalog::TxnResultItem& item : results) out.push_back(RenderTxnItem(item));
    return out;
  }
  size_t at = 0;
  for (size_t op = 0; op < txn.shapes.size(); ++op) {
    for (size_t i = at; i < at + (*spans)[op]; ++i) {
      const auto* kv = std::get_if<catalog::KvEntry>(&results[i]);
      if (txn.shapes[op].get_or_empty && (!kv || kv->key != txn.shapes[op].key)) continue;
      out.push_back(RenderTxnItem(results[i]));
    }
    at += (*spans)[op];
  }
  return out;
}

void ReplyTxn(Response& res, const ParsedTxn& txn, const catalog::TxnResult& result) {
  if (result.Committed()) return ReplyJson(res, {{"Results", RenderResults(txn, result.results)}, {"Errors", nullptr}});
  Json errors = Json::array();
  for (const catalog::TxnError& error : result.errors)
    errors.push_back({{"OpIndex", error.op_index}, {"What", error.what}});
  ReplyJson(res, {{"Results", nullptr}, {"Errors", errors}}, 409);
}

void Txn(ApiContext& ctx, const Request& req, Response& res) {
  std::optional<Json> body = BodyJson(req, res);
  if (!body) return;
  Result<ParsedTxn> txn = ParseTxn(ctx.options, *body);
  if (!txn.IsOk() && txn.GetStatus().Code() == StatusCode::kResourceExhausted) {
    return ReplyText(res, 413, txn.GetStatus().Message());
  }
  if (Failed(res, txn)) return;
  if (txn->read_only) {
    Result<QueryOptions> options = ParseQueryOptions(req, ctx.options.blocking);
    if (Failed(res, options)) return;
    options->min_index = 0;  // a transaction never blocks
    auto read = ctx.backend.ReadTxn(*options, txn->ops);
    if (Failed(res, read)) return;
    SetQueryMeta(res, read->second);
    return ReplyTxn(res, *txn, read->first);
  }
  std::optional<catalog::CommandResult> result = RunWrite(ctx, res, {0, catalog::TxnCommand{txn->ops}});
  if (!result) return;
  if (!result->txn) return ReplyOutcome(res, result->outcome);
  ReplyTxn(res, *txn, *result->txn);
}

}  // namespace

void AddTxnRoutes(std::vector<Route>& routes) { routes.push_back({"PUT", "/v1/txn", Txn}); }

}  // namespace cairn::http
