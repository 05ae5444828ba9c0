// /v1/session/*: create, destroy, info, node, list, renew.
#include "catalog/catalog_limits.h"
#include "http/json_fields.h"
#include "http/render.h"
#include "http/routes.h"

namespace cairn::http {
namespace {

using catalog::Session;
using catalog::StateStore;
using catalog::Table;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// Consul reads a bare LockDelay number below this as seconds, anything else as nanoseconds.
constexpr uint64_t kLockDelaySecondsBelow = 1000;

Status InvalidTtl(const std::string& text) {
  return Status::InvalidArgument("Invalid Session TTL '" + text + "', must be between [" +
                                 FormatDuration(milliseconds(catalog::limits::kSessionTtlMillisMin)) + "=" +
                                 FormatDuration(milliseconds(catalog::limits::kSessionTtlMillisMax)) + "]");
}

Status ReadTtl(JsonFields& fields, Session& session) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> text, fields.String("TTL"));
  if (!text || text->empty()) return OkStatus();
  Result<nanoseconds> ttl = ParseDuration(*text);
  if (!ttl.IsOk()) return InvalidTtl(*text);
  const int64_t millis = duration_cast<milliseconds>(*ttl).count();
  if (ttl->count() == 0) return OkStatus();
  if (millis < catalog::limits::kSessionTtlMillisMin || millis > catalog::limits::kSessionTtlMillisMax) {
    return InvalidTtl(*text);
  }
  session.ttl_millis = millis;
  return OkStatus();
}

Status ReadLockDelay(JsonFields& fields, Session& session) {
  const Json* raw = fields.Raw("LockDelay");
  if (!raw) return OkStatus();
  const bool small_number = raw->is_number_unsigned() && raw->get<uint64_t>() < kLockDelaySecondsBelow;
  CAIRN_ASSIGN_OR_RETURN(std::optional<nanoseconds> delay,
                         fields.Duration("LockDelay", small_number ? nanoseconds(1'000'000'000) : nanoseconds(1)));
  // Consul clamps a longer lock-delay to its maximum rather than refusing it.
  session.lock_delay_millis = std::min<int64_t>(duration_cast<milliseconds>(delay.value_or(nanoseconds(0))).count(),
                                                catalog::limits::kSessionLockDelayMillisMax);
  return OkStatus();
}

// Fills `session` from the body; `checks_given` tells whether the body named any checks.
Status ParseSessionBody(const std::string& body, Session& session, bool& checks_given) {
  if (body.empty()) return OkStatus();
  CAIRN_ASSIGN_OR_RETURN(Json json, ParseJsonBody(body));
  CAIRN_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(json, "session"));
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> name, fields.String("Name"));
  session.name = name.value_or("");
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> node, fields.String("Node"));
  session.node = node.value_or("");
  for (const char* field : {"Checks", "NodeChecks"}) {
    CAIRN_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> checks, fields.Strings(field));
    if (!checks) continue;
    checks_given = true;
    session.checks.insert(session.checks.end(), checks->begin(), checks->end());
  }
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> behavior, fields.String("Behavior"));
  if (behavior && *behavior != "" && *behavior != "release" && *behavior != "delete") {
    return Status::InvalidArgument("Invalid Behavior setting '" + *behavior + "'");
  }
  session.behavior = behavior == "delete" ? catalog::SessionBehavior::kDelete : catalog::SessionBehavior::kRelease;
  CAIRN_RETURN_IF_ERROR(ReadTtl(fields, session));
  CAIRN_RETURN_IF_ERROR(ReadLockDelay(fields, session));
  if (fields.Has("ServiceChecks")) return Status::InvalidArgument("ServiceChecks are not supported");
  return fields.CheckAllUsed({"Namespace", "Partition", "ServiceChecks"});
}

// Consul ties a session to "serfHealth" by default. Cairn adds it only when that check is in
// the catalog: without it every default session create would fail on a missing check.
Result<bool> NodeHasSerfHealth(Backend& backend, const std::string& node) {
  bool found = false;
  QueryOptions options;
  options.consistency = Consistency::kStale;
  auto read = [&](const StateStore& store) {
    auto checks = store.NodeChecks(node);
    for (const catalog::Check& check : checks.value) found = found || check.check_id == "serfHealth";
    return checks.index;
  };
  CAIRN_ASSIGN_OR_RETURN(QueryMeta meta, backend.Query(options, {}, read));
  (void)meta;
  return found;
}

void Create(ApiContext& ctx, const Request& req, Response& res) {
  Session session;
  bool checks_given = false;
  if (Failed(res, ParseSessionBody(req.body, session, checks_given))) return;
  if (session.node.empty()) session.node = ctx.backend.Self().node_name;
  if (!checks_given) {
    Result<bool> serf = NodeHasSerfHealth(ctx.backend, session.node);
    if (Failed(res, serf)) return;
    if (*serf) session.checks.push_back("serfHealth");
  }
  std::optional<catalog::CommandResult> result = RunWrite(ctx, res, {0, catalog::SessionCreateCommand{session}});
  if (!result) return;
  // Consul answers a missing node or check with a 500 naming it.
  if (result->outcome.code == catalog::OutcomeCode::kNotFound) return ReplyText(res, 500, result->outcome.message);
  if (!result->outcome.Ok()) return ReplyOutcome(res, result->outcome);
  ReplyJson(res, {{"ID", result->session_id}});
}

void Destroy(ApiContext& ctx, const Request& req, Response& res) {
  std::optional<catalog::CommandResult> result =
      RunWrite(ctx, res, {0, catalog::SessionDestroyCommand{std::string(req.matches[1])}});
  if (!result) return;
  // Destroying a session that is already gone succeeds, as in Consul.
  if (result->outcome.code == catalog::OutcomeCode::kNotFound) return ReplyJson(res, true);
  ReplyOutcome(res, result->outcome);
}

void ReplySessions(ApiContext& ctx, const Request& req, Response& res,
                   const std::function<catalog::Indexed<std::vector<Session>>(const StateStore&)>& list) {
  std::vector<Session> sessions;
  auto read = [&](const StateStore& store) {
    auto got = list(store);
    sessions = std::move(got.value);
    return got.index;
  };
  if (!RunQuery(ctx, req, res, StateStore::TopicsForTables({Table::kSessions}), read)) return;
  Json out = Json::array();
  for (const Session& session : sessions) out.push_back(RenderSession(session));
  ReplyJson(res, out);
}

void Info(ApiContext& ctx, const Request& req, Response& res) {
  const std::string id = req.matches[1];
  ReplySessions(ctx, req, res, [&](const StateStore& store) {
    auto got = store.SessionInfo(id);
    std::vector<Session> out;
    if (got.value) out.push_back(*got.value);
    return catalog::Indexed<std::vector<Session>>{out, got.index};
  });
}

void Renew(ApiContext& ctx, const Request& req, Response& res) {
  const std::string id = req.matches[1];
  Result<Session> session = ctx.backend.RenewSession(id);
  if (!session.IsOk() && session.GetStatus().Code() == StatusCode::kNotFound) {
    return ReplyText(res, 404, "Session id '" + id + "' not found");
  }
  if (Failed(res, session)) return;
  ReplyJson(res, Json::array({RenderSession(*session)}));
}

}  // namespace

void AddSessionRoutes(std::vector<Route>& routes) {
  routes.push_back({"PUT", "/v1/session/create", Create});
  routes.push_back({"PUT", R"(/v1/session/destroy/(.+))", Destroy});
  routes.push_back({"GET", R"(/v1/session/info/(.+))", Info});
  routes.push_back({"GET", R"(/v1/session/node/(.+))", [](ApiContext& ctx, const Request& req, Response& res) {
                      const std::string node = req.matches[1];
                      ReplySessions(ctx, req, res, [&](const StateStore& store) { return store.NodeSessions(node); });
                    }});
  routes.push_back({"GET", "/v1/session/list", [](ApiContext& ctx, const Request& req, Response& res) {
                      ReplySessions(ctx, req, res, [](const StateStore& store) { return store.Sessions(); });
                    }});
  routes.push_back({"PUT", R"(/v1/session/renew/(.+))", Renew});
}

}  // namespace cairn::http
