// `cairn-client`: the client-only build of the agent, `cairn-client agent ...` with the flags
// of `cairn agent`. `cairn agent` runs it for client agents (agent/main.cpp); it is built
// without the server (agent/server_role_none.cpp) and without the CLI verbs.
#include <iostream>
#include <string>
#include <vector>

#include "agent/run_agent.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] != "agent") {
    std::cerr << "usage: cairn-client agent [flags of `cairn agent`, without -server or -dev]\n";
    return 1;
  }
  return cairn::agent::RunAgent({args.begin() + 1, args.end()});
}
