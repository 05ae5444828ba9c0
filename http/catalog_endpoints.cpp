// /v1/catalog/*: register, deregister, datacenters, nodes, services, service/<name>,
// node/<name>.
#include "http/parse.h"
#include "http/render.h"
#include "http/routes.h"

namespace cairn::http {
namespace {

using catalog::StateStore;
using catalog::Table;

Status ReadChecks(JsonFields& fields, catalog::Registration& registration) {
  if (const Json* check = fields.Raw("Check")) {
    CAIRN_ASSIGN_OR_RETURN(catalog::Check parsed, ParseCatalogCheck(*check, "Check"));
    registration.checks.push_back(std::move(parsed));
  }
  if (const Json* checks = fields.Raw("Checks")) {
    if (!checks->is_array()) return Status::InvalidArgument("Request decode failed: Checks must be an array");
    for (size_t i = 0; i < checks->size(); ++i) {
      CAIRN_ASSIGN_OR_RETURN(catalog::Check parsed,
                             ParseCatalogCheck((*checks)[i], "Checks[" + std::to_string(i) + "]"));
      registration.checks.push_back(std::move(parsed));
    }
  }
  for (catalog::Check& check : registration.checks) {
    if (check.node.empty()) check.node = registration.node.name;
    if (check.node != registration.node.name) {
      return Status::InvalidArgument("Check " + check.check_id + " is for node \"" + check.node + "\", not \"" +
                                     registration.node.name + "\"");
    }
  }
  return OkStatus();
}

Result<catalog::Registration> ParseRegistration(const Json& body) {
  CAIRN_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(body, "registration"));
  catalog::Registration registration;
  catalog::Node& node = registration.node;
  for (auto [name, target] : {std::pair{"Node", &node.name}, std::pair{"ID", &node.id},
                              std::pair{"Address", &node.address}, std::pair{"Datacenter", &node.datacenter}}) {
    CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> value, fields.String(name));
    *target = value.value_or("");
  }
  if (node.name.empty()) return Status::InvalidArgument("Must provide node");
  if (node.address.empty()) return Status::InvalidArgument("Must provide address");
  CAIRN_ASSIGN_OR_RETURN(std::optional<catalog::StringMap> tagged, fields.Map("TaggedAddresses"));
  node.tagged_addresses = tagged.value_or(catalog::StringMap{});
  CAIRN_ASSIGN_OR_RETURN(std::optional<catalog::StringMap> meta, fields.Map("NodeMeta"));
  node.meta = meta.value_or(catalog::StringMap{});
  if (const Json* service = fields.Raw("Service")) {
    CAIRN_ASSIGN_OR_RETURN(registration.service, ParseService(*service, "Service", "Service"));
    registration.service->node = node.name;
    if (registration.service->name.empty()) return Status::InvalidArgument("Must provide service name");
  }
  CAIRN_RETURN_IF_ERROR(ReadChecks(fields, registration));
  CAIRN_RETURN_IF_ERROR(fields.CheckAllUsed({"SkipNodeUpdate", "Namespace", "Partition", "Locality", "PeerName"}));
  return registration;
}

void Register(ApiContext& ctx, const Request& req, Response& res) {
  std::optional<Json> body = BodyJson(req, res);
  if (!body) return;
  Result<catalog::Registration> registration = ParseRegistration(*body);
  if (Failed(res, registration)) return;
  std::optional<catalog::CommandResult> result =
      RunWrite(ctx, res, {0, catalog::RegisterCommand{std::move(registration).Value()}});
  if (result) ReplyOutcome(res, result->outcome);
}

Result<catalog::DeregisterCommand> ParseDeregistration(const Json& body) {
  CAIRN_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(body, "deregistration"));
  catalog::DeregisterCommand command;
  for (auto [name, target] : {std::pair{"Node", &command.node}, std::pair{"ServiceID", &command.service_id},
                              std::pair{"CheckID", &command.check_id}}) {
    CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> value, fields.String(name));
    *target = value.value_or("");
  }
  CAIRN_RETURN_IF_ERROR(fields.CheckAllUsed({"Datacenter", "Namespace", "Partition", "PeerName"}));
  if (command.node.empty()) return Status::InvalidArgument("Must provide node");
  if (!command.service_id.empty() && !command.check_id.empty()) {
    return Status::InvalidArgument("Provide either ServiceID or CheckID, not both");
  }
  return command;
}

void Deregister(ApiContext& ctx, const Request& req, Response& res) {
  std::optional<Json> body = BodyJson(req, res);
  if (!body) return;
  Result<catalog::DeregisterCommand> command = ParseDeregistration(*body);
  if (Failed(res, command)) return;
  std::optional<catalog::CommandResult> result = RunWrite(ctx, res, {0, std::move(command).Value()});
  if (!result) return;
  // Removing what is not there succeeds, as in Consul.
  if (result->outcome.code == catalog::OutcomeCode::kNotFound) return ReplyJson(res, true);
  ReplyOutcome(res, result->outcome);
}

void Nodes(ApiContext& ctx, const Request& req, Response& res) {
  Result<catalog::StringMap> filter = NodeMetaFilter(req);
  if (Failed(res, filter)) return;
  std::vector<catalog::Node> nodes;
  auto read = [&](const StateStore& store) {
    auto got = store.Nodes();
    nodes = std::move(got.value);
    return got.index;
  };
  if (!RunQuery(ctx, req, res, StateStore::TopicsForTables({Table::kNodes}), read)) return;
  Json out = Json::array();
  for (const catalog::Node& node : nodes) {
    if (MatchesMeta(node.meta, *filter)) out.push_back(RenderNode(node));
  }
  ReplyJson(res, out);
}

// Service name -> union of tags; with ?node-meta only instances on matching nodes count.
void Services(ApiContext& ctx, const Request& req, Response& res) {
  Result<catalog::StringMap> filter = NodeMetaFilter(req);
  if (Failed(res, filter)) return;
  std::map<std::string, std::set<std::string>> services;
  auto read = [&](const StateStore& store) {
    services.clear();
    auto all = store.Services();
    if (filter->empty()) {
      for (const auto& [name, tags] : all.value) services[name].insert(tags.begin(), tags.end());
      return all.index;
    }
    auto nodes = store.Nodes();
    for (const catalog::Node& node : nodes.value) {
      if (!MatchesMeta(node.meta, *filter)) continue;
      for (const catalog::Service& s : store.NodeServices(node.name).value)
        services[s.name].insert(s.tags.begin(), s.tags.end());
    }
    return std::max(all.index, nodes.index);
  };
  if (!RunQuery(ctx, req, res, StateStore::TopicsForTables({Table::kServices, Table::kNodes}), read)) return;
  Json out = Json::object();
  for (const auto& [name, tags] : services) out[name] = Json(std::vector<std::string>(tags.begin(), tags.end()));
  ReplyJson(res, out);
}

bool HasAllTags(const catalog::Service& service, const std::vector<std::string>& tags) {
  for (const std::string& tag : tags) {
    if (std::find(service.tags.begin(), service.tags.end(), tag) == service.tags.end()) return false;
  }
  return true;
}

std::vector<std::string> TagParams(const Request& req) {
  std::vector<std::string> tags;
  for (size_t i = 0; i < req.ParamCount("tag"); ++i) tags.push_back(req.ParamValue("tag", i));
  return tags;
}

void Service(ApiContext& ctx, const Request& req, Response& res) {
  const std::string name = req.matches[1];
  Result<catalog::StringMap> filter = NodeMetaFilter(req);
  if (Failed(res, filter)) return;
  const std::vector<std::string> tags = TagParams(req);
  std::vector<catalog::ServiceInstance> instances;
  auto read = [&](const StateStore& store) {
    auto got = store.ServiceNodes(name);
    instances = std::move(got.value);
    return got.index;
  };
  if (!RunQuery(ctx, req, res, StateStore::TopicsForService(name), read)) return;
  Json out = Json::array();
  for (const catalog::ServiceInstance& instance : instances) {
    if (HasAllTags(instance.service, tags) && MatchesMeta(instance.node.meta, *filter)) {
      out.push_back(RenderServiceInstance(instance));
    }
  }
  ReplyJson(res, out);
}

void Node(ApiContext& ctx, const Request& req, Response& res) {
  const std::string name = req.matches[1];
  std::optional<catalog::Node> node;
  std::vector<catalog::Service> services;
  auto read = [&](const StateStore& store) {
    auto got = store.GetNode(name);
    auto on_node = store.NodeServices(name);
    node = std::move(got.value);
    services = std::move(on_node.value);
    return std::max(got.index, on_node.index);
  };
  if (!RunQuery(ctx, req, res, StateStore::TopicsForTables({Table::kNodes, Table::kServices}), read)) return;
  // An unknown node is a JSON null, as Consul answers it.
  if (!node) return ReplyJson(res, nullptr);
  Json by_id = Json::object();
  for (const catalog::Service& service : services) by_id[service.id] = RenderService(service);
  ReplyJson(res, {{"Node", RenderNode(*node)}, {"Services", by_id}});
}

}  // namespace

void AddCatalogRoutes(std::vector<Route>& routes) {
  routes.push_back({"PUT", "/v1/catalog/register", Register});
  routes.push_back({"PUT", "/v1/catalog/deregister", Deregister});
  routes.push_back({"GET", "/v1/catalog/datacenters",
                    [](ApiContext& ctx, const Request&, Response& res) { ReplyJson(res, ctx.backend.Datacenters()); }});
  routes.push_back({"GET", "/v1/catalog/nodes", Nodes});
  routes.push_back({"GET", "/v1/catalog/services", Services});
  routes.push_back({"GET", R"(/v1/catalog/service/(.+))", Service});
  routes.push_back({"GET", R"(/v1/catalog/node/(.+))", Node});
}

}  // namespace cairn::http
