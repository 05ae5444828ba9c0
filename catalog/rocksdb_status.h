// The RocksDB edge shared by every store in Cairn (the catalog here, the Raft log in server/):
// opening a database the way Cairn always does, and turning RocksDB's status into ours.
// RocksDB types stop at the stores that include this header.
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cairn {

// OK, or Corruption / IoError with "<doing>: <rocksdb's message>".
Status StatusFromRocks(const rocksdb::Status& status, std::string_view doing);

// Opens (creating if missing) a database with paranoid checks on, so RocksDB refuses damaged
// files instead of serving what it can. `what` names the store in errors.
Result<std::unique_ptr<rocksdb::DB>> OpenRocksDb(const std::string& directory, std::string_view what);

}  // namespace cairn
