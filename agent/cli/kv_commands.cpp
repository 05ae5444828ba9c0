// kv get / put / delete / export / import over /v1/kv.
#include <istream>
#include <ostream>

#include "agent/cli/commands.h"
#include "agent/cli/format.h"

namespace cairn::cli {
namespace {

std::string KvPath(const std::string& key) { return "/v1/kv/" + PercentEncode(key, true); }

bool IsTrue(const HttpReply& reply) { return reply.body.find("true") != std::string::npos; }

// The KEY argument for verbs that take exactly one (or, with `optional`, at most one).
Result<std::string> KeyArgument(const Invocation& inv, size_t max_args, bool optional) {
  const auto& positional = inv.args.positional;
  if (positional.size() > max_args) {
    std::string expected = max_args == 1 ? "1" : "1 or 2";
    return Status::InvalidArgument("Error! Too many arguments (expected " + expected + ", got " +
                                   std::to_string(positional.size()) + ")");
  }
  std::string key = positional.empty() ? "" : positional[0];
  if (key.empty() && !optional) return Status::InvalidArgument("Error! Missing KEY argument");
  if (!key.empty() && key[0] == '/') return Status::InvalidArgument("Error! KEY argument must not begin with a '/'");
  return key;
}

// Fetches /v1/kv/<key> with `params`; a 404 is an empty list, as Consul treats a missing key.
Result<std::vector<KvPair>> FetchPairs(Invocation& inv, const std::string& key, QueryParams params) {
  CAIRN_ASSIGN_OR_RETURN(HttpReply reply, inv.client.Get(WithQuery(KvPath(key), params)));
  if (reply.status == 404) return std::vector<KvPair>{};
  if (reply.status / 100 != 2) return UnexpectedReply(reply);
  return ParseKvPairs(reply.body);
}

int PrintKeys(Invocation& inv, const std::string& key) {
  QueryParams params = inv.BaseParams();
  params.emplace_back("keys", "");
  params.emplace_back("separator", inv.args.String("separator", "/"));
  Result<HttpReply> reply = inv.client.Get(WithQuery(KvPath(key), params));
  if (!reply.IsOk()) return inv.Fail("Error querying the agent: " + reply.GetStatus().Message());
  if (reply->status == 404) return 0;
  if (reply->status / 100 != 2) return inv.Fail("Error querying the agent: " + UnexpectedReply(*reply).Message());
  Result<std::vector<std::string>> keys = ParseStringList(reply->body);
  if (!keys.IsOk()) return inv.Fail("Error querying the agent: " + keys.GetStatus().Message());
  for (const std::string& k : *keys) inv.out << k << "\n";
  return 0;
}

int KvGet(Invocation& inv) {
  const bool recurse = inv.args.Bool("recurse");
  const bool keys = inv.args.Bool("keys");
  Result<std::string> key = KeyArgument(inv, 1, recurse || keys);
  if (!key.IsOk()) return inv.Fail(key.GetStatus().Message());
  if (keys) return PrintKeys(inv, *key);
  QueryParams params = inv.BaseParams();
  if (recurse) params.emplace_back("recurse", "");
  Result<std::vector<KvPair>> pairs = FetchPairs(inv, *key, params);
  if (!pairs.IsOk()) return inv.Fail("Error querying the agent: " + pairs.GetStatus().Message());
  const bool detailed = inv.args.Bool("detailed");
  const bool base64 = inv.args.Bool("base64");
  if (recurse) {
    inv.out << FormatKvRecurse(*pairs, detailed, base64);
    return 0;
  }
  if (pairs->empty()) return inv.Fail("Error! No key exists at: " + *key);
  const KvPair& pair = pairs->front();
  if (detailed) {
    inv.out << FormatKvDetailed(pair, base64);
  } else {
    inv.out << (base64 ? Base64Encode(pair.value) : pair.value) << "\n";
  }
  return 0;
}

// The put/delete CAS index, checked the way Consul checks it.
Result<QueryParams> CasParams(const Invocation& inv) {
  QueryParams params;
  if (inv.args.Has("flags")) {
    CAIRN_ASSIGN_OR_RETURN(uint64_t flags, ParseUnsigned("flags", inv.args.String("flags")));
    params.emplace_back("flags", std::to_string(flags));
  }
  if (!inv.args.Bool("cas")) return params;
  if (!inv.args.Has("modify-index")) return Status::InvalidArgument("Error! Cannot use -cas without -modify-index");
  CAIRN_ASSIGN_OR_RETURN(uint64_t index, ParseUnsigned("modify-index", inv.args.String("modify-index")));
  params.emplace_back("cas", std::to_string(index));
  return params;
}

// The acquire= or release= parameter that -acquire/-release ask for, if any.
Result<QueryParams> LockParams(const Invocation& inv) {
  const bool acquire = inv.args.Bool("acquire");
  const bool release = inv.args.Bool("release");
  if (!acquire && !release) return QueryParams{};
  if (acquire && release) return Status::InvalidArgument("Error! Cannot use both -acquire and -release");
  const std::string session = inv.args.String("session");
  if (session.empty()) return Status::InvalidArgument("Error! Missing -session (required with -acquire and -release)");
  return QueryParams{{acquire ? "acquire" : "release", session}};
}

std::string PutSuccessMessage(const Invocation& inv, const std::string& key) {
  if (inv.args.Bool("acquire")) return "Success! Lock acquired on: " + key;
  if (inv.args.Bool("release")) return "Success! Lock released on: " + key;
  return "Success! Data written to: " + key;
}

Result<std::string> PutValue(Invocation& inv) {
  const auto& positional = inv.args.positional;
  CAIRN_ASSIGN_OR_RETURN(std::string data, ReadDataArgument(positional.size() > 1 ? positional[1] : "", inv.in));
  if (!inv.args.Bool("base64")) return data;
  Result<std::string> decoded = Base64Decode(data);
  if (!decoded.IsOk())
    return Status::InvalidArgument("Error! Cannot base 64 decode data: " + decoded.GetStatus().Message());
  return decoded;
}

int KvPut(Invocation& inv) {
  Result<std::string> key = KeyArgument(inv, 2, false);
  if (!key.IsOk()) return inv.Fail(key.GetStatus().Message());
  Result<QueryParams> params = CasParams(inv);
  if (!params.IsOk()) return inv.Fail(params.GetStatus().Message());
  Result<QueryParams> lock = LockParams(inv);
  if (!lock.IsOk()) return inv.Fail(lock.GetStatus().Message());
  Result<std::string> value = PutValue(inv);
  if (!value.IsOk()) return inv.Fail(value.GetStatus().Message());
  QueryParams all = inv.BaseParams();
  all.insert(all.end(), params->begin(), params->end());
  all.insert(all.end(), lock->begin(), lock->end());
  Result<HttpReply> reply = inv.client.Put(WithQuery(KvPath(*key), all), *value);
  if (!reply.IsOk()) return inv.Fail("Error! Failed writing data: " + reply.GetStatus().Message());
  if (reply->status / 100 != 2) return inv.Fail("Error! Failed writing data: " + UnexpectedReply(*reply).Message());
  if (!IsTrue(*reply)) {
    if (inv.args.Bool("cas")) return inv.Fail("Error! Did not write to " + *key + ": CAS failed");
    if (inv.args.Bool("acquire")) return inv.Fail("Error! Failed to acquire lock on " + *key);
    return inv.Fail("Error! Failed writing data to " + *key);
  }
  inv.out << PutSuccessMessage(inv, *key) << "\n";
  return 0;
}

int KvDelete(Invocation& inv) {
  const bool recurse = inv.args.Bool("recurse");
  Result<std::string> key = KeyArgument(inv, 1, recurse);
  if (!key.IsOk()) return inv.Fail(key.GetStatus().Message());
  if (recurse && inv.args.Bool("cas")) return inv.Fail("Error! Cannot specify both -cas and -recurse");
  Result<QueryParams> params = CasParams(inv);
  if (!params.IsOk()) return inv.Fail(params.GetStatus().Message());
  QueryParams all = inv.BaseParams();
  all.insert(all.end(), params->begin(), params->end());
  if (recurse) all.emplace_back("recurse", "");
  Result<HttpReply> reply = inv.client.Delete(WithQuery(KvPath(*key), all));
  if (!reply.IsOk()) return inv.Fail("Error! Failed deleting data: " + reply.GetStatus().Message());
  if (reply->status / 100 != 2) return inv.Fail("Error! Failed deleting data: " + UnexpectedReply(*reply).Message());
  if (inv.args.Bool("cas") && !IsTrue(*reply)) return inv.Fail("Error! Did not delete key " + *key + ": CAS failed");
  inv.out << (recurse ? "Success! Deleted keys with prefix: " : "Success! Deleted key: ") << *key << "\n";
  return 0;
}

int KvExport(Invocation& inv) {
  Result<std::string> prefix = KeyArgument(inv, 1, true);
  if (!prefix.IsOk()) return inv.Fail(prefix.GetStatus().Message());
  QueryParams params = inv.BaseParams();
  params.emplace_back("recurse", "");
  Result<std::vector<KvPair>> pairs = FetchPairs(inv, *prefix, params);
  if (!pairs.IsOk()) return inv.Fail("Error querying the agent: " + pairs.GetStatus().Message());
  inv.out << FormatKvExport(*pairs);
  return 0;
}

int KvImport(Invocation& inv) {
  const auto& positional = inv.args.positional;
  if (positional.size() > 1) {
    return inv.Fail("Error! Too many arguments (expected 1, got " + std::to_string(positional.size()) + ")");
  }
  Result<std::string> data = ReadDataArgument(positional.empty() ? "-" : positional[0], inv.in);
  if (!data.IsOk()) return inv.Fail("Error! " + data.GetStatus().Message());
  Result<std::vector<KvPair>> pairs = ParseKvImport(*data);
  if (!pairs.IsOk()) return inv.Fail("Error! Cannot unmarshal data: " + pairs.GetStatus().Message());
  const std::string prefix = inv.args.String("prefix");
  for (const KvPair& pair : *pairs) {
    const std::string key = prefix + pair.key;
    QueryParams params = inv.BaseParams();
    params.emplace_back("flags", std::to_string(pair.flags));
    Result<HttpReply> reply = inv.client.Put(WithQuery(KvPath(key), params), pair.value);
    Status failure = !reply.IsOk()              ? reply.GetStatus()
                     : reply->status / 100 != 2 ? UnexpectedReply(*reply)
                     : !IsTrue(*reply)          ? Status::Aborted("the agent refused the write")
                                                : OkStatus();
    if (!failure.IsOk()) return inv.Fail("Error! Failed to write " + key + ": " + failure.Message());
    inv.out << "Imported: " << key << "\n";
  }
  return 0;
}

}  // namespace

std::vector<Command> KvCommands() {
  const FlagSpec cas = {"cas", FlagKind::kBool, "",
                        "Perform a check-and-set: the operation succeeds only if -modify-index matches the key's "
                        "current ModifyIndex (0 means the key must not exist). The default is false."};
  const FlagSpec modify_index = {"modify-index", FlagKind::kString, "uint", "The ModifyIndex that -cas compares."};
  return {
      {{"kv", "get"},
       "[KEY_OR_PREFIX]",
       "Retrieve or list data",
       "Reads the value stored at KEY, or with -recurse every entry under a prefix, or with -keys only the "
       "key names. A missing key is an error; a missing prefix prints nothing.",
       HttpFlags::kRead,
       {{"base64", FlagKind::kBool, "", "Print values base64-encoded. The default is false."},
        {"detailed", FlagKind::kBool, "", "Print the entry's metadata (indexes, flags, session) as well as its value."},
        {"keys", FlagKind::kBool, "", "List the keys under the prefix, not their values. The default is false."},
        {"recurse", FlagKind::kBool, "", "Read every entry whose key starts with the prefix. The default is false."},
        {"separator", FlagKind::kString, "string",
         "With -keys, list keys only up to the first occurrence of this string after the prefix. The default is "
         "\"/\"."}},
       KvGet},
      {{"kv", "put"},
       "KEY [DATA]",
       "Set or update data",
       "Writes DATA at KEY. DATA \"-\" reads standard input and \"@path\" reads a file; without DATA the key "
       "holds an empty value.",
       HttpFlags::kWrite,
       {{"acquire", FlagKind::kBool, "", "Write only while acquiring the lock on KEY for -session."},
        {"base64", FlagKind::kBool, "", "DATA is base64-encoded; decode it before writing."},
        cas,
        {"flags", FlagKind::kString, "uint", "An opaque unsigned integer stored with the entry."},
        modify_index,
        {"release", FlagKind::kBool, "", "Release the lock on KEY held by -session."},
        {"session", FlagKind::kString, "string", "The session for -acquire and -release."}},
       KvPut},
      {{"kv", "delete"},
       "KEY_OR_PREFIX",
       "Delete data",
       "Removes the entry at KEY, or with -recurse every entry under a prefix.",
       HttpFlags::kWrite,
       {cas, modify_index, {"recurse", FlagKind::kBool, "", "Delete every entry whose key starts with the prefix."}},
       KvDelete},
      {{"kv", "export"},
       "[PREFIX]",
       "Export a tree as JSON",
       "Prints every entry under PREFIX as a JSON array of {\"key\", \"flags\", \"value\"} objects with "
       "base64 values, the input format of kv import.",
       HttpFlags::kRead,
       {},
       KvExport},
      {{"kv", "import"},
       "[DATA]",
       "Import a tree from JSON",
       "Writes the entries of a kv export document. DATA \"-\" or no DATA reads standard input, \"@path\" "
       "reads a file, anything else is the JSON itself.",
       HttpFlags::kWrite,
       {{"prefix", FlagKind::kString, "string", "Prepend this string to every imported key."}},
       KvImport},
  };
}

}  // namespace cairn::cli
