#include "catalog/rocksdb_status.h"

#include <rocksdb/options.h>

namespace cairn {
namespace {

// The memtable's size (RocksDB's default is 64 MB). Cairn reads its stores back only when it
// opens them (the catalog lives in memory, the Raft log's recent entries too), so a large
// memtable buys nothing, while every insert searches a skip list that deepens, and misses the
// cache more, as it fills. Under 200 clients writing 1,000 keys, that search was a fifth of a
// server's loop thread at 64 MB; at 4 MB a write cost 15-25% less server CPU
// (docs/BENCHMARKS.md).
constexpr size_t kWriteBufferBytes = 4 << 20;

}  // namespace

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
  options.write_buffer_size = kWriteBufferBytes;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status status = rocksdb::DB::Open(options, directory, &raw);
  if (!status.ok()) return StatusFromRocks(status, "opening " + std::string(what) + " in " + directory);
  return std::unique_ptr<rocksdb::DB>(raw);
}

}  // namespace cairn
