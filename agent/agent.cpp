#include "agent/agent.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "agent/agent_backend.h"
#include "agent/agent_core.h"
#include "agent/loop_call.h"
#include "common/random.h"
#include "common/uv_env.h"
#include "http/api_server.h"

namespace cairn {

using namespace std::chrono_literals;

namespace {

constexpr std::chrono::milliseconds kLeaderWait = 10s;
// After a graceful leave the agent keeps gossiping this long, so the leave spreads, then stops.
constexpr std::chrono::milliseconds kLeavePropagation = 2s;

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "cairn";
  return name;
}

// The process's own randomness (the agent's Env does not exist yet when the id is chosen).
std::string NewNodeId() {
  Prng prng(std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32) ^
            static_cast<uint64_t>(::getpid()));
  return RandomUuid(prng);
}

// The node id survives restarts: it is kept in <data_dir>/node-id.
Result<std::string> LoadOrCreateNodeId(const std::string& data_dir, const std::string& wanted) {
  const std::filesystem::path path = std::filesystem::path(data_dir) / "node-id";
  std::ifstream in(path);
  std::string stored;
  if (in && std::getline(in, stored) && !stored.empty()) {
    if (!wanted.empty() && wanted != stored) {
      return Status::InvalidArgument("-node-id " + wanted + " differs from " + stored + " stored in " + path.string());
    }
    return stored;
  }
  std::string id = wanted.empty() ? NewNodeId() : wanted;
  std::ofstream out(path);
  out << id << "\n";
  if (!out.flush()) return Status::IoError("cannot write " + path.string());
  return id;
}

// Fills in what the user did not set; creates the data dir.
Status ResolveConfig(agent::AgentConfig& config) {
  CAIRN_RETURN_IF_ERROR(agent::ValidateAgentConfig(config));
  if (config.node_name.empty()) config.node_name = HostName();
  if (config.dev) {
    char pattern[] = "/tmp/cairn-dev-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return Status::IoError("cannot create a temporary data dir in /tmp");
    config.data_dir = pattern;
  }
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Status::IoError("cannot create -data-dir " + config.data_dir + ": " + ec.message());
  CAIRN_ASSIGN_OR_RETURN(config.node_id, LoadOrCreateNodeId(config.data_dir, config.node_id));
  return OkStatus();
}

LogLevel ParseLevel(const std::string& level) {
  if (level == "debug" || level == "trace") return LogLevel::kDebug;
  if (level == "warn") return LogLevel::kWarn;
  if (level == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

}  // namespace

class Agent::Impl {
 public:
  explicit Impl(agent::AgentConfig config) : config_(std::move(config)) {}
  ~Impl() {
    Shutdown();
    if (leave_thread_.joinable()) leave_thread_.join();
  }

  Status Start() {
    std::promise<Status> opened;
    std::future<Status> opened_future = opened.get_future();
    loop_thread_ = std::thread([this, &opened] { RunLoop(opened); });
    Status status = opened_future.get();
    if (!status.IsOk()) {
      loop_thread_.join();
      return status;
    }
    CAIRN_RETURN_IF_ERROR(WaitForLeader());
    backend_ = std::make_unique<agent::AgentBackend>(*env_, *core_, [this] { StopAfterLeave(); });
    http::ApiOptions options;
    options.bind_host = config_.client_addr;
    options.port = config_.http_port;
    http_ = std::make_unique<http::HttpApi>(*backend_, options);
    Status started = http_->Start();
    if (!started.IsOk()) {
      Shutdown();
      return started;
    }
    config_.http_port = http_->Port();
    logger_->Info("agent started", {{"http", config_.client_addr + ":" + std::to_string(config_.http_port)},
                                    {"data_dir", config_.data_dir}});
    return OkStatus();
  }

  void Shutdown() {
    std::call_once(shutdown_once_, [this] {
      if (backend_) backend_->Close();  // wakes blocking queries so the HTTP workers can finish
      if (http_) http_->Stop();
      if (env_) (void)env_->Post([this] { env_->Stop(); });
      if (loop_thread_.joinable()) loop_thread_.join();
      if (config_.dev && !config_.data_dir.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(config_.data_dir, ec);
      }
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
      stopped_cv_.notify_all();
    });
  }

  // As Consul's agent does after a graceful leave: stop once the leave has had time to spread.
  void StopAfterLeave() {
    std::lock_guard<std::mutex> lock(mu_);
    if (leave_thread_.joinable() || stopped_) return;
    leave_thread_ = std::thread([this] {
      {
        std::unique_lock<std::mutex> wait(mu_);
        stopped_cv_.wait_for(wait, kLeavePropagation, [&] { return stopped_; });
      }
      Shutdown();
    });
  }

  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    stopped_cv_.wait(lock, [&] { return stopped_; });
  }

  agent::AgentConfig config_;
  std::unique_ptr<UvEnv> env_;
  std::unique_ptr<Logger> logger_;
  std::unique_ptr<agent::AgentCore> core_;
  std::unique_ptr<agent::AgentBackend> backend_;
  std::unique_ptr<http::HttpApi> http_;

 private:
  // The loop thread: opens the core, reports, runs until stopped, then tears down in order.
  void RunLoop(std::promise<Status>& opened) {
    env_ = std::make_unique<UvEnv>();
    UvEnv* env = env_.get();
    logger_ = std::make_unique<Logger>(
        config_.node_name, [env] { return std::chrono::duration<double>(env->Now().time_since_epoch()).count(); });
    logger_->SetLevel(ParseLevel(config_.log_level));
    Result<std::unique_ptr<agent::AgentCore>> core =
        agent::AgentCore::Open(*env_, *logger_, config_, config_.data_dir + "/server");
    if (!core.IsOk()) {
      opened.set_value(core.GetStatus());
      return;
    }
    core_ = std::move(*core);
    opened.set_value(OkStatus());
    env_->Run();
    core_.reset();
  }

  Status WaitForLeader() {
    // A client agent serves at once: it relays to servers as gossip finds them.
    if (!config_.server && !config_.dev) return OkStatus();
    const auto deadline = std::chrono::steady_clock::now() + kLeaderWait;
    while (std::chrono::steady_clock::now() < deadline) {
      // Waiting for the agent's own node too means a session created right after start finds
      // its default serfHealth check.
      Result<bool> ready =
          agent::CallOnLoop<bool>(*env_, 1s, [this](auto done) { done(core_->Ready() && core_->SelfRegistered()); });
      if (ready.IsOk() && *ready) return OkStatus();
      std::this_thread::sleep_for(5ms);
    }
    // A multi-server cluster may elect later: serve anyway, answering "No cluster leader".
    if (config_.bootstrap_expect > 1) return OkStatus();
    return Status::Timeout("no leader elected within " + std::to_string(kLeaderWait.count()) + " ms");
  }

  std::thread loop_thread_;
  std::thread leave_thread_;
  std::once_flag shutdown_once_;
  std::mutex mu_;
  std::condition_variable stopped_cv_;
  bool stopped_ = false;
};

Agent::Agent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Agent::~Agent() = default;

Result<std::unique_ptr<Agent>> Agent::Start(agent::AgentConfig config) {
  CAIRN_RETURN_IF_ERROR(ResolveConfig(config));
  auto impl = std::make_unique<Impl>(std::move(config));
  CAIRN_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

void Agent::Shutdown() { impl_->Shutdown(); }
void Agent::Wait() { impl_->Wait(); }
http::Backend& Agent::Api() { return *impl_->backend_; }
uint16_t Agent::HttpPort() const { return impl_->config_.http_port; }
const agent::AgentConfig& Agent::Config() const { return impl_->config_; }

}  // namespace cairn
