// /v1/status/leader, /v1/status/peers, /v1/operator/raft/configuration and
// DELETE /v1/operator/raft/peer.
#include "http/routes.h"

namespace cairn::http {
namespace {

void Leader(ApiContext& ctx, const Request&, Response& res) { ReplyJson(res, ctx.backend.LeaderAddress()); }

void Peers(ApiContext& ctx, const Request&, Response& res) {
  Json out = Json::array();
  for (const RaftServer& server : ctx.backend.RaftConfiguration().servers) {
    if (server.voter) out.push_back(server.address);
  }
  ReplyJson(res, out);
}

void RaftConfiguration(ApiContext& ctx, const Request&, Response& res) {
  const RaftConfigurationView configuration = ctx.backend.RaftConfiguration();
  Json servers = Json::array();
  for (const RaftServer& server : configuration.servers) {
    servers.push_back({{"ID", server.id},
                       {"Node", server.node},
                       {"Address", server.address},
                       {"Leader", server.leader},
                       {"Voter", server.voter},
                       {"ProtocolVersion", "3"}});
  }
  ReplyJson(res, {{"Servers", servers}, {"Index", configuration.index}});
}

void RemovePeer(ApiContext& ctx, const Request& req, Response& res) {
  const std::string id = Param(req, "id").value_or("");
  const std::string address = Param(req, "address").value_or("");
  if (id.empty() == address.empty()) {
    return ReplyText(res, 400,
                     "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove");
  }
  Status status = ctx.backend.RemoveRaftPeer(id, address);
  if (Failed(res, status)) return;
  ReplyText(res, 200, "");
}

}  // namespace

void AddStatusRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/v1/status/leader", Leader});
  routes.push_back({"GET", "/v1/status/peers", Peers});
  routes.push_back({"GET", "/v1/operator/raft/configuration", RaftConfiguration});
  routes.push_back({"DELETE", "/v1/operator/raft/peer", RemovePeer});
}

}  // namespace cairn::http
