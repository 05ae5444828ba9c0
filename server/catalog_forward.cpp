// Writes a follower hands to the leader over the Raft peer link (CatalogServer::WriteViaLeader).
//
// The follower wraps the command in the proposal envelope the leader itself would use, with
// its own replica id and request number, and sends it as a host message. The leader proposes
// those bytes as they are. When the entry commits, every replica applies it; the follower sees
// its own id in the envelope and answers its caller with the result it applied, so nothing
// travels back on success. The leader answers only a refusal: it did not lead, or a limit or a
// leadership change failed the proposal.
//
// Messages (host messages, common/codec.h encoding):
//   kForwardProposal: u8 kind, then the proposal envelope (catalog_fsm.h);
//   kForwardRefused:  u8 kind, fixed64 request, u8 status code, bytes message.
#include "common/codec.h"
#include "server/catalog_fsm.h"
#include "server/catalog_server.h"

namespace cairn::server {
namespace {

constexpr uint8_t kForwardProposal = 1;
constexpr uint8_t kForwardRefused = 2;
// How often waiting forwarded writes are checked for a leader change or their deadline.
constexpr Duration kForwardCheckInterval = std::chrono::milliseconds(100);
// A refusal's message is cut to this length when sent, and a longer one refused when read.
constexpr size_t kRefusalMessageBytesMax = 4096;

// A refused forward's status as the follower reports it. A refusal before the proposal
// (kUnavailable: not leading; kResourceExhausted: a limit) wrote nothing; kAborted came after
// the leader had taken it into its log (leadership lost, the entry replaced).
Status RefusalStatus(StatusCode code, const std::string& message) {
  switch (code) {
    case StatusCode::kUnavailable:
      return Status::Unavailable("leadership moved while the write was forwarded; retry (" + message + ")");
    case StatusCode::kAborted:
      return Status::Aborted("the leader lost the forwarded write (" + message + "); its outcome is unknown");
    default: return Status(code, "the leader refused the forwarded write: " + message);
  }
}

}  // namespace

void CatalogServer::WriteViaLeader(catalog::Command command, WriteFn done) {
  if (raft_->IsLeader()) return Write(std::move(command), std::move(done));
  const raft::NodeId leader = raft_->Leader();
  if (leader == raft::kNoNode) return done(Status::Unavailable("No cluster leader"));
  Result<std::string> encoded = AdmitWrite(command);
  if (!encoded.IsOk()) return done(encoded.GetStatus());
  const uint64_t request = next_request_++;
  Encoder message;
  message.PutU8(kForwardProposal);
  message.PutRaw(EncodeCatalogProposal(raft_->Id().value, request, *encoded));
  if (!raft_->SendHostMessage(leader, message.Take())) {
    return done(Status::Unavailable("no connection to the leader (raft id " + std::to_string(leader.value) + ")"));
  }
  pending_writes_.emplace(request, std::move(done));
  forwarded_.push_back(ForwardedWrite{request, leader, env_.Now() + options_.forward_timeout});
  ArmForwardCheck();
}

void CatalogServer::OnHostMessage(raft::NodeId from, std::string_view bytes) {
  Decoder d(bytes, "forwarded write message");
  const uint8_t kind = d.ReadU8();
  if (!d.HasError() && kind == kForwardProposal) return ProposeForwarded(from, d.ReadRaw(d.Remaining()));
  if (!d.HasError() && kind == kForwardRefused) {
    const uint64_t request = d.ReadFixed64();
    const uint8_t code = d.ReadU8();
    std::string message(d.ReadBytes(kRefusalMessageBytesMax));
    if (d.Finish().IsOk() && code != 0 && code <= static_cast<uint8_t>(StatusCode::kInternal)) {
      return FinishWrite(request, RefusalStatus(static_cast<StatusCode>(code), message));
    }
  }
  logger_.WarnRateLimited("forward-message", "undecodable forwarded-write message", {{"peer", from.value}});
}

void CatalogServer::ProposeForwarded(raft::NodeId from, std::string_view proposal) {
  Result<CatalogProposal> decoded = DecodeCatalogProposal(proposal);
  // The envelope must name the sender, so that only it answers its caller.
  if (!decoded.IsOk() || decoded->origin != from.value) {
    logger_.WarnRateLimited("forward-proposal", "forwarded proposal refused: bad envelope", {{"peer", from.value}});
    return;
  }
  const uint64_t request = decoded->request;
  // Success is seen by the follower when it applies the entry; only a failure is sent back.
  raft_->Propose(std::string(proposal), [this, from, request](Status status) {
    if (!status.IsOk()) RefuseForwarded(from, request, status);
  });
}

void CatalogServer::RefuseForwarded(raft::NodeId to, uint64_t request, const Status& why) {
  Encoder message;
  message.PutU8(kForwardRefused);
  message.PutFixed64(request);
  message.PutU8(static_cast<uint8_t>(why.Code()));
  message.PutBytes(why.Message().substr(0, kRefusalMessageBytesMax));
  // If it is lost, the follower's forward_timeout answers instead.
  (void)raft_->SendHostMessage(to, message.Take());
}

void CatalogServer::ArmForwardCheck() {
  if (forward_timer_ != 0 || forwarded_.empty()) return;
  forward_timer_ = env_.StartTimer(kForwardCheckInterval, [this] {
    forward_timer_ = 0;
    CheckForwarded();
    ArmForwardCheck();
  });
}

void CatalogServer::CheckForwarded() {
  const MonoTime now = env_.Now();
  const raft::NodeId leader = raft_->Leader();
  std::deque<ForwardedWrite> waiting;
  for (const ForwardedWrite& write : forwarded_) {
    if (!pending_writes_.contains(write.request)) continue;  // applied here, or refused
    if (write.leader != leader) {
      FinishWrite(write.request, Status::Aborted("the leader changed while the write was forwarded to it; its "
                                                 "outcome is unknown"));
    } else if (now >= write.deadline) {
      FinishWrite(
          write.request,
          Status::Timeout(
              "a forwarded write was not applied here within " +
              std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(options_.forward_timeout).count()) +
              " ms; its outcome is unknown"));
    } else {
      waiting.push_back(write);
    }
  }
  forwarded_ = std::move(waiting);
}

}  // namespace cairn::server
