// Structured one-line logging.
//
// Each record is one line of key=value pairs:
//   t=12.345678 level=info node=s1 msg="became leader" term=3 index=17
// `t` is seconds on the Env's monotonic clock (virtual time in the simulator), so logs of a
// simulated run are reproducible too. Values with spaces or quotes are quoted.
//
// Debug records cost nothing when debug is off: CAIRN_LOG_DEBUG does not evaluate its
// arguments unless the logger has debug enabled.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>

namespace cairn {

enum class LogLevel : uint8_t { kDebug = 0, kInfo, kWarn, kError };

struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  LogField(std::string_view k, T v) : key(k), value(std::to_string(v)) {}
  std::string_view key;
  std::string value;
};

// Where finished lines go. The default writes to stderr under a lock.
using LogSink = std::function<void(std::string_view line)>;

class Logger {
 public:
  // `now_seconds` gives the timestamp; `node` names this process or simulated node.
  Logger(std::string node, std::function<double()> now_seconds, LogSink sink = {});

  void SetLevel(LogLevel level) { level_ = level; }
  bool Enabled(LogLevel level) const { return level >= level_; }

  void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
  void Debug(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kDebug, m, f); }
  void Info(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kInfo, m, f); }
  void Warn(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kWarn, m, f); }
  void Error(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kError, m, f); }

  // A warning that is printed at most once per limits::kLogRepeatIntervalMillisMin for the
  // same `key`; the next printed line says how many were suppressed.
  void WarnRateLimited(std::string_view key, std::string_view message, std::initializer_list<LogField> fields = {});

  // Formats one record; exposed for tests.
  static std::string Format(double t, LogLevel level, std::string_view node, std::string_view message,
                            std::initializer_list<LogField> fields);

 private:
  struct RepeatState {
    double last_printed_seconds = -1e18;
    uint64_t suppressed = 0;
  };
  std::string node_;
  std::function<double()> now_seconds_;
  LogSink sink_;
  LogLevel level_ = LogLevel::kInfo;
  std::map<std::string, RepeatState, std::less<>> repeats_;
};

}  // namespace cairn

#define CAIRN_LOG_DEBUG(logger, message, ...)                          \
  do {                                                                 \
    if ((logger).Enabled(::cairn::LogLevel::kDebug)) {                 \
      (logger).Log(::cairn::LogLevel::kDebug, message, {__VA_ARGS__}); \
    }                                                                  \
  } while (0)
