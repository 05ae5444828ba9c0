#include "catalog/rocksdb_status.h"

#include <rocksdb/options.h>

namespace cairn {

Status StatusFromRocks(const rocksdb::Status& status, std::string_view doing) {
  if (status.ok()) return OkStatus();
  const std::string message = std::string(doing) + ": " + status.ToString();
  if (status.IsCorruption()) return Status::Corruption(message);
  return Status::IoError(message);
}

Result<std::unique_ptr<rocksdb::DB>> OpenRocksDb(const std::string& directory, std::string_view what) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status status = rocksdb::DB::Open(options, directory, &raw);
  if (!status.ok()) return StatusFromRocks(status, "opening " + std::string(what) + " in " + directory);
  return std::unique_ptr<rocksdb::DB>(raw);
}

}  // namespace cairn
