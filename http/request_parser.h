// Parsing HTTP/1.1 requests (RFC 9112) and writing responses, for the event-driven server
// (http/http_server.h). Pure functions: bytes in, requests out; no sockets, no threads.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "http/message.h"

namespace cairn::http {

struct ParserLimits {
  // The request line and the headers together.
  size_t header_bytes_max = 64 * 1024;
  // A body larger than this is refused with 413 before it is read.
  size_t body_bytes_max = 1024 * 1024;
};

// What ParseRequest found at the front of a connection's buffer.
struct ParseOutcome {
  enum class Kind {
    kIncomplete,  // more bytes are needed
    kRequest,     // `request` is complete and took the first `consumed` bytes
    kError,       // the bytes are not a request this server takes; reply and close
  };
  Kind kind = Kind::kIncomplete;
  size_t consumed = 0;
  Request request;
  // Whether the connection may serve another request after this one.
  bool keep_alive = false;
  // kIncomplete with the head read and a body awaited after `Expect: 100-continue`.
  bool expects_continue = false;
  int error_status = 0;  // kError: 400, 413, 431, 501 or 505
  std::string error_message;
};

// Parses the first request in `buffer`. Call again with more bytes after kIncomplete; the
// parse starts over from the front each time (the limits bound the work).
ParseOutcome ParseRequest(std::string_view buffer, const ParserLimits& limits);

// Percent-decoding as a URL's path (`plus_is_space` false) or query (true) needs it. A `%`
// not followed by two hex digits is kept as it is.
std::string DecodeUrlComponent(std::string_view text, bool plus_is_space);

// The response's bytes: status line, headers (Content-Length computed here, any given one
// ignored), and the body unless `head_only`.
std::string SerializeResponse(const Response& response, bool keep_alive, bool head_only);

// The standard reason phrase of a status code ("Unknown" for codes without one).
std::string_view ReasonPhrase(int status);

}  // namespace cairn::http
