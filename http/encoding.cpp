// Go-style durations, base64 and UTF-8: the encodings Consul's API uses on the wire.
#include <array>
#include <cmath>

#include "http/http_util.h"

namespace cairn::http {
namespace {

using std::chrono::nanoseconds;

// Nanoseconds per unit, longest suffixes first so "ms" is not read as "m".
struct Unit {
  std::string_view suffix;
  int64_t nanos;
};
constexpr std::array<Unit, 8> kUnits = {{{"ns", 1},
                                         {"us", 1'000},
                                         {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
                                         {"\xCE\xBCs", 1'000},  // U+03BC Greek mu
                                         {"ms", 1'000'000},
                                         {"s", 1'000'000'000},
                                         {"m", 60'000'000'000},
                                         {"h", 3'600'000'000'000}}};

const Unit* MatchUnit(std::string_view rest) {
  const Unit* best = nullptr;
  for (const Unit& unit : kUnits) {
    if (rest.starts_with(unit.suffix) && (!best || unit.suffix.size() > best->suffix.size())) best = &unit;
  }
  return best;
}

Status BadDuration(std::string_view text) {
  return Status::InvalidArgument("invalid duration \"" + std::string(text) + "\"");
}

// Seconds with Go's trimmed fraction: 1.5s, 10s, 0.001s is printed by the caller as 1ms.
std::string TrimmedFraction(int64_t whole, int64_t fraction, int digits) {
  std::string out = std::to_string(whole);
  if (fraction == 0) return out;
  std::string frac = std::to_string(fraction);
  frac.insert(0, static_cast<size_t>(digits) - frac.size(), '0');
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return out + "." + frac;
}

}  // namespace

Result<nanoseconds> ParseDuration(std::string_view text) {
  if (text == "0") return nanoseconds(0);
  if (text.empty() || text.front() == '-' || text.front() == '+') return BadDuration(text);
  std::string_view rest = text;
  long double total = 0;
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[digits])) || rest[digits] == '.')) {
      ++digits;
    }
    const std::string number(rest.substr(0, digits));
    if (number.empty() || number == "." || number.find('.') != number.rfind('.')) return BadDuration(text);
    const Unit* unit = MatchUnit(rest.substr(digits));
    if (!unit) return BadDuration(text);
    total += std::stold(number) * static_cast<long double>(unit->nanos);
    rest.remove_prefix(digits + unit->suffix.size());
  }
  if (total > static_cast<long double>(INT64_MAX)) return BadDuration(text);
  return nanoseconds(static_cast<int64_t>(std::llround(total)));
}

std::string FormatDuration(nanoseconds duration) {
  const int64_t ns = duration.count();
  if (ns == 0) return "0s";
  if (ns < 1'000) return std::to_string(ns) + "ns";
  if (ns < 1'000'000) return TrimmedFraction(ns / 1'000, ns % 1'000, 3) + "\xC2\xB5s";
  if (ns < 1'000'000'000) return TrimmedFraction(ns / 1'000'000, ns % 1'000'000, 6) + "ms";
  const int64_t hours = ns / 3'600'000'000'000;
  const int64_t minutes = (ns / 60'000'000'000) % 60;
  const int64_t seconds_ns = ns % 60'000'000'000;
  std::string out;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  return out + TrimmedFraction(seconds_ns / 1'000'000'000, seconds_ns % 1'000'000'000, 9) + "s";
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    int extra = lead < 0x80             ? 0
                : (lead & 0xE0) == 0xC0 ? 1
                : (lead & 0xF0) == 0xE0 ? 2
                : (lead & 0xF8) == 0xF0 ? 3
                                        : -1;
    if (extra < 0 || i + static_cast<size_t>(extra) >= text.size()) return false;
    uint32_t code = lead & (0x7F >> extra);
    for (int k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    constexpr uint32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};
    // Overlong forms, surrogates and code points past Unicode are not UTF-8.
    if (code < kSmallest[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += static_cast<size_t>(extra) + 1;
  }
  return true;
}

}  // namespace cairn::http
