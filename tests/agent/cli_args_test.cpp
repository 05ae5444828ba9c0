// Argument handling of the `cairn` verbs: Go-style flag parsing, help texts, and the errors a
// verb reports before it talks to any agent.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/cli/api_client.h"
#include "agent/cli/cli.h"
#include "agent/cli/commands.h"
#include "agent/cli/flags.h"

namespace cairn::cli {
namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

// Runs `verb` with `rest` after it. Nothing listens on port 1, so a verb that wrongly reached
// the network would fail with a different message.
Run RunVerb(const std::vector<std::string>& verb, const std::vector<std::string>& rest) {
  std::vector<std::string> args = verb;
  args.push_back("-http-addr=127.0.0.1:1");
  args.insert(args.end(), rest.begin(), rest.end());
  std::istringstream in;
  std::ostringstream out, err;
  int code = RunCli(args, in, out, err);
  return {code, out.str(), err.str()};
}

const std::vector<FlagSpec> kSpecs = {
    {"recurse", FlagKind::kBool, "", ""},
    {"separator", FlagKind::kString, "string", ""},
    {"n", FlagKind::kString, "count", ""},
};

TEST_SUITE("cli.args") {
  TEST_CASE("flags take -name=value, -name value and --name, and stop at the first argument") {
    Result<ParsedArgs> parsed = ParseFlags(kSpecs, {"-separator=:", "--n", "3", "-recurse", "key", "-recurse=false"});
    REQUIRE(parsed.IsOk());
    CHECK(parsed->String("separator") == ":");
    CHECK(parsed->String("n") == "3");
    CHECK(parsed->Bool("recurse"));
    // Everything after the first positional stays positional: `lock prefix cmd -x` needs this.
    CHECK(parsed->positional == std::vector<std::string>{"key", "-recurse=false"});
    CHECK_FALSE(parsed->help);
  }

  TEST_CASE("booleans accept Go's spellings and reject others") {
    CHECK_FALSE(ParseFlags(kSpecs, {"-recurse=false"})->Bool("recurse"));
    CHECK(ParseFlags(kSpecs, {"-recurse=T"})->Bool("recurse"));
    CHECK(ParseFlags(kSpecs, {"-recurse=0"})->Has("recurse"));
    Result<ParsedArgs> bad = ParseFlags(kSpecs, {"-recurse=yes"});
    REQUIRE_FALSE(bad.IsOk());
    CHECK(bad.GetStatus().Message() == "invalid boolean value \"yes\" for -recurse");
  }

  TEST_CASE("-- ends the flags; a lone dash is an argument; -h and -help ask for help") {
    Result<ParsedArgs> parsed = ParseFlags(kSpecs, {"--", "-recurse"});
    CHECK(parsed->positional == std::vector<std::string>{"-recurse"});
    CHECK(ParseFlags(kSpecs, {"-"})->positional == std::vector<std::string>{"-"});
    CHECK(ParseFlags(kSpecs, {"-h"})->help);
    CHECK(ParseFlags(kSpecs, {"--help"})->help);
  }

  TEST_CASE("unknown flags and missing values are errors in Go's words") {
    Result<ParsedArgs> unknown = ParseFlags(kSpecs, {"-bogus=1"});
    REQUIRE_FALSE(unknown.IsOk());
    CHECK(unknown.GetStatus().Message() == "flag provided but not defined: -bogus");
    Result<ParsedArgs> missing = ParseFlags(kSpecs, {"-separator"});
    REQUIRE_FALSE(missing.IsOk());
    CHECK(missing.GetStatus().Message() == "flag needs an argument: -separator");
  }

  TEST_CASE("unsigned integers and durations") {
    CHECK(ParseUnsigned("flags", "18446744073709551615").Value() == UINT64_MAX);
    CHECK_FALSE(ParseUnsigned("flags", "18446744073709551616").IsOk());
    CHECK_FALSE(ParseUnsigned("flags", "-1").IsOk());
    CHECK_FALSE(ParseUnsigned("flags", "").IsOk());
    CHECK(ParseDurationMillis("timeout", "1m30s").Value() == 90'000);
    CHECK(ParseDurationMillis("timeout", "250ms").Value() == 250);
    CHECK(ParseDurationMillis("timeout", "2h").Value() == 7'200'000);
    CHECK(ParseDurationMillis("timeout", "0").Value() == 0);
    CHECK_FALSE(ParseDurationMillis("timeout", "10").IsOk());
    CHECK_FALSE(ParseDurationMillis("timeout", "5x").IsOk());
    CHECK_FALSE(ParseDurationMillis("timeout", "").IsOk());
  }

  TEST_CASE("every verb prints its usage for -help and exits 0") {
    const std::vector<std::vector<std::string>> verbs = {{"kv", "get"},
                                                         {"kv", "put"},
                                                         {"kv", "delete"},
                                                         {"kv", "export"},
                                                         {"kv", "import"},
                                                         {"catalog", "nodes"},
                                                         {"catalog", "services"},
                                                         {"lock"},
                                                         {"operator", "raft", "list-peers"},
                                                         {"operator", "raft", "remove-peer"},
                                                         {"members"},
                                                         {"join"},
                                                         {"leave"},
                                                         {"force-leave"},
                                                         {"info"}};
    for (std::vector<std::string> verb : verbs) {
      std::string name;
      for (const std::string& word : verb) name += (name.empty() ? "" : " ") + word;
      CAPTURE(name);
      verb.push_back("-help");
      std::ostringstream out, err;
      CHECK(RunCli(verb, out, err) == 0);
      CHECK(out.str().rfind("Usage: cairn " + name + " [options]", 0) == 0);
      CHECK(out.str().find("-http-addr=<address>") != std::string::npos);
      CHECK(err.str().empty());
    }
  }

  TEST_CASE("help lists each verb's own flags and -stale only where Consul has it") {
    std::ostringstream out, err;
    REQUIRE(RunCli({"kv", "get", "-help"}, out, err) == 0);
    for (const char* flag : {"-recurse", "-keys", "-separator=<string>", "-detailed", "-base64", "-stale", "-token"}) {
      CHECK(out.str().find(flag) != std::string::npos);
    }
    std::ostringstream put_out, put_err;
    REQUIRE(RunCli({"kv", "put", "-help"}, put_out, put_err) == 0);
    CHECK(put_out.str().find("-stale") == std::string::npos);
    CHECK(put_out.str().find("-modify-index=<uint>") != std::string::npos);
  }

  TEST_CASE("a bad flag prints the error and the usage, and exits 1") {
    Run run = RunVerb({"kv", "get"}, {"-bogus", "key"});
    CHECK(run.code == 1);
    CHECK(run.err.rfind("flag provided but not defined: -bogus\n\nUsage: cairn kv get", 0) == 0);
    CHECK(run.out.empty());
  }

  TEST_CASE("groups list their verbs; unknown verbs are errors") {
    std::ostringstream out, err;
    CHECK(RunCli({"kv"}, out, err) == 1);
    CHECK(err.str().find("    put ") != std::string::npos);
    std::ostringstream help_out, help_err;
    CHECK(RunCli({"operator", "raft", "-help"}, help_out, help_err) == 0);
    CHECK(help_out.str().find("list-peers") != std::string::npos);
    CHECK(help_out.str().find("remove-peer") != std::string::npos);
    std::ostringstream bad_out, bad_err;
    CHECK(RunCli({"frobnicate"}, bad_out, bad_err) == 1);
    CHECK(bad_err.str().rfind("Unknown command: frobnicate", 0) == 0);
  }

  TEST_CASE("argument errors are reported before any request, with exit 1") {
    struct Case {
      std::vector<std::string> verb;
      std::vector<std::string> rest;
      std::string message;
    };
    const std::vector<Case> cases = {
        {{"kv", "get"}, {}, "Error! Missing KEY argument\n"},
        {{"kv", "get"}, {"a", "b"}, "Error! Too many arguments (expected 1, got 2)\n"},
        {{"kv", "get"}, {"/a"}, "Error! KEY argument must not begin with a '/'\n"},
        {{"kv", "put"}, {}, "Error! Missing KEY argument\n"},
        {{"kv", "put"}, {"a", "b", "c"}, "Error! Too many arguments (expected 1 or 2, got 3)\n"},
        {{"kv", "put"}, {"-cas", "a"}, "Error! Cannot use -cas without -modify-index\n"},
        {{"kv", "put"}, {"-acquire", "a"}, "Error! Missing -session (required with -acquire and -release)\n"},
        {{"kv", "put"}, {"-flags=x", "a"}, "invalid value \"x\" for -flags: not a non-negative integer\n"},
        {{"kv", "put"},
         {"-base64", "a", "%%%"},
         "Error! Cannot base 64 decode data: illegal base64 data: length is not a multiple of 4\n"},
        {{"kv", "delete"}, {}, "Error! Missing KEY argument\n"},
        {{"kv", "delete"}, {"-recurse", "-cas", "a"}, "Error! Cannot specify both -cas and -recurse\n"},
        {{"kv", "import"},
         {"[{\"flags\":1}]"},
         "Error! Cannot unmarshal data: import entry 0: missing string \"key\"\n"},
        {{"operator", "raft", "remove-peer"}, {}, "Error! Exactly one of -address or -id must be given\n"},
        {{"join"}, {}, "At least one address to join must be specified.\n"},
        {{"force-leave"}, {}, "A single node name must be specified to force leave.\n"},
        {{"lock"}, {"prefix"}, "Key prefix and child command must be specified\n"},
        {{"lock"}, {"-n=0", "prefix", "true"}, "Number of lock holders must be at least 1\n"},
        {{"lock"}, {"-timeout=soon", "prefix", "true"}, "invalid duration \"soon\" for -timeout\n"},
        {{"members"}, {"extra"}, "Error! members takes no arguments\n"},
    };
    for (const Case& c : cases) {
      Run run = RunVerb(c.verb, c.rest);
      CAPTURE(c.message);
      CHECK(run.code == 1);
      CHECK(run.err == c.message);
      CHECK(run.out.empty());
    }
  }

  TEST_CASE("an unreachable agent is an error naming the address") {
    Run run = RunVerb({"kv", "get"}, {"key"});
    CHECK(run.code == 1);
    CHECK(run.err.rfind("Error querying the agent: error connecting to the agent at 127.0.0.1:1: ", 0) == 0);
  }

  TEST_CASE("-token and -token-file are accepted and ignored") {
    Run run = RunVerb({"leave"}, {"-token=secret", "-token-file=/nonexistent"});
    CHECK(run.err.find("flag provided but not defined") == std::string::npos);
    CHECK(run.err.rfind("Error leaving: error connecting", 0) == 0);
  }

  TEST_CASE("the HTTP address: flag, then CAIRN_HTTP_ADDR, then CONSUL_HTTP_ADDR, then the default") {
    unsetenv("CAIRN_HTTP_ADDR");
    unsetenv("CONSUL_HTTP_ADDR");
    CHECK(ResolveHttpAddress("") == "127.0.0.1:8500");
    setenv("CONSUL_HTTP_ADDR", "10.0.0.2:8500", 1);
    CHECK(ResolveHttpAddress("") == "10.0.0.2:8500");
    setenv("CAIRN_HTTP_ADDR", "10.0.0.3:8500", 1);
    CHECK(ResolveHttpAddress("") == "10.0.0.3:8500");
    CHECK(ResolveHttpAddress("http://10.0.0.4:1") == "http://10.0.0.4:1");
    unsetenv("CAIRN_HTTP_ADDR");
    unsetenv("CONSUL_HTTP_ADDR");
    CHECK_FALSE(ApiClient::Create("unix:///tmp/sock").IsOk());
    CHECK(ApiClient::Create("127.0.0.1:8500").IsOk());
  }

  TEST_CASE("HTTP addresses: host:port, http:// URLs and names; HTTPS and bad ports are refused") {
    CHECK(ApiClient::Create("http://127.0.0.1:8500/").IsOk());
    CHECK(ApiClient::Create("localhost:8500").IsOk());
    CHECK(ApiClient::Create("[::1]:8500").IsOk());
    CHECK(ApiClient::Create("http://agent.local").IsOk());  // port 80
    const Status https = ApiClient::Create("https://127.0.0.1:8501").GetStatus();
    CHECK(https.Code() == StatusCode::kInvalidArgument);
    CHECK(https.Message().find("HTTPS is not supported") != std::string::npos);
    CHECK_FALSE(ApiClient::Create("127.0.0.1:99999").IsOk());
    CHECK_FALSE(ApiClient::Create("127.0.0.1:").IsOk());
    CHECK_FALSE(ApiClient::Create(":8500").IsOk());
  }

  TEST_CASE("query strings and KV paths are percent-encoded") {
    CHECK(PercentEncode("a b/c?d", true) == "a%20b/c%3Fd");
    CHECK(PercentEncode("a/b", false) == "a%2Fb");
    CHECK(PercentEncode("~-._", false) == "~-._");
    CHECK(WithQuery("/v1/kv/x", {{"recurse", ""}, {"separator", "/"}, {"dc", "a&b"}}) ==
          "/v1/kv/x?recurse&separator=%2F&dc=a%26b");
    CHECK(WithQuery("/v1/agent/self", {}) == "/v1/agent/self");
  }

  TEST_CASE("data arguments: literal, standard input, @file") {
    std::istringstream in("from stdin\n");
    CHECK(ReadDataArgument("plain", in).Value() == "plain");
    CHECK(ReadDataArgument("-", in).Value() == "from stdin\n");
    std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/cairn_cli_args_data";
    {
      std::ofstream file(path, std::ios::binary);
      file << std::string("bin\0ary", 7);
    }
    CHECK(ReadDataArgument("@" + path, in).Value() == std::string("bin\0ary", 7));
    std::remove(path.c_str());
    Result<std::string> missing = ReadDataArgument("@" + path, in);
    REQUIRE_FALSE(missing.IsOk());
    CHECK(missing.GetStatus().Message() == "failed to read file \"" + path + "\"");
  }
}

}  // namespace
}  // namespace cairn::cli
