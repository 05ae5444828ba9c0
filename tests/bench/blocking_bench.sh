#!/usr/bin/env bash
# Held blocking queries: ONE `cairn agent -dev` on 127.0.0.1, N Consul-style blocking queries
# (GET /v1/kv/bq/kXXX?index=<its index>&wait=5m) held open against it by
# cairn_blocking_bench_load, then rounds of one KV write each: exactly the written key's
# watchers must wake. Reports the wake-up latency, spurious wakes, the agent's memory per held
# query, its threads and its CPU while the queries are held idle. Builds nothing.
#
#   tests/bench/blocking_bench.sh <build-dir> [queries, default 10000]
# Environment: BLOCKING_BENCH_KEYS (100), BLOCKING_BENCH_ROUNDS (50), BLOCKING_BENCH_IDLE (10s),
# CAIRN_BENCH_PORT_BASE (ports base..base+3), BLOCKING_BENCH_ARGS (extra flags for the tool).
set -euo pipefail

build=${1:?usage: blocking_bench.sh <build-dir> [queries]}
queries=${2:-10000}
cairn=$build/agent/cairn
load=$build/tests/bench/cairn_blocking_bench_load
for b in "$cairn" "$load"; do [[ -x $b ]] || { echo "missing $b (build it first)" >&2; exit 2; }; done
keys=${BLOCKING_BENCH_KEYS:-100}
rounds=${BLOCKING_BENCH_ROUNDS:-50}
idle=${BLOCKING_BENCH_IDLE:-10s}
reproduce="tests/bench/blocking_bench.sh $build $queries"

# Ports 25000-25999, away from kv_bench.sh (21000-24999) and below the ephemeral range.
base=${CAIRN_BENCH_PORT_BASE:-$((25000 + ($$ % 200) * 5))}
work=$(mktemp -d /tmp/cairn-blocking-bench.XXXXXX)
agent_pid=
cleanup() {
  if [[ -n $agent_pid ]]; then
    # SIGTERM first: a -dev agent removes its temporary data dir when it stops.
    kill "$agent_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() {
  echo "FAIL: $*" >&2
  echo "agent log (last 20 lines):" >&2
  tail -n 20 "$work/agent.log" >&2 || true
  echo "to reproduce: $reproduce" >&2
  exit 1
}

# Every held query is a socket on both ends: raise the soft limit as far as the hard one goes.
hard=$(ulimit -Hn)
ulimit -n "$hard" 2>/dev/null || true
soft=$(ulimit -n)
if [[ $soft != unlimited && $soft -lt $((queries + 100)) ]]; then
  echo "warning: descriptor limit $soft (hard $hard) is below $queries queries + 100; expect EMFILE" >&2
fi

"$cairn" agent -dev -node=blocking-bench -bind=127.0.0.1 -client=127.0.0.1 -http-port="$base" \
  -serf-lan-port=$((base + 1)) -server-port=$((base + 2)) -dns-port=$((base + 3)) -log-level=warn \
  >"$work/agent.log" 2>&1 &
agent_pid=$!
ready=0
for _ in $(seq 1 200); do
  kill -0 "$agent_pid" 2>/dev/null || fail "the agent exited during start"
  if [[ $(curl -s -m 2 -X PUT --data ready "http://127.0.0.1:$base/v1/kv/ready" 2>/dev/null) == true ]]; then
    ready=1
    break
  fi
  sleep 0.1
done
[[ $ready == 1 ]] || fail "the agent did not accept a write within 20 s"

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cairn: $cairn (built $(date -u -r "$cairn" '+%F %H:%M UTC')), pid $agent_pid," \
  "open files soft limit $(awk '/^Max open files/ {print $4}' "/proc/$agent_pid/limits")"
echo "queries: $queries held (GET /v1/kv/bq/kXXX?index=...&wait=5m), $keys keys, $rounds rounds, idle $idle"
start=$(date +%s)
set +e
# shellcheck disable=SC2086 # BLOCKING_BENCH_ARGS is a list of flags
"$load" --target="127.0.0.1:$base" --agent-pid="$agent_pid" --queries="$queries" --keys="$keys" \
  --rounds="$rounds" --idle="$idle" ${BLOCKING_BENCH_ARGS:-} >"$work/load.out" 2>"$work/load.err"
status=$?
set -e
echo "load tool: exit $status after $(($(date +%s) - start)) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$work/load.err" >&2
result=$(grep '^RESULT' "$work/load.out" | tail -1 || true)
echo "$result"
[[ -n $result ]] || fail "the load tool printed no RESULT line (exit $status)"
kill -0 "$agent_pid" 2>/dev/null || fail "the agent died during the run"
if grep -qi 'too many open files\|EMFILE' "$work/agent.log"; then
  echo "the agent logged EMFILE:" >&2
  grep -i 'too many open files\|EMFILE' "$work/agent.log" | head -3 >&2
fi
echo "agent log: $(grep -c . "$work/agent.log" || true) lines; last: $(tail -n 1 "$work/agent.log" | cut -c1-200)"

field() { grep -o " $1=[-0-9.]*" <<<" $result" | head -1 | cut -d= -f2; }
kb_to_mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
echo
echo "| held queries | wake p50 ms | p90 | p99 | max | from PUT sent p99 ms | spurious | missed | agent RSS before / held MB | per held query | threads before / held | idle CPU ms/s: agent alone, held, per 1k held |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
echo "| $(field held_after_open) of $queries | $(field wake_p50_ms) | $(field wake_p90_ms) | $(field wake_p99_ms) |" \
  "$(field wake_max_ms) | $(field wake_from_send_p99_ms) | $(field spurious) | $(field missed) |" \
  "$(kb_to_mb "$(field rss_before_kb)") / $(kb_to_mb "$(field rss_held_kb)") |" \
  "$(awk -v b="$(field bytes_per_query)" 'BEGIN {printf "%.1f KB", b / 1024}') |" \
  "$(field threads_before) / $(field threads_held) | $(field idle_base_cpu_ms_per_s), $(field idle_held_cpu_ms_per_s), $(field idle_cpu_ms_per_s_per_1k) |"
if [[ $status != 0 ]]; then
  echo >&2
  fail "the load tool reported a failure (exit $status, see the errors above)"
fi
