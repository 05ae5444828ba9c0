#include "agent/agent_config.h"

#include <charconv>
#include <functional>
#include <map>
#include <optional>

namespace cairn::agent {
namespace {

// How one flag stores its value. Boolean flags take no value (or an explicit =true/=false).
struct FlagSpec {
  bool boolean = false;
  std::function<Status(AgentConfig&, const std::string&)> set;
};

Status ParsePort(const std::string& flag, const std::string& text, uint16_t& port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return Status::InvalidArgument("-" + flag + ": not a port number: \"" + text + "\"");
  }
  port = static_cast<uint16_t>(value);
  return OkStatus();
}

Status ParseBool(const std::string& flag, const std::string& text, bool& out) {
  if (text == "true" || text == "1" || text.empty()) {
    out = true;
  } else if (text == "false" || text == "0") {
    out = false;
  } else {
    return Status::InvalidArgument("-" + flag + ": not a boolean: \"" + text + "\"");
  }
  return OkStatus();
}

FlagSpec StringFlag(std::string AgentConfig::*field) {
  return {false, [field](AgentConfig& c, const std::string& v) {
            c.*field = v;
            return OkStatus();
          }};
}

FlagSpec PortFlag(const std::string& name, uint16_t AgentConfig::*field) {
  return {false, [name, field](AgentConfig& c, const std::string& v) { return ParsePort(name, v, c.*field); }};
}

FlagSpec BoolFlag(const std::string& name, bool AgentConfig::*field) {
  return {true, [name, field](AgentConfig& c, const std::string& v) { return ParseBool(name, v, c.*field); }};
}

const std::map<std::string, FlagSpec>& Flags() {
  static const std::map<std::string, FlagSpec> flags = {
      {"dev", BoolFlag("dev", &AgentConfig::dev)},
      {"server", BoolFlag("server", &AgentConfig::server)},
      {"bootstrap-expect",
       {false,
        [](AgentConfig& c, const std::string& v) {
          unsigned n = 0;
          auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
          if (ec != std::errc() || end != v.data() + v.size() || n == 0 || n > 7) {
            return Status::InvalidArgument("-bootstrap-expect: want a number from 1 to 7, got \"" + v + "\"");
          }
          c.bootstrap_expect = n;
          return OkStatus();
        }}},
      {"data-dir", StringFlag(&AgentConfig::data_dir)},
      {"node", StringFlag(&AgentConfig::node_name)},
      {"node-id", StringFlag(&AgentConfig::node_id)},
      {"datacenter", StringFlag(&AgentConfig::datacenter)},
      {"bind", StringFlag(&AgentConfig::bind_addr)},
      {"client", StringFlag(&AgentConfig::client_addr)},
      {"log-level", StringFlag(&AgentConfig::log_level)},
      {"retry-join",
       {false,
        [](AgentConfig& c, const std::string& v) {
          c.retry_join.push_back(v);
          return OkStatus();
        }}},
      {"http-port", PortFlag("http-port", &AgentConfig::http_port)},
      {"dns-port", PortFlag("dns-port", &AgentConfig::dns_port)},
      {"serf-lan-port", PortFlag("serf-lan-port", &AgentConfig::serf_lan_port)},
      {"server-port", PortFlag("server-port", &AgentConfig::server_port)},
  };
  return flags;
}

// Splits "-name=value", "--name=value" or "-name" into its parts.
std::pair<std::string, std::optional<std::string>> SplitFlag(const std::string& arg) {
  std::string body = arg.substr(arg.rfind("--", 0) == 0 ? 2 : 1);
  const size_t eq = body.find('=');
  if (eq == std::string::npos) return {body, std::nullopt};
  return {body.substr(0, eq), body.substr(eq + 1)};
}

}  // namespace

Result<AgentConfig> ParseAgentArgs(const std::vector<std::string>& args) {
  AgentConfig config;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') return Status::InvalidArgument("unexpected argument \"" + arg + "\"");
    auto [name, value] = SplitFlag(arg);
    if (name == "help" || name == "h") {
      config.help = true;
      return config;
    }
    auto flag = Flags().find(name);
    if (flag == Flags().end()) return Status::InvalidArgument("flag provided but not defined: -" + name);
    if (!value && !flag->second.boolean) {
      if (i + 1 >= args.size()) return Status::InvalidArgument("flag needs an argument: -" + name);
      value = args[++i];
    }
    CAIRN_RETURN_IF_ERROR(flag->second.set(config, value.value_or("")));
  }
  return config;
}

Status ValidateAgentConfig(const AgentConfig& config) {
  if (config.dev) {
    if (config.bootstrap_expect > 0) return Status::InvalidArgument("-bootstrap-expect cannot be used with -dev");
    return OkStatus();
  }
  if (config.data_dir.empty()) return Status::InvalidArgument("-data-dir is required");
  if (!config.server) {
    if (config.bootstrap_expect > 0) return Status::InvalidArgument("-bootstrap-expect needs -server");
    return OkStatus();  // a client agent
  }
  if (config.bootstrap_expect == 0) {
    return Status::InvalidArgument("-bootstrap-expect is required for a server (1 for a single server)");
  }
  if (config.bootstrap_expect > 1 && config.retry_join.empty()) {
    return Status::InvalidArgument("-bootstrap-expect=" + std::to_string(config.bootstrap_expect) +
                                   " needs -retry-join addresses of the other servers");
  }
  return OkStatus();
}

std::string AgentUsage() {
  return R"(Usage: cairn agent [options]

  Starts a Cairn agent. It runs until interrupted (Ctrl-C or SIGTERM). Without -server
  or -dev it is a client agent: it keeps its services and checks, gossips, and sends
  everything else to the servers it learns of through -retry-join.

  -dev                   A one-node server for development: state in a temporary
                         directory, HTTP on 127.0.0.1:8500, ready in under a second.
  -server                Run in server mode (replicates the catalog with Raft).
  -bootstrap-expect=N    Servers to wait for before the first election.
  -data-dir=PATH         Where the server keeps its Raft log and catalog.
  -node=NAME             Node name (default: the host name).
  -node-id=UUID          Node id (default: random, kept in the data dir).
  -datacenter=NAME       Datacenter (default: dc1).
  -bind=ADDR             Address for gossip and the server port (default: 127.0.0.1).
  -client=ADDR           Address for HTTP and DNS (default: 127.0.0.1).
  -retry-join=ADDR       Gossip address of another agent; repeatable.
  -http-port=PORT        HTTP API port (default: 8500).
  -dns-port=PORT         DNS port (default: 8600).
  -serf-lan-port=PORT    Gossip port (default: 8301).
  -server-port=PORT      Server (Raft) port (default: 8300).
  -log-level=LEVEL       debug, info, warn or error (default: info).
)";
}

}  // namespace cairn::agent
