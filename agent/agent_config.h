// The agent's settings and the `cairn agent` command line that fills them.
//
// Flag names follow Consul's agent (`-dev`, `-server`, `-bootstrap-expect`, `-data-dir`,
// `-node`, `-bind`, `-client`, `-retry-join`, `-http-port`, `-serf-lan-port`, `-server-port`,
// ...), written `-name=value` or `-name value`, so that a Consul user's habits work.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace cairn::agent {

struct AgentConfig {
  bool help = false;
  // A one-node server with its state in a temporary directory that is removed at exit.
  bool dev = false;
  bool server = false;
  // Servers wait until this many servers (themselves included) know each other, then elect.
  uint32_t bootstrap_expect = 0;
  std::string data_dir;
  std::string node_name;  // default: the host name
  std::string node_id;    // default: a random UUID kept in <data_dir>/node-id
  std::string datacenter = "dc1";
  // Address for gossip and the server port; HTTP and DNS bind `client_addr`.
  std::string bind_addr = "127.0.0.1";
  std::string client_addr = "127.0.0.1";
  // Gossip addresses ("host" or "host:port") to join, retried until one answers.
  std::vector<std::string> retry_join;
  uint16_t http_port = 8500;
  uint16_t dns_port = 8600;
  uint16_t serf_lan_port = 8301;
  uint16_t server_port = 8300;
  std::string log_level = "info";
};

// Parses the arguments after `cairn agent`. kInvalidArgument names the flag that was wrong.
// `-help` sets AgentConfig::help (the caller prints AgentUsage() and exits 0).
Result<AgentConfig> ParseAgentArgs(const std::vector<std::string>& args);
std::string AgentUsage();

// The checks that need the whole configuration (a server needs a data dir, and so on).
Status ValidateAgentConfig(const AgentConfig& config);

}  // namespace cairn::agent
