#include "agent/cli/flags.h"

#include <cctype>
#include <limits>

namespace cairn::cli {
namespace {

const FlagSpec* FindSpec(const std::vector<FlagSpec>& specs, const std::string& name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

// Go's strconv.ParseBool spellings.
Result<bool> ParseBool(const std::string& name, const std::string& text) {
  if (text == "1" || text == "t" || text == "T" || text == "true" || text == "TRUE" || text == "True") return true;
  if (text == "0" || text == "f" || text == "F" || text == "false" || text == "FALSE" || text == "False") return false;
  return Status::InvalidArgument("invalid boolean value \"" + text + "\" for -" + name);
}

// Strips one or two leading dashes; empty when `arg` is not a flag at all.
std::string FlagBody(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-') return "";
  std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
  if (body.empty() || body[0] == '-' || body[0] == '=') return "";
  return body;
}

}  // namespace

bool ParsedArgs::Bool(const std::string& name) const {
  auto it = values.find(name);
  return it != values.end() && it->second == "true";
}

std::string ParsedArgs::String(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() ? fallback : it->second;
}

Result<ParsedArgs> ParseFlags(const std::vector<FlagSpec>& specs, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    std::string body = FlagBody(arg);
    if (body.empty()) break;  // the first non-flag argument ends the flags, as in Go
    size_t eq = body.find('=');
    std::string name = body.substr(0, eq);
    if (name == "h" || name == "help") {
      parsed.help = true;
      continue;
    }
    const FlagSpec* spec = FindSpec(specs, name);
    if (spec == nullptr) return Status::InvalidArgument("flag provided but not defined: -" + name);
    if (spec->kind == FlagKind::kBool) {
      bool value = true;
      if (eq != std::string::npos) {
        CAIRN_ASSIGN_OR_RETURN(value, ParseBool(name, body.substr(eq + 1)));
      }
      parsed.values[name] = value ? "true" : "false";
      continue;
    }
    if (eq != std::string::npos) {
      parsed.values[name] = body.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      parsed.values[name] = args[++i];
    } else {
      return Status::InvalidArgument("flag needs an argument: -" + name);
    }
  }
  parsed.positional.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return parsed;
}

Result<uint64_t> ParseUnsigned(const std::string& flag, const std::string& text) {
  if (text.empty() || text.size() > 20) return Status::InvalidArgument("invalid value \"" + text + "\" for -" + flag);
  uint64_t value = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return Status::InvalidArgument("invalid value \"" + text + "\" for -" + flag + ": not a non-negative integer");
    }
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return Status::InvalidArgument("invalid value \"" + text + "\" for -" + flag + ": out of range");
    }
    value = value * 10 + digit;
  }
  return value;
}

Result<uint64_t> ParseDurationMillis(const std::string& flag, const std::string& text) {
  if (text == "0") return uint64_t{0};
  const Status bad = Status::InvalidArgument("invalid duration \"" + text + "\" for -" + flag);
  uint64_t total_ms = 0;
  size_t i = 0;
  if (text.empty()) return bad;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i - start > 9) return bad;
    uint64_t amount = std::stoull(text.substr(start, i - start));
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = text.substr(unit_start, i - unit_start);
    uint64_t scale = 0;
    if (unit == "ms") scale = 1;
    if (unit == "s") scale = 1000;
    if (unit == "m") scale = 60 * 1000;
    if (unit == "h") scale = 60 * 60 * 1000;
    if (scale == 0) return bad;
    total_ms += amount * scale;
  }
  return total_ms;
}

}  // namespace cairn::cli
