// HttpClient: a blocking HTTP/1.1 client over one keep-alive connection to one server.
//
// Used where a thread waits for a server's answer anyway: relays from a client agent, writes
// forwarded to the leader, the `cairn` CLI verbs. One request at a time; not thread-safe (keep
// one client per thread).
//
// Failures, by Status code, tell a caller what may have happened at the server:
//   kInvalidArgument    the request cannot be sent as given; nothing was sent.
//   kUnavailable        no connection could be made (name not resolved, refused, connect
//                       timeout): nothing was sent, so any request may go to another server.
//   kIoError            the request could not be written whole: the server cannot have read it
//                       complete, but callers that cannot tell a half-written request from an
//                       unanswered one treat it as unanswered.
//   kTimeout            the request was sent and no complete answer came (read timeout, or the
//                       connection closed): its outcome is unknown.
//   kCorruption         the answer is not HTTP/1.x: outcome unknown too.
//   kResourceExhausted  the answer exceeds a limit (response_bytes_max, the head limit):
//                       outcome unknown too.
//
// Connection reuse: after an answer that allows it, the connection stays open for the next
// request. A reused connection that the server closed while idle is noticed before the request
// is sent, and replaced. A request is sent a second time only when nothing of its answer came
// back on a reused connection and the server cannot have acted on it: the write failed, or the
// request is a GET or HEAD (a read may run twice; a write must not).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/limits.h"
#include "common/status.h"
#include "http/message.h"

namespace cairn::http {

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{2000};
  // The longest wait for the next bytes of an answer (not for the whole answer).
  std::chrono::milliseconds read_timeout{30000};
  // The longest wait for the socket to take more of the request.
  std::chrono::milliseconds write_timeout{30000};
  // The whole answer: head and body.
  size_t response_bytes_max = limits::kHttpResponseBytesMax;
};

class HttpClient {
 public:
  // `host`: a dotted quad or a name (resolved at each connect). Nothing connects until the
  // first request.
  HttpClient(std::string host, uint16_t port, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends request.method, request.target (path and query, already percent-encoded),
  // request.headers and request.body, and returns the answer (any status). Host,
  // Content-Length, Connection and Transfer-Encoding are set here; headers of those names in
  // `request` are ignored. The answer's body is empty for HEAD.
  Result<Response> Send(const Request& request);
  // A request without headers; `content_type` is sent when not empty.
  Result<Response> Send(std::string method, std::string target, std::string body = "",
                        const std::string& content_type = "");

  // Closes the kept connection, if any; the next request opens a new one.
  void Close();

  // "host:port", as errors name the server.
  std::string Endpoint() const;

 private:
  struct Exchange;
  Status Connect();
  bool IdleConnectionClosed() const;
  Result<Response> SendOnce(const std::string& bytes, bool head, Exchange& exchange);
  Status WriteAll(std::string_view bytes, Exchange& exchange);
  Status ReadMore(Exchange& exchange);
  Result<Response> ReadResponse(bool head, Exchange& exchange);
  Result<std::string> ReadHead(Exchange& exchange);
  Status ReadBody(const Response& response, bool head, Exchange& exchange, std::string& body);
  Status ReadChunked(Exchange& exchange, std::string& body);
  Result<std::string> ReadLine(Exchange& exchange);
  Status ReadExact(size_t size, Exchange& exchange, std::string& out);
  Status ReadUntilClose(Exchange& exchange, std::string& body);
  Status Oversized() const;
  Status LineTooLong() const;
  Status ClosedEarly() const;

  std::string host_;
  uint16_t port_;
  HttpClientOptions options_;
  int fd_ = -1;  // the kept connection; -1 when none
  // Bytes read past the current position of the answer being read.
  std::string buffer_;
};

}  // namespace cairn::http
