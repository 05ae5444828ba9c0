// The `cairn` binary: `cairn agent ...` runs an agent; every other verb is a client of a
// running agent's HTTP API (agent/cli/).
//
// A client agent (neither -server nor -dev) is handed to `cairn-client`, the client-only
// build next to this binary, when there is one: it maps neither the server's storage engine
// nor the CLI, so it holds far fewer resident pages (docs/BENCHMARKS.md). The exec keeps the
// process id, so supervisors and scripts see one process either way.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "agent/cli/cli.h"
#include "agent/run_agent.h"

namespace {

// Replaces this process with `cairn-client` from this binary's directory, with the same
// arguments. Returns only if there is no such binary or it cannot be run.
void ExecClientAgent(char** argv) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return;
  const std::string client = (self.parent_path() / "cairn-client").string();
  if (access(client.c_str(), X_OK) != 0) return;
  argv[0] = const_cast<char*>(client.c_str());
  execv(client.c_str(), argv);
  std::cerr << "cairn agent: could not run " << client << "; running the client agent here\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "agent") {
    const std::vector<std::string> agent_args(args.begin() + 1, args.end());
    if (cairn::agent::AsksForClientAgent(agent_args)) ExecClientAgent(argv);
    return cairn::agent::RunAgent(agent_args);
  }
  return cairn::cli::RunCli(args, std::cout, std::cerr);
}
