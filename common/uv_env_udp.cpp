// UvEnv UDP sockets.
#include "common/limits.h"
#include "common/uv_env_internal.h"

namespace cairn::uv_internal {
namespace {

// The libuv handle and receive callback of a UdpSocket; outlives the socket until the close.
class UdpCore final : public HandleOwner {
 public:
  explicit UdpCore(UdpReceiveFn on_receive) : on_receive_(std::move(on_receive)) {}

  uv_udp_t udp{};
  bool receiving = true;  // false once the socket is destroyed

  static void OnReceive(uv_udp_t* udp, ssize_t bytes, const uv_buf_t* buffer, const sockaddr* from, unsigned flags) {
    UdpCore& core = From<UdpCore>(udp);
    // A null sender with zero bytes only means the socket had nothing more to read. A partial
    // datagram cannot happen with the buffer size we give; if it does, it is dropped, not cut.
    if (bytes < 0 || from == nullptr || (flags & UV_UDP_PARTIAL) != 0) return;
    if (!core.receiving || Loop::Of(reinterpret_cast<uv_handle_t*>(udp)).ShuttingDown()) return;
    // The receive callback stays alive until the close callback, so the socket may be
    // destroyed from inside it.
    core.on_receive_(FromSockaddr(from), std::string_view(buffer->base, static_cast<size_t>(bytes)));
  }

 private:
  UdpReceiveFn on_receive_;
};

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
  const int sent = uv_udp_try_send(&core_->udp, &buffer, 1, reinterpret_cast<const sockaddr*>(&address));
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
