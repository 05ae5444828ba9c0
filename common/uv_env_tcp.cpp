// UvEnv TCP listeners and streams.
//
// A TcpStream handed to a user is a thin front for a TcpCore, which owns the libuv handle. The
// core lives until both the front is destroyed and the handle's close has completed, so the
// user may destroy the stream at any time, even from inside its own callbacks, and libuv may
// finish closing at its own pace.
#include <chrono>

#include "common/limits.h"
#include "common/uv_env_internal.h"

namespace cairn::uv_internal {
namespace {

NetAddress SocketName(const uv_tcp_t* tcp, bool peer) {
  sockaddr_storage address{};
  int bytes = sizeof(address);
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  const int result = peer ? uv_tcp_getpeername(tcp, raw, &bytes) : uv_tcp_getsockname(tcp, raw, &bytes);
  return result == 0 ? FromSockaddr(raw) : NetAddress{};
}

struct WriteRequest {
  uv_write_t request{};
  std::string data;
};

class TcpCore final : public HandleOwner {
 public:
  explicit TcpCore(Loop& loop) : loop_(loop) {}
  ~TcpCore() override {
    loop_.CancelTimer(flush_timer_);
    loop_.CancelTimer(end_timer_);
  }

  uv_tcp_t tcp{};

  uv_handle_t* Handle() { return reinterpret_cast<uv_handle_t*>(&tcp); }
  uv_stream_t* Stream() { return reinterpret_cast<uv_stream_t*>(&tcp); }
  Loop& GetLoop() { return loop_; }

  // A TcpStream now fronts this connected core.
  void Adopt();
  // The TcpStream is gone: close, and free this core once the handle has closed.
  void Release();

  void Start(TcpStreamHandlers handlers);
  Status Write(std::string data);
  size_t QueuedBytes() const { return uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp)); }
  void Close();
  const NetAddress& Peer() const { return peer_; }
  const NetAddress& Local() const { return local_; }

 private:
  enum class State {
    kOpen,    // reading (once started) and writing
    kEnded,   // the peer closed or the connection failed; on_close is due or delivered
    kClosed,  // closed locally; no callback runs any more
  };

  static void OnRead(uv_stream_t* stream, ssize_t bytes, const uv_buf_t* buffer);
  static void OnWrite(uv_write_t* request, int status);
  static void OnShutdown(uv_shutdown_t* request, int status);
  void OnHandleClosed() override;

  void End(Status reason);
  void DeliverEndLater();
  void DeliverEnd();
  void CloseFlushing();

  Loop& loop_;
  State state_ = State::kOpen;
  bool started_ = false;
  bool adopted_ = false;        // a TcpStream fronts this core
  bool handle_closed_ = false;  // the close callback has run
  bool shutting_down_ = false;  // a flush-then-close is under way
  Status end_reason_;
  TcpStreamHandlers handlers_;
  TimerId flush_timer_ = 0;
  TimerId end_timer_ = 0;
  NetAddress peer_;
  NetAddress local_;
};

void TcpCore::Adopt() {
  CAIRN_ASSERT(!adopted_);
  adopted_ = true;
  loop_.ObjectOpened();
  uv_tcp_nodelay(&tcp, 1);
  peer_ = SocketName(&tcp, /*peer=*/true);
  local_ = SocketName(&tcp, /*peer=*/false);
}

void TcpCore::Release() {
  CAIRN_ASSERT(adopted_);
  adopted_ = false;
  loop_.ObjectClosed();
  Close();
  if (handle_closed_) delete this;
}

void TcpCore::OnHandleClosed() {
  handle_closed_ = true;
  if (!adopted_) delete this;
}

void TcpCore::Start(TcpStreamHandlers handlers) {
  CAIRN_ASSERT(!started_, "TcpStream::Start called twice");
  started_ = true;
  handlers_ = std::move(handlers);
  if (state_ == State::kEnded) {
    DeliverEndLater();
    return;
  }
  if (state_ != State::kOpen) return;
  const int result = uv_read_start(Stream(), &AllocateReadBuffer, &TcpCore::OnRead);
  if (result != 0) {
    started_ = false;  // End() must not call back from inside Start()
    End(UvError("tcp read from " + peer_.ToString(), result));
    started_ = true;
    DeliverEndLater();
  }
}

Status TcpCore::Write(std::string data) {
  if (state_ != State::kOpen) return Status::Unavailable("tcp stream to " + peer_.ToString() + " is closed");
  if (data.empty()) return OkStatus();
  const size_t queued = QueuedBytes();
  if (queued > limits::kTcpWriteQueueBytesMax || data.size() > limits::kTcpWriteQueueBytesMax - queued) {
    return Status::ResourceExhausted("tcp write of " + std::to_string(data.size()) + " bytes to " + peer_.ToString() +
                                     " would exceed tcp_write_queue_bytes_max (" +
                                     std::to_string(limits::kTcpWriteQueueBytesMax) + "); " + std::to_string(queued) +
                                     " bytes are queued");
  }
  auto request = std::make_unique<WriteRequest>();
  request->data = std::move(data);
  request->request.data = request.get();
  const uv_buf_t buffer = uv_buf_init(request->data.data(), static_cast<unsigned>(request->data.size()));
  const int result = uv_write(&request->request, Stream(), &buffer, 1, &TcpCore::OnWrite);
  if (result != 0) return UvError("tcp write to " + peer_.ToString(), result);
  request.release();  // OnWrite frees it
  return OkStatus();
}

void TcpCore::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  uv_read_stop(Stream());
  CloseFlushing();
}

void TcpCore::OnRead(uv_stream_t* stream, ssize_t bytes, const uv_buf_t* buffer) {
  TcpCore& core = From<TcpCore>(stream);
  if (bytes == 0) return;  // nothing to read after all
  if (bytes < 0) {
    core.End(bytes == UV_EOF ? OkStatus() : UvError("tcp read from " + core.peer_.ToString(), static_cast<int>(bytes)));
    return;
  }
  if (core.state_ != State::kOpen || !core.adopted_ || core.loop_.ShuttingDown()) return;
  // The core outlives this call even if the user destroys the stream inside it: the handle
  // only starts closing then, and the core waits for the close to complete.
  if (core.handlers_.on_data) core.handlers_.on_data(std::string_view(buffer->base, static_cast<size_t>(bytes)));
}

void TcpCore::OnWrite(uv_write_t* request, int status) {
  std::unique_ptr<WriteRequest> owned(static_cast<WriteRequest*>(request->data));
  // Cancelled writes belong to a stream that is closing; nobody waits for them.
  if (status == 0 || status == UV_ECANCELED) return;
  TcpCore& core = From<TcpCore>(request->handle);
  core.End(UvError("tcp write to " + core.peer_.ToString(), status));
}

// The stream is over from the remote side (peer closed: OK; error: not OK).
void TcpCore::End(Status reason) {
  if (state_ != State::kOpen) return;
  state_ = State::kEnded;
  end_reason_ = std::move(reason);
  uv_read_stop(Stream());
  if (end_reason_.IsOk()) {
    CloseFlushing();  // the peer only closed its half; what we queued may still reach it
  } else {
    HandleOwner::Close(Handle());
  }
  if (started_) DeliverEnd();  // last: the callback may destroy the stream
}

// on_close must not run from inside Start(), so an end seen before it is delivered from a timer.
void TcpCore::DeliverEndLater() {
  end_timer_ = loop_.StartTimer(Duration::zero(), [this] {
    end_timer_ = 0;
    DeliverEnd();
  });
}

void TcpCore::DeliverEnd() {
  if (state_ != State::kEnded || !adopted_ || loop_.ShuttingDown() || !handlers_.on_close) return;
  // Moved out first: the callback may destroy the stream and, with it, this core.
  std::function<void(Status)> on_close = std::move(handlers_.on_close);
  handlers_.on_close = nullptr;
  on_close(end_reason_);
}

// Closes once the queued bytes are out, or after limits::kTcpCloseFlushMillisMax, whichever comes first.
void TcpCore::CloseFlushing() {
  if (uv_is_closing(Handle()) || shutting_down_) return;
  if (QueuedBytes() == 0 || loop_.ShuttingDown()) {
    HandleOwner::Close(Handle());
    return;
  }
  auto request = std::make_unique<uv_shutdown_t>();
  if (uv_shutdown(request.get(), Stream(), &TcpCore::OnShutdown) != 0) {
    HandleOwner::Close(Handle());
    return;
  }
  request.release();  // OnShutdown frees it
  shutting_down_ = true;
  flush_timer_ = loop_.StartTimer(std::chrono::milliseconds(limits::kTcpCloseFlushMillisMax), [this] {
    flush_timer_ = 0;
    HandleOwner::Close(Handle());
  });
}

void TcpCore::OnShutdown(uv_shutdown_t* request, int) {
  std::unique_ptr<uv_shutdown_t> owned(request);
  TcpCore& core = From<TcpCore>(request->handle);
  core.loop_.CancelTimer(core.flush_timer_);
  core.flush_timer_ = 0;
  HandleOwner::Close(core.Handle());
}

class UvTcpStream final : public TcpStream {
 public:
  explicit UvTcpStream(TcpCore& core) : core_(&core) { core.Adopt(); }
  ~UvTcpStream() override { core_->Release(); }
  UvTcpStream(const UvTcpStream&) = delete;
  UvTcpStream& operator=(const UvTcpStream&) = delete;

  void Start(TcpStreamHandlers handlers) override { core_->Start(std::move(handlers)); }
  Status Write(std::string data) override { return core_->Write(std::move(data)); }
  size_t QueuedBytes() const override { return core_->QueuedBytes(); }
  void Close() override { core_->Close(); }
  NetAddress PeerAddress() const override { return core_->Peer(); }
  NetAddress LocalAddress() const override { return core_->Local(); }

 private:
  TcpCore* core_;  // outlives this stream; Release() hands it to its handle's close
};

// A new, unconnected core, owned by its handle from the start; nullptr with `error` on failure.
TcpCore* NewTcpCore(Loop& loop, int& error) {
  auto owned = std::make_unique<TcpCore>(loop);
  error = uv_tcp_init(loop.Uv(), &owned->tcp);
  if (error != 0) return nullptr;
  TcpCore* core = owned.release();  // freed by OnHandleClosed
  core->tcp.data = static_cast<HandleOwner*>(core);
  return core;
}

class ListenerCore final : public HandleOwner {
 public:
  explicit ListenerCore(TcpAcceptFn on_accept) : on_accept_(std::move(on_accept)) {}

  uv_tcp_t tcp{};
  bool accepting = true;  // false once the listener is destroyed

  static void OnConnection(uv_stream_t* server, int status) {
    ListenerCore& listener = From<ListenerCore>(server);
    Loop& loop = Loop::Of(reinterpret_cast<uv_handle_t*>(server));
    // A failed accept (out of descriptors, say) leaves the connection to the backlog; there is
    // no caller to tell.
    if (status != 0 || !listener.accepting || loop.ShuttingDown()) return;
    int error = 0;
    TcpCore* client = NewTcpCore(loop, error);
    if (client == nullptr) return;
    if (uv_accept(server, client->Stream()) != 0) {
      HandleOwner::Close(client->Handle());
      return;
    }
    // The callback stays alive until the close callback, so the listener may be destroyed
    // from inside it.
    listener.on_accept_(std::make_unique<UvTcpStream>(*client));
  }

 private:
  TcpAcceptFn on_accept_;
};

class UvTcpListener final : public TcpListener {
 public:
  UvTcpListener(ListenerCore& core, NetAddress local) : core_(&core), local_(std::move(local)) {
    Loop::Of(Handle()).ObjectOpened();
  }
  ~UvTcpListener() override {
    Loop::Of(Handle()).ObjectClosed();
    core_->accepting = false;
    HandleOwner::Close(Handle());
  }
  UvTcpListener(const UvTcpListener&) = delete;
  UvTcpListener& operator=(const UvTcpListener&) = delete;

  NetAddress LocalAddress() const override { return local_; }

 private:
  uv_handle_t* Handle() const { return reinterpret_cast<uv_handle_t*>(&core_->tcp); }

  ListenerCore* core_;  // freed by its handle's close callback, which the destructor starts
  NetAddress local_;
};

struct ConnectRequest {
  uv_connect_t request{};
  NetAddress to;
  TcpConnectFn on_done;
};

void OnConnected(uv_connect_t* request, int status) {
  std::unique_ptr<ConnectRequest> owned(static_cast<ConnectRequest*>(request->data));
  TcpCore& core = HandleOwner::From<TcpCore>(request->handle);
  // During the env's destruction the connect is cancelled and nobody is told.
  if (core.GetLoop().ShuttingDown()) return;
  if (status != 0) {
    HandleOwner::Close(core.Handle());
    owned->on_done(UvError("tcp connect to " + owned->to.ToString(), status));
    return;
  }
  std::unique_ptr<TcpStream> stream = std::make_unique<UvTcpStream>(core);
  owned->on_done(std::move(stream));
}

}  // namespace

Result<std::unique_ptr<TcpListener>> ListenTcpSocket(Loop& loop, const NetAddress& bind, TcpAcceptFn on_accept) {
  CAIRN_ASSERT(on_accept != nullptr, "ListenTcp needs an accept callback");
  CAIRN_ASSIGN_OR_RETURN(const sockaddr_in address, ToSockaddr(bind));
  auto owned = std::make_unique<ListenerCore>(std::move(on_accept));
  const int initialized = uv_tcp_init(loop.Uv(), &owned->tcp);
  if (initialized != 0) return UvError("tcp listen on " + bind.ToString(), initialized);
  ListenerCore& core = *owned.release();  // the handle owns it from here on
  core.tcp.data = static_cast<HandleOwner*>(&core);

  int result = uv_tcp_bind(&core.tcp, reinterpret_cast<const sockaddr*>(&address), 0);
  if (result == 0) {
    result = uv_listen(reinterpret_cast<uv_stream_t*>(&core.tcp), SOMAXCONN, &ListenerCore::OnConnection);
  }
  if (result != 0) {
    HandleOwner::Close(reinterpret_cast<uv_handle_t*>(&core.tcp));
    return UvError("tcp listen on " + bind.ToString(), result);
  }
  return std::unique_ptr<TcpListener>(std::make_unique<UvTcpListener>(core, SocketName(&core.tcp, /*peer=*/false)));
}

void ConnectTcpSocket(Loop& loop, const NetAddress& to, TcpConnectFn on_done) {
  CAIRN_ASSERT(on_done != nullptr, "ConnectTcp needs a completion callback");
  // Failures found here are still reported from the loop, never from inside this call.
  auto fail_later = [&loop, &on_done](Status reason) {
    loop.StartTimer(Duration::zero(), [on_done = std::move(on_done), reason = std::move(reason)] { on_done(reason); });
  };
  const Result<sockaddr_in> address = ToSockaddr(to);
  if (!address.IsOk()) return fail_later(address.GetStatus());
  int error = 0;
  TcpCore* core = NewTcpCore(loop, error);
  if (core == nullptr) return fail_later(UvError("tcp connect to " + to.ToString(), error));
  auto request = std::make_unique<ConnectRequest>();
  request->to = to;
  request->on_done = std::move(on_done);
  request->request.data = request.get();
  error = uv_tcp_connect(&request->request, &core->tcp, reinterpret_cast<const sockaddr*>(&*address), &OnConnected);
  if (error != 0) {
    HandleOwner::Close(core->Handle());
    on_done = std::move(request->on_done);
    return fail_later(UvError("tcp connect to " + to.ToString(), error));
  }
  request.release();  // OnConnected frees it
}

}  // namespace cairn::uv_internal
