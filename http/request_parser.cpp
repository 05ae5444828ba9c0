#include "http/request_parser.h"

#include <algorithm>
#include <optional>

namespace cairn::http {

namespace {

using Kind = ParseOutcome::Kind;

ParseOutcome Error(int status, std::string message) {
  ParseOutcome outcome;
  outcome.kind = Kind::kError;
  outcome.error_status = status;
  outcome.error_message = std::move(message);
  return outcome;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "METHOD /target HTTP/1.1" into the request; an error outcome if it is not one.
std::optional<ParseOutcome> ParseRequestLine(std::string_view line, Request& request) {
  const size_t first = line.find(' ');
  const size_t last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) return Error(400, "malformed request line");
  const std::string_view method = line.substr(0, first);
  const std::string_view target = line.substr(first + 1, last - first - 1);
  const std::string_view version = line.substr(last + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), IsTokenChar)) {
    return Error(400, "malformed request method");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return version.starts_with("HTTP/") ? Error(505, "HTTP version not supported")
                                        : Error(400, "malformed request line");
  }
  if (target.empty() || target.front() != '/' || target.find(' ') != std::string_view::npos) {
    return Error(400, "request target must be an absolute path");
  }
  request.method = std::string(method);
  request.version = std::string(version);
  request.target = std::string(target);
  const size_t question = target.find('?');
  request.path = DecodeUrlComponent(target.substr(0, question), /*plus_is_space=*/false);
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      request.params.emplace(
          DecodeUrlComponent(pair.substr(0, eq), true),
          eq == std::string_view::npos ? std::string() : DecodeUrlComponent(pair.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// Header lines from `pos` up to the empty line; `pos` ends past it. nullopt while incomplete.
std::optional<ParseOutcome> ParseHeaders(std::string_view buffer, size_t& pos, Request& request, bool& complete) {
  complete = false;
  size_t next = 0;
  while (std::optional<std::string_view> line = NextLine(buffer, pos, next)) {
    pos = next;
    if (line->empty()) {
      complete = true;
      return std::nullopt;
    }
    if (line->front() == ' ' || line->front() == '\t') return Error(400, "folded header lines are not accepted");
    const std::optional<HeaderField> field = ParseHeaderLine(*line);
    if (!field) return Error(400, "malformed header line");
    request.headers.emplace(std::string(field->name), std::string(field->value));
  }
  return std::nullopt;
}

// How the body is framed, from the headers.
struct Framing {
  bool chunked = false;
  uint64_t content_length = 0;
};

std::optional<ParseOutcome> ParseFraming(const Request& request, const ParserLimits& limits, Framing& framing) {
  const size_t encodings = request.HeaderCount("Transfer-Encoding");
  const size_t lengths = request.HeaderCount("Content-Length");
  if (encodings > 0) {
    // Both framings at once is how requests are smuggled past proxies: refuse it.
    if (lengths > 0) return Error(400, "both Transfer-Encoding and Content-Length given");
    if (encodings > 1 || !EqualsIgnoreCase(TrimWhitespace(request.HeaderValue("Transfer-Encoding")), "chunked")) {
      return Error(501, "only the chunked transfer encoding is supported");
    }
    framing.chunked = true;
    return std::nullopt;
  }
  for (size_t i = 0; i < lengths; ++i) {
    const std::optional<uint64_t> length = ParseDecimal(request.HeaderValue("Content-Length", i));
    if (!length || (i > 0 && *length != framing.content_length)) return Error(400, "invalid Content-Length");
    framing.content_length = *length;
  }
  if (framing.content_length > limits.body_bytes_max) {
    return Error(413, "request body exceeds " + std::to_string(limits.body_bytes_max) + " bytes");
  }
  return std::nullopt;
}

// Decodes a chunked body starting at `pos`. Returns kRequest-ready (true) when the last chunk
// and trailers are in, false while incomplete; an error outcome for a malformed or oversized one.
std::optional<ParseOutcome> DecodeChunked(std::string_view buffer, size_t& pos, const ParserLimits& limits,
                                          std::string& body, bool& complete) {
  complete = false;
  size_t next = 0;
  while (std::optional<std::string_view> size_line = NextLine(buffer, pos, next)) {
    const std::optional<uint64_t> parsed_size = ParseChunkSize(*size_line);
    if (!parsed_size) return Error(400, "malformed chunk size");
    const uint64_t size = *parsed_size;
    if (size > limits.body_bytes_max || body.size() + size > limits.body_bytes_max) {
      return Error(413, "request body exceeds " + std::to_string(limits.body_bytes_max) + " bytes");
    }
    if (size == 0) {  // the last chunk; trailers (ignored) end with an empty line
      size_t trailer = next;
      while (std::optional<std::string_view> line = NextLine(buffer, trailer, next)) {
        trailer = next;
        if (line->empty()) {
          pos = trailer;
          complete = true;
          return std::nullopt;
        }
      }
      return std::nullopt;
    }
    if (buffer.size() < next + size + 1) return std::nullopt;
    body.append(buffer.substr(next, size));
    size_t after = next + size;
    if (buffer.substr(after).starts_with("\r\n")) {
      after += 2;
    } else if (buffer[after] == '\n') {
      after += 1;
    } else if (buffer.size() - after < 2) {
      return std::nullopt;
    } else {
      return Error(400, "chunk data not followed by a line end");
    }
    pos = after;
  }
  return std::nullopt;
}

bool KeepAlive(const Request& request) { return KeepsAlive(request.version, request.HeaderValue("Connection")); }

}  // namespace

ParseOutcome ParseRequest(std::string_view buffer, const ParserLimits& limits) {
  ParseOutcome outcome;
  // Tolerate empty lines before a request (RFC 9112 section 2.2).
  size_t pos = 0;
  while (pos < buffer.size() && (buffer[pos] == '\r' || buffer[pos] == '\n')) ++pos;
  size_t next = 0;
  const std::optional<std::string_view> request_line = NextLine(buffer, pos, next);
  if (!request_line) {
    return buffer.size() - pos > limits.header_bytes_max ? Error(414, "request line too long") : outcome;
  }
  if (std::optional<ParseOutcome> error = ParseRequestLine(*request_line, outcome.request)) return std::move(*error);
  pos = next;
  bool head_complete = false;
  if (std::optional<ParseOutcome> error = ParseHeaders(buffer, pos, outcome.request, head_complete)) {
    return std::move(*error);
  }
  if (!head_complete) {
    return buffer.size() > limits.header_bytes_max ? Error(431, "request headers too large") : ParseOutcome{};
  }
  if (pos > limits.header_bytes_max) return Error(431, "request headers too large");
  Framing framing;
  if (std::optional<ParseOutcome> error = ParseFraming(outcome.request, limits, framing)) return std::move(*error);
  const bool wants_continue = EqualsIgnoreCase(outcome.request.HeaderValue("Expect"), "100-continue");
  if (framing.chunked) {
    bool body_complete = false;
    if (std::optional<ParseOutcome> error = DecodeChunked(buffer, pos, limits, outcome.request.body, body_complete)) {
      return std::move(*error);
    }
    if (!body_complete) {
      ParseOutcome waiting;
      waiting.expects_continue = wants_continue;
      return waiting;
    }
  } else {
    if (buffer.size() - pos < framing.content_length) {
      ParseOutcome waiting;
      waiting.expects_continue = wants_continue;
      return waiting;
    }
    outcome.request.body = std::string(buffer.substr(pos, framing.content_length));
    pos += framing.content_length;
  }
  outcome.kind = Kind::kRequest;
  outcome.consumed = pos;
  outcome.keep_alive = KeepAlive(outcome.request);
  return outcome;
}

std::string DecodeUrlComponent(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string SerializeResponse(const Response& response, bool keep_alive, bool head_only) {
  const int status = response.status;
  // 204 and 304 have no body and no Content-Length (RFC 9110 sections 8.6, 15.3.5).
  const bool bodiless = status == 204 || status == 304;
  std::string out;
  out.reserve(256 + response.body.size());
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(ReasonPhrase(status)).append("\r\n");
  for (const auto& [name, value] : response.headers) {
    if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Connection")) continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!bodiless) out.append("Content-Length: ").append(std::to_string(response.body.size())).append("\r\n");
  out.append(keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
  out.append("\r\n");
  if (!head_only && !bodiless) out.append(response.body);
  return out;
}

}  // namespace cairn::http
