// UvEnv UDP sockets.
// linux/errqueue.h uses struct timespec without declaring it, so time.h must come first.
// clang-format off
#include <time.h>
#include <linux/errqueue.h>
// clang-format on
#include <netinet/ip_icmp.h>
#include <sys/socket.h>

#include "common/limits.h"
#include "common/uv_env_internal.h"

namespace cairn::uv_internal {
namespace {

// Error-queue entries read per wake-up; the rest wait for the next one (the socket stays
// readable while its error queue is not empty).
constexpr int kErrorsPerWakeMax = 64;

// The libuv handle and receive callback of a UdpSocket; outlives the socket until the close.
class UdpCore final : public HandleOwner {
 public:
  explicit UdpCore(UdpReceiveFn on_receive) : on_receive_(std::move(on_receive)) {}

  uv_udp_t udp{};
  bool receiving = true;  // false once the socket is destroyed
  // Set with IP_RECVERR: ICMP errors for this socket's datagrams queue up on its error queue.
  UdpUnreachableFn on_unreachable;

  static void OnReceive(uv_udp_t* udp, ssize_t bytes, const uv_buf_t* buffer, const sockaddr* from, unsigned flags) {
    UdpCore& core = From<UdpCore>(udp);
    // An ICMP error wakes the socket as readable; libuv's read then reports the error (or
    // nothing), and the queue must be drained or the socket stays readable forever.
    if (core.on_unreachable && (bytes < 0 || from == nullptr)) core.DrainErrorQueue();
    // A null sender with zero bytes only means the socket had nothing more to read. A partial
    // datagram cannot happen with the buffer size we give; if it does, it is dropped, not cut.
    if (bytes < 0 || from == nullptr || (flags & UV_UDP_PARTIAL) != 0) return;
    if (!core.receiving || Loop::Of(reinterpret_cast<uv_handle_t*>(udp)).ShuttingDown()) return;
    // The receive callback stays alive until the close callback, so the socket may be
    // destroyed from inside it.
    core.on_receive_(FromSockaddr(from), std::string_view(buffer->base, static_cast<size_t>(bytes)));
  }

 private:
  void DrainErrorQueue();

  UdpReceiveFn on_receive_;
};

void UdpCore::DrainErrorQueue() {
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&udp), &fd) != 0) return;
  for (int i = 0; i < kErrorsPerWakeMax; ++i) {
    // The kernel returns the refused datagram's destination as the message's address.
    sockaddr_in destination{};
    char payload[64];
    alignas(cmsghdr) char control[256];
    iovec io{payload, sizeof(payload)};
    msghdr message{};
    message.msg_name = &destination;
    message.msg_namelen = sizeof(destination);
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    if (recvmsg(fd, &message, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_RECVERR) continue;
      const auto* error = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
      // Only "port unreachable" says the host is up and nothing listens: host or network
      // unreachable come from routers and say nothing about the process.
      const bool port_unreachable = error->ee_origin == SO_EE_ORIGIN_ICMP && error->ee_type == ICMP_DEST_UNREACH &&
                                    error->ee_code == ICMP_PORT_UNREACH;
      if (port_unreachable && receiving && on_unreachable) {
        on_unreachable(FromSockaddr(reinterpret_cast<const sockaddr*>(&destination)));
      }
    }
  }
}

struct UdpSendRequest {
  uv_udp_send_t request{};
  std::string datagram;
};

void OnSent(uv_udp_send_t* request, int) {
  // Best effort: a failed send is not reported, like a datagram lost on the wire.
  std::unique_ptr<UdpSendRequest> owned(static_cast<UdpSendRequest*>(request->data));
}

class UvUdpSocket final : public UdpSocket {
 public:
  UvUdpSocket(UdpCore& core, NetAddress local) : core_(&core), local_(std::move(local)) {
    Loop::Of(Handle()).ObjectOpened();
  }
  ~UvUdpSocket() override {
    Loop::Of(Handle()).ObjectClosed();
    core_->receiving = false;
    uv_udp_recv_stop(&core_->udp);
    HandleOwner::Close(Handle());
  }
  UvUdpSocket(const UvUdpSocket&) = delete;
  UvUdpSocket& operator=(const UvUdpSocket&) = delete;

  Status SendTo(const NetAddress& to, std::string_view datagram) override;
  NetAddress LocalAddress() const override { return local_; }
  void SetUnreachableHandler(UdpUnreachableFn on_unreachable) override;

 private:
  uv_handle_t* Handle() const { return reinterpret_cast<uv_handle_t*>(&core_->udp); }
  Status QueueSend(const NetAddress& to, const sockaddr_in& address, std::string_view datagram);

  UdpCore* core_;  // freed by its handle's close callback, which this socket's destructor starts
  NetAddress local_;
};

Status UvUdpSocket::SendTo(const NetAddress& to, std::string_view datagram) {
  if (datagram.size() > limits::kUdpDatagramBytesMax) {
    return Status::InvalidArgument("udp datagram of " + std::to_string(datagram.size()) + " bytes to " + to.ToString() +
                                   " exceeds udp_datagram_bytes_max (" + std::to_string(limits::kUdpDatagramBytesMax) +
                                   ")");
  }
  CAIRN_ASSIGN_OR_RETURN(const sockaddr_in address, ToSockaddr(to));
  const uv_buf_t buffer = uv_buf_init(const_cast<char*>(datagram.data()), static_cast<unsigned>(datagram.size()));
  int sent = uv_udp_try_send(&core_->udp, &buffer, 1, reinterpret_cast<const sockaddr*>(&address));
  // With IP_RECVERR the kernel hands a pending ICMP error to the next send, which fails without
  // sending; the error is also on the error queue, so the send is simply tried again.
  if (sent == UV_ECONNREFUSED)
    sent = uv_udp_try_send(&core_->udp, &buffer, 1, reinterpret_cast<const sockaddr*>(&address));
  if (sent >= 0) return OkStatus();
  if (sent != UV_EAGAIN) return UvError("udp send to " + to.ToString(), sent);
  return QueueSend(to, address, datagram);
}

Status UvUdpSocket::QueueSend(const NetAddress& to, const sockaddr_in& address, std::string_view datagram) {
  if (uv_udp_get_send_queue_size(&core_->udp) + datagram.size() > limits::kUdpSendQueueBytesMax) {
    return Status::ResourceExhausted("udp send queue to " + to.ToString() + " is full (" +
                                     std::to_string(limits::kUdpSendQueueBytesMax) + " bytes)");
  }
  auto request = std::make_unique<UdpSendRequest>();
  request->datagram.assign(datagram);
  request->request.data = request.get();
  const uv_buf_t buffer = uv_buf_init(request->datagram.data(), static_cast<unsigned>(request->datagram.size()));
  const int queued =
      uv_udp_send(&request->request, &core_->udp, &buffer, 1, reinterpret_cast<const sockaddr*>(&address), &OnSent);
  if (queued != 0) return UvError("udp send to " + to.ToString(), queued);
  request.release();  // OnSent frees it
  return OkStatus();
}

void UvUdpSocket::SetUnreachableHandler(UdpUnreachableFn on_unreachable) {
  uv_os_fd_t fd = -1;
  const int enable = 1;
  if (uv_fileno(Handle(), &fd) != 0 || setsockopt(fd, IPPROTO_IP, IP_RECVERR, &enable, sizeof(enable)) != 0) return;
  core_->on_unreachable = std::move(on_unreachable);
}

}  // namespace

Result<std::unique_ptr<UdpSocket>> OpenUdpSocket(Loop& loop, const NetAddress& bind, UdpReceiveFn on_receive) {
  CAIRN_ASSERT(on_receive != nullptr, "OpenUdp needs a receive callback");
  CAIRN_ASSIGN_OR_RETURN(const sockaddr_in address, ToSockaddr(bind));
  auto owned = std::make_unique<UdpCore>(std::move(on_receive));
  const int initialized = uv_udp_init(loop.Uv(), &owned->udp);
  if (initialized != 0) return UvError("udp socket for " + bind.ToString(), initialized);
  UdpCore& core = *owned.release();  // the handle owns it from here on
  core.udp.data = static_cast<HandleOwner*>(&core);
  auto* handle = reinterpret_cast<uv_handle_t*>(&core.udp);

  int result = uv_udp_bind(&core.udp, reinterpret_cast<const sockaddr*>(&address), 0);
  if (result == 0) result = uv_udp_recv_start(&core.udp, &AllocateReadBuffer, &UdpCore::OnReceive);
  sockaddr_storage local{};
  int local_bytes = sizeof(local);
  if (result == 0) result = uv_udp_getsockname(&core.udp, reinterpret_cast<sockaddr*>(&local), &local_bytes);
  if (result != 0) {
    HandleOwner::Close(handle);
    return UvError("udp bind to " + bind.ToString(), result);
  }
  return std::unique_ptr<UdpSocket>(
      std::make_unique<UvUdpSocket>(core, FromSockaddr(reinterpret_cast<const sockaddr*>(&local))));
}

}  // namespace cairn::uv_internal
