// `cairn-client`: the client-only build of the agent, `cairn-client agent ...` with the flags
// of `cairn agent`. `cairn agent` runs it for client agents (agent/main.cpp); it is built
// without the server (agent/server_role_none.cpp) and without the CLI verbs.
#include <malloc.h>

#include <iostream>
#include <string>
#include <vector>

#include "agent/run_agent.h"

int main(int argc, char** argv) {
  // One malloc arena for all threads. glibc gives threads arenas of their own (up to 8 per
  // core) to avoid lock contention; a client agent's HTTP workers mostly wait on the network,
  // and every extra arena keeps its own touched pages: measured 0.4 MB less resident memory
  // after relaying 64 concurrent requests (tests/bench/client_rss.py).
  mallopt(M_ARENA_MAX, 1);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] != "agent") {
    std::cerr << "usage: cairn-client agent [flags of `cairn agent`, without -server or -dev]\n";
    return 1;
  }
  return cairn::agent::RunAgent({args.begin() + 1, args.end()});
}
