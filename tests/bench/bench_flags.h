// Minimal --key=value flag parsing shared by the bench tools.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"

namespace cairn::bench {

// A decimal number of at most 19 digits (so that it always fits), nothing else.
inline std::optional<uint64_t> ParseDecimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t out = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return out;
}

class Flags {
 public:
  Flags(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      while (!arg.empty() && arg.front() == '-') arg.remove_prefix(1);
      const size_t eq = arg.find('=');
      if (eq == std::string_view::npos) {
        values_[std::string(arg)] = "1";
      } else {
        values_[std::string(arg.substr(0, eq))] = std::string(arg.substr(eq + 1));
      }
    }
  }
  std::string Get(const std::string& key, const std::string& fallback = "") const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }
  uint64_t GetInt(const std::string& key, uint64_t fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : std::strtoull(it->second.c_str(), nullptr, 10);
  }
  // "10s", "500ms", "2m" or plain seconds.
  Duration GetDuration(const std::string& key, Duration fallback) const {
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    const std::string& v = it->second;
    const double number = std::strtod(v.c_str(), nullptr);
    double seconds = number;
    if (v.ends_with("ms")) {
      seconds = number / 1000;
    } else if (v.ends_with("m")) {
      seconds = number * 60;
    }
    return Duration(static_cast<int64_t>(seconds * 1e9));
  }
  bool Has(const std::string& key) const { return values_.count(key) != 0; }

 private:
  std::map<std::string, std::string> values_;
};

// Parses "1@127.0.0.1:7301,2@127.0.0.1:7302" into id -> address; exits on a malformed list.
inline std::map<uint64_t, NetAddress> ParseIdAddresses(const std::string& text, const char* flag) {
  std::map<uint64_t, NetAddress> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    const size_t at = item.find('@');
    Result<NetAddress> address = at == std::string::npos ? Result<NetAddress>(Status::InvalidArgument("missing @"))
                                                         : NetAddress::Parse(item.substr(at + 1));
    if (!address.IsOk()) {
      std::fprintf(stderr, "bad --%s item '%s': %s\n", flag, item.c_str(), address.GetStatus().ToString().c_str());
      std::exit(2);
    }
    out[std::strtoull(item.substr(0, at).c_str(), nullptr, 10)] = *address;
    pos = comma + 1;
  }
  return out;
}

// "ip:port,ip:port,..." from --target; exits with status 2 naming a bad address.
inline std::vector<NetAddress> ParseTargets(const std::string& text) {
  std::vector<NetAddress> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    auto address = NetAddress::Parse(text.substr(pos, comma - pos));
    if (!address.IsOk()) {
      std::fprintf(stderr, "bad --target: %s\n", address.GetStatus().ToString().c_str());
      std::exit(2);
    }
    out.push_back(*address);
    pos = comma + 1;
  }
  return out;
}

}  // namespace cairn::bench
