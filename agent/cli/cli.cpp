#include "agent/cli/cli.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "agent/cli/commands.h"

namespace cairn::cli {
namespace {

std::vector<Command> AllCommands() {
  std::vector<Command> all;
  for (auto group : {KvCommands, CatalogCommands, MembershipCommands, LockCommands}) {
    std::vector<Command> commands = group();
    all.insert(all.end(), std::make_move_iterator(commands.begin()), std::make_move_iterator(commands.end()));
  }
  return all;
}

bool StartsWith(const std::vector<std::string>& args, const std::vector<std::string>& prefix) {
  if (args.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (args[i] != prefix[i]) return false;
  }
  return true;
}

std::string JoinPath(const std::vector<std::string>& path) {
  std::string joined;
  for (const std::string& word : path) joined += (joined.empty() ? "" : " ") + word;
  return joined;
}

// The verbs under `prefix` (all of them for an empty prefix), one per line with a synopsis.
std::string VerbList(const std::vector<Command>& commands, const std::vector<std::string>& prefix) {
  std::string list;
  for (const Command& command : commands) {
    if (!StartsWith(command.path, prefix)) continue;
    std::string name = JoinPath(std::vector<std::string>(command.path.begin() + prefix.size(), command.path.end()));
    list += "    " + name + std::string(name.size() < 20 ? 20 - name.size() : 1, ' ') + command.synopsis + "\n";
  }
  return list;
}

bool IsHelpFlag(const std::string& arg) { return arg == "-h" || arg == "-help" || arg == "--help"; }

// `cairn`, `cairn kv` or `cairn operator raft` without a complete verb: list what exists.
int RunGroup(const std::vector<Command>& commands, const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err) {
  std::vector<std::string> prefix;
  for (const std::string& arg : args) {
    if (IsHelpFlag(arg)) break;
    prefix.push_back(arg);
  }
  std::string list = VerbList(commands, prefix);
  if (list.empty()) {
    err << "Unknown command: " << JoinPath(prefix) << "\n\nAvailable commands are:\n" << VerbList(commands, {});
    return 1;
  }
  bool help = !args.empty() && IsHelpFlag(args.back());
  std::string usage = prefix.empty() ? "Usage: cairn <command> [args]"
                                     : "Usage: cairn " + JoinPath(prefix) + " <subcommand> [options] [args]";
  (help ? out : err) << usage << "\n\nSubcommands:\n" << list;
  return help ? 0 : 1;
}

int RunCommand(const Command& command, const std::vector<std::string>& args, std::istream& in, std::ostream& out,
               std::ostream& err) {
  std::vector<FlagSpec> specs = command.flags;
  for (FlagSpec& spec : HttpFlagSpecs(command.http)) specs.push_back(std::move(spec));
  std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(command.path.size()), args.end());
  Result<ParsedArgs> parsed = ParseFlags(specs, rest);
  if (!parsed.IsOk()) {
    err << parsed.GetStatus().Message() << "\n\n" << HelpText(command);
    return 1;
  }
  if (parsed->help) {
    out << HelpText(command);
    return 0;
  }
  Result<ApiClient> client = ApiClient::Create(ResolveHttpAddress(parsed->String("http-addr")));
  if (!client.IsOk()) {
    err << "Error initializing client: " << client.GetStatus().Message() << "\n";
    return 1;
  }
  Invocation invocation{*parsed, in, out, err, *client};
  return command.run(invocation);
}

}  // namespace

QueryParams Invocation::BaseParams() const {
  QueryParams params;
  if (!args.String("datacenter").empty()) params.emplace_back("dc", args.String("datacenter"));
  if (args.Bool("stale")) params.emplace_back("stale", "");
  return params;
}

int Invocation::Fail(const std::string& message) const {
  err << message << "\n";
  return 1;
}

std::vector<FlagSpec> HttpFlagSpecs(HttpFlags http) {
  std::vector<FlagSpec> specs = {
      {"http-addr", FlagKind::kString, "address",
       "The address and port of the agent's HTTP API. Also CAIRN_HTTP_ADDR (which wins) or CONSUL_HTTP_ADDR; "
       "the default is 127.0.0.1:8500."},
      {"token", FlagKind::kString, "value",
       "Accepted for compatibility with Consul; Cairn has no ACLs and ignores it."},
      {"token-file", FlagKind::kString, "value", "Accepted for compatibility with Consul and ignored, as -token."},
  };
  if (http == HttpFlags::kAgent) return specs;
  specs.push_back({"datacenter", FlagKind::kString, "name", "The datacenter to query; the agent's own by default."});
  if (http == HttpFlags::kRead) {
    specs.push_back({"stale", FlagKind::kBool, "",
                     "Let any server answer, not only the leader: faster and available without a leader, "
                     "but possibly out of date. The default is false."});
  }
  return specs;
}

std::string HelpText(const Command& command) {
  std::ostringstream text;
  text << "Usage: cairn " << JoinPath(command.path) << " [options]";
  if (!command.arguments.empty()) text << " " << command.arguments;
  text << "\n\n  " << command.description << "\n";
  auto print_flags = [&text](const char* title, const std::vector<FlagSpec>& specs) {
    if (specs.empty()) return;
    text << "\n" << title << "\n";
    for (const FlagSpec& spec : specs) {
      text << "\n  -" << spec.name;
      if (spec.kind == FlagKind::kString) text << "=<" << spec.value_hint << ">";
      text << "\n     " << spec.help << "\n";
    }
  };
  print_flags("HTTP API Options", HttpFlagSpecs(command.http));
  print_flags("Command Options", command.flags);
  return text.str();
}

Result<std::string> ReadDataArgument(const std::string& arg, std::istream& in) {
  if (arg == "-") return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (arg.empty() || arg[0] != '@') return arg;
  std::ifstream file(arg.substr(1), std::ios::binary);
  if (!file) return Status::IoError("failed to read file \"" + arg.substr(1) + "\"");
  std::string contents((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) return Status::IoError("failed to read file \"" + arg.substr(1) + "\"");
  return contents;
}

int RunCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err) {
  const std::vector<Command> commands = AllCommands();
  const Command* best = nullptr;
  for (const Command& command : commands) {
    if (StartsWith(args, command.path) && (best == nullptr || command.path.size() > best->path.size())) {
      best = &command;
    }
  }
  if (best == nullptr) return RunGroup(commands, args, out, err);
  return RunCommand(*best, args, in, out, err);
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return RunCli(args, std::cin, out, err);
}

}  // namespace cairn::cli
