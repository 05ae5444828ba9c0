#include "agent/cli/format.h"

#include <regex.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

namespace cairn::cli {
namespace {

using Json = nlohmann::json;


// nlohmann throws on malformed input and on type mismatches; the CLI turns both into one
// clear error naming what it was reading.
Result<Json> ParseJson(std::string_view text, const char* what) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Status::InvalidArgument(std::string("malformed JSON in ") + what);
  return parsed;
}

std::string StringField(const Json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

uint64_t NumberField(const Json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// "k=v" pairs of a string map, sorted by key (std::map order), joined by `separator`.
std::string JoinStringMap(const Json& object, const std::string& separator) {
  if (!object.is_object()) return "";
  std::map<std::string, std::string> sorted;
  for (const auto& [key, value] : object.items())
    sorted[key] = value.is_string() ? value.get<std::string>() : value.dump();
  std::string joined;
  for (const auto& [key, value] : sorted) {
    if (!joined.empty()) joined += separator;
    joined += key + "=" + value;
  }
  return joined;
}

Result<KvPair> KvPairFromJson(const Json& entry) {
  if (!entry.is_object() || !entry.contains("Key")) return Status::InvalidArgument("KV entry without a Key");
  KvPair pair;
  pair.key = StringField(entry, "Key");
  pair.flags = NumberField(entry, "Flags");
  pair.session = StringField(entry, "Session");
  pair.create_index = NumberField(entry, "CreateIndex");
  pair.modify_index = NumberField(entry, "ModifyIndex");
  pair.lock_index = NumberField(entry, "LockIndex");
  CAIRN_ASSIGN_OR_RETURN(pair.value, Base64Decode(StringField(entry, "Value")));
  return pair;
}

const char* MemberStatusName(uint64_t status) {
  switch (status) {
    case 1: return "alive";
    case 2: return "leaving";
    case 3: return "left";
    case 4: return "failed";
    default: return "none";
  }
}

// Addr:Port, with brackets around an IPv6 address as Go's JoinHostPort does.
std::string JoinHostPort(const std::string& host, uint64_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::vector<std::string> MemberRow(const Json& member, bool detailed) {
  const Json tags = member.value("Tags", Json::object());
  std::string address = JoinHostPort(StringField(member, "Addr"), NumberField(member, "Port"));
  std::string status = MemberStatusName(NumberField(member, "Status"));
  if (detailed) return {StringField(member, "Name"), address, status, JoinStringMap(tags, ",")};
  bool server = StringField(tags, "role") == "consul";
  std::string build = StringField(tags, "build");
  build = build.substr(0, build.find(':'));  // the part after ':' is the revision
  std::string partition = StringField(tags, "ap").empty() ? "default" : StringField(tags, "ap");
  std::string segment = server ? "<all>" : StringField(tags, "segment");
  if (segment.empty()) segment = "<default>";
  return {StringField(member, "Name"), address,   status, server ? "server" : "client", build, StringField(tags, "vsn"),
          StringField(tags, "dc"),     partition, segment};
}

// A POSIX extended regular expression over member status words; empty matches everything.
// (POSIX regex rather than std::regex: GCC 12's std::regex trips -Werror under the sanitizers.)
class StatusFilter {
 public:
  static Result<StatusFilter> Compile(const std::string& pattern) {
    StatusFilter filter;
    if (pattern.empty()) return filter;
    auto compiled = std::make_unique<regex_t>();
    int rc = regcomp(compiled.get(), pattern.c_str(), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
      char reason[256];
      regerror(rc, compiled.get(), reason, sizeof(reason));
      return Status::InvalidArgument("invalid -status pattern \"" + pattern + "\": " + reason);
    }
    filter.compiled_.reset(compiled.release());
    return filter;
  }
  bool Matches(const char* text) const { return !compiled_ || regexec(compiled_.get(), text, 0, nullptr, 0) == 0; }

 private:
  struct Free {
    void operator()(regex_t* compiled) const {
      regfree(compiled);
      delete compiled;
    }
  };
  std::unique_ptr<regex_t, Free> compiled_;  // only ever holds a successfully compiled pattern
};

}  // namespace


std::string Columnize(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

Result<std::vector<KvPair>> ParseKvPairs(std::string_view json) {
  CAIRN_ASSIGN_OR_RETURN(Json parsed, ParseJson(json, "the KV reply"));
  if (!parsed.is_array()) return Status::InvalidArgument("the KV reply is not a JSON array");
  std::vector<KvPair> pairs;
  for (const Json& entry : parsed) {
    CAIRN_ASSIGN_OR_RETURN(KvPair pair, KvPairFromJson(entry));
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

Result<std::vector<std::string>> ParseStringList(std::string_view json) {
  CAIRN_ASSIGN_OR_RETURN(Json parsed, ParseJson(json, "the key list"));
  if (!parsed.is_array()) return Status::InvalidArgument("the key list is not a JSON array");
  std::vector<std::string> keys;
  for (const Json& key : parsed) {
    if (!key.is_string()) return Status::InvalidArgument("the key list holds a non-string");
    keys.push_back(key.get<std::string>());
  }
  return keys;
}

std::string FormatKvDetailed(const KvPair& pair, bool base64) {
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"CreateIndex", std::to_string(pair.create_index)},
      {"Flags", std::to_string(pair.flags)},
      {"Key", pair.key},
      {"LockIndex", std::to_string(pair.lock_index)},
      {"ModifyIndex", std::to_string(pair.modify_index)},
      {"Session", pair.session.empty() ? "-" : pair.session},
      {"Value", base64 ? Base64Encode(pair.value) : pair.value},
  };
  // Names padded to the longest ("CreateIndex", 11) plus six spaces, as Consul's tabwriter does.
  std::string out;
  for (const auto& [name, value] : fields) out += name + std::string(11 - name.size() + 6, ' ') + value + "\n";
  return out;
}

std::string FormatKvRecurse(const std::vector<KvPair>& pairs, bool detailed, bool base64) {
  std::string out;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (detailed) {
      if (i > 0) out += "\n";
      out += FormatKvDetailed(pairs[i], base64);
    } else {
      out += pairs[i].key + ":" + (base64 ? Base64Encode(pairs[i].value) : pairs[i].value) + "\n";
    }
  }
  return out;
}

std::string FormatKvExport(const std::vector<KvPair>& pairs) {
  // ordered_json keeps Consul's field order (key, flags, value) instead of sorting.
  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  for (const KvPair& pair : pairs) {
    nlohmann::ordered_json entry;
    entry["key"] = pair.key;
    entry["flags"] = pair.flags;
    entry["value"] = Base64Encode(pair.value);
    entries.push_back(std::move(entry));
  }
  return entries.dump(1, '\t') + "\n";
}

Result<std::vector<KvPair>> ParseKvImport(std::string_view json) {
  CAIRN_ASSIGN_OR_RETURN(Json parsed, ParseJson(json, "the import data"));
  if (!parsed.is_array()) return Status::InvalidArgument("the import data is not a JSON array");
  std::vector<KvPair> pairs;
  for (size_t i = 0; i < parsed.size(); ++i) {
    const Json& entry = parsed[i];
    const std::string where = "import entry " + std::to_string(i);
    if (!entry.is_object() || !entry.contains("key") || !entry["key"].is_string()) {
      return Status::InvalidArgument(where + ": missing string \"key\"");
    }
    if (entry.contains("flags") && !entry["flags"].is_number_unsigned()) {
      return Status::InvalidArgument(where + ": \"flags\" is not a non-negative integer");
    }
    if (entry.contains("value") && !entry["value"].is_string()) {
      return Status::InvalidArgument(where + ": \"value\" is not a base64 string");
    }
    KvPair pair;
    pair.key = entry["key"].get<std::string>();
    pair.flags = NumberField(entry, "flags");
    Result<std::string> value = Base64Decode(StringField(entry, "value"));
    if (!value.IsOk()) return Status::InvalidArgument(where + ": " + value.GetStatus().Message());
    pair.value = std::move(value).Value();
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

Result<std::string> FormatCatalogNodes(std::string_view json, bool detailed) {
  CAIRN_ASSIGN_OR_RETURN(Json nodes, ParseJson(json, "the node list"));
  if (!nodes.is_array()) return Status::InvalidArgument("the node list is not a JSON array");
  std::vector<std::vector<std::string>> rows;
  if (detailed) {
    rows.push_back({"Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"});
  } else {
    rows.push_back({"Node", "ID", "Address", "DC"});
  }
  for (const Json& node : nodes) {
    std::string id = StringField(node, "ID");
    std::vector<std::string> row = {StringField(node, "Node"), detailed ? id : id.substr(0, 8),
                                    StringField(node, "Address"), StringField(node, "Datacenter")};
    if (detailed) {
      row.push_back(JoinStringMap(node.value("TaggedAddresses", Json::object()), ", "));
      row.push_back(JoinStringMap(node.value("Meta", Json::object()), ", "));
    }
    rows.push_back(std::move(row));
  }
  return Columnize(rows);
}

Result<std::string> FormatCatalogServices(std::string_view json, bool tags) {
  CAIRN_ASSIGN_OR_RETURN(Json services, ParseJson(json, "the service list"));
  if (!services.is_object()) return Status::InvalidArgument("the service list is not a JSON object");
  std::map<std::string, std::vector<std::string>> sorted;
  for (const auto& [name, tag_list] : services.items()) {
    std::vector<std::string>& names = sorted[name];
    if (!tag_list.is_array()) continue;
    for (const Json& tag : tag_list) {
      if (tag.is_string()) names.push_back(tag.get<std::string>());
    }
    std::sort(names.begin(), names.end());
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, tag_names] : sorted) {
    std::string joined;
    for (const std::string& tag : tag_names) joined += (joined.empty() ? "" : ",") + tag;
    rows.push_back(tags ? std::vector<std::string>{name, joined} : std::vector<std::string>{name});
  }
  return Columnize(rows);
}

Result<std::string> FormatMembers(std::string_view json, bool detailed, const std::string& status_pattern) {
  CAIRN_ASSIGN_OR_RETURN(Json members, ParseJson(json, "the member list"));
  if (!members.is_array()) return Status::InvalidArgument("the member list is not a JSON array");
  CAIRN_ASSIGN_OR_RETURN(StatusFilter filter, StatusFilter::Compile(status_pattern));
  std::vector<Json> sorted(members.begin(), members.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Json& a, const Json& b) { return StringField(a, "Name") < StringField(b, "Name"); });
  std::vector<std::vector<std::string>> rows;
  if (detailed) {
    rows.push_back({"Node", "Address", "Status", "Tags"});
  } else {
    rows.push_back({"Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"});
  }
  for (const Json& member : sorted) {
    if (!filter.Matches(MemberStatusName(NumberField(member, "Status")))) continue;
    rows.push_back(MemberRow(member, detailed));
  }
  // Consul prints nothing at all when the filter leaves no member.
  return rows.size() == 1 ? std::string() : Columnize(rows);
}

Result<std::string> FormatRaftPeers(std::string_view json) {
  CAIRN_ASSIGN_OR_RETURN(Json config, ParseJson(json, "the Raft configuration"));
  if (!config.is_object() || !config.contains("Servers") || !config["Servers"].is_array()) {
    return Status::InvalidArgument("the Raft configuration has no Servers list");
  }
  std::vector<std::vector<std::string>> rows = {{"Node", "ID", "Address", "State", "Voter", "RaftProtocol"}};
  for (const Json& server : config["Servers"]) {
    bool leader = server.value("Leader", false);
    bool voter = server.value("Voter", false);
    std::string protocol = StringField(server, "ProtocolVersion");
    rows.push_back({StringField(server, "Node"), StringField(server, "ID"), StringField(server, "Address"),
                    leader ? "leader" : "follower", voter ? "true" : "false", protocol.empty() ? "<=1" : protocol});
  }
  return Columnize(rows);
}

Result<std::string> FormatInfo(std::string_view json) {
  CAIRN_ASSIGN_OR_RETURN(Json self, ParseJson(json, "the agent's self description"));
  if (!self.is_object() || !self.contains("Stats") || !self["Stats"].is_object()) {
    return Status::InvalidArgument("the agent's self description has no Stats object");
  }
  std::map<std::string, std::map<std::string, std::string>> sections;
  for (const auto& [section, stats] : self["Stats"].items()) {
    auto& lines = sections[section];
    if (!stats.is_object()) continue;
    for (const auto& [key, value] : stats.items())
      lines[key] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  std::string out;
  for (const auto& [section, stats] : sections) {
    out += section + ":\n";
    for (const auto& [key, value] : stats) out += "\t" + key + " = " + value + "\n";
  }
  return out;
}

}  // namespace cairn::cli
