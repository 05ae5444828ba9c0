// Shared pieces of the HTTP API: error replies (the one place backend errors become status
// codes), Consul's query parameters and blocking-query options, response headers, Go-style
// durations, base64 and UTF-8 checks.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "catalog/types.h"
#include "common/base64.h"
#include "common/status.h"
#include "http/backend.h"
#include "http/message.h"

namespace cairn::http {

using Json = nlohmann::json;

// ---- replies ------------------------------------------------------------------------------
void ReplyText(Response& res, int code, std::string_view message);
void ReplyJson(Response& res, const Json& body, int code = 200);
// The error texts clients act on: after "No cluster leader" nothing was applied and a retry is
// safe (Consul's clients match on it); after the outcome-unknown prefix the write may have been
// applied, so a blind retry could apply it twice.
inline constexpr std::string_view kNoLeaderReply = "No cluster leader";
inline constexpr std::string_view kOutcomeUnknownReply =
    "The request may or may not have been applied (outcome unknown): ";

// Maps a backend Status to Consul's status code and error text: kUnavailable (nothing applied)
// to 500 kNoLeaderReply, kTimeout and kAborted to 500 with kOutcomeUnknownReply.
void ReplyError(Response& res, const Status& status);
// Maps a rejected command outcome (anything but kOk) to a status code and text.
void ReplyOutcome(Response& res, const catalog::Outcome& outcome);
// X-Consul-Index (never 0, as Consul, so a client's next blocking query always blocks),
// X-Consul-KnownLeader and X-Consul-LastContact.
void SetQueryMeta(Response& res, const QueryMeta& meta);

// ---- query parameters ---------------------------------------------------------------------
// Present (with or without a value), as Consul's boolean flags (?recurse, ?raw, ?stale).
bool HasFlag(const Request& req, const std::string& name);
std::optional<std::string> Param(const Request& req, const std::string& name);
// An unsigned decimal parameter; kInvalidArgument names the parameter when it is malformed.
Result<std::optional<uint64_t>> UintParam(const Request& req, const std::string& name);

struct BlockingLimits {
  std::chrono::milliseconds default_wait{5 * 60 * 1000};
  std::chrono::milliseconds max_wait{10 * 60 * 1000};
};
// ?index, ?wait (clamped to max, default when absent, plus up to wait/16 of jitter as Consul
// adds so that many watchers do not return at once), ?consistent / ?stale.
Result<QueryOptions> ParseQueryOptions(const Request& req, const BlockingLimits& limits);

// ?node-meta=key:value (repeatable): every pair must match.
Result<catalog::StringMap> NodeMetaFilter(const Request& req);
bool MatchesMeta(const catalog::StringMap& meta, const catalog::StringMap& filter);

// ---- durations ----------------------------------------------------------------------------
// Go's time.ParseDuration: "15s", "0.001s", "7.5s", "1m30s", "10ms", "2h", "0". Negative
// durations are rejected (nothing in the API takes one).
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);
// Go's time.Duration.String: "15s", "1m30s", "24h0m0s", "10ms", "0s".
std::string FormatDuration(std::chrono::nanoseconds duration);

// ---- encodings ----------------------------------------------------------------------------
using ::cairn::Base64Decode;
using ::cairn::Base64Encode;
bool IsValidUtf8(std::string_view text);

}  // namespace cairn::http
