// TCP connections: connect/accept, ordered delivery, close, reset.
//
// Ordering: every send to a side is scheduled no earlier than the previous one (last_arrival),
// and events at equal times run in scheduling order, so bytes and the final close arrive in the
// order they were sent whatever delay each send draws.
#include <algorithm>
#include <utility>

#include "common/limits.h"
#include "tests/sim/sim_host.h"
#include "tests/sim/sim_network.h"

namespace cairn::sim::internal {
namespace {

// Real TCP hands a reader partial writes; splitting some writes makes framing code prove it
// copes.
constexpr double kSplitWriteProbability = 0.25;

class SimTcpStream final : public TcpStream {
 public:
  SimTcpStream(SimCore& core, std::shared_ptr<TcpConnection> conn, int side)
      : life_(core.LifeToken()), core_(&core), conn_(std::move(conn)), side_(side) {}
  ~SimTcpStream() override { Close(); }

  void Start(TcpStreamHandlers handlers) override {
    if (life_.expired()) return;
    core_->Network().StartStream(conn_, side_, std::move(handlers));
  }
  Status Write(std::string data) override {
    if (life_.expired()) return Status::Unavailable("stream closed: the simulation has ended");
    return core_->Network().WriteStream(conn_, side_, std::move(data));
  }
  size_t QueuedBytes() const override { return conn_->sides[side_].unconsumed_bytes; }
  void Close() override {
    if (!life_.expired()) core_->Network().CloseStream(conn_, side_);
  }
  NetAddress PeerAddress() const override { return conn_->sides[side_].peer; }
  NetAddress LocalAddress() const override { return conn_->sides[side_].local; }

 private:
  std::weak_ptr<const int> life_;
  SimCore* core_;
  std::shared_ptr<TcpConnection> conn_;
  int side_;
};

void Consume(TcpSide& writer, size_t bytes) { writer.unconsumed_bytes -= std::min(writer.unconsumed_bytes, bytes); }

void ClearInbox(TcpConnection& conn, int side) {
  TcpSide& reader = conn.sides[side];
  for (const std::string& chunk : reader.inbox) Consume(conn.sides[1 - side], chunk.size());
  reader.inbox.clear();
}

}  // namespace

void SimNetwork::ConnectTcp(int client, const NetAddress& to, TcpConnectFn on_done) {
  auto done = std::make_shared<TcpConnectFn>(std::move(on_done));
  const int server = Resolve(client, to.host);
  const MonoTime now = core_.Now();
  if (server < 0) {
    FailConnect(client, now + 2 * default_faults_.delay_max, done,
                Status::Unavailable("connect " + to.ToString() + ": no route to host"));
    return;
  }
  if (!TcpPathOpen(client, server)) {
    // A partitioned peer is reported after a round trip rather than a long timeout, so tests
    // stay quick; code under test sees the same non-OK result either way.
    const Duration round_trip = DrawDelay(client, server) + DrawDelay(server, client);
    FailConnect(client, now + round_trip, done, Status::Unavailable("connect " + to.ToString() + ": host unreachable"));
    return;
  }
  const uint64_t incarnation = core_.HostAt(client).Incarnation();
  const uint64_t digest = (static_cast<uint64_t>(client) << 32) ^ to.port;
  core_.Schedule(
      now + DrawDelay(client, server), EventOwner{server, 0}, TraceKind::kTcpSyn, digest,
      [this, client, incarnation, server, port = to.port, done] { OnSyn(client, incarnation, server, port, done); });
}

void SimNetwork::FailConnect(int client, MonoTime at, const std::shared_ptr<TcpConnectFn>& on_done, Status reason) {
  core_.Schedule(at, core_.HostAt(client).Owner(), TraceKind::kTcpConnectDone, 0,
                 [on_done, reason = std::move(reason)] { (*on_done)(reason); });
}

void SimNetwork::OnSyn(int client, uint64_t client_incarnation, int server, uint16_t port,
                       const std::shared_ptr<TcpConnectFn>& on_done) {
  if (core_.HostAt(client).Incarnation() != client_incarnation) return;  // the caller crashed
  const MonoTime reply_at = core_.Now() + DrawDelay(server, client);
  const auto& listeners = hosts_[server].listeners;
  const auto it = listeners.find(port);
  if (!TcpPathOpen(client, server) || !core_.HostAt(server).IsUp() || it == listeners.end()) {
    const std::string target = core_.HostAt(server).Host() + ":" + std::to_string(port);
    FailConnect(client, reply_at, on_done, Status::Unavailable("connect " + target + ": connection refused"));
    return;
  }
  const std::shared_ptr<TcpAcceptFn> on_accept = it->second->on_accept;
  std::shared_ptr<TcpConnection> conn = NewConnection(client, server, port);
  // The accepted side's first bytes reach the connector no earlier than the handshake reply.
  conn->sides[0].last_arrival = reply_at;
  core_.Schedule(reply_at, EventOwner{client, client_incarnation}, TraceKind::kTcpConnectDone, conn->id,
                 [this, conn, on_done] {
                   (*on_done)(std::unique_ptr<TcpStream>(std::make_unique<SimTcpStream>(core_, conn, 0)));
                 });
  (*on_accept)(std::make_unique<SimTcpStream>(core_, conn, 1));
}

std::shared_ptr<TcpConnection> SimNetwork::NewConnection(int client, int server, uint16_t port) {
  auto conn = std::make_shared<TcpConnection>();
  conn->id = next_connection_id_++;
  const NetAddress client_address{core_.HostAt(client).Host(), EphemeralPort(client, /*tcp=*/true)};
  const NetAddress server_address{core_.HostAt(server).Host(), port};
  conn->sides[0].host = client;
  conn->sides[0].local = client_address;
  conn->sides[0].peer = server_address;
  conn->sides[1].host = server;
  conn->sides[1].local = server_address;
  conn->sides[1].peer = client_address;
  for (TcpSide& side : conn->sides) side.last_arrival = core_.Now();
  connections_[conn->id] = conn;
  return conn;
}

void SimNetwork::StartStream(const std::shared_ptr<TcpConnection>& conn, int side, TcpStreamHandlers handlers) {
  TcpSide& self = conn->sides[side];
  CAIRN_ASSERT(!self.started, "TcpStream::Start called twice");
  self.started = true;
  if (self.state != SideState::kOpen) return;
  self.handlers = std::make_shared<TcpStreamHandlers>(std::move(handlers));
  // Never call back from inside Start: what arrived before it is delivered from the loop.
  if (!self.inbox.empty() || self.pending_close) ScheduleWake(conn, side);
}

Status SimNetwork::WriteStream(const std::shared_ptr<TcpConnection>& conn, int side, std::string data) {
  TcpSide& self = conn->sides[side];
  if (self.state != SideState::kOpen || conn->broken) return Status::Unavailable("write on a closed stream");
  if (data.empty()) return OkStatus();
  if (self.unconsumed_bytes + data.size() > limits::kTcpWriteQueueBytesMax) {
    return Status::ResourceExhausted("tcp write queue would exceed limits::kTcpWriteQueueBytesMax");
  }
  const int to = 1 - side;
  TcpSide& peer = conn->sides[to];
  if (peer.state != SideState::kOpen) return OkStatus();  // the peer closed; its close is on the way
  self.unconsumed_bytes += data.size();
  const MonoTime at = std::max(core_.Now() + DrawDelay(self.host, peer.host), peer.last_arrival);
  peer.last_arrival = at;
  Link& link = LinkFor(self.host, peer.host);
  std::string_view rest = data;
  while (!rest.empty()) {
    size_t length = std::min(rest.size(), limits::kTcpReadChunkBytesMax);
    if (length > 1 && link.random.Chance(kSplitWriteProbability)) length = 1 + link.random.Below(length - 1);
    std::string chunk(rest.substr(0, length));
    rest.remove_prefix(length);
    const uint64_t digest = DigestBytes(chunk) ^ conn->id;
    core_.Schedule(at, EventOwner{peer.host, 0}, TraceKind::kTcpData, digest,
                   [this, conn, to, chunk = std::move(chunk)]() mutable { OnTcpData(conn, to, chunk); });
  }
  return OkStatus();
}

void SimNetwork::OnTcpData(const std::shared_ptr<TcpConnection>& conn, int side, std::string& chunk) {
  TcpSide& self = conn->sides[side];
  TcpSide& writer = conn->sides[1 - side];
  if (conn->broken || self.state != SideState::kOpen) {
    Consume(writer, chunk.size());
    return;
  }
  if (!self.started || !self.inbox.empty() || self.wake_scheduled) {
    self.inbox.push_back(std::move(chunk));
    if (self.started) ScheduleWake(conn, side);
    return;
  }
  Consume(writer, chunk.size());
  const std::shared_ptr<TcpStreamHandlers> handlers = self.handlers;
  if (handlers && handlers->on_data) handlers->on_data(chunk);
}

void SimNetwork::OnTcpClose(const std::shared_ptr<TcpConnection>& conn, int side, const Status& arrived) {
  TcpSide& self = conn->sides[side];
  if (self.state != SideState::kOpen || self.pending_close) return;  // the first close wins
  // A clean close that trails bytes a reset threw away must not look clean.
  const Status reason = arrived.IsOk() && conn->broken ? Status::Unavailable("connection reset") : arrived;
  if (!reason.IsOk()) ClearInbox(*conn, side);  // a reset discards what was not read
  if (!self.started || !self.inbox.empty() || self.wake_scheduled) {
    if (!self.pending_close) self.pending_close = reason;
    if (self.started) ScheduleWake(conn, side);
    return;
  }
  self.state = SideState::kEnded;
  const std::shared_ptr<TcpStreamHandlers> handlers = std::move(self.handlers);
  ForgetIfFinished(conn);
  if (handlers && handlers->on_close) handlers->on_close(reason);
}

void SimNetwork::ScheduleWake(const std::shared_ptr<TcpConnection>& conn, int side) {
  TcpSide& self = conn->sides[side];
  if (self.wake_scheduled) return;
  self.wake_scheduled = true;
  core_.Schedule(core_.Now(), core_.HostAt(self.host).Owner(), TraceKind::kTcpWake, conn->id, [this, conn, side] {
    conn->sides[side].wake_scheduled = false;
    WakeSide(conn, side);
  });
}

void SimNetwork::WakeSide(const std::shared_ptr<TcpConnection>& conn, int side) {
  TcpSide& self = conn->sides[side];
  while (self.state == SideState::kOpen && !self.inbox.empty()) {
    std::string chunk = std::move(self.inbox.front());
    self.inbox.pop_front();
    Consume(conn->sides[1 - side], chunk.size());
    const std::shared_ptr<TcpStreamHandlers> handlers = self.handlers;
    if (handlers && handlers->on_data) handlers->on_data(chunk);
  }
  if (self.state != SideState::kOpen || !self.pending_close) return;
  const Status reason = *self.pending_close;
  self.pending_close.reset();
  self.state = SideState::kEnded;
  const std::shared_ptr<TcpStreamHandlers> handlers = std::move(self.handlers);
  ForgetIfFinished(conn);
  if (handlers && handlers->on_close) handlers->on_close(reason);
}

void SimNetwork::CloseStream(const std::shared_ptr<TcpConnection>& conn, int side) {
  TcpSide& self = conn->sides[side];
  self.handlers.reset();
  if (self.state != SideState::kOpen) return;
  self.state = SideState::kClosedLocally;
  ClearInbox(*conn, side);
  self.pending_close.reset();
  const int to = 1 - side;
  TcpSide& peer = conn->sides[to];
  if (!conn->broken && peer.state == SideState::kOpen) {
    // The close travels behind every byte already sent (queued bytes are flushed).
    const MonoTime at = std::max(core_.Now() + DrawDelay(self.host, peer.host), peer.last_arrival);
    peer.last_arrival = at;
    core_.Schedule(at, EventOwner{peer.host, 0}, TraceKind::kTcpClose, conn->id,
                   [this, conn, to] { OnTcpClose(conn, to, OkStatus()); });
  }
  ForgetIfFinished(conn);
}

void SimNetwork::Reset(const std::shared_ptr<TcpConnection>& conn) {
  if (conn->broken) return;
  conn->broken = true;
  for (int side = 0; side < 2; ++side) {
    const TcpSide& self = conn->sides[side];
    if (self.state != SideState::kOpen) continue;
    const Duration delay = DrawDelay(conn->sides[1 - side].host, self.host);
    core_.Schedule(core_.Now() + delay, EventOwner{self.host, 0}, TraceKind::kTcpClose, conn->id ^ 1,
                   [this, conn, side] { OnTcpClose(conn, side, Status::Unavailable("connection reset")); });
  }
}

void SimNetwork::ResetStreamsBetween(int a, int b) {
  // Copy: ForgetIfFinished edits the registry.
  const auto connections = connections_;
  for (const auto& [id, conn] : connections) {
    const int x = conn->sides[0].host;
    const int y = conn->sides[1].host;
    if ((x == a && y == b) || (x == b && y == a)) {
      Reset(conn);
      ForgetIfFinished(conn);
    }
  }
}

void SimNetwork::ForgetIfFinished(const std::shared_ptr<TcpConnection>& conn) {
  for (const TcpSide& side : conn->sides) {
    if (side.state == SideState::kOpen) return;
  }
  connections_.erase(conn->id);
}

}  // namespace cairn::sim::internal
