// The catalog state store: the deterministic state a Raft FSM applies committed commands to.
//
// It holds Consul's data model (nodes, services, checks, KV entries with tombstones, sessions
// and lock-delays) in ordered in-memory maps for fast reads and in RocksDB for durability.
// Every mutating call takes the Raft index of the command that made it (strictly increasing)
// and, where time matters, the leader's wall clock as an argument: the store never reads a
// clock, so every replica that applies the same commands reaches the same state. Each
// command (or each group of commands, see BeginGroup) is written as one RocksDB WriteBatch
// that also records the applied index, so a restart resumes exactly after the last written
// command.
//
// Results: a Status error means the store itself failed (I/O, a command index that does not
// advance) and nothing changed (CommitGroup is the exception, see there). Otherwise the call
// returns an Outcome: rejected commands (failed CAS, unknown session, bad argument) change
// nothing but still consume their index. Every command is all-or-nothing.
//
// Reads return the index a blocking query should report (Consul's rules, see each call) and
// Watch() registers a one-shot callback on what was read.
//
// Not thread-safe: one thread (the server's loop) applies, reads and watches.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "catalog/catalog_limits.h"
#include "catalog/types.h"
#include "catalog/watch.h"
#include "common/status.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace cairn::catalog {

struct Tables;
class Mutation;

struct StoreOptions {
  // Sync each write. Off by default: the Raft log already holds every command durably, and
  // the applied index travels in the same batch, so a lost tail is simply replayed.
  bool sync = false;
  size_t watchers_max = limits::kWatchersMax;
};

// Consul's KV verbs (the HTTP /v1/kv flags and the /v1/txn "Verb" values).
enum class KvVerb : uint8_t {
  kSet,             // write unconditionally
  kCas,             // write if ModifyIndex == index (index 0: only if the key does not exist)
  kLock,            // write and acquire for `session`
  kUnlock,          // write and release if `session` holds the lock
  kDelete,          // delete one key
  kDeleteCas,       // delete if ModifyIndex == index
  kDeleteTree,      // delete every key under the prefix `key`
  kGet,             // txn only: read one key (fails if missing)
  kGetTree,         // txn only: read every key under the prefix
  kCheckIndex,      // txn only: fail unless ModifyIndex == index
  kCheckSession,    // txn only: fail unless `session` holds the lock
  kCheckNotExists,  // txn only: fail if the key exists
};

struct KvOp {
  KvVerb verb = KvVerb::kSet;
  std::string key;
  std::string value;
  uint64_t flags = 0;
  RaftIndex index;  // for kCas, kDeleteCas, kCheckIndex
  std::string session;
};

// Catalog operations inside a transaction (Consul's Node/Service/Check txn ops).
struct NodeTxnOp {
  enum class Verb : uint8_t { kSet, kGet, kDelete } verb = Verb::kSet;
  Node node;  // for kGet / kDelete only the name matters
};
struct ServiceTxnOp {
  enum class Verb : uint8_t { kSet, kGet, kDelete } verb = Verb::kSet;
  Service service;  // for kGet / kDelete only node and id matter
};
struct CheckTxnOp {
  enum class Verb : uint8_t { kSet, kGet, kDelete } verb = Verb::kSet;
  Check check;  // for kGet / kDelete only node and check_id matter
};
using TxnOp = std::variant<KvOp, NodeTxnOp, ServiceTxnOp, CheckTxnOp>;

// One result per op that yields something (Consul's Results array): KV writes and reads yield
// the entry (get-tree yields one per key), catalog set/get yield the record.
using TxnResultItem = std::variant<KvEntry, Node, Service, Check>;
struct TxnError {
  size_t op_index = 0;
  std::string what;
};
struct TxnResult {
  std::vector<TxnResultItem> results;  // empty when errors is not
  std::vector<TxnError> errors;        // empty when the transaction committed
  bool Committed() const { return errors.empty(); }
};

struct ServiceInstance {
  Node node;
  Service service;
};
struct ServiceHealth {
  Node node;
  Service service;
  std::vector<Check> checks;  // node-level checks and the service's own
};

class StateStore {
 public:
  // Opens or creates the store in `directory`, verifies every record's checksum and the
  // cross-references between tables, and rebuilds the in-memory indexes. kCorruption names
  // the first bad record.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& directory, const StoreOptions& options = {});
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // The index of the last applied command (0 for a new store).
  RaftIndex AppliedIndex() const;
  // The highest index that changed `table` (deletes included).
  RaftIndex TableIndex(Table table) const;

  // ---- commands -------------------------------------------------------------------------
  // Consumes `index` without changing state (a Raft no-op or a command for another module).
  Status AdvanceApplied(RaftIndex index);

  // ---- group commit ---------------------------------------------------------------------
  // A RocksDB write per command costs a WAL append per command, a large share of a busy
  // leader's CPU. Between BeginGroup and CommitGroup the commands' records collect in one
  // batch that CommitGroup writes once, with the last applied index. Every command still
  // applies to memory and returns its result at once; reads (all served from memory) and
  // watch callbacks see it at once; only the RocksDB write waits. That is safe because the
  // store is not a command's durable record, the Raft log is (see StoreOptions::sync): a
  // restart resumes after the last written command and the log replays the rest.
  // The store writes an open group's commands by itself before anything that needs RocksDB
  // to hold them (Restore, destruction); the group stays open after that.
  //
  // Precondition: no group is open (groups do not nest).
  void BeginGroup();
  // Writes the group's commands (if any) as one batch and closes the group. On error they
  // stay applied in memory but are not on disk, and the store refuses every later command
  // and Restore with that error: reopen it to resume from disk. Precondition: a group is open.
  Status CommitGroup();
  bool GroupOpen() const { return group_open_; }
  // The applied index RocksDB holds: AppliedIndex() less the commands of an open group.
  RaftIndex WrittenAppliedIndex() const { return written_applied_; }

  // One KV verb (not the txn-only read verbs). `now_millis` is the leader's wall clock,
  // needed by kLock for lock-delay.
  Result<Outcome> ApplyKv(RaftIndex index, int64_t now_millis, const KvOp& op);
  // The leader's periodic clean-up: drops tombstones with ModifyIndex <= up_to (once no
  // blocking query can still need them) and lock-delays that ended before `now_millis`.
  Result<Outcome> ReapTombstones(RaftIndex index, int64_t now_millis, RaftIndex up_to);

  // `session.id` is chosen by the leader before the command is proposed.
  Result<Outcome> SessionCreate(RaftIndex index, Session session);
  // Invalidates the session: its locks are released or deleted per its behavior and each
  // released key gets the session's lock-delay from `now_millis`.
  Result<Outcome> SessionDestroy(RaftIndex index, int64_t now_millis, const std::string& id);

  // Upserts the node, then the service, then the checks. A check that turns critical
  // invalidates the sessions that depend on it.
  Result<Outcome> Register(RaftIndex index, int64_t now_millis, const Registration& registration);
  // Removes the node with its services, checks and sessions.
  Result<Outcome> DeregisterNode(RaftIndex index, int64_t now_millis, const std::string& node);
  // Removes the service and its checks.
  Result<Outcome> DeregisterService(RaftIndex index, int64_t now_millis, const std::string& node,
                                    const std::string& service_id);
  Result<Outcome> DeregisterCheck(RaftIndex index, int64_t now_millis, const std::string& node,
                                  const std::string& check_id);

  // Applies `ops` (at most limits::kTxnOpsMax) all-or-nothing. A failed op is reported in
  // TxnResult::errors with its position and nothing changes.
  Result<TxnResult> Txn(RaftIndex index, int64_t now_millis, const std::vector<TxnOp>& ops);
  // A transaction of reads only (KV get/get-tree/check-*, catalog gets), answered from the
  // current state without a Raft index, as Consul does. A write op is reported as an error.
  // kInvalidArgument past limits::kTxnOpsMax.
  Result<TxnResult> TxnRead(const std::vector<TxnOp>& ops) const;

  // ---- reads ----------------------------------------------------------------------------
  // A present key reports its ModifyIndex; a missing one the KV table index (tombstones
  // included), so a watcher of a deleted key sees the index move.
  Indexed<std::optional<KvEntry>> KvGet(std::string_view key) const;
  // Entries under `prefix` in key order. Index: the highest ModifyIndex under the prefix,
  // tombstones included; the KV table index when there is nothing under it.
  Indexed<std::vector<KvEntry>> KvList(std::string_view prefix) const;
  // Keys under `prefix`, each cut after the first `separator` past the prefix and reported
  // once (Consul's ?keys&separator=). Empty separator: every key. Index as KvList.
  Indexed<std::vector<std::string>> KvKeys(std::string_view prefix, std::string_view separator) const;
  // Until when acquires of `key` are refused (unix millis), 0 if not delayed.
  int64_t KvLockDelayUntil(std::string_view key) const;

  Indexed<std::optional<Session>> SessionInfo(std::string_view id) const;
  Indexed<std::vector<Session>> Sessions() const;
  Indexed<std::vector<Session>> NodeSessions(std::string_view node) const;
  // A renewal is not replicated (the leader resets its TTL timer); it only needs the
  // session to exist. kNotFound otherwise.
  Result<Session> SessionRenew(std::string_view id) const;

  Indexed<std::optional<Node>> GetNode(std::string_view name) const;
  Indexed<std::vector<Node>> Nodes() const;
  // The node's services (empty with the services index when the node is unknown).
  Indexed<std::vector<Service>> NodeServices(std::string_view node) const;
  // Service name -> union of tags across instances (Consul's /v1/catalog/services).
  Indexed<std::map<std::string, std::vector<std::string>>> Services() const;
  // Instances of a service, optionally only those carrying `tag`. Index: the service's own
  // (moved by its instances, their nodes and their checks); the highest of the node, service
  // and check table indexes once it has no instances.
  Indexed<std::vector<ServiceInstance>> ServiceNodes(std::string_view service,
                                                     std::optional<std::string_view> tag = {}) const;
  Indexed<std::vector<Check>> NodeChecks(std::string_view node) const;
  Indexed<std::vector<Check>> ServiceChecks(std::string_view service) const;
  // Checks in `state`, or all checks for nullopt (Consul's "any").
  Indexed<std::vector<Check>> ChecksInState(std::optional<HealthStatus> state) const;
  // Consul's /v1/health/service: instances with their node's and their own checks;
  // `passing_only` drops instances with any non-passing check. Index as ServiceNodes.
  Indexed<std::vector<ServiceHealth>> ServiceHealthOf(std::string_view service, std::optional<std::string_view> tag,
                                                      bool passing_only) const;

  // ---- blocking queries -----------------------------------------------------------------
  // Topics to watch for what each read above looked at.
  static std::vector<WatchTopic> TopicsForKvGet(std::string_view key);
  static std::vector<WatchTopic> TopicsForKvList(std::string_view prefix);
  static std::vector<WatchTopic> TopicsForTables(std::initializer_list<Table> tables);
  // For ServiceNodes and ServiceHealthOf.
  static std::vector<WatchTopic> TopicsForService(std::string_view service);

  // Registers `on_change` to run once, after the first committed command that touches one
  // of `topics`. If a topic already moved past `seen_index` (the index the caller's read
  // returned) nothing is registered and the answer is nullopt: read again. The callback runs
  // on the applying thread once the change is visible to reads (and written to RocksDB,
  // unless the command is in an open group); it must not apply commands.
  // kResourceExhausted at StoreOptions::watchers_max.
  Result<std::optional<WatchId>> Watch(const std::vector<WatchTopic>& topics, RaftIndex seen_index,
                                       WatchCallback on_change);
  bool CancelWatch(WatchId id);
  size_t WatcherCount() const;

  // ---- snapshots ------------------------------------------------------------------------
  // The whole state as one self-checking byte string (magic, version, applied index, table
  // indexes, every record, CRC-32C). Built from memory, so it includes the commands of an
  // open group without writing them: a host that compacts its log behind this image keeps
  // them in the image (at restart a store behind the image is restored from it).
  std::string Snapshot() const;
  // Replaces all state with `snapshot`, durably. Verifies it completely first: on any error
  // nothing changes. Writes an open group's commands first, so that a failed restore write
  // leaves memory and disk agreeing. Every watcher fires.
  Status Restore(std::string_view snapshot);
  // The applied index recorded in `snapshot`, after verifying it completely.
  static Result<RaftIndex> SnapshotAppliedIndex(std::string_view snapshot);

 private:
  StateStore(std::unique_ptr<rocksdb::DB> db, const StoreOptions& options);
  Status Recover();
  // Runs `body` as one command at `index`; commits its changes when it returns an OK
  // outcome, rolls them back otherwise; either way records `index` as applied.
  Result<Outcome> Apply(RaftIndex index, int64_t now_millis, const std::function<Outcome(Mutation&)>& body);
  // Adds the meta record (applied and table indexes, as memory has them) to `batch` and
  // writes it; on success RocksDB holds everything applied so far.
  Status WriteWithMeta(rocksdb::WriteBatch& batch);
  Status WriteToDb(rocksdb::WriteBatch& batch);
  // Writes the open group's pending commands, if any; the group stays open.
  Status FlushGroup();
  RaftIndex TopicIndex(const WatchTopic& topic) const;
  RaftIndex KvPrefixIndex(std::string_view prefix) const;
  RaftIndex ServiceIndex(std::string_view service) const;

  std::unique_ptr<rocksdb::DB> db_;
  StoreOptions options_;
  std::unique_ptr<Tables> tables_;
  WatchHub watches_;
  // The open group's records since its last write; kept between groups to reuse its buffer.
  std::unique_ptr<rocksdb::WriteBatch> group_batch_;
  bool group_open_ = false;
  // Invariant: written_applied_ <= tables_->applied, equal unless a group holds commands.
  RaftIndex written_applied_;
  // Set when a group write failed: memory is ahead of disk, so nothing more may be applied.
  Status broken_;
};

}  // namespace cairn::catalog
