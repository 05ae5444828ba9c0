// Request and Response: an HTTP/1.1 message as the server hands it to the endpoint handlers and
// as the client (http/http_client.h) sends and receives it. Plain data plus the few lookups the
// handlers make; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::http {

// Header names compare without regard to ASCII case (RFC 9110 section 5.1).
struct HeaderNameLess {
  bool operator()(std::string_view a, std::string_view b) const;
  using is_transparent = void;
};

// In arrival order within one name, as a multimap keeps equal keys.
using Headers = std::multimap<std::string, std::string, HeaderNameLess>;
// Decoded query parameters; a parameter given without `=` has an empty value.
using Params = std::multimap<std::string, std::string>;

struct Request {
  std::string method;   // "GET", "PUT", ...
  std::string target;   // as sent on the request line: the path and query, still encoded
  std::string path;     // the target's path, percent-decoded
  std::string version;  // "HTTP/1.1" or "HTTP/1.0"
  Headers headers;
  Params params;
  std::string body;
  // The route's capture groups on `path`, whole match first (set by the router).
  std::vector<std::string> matches;

  // The `index`th value of header `name`, or "" when there are fewer.
  std::string HeaderValue(std::string_view name, size_t index = 0) const;
  size_t HeaderCount(std::string_view name) const { return headers.count(name); }
  // Replaces every value of `name`.
  void SetHeader(const std::string& name, std::string value);

  bool HasParam(const std::string& name) const { return params.find(name) != params.end(); }
  // The `index`th value of query parameter `name`, or "" when there are fewer.
  std::string ParamValue(const std::string& name, size_t index = 0) const;
  size_t ParamCount(const std::string& name) const { return params.count(name); }
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  bool HasHeader(std::string_view name) const { return headers.find(name) != headers.end(); }
  // The `index`th value of header `name`, or "" when there are fewer.
  std::string HeaderValue(std::string_view name, size_t index = 0) const;
  // Replaces every value of `name`.
  void SetHeader(const std::string& name, std::string value);
  // The body and its Content-Type.
  void SetContent(std::string content, std::string content_type);
};

// ---- pieces of HTTP/1.1 syntax, shared by the server's parser and the client ----------------

// ASCII case-insensitive equality, as header names and tokens compare.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Without leading and trailing spaces and tabs (the optional whitespace around header values).
std::string_view TrimWhitespace(std::string_view text);
// True if the comma-separated header value lists `token` (as in `Connection: keep-alive, x`).
bool ListsToken(std::string_view value, std::string_view token);
// A character of an RFC 9110 token (methods, header names).
bool IsTokenChar(char c);
// A non-empty run of decimal digits that fits in 64 bits (Content-Length), else nullopt.
std::optional<uint64_t> ParseDecimal(std::string_view text);
// The size on a chunk's size line ("1a3f", "1a3f;ext=1"), or nullopt when malformed.
std::optional<uint64_t> ParseChunkSize(std::string_view line);
// One line of `buffer` starting at `pos`, without its line ending (CRLF or a bare LF); nullopt
// if the buffer ends first. `next` is where the following line starts.
std::optional<std::string_view> NextLine(std::string_view buffer, size_t pos, size_t& next);
// Whether a message of `version` with this Connection header lets the connection carry another
// exchange: HTTP/1.1 unless it says `close`, HTTP/1.0 only if it says `keep-alive`.
bool KeepsAlive(std::string_view version, std::string_view connection);
// A header line, "name: value", as its name and its value without surrounding whitespace;
// nullopt when it is not one (no colon, an empty name or one with a non-token character, which
// includes a folded continuation line).
struct HeaderField {
  std::string_view name;
  std::string_view value;
};
std::optional<HeaderField> ParseHeaderLine(std::string_view line);
// Percent-encodes every byte but RFC 3986's unreserved characters (and '/' if `keep_slash`),
// for a path segment or a query parameter.
std::string PercentEncode(std::string_view text, bool keep_slash);

}  // namespace cairn::http
