// The `cairn` command-line verbs other than `agent`: HTTP clients of an agent's
// Consul-compatible API, with Consul's verbs, flags, output formats and exit codes.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace cairn::cli {

// Runs one verb. `args` excludes the program name: {"kv", "put", "a", "b"}. Normal output goes
// to `out`, errors to `err`; `in` feeds `kv put key -` and `kv import -`. Returns the process
// exit code: 0 on success, 1 on any error (with a message on `err`); `lock` returns its child's.
int RunCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err);

// As above, reading standard input.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cairn::cli
