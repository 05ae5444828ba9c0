// Go-style flag parsing for the `cairn` verbs, so that Consul users' muscle memory works:
// `-name=value`, `-name value`, `--name`, bare `-flag` for booleans, `--` or the first
// non-flag argument ends the flags. Pure functions: no I/O, so the rules are unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace cairn::cli {

enum class FlagKind : uint8_t { kBool, kString };

struct FlagSpec {
  std::string name;  // without the leading dash
  FlagKind kind = FlagKind::kString;
  std::string value_hint;  // shown in help as -name=<hint>; empty for booleans
  std::string help;
};

// The outcome of parsing one verb's arguments.
struct ParsedArgs {
  std::map<std::string, std::string> values;  // only the flags given; booleans hold "true"/"false"
  std::vector<std::string> positional;
  bool help = false;  // -h, -help or --help was given

  bool Has(const std::string& name) const { return values.count(name) != 0; }
  bool Bool(const std::string& name) const;
  std::string String(const std::string& name, const std::string& fallback = "") const;
};

// Parses `args` (the verb's own arguments) against `specs`. Errors name the offending flag in
// the words Go's flag package uses ("flag provided but not defined: -x").
Result<ParsedArgs> ParseFlags(const std::vector<FlagSpec>& specs, const std::vector<std::string>& args);

// A non-negative decimal integer flag value; errors name the flag.
Result<uint64_t> ParseUnsigned(const std::string& flag, const std::string& text);

// A Go duration ("15s", "1m30s", "500ms", "2h", bare "0"); returns milliseconds.
Result<uint64_t> ParseDurationMillis(const std::string& flag, const std::string& text);

}  // namespace cairn::cli
