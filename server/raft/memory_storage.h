// MemoryStorage: a Storage kept in memory, for tests, the simulator and as the reference a
// durable log store must behave like. It is not thread-safe.
#pragma once

#include <vector>

#include "server/raft/storage.h"

namespace cairn::raft {

class MemoryStorage final : public WritableStorage {
 public:
  MemoryStorage();

  Result<InitialState> GetInitialState() const override;
  Result<std::vector<Entry>> Entries(Index lo, Index hi, uint64_t bytes_max) const override;
  Result<Term> TermAt(Index i) const override;
  Index FirstIndex() const override;
  Index LastIndex() const override;
  Result<Snapshot> GetSnapshot() const override;

  // --- writes, made by the host while handling a Ready (all immediately "durable") ---
  Status SetHardState(const HardState& hs) override {
    hard_state_ = hs;
    return OkStatus();
  }
  // Fails if the entries would leave a gap after LastIndex().
  Status Append(const std::vector<Entry>& entries) override;
  Status ApplySnapshot(const Snapshot& snapshot) override;
  Status Sync() override { return OkStatus(); }
  Status CreateSnapshot(Index index, const Configuration& config, std::string data) override;
  Status Compact(Index index) override;

  const HardState& GetHardState() const { return hard_state_; }

 private:
  HardState hard_state_;
  Snapshot snapshot_;
  // entries_[0] is a dummy holding the snapshot's index and term.
  std::vector<Entry> entries_;
};

}  // namespace cairn::raft
