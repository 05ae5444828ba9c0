#include "http/message.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>

namespace cairn::http {

namespace {

template <typename Map, typename Key>
std::string NthValue(const Map& map, const Key& key, size_t index) {
  auto [first, last] = map.equal_range(key);
  if (static_cast<size_t>(std::distance(first, last)) <= index) return "";
  return std::next(first, static_cast<std::ptrdiff_t>(index))->second;
}

void ReplaceHeader(Headers& headers, const std::string& name, std::string value) {
  auto [first, last] = headers.equal_range(name);
  headers.erase(first, last);
  headers.emplace(name, std::move(value));
}

}  // namespace

bool HeaderNameLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  });
}

std::string Request::HeaderValue(std::string_view name, size_t index) const { return NthValue(headers, name, index); }

void Request::SetHeader(const std::string& name, std::string value) { ReplaceHeader(headers, name, std::move(value)); }

std::string Request::ParamValue(const std::string& name, size_t index) const { return NthValue(params, name, index); }

std::string Response::HeaderValue(std::string_view name, size_t index) const { return NthValue(headers, name, index); }

void Response::SetHeader(const std::string& name, std::string value) { ReplaceHeader(headers, name, std::move(value)); }

void Response::SetContent(std::string content, std::string content_type) {
  body = std::move(content);
  SetHeader("Content-Type", std::move(content_type));
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view TrimWhitespace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool ListsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (EqualsIgnoreCase(TrimWhitespace(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::optional<uint64_t> ParseDecimal(std::string_view text) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<uint64_t> ParseChunkSize(std::string_view line) {
  const std::string_view digits = TrimWhitespace(line.substr(0, line.find(';')));
  uint64_t size = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return size;
}

std::optional<std::string_view> NextLine(std::string_view buffer, size_t pos, size_t& next) {
  const size_t newline = buffer.find('\n', pos);
  if (newline == std::string_view::npos) return std::nullopt;
  next = newline + 1;
  std::string_view line = buffer.substr(pos, newline - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool KeepsAlive(std::string_view version, std::string_view connection) {
  if (version == "HTTP/1.0") return ListsToken(connection, "keep-alive");
  return !ListsToken(connection, "close");
}

std::optional<HeaderField> ParseHeaderLine(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view name = line.substr(0, colon);
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) return std::nullopt;
  return HeaderField{name, TrimWhitespace(line.substr(colon + 1))};
}

std::string PercentEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    const bool unreserved = std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace cairn::http
