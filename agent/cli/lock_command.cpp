// `lock`: Consul's lock on <prefix>/.lock, held by a session while a child command runs: a
// mutex, or with -n > 1 Consul's semaphore (up to n holders, listed in the .lock key). The CLI is a short-lived client
// process outside any event loop, so it blocks on HTTP, sleeps and spawns the child directly rather than through Env.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <thread>

#include "agent/cli/commands.h"
#include "agent/cli/format.h"

extern char** environ;

namespace cairn::cli {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The Flags value Consul's lock writes, so that Consul and Cairn clients recognise each other.
constexpr uint64_t kLockFlagValue = 0x2ddccbc058a50c18ULL;
constexpr uint64_t kSemaphoreFlagValue = 0xe0f69a2baa414de0ULL;  // Consul's, for the same reason
constexpr int kSemaphoreReleaseAttemptsMax = 16;                 // check-and-set races lost before giving up
constexpr char kSessionTtl[] = "15s";
constexpr milliseconds kRenewInterval{7500};  // half the TTL: one lost renewal is survivable
constexpr milliseconds kLockWait{15000};      // longest blocking query on the lock key
constexpr milliseconds kLockRetry{5000};      // after a refused acquire, lock-delay is likely in force
constexpr milliseconds kKillGrace{5000};      // SIGTERM, then SIGKILL if the child is still there
constexpr milliseconds kChildPoll{200};       // how often the wait for the child re-checks it

struct LockPlan {
  uint64_t limit = 1;   // holders at once: 1 is a mutex, more a semaphore
  std::string prefix;   // without a trailing '/'
  std::string key;      // <prefix>/.lock
  std::string command;  // the child's words joined for /bin/sh -c
  std::string session_name;
  std::optional<Clock::time_point> deadline;  // none: wait for the lock forever
  bool pass_stdin = false;
  bool verbose = false;
};

std::string KvPath(const std::string& key) { return "/v1/kv/" + PercentEncode(key, true); }

// A KV write or delete that answers true or false (acquire, check-and-set): whether it took.
Result<bool> KvVerdict(const HttpReply& reply) {
  if (reply.status / 100 != 2) return UnexpectedReply(reply);
  return reply.body.find("true") != std::string::npos;
}

// Deletes `key` if it is still at `modify_index`; whether it was deleted.
Result<bool> DeleteIfUnchanged(Invocation& inv, const std::string& key, uint64_t modify_index) {
  QueryParams cas = inv.BaseParams();
  cas.emplace_back("cas", std::to_string(modify_index));
  CAIRN_ASSIGN_OR_RETURN(HttpReply deleted, inv.client.Delete(WithQuery(KvPath(key), cas)));
  return KvVerdict(deleted);
}

Result<std::string> CreateSession(Invocation& inv, const std::string& name) {
  nlohmann::json body = {{"Name", name}, {"TTL", kSessionTtl}, {"Behavior", "release"}};
  CAIRN_ASSIGN_OR_RETURN(HttpReply reply,
                         inv.client.Put(WithQuery("/v1/session/create", inv.BaseParams()), body.dump()));
  if (reply.status / 100 != 2) return UnexpectedReply(reply);
  nlohmann::json parsed = nlohmann::json::parse(reply.body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("ID") || !parsed["ID"].is_string()) {
    return Status::InvalidArgument("the session create reply has no ID");
  }
  return parsed["ID"].get<std::string>();
}

// Waits until `until` or the deadline, whichever is first; false once the deadline has passed.
bool SleepBounded(const LockPlan& plan, milliseconds wait) {
  Clock::time_point until = Clock::now() + wait;
  if (plan.deadline && *plan.deadline < until) until = *plan.deadline;
  std::this_thread::sleep_until(until);
  return !plan.deadline || Clock::now() < *plan.deadline;
}

struct LockKeyState {
  std::string holder;  // the holding session, "" when the lock is free
  uint64_t index = 0;  // where the next blocking read waits from
};

// A read that blocks from `index` (0: answer at once) until what it reads changes, for at most
// kLockWait and never past the deadline.
QueryParams BlockingParams(Invocation& inv, const LockPlan& plan, uint64_t index) {
  QueryParams params = inv.BaseParams();
  milliseconds wait = kLockWait;
  if (plan.deadline) wait = std::min(wait, std::chrono::duration_cast<milliseconds>(*plan.deadline - Clock::now()));
  if (index > 0) {
    params.emplace_back("index", std::to_string(index));
    params.emplace_back("wait", std::to_string(std::max<int64_t>(wait.count(), 1)) + "ms");
  }
  return params;
}

// One look at the lock key, blocking from `index` until it changes.
Result<LockKeyState> ReadLockKey(Invocation& inv, const LockPlan& plan, uint64_t index) {
  QueryParams params = BlockingParams(inv, plan, index);
  CAIRN_ASSIGN_OR_RETURN(HttpReply reply, inv.client.Get(WithQuery(KvPath(plan.key), params)));
  LockKeyState state{"", std::max<uint64_t>(reply.consul_index, 1)};
  if (reply.status == 404) return state;
  if (reply.status / 100 != 2) return UnexpectedReply(reply);
  CAIRN_ASSIGN_OR_RETURN(std::vector<KvPair> pairs, ParseKvPairs(reply.body));
  if (pairs.empty()) return state;
  if (pairs[0].flags != kLockFlagValue) return Status::FailedPrecondition("Existing key does not match lock use");
  state.holder = pairs[0].session;
  return state;
}

// Returns true once the mutex is held, false when the deadline passed first.
Result<bool> AcquireMutex(Invocation& inv, const LockPlan& plan, const std::string& session) {
  uint64_t index = 0;
  while (!plan.deadline || Clock::now() < *plan.deadline) {
    CAIRN_ASSIGN_OR_RETURN(LockKeyState state, ReadLockKey(inv, plan, index));
    const bool index_moved = state.index != index;
    index = state.index;
    if (state.holder == session) return true;
    if (!state.holder.empty()) {
      // A server that does not block would make this loop spin; pace it instead.
      if (!index_moved && !SleepBounded(plan, milliseconds(1000))) return false;
      continue;
    }
    QueryParams params = inv.BaseParams();
    params.emplace_back("acquire", session);
    params.emplace_back("flags", std::to_string(kLockFlagValue));
    CAIRN_ASSIGN_OR_RETURN(HttpReply reply, inv.client.Put(WithQuery(KvPath(plan.key), params), ""));
    CAIRN_ASSIGN_OR_RETURN(bool acquired, KvVerdict(reply));
    if (acquired) return true;
    if (!SleepBounded(plan, kLockRetry)) return false;
  }
  return false;
}

// Consul's semaphore (-n > 1). Each contender holds <prefix>/<session> with its session, and
// <prefix>/.lock lists who holds the semaphore: {"Limit": n, "Holders": {"<session>": true}},
// changed only by check-and-set. A holder whose contender key has lost its session (it died)
// no longer counts, and the next writer drops it from the list.
struct SemaphoreState {
  std::set<std::string> holders;   // live holders only
  uint64_t lock_modify_index = 0;  // 0: there is no .lock key yet
  uint64_t index = 1;              // where the next blocking read waits from
};

std::string ContenderKey(const LockPlan& plan, const std::string& session) {
  return plan.prefix.empty() ? session : plan.prefix + "/" + session;
}

// Reads the holders from `kv` (the .lock key's value) and checks that they were written for
// the same limit.
Result<std::set<std::string>> ParseHolders(const LockPlan& plan, const KvPair& kv) {
  if (kv.flags != kSemaphoreFlagValue) return Status::FailedPrecondition("Existing key does not match semaphore use");
  const nlohmann::json doc = nlohmann::json::parse(kv.value, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("Limit") || !doc["Limit"].is_number_unsigned() ||
      (doc.contains("Holders") && !doc["Holders"].is_object() && !doc["Holders"].is_null())) {
    return Status::FailedPrecondition("Existing key does not match semaphore use");
  }
  const uint64_t limit = doc["Limit"].get<uint64_t>();
  if (limit != plan.limit) {
    return Status::FailedPrecondition("Semaphore limit conflict (lock: " + std::to_string(limit) +
                                      ", local: " + std::to_string(plan.limit) + ")");
  }
  std::set<std::string> holders;
  if (doc.contains("Holders") && doc["Holders"].is_object()) {
    for (const auto& [session, held] : doc["Holders"].items()) {
      if (held == true) holders.insert(session);
    }
  }
  return holders;
}

Result<SemaphoreState> ReadSemaphore(Invocation& inv, const LockPlan& plan, uint64_t index) {
  QueryParams params = BlockingParams(inv, plan, index);
  params.emplace_back("recurse", "");
  const std::string prefix = plan.prefix.empty() ? "" : plan.prefix + "/";
  CAIRN_ASSIGN_OR_RETURN(HttpReply reply, inv.client.Get(WithQuery(KvPath(prefix), params)));
  SemaphoreState state;
  state.index = std::max<uint64_t>(reply.consul_index, 1);
  if (reply.status == 404) return state;
  if (reply.status / 100 != 2) return UnexpectedReply(reply);
  CAIRN_ASSIGN_OR_RETURN(std::vector<KvPair> pairs, ParseKvPairs(reply.body));
  std::set<std::string> live;
  const KvPair* lock = nullptr;
  for (const KvPair& kv : pairs) {
    if (kv.key == plan.key) {
      lock = &kv;
    } else if (kv.flags == kSemaphoreFlagValue && !kv.session.empty()) {
      live.insert(kv.session);
    }
  }
  if (lock == nullptr) return state;
  CAIRN_ASSIGN_OR_RETURN(std::set<std::string> listed, ParseHolders(plan, *lock));
  for (const std::string& session : listed) {
    if (live.count(session)) state.holders.insert(session);
  }
  state.lock_modify_index = lock->modify_index;
  return state;
}

// Writes the holder list if the .lock key is still at `cas_index` (0: still absent).
Result<bool> WriteHolders(Invocation& inv, const LockPlan& plan, const std::set<std::string>& holders,
                          uint64_t cas_index) {
  nlohmann::json listed = nlohmann::json::object();
  for (const std::string& session : holders) listed[session] = true;
  const nlohmann::json doc = {{"Limit", plan.limit}, {"Holders", listed}};
  QueryParams params = inv.BaseParams();
  params.emplace_back("cas", std::to_string(cas_index));
  params.emplace_back("flags", std::to_string(kSemaphoreFlagValue));
  CAIRN_ASSIGN_OR_RETURN(HttpReply reply, inv.client.Put(WithQuery(KvPath(plan.key), params), doc.dump()));
  return KvVerdict(reply);
}

// Returns true once this session is one of the holders, false when the deadline passed first.
Result<bool> WaitForSemaphore(Invocation& inv, const LockPlan& plan, const std::string& session) {
  uint64_t index = 0;
  while (!plan.deadline || Clock::now() < *plan.deadline) {
    CAIRN_ASSIGN_OR_RETURN(SemaphoreState state, ReadSemaphore(inv, plan, index));
    const bool index_moved = state.index != index;
    index = state.index;
    if (state.holders.count(session)) return true;
    if (state.holders.size() >= plan.limit) {
      if (!index_moved && !SleepBounded(plan, milliseconds(1000))) return false;
      continue;
    }
    state.holders.insert(session);
    CAIRN_ASSIGN_OR_RETURN(bool written, WriteHolders(inv, plan, state.holders, state.lock_modify_index));
    if (written) return true;
    index = 0;  // another contender wrote first: look again at once
  }
  return false;
}

// Makes this session a contender, then waits for a free place; a contender that gives up
// removes its key again.
Result<bool> AcquireSemaphore(Invocation& inv, const LockPlan& plan, const std::string& session) {
  const std::string contender_path = KvPath(ContenderKey(plan, session));
  QueryParams params = inv.BaseParams();
  params.emplace_back("acquire", session);
  params.emplace_back("flags", std::to_string(kSemaphoreFlagValue));
  CAIRN_ASSIGN_OR_RETURN(HttpReply contender, inv.client.Put(WithQuery(contender_path, params), ""));
  CAIRN_ASSIGN_OR_RETURN(bool contending, KvVerdict(contender));
  if (!contending) return Status::FailedPrecondition("failed to make contender entry");
  Result<bool> held = WaitForSemaphore(inv, plan, session);
  if (!held.IsOk() || !*held) (void)inv.client.Delete(WithQuery(contender_path, inv.BaseParams()));
  return held;
}

Result<bool> AcquireLock(Invocation& inv, const LockPlan& plan, const std::string& session) {
  return plan.limit > 1 ? AcquireSemaphore(inv, plan, session) : AcquireMutex(inv, plan, session);
}

// Renews the session every kRenewInterval on its own connection. If the agent says the session
// is gone, the lock is lost: the child's process group gets SIGTERM, then SIGKILL after a grace
// period, because a child that runs on without the lock breaks the mutual exclusion.
class SessionRenewer {
 public:
  SessionRenewer(ApiClient client, std::string session, pid_t child_group)
      : client_(std::move(client)),
        session_(std::move(session)),
        child_group_(child_group),
        thread_([this] { Run(); }) {}
  ~SessionRenewer() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  bool Lost() const { return lost_.load(); }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, kRenewInterval, [this] { return stop_; })) {
      lock.unlock();
      Result<HttpReply> reply = client_.Put("/v1/session/renew/" + PercentEncode(session_, false), "");
      lock.lock();
      if (reply.IsOk() && reply->status == 404) {
        lost_ = true;
        kill(-child_group_, SIGTERM);
        if (!wake_.wait_for(lock, kKillGrace, [this] { return stop_; })) kill(-child_group_, SIGKILL);
        return;
      }
    }
  }

  ApiClient client_;
  const std::string session_;
  const pid_t child_group_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mutex_; set once the child has exited
  std::atomic<bool> lost_{false};
  std::thread thread_;  // last: starts after every member it reads is constructed
};

// The child's environment: ours plus CONSUL_LOCK_HELD=true, as Consul's lock sets it.
std::vector<std::string> ChildEnvironment() {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, "CONSUL_LOCK_HELD=", 17) != 0) env.emplace_back(*entry);
  }
  env.emplace_back("CONSUL_LOCK_HELD=true");
  return env;
}

// The signals `cairn lock` passes on to its child instead of dying of them, so that it can
// still release the lock when the child is interrupted.
sigset_t ForwardedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&set, sig);
  return set;
}

// Starts /bin/sh -c <command> as the leader of a new process group (so the whole tree can be
// stopped), with default signal handling, and without our descriptors beyond 0-2: an inherited
// agent connection would outlive us in a long-running child.
Result<pid_t> SpawnChild(const LockPlan& plan) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // Without -pass-stdin the child must not steal input meant for whoever runs `cairn lock`.
  if (!plan.pass_stdin) posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, forwarded = ForwardedSignals();
  sigemptyset(&empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &forwarded);
  std::string shell = "/bin/sh", flag = "-c", command = plan.command;
  std::vector<char*> argv = {shell.data(), flag.data(), command.data(), nullptr};
  std::vector<std::string> env = ChildEnvironment();
  std::vector<char*> envp;
  for (std::string& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, shell.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Status::IoError(std::string("failed to start /bin/sh: ") + std::strerror(rc));
  return pid;
}

// Waits for the child with the forwarded signals blocked (the caller blocked them), passing
// SIGINT/SIGTERM/SIGHUP on to the child's group. Returns the child's exit code, or 128 + the
// signal that ended it (the shell's convention).
int WaitChild(pid_t pid) {
  const sigset_t forwarded = ForwardedSignals();
  const timespec poll = {0, std::chrono::duration_cast<std::chrono::nanoseconds>(kChildPoll).count()};
  int status = 0;
  while (true) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return 1;
    int sig = sigtimedwait(&forwarded, nullptr, &poll);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) kill(-pid, sig);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Takes this session off the holder list (deleting the .lock key when it was the last holder),
// then removes its contender key. Every change is a check-and-set, retried when another
// contender wrote in between.
Status ReleaseSemaphore(Invocation& inv, const LockPlan& plan, const std::string& session) {
  bool released = false;
  for (int attempt = 0; attempt < kSemaphoreReleaseAttemptsMax && !released; ++attempt) {
    CAIRN_ASSIGN_OR_RETURN(SemaphoreState state, ReadSemaphore(inv, plan, 0));
    if (state.lock_modify_index == 0) break;
    state.holders.erase(session);
    if (state.holders.empty()) {
      CAIRN_ASSIGN_OR_RETURN(released, DeleteIfUnchanged(inv, plan.key, state.lock_modify_index));
    } else {
      CAIRN_ASSIGN_OR_RETURN(released, WriteHolders(inv, plan, state.holders, state.lock_modify_index));
    }
  }
  CAIRN_ASSIGN_OR_RETURN(HttpReply removed,
                         inv.client.Delete(WithQuery(KvPath(ContenderKey(plan, session)), inv.BaseParams())));
  if (removed.status / 100 != 2) return UnexpectedReply(removed);
  return OkStatus();
}

// Releases the mutex, deletes the key if nobody else took it meanwhile (a check-and-set on the
// index we saw).
Status ReleaseMutex(Invocation& inv, const LockPlan& plan, const std::string& session) {
  QueryParams params = inv.BaseParams();
  params.emplace_back("release", session);
  // Every KV write sets Flags (0 when absent): without this the key would stop looking like a lock.
  params.emplace_back("flags", std::to_string(kLockFlagValue));
  CAIRN_ASSIGN_OR_RETURN(HttpReply released, inv.client.Put(WithQuery(KvPath(plan.key), params), ""));
  if (released.status / 100 != 2) return UnexpectedReply(released);
  CAIRN_ASSIGN_OR_RETURN(HttpReply current, inv.client.Get(WithQuery(KvPath(plan.key), inv.BaseParams())));
  if (current.status / 100 == 2) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<KvPair> pairs, ParseKvPairs(current.body));
    if (!pairs.empty() && pairs[0].session.empty() && pairs[0].flags == kLockFlagValue) {
      // Someone else taking the key first is fine: it is theirs then.
      CAIRN_ASSIGN_OR_RETURN(bool deleted, DeleteIfUnchanged(inv, plan.key, pairs[0].modify_index));
      (void)deleted;
    }
  }
  return OkStatus();
}

Status ReleaseLock(Invocation& inv, const LockPlan& plan, const std::string& session) {
  return plan.limit > 1 ? ReleaseSemaphore(inv, plan, session) : ReleaseMutex(inv, plan, session);
}

Status DestroySession(Invocation& inv, const std::string& session) {
  std::string path = WithQuery("/v1/session/destroy/" + PercentEncode(session, false), inv.BaseParams());
  CAIRN_ASSIGN_OR_RETURN(HttpReply reply, inv.client.Put(path, ""));
  if (reply.status / 100 != 2) return UnexpectedReply(reply);
  return OkStatus();
}

// Runs the child while holding the lock; returns its exit code, or 1 if the lock was lost.
int RunHolding(Invocation& inv, const LockPlan& plan, const std::string& session) {
  if (plan.verbose) inv.err << "Lock acquired, starting handler: " << plan.command << "\n";
  // The renewal needs its own connection: an ApiClient is not shared between threads.
  Result<ApiClient> renew_client = ApiClient::Create(inv.client.Address());
  if (!renew_client.IsOk()) return inv.Fail(renew_client.GetStatus().Message());
  inv.out.flush();
  // Blocked before the renewal thread starts, so that it inherits the mask and the signals
  // reach WaitChild on this thread.
  const sigset_t forwarded = ForwardedSignals();
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &forwarded, &previous);
  Result<pid_t> child = SpawnChild(plan);
  int code = 1;
  bool lost = false;
  if (child.IsOk()) {
    SessionRenewer renewer(std::move(renew_client).Value(), session, *child);
    code = WaitChild(*child);
    lost = renewer.Lost();
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (!child.IsOk()) return inv.Fail("Error starting handler: " + child.GetStatus().Message());
  if (lost) return inv.Fail("Lock lost, killed child");
  return code;
}

Result<LockPlan> PlanLock(const Invocation& inv) {
  const auto& positional = inv.args.positional;
  if (positional.size() < 2) return Status::InvalidArgument("Key prefix and child command must be specified");
  LockPlan plan;
  CAIRN_ASSIGN_OR_RETURN(plan.limit, ParseUnsigned("n", inv.args.String("n", "1")));
  if (plan.limit == 0) return Status::InvalidArgument("Number of lock holders must be at least 1");
  std::string prefix = positional[0];
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  plan.prefix = prefix;
  plan.key = prefix.empty() ? ".lock" : prefix + "/.lock";
  for (size_t i = 1; i < positional.size(); ++i) plan.command += (i > 1 ? " " : "") + positional[i];
  plan.session_name = inv.args.String("name", "Cairn lock for " + plan.command + " at " + prefix);
  CAIRN_ASSIGN_OR_RETURN(uint64_t timeout_ms, ParseDurationMillis("timeout", inv.args.String("timeout", "0")));
  if (timeout_ms > 0) plan.deadline = Clock::now() + milliseconds(timeout_ms);
  plan.pass_stdin = inv.args.Bool("pass-stdin");
  plan.verbose = inv.args.Bool("verbose");
  return plan;
}

int Lock(Invocation& inv) {
  Result<LockPlan> plan = PlanLock(inv);
  if (!plan.IsOk()) return inv.Fail(plan.GetStatus().Message());
  if (plan->verbose) inv.err << "Setting up lock at path: " << plan->key << "\n";
  Result<std::string> session = CreateSession(inv, plan->session_name);
  if (!session.IsOk()) return inv.Fail("Lock acquisition failed: " + session.GetStatus().Message());
  Result<bool> acquired = AcquireLock(inv, *plan, *session);
  int code = 1;
  if (!acquired.IsOk()) {
    inv.err << "Lock acquisition failed: " << acquired.GetStatus().Message() << "\n";
  } else if (!*acquired) {
    inv.err << "Shutdown triggered or timeout during lock acquisition\n";
  } else {
    code = RunHolding(inv, *plan, *session);
    Status released = ReleaseLock(inv, *plan, *session);
    if (!released.IsOk()) code = inv.Fail("Lock release failed: " + released.Message());
  }
  Status destroyed = DestroySession(inv, *session);
  if (!destroyed.IsOk()) code = inv.Fail("Session destroy failed: " + destroyed.Message());
  return code;
}

}  // namespace

std::vector<Command> LockCommands() {
  return {
      {{"lock"},
       "PREFIX CHILD...",
       "Execute a command holding a lock",
       "Creates a session, acquires the lock at PREFIX/.lock (waiting while another holder has it), runs CHILD "
       "through /bin/sh with CONSUL_LOCK_HELD=true while renewing the session, then releases the lock, destroys "
       "the session and exits with CHILD's exit code. If the session is lost the child is terminated. With -n "
       "greater than 1 the lock is Consul's semaphore: up to n holders at once, each with a contender key "
       "PREFIX/<session>, listed in PREFIX/.lock.",
       HttpFlags::kWrite,
       {{"n", FlagKind::kString, "count",
         "How many holders may hold the lock at once: 1 (the default) is a mutex, more a semaphore."},
        {"name", FlagKind::kString, "name", "The session's name; one is made from the command and prefix by default."},
        {"pass-stdin", FlagKind::kBool, "", "Give the child this process's standard input."},
        {"timeout", FlagKind::kString, "duration",
         "Give up if the lock is not acquired within this time (\"30s\", \"5m\"); 0, the default, waits forever."},
        {"verbose", FlagKind::kBool, "", "Report progress on standard error."}},
       Lock},
  };
}

}  // namespace cairn::cli
