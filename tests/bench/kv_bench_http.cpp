// HTTP/1.1 response parsing for the KV benchmark (see kv_bench_http.h).
#include "tests/bench/kv_bench_http.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "tests/bench/bench_flags.h"

namespace cairn::bench {
namespace {

constexpr size_t kHeaderBytesMax = 16 << 10;
constexpr size_t kBodyBytesMax = 16 << 20;

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

struct Head {
  int status = 0;
  std::optional<size_t> content_length;
  bool chunked = false;
  bool close = false;
  std::optional<uint64_t> consul_index;
};

Result<Head> ParseHead(std::string_view head) {
  Head out;
  size_t eol = head.find("\r\n");
  const std::string_view status_line = head.substr(0, eol);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) {
    return Status::InvalidArgument("not an HTTP/1.x status line: " + std::string(status_line.substr(0, 40)));
  }
  out.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  while (eol != std::string_view::npos && eol + 2 < head.size()) {
    const size_t start = eol + 2;
    eol = head.find("\r\n", start);
    const std::string_view line = head.substr(start, eol == std::string_view::npos ? head.npos : eol - start);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = Trim(line.substr(0, colon));
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsNoCase(name, "Content-Length"))
      out.content_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
    if (EqualsNoCase(name, "Transfer-Encoding") && EqualsNoCase(value, "chunked")) out.chunked = true;
    if (EqualsNoCase(name, "Connection") && EqualsNoCase(value, "close")) out.close = true;
    if (EqualsNoCase(name, "X-Consul-Index")) out.consul_index = ParseDecimal(value);
  }
  return out;
}

}  // namespace

Result<std::optional<std::string>> HttpResponseParser::Dechunk(size_t from, size_t& end) const {
  std::string body;
  size_t pos = from;
  while (true) {
    const size_t eol = buffer_.find("\r\n", pos);
    if (eol == std::string::npos) return std::optional<std::string>();
    const size_t size = std::strtoull(buffer_.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (size > kBodyBytesMax || body.size() + size > kBodyBytesMax) return Status::InvalidArgument("chunk too large");
    // A chunk is followed by CRLF; the last (empty) chunk by optional trailers and CRLF, and
    // neither server sends trailers.
    if (buffer_.size() < eol + 2 + size + 2) return std::optional<std::string>();
    body.append(buffer_, eol + 2, size);
    pos = eol + 2 + size + 2;
    if (size == 0) {
      end = pos;
      return std::optional<std::string>(std::move(body));
    }
  }
}

Result<std::optional<HttpResponse>> HttpResponseParser::Next() {
  const size_t head_end = buffer_.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    if (buffer_.size() > kHeaderBytesMax) return Status::InvalidArgument("response head too large");
    return std::optional<HttpResponse>();
  }
  Result<Head> head = ParseHead(std::string_view(buffer_).substr(0, head_end));
  if (!head.IsOk()) return head.GetStatus();
  HttpResponse response{head->status, {}, head->close, head->consul_index};
  const size_t body_start = head_end + 4;
  size_t end = body_start;
  if (head->chunked) {
    Result<std::optional<std::string>> body = Dechunk(body_start, end);
    if (!body.IsOk()) return body.GetStatus();
    if (!body->has_value()) return std::optional<HttpResponse>();
    response.body = std::move(**body);
  } else {
    const size_t length = head->content_length.value_or(0);
    if (length > kBodyBytesMax) return Status::InvalidArgument("response body too large");
    if (buffer_.size() < body_start + length) return std::optional<HttpResponse>();
    response.body = buffer_.substr(body_start, length);
    end = body_start + length;
  }
  buffer_.erase(0, end);
  return std::optional<HttpResponse>(std::move(response));
}

std::string HttpRequest(std::string_view method, std::string_view path, std::string_view host,
                        std::string_view content_type, std::string_view body) {
  std::string out;
  out.reserve(128 + body.size());
  out.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
  if (!content_type.empty()) out.append("Content-Type: ").append(content_type).append("\r\n");
  if (!body.empty() || method != "GET")
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append("\r\n").append(body);
  return out;
}

}  // namespace cairn::bench
