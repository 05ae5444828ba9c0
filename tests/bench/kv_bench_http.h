// The few pieces of HTTP/1.1 the KV and blocking-query benchmarks need: an incremental parser for
// the responses that arrive on one keep-alive connection, and the request lines it sends. Only
// what the two servers under test send is supported (Content-Length or chunked bodies).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cairn::bench {

struct HttpResponse {
  int status = 0;
  std::string body;
  bool close = false;                    // the server said "Connection: close": reconnect before the next request
  std::optional<uint64_t> consul_index;  // X-Consul-Index, when present and a number
};

class HttpResponseParser {
 public:
  void Feed(std::string_view data) { buffer_.append(data); }
  // The next complete response, nullopt while more bytes are needed, an error on bytes that
  // are not an HTTP/1.1 response (the connection cannot be trusted afterwards).
  Result<std::optional<HttpResponse>> Next();
  void Reset() { buffer_.clear(); }

 private:
  // Decodes a chunked body starting at `from`; nullopt while incomplete.
  Result<std::optional<std::string>> Dechunk(size_t from, size_t& end) const;

  std::string buffer_;
};

// "<method> <path> HTTP/1.1" with Host and (for a body) Content-Type and Content-Length.
std::string HttpRequest(std::string_view method, std::string_view path, std::string_view host,
                        std::string_view content_type, std::string_view body);

}  // namespace cairn::bench
