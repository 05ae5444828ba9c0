#include "agent/gossip/gossip_host.h"

namespace cairn::gossip {

GossipHost::GossipHost(Env& env, const GossipHostConfig& config, MemberEventFn on_event, Logger* logger)
    : env_(env), config_(config), on_event_(std::move(on_event)), logger_(logger) {}

Result<std::unique_ptr<GossipHost>> GossipHost::Start(Env& env, const GossipHostConfig& config, MemberEventFn on_event,
                                                      Logger* logger) {
  if (config.tick_interval <= Duration::zero() || config.tcp_timeout <= Duration::zero()) {
    return Status::InvalidArgument("gossip tick_interval and tcp_timeout must be positive");
  }
  std::unique_ptr<GossipHost> host(new GossipHost(env, config, std::move(on_event), logger));
  // The core exists before any socket callback can run: Env never calls back re-entrantly.
  SwimConfig swim = config.swim;
  CAIRN_RETURN_IF_ERROR(host->OpenSockets(swim.address));
  CAIRN_ASSIGN_OR_RETURN(host->core_, Swim::Create(swim, env.Now()));
  host->ArmTick();
  return host;
}

Status GossipHost::OpenSockets(NetAddress& address) {
  // Port 0 picks a free UDP port and TCP then takes the same number, which may already be held
  // for TCP (an outgoing connection's local port, say): then pick again.
  const bool any_port = address.port == 0;
  const int attempts = any_port ? 16 : 1;
  Status last;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    CAIRN_ASSIGN_OR_RETURN(udp_, env_.OpenUdp(address, [this](const NetAddress& from, std::string_view d) {
      const Status s = core_->Step(env_.Now(), from, d);
      if (!s.IsOk()) LogRejected(s);
      Drain();
    }));
    udp_->SetUnreachableHandler([this](const NetAddress& to) {
      core_->Unreachable(env_.Now(), to);
      Drain();
    });
    NetAddress bound = address;
    if (any_port) bound.port = udp_->LocalAddress().port;
    auto listener = env_.ListenTcp(bound, [this](std::unique_ptr<TcpStream> s) {
      if (connections_.size() >= kTcpConnectionsMax) return;  // dropping closes it
      Attach(next_connection_id_++, std::move(s), /*inbound=*/true);
    });
    if (listener.IsOk()) {
      listener_ = std::move(listener.Value());
      address = bound;  // the address the core advertises
      return OkStatus();
    }
    last = listener.GetStatus();
    udp_.reset();
  }
  return last;
}

GossipHost::~GossipHost() {
  *alive_ = false;
  if (tick_timer_ != 0) env_.CancelTimer(tick_timer_);
  if (join_timer_ != 0) env_.CancelTimer(join_timer_);
  for (auto& [id, c] : connections_) {
    if (c.timeout != 0) env_.CancelTimer(c.timeout);
    c.stream->Close();
  }
}

void GossipHost::ArmTick() {
  tick_timer_ = env_.StartTimer(config_.tick_interval, [this] {
    tick_timer_ = 0;
    OnTick();
  });
}

void GossipHost::OnTick() {
  core_->Tick(env_.Now());
  Drain();
  ArmTick();
}

Status GossipHost::Join(const std::vector<NetAddress>& seeds) {
  CAIRN_RETURN_IF_ERROR(core_->Join(env_.Now(), seeds));
  seeds_ = seeds;
  join_retries_ = 0;
  Drain();
  ArmJoinRetry();
  return OkStatus();
}

void GossipHost::ArmJoinRetry() {
  if (join_timer_ != 0) env_.CancelTimer(join_timer_);
  join_timer_ = env_.StartTimer(config_.join_retry_interval, [this] {
    join_timer_ = 0;
    if (core_->AliveCount() > 1 || ++join_retries_ > config_.join_retries_max) return;
    if (core_->Join(env_.Now(), seeds_).IsOk()) Drain();
    ArmJoinRetry();
  });
}

void GossipHost::Leave() {
  core_->Leave(env_.Now());
  Drain();
}

Status GossipHost::ForceLeave(const std::string& name) {
  CAIRN_RETURN_IF_ERROR(core_->ForceLeave(env_.Now(), name));
  Drain();
  return OkStatus();
}

Status GossipHost::SetMetadata(const Metadata& meta) {
  CAIRN_RETURN_IF_ERROR(core_->SetMetadata(env_.Now(), meta));
  Drain();
  return OkStatus();
}

void GossipHost::Drain() {
  // Events first: callbacks may call back into the host, which drains again.
  while (core_->HasReady()) {
    Ready ready = core_->TakeReady();
    for (const OutPacket& p : ready.packets) {
      if (!udp_->SendTo(p.to, p.bytes).IsOk()) ++stats_.udp_send_failures;
    }
    for (StreamRequest& r : ready.streams) StartRequest(std::move(r));
    for (const MemberEvent& e : ready.events) {
      if (on_event_) on_event_(e);
    }
  }
}

void GossipHost::StartRequest(StreamRequest request) {
  if (connections_.size() >= kTcpConnectionsMax) {
    ++stats_.tcp_failures;
    return;
  }
  ++stats_.tcp_requests;
  std::weak_ptr<bool> alive = alive_;
  std::string frame = EncodeFrame(request.bytes);
  env_.ConnectTcp(request.to, [this, alive, frame = std::move(frame)](Result<std::unique_ptr<TcpStream>> r) mutable {
    if (alive.expired() || !*alive.lock()) return;
    if (!r.IsOk()) {
      ++stats_.tcp_failures;
      return;
    }
    const uint64_t id = next_connection_id_++;
    Attach(id, std::move(r.Value()), /*inbound=*/false);
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    stats_.tcp_bytes_sent += frame.size();
    if (!it->second.stream->Write(std::move(frame)).IsOk()) CloseConnection(id);
  });
}

void GossipHost::Attach(uint64_t id, std::unique_ptr<TcpStream> stream, bool inbound) {
  Connection& c = connections_[id];
  c.stream = std::move(stream);
  c.inbound = inbound;
  c.timeout = env_.StartTimer(config_.tcp_timeout, [this, id] {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    it->second.timeout = 0;
    ++stats_.tcp_failures;
    CloseConnection(id);
  });
  c.stream->Start(TcpStreamHandlers{[this, id](std::string_view data) { OnStreamData(id, data); },
                                    [this, id](Status) {
                                      auto it = connections_.find(id);
                                      if (it == connections_.end()) return;
                                      if (it->second.timeout != 0) env_.CancelTimer(it->second.timeout);
                                      connections_.erase(it);  // the stream already ended; erasing destroys it
                                    }});
}

void GossipHost::OnStreamData(uint64_t id, std::string_view data) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  c.decoder.Feed(data);
  auto next = c.decoder.Next();
  if (!next.IsOk()) {
    LogRejected(next.GetStatus());
    CloseConnection(id);
    return;
  }
  if (!next.Value().has_value()) return;  // need more bytes
  const std::string payload = std::move(*next.Value());
  const NetAddress peer = c.stream->PeerAddress();
  if (c.inbound) {
    auto reply = core_->HandleStream(env_.Now(), peer, payload);
    if (reply.IsOk()) {
      std::string frame = EncodeFrame(reply.Value());
      stats_.tcp_bytes_sent += frame.size();
      (void)c.stream->Write(std::move(frame));
    } else {
      LogRejected(reply.GetStatus());
    }
  } else {
    const Status s = core_->Step(env_.Now(), peer, payload);
    if (!s.IsOk()) LogRejected(s);
  }
  CloseConnection(id);
  Drain();
}

void GossipHost::CloseConnection(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  if (it->second.timeout != 0) env_.CancelTimer(it->second.timeout);
  it->second.stream->Close();
  connections_.erase(it);
}

void GossipHost::LogRejected(const Status& status) {
  if (logger_ != nullptr)
    logger_->WarnRateLimited("gossip-reject", "gossip input rejected", {{"error", status.ToString()}});
}

}  // namespace cairn::gossip
