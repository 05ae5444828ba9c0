// How catalog state is laid out as records: RocksDB keys, record bodies, the checksum seal,
// and loading records back into Tables. Internal to catalog/; the snapshot format reuses the
// same key/body pairs.
//
// Key layout (the first byte names the table):
//   n/<node>                      Node
//   s/<len(node)><node><id>       Service   (length-prefixed so any byte may appear in names)
//   c/<len(node)><node><check>    Check
//   k/<key>                       KvEntry
//   t/<key>                       tombstone (the deleting index)
//   x/<session id>                Session
//   d/<key>                       lock-delay deadline
//   i/<service name>              per-service index
//   m                             meta: applied index and the table indexes
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "catalog/tables.h"
#include "common/status.h"

namespace cairn::catalog {

extern const std::string kMetaRecordKey;

std::string NodeRecordKey(std::string_view name);
std::string ServiceRecordKey(const NodeScoped& key);
std::string CheckRecordKey(const NodeScoped& key);
std::string KvRecordKey(std::string_view key);
std::string TombstoneRecordKey(std::string_view key);
std::string SessionRecordKey(std::string_view id);
std::string LockDelayRecordKey(std::string_view key);
std::string ServiceIndexRecordKey(std::string_view name);

std::string EncodeNode(const Node& node);
std::string EncodeService(const Service& service);
std::string EncodeCheck(const Check& check);
std::string EncodeKv(const KvEntry& entry);
// Also the body of a per-service index record.
std::string EncodeTombstone(RaftIndex index);
std::string EncodeSession(const Session& session);
std::string EncodeLockDelay(int64_t until_millis);
std::string EncodeMeta(const Tables& tables);

// Appends a CRC-32C over key and body, so a value moved under another key is caught too.
std::string Seal(std::string_view key, std::string body);
Result<std::string_view> Unseal(std::string_view key, std::string_view value);

// Decodes one record body and adds it to `tables` (the meta record sets the indexes).
// kCorruption if the body is malformed or does not belong under `key`.
Status LoadRecord(Tables& tables, std::string_view key, std::string_view body);

// Calls `fn(key, body)` for every record of `tables`, the meta record first.
void ForEachRecord(const Tables& tables, const std::function<void(const std::string&, const std::string&)>& fn);

}  // namespace cairn::catalog
