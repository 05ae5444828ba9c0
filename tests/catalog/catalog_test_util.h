// Shared fixtures for the catalog tests: a real RocksDB store in a fresh temp directory and
// short helpers for the commands the tests apply.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "catalog/state_store.h"

namespace cairn::catalog::testing {

struct TempDir {
  TempDir() {
    path = (std::filesystem::temp_directory_path() /
            ("cairn-catalog-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
               .string();
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
  static inline int counter = 0;
};

inline std::unique_ptr<StateStore> OpenOrDie(const std::string& dir, const StoreOptions& options = {}) {
  auto store = StateStore::Open(dir, options);
  REQUIRE_MESSAGE(store.IsOk(), store.GetStatus().ToString());
  return std::move(store).Value();
}

// A store plus a Raft index counter, so tests read as a sequence of commands.
struct Fixture {
  TempDir dir;
  std::unique_ptr<StateStore> store = OpenOrDie(dir.path);
  uint64_t next = 1;
  int64_t now_millis = 1'000'000;

  RaftIndex Next() { return RaftIndex(next++); }

  Outcome Kv(KvOp op) {
    auto result = store->ApplyKv(Next(), now_millis, op);
    REQUIRE_MESSAGE(result.IsOk(), result.GetStatus().ToString());
    return *result;
  }
  Outcome Set(const std::string& key, const std::string& value, uint64_t flags = 0) {
    return Kv({KvVerb::kSet, key, value, flags, {}, {}});
  }
  Outcome Cas(const std::string& key, const std::string& value, uint64_t cas) {
    return Kv({KvVerb::kCas, key, value, 0, RaftIndex(cas), {}});
  }
  Outcome Delete(const std::string& key) { return Kv({KvVerb::kDelete, key, {}, 0, {}, {}}); }
  Outcome Lock(const std::string& key, const std::string& session, const std::string& value = "held") {
    return Kv({KvVerb::kLock, key, value, 0, {}, session});
  }
  Outcome Unlock(const std::string& key, const std::string& session, const std::string& value = "free") {
    return Kv({KvVerb::kUnlock, key, value, 0, {}, session});
  }

  Outcome Register(const Registration& registration) {
    auto result = store->Register(Next(), now_millis, registration);
    REQUIRE_MESSAGE(result.IsOk(), result.GetStatus().ToString());
    return *result;
  }
  Outcome AddNode(const std::string& name, const std::string& address = "10.0.0.1") {
    Registration r;
    r.node.name = name;
    r.node.address = address;
    return Register(r);
  }
  Outcome AddCheck(const std::string& node, const std::string& check_id, HealthStatus status,
                   const std::string& service_id = "") {
    Registration r;
    r.node = *store->GetNode(node).value;
    Check check;
    check.check_id = check_id;
    check.status = status;
    check.service_id = service_id;
    r.checks.push_back(check);
    return Register(r);
  }
  Outcome CreateSession(const std::string& id, const std::string& node, std::vector<std::string> checks = {},
                        SessionBehavior behavior = SessionBehavior::kRelease, int64_t lock_delay_millis = 15000) {
    Session s;
    s.id = id;
    s.node = node;
    s.checks = std::move(checks);
    s.behavior = behavior;
    s.lock_delay_millis = lock_delay_millis;
    auto result = store->SessionCreate(Next(), s);
    REQUIRE_MESSAGE(result.IsOk(), result.GetStatus().ToString());
    return *result;
  }
  Outcome DestroySession(const std::string& id) {
    auto result = store->SessionDestroy(Next(), now_millis, id);
    REQUIRE_MESSAGE(result.IsOk(), result.GetStatus().ToString());
    return *result;
  }
  std::optional<KvEntry> Get(const std::string& key) { return store->KvGet(key).value; }
};

}  // namespace cairn::catalog::testing
