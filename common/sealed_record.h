// Checksummed key-value records, as Cairn stores them in RocksDB.
//
// A sealed value is the body followed by a fixed32 CRC-32C over the key and the body. Covering
// the key means a value that ends up under the wrong key (a bug, or damage to the key) is caught
// as surely as a damaged value.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace cairn {

// Returns `body` with its checksum appended.
std::string SealRecord(std::string_view key, std::string body);
// The body of a sealed value, or Corruption naming `what` (e.g. "log entry 7") if the checksum
// does not match.
Result<std::string_view> UnsealRecord(std::string_view key, std::string_view value, std::string_view what);

}  // namespace cairn
