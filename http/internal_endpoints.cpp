// Endpoints between agents, not part of Consul's API:
//   PUT /v1/internal/forward: a client agent's write (agent/forward.h). The body is the command
//     in its replicated encoding; the answer is the encoded result. A server that does not lead
//     hands it to the leader over the Raft peer link, where it is proposed or refused, never
//     passed on again.
//   GET /v1/internal/node-state/<node>: everything registered on a node, encoded
//     (catalog::EncodeNodeRegistrations), for a client agent's anti-entropy. An indexed read:
//     consistency modes and X-Consul-Index as every read.
#include "catalog/command.h"
#include "http/routes.h"

namespace cairn::http {
namespace {

using catalog::StateStore;
using catalog::Table;

void Forward(ApiContext& ctx, const Request& req, Response& res) {
  // A command that does not decode strictly is refused before it can reach the log.
  Result<catalog::Command> command = catalog::DecodeCommand(req.body);
  if (!command.IsOk()) return ReplyText(res, 400, "Invalid forwarded command: " + command.GetStatus().Message());
  Result<catalog::CommandResult> result = ctx.backend.Write(std::move(command).Value());
  if (Failed(res, result)) return;
  res.status = 200;
  res.SetContent(catalog::EncodeCommandResult(*result), "application/octet-stream");
}

void NodeState(ApiContext& ctx, const Request& req, Response& res) {
  const std::string name = req.matches[1];
  catalog::NodeRegistrations registrations;
  auto read = [&](const StateStore& store) {
    auto node = store.GetNode(name);
    auto services = store.NodeServices(name);
    auto checks = store.NodeChecks(name);
    registrations.node = std::move(node.value);
    registrations.services = std::move(services.value);
    registrations.checks = std::move(checks.value);
    return std::max({node.index, services.index, checks.index});
  };
  const auto topics = StateStore::TopicsForTables({Table::kNodes, Table::kServices, Table::kChecks});
  if (!RunQuery(ctx, req, res, topics, read)) return;
  res.status = 200;
  res.SetContent(catalog::EncodeNodeRegistrations(registrations), "application/octet-stream");
}

}  // namespace

void AddInternalRoutes(std::vector<Route>& routes) {
  routes.push_back({"PUT", "/v1/internal/forward", Forward});
  routes.push_back({"GET", R"(/v1/internal/node-state/(.+))", NodeState});
}

}  // namespace cairn::http
