// /v1/agent/*: the local agent's view (self, members), membership changes (join, leave,
// force-leave) and the services and checks the agent owns.
#include <set>

#include "http/parse.h"
#include "http/render.h"
#include "http/routes.h"

namespace cairn::http {
namespace {

Json RenderMember(const Member& member) {
  return {{"Name", member.name},
          {"Addr", member.address},
          {"Port", member.port},
          {"Tags", member.tags},
          {"Status", member.status}};
}

void Self(ApiContext& ctx, const Request&, Response& res) {
  const AgentInfo self = ctx.backend.Self();
  Json member = {
      {"Name", self.node_name}, {"Addr", self.advertise_address}, {"Port", 0}, {"Tags", Json::object()}, {"Status", 1}};
  for (const Member& m : ctx.backend.Members()) {
    if (m.name == self.node_name) member = RenderMember(m);
  }
  ReplyJson(res, {{"Config",
                   {{"Datacenter", self.datacenter},
                    {"NodeName", self.node_name},
                    {"NodeID", self.node_id},
                    {"Server", self.server},
                    {"Version", self.version},
                    {"AdvertiseAddr", self.advertise_address},
                    {"HTTPPort", self.http_port}}},
                  {"Member", member},
                  {"Stats", self.stats}});
}

void Members(ApiContext& ctx, const Request&, Response& res) {
  Json out = Json::array();
  for (const Member& member : ctx.backend.Members()) out.push_back(RenderMember(member));
  ReplyJson(res, out);
}

// Replies 200 with an empty body on success, as Consul's agent write endpoints do.
void ReplyStatus(Response& res, const Status& status) {
  if (Failed(res, status)) return;
  ReplyText(res, 200, "");
}

// The service's checks: "Check" and "Checks", named and tied to the service as Consul does.
Result<std::vector<LocalCheck>> ServiceChecks(JsonFields& fields, const catalog::Service& service) {
  std::vector<const Json*> definitions;
  if (const Json* check = fields.Raw("Check")) definitions.push_back(check);
  if (const Json* checks = fields.Raw("Checks")) {
    if (!checks->is_array()) return Status::InvalidArgument("Request decode failed: Checks must be an array");
    for (const Json& check : *checks) definitions.push_back(&check);
  }
  std::vector<LocalCheck> out;
  for (size_t i = 0; i < definitions.size(); ++i) {
    CAIRN_ASSIGN_OR_RETURN(LocalCheck local, ParseLocalCheck(*definitions[i], "Check " + std::to_string(i)));
    catalog::Check& check = local.check;
    if (!check.service_id.empty() && check.service_id != service.id) {
      return Status::InvalidArgument("Check " + std::to_string(i) + " names service " + check.service_id);
    }
    check.service_id = service.id;
    if (check.check_id.empty()) {
      check.check_id = "service:" + service.id + (definitions.size() > 1 ? ":" + std::to_string(i + 1) : "");
    }
    if (check.name.empty()) check.name = "Service '" + service.name + "' check";
    out.push_back(std::move(local));
  }
  return out;
}

void RegisterService(ApiContext& ctx, const Request& req, Response& res) {
  std::optional<Json> body = BodyJson(req, res);
  if (!body) return;
  Result<catalog::Service> service = ParseService(*body, "Name", "service", {"Check", "Checks"});
  if (Failed(res, service)) return;
  if (service->name.empty()) return ReplyText(res, 400, "Missing service name");
  Result<JsonFields> fields = JsonFields::Of(*body, "service");
  if (Failed(res, fields)) return;
  Result<std::vector<LocalCheck>> checks = ServiceChecks(*fields, *service);
  if (Failed(res, checks)) return;
  ReplyStatus(res, ctx.backend.RegisterLocalService(std::move(service).Value(), std::move(checks).Value()));
}

void RegisterCheck(ApiContext& ctx, const Request& req, Response& res) {
  std::optional<Json> body = BodyJson(req, res);
  if (!body) return;
  Result<LocalCheck> check = ParseLocalCheck(*body, "check");
  if (Failed(res, check)) return;
  if (check->check.name.empty()) return ReplyText(res, 400, "Missing check name");
  if (check->check.check_id.empty()) check->check.check_id = check->check.name;
  ReplyStatus(res, ctx.backend.RegisterLocalCheck(std::move(check).Value()));
}

Handler TtlUpdate(catalog::HealthStatus status) {
  return [status](ApiContext& ctx, const Request& req, Response& res) {
    ReplyStatus(res, ctx.backend.UpdateLocalCheck(req.matches[1], status, Param(req, "note").value_or("")));
  };
}

Status ParseUpdate(const std::string& body, catalog::HealthStatus& status, std::string& output) {
  CAIRN_ASSIGN_OR_RETURN(Json json, ParseJsonBody(body));
  CAIRN_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(json, "check update"));
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> name, fields.String("Status"));
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> text, fields.String("Output"));
  CAIRN_RETURN_IF_ERROR(fields.CheckAllUsed());
  if (!name) return Status::InvalidArgument("Missing Status");
  CAIRN_ASSIGN_OR_RETURN(status, ParseStatus(*name));
  output = text.value_or("");
  return OkStatus();
}

void UpdateCheck(ApiContext& ctx, const Request& req, Response& res) {
  catalog::HealthStatus status = catalog::HealthStatus::kCritical;
  std::string output;
  if (Failed(res, ParseUpdate(req.body, status, output))) return;
  ReplyStatus(res, ctx.backend.UpdateLocalCheck(req.matches[1], status, std::move(output)));
}

void ServicesView(ApiContext& ctx, const Request&, Response& res) {
  Json out = Json::object();
  for (const catalog::Service& service : ctx.backend.LocalServices()) out[service.id] = RenderService(service);
  ReplyJson(res, out);
}

void ChecksView(ApiContext& ctx, const Request&, Response& res) {
  Json out = Json::object();
  for (const LocalCheck& check : ctx.backend.LocalChecks()) out[check.check.check_id] = RenderLocalCheck(check);
  ReplyJson(res, out);
}

}  // namespace

// Consul before 1.0 also took these agent writes as GET, and clients written for it still send
// GET (Debian's python3-consul 0.7 does for join, force-leave, deregister and TTL updates).
// The same handlers answer both methods.
static void AddLegacyGetAliases(std::vector<Route>& routes) {
  static const std::set<std::string> kLegacy = {R"(/v1/agent/join/(.+))",
                                                R"(/v1/agent/force-leave/(.+))",
                                                R"(/v1/agent/service/deregister/(.+))",
                                                R"(/v1/agent/check/deregister/(.+))",
                                                R"(/v1/agent/check/pass/(.+))",
                                                R"(/v1/agent/check/warn/(.+))",
                                                R"(/v1/agent/check/fail/(.+))"};
  std::vector<Route> aliases;
  for (const Route& route : routes) {
    if (route.method == "PUT" && kLegacy.contains(route.pattern))
      aliases.push_back({"GET", route.pattern, route.handler});
  }
  routes.insert(routes.end(), aliases.begin(), aliases.end());
}

void AddAgentRoutes(std::vector<Route>& routes) {
  using Req = const Request&;
  using Res = Response&;
  routes.push_back({"GET", "/v1/agent/self", Self});
  routes.push_back({"GET", "/v1/agent/members", Members});
  routes.push_back({"PUT", R"(/v1/agent/join/(.+))",
                    [](ApiContext& ctx, Req req, Res res) { ReplyStatus(res, ctx.backend.Join(req.matches[1])); }});
  routes.push_back(
      {"PUT", "/v1/agent/leave", [](ApiContext& ctx, Req, Res res) { ReplyStatus(res, ctx.backend.Leave()); }});
  routes.push_back({"PUT", R"(/v1/agent/force-leave/(.+))", [](ApiContext& ctx, Req req, Res res) {
                      ReplyStatus(res, ctx.backend.ForceLeave(req.matches[1]));
                    }});
  routes.push_back({"GET", "/v1/agent/services", ServicesView});
  routes.push_back({"GET", "/v1/agent/checks", ChecksView});
  routes.push_back({"PUT", "/v1/agent/service/register", RegisterService});
  routes.push_back({"PUT", R"(/v1/agent/service/deregister/(.+))", [](ApiContext& ctx, Req req, Res res) {
                      ReplyStatus(res, ctx.backend.DeregisterLocalService(req.matches[1]));
                    }});
  routes.push_back({"PUT", "/v1/agent/check/register", RegisterCheck});
  routes.push_back({"PUT", R"(/v1/agent/check/deregister/(.+))", [](ApiContext& ctx, Req req, Res res) {
                      ReplyStatus(res, ctx.backend.DeregisterLocalCheck(req.matches[1]));
                    }});
  routes.push_back({"PUT", R"(/v1/agent/check/pass/(.+))", TtlUpdate(catalog::HealthStatus::kPassing)});
  routes.push_back({"PUT", R"(/v1/agent/check/warn/(.+))", TtlUpdate(catalog::HealthStatus::kWarning)});
  routes.push_back({"PUT", R"(/v1/agent/check/fail/(.+))", TtlUpdate(catalog::HealthStatus::kCritical)});
  routes.push_back({"PUT", R"(/v1/agent/check/update/(.+))", UpdateCheck});
  AddLegacyGetAliases(routes);
}

}  // namespace cairn::http
