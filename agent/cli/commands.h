// Internal to agent/cli: the table of verbs and what each one's implementation receives.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "agent/cli/api_client.h"
#include "agent/cli/flags.h"

namespace cairn::cli {

// Which of the shared HTTP flags a verb takes. Reads of replicated state also take -stale.
enum class HttpFlags : uint8_t { kAgent, kWrite, kRead };

struct Invocation {
  const ParsedArgs& args;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  ApiClient& client;

  // ?dc= and ?stale as the shared flags ask, for endpoints that take them.
  QueryParams BaseParams() const;
  // Prints `message` (already in the verb's words) on the error stream and returns 1.
  int Fail(const std::string& message) const;
};

using CommandFn = int (*)(Invocation&);

struct Command {
  std::vector<std::string> path;  // {"kv", "get"}
  std::string arguments;          // usage after "[options]", e.g. "KEY [DATA]"
  std::string synopsis;           // one line for the verb lists
  std::string description;        // the paragraph under the usage line
  HttpFlags http = HttpFlags::kAgent;
  std::vector<FlagSpec> flags;  // the verb's own flags
  CommandFn run = nullptr;
};

std::vector<Command> KvCommands();
std::vector<Command> CatalogCommands();     // catalog nodes/services, operator raft
std::vector<Command> MembershipCommands();  // members, join, leave, force-leave, info
std::vector<Command> LockCommands();

// The shared flags for `http`, in the order help shows them.
std::vector<FlagSpec> HttpFlagSpecs(HttpFlags http);
// The verb's help text: usage, description, then its own and the HTTP flags.
std::string HelpText(const Command& command);

// Reads a value argument the way Consul does: "-" is standard input, "@path" a file's
// contents, anything else the text itself.
Result<std::string> ReadDataArgument(const std::string& arg, std::istream& in);

}  // namespace cairn::cli
