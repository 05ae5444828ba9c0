#include "agent/run_agent.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "agent/agent.h"

namespace cairn::agent {
namespace {

// Every HTTP client connection, held blocking query included, is a descriptor, and the usual
// soft limit (1,024) is far below what a server agent should hold: take the hard limit, as
// Go programs such as Consul do at start.
void RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) std::cerr << "cairn agent: could not raise the open file limit\n";
}

}  // namespace

bool AsksForClientAgent(const std::vector<std::string>& args) {
  Result<AgentConfig> config = ParseAgentArgs(args);
  return config.IsOk() && !config->help && !config->server && !config->dev;
}

// The signals are blocked in every thread and taken by one waiting thread, so no handler runs
// inside the agent's threads.
int RunAgent(const std::vector<std::string>& args) {
  Result<AgentConfig> config = ParseAgentArgs(args);
  if (!config.IsOk()) {
    std::cerr << "cairn agent: " << config.GetStatus().Message() << "\n\n" << AgentUsage();
    return 1;
  }
  if (config->help) {
    std::cout << AgentUsage();
    return 0;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  RaiseDescriptorLimit();

  auto agent = Agent::Start(std::move(*config));
  if (!agent.IsOk()) {
    std::cerr << "cairn agent: " << agent.GetStatus().ToString() << "\n";
    return 1;
  }
  std::cout << "==> Cairn agent running. HTTP API on " << (*agent)->Config().client_addr << ":" << (*agent)->HttpPort()
            << ", node " << (*agent)->Config().node_name << std::endl;
  std::atomic<bool> stopped{false};
  std::thread signal_waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    if (stopped) return;  // the agent stopped on its own (a leave) and woke this thread
    std::cout << "==> Caught signal " << signal << ", shutting down" << std::endl;
    (*agent)->Shutdown();
  });
  (*agent)->Wait();
  stopped = true;
  pthread_kill(signal_waiter.native_handle(), SIGTERM);  // blocked here, so only sigwait takes it
  signal_waiter.join();
  std::cout << "==> Cairn agent stopped" << std::endl;
  return 0;
}

}  // namespace cairn::agent
