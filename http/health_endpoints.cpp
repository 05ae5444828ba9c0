// /v1/health/*: node/<node>, checks/<service>, service/<service>, state/<state>.
#include "http/parse.h"
#include "http/render.h"
#include "http/routes.h"

namespace cairn::http {
namespace {

using catalog::Check;
using catalog::StateStore;
using catalog::Table;

using CheckList = std::function<catalog::Indexed<std::vector<Check>>(const StateStore&)>;

void ReplyChecks(ApiContext& ctx, const Request& req, Response& res, const std::vector<catalog::WatchTopic>& topics,
                 const CheckList& list) {
  std::vector<Check> checks;
  auto read = [&](const StateStore& store) {
    auto got = list(store);
    checks = std::move(got.value);
    return got.index;
  };
  if (!RunQuery(ctx, req, res, topics, read)) return;
  Json out = Json::array();
  for (const Check& check : checks) out.push_back(RenderCheck(check));
  ReplyJson(res, out);
}

void NodeHealth(ApiContext& ctx, const Request& req, Response& res) {
  const std::string node = req.matches[1];
  ReplyChecks(ctx, req, res, StateStore::TopicsForTables({Table::kChecks}),
              [&](const StateStore& store) { return store.NodeChecks(node); });
}

void ServiceChecks(ApiContext& ctx, const Request& req, Response& res) {
  const std::string service = req.matches[1];
  ReplyChecks(ctx, req, res, StateStore::TopicsForTables({Table::kChecks}),
              [&](const StateStore& store) { return store.ServiceChecks(service); });
}

void ChecksInState(ApiContext& ctx, const Request& req, Response& res) {
  const std::string state = req.matches[1];
  std::optional<catalog::HealthStatus> status;
  if (state != "any") {
    status = catalog::ParseHealthStatus(state);
    if (!status)
      return ReplyText(res, 400, "Invalid state: \"" + state + "\" (want any, passing, warning or critical)");
  }
  ReplyChecks(ctx, req, res, StateStore::TopicsForTables({Table::kChecks}),
              [&](const StateStore& store) { return store.ChecksInState(status); });
}

void ServiceHealth(ApiContext& ctx, const Request& req, Response& res) {
  const std::string name = req.matches[1];
  Result<catalog::StringMap> filter = NodeMetaFilter(req);
  if (Failed(res, filter)) return;
  std::vector<std::string> tags;
  for (size_t i = 0; i < req.ParamCount("tag"); ++i) tags.push_back(req.ParamValue("tag", i));
  // ?passing takes no value in Consul, but ?passing=false turns it off.
  const std::optional<std::string> passing = Param(req, "passing");
  const bool passing_only = passing && *passing != "false" && *passing != "0";
  std::vector<catalog::ServiceHealth> instances;
  auto read = [&](const StateStore& store) {
    auto got = store.ServiceHealthOf(name, std::nullopt, passing_only);
    instances = std::move(got.value);
    return got.index;
  };
  if (!RunQuery(ctx, req, res, StateStore::TopicsForService(name), read)) return;
  Json out = Json::array();
  for (const catalog::ServiceHealth& health : instances) {
    bool tagged = true;
    for (const std::string& tag : tags) {
      tagged =
          tagged && std::find(health.service.tags.begin(), health.service.tags.end(), tag) != health.service.tags.end();
    }
    if (tagged && MatchesMeta(health.node.meta, *filter)) out.push_back(RenderServiceHealth(health));
  }
  ReplyJson(res, out);
}

}  // namespace

void AddHealthRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", R"(/v1/health/node/(.+))", NodeHealth});
  routes.push_back({"GET", R"(/v1/health/checks/(.+))", ServiceChecks});
  routes.push_back({"GET", R"(/v1/health/service/(.+))", ServiceHealth});
  routes.push_back({"GET", R"(/v1/health/state/(.+))", ChecksInState});
}

}  // namespace cairn::http
