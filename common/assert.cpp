#include "common/assert.h"

#include <cstdio>
#include <cstdlib>

namespace cairn::internal {

void AssertFail(const char* file, int line, const char* expression) {
  std::fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expression);
  std::fflush(stderr);
  std::abort();
}

void AssertFail(const char* file, int line, const char* expression, std::string_view message) {
  std::fprintf(stderr, "%s:%d: assertion failed: %s: %.*s\n", file, line, expression, static_cast<int>(message.size()),
               message.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace cairn::internal
