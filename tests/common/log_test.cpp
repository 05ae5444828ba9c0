#include "common/log.h"

#include <doctest/doctest.h>

#include <vector>

namespace cairn {
namespace {

struct Capture {
  double now = 0;
  std::vector<std::string> lines;
  Logger MakeLogger() {
    return Logger(
        "s1", [this] { return now; }, [this](std::string_view l) { lines.emplace_back(l); });
  }
};

TEST_SUITE("common.log") {
  TEST_CASE("records are one line of key=value pairs with quoting") {
    std::string line = Logger::Format(1.5, LogLevel::kInfo, "s1", "became leader", {{"term", 3}, {"peer", "a b"}});
    CHECK(line == "t=1.500000 level=info node=s1 msg=\"became leader\" term=3 peer=\"a b\"");
    CHECK(Logger::Format(0, LogLevel::kWarn, "n", "x\ny\"", {}) == "t=0.000000 level=warn node=n msg=\"x\\ny\\\"\"");
  }

  TEST_CASE("levels filter and debug arguments are not evaluated when off") {
    Capture c;
    Logger log = c.MakeLogger();
    int evaluated = 0;
    auto expensive = [&] {
      ++evaluated;
      return std::string("v");
    };
    CAIRN_LOG_DEBUG(log, "hidden", {"k", expensive()});
    CHECK(evaluated == 0);
    CHECK(c.lines.empty());
    log.SetLevel(LogLevel::kDebug);
    CAIRN_LOG_DEBUG(log, "shown", {"k", expensive()});
    CHECK(evaluated == 1);
    REQUIRE(c.lines.size() == 1);
    log.SetLevel(LogLevel::kError);
    log.Warn("dropped");
    CHECK(c.lines.size() == 1);
  }

  TEST_CASE("repeated warnings are rate limited and count what they suppressed") {
    Capture c;
    Logger log = c.MakeLogger();
    log.WarnRateLimited("peer-down", "peer unreachable");
    c.now = 0.2;
    log.WarnRateLimited("peer-down", "peer unreachable");
    log.WarnRateLimited("peer-down", "peer unreachable");
    log.WarnRateLimited("disk", "disk slow");  // a different key is not suppressed
    c.now = 1.3;
    log.WarnRateLimited("peer-down", "peer unreachable");
    REQUIRE(c.lines.size() == 3);
    CHECK(c.lines[0].find("suppressed") == std::string::npos);
    CHECK(c.lines[1].find("disk slow") != std::string::npos);
    CHECK(c.lines[2].find("suppressed=2") != std::string::npos);
  }
}

}  // namespace
}  // namespace cairn
