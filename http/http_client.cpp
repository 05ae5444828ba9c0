#include "http/http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace cairn::http {

namespace {

using Clock = std::chrono::steady_clock;

// One recv() at most; the buffer grows by this much per read.
constexpr size_t kReadChunkBytes = 16 * 1024;

// Waits until `fd` is ready for `events` or `timeout` passes. >0 ready, 0 timed out, <0 error.
// A wait cut short (a signal, or poll's own rounding) resumes for what is left.
int Await(int fd, short events, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd entry{fd, events, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (ready > 0 || (ready < 0 && errno != EINTR)) return ready;
    if (ready == 0 && Clock::now() >= deadline) return 0;
  }
}

bool IsReset(int error) { return error == EPIPE || error == ECONNRESET; }

std::string ErrnoText(int error) { return std::strerror(error); }

// A non-blocking socket connected to `address` within `timeout`, or why not.
Result<int> ConnectOne(const addrinfo& address, std::chrono::milliseconds timeout) {
  const int fd = ::socket(address.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Unavailable("socket: " + ErrnoText(errno));
  int error = 0;
  if (::connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
    error = errno;
    if (error == EINPROGRESS) {
      const int ready = Await(fd, POLLOUT, timeout);
      socklen_t length = sizeof(error);
      if (ready == 0) {
        error = ETIMEDOUT;
      } else if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        error = errno;
      }
    }
  }
  if (error != 0) {
    ::close(fd);
    return Status::Unavailable(error == ETIMEDOUT ? "connect timed out" : ErrnoText(error));
  }
  // Requests are written whole; waiting to coalesce them only adds latency.
  const int on = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  return fd;
}

bool IsFramingHeader(std::string_view name) {
  for (std::string_view framing : {"Host", "Content-Length", "Connection", "Transfer-Encoding"}) {
    if (EqualsIgnoreCase(name, framing)) return true;
  }
  return false;
}

bool HasLineBreakOrNul(std::string_view text) { return text.find_first_of(std::string_view("\r\n\0", 3)) != text.npos; }

Status CheckRequest(const Request& request) {
  if (request.method.empty() || !std::all_of(request.method.begin(), request.method.end(), IsTokenChar)) {
    return Status::InvalidArgument("invalid HTTP method \"" + request.method + "\"");
  }
  if (request.target.empty() || request.target.front() != '/' || HasLineBreakOrNul(request.target) ||
      request.target.find(' ') != std::string::npos) {
    return Status::InvalidArgument("invalid HTTP request target \"" + request.target + "\"");
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar) || HasLineBreakOrNul(value)) {
      return Status::InvalidArgument("invalid HTTP header \"" + name + "\"");
    }
  }
  return OkStatus();
}

// The request's bytes, with the framing headers set here.
std::string SerializeRequest(const Request& request, const std::string& host_header) {
  std::string out;
  out.reserve(256 + request.target.size() + request.body.size());
  out.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  out.append("Host: ").append(host_header).append("\r\n");
  for (const auto& [name, value] : request.headers) {
    if (!IsFramingHeader(name)) out.append(name).append(": ").append(value).append("\r\n");
  }
  // A request with a body, or of a method that normally has one, says how long the body is.
  const bool sized =
      !request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (sized) out.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
  out.append("\r\n");
  out.append(request.body);
  return out;
}

struct Head {
  std::string version;
  Response response;
};

// The status line and headers of an answer.
Result<Head> ParseHead(std::string_view bytes) {
  size_t next = 0;
  const std::optional<std::string_view> status_line = NextLine(bytes, 0, next);
  Head head;
  const std::string_view line = status_line.value_or("");
  const size_t space = line.find(' ');
  const std::string_view code = space == line.npos ? std::string_view() : line.substr(space + 1, 3);
  const std::optional<uint64_t> status = ParseDecimal(code);
  const bool code_ends = line.size() == space + 4 || (line.size() > space + 4 && line[space + 4] == ' ');
  if (!line.starts_with("HTTP/1.") || space != 8 || !status || code.size() != 3 || !code_ends || *status < 100) {
    return Status::Corruption("malformed HTTP status line \"" + std::string(line.substr(0, 80)) + "\"");
  }
  head.version = std::string(line.substr(0, space));
  head.response.status = static_cast<int>(*status);
  size_t pos = next;
  while (std::optional<std::string_view> header = NextLine(bytes, pos, next)) {
    pos = next;
    if (header->empty()) break;
    const std::optional<HeaderField> field = ParseHeaderLine(*header);
    if (!field) return Status::Corruption("malformed HTTP header line in an answer");
    head.response.headers.emplace(std::string(field->name), std::string(field->value));
  }
  return head;
}

}  // namespace

// What one attempt at a request saw.
struct HttpClient::Exchange {
  size_t received = 0;      // bytes of the answer read
  bool sent_whole = false;  // every byte of the request went to the socket
  bool closed = false;      // the server closed or reset the connection
};

HttpClient::HttpClient(std::string host, uint16_t port, HttpClientOptions options)
    : host_(std::move(host)), port_(port), options_(options) {}

HttpClient::~HttpClient() { Close(); }

std::string HttpClient::Endpoint() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

void HttpClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

Result<Response> HttpClient::Send(std::string method, std::string target, std::string body,
                                  const std::string& content_type) {
  Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  if (!content_type.empty()) request.headers.emplace("Content-Type", content_type);
  return Send(request);
}

Result<Response> HttpClient::Send(const Request& request) {
  CAIRN_RETURN_IF_ERROR(CheckRequest(request));
  const std::string bytes = SerializeRequest(request, Endpoint());
  const bool head = request.method == "HEAD";
  bool reused = fd_ >= 0;
  if (reused && IdleConnectionClosed()) {
    Close();
    reused = false;
  }
  if (!reused) CAIRN_RETURN_IF_ERROR(Connect());
  Exchange first;
  Result<Response> answer = SendOnce(bytes, head, first);
  if (answer.IsOk() || !reused || first.received > 0 || !first.closed) return answer;
  // The server closed the kept connection as the request went out. Sent again only if it cannot
  // have acted on it (it never had it whole) or acting twice does no harm (a read).
  const bool read = head || request.method == "GET";
  if (first.sent_whole && !read) return answer;
  CAIRN_RETURN_IF_ERROR(Connect());
  Exchange second;
  return SendOnce(bytes, head, second);
}

Status HttpClient::Connect() {
  Close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int resolved = ::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &found);
  if (resolved != 0) return Status::Unavailable("cannot resolve " + host_ + ": " + ::gai_strerror(resolved));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  std::string why = "no address";
  for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
    Result<int> fd = ConnectOne(*address, options_.connect_timeout);
    if (fd.IsOk()) {
      fd_ = *fd;
      return OkStatus();
    }
    why = fd.GetStatus().Message();
  }
  return Status::Unavailable("cannot connect to " + Endpoint() + ": " + why);
}

// An idle kept connection has nothing to read: readable means the server closed it (or sent
// bytes nobody asked for), and either way it cannot carry the next request.
bool HttpClient::IdleConnectionClosed() const {
  pollfd entry{fd_, POLLIN | POLLRDHUP, 0};
  return ::poll(&entry, 1, 0) != 0;
}

Result<Response> HttpClient::SendOnce(const std::string& bytes, bool head, Exchange& exchange) {
  Status written = WriteAll(bytes, exchange);
  if (!written.IsOk()) {
    Close();
    return written;
  }
  exchange.sent_whole = true;
  Result<Response> answer = ReadResponse(head, exchange);
  if (!answer.IsOk()) Close();
  return answer;
}

Status HttpClient::WriteAll(std::string_view bytes, Exchange& exchange) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      bytes.remove_prefix(static_cast<size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const int ready = Await(fd_, POLLOUT, options_.write_timeout);
      if (ready > 0) continue;
      if (ready == 0) errno = ETIMEDOUT;
    }
    const int error = errno;
    exchange.closed = IsReset(error);
    return Status::IoError("cannot send the request to " + Endpoint() + ": " +
                           (error == ETIMEDOUT ? "timed out" : ErrnoText(error)));
  }
  return OkStatus();
}

// Appends what the socket has to buffer_; kOk with exchange.closed set at the end of the stream.
Status HttpClient::ReadMore(Exchange& exchange) {
  const int ready = Await(fd_, POLLIN, options_.read_timeout);
  if (ready == 0) {
    return Status::Timeout("no answer from " + Endpoint() + " within " + std::to_string(options_.read_timeout.count()) +
                           " ms");
  }
  const size_t old_size = buffer_.size();
  buffer_.resize(old_size + kReadChunkBytes);
  ssize_t got = -1;
  if (ready > 0) {
    do {
      got = ::recv(fd_, buffer_.data() + old_size, kReadChunkBytes, 0);
    } while (got < 0 && errno == EINTR);
  }
  const int error = errno;
  buffer_.resize(old_size + static_cast<size_t>(std::max<ssize_t>(got, 0)));
  if (got < 0 && (error == EAGAIN || error == EWOULDBLOCK)) return OkStatus();
  if (got < 0 && !IsReset(error)) {
    return Status::Timeout("reading the answer from " + Endpoint() + " failed: " + ErrnoText(error));
  }
  if (got <= 0) {
    exchange.closed = true;
    return OkStatus();
  }
  exchange.received += static_cast<size_t>(got);
  if (exchange.received > options_.response_bytes_max) return Oversized();
  return OkStatus();
}

Status HttpClient::Oversized() const {
  return Status::ResourceExhausted("the answer from " + Endpoint() + " exceeds response_bytes_max (" +
                                   std::to_string(options_.response_bytes_max) + " bytes)");
}

Status HttpClient::LineTooLong() const {
  return Status::ResourceExhausted("the answer from " + Endpoint() + " has a head or chunk line over " +
                                   std::to_string(limits::kHttpResponseHeadBytesMax) + " bytes");
}

Status HttpClient::ClosedEarly() const {
  return Status::Timeout("the server at " + Endpoint() + " closed the connection before its answer was complete");
}

Result<Response> HttpClient::ReadResponse(bool head, Exchange& exchange) {
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(std::string head_bytes, ReadHead(exchange));
    CAIRN_ASSIGN_OR_RETURN(Head parsed, ParseHead(head_bytes));
    if (parsed.response.status < 200) continue;  // an interim answer (100 Continue); the real one follows
    std::string body;
    CAIRN_RETURN_IF_ERROR(ReadBody(parsed.response, head, exchange, body));
    parsed.response.body = std::move(body);
    // Without a length the body ran to the close; bytes past the answer were never asked for.
    const bool reusable =
        !exchange.closed && buffer_.empty() && KeepsAlive(parsed.version, parsed.response.HeaderValue("Connection"));
    if (!reusable) Close();
    return std::move(parsed.response);
  }
}

// The status line and the headers, each line ending in a bare LF, without the empty line after.
Result<std::string> HttpClient::ReadHead(Exchange& exchange) {
  std::string head;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(std::string line, ReadLine(exchange));
    if (line.empty()) return head;
    if (head.size() + line.size() >= limits::kHttpResponseHeadBytesMax) return LineTooLong();
    head.append(line).append("\n");
  }
}

Status HttpClient::ReadBody(const Response& response, bool head, Exchange& exchange, std::string& body) {
  // RFC 9112 section 6.3: no body after HEAD, 204 and 304, whatever the headers say.
  if (head || response.status == 204 || response.status == 304) return OkStatus();
  const std::string encoding = response.HeaderValue("Transfer-Encoding");
  if (!encoding.empty()) {
    const size_t comma = encoding.rfind(',');
    const std::string_view last = comma == std::string::npos ? encoding : std::string_view(encoding).substr(comma + 1);
    if (EqualsIgnoreCase(TrimWhitespace(last), "chunked")) return ReadChunked(exchange, body);
    return ReadUntilClose(exchange, body);
  }
  if (!response.HasHeader("Content-Length")) return ReadUntilClose(exchange, body);
  const std::optional<uint64_t> length = ParseDecimal(response.HeaderValue("Content-Length"));
  if (!length) return Status::Corruption("invalid Content-Length in the answer from " + Endpoint());
  if (*length > options_.response_bytes_max) return Oversized();
  return ReadExact(static_cast<size_t>(*length), exchange, body);
}

Status HttpClient::ReadChunked(Exchange& exchange, std::string& body) {
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(std::string size_line, ReadLine(exchange));
    const std::optional<uint64_t> size = ParseChunkSize(size_line);
    if (!size) return Status::Corruption("malformed chunk size in the answer from " + Endpoint());
    if (*size > options_.response_bytes_max - std::min(body.size(), options_.response_bytes_max)) {
      return Oversized();
    }
    if (*size == 0) break;
    CAIRN_RETURN_IF_ERROR(ReadExact(static_cast<size_t>(*size), exchange, body));
    CAIRN_ASSIGN_OR_RETURN(std::string end, ReadLine(exchange));
    if (!end.empty()) return Status::Corruption("chunk data not followed by a line end from " + Endpoint());
  }
  for (;;) {  // trailers, ignored, up to the empty line
    CAIRN_ASSIGN_OR_RETURN(std::string trailer, ReadLine(exchange));
    if (trailer.empty()) return OkStatus();
  }
}

Result<std::string> HttpClient::ReadLine(Exchange& exchange) {
  for (;;) {
    size_t next = 0;
    if (std::optional<std::string_view> line = NextLine(buffer_, 0, next)) {
      std::string out(*line);
      buffer_.erase(0, next);
      return out;
    }
    if (buffer_.size() >= limits::kHttpResponseHeadBytesMax) return LineTooLong();
    CAIRN_RETURN_IF_ERROR(ReadMore(exchange));
    if (exchange.closed) return ClosedEarly();
  }
}

Status HttpClient::ReadExact(size_t size, Exchange& exchange, std::string& out) {
  while (buffer_.size() < size) {
    CAIRN_RETURN_IF_ERROR(ReadMore(exchange));
    if (exchange.closed) return ClosedEarly();
  }
  if (out.empty() && buffer_.size() == size) {
    out.swap(buffer_);
  } else {
    out.append(buffer_, 0, size);
    buffer_.erase(0, size);
  }
  return OkStatus();
}

Status HttpClient::ReadUntilClose(Exchange& exchange, std::string& body) {
  while (!exchange.closed) CAIRN_RETURN_IF_ERROR(ReadMore(exchange));
  body.swap(buffer_);
  buffer_.clear();
  return OkStatus();
}

}  // namespace cairn::http
