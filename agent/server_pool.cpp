#include "agent/server_pool.h"

#include <algorithm>

namespace cairn::agent {

using namespace std::chrono_literals;

namespace {

constexpr Duration kRebalanceMin = 120s;
constexpr Duration kRebalanceJitterMax = 60s;
constexpr size_t kReconnectsPerSecondPerServer = 64;

}  // namespace

bool ServerPool::Update(const std::vector<gossip::Member>& members, const std::string& datacenter) {
  std::vector<std::string> alive;
  for (const gossip::Member& member : members) {
    if (member.meta.role != "server" || member.meta.datacenter != datacenter) continue;
    if (member.state != gossip::MemberState::kAlive || member.meta.http_address.empty()) continue;
    alive.push_back(member.meta.http_address);
  }
  std::sort(alive.begin(), alive.end());
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> kept;
  for (const std::string& server : servers_) {
    if (std::binary_search(alive.begin(), alive.end(), server)) kept.push_back(server);
  }
  const bool changed = kept.size() != servers_.size() || kept.size() != alive.size();
  for (const std::string& server : alive) {
    if (std::find(kept.begin(), kept.end(), server) != kept.end()) continue;
    // Behind the current server (position 0), anywhere; with no current server, anywhere.
    const size_t first = kept.empty() ? 0 : 1;
    const size_t place = first + prng_.Below(kept.size() - first + 1);
    kept.insert(kept.begin() + static_cast<std::ptrdiff_t>(place), server);
  }
  servers_ = std::move(kept);
  return changed;
}

std::optional<std::string> ServerPool::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (servers_.empty()) return std::nullopt;
  return servers_.front();
}

void ServerPool::Failed(const std::string& server) {
  std::lock_guard<std::mutex> lock(mu_);
  if (servers_.empty() || servers_.front() != server) return;
  std::rotate(servers_.begin(), servers_.begin() + 1, servers_.end());
}

void ServerPool::Rebalance() {
  std::lock_guard<std::mutex> lock(mu_);
  if (servers_.size() < 2) return;
  std::swap(servers_.front(), servers_[prng_.Below(servers_.size())]);
}

size_t ServerPool::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return servers_.size();
}

std::vector<std::string> ServerPool::Servers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return servers_;
}

Duration ServerPool::RebalanceInterval(size_t servers, size_t members, Prng& prng) {
  const Duration jitter = std::chrono::duration_cast<Duration>(kRebalanceJitterMax * prng.NextDouble());
  // All `members` reconnecting within the interval, spread over `servers`, at no more than
  // kReconnectsPerSecondPerServer each.
  const size_t per_server = members / std::max<size_t>(servers, 1);
  const Duration spread = std::chrono::seconds(per_server / kReconnectsPerSecondPerServer);
  return std::max(spread, kRebalanceMin + jitter);
}

}  // namespace cairn::agent
