// cairn::Agent: a running Cairn agent, for the `cairn` binary and for applications that embed
// one.
//
//   agent::AgentConfig config;
//   config.dev = true;
//   config.http_port = 0;  // any free port
//   auto agent = cairn::Agent::Start(config);
//   if (!agent.IsOk()) ...;
//   (*agent)->Api().Write(...);   // or HTTP on (*agent)->HttpPort()
//   (*agent)->Shutdown();
//
// The agent runs on its own loop thread (plus the HTTP server's worker threads); Start returns
// once the HTTP API answers and a leader is known. Every method is safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "agent/agent_config.h"
#include "common/status.h"
#include "http/backend.h"

namespace cairn {

class Agent {
 public:
  // Validates `config`, fills in the defaults (node name, node id, data dir for -dev) and
  // starts everything. kInvalidArgument names a bad setting; kIoError a port or directory
  // that could not be used; kTimeout when no leader appeared in time.
  static Result<std::unique_ptr<Agent>> Start(agent::AgentConfig config);
  // Shuts down if still running.
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Stops the HTTP API, gossip and the server, in that order. A -dev agent's state is removed.
  void Shutdown();
  // Blocks until the agent has stopped (Shutdown from another thread, or 2 s after a graceful
  // leave through Api().Leave() or /v1/agent/leave).
  void Wait();

  // The calls the HTTP API makes, for an embedding application to make directly.
  http::Backend& Api();
  uint16_t HttpPort() const;
  const agent::AgentConfig& Config() const;

  class Impl;

 private:
  explicit Agent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn
