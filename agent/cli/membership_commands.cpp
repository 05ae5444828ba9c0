// members, join, leave, force-leave and info over /v1/agent.
#include <ostream>

#include "agent/cli/commands.h"
#include "agent/cli/format.h"

namespace cairn::cli {
namespace {

// Any HTTP request whose only interesting outcome is success or a message.
Status Check(const Result<HttpReply>& reply) {
  if (!reply.IsOk()) return reply.GetStatus();
  if (reply->status / 100 != 2) return UnexpectedReply(*reply);
  return OkStatus();
}

QueryParams WanParams(const Invocation& inv) {
  QueryParams params;
  if (inv.args.Bool("wan")) params.emplace_back("wan", "1");
  return params;
}

int Members(Invocation& inv) {
  if (!inv.args.positional.empty()) return inv.Fail("Error! members takes no arguments");
  Result<HttpReply> reply = inv.client.Get(WithQuery("/v1/agent/members", WanParams(inv)));
  Status status = Check(reply);
  if (!status.IsOk()) return inv.Fail("Error retrieving members: " + status.Message());
  Result<std::string> table = FormatMembers(reply->body, inv.args.Bool("detailed"), inv.args.String("status"));
  if (!table.IsOk()) return inv.Fail("Error retrieving members: " + table.GetStatus().Message());
  inv.out << *table;
  return 0;
}

int Join(Invocation& inv) {
  const auto& addresses = inv.args.positional;
  if (addresses.empty()) return inv.Fail("At least one address to join must be specified.");
  size_t joined = 0;
  for (const std::string& address : addresses) {
    std::string path = WithQuery("/v1/agent/join/" + PercentEncode(address, false), WanParams(inv));
    Status status = Check(inv.client.Put(path, ""));
    if (!status.IsOk()) {
      inv.err << "Error joining address '" << address << "': " << status.Message() << "\n";
      continue;
    }
    ++joined;
  }
  if (joined == 0) return inv.Fail("Failed to join any nodes.");
  inv.out << "Successfully joined cluster by contacting " << joined << " nodes.\n";
  return 0;
}

int Leave(Invocation& inv) {
  if (!inv.args.positional.empty()) return inv.Fail("Error! leave takes no arguments");
  Status status = Check(inv.client.Put("/v1/agent/leave", ""));
  if (!status.IsOk()) return inv.Fail("Error leaving: " + status.Message());
  inv.out << "Graceful leave complete\n";
  return 0;
}

int ForceLeave(Invocation& inv) {
  const auto& positional = inv.args.positional;
  if (positional.size() != 1) return inv.Fail("A single node name must be specified to force leave.");
  QueryParams params = WanParams(inv);
  if (inv.args.Bool("prune")) params.emplace_back("prune", "1");
  std::string path = WithQuery("/v1/agent/force-leave/" + PercentEncode(positional[0], false), params);
  Status status = Check(inv.client.Put(path, ""));
  if (!status.IsOk()) return inv.Fail("Error force leaving: " + status.Message());
  return 0;
}

int Info(Invocation& inv) {
  if (!inv.args.positional.empty()) return inv.Fail("Error! info takes no arguments");
  Result<HttpReply> reply = inv.client.Get("/v1/agent/self");
  Status status = Check(reply);
  if (!status.IsOk()) return inv.Fail("Error querying agent: " + status.Message());
  Result<std::string> text = FormatInfo(reply->body);
  if (!text.IsOk()) return inv.Fail("Error querying agent: " + text.GetStatus().Message());
  inv.out << *text;
  return 0;
}

}  // namespace

std::vector<Command> MembershipCommands() {
  const FlagSpec wan = {"wan", FlagKind::kBool, "", "Use the WAN gossip pool instead of the LAN pool (servers only)."};
  return {
      {{"members"},
       "",
       "Lists the members of a cluster",
       "Lists the members the agent knows through gossip, with their state: alive, leaving, left or failed.",
       HttpFlags::kAgent,
       {{"detailed", FlagKind::kBool, "", "Print each member's gossip tags instead of the summary columns."},
        {"status", FlagKind::kString, "regexp", "Print only members whose status matches this regular expression."},
        wan},
       Members},
      {{"join"},
       "ADDRESS...",
       "Tell the agent to join a cluster",
       "Asks the agent to join the cluster that the agents at the given gossip addresses belong to.",
       HttpFlags::kAgent,
       {wan},
       Join},
      {{"leave"},
       "",
       "Gracefully leave the cluster and shut down",
       "Asks the agent to leave the cluster gracefully and then shut down.",
       HttpFlags::kAgent,
       {},
       Leave},
      {{"force-leave"},
       "NODE",
       "Force a member of the cluster to enter the \"left\" state",
       "Moves a failed member to the left state at once instead of waiting for the reaper.",
       HttpFlags::kAgent,
       {{"prune", FlagKind::kBool, "", "Also remove the member from the member list entirely."}, wan},
       ForceLeave},
      {{"info"},
       "",
       "Provides debugging information for operators",
       "Prints the agent's runtime statistics by section, for debugging.",
       HttpFlags::kAgent,
       {},
       Info},
  };
}

}  // namespace cairn::cli
