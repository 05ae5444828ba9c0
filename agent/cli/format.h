// Pure conversions between the agent's Consul-format JSON replies and the text the `cairn`
// verbs print, in Consul's CLI formats. No I/O, so every format is unit-tested directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "common/status.h"

namespace cairn::cli {

using ::cairn::Base64Decode;
using ::cairn::Base64Encode;

// Rows of cells aligned into columns: each column but the last padded to its widest cell,
// columns joined by two spaces (the layout of Consul's tables).
std::string Columnize(const std::vector<std::vector<std::string>>& rows);

// One KV entry as /v1/kv returns it, with the value already decoded.
struct KvPair {
  std::string key;
  uint64_t flags = 0;
  std::string value;
  std::string session;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  uint64_t lock_index = 0;
};

Result<std::vector<KvPair>> ParseKvPairs(std::string_view json);
// The JSON string list that /v1/kv/<prefix>?keys returns.
Result<std::vector<std::string>> ParseStringList(std::string_view json);

// `kv get -detailed`: field names padded to a column, Session "-" when unheld.
std::string FormatKvDetailed(const KvPair& pair, bool base64);
// `kv get -recurse`: key:value per entry, or detailed blocks separated by blank lines.
std::string FormatKvRecurse(const std::vector<KvPair>& pairs, bool detailed, bool base64);

// `kv export`: Consul's [{"key","flags","value"}] with base64 values, tab-indented.
std::string FormatKvExport(const std::vector<KvPair>& pairs);
// `kv import` input: the export format back; rejects anything else with a clear message.
Result<std::vector<KvPair>> ParseKvImport(std::string_view json);

// Tables for the catalog, membership and Raft verbs. Each takes the endpoint's JSON body.
Result<std::string> FormatCatalogNodes(std::string_view json, bool detailed);
Result<std::string> FormatCatalogServices(std::string_view json, bool tags);
// `members`: `status_pattern` filters on the status word (a regular expression, empty for all).
Result<std::string> FormatMembers(std::string_view json, bool detailed, const std::string& status_pattern);
Result<std::string> FormatRaftPeers(std::string_view json);
// `info`: the Stats of /v1/agent/self, sections and keys sorted.
Result<std::string> FormatInfo(std::string_view json);

}  // namespace cairn::cli
