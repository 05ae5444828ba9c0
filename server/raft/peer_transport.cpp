#include "server/raft/peer_transport.h"

#include <algorithm>

#include "common/codec.h"

namespace cairn::raft {
namespace {

constexpr std::string_view kHelloMagic = "cairn-raft";
constexpr uint64_t kProtocolVersion = 1;

std::string EncodeHello(NodeId from, NodeId to) {
  Encoder e;
  e.PutBytes(kHelloMagic);
  e.PutVarint64(kProtocolVersion);
  e.PutVarint64(from.value);
  e.PutVarint64(to.value);
  return e.Take();
}

}  // namespace

struct PeerTransport::Peer {
  NodeId id;
  NetAddress address;
  uint64_t connection_id = 0;  // 0: not connected
  std::string pending;         // framed messages waiting for the next flush
  uint64_t pending_messages = 0;
  bool dialing = false;
  uint64_t dial_generation = 0;  // stale dial results carry an older generation
  TimerId redial_timer = 0;
  Duration backoff{0};
};

struct PeerTransport::Connection {
  std::unique_ptr<TcpStream> stream;
  FrameDecoder decoder;
  NodeId peer;  // kNoNode until an accepted connection's hello arrives
};

PeerTransport::PeerTransport(Env& env, NodeId self, Logger& logger, MessageFn on_message, PeerTransportOptions options)
    : env_(env),
      self_(self),
      logger_(logger),
      on_message_(std::move(on_message)),
      options_(options),
      prng_(env.RandomSeed()),
      alive_(std::make_shared<PeerTransport*>(this)) {}

PeerTransport::~PeerTransport() {
  for (auto& [id, peer] : peers_) {
    if (peer->redial_timer != 0) env_.CancelTimer(peer->redial_timer);
  }
  for (auto& [id, connection] : connections_) connection->stream->Close();
}

Status PeerTransport::Listen(const NetAddress& address) {
  auto listener =
      env_.ListenTcp(address, [this](std::unique_ptr<TcpStream> stream) { AddConnection(std::move(stream), kNoNode); });
  if (!listener.IsOk())
    return listener.GetStatus().WithContext("raft transport cannot listen on " + address.ToString());
  listener_ = std::move(listener).Value();
  return OkStatus();
}

NetAddress PeerTransport::ListenAddress() const { return listener_ ? listener_->LocalAddress() : NetAddress{}; }

PeerTransport::Peer* PeerTransport::FindPeer(NodeId id) {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : it->second.get();
}

void PeerTransport::SetPeer(NodeId id, const NetAddress& address) {
  CAIRN_ASSERT(id != self_ && id != kNoNode, "a raft peer needs an id other than 0 and our own");
  Peer* peer = FindPeer(id);
  if (peer != nullptr && peer->address == address) return;
  if (peer == nullptr) {
    peer = peers_.emplace(id, std::make_unique<Peer>()).first->second.get();
    peer->id = id;
  } else if (peer->connection_id != 0) {
    CloseConnection(peer->connection_id, Status::Aborted("peer address changed"));
  }
  peer->address = address;
  peer->backoff = Duration(0);
  if (WeDial(id)) Dial(*peer);
}

void PeerTransport::RemovePeer(NodeId id) {
  Peer* peer = FindPeer(id);
  if (peer == nullptr) return;
  if (peer->redial_timer != 0) env_.CancelTimer(peer->redial_timer);
  const uint64_t connection_id = peer->connection_id;
  peers_.erase(id);
  if (connection_id != 0) CloseConnection(connection_id, Status::Aborted("peer removed"));
}

void PeerTransport::Dial(Peer& peer) {
  if (peer.redial_timer != 0) {
    env_.CancelTimer(peer.redial_timer);
    peer.redial_timer = 0;
  }
  peer.dialing = true;
  const uint64_t generation = ++peer.dial_generation;
  std::weak_ptr<PeerTransport*> alive = alive_;
  env_.ConnectTcp(peer.address, [alive, id = peer.id, generation](Result<std::unique_ptr<TcpStream>> stream) {
    if (auto self = alive.lock()) (*self)->OnDialed(id, generation, std::move(stream));
  });
}

void PeerTransport::ScheduleRedial(Peer& peer) {
  if (!WeDial(peer.id) || peer.redial_timer != 0) return;
  peer.backoff = std::clamp(peer.backoff * 2, options_.reconnect_delay_min, options_.reconnect_delay_max);
  // Jitter in [backoff/2, backoff]: servers restarted together do not redial in lockstep.
  const int64_t half = peer.backoff.count() / 2;
  const Duration delay(half + prng_.Between(0, half));
  peer.redial_timer = env_.StartTimer(delay, [this, id = peer.id] {
    Peer* p = FindPeer(id);
    if (p == nullptr) return;
    p->redial_timer = 0;
    if (p->connection_id == 0) Dial(*p);
  });
}

void PeerTransport::OnDialed(NodeId id, uint64_t generation, Result<std::unique_ptr<TcpStream>> stream) {
  Peer* peer = FindPeer(id);
  if (peer == nullptr || generation != peer->dial_generation) return;  // removed or superseded
  peer->dialing = false;
  if (!stream.IsOk()) {
    ++stats_.connection_errors;
    logger_.WarnRateLimited(
        "raft-dial-" + std::to_string(id.value), "cannot reach raft peer",
        {{"peer", id.value}, {"address", peer->address.ToString()}, {"error", stream.GetStatus().ToString()}});
    ScheduleRedial(*peer);
    return;
  }
  std::unique_ptr<TcpStream> connected = std::move(stream).Value();
  Status hello = connected->Write(EncodeFrame(EncodeHello(self_, id)));
  if (!hello.IsOk()) {
    ++stats_.connection_errors;
    ScheduleRedial(*peer);
    return;
  }
  if (peer->connection_id != 0) CloseConnection(peer->connection_id, Status::Aborted("replaced by a new dial"));
  peer->connection_id = AddConnection(std::move(connected), id);
  peer->backoff = Duration(0);
}

uint64_t PeerTransport::AddConnection(std::unique_ptr<TcpStream> stream, NodeId peer) {
  const uint64_t id = next_connection_id_++;
  auto connection =
      std::make_unique<Connection>(Connection{std::move(stream), FrameDecoder(options_.message_bytes_max), peer});
  TcpStream& raw = *connection->stream;
  connections_.emplace(id, std::move(connection));
  ++stats_.connects;
  raw.Start(TcpStreamHandlers{
      [this, id](std::string_view data) { OnData(id, data); },
      [this, id](Status reason) { CloseConnection(id, reason); },
  });
  return id;
}

void PeerTransport::CloseConnection(uint64_t connection_id, const Status& reason) {
  auto it = connections_.find(connection_id);
  if (it == connections_.end()) return;
  std::unique_ptr<Connection> connection = std::move(it->second);
  connections_.erase(it);
  connection->stream->Close();
  if (!reason.IsOk()) ++stats_.connection_errors;
  Peer* peer = connection->peer == kNoNode ? nullptr : FindPeer(connection->peer);
  if (peer == nullptr || peer->connection_id != connection_id) return;
  peer->connection_id = 0;
  stats_.messages_dropped += peer->pending_messages;
  peer->pending.clear();
  peer->pending_messages = 0;
  CAIRN_LOG_DEBUG(logger_, "raft peer connection closed", {"peer", peer->id.value}, {"reason", reason.ToString()});
  ScheduleRedial(*peer);
}

bool PeerTransport::AcceptHello(Connection& connection, std::string_view frame) {
  Decoder d(frame, "raft hello");
  const std::string_view magic = d.ReadBytes(kHelloMagic.size());
  const uint64_t version = d.ReadVarint64();
  const NodeId from(d.ReadVarint64());
  const NodeId to(d.ReadVarint64());
  Status status = d.Finish();
  if (status.IsOk() && (magic != kHelloMagic || version != kProtocolVersion)) {
    status = Status::InvalidArgument("not a cairn raft peer, or protocol version " + std::to_string(version));
  }
  if (status.IsOk() && to != self_) status = Status::InvalidArgument("hello is for node " + std::to_string(to.value));
  Peer* peer = status.IsOk() ? FindPeer(from) : nullptr;
  if (status.IsOk() && (peer == nullptr || WeDial(from))) {
    status = Status::InvalidArgument("unexpected raft peer " + std::to_string(from.value));
  }
  if (!status.IsOk()) {
    logger_.WarnRateLimited("raft-hello", "rejected raft connection",
                            {{"remote", connection.stream->PeerAddress().ToString()}, {"error", status.ToString()}});
    return false;
  }
  connection.peer = from;
  return true;
}

void PeerTransport::OnData(uint64_t connection_id, std::string_view data) {
  auto it = connections_.find(connection_id);
  if (it == connections_.end()) return;
  Connection& connection = *it->second;
  connection.decoder.Feed(data);
  while (true) {
    auto frame = connection.decoder.Next();
    if (!frame.IsOk()) {
      logger_.WarnRateLimited("raft-frame", "bad frame from raft peer", {{"error", frame.GetStatus().ToString()}});
      CloseConnection(connection_id, frame.GetStatus());
      return;
    }
    if (!frame->has_value()) return;
    if (connection.peer == kNoNode) {
      if (!AcceptHello(connection, **frame)) {
        CloseConnection(connection_id, Status::InvalidArgument("bad hello"));
        return;
      }
      Peer& peer = *FindPeer(connection.peer);
      if (peer.connection_id != 0) CloseConnection(peer.connection_id, Status::Aborted("replaced by a new connection"));
      peer.connection_id = connection_id;
      continue;
    }
    ++stats_.messages_received;
    // The handler may remove the peer and with it this connection: look it up again after.
    on_message_(connection.peer, **frame);
    if (connections_.find(connection_id) == connections_.end()) return;
  }
}

bool PeerTransport::Send(NodeId to, std::string_view message) {
  Peer* peer = FindPeer(to);
  if (peer == nullptr || peer->connection_id == 0 || message.size() > options_.message_bytes_max) {
    ++stats_.messages_dropped;
    return false;
  }
  const TcpStream& stream = *connections_.at(peer->connection_id)->stream;
  if (stream.QueuedBytes() + peer->pending.size() + message.size() + kFrameHeaderBytesMax >
      options_.peer_queue_bytes_max) {
    ++stats_.messages_dropped;
    logger_.WarnRateLimited("raft-queue-" + std::to_string(to.value), "raft peer queue full, dropping",
                            {{"peer", to.value}});
    return false;
  }
  AppendFrame(peer->pending, message);
  ++peer->pending_messages;
  ScheduleFlush();
  return true;
}

bool PeerTransport::IsConnected(NodeId peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second->connection_id != 0;
}

void PeerTransport::ScheduleFlush() {
  if (flush_scheduled_) return;
  std::weak_ptr<PeerTransport*> alive = alive_;
  Status posted = env_.Post([alive] {
    if (auto self = alive.lock()) (*self)->Flush();
  });
  if (posted.IsOk()) {
    flush_scheduled_ = true;
  } else {
    Flush();  // the loop is stopping or saturated: write now rather than strand the batch
  }
}

void PeerTransport::Flush() {
  flush_scheduled_ = false;
  for (auto& [id, peer] : peers_) {
    if (peer->pending.empty() || peer->connection_id == 0) continue;
    const uint64_t batch_messages = peer->pending_messages;
    Status written = connections_.at(peer->connection_id)->stream->Write(std::move(peer->pending));
    peer->pending.clear();
    peer->pending_messages = 0;
    ++stats_.socket_writes;
    if (written.IsOk()) {
      stats_.messages_sent += batch_messages;
    } else {
      stats_.messages_dropped += batch_messages;
    }
  }
}

}  // namespace cairn::raft
