#include "common/log.h"

#include <cstdio>

#include "common/limits.h"

namespace cairn {
namespace {

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

void AppendValue(std::string& out, std::string_view value) {
  if (!NeedsQuotes(value)) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
    } else {
      out += c;
    }
  }
  out += '"';
}

void StderrSink(std::string_view line) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
}

}  // namespace

Logger::Logger(std::string node, std::function<double()> now_seconds, LogSink sink)
    : node_(std::move(node)), now_seconds_(std::move(now_seconds)), sink_(sink ? std::move(sink) : StderrSink) {}

std::string Logger::Format(double t, LogLevel level, std::string_view node, std::string_view message,
                           std::initializer_list<LogField> fields) {
  char time_text[32];
  std::snprintf(time_text, sizeof time_text, "%.6f", t);
  std::string line = "t=";
  line += time_text;
  line += " level=";
  line += LevelName(level);
  line += " node=";
  AppendValue(line, node);
  line += " msg=";
  AppendValue(line, message);
  for (const LogField& field : fields) {
    line += ' ';
    line += field.key;
    line += '=';
    AppendValue(line, field.value);
  }
  return line;
}

void Logger::Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!Enabled(level)) return;
  sink_(Format(now_seconds_(), level, node_, message, fields));
}

void Logger::WarnRateLimited(std::string_view key, std::string_view message, std::initializer_list<LogField> fields) {
  if (!Enabled(LogLevel::kWarn)) return;
  auto it = repeats_.find(key);
  if (it == repeats_.end()) it = repeats_.emplace(std::string(key), RepeatState{}).first;
  RepeatState& state = it->second;
  const double now = now_seconds_();
  if (now - state.last_printed_seconds < limits::kLogRepeatIntervalMillisMin / 1000.0) {
    ++state.suppressed;
    return;
  }
  std::string line = Format(now, LogLevel::kWarn, node_, message, fields);
  if (state.suppressed > 0) line += " suppressed=" + std::to_string(state.suppressed);
  state.last_printed_seconds = now;
  state.suppressed = 0;
  sink_(line);
}

}  // namespace cairn
