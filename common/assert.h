// CAIRN_ASSERT: an invariant check that is on in every build.
//
// A broken invariant in a replica must crash the process, not corrupt state: the assertion
// prints file:line, the failed expression and an optional message to stderr, then aborts.
#pragma once

#include <string_view>

namespace cairn::internal {

[[noreturn]] void AssertFail(const char* file, int line, const char* expression);
[[noreturn]] void AssertFail(const char* file, int line, const char* expression, std::string_view message);

}  // namespace cairn::internal

// CAIRN_ASSERT(condition) or CAIRN_ASSERT(condition, message); message is only evaluated on
// failure and may be anything convertible to std::string_view (a literal or a std::string).
#define CAIRN_ASSERT(condition, ...)                                                            \
  do {                                                                                          \
    if (!(condition)) [[unlikely]] {                                                            \
      ::cairn::internal::AssertFail(__FILE__, __LINE__, #condition __VA_OPT__(, ) __VA_ARGS__); \
    }                                                                                           \
  } while (0)

// Marks a point the program must never reach.
#define CAIRN_UNREACHABLE(message) ::cairn::internal::AssertFail(__FILE__, __LINE__, "unreachable", message)
