// Bounds on the replicated catalog state, in one place. Each is checked where the thing it
// bounds enters the store; exceeding one is a deterministic rejection (or, for watchers, a
// kResourceExhausted error) that names the limit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cairn::catalog::limits {

// KV keys: UTF-8 without a leading '/'. Consul puts no small bound on keys; this one keeps a
// key well inside one RocksDB block and one HTTP request line.
inline constexpr size_t kKvKeyBytesMax = 2048;
// KV values: Consul's default kv_max_value_size.
inline constexpr size_t kKvValueBytesMax = 512 * 1024;
// Operations in one transaction: Consul's default txn_max_req_len allows 64 ops; 128 here.
inline constexpr size_t kTxnOpsMax = 128;

// Session TTLs (Consul: 10s..24h; 0 means no TTL).
inline constexpr int64_t kSessionTtlMillisMin = 10 * 1000;
inline constexpr int64_t kSessionTtlMillisMax = 24 * 60 * 60 * 1000;
// Session lock-delay (Consul's MaxLockDelay).
inline constexpr int64_t kSessionLockDelayMillisMax = 60 * 1000;
// Checks one session may depend on.
inline constexpr size_t kSessionChecksMax = 64;

// Names and identifiers of nodes, services, checks and sessions.
inline constexpr size_t kNameBytesMax = 512;
// Tags on one service, meta pairs / tagged addresses on one node or service.
inline constexpr size_t kTagsMax = 64;
inline constexpr size_t kMetaPairsMax = 64;
inline constexpr size_t kMetaValueBytesMax = 512;
// Check notes and output (Consul truncates output at 4 KiB by default).
inline constexpr size_t kCheckTextBytesMax = 4 * 1024;

// Blocking-query watchers registered at once, and what one watcher may watch.
inline constexpr size_t kWatchersMax = 16 * 1024;
inline constexpr size_t kWatchTopicsPerWatcherMax = 64;

}  // namespace cairn::catalog::limits
