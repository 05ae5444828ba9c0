// Delivers opaque Raft messages between servers over TCP, on any Env (libuv or simulated).
//
// - One connection per pair of servers: the server with the lower id dials, the other accepts,
//   and both send on it. The dialer's first frame is a hello naming both ends, so an acceptor
//   never attributes messages to the wrong peer.
// - Every message is one checksummed frame (common/framing.h). A corrupt or oversized frame
//   closes the connection; the dialer reconnects with exponential backoff and jitter.
// - Messages sent during one loop iteration are batched into one socket write per peer.
// - Bounded: a message larger than message_bytes_max, or one that would push a peer's unsent
//   bytes past peer_queue_bytes_max, is dropped and counted. Raft tolerates lost messages
//   (it retransmits), and a slow or dead peer must never grow the sender's memory.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/framing.h"
#include "common/log.h"
#include "common/random.h"
#include "server/raft/types.h"

namespace cairn::raft {

struct PeerTransportOptions {
  size_t message_bytes_max = 16 * 1024 * 1024;
  size_t peer_queue_bytes_max = 64 * 1024 * 1024;
  Duration reconnect_delay_min = std::chrono::milliseconds(50);
  Duration reconnect_delay_max = std::chrono::seconds(2);
};

struct PeerTransportStats {
  uint64_t messages_sent = 0;  // handed to a connected stream
  uint64_t messages_received = 0;
  uint64_t messages_dropped = 0;   // unknown peer, not connected, over a limit
  uint64_t socket_writes = 0;      // batched writes (<= messages_sent)
  uint64_t connects = 0;           // streams established (dialed or accepted)
  uint64_t connection_errors = 0;  // failed dials, resets, bad frames
};

class PeerTransport {
 public:
  using MessageFn = std::function<void(NodeId from, std::string_view message)>;

  PeerTransport(Env& env, NodeId self, Logger& logger, MessageFn on_message, PeerTransportOptions options = {});
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // Starts accepting peers on `address` (port 0 picks one; see ListenAddress()).
  Status Listen(const NetAddress& address);
  NetAddress ListenAddress() const;

  // Adds a peer or changes its address; the connection is (re)made as needed.
  void SetPeer(NodeId id, const NetAddress& address);
  void RemovePeer(NodeId id);

  // Queues `message` for `to`. Returns false (and counts a drop) if it cannot be sent now:
  // unknown peer, no connection, or over a limit.
  bool Send(NodeId to, std::string_view message);

  bool IsConnected(NodeId peer) const;
  const PeerTransportStats& Stats() const { return stats_; }

 private:
  struct Peer;
  struct Connection;

  bool WeDial(NodeId peer) const { return self_ < peer; }
  Peer* FindPeer(NodeId id);
  void Dial(Peer& peer);
  void ScheduleRedial(Peer& peer);
  void OnDialed(NodeId id, uint64_t generation, Result<std::unique_ptr<TcpStream>> stream);
  // Takes ownership of a stream and starts reading it; returns the new connection's id.
  uint64_t AddConnection(std::unique_ptr<TcpStream> stream, NodeId peer);
  void CloseConnection(uint64_t connection_id, const Status& reason);
  void OnData(uint64_t connection_id, std::string_view data);
  // Handles the first frame on an accepted connection; false if the hello is not acceptable.
  bool AcceptHello(Connection& connection, std::string_view frame);
  void ScheduleFlush();
  void Flush();

  Env& env_;
  NodeId self_;
  Logger& logger_;
  MessageFn on_message_;
  PeerTransportOptions options_;
  Prng prng_;
  std::unique_ptr<TcpListener> listener_;
  std::map<NodeId, std::unique_ptr<Peer>> peers_;
  // Every open stream, by a never-reused id; stream callbacks find their connection by id, so
  // a callback for a connection already closed finds nothing and does nothing.
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_connection_id_ = 1;
  bool flush_scheduled_ = false;
  PeerTransportStats stats_;
  // Callbacks posted to the loop hold a weak copy; they do nothing once the transport is gone.
  std::shared_ptr<PeerTransport*> alive_;
};

}  // namespace cairn::raft
