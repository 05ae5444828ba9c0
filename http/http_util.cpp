#include "http/http_util.h"

#include <charconv>
#include <random>

#include "common/random.h"

namespace cairn::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

Result<uint64_t> ParseUint(std::string_view text, std::string_view what) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument("Invalid " + std::string(what) + ": \"" + std::string(text) + "\"");
  }
  return value;
}

// Jitter needs no reproducibility, only independence between worker threads.
uint64_t RandomBelow(uint64_t bound) {
  thread_local Prng prng(std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32));
  return bound == 0 ? 0 : prng.Below(bound);
}

}  // namespace

void ReplyText(Response& res, int code, std::string_view message) {
  res.status = code;
  res.SetContent(std::string(message), "text/plain; charset=utf-8");
}

void ReplyJson(Response& res, const Json& body, int code) {
  res.status = code;
  // Invalid UTF-8 cannot reach the store (keys and names are checked), but a value we cannot
  // encode must never throw out of a handler.
  res.SetContent(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void ReplyError(Response& res, const Status& status) {
  switch (status.Code()) {
    case StatusCode::kUnavailable: return ReplyText(res, 500, kNoLeaderReply);
    case StatusCode::kNotFound: return ReplyText(res, 404, status.Message());
    case StatusCode::kInvalidArgument: return ReplyText(res, 400, status.Message());
    case StatusCode::kResourceExhausted: return ReplyText(res, 429, "Too many requests: " + status.Message());
    case StatusCode::kTimeout:
    case StatusCode::kAborted: return ReplyText(res, 500, std::string(kOutcomeUnknownReply) + status.Message());
    default: return ReplyText(res, 500, status.Message());
  }
}

void ReplyOutcome(Response& res, const catalog::Outcome& outcome) {
  using catalog::OutcomeCode;
  switch (outcome.code) {
    case OutcomeCode::kOk: return ReplyJson(res, true);
    case OutcomeCode::kInvalidArgument: return ReplyText(res, 400, outcome.message);
    case OutcomeCode::kNotFound: return ReplyText(res, 404, outcome.message);
    case OutcomeCode::kInvalidSession: return ReplyText(res, 500, outcome.message);
    case OutcomeCode::kRejected:
    case OutcomeCode::kLockDelay: return ReplyText(res, 409, outcome.message);
  }
  ReplyText(res, 500, outcome.message);
}

void SetQueryMeta(Response& res, const QueryMeta& meta) {
  res.SetHeader("X-Consul-Index", std::to_string(meta.index == 0 ? 1 : meta.index));
  res.SetHeader("X-Consul-KnownLeader", meta.known_leader ? "true" : "false");
  res.SetHeader("X-Consul-LastContact", std::to_string(meta.last_contact_millis));
}

bool HasFlag(const Request& req, const std::string& name) { return req.HasParam(name); }

std::optional<std::string> Param(const Request& req, const std::string& name) {
  if (!req.HasParam(name)) return std::nullopt;
  return req.ParamValue(name);
}

Result<std::optional<uint64_t>> UintParam(const Request& req, const std::string& name) {
  std::optional<std::string> text = Param(req, name);
  if (!text) return std::optional<uint64_t>();
  CAIRN_ASSIGN_OR_RETURN(uint64_t value, ParseUint(*text, name));
  return std::optional<uint64_t>(value);
}

Result<QueryOptions> ParseQueryOptions(const Request& req, const BlockingLimits& limits) {
  QueryOptions options;
  const bool stale = HasFlag(req, "stale");
  const bool consistent = HasFlag(req, "consistent");
  if (stale && consistent)
    return Status::InvalidArgument("Cannot specify ?stale with ?consistent, conflicting semantics.");
  if (stale) options.consistency = Consistency::kStale;
  if (consistent) options.consistency = Consistency::kConsistent;
  CAIRN_ASSIGN_OR_RETURN(std::optional<uint64_t> index, UintParam(req, "index"));
  options.min_index = index.value_or(0);
  milliseconds wait = limits.default_wait;
  if (std::optional<std::string> text = Param(req, "wait")) {
    Result<nanoseconds> parsed = ParseDuration(*text);
    if (!parsed.IsOk()) return Status::InvalidArgument("Invalid wait time: " + parsed.GetStatus().Message());
    wait = std::chrono::duration_cast<milliseconds>(*parsed);
    if (wait.count() == 0) wait = limits.default_wait;
  }
  wait = std::min(wait, limits.max_wait);
  options.max_wait = wait + milliseconds(RandomBelow(static_cast<uint64_t>(wait.count() / 16)));
  return options;
}

Result<catalog::StringMap> NodeMetaFilter(const Request& req) {
  catalog::StringMap filter;
  for (size_t i = 0; i < req.ParamCount("node-meta"); ++i) {
    const std::string pair = req.ParamValue("node-meta", i);
    const size_t colon = pair.find(':');
    if (colon == std::string::npos || colon == 0) {
      return Status::InvalidArgument("Invalid node-meta \"" + pair + "\": expected key:value");
    }
    filter[pair.substr(0, colon)] = pair.substr(colon + 1);
  }
  return filter;
}

bool MatchesMeta(const catalog::StringMap& meta, const catalog::StringMap& filter) {
  for (const auto& [key, value] : filter) {
    auto it = meta.find(key);
    if (it == meta.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace cairn::http
