// `cairn agent ...`: runs an agent in the foreground until SIGINT or SIGTERM, for both
// binaries (`cairn` and the client-only `cairn-client`).
#pragma once

#include <string>
#include <vector>

namespace cairn::agent {

// `args` are those after the verb. Returns the process exit code.
int RunAgent(const std::vector<std::string>& args);

// True when `args` (after the verb) ask for a client agent: they parse, ask for no help, and
// name neither -server nor -dev (config files included).
bool AsksForClientAgent(const std::vector<std::string>& args);

}  // namespace cairn::agent
