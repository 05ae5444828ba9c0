// catalog nodes / services and operator raft list-peers / remove-peer.
#include <ostream>

#include "agent/cli/commands.h"
#include "agent/cli/format.h"

namespace cairn::cli {
namespace {

// GETs `path` and returns the body of a 2xx reply.
Result<std::string> FetchBody(Invocation& inv, const std::string& path, const QueryParams& params) {
  CAIRN_ASSIGN_OR_RETURN(HttpReply reply, inv.client.Get(WithQuery(path, params)));
  if (reply.status / 100 != 2) return UnexpectedReply(reply);
  return std::move(reply.body);
}

int NoArguments(const Invocation& inv) {
  const size_t count = inv.args.positional.size();
  return inv.Fail("Error! Too many arguments (expected 0, got " + std::to_string(count) + ")");
}

int CatalogNodes(Invocation& inv) {
  if (!inv.args.positional.empty()) return NoArguments(inv);
  Result<std::string> body = FetchBody(inv, "/v1/catalog/nodes", inv.BaseParams());
  if (!body.IsOk()) return inv.Fail("Error listing nodes: " + body.GetStatus().Message());
  Result<std::string> table = FormatCatalogNodes(*body, inv.args.Bool("detailed"));
  if (!table.IsOk()) return inv.Fail("Error listing nodes: " + table.GetStatus().Message());
  // Consul reports an empty result on stderr but still exits 0: an empty catalog is not an error.
  if (table->find('\n') + 1 == table->size()) {
    inv.err << "No nodes match the given query - try expanding your search.\n";
    return 0;
  }
  inv.out << *table;
  return 0;
}

int CatalogServices(Invocation& inv) {
  if (!inv.args.positional.empty()) return NoArguments(inv);
  Result<std::string> body = FetchBody(inv, "/v1/catalog/services", inv.BaseParams());
  if (!body.IsOk()) return inv.Fail("Error listing services: " + body.GetStatus().Message());
  Result<std::string> table = FormatCatalogServices(*body, inv.args.Bool("tags"));
  if (!table.IsOk()) return inv.Fail("Error listing services: " + table.GetStatus().Message());
  if (table->empty()) {
    inv.err << "No services match the given query - try expanding your search.\n";
    return 0;
  }
  inv.out << *table;
  return 0;
}

int RaftListPeers(Invocation& inv) {
  if (!inv.args.positional.empty()) return NoArguments(inv);
  Result<std::string> body = FetchBody(inv, "/v1/operator/raft/configuration", inv.BaseParams());
  if (!body.IsOk()) return inv.Fail("Error getting peers: " + body.GetStatus().Message());
  Result<std::string> table = FormatRaftPeers(*body);
  if (!table.IsOk()) return inv.Fail("Error getting peers: " + table.GetStatus().Message());
  inv.out << *table;
  return 0;
}

int RaftRemovePeer(Invocation& inv) {
  if (!inv.args.positional.empty()) return NoArguments(inv);
  const std::string address = inv.args.String("address");
  const std::string id = inv.args.String("id");
  if (address.empty() == id.empty()) return inv.Fail("Error! Exactly one of -address or -id must be given");
  const char* field = id.empty() ? "address" : "id";
  const std::string& value = id.empty() ? address : id;
  QueryParams params = inv.BaseParams();
  params.emplace_back(field, value);
  Result<HttpReply> reply = inv.client.Delete(WithQuery("/v1/operator/raft/peer", params));
  Status failure = !reply.IsOk() ? reply.GetStatus() : reply->status / 100 != 2 ? UnexpectedReply(*reply) : OkStatus();
  if (!failure.IsOk()) return inv.Fail("Error removing peer: " + failure.Message());
  inv.out << "Removed peer with " << field << " \"" << value << "\"\n";
  return 0;
}

}  // namespace

std::vector<Command> CatalogCommands() {
  return {
      {{"catalog", "nodes"},
       "",
       "List all nodes in the catalog",
       "Lists the nodes the catalog knows, with their ID (shortened unless -detailed), address and datacenter.",
       HttpFlags::kRead,
       {{"detailed", FlagKind::kBool, "", "Print full node IDs, tagged addresses and metadata. The default is false."}},
       CatalogNodes},
      {{"catalog", "services"},
       "",
       "List all services in the catalog",
       "Lists the names of the services registered in the catalog, sorted.",
       HttpFlags::kRead,
       {{"tags", FlagKind::kBool, "", "Print each service's tags as well. The default is false."}},
       CatalogServices},
      {{"operator", "raft", "list-peers"},
       "",
       "Display the current Raft peer configuration",
       "Prints the servers in the Raft configuration: node, ID, address, leader or follower, voting status.",
       HttpFlags::kRead,
       {},
       RaftListPeers},
      {{"operator", "raft", "remove-peer"},
       "",
       "Remove a server from the Raft configuration",
       "Removes a server that is gone for good from the Raft configuration, named by -id or -address.",
       HttpFlags::kWrite,
       {{"address", FlagKind::kString, "IP:port", "The Raft address of the server to remove."},
        {"id", FlagKind::kString, "id", "The Raft ID of the server to remove."}},
       RaftRemovePeer},
  };
}

}  // namespace cairn::cli
