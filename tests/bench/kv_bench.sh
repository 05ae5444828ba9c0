#!/usr/bin/env bash
# The KV benchmark, side by side: 3 `cairn agent -server` processes and a 3-member etcd 3.4
# cluster on 127.0.0.1 (fresh data dirs, fsync on in both), driven over HTTP/1.1 by the same
# load generator (cairn_kv_bench_load) with the same concurrency, keys, value size and duration.
# Phases, each run against Cairn and then etcd: writes (PUT /v1/kv vs POST /v3/kv/put),
# linearizable reads (?consistent vs range) and stale reads (?stale vs serializable range).
# Server CPU is utime+stime of the 3 server processes from /proc/<pid>/stat, read before and
# after each phase. Builds nothing; installs etcd with apt-get if it is missing.
#
#   tests/bench/kv_bench.sh <build-dir> [duration, default 10s]
# Environment: KV_BENCH_CONCURRENCY (200), KV_BENCH_KEYS (1000), KV_BENCH_PHASES (put get-consistent
# get-stale), KV_BENCH_LEADER_ONLY=1 (every client on the leader).
set -euo pipefail

build=${1:?usage: kv_bench.sh <build-dir> [duration]}
duration=${2:-10s}
cairn=$build/agent/cairn
load=$build/tests/bench/cairn_kv_bench_load
for b in "$cairn" "$load"; do [[ -x $b ]] || { echo "missing $b (build it first)" >&2; exit 2; }; done
concurrency=${KV_BENCH_CONCURRENCY:-200}
keys=${KV_BENCH_KEYS:-1000}
phases=${KV_BENCH_PHASES:-put get-consistent get-stale}

if ! command -v etcd >/dev/null; then
  echo "etcd is missing: installing Debian's etcd-server and etcd-client (benchmark only)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client >/dev/null
fi

base=${CAIRN_BENCH_PORT_BASE:-$((21000 + ($$ % 200) * 20))}
work=$(mktemp -d /tmp/cairn-kv-bench.XXXXXX)
clk_tck=$(getconf CLK_TCK)
cairn_pids=()
etcd_pids=()
cleanup() {
  for pid in "${cairn_pids[@]}" "${etcd_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${cairn_pids[@]}" "${etcd_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() {
  echo "FAIL: $*" >&2
  tail -n 15 "$work"/*.log >&2 || true
  exit 1
}

# Ports: Cairn node i uses base+i (HTTP), +3 (gossip), +6 (Raft), +9 (DNS); etcd member i
# base+12+i (client) and base+15+i (peer).
cairn_http() { echo $((base + $1)); }
etcd_client() { echo $((base + 12 + $1)); }

start_cairn() {
  for i in 1 2 3; do
    local joins=()
    for j in 1 2 3; do [[ $j == "$i" ]] || joins+=("-retry-join=127.0.0.1:$((base + 3 + j))"); done
    "$cairn" agent -server -bootstrap-expect=3 -node="cairn$i" -data-dir="$work/cairn$i" -bind=127.0.0.1 \
      -http-port="$(cairn_http $i)" -serf-lan-port=$((base + 3 + i)) -server-port=$((base + 6 + i)) \
      -dns-port=$((base + 9 + i)) -log-level=warn "${joins[@]}" >"$work/cairn$i.log" 2>&1 &
    cairn_pids+=($!)
  done
}

start_etcd() {
  local cluster="etcd1=http://127.0.0.1:$((base + 16)),etcd2=http://127.0.0.1:$((base + 17)),etcd3=http://127.0.0.1:$((base + 18))"
  for i in 1 2 3; do
    local client="http://127.0.0.1:$(etcd_client $i)" peer="http://127.0.0.1:$((base + 15 + i))"
    etcd --name="etcd$i" --data-dir="$work/etcd$i" --listen-client-urls="$client" --advertise-client-urls="$client" \
      --listen-peer-urls="$peer" --initial-advertise-peer-urls="$peer" --initial-cluster="$cluster" \
      --initial-cluster-state=new --initial-cluster-token="kv-bench-$$" --logger=zap --log-level=warn \
      >"$work/etcd$i.log" 2>&1 &
    etcd_pids+=($!)
  done
}

# Ready when every member accepts a write (Cairn: after the leader election and the forward).
wait_ready() {
  local name=$1 check=$2
  for _ in $(seq 1 300); do
    local ok=0
    for i in 1 2 3; do $check "$i" && ok=$((ok + 1)); done
    [[ $ok == 3 ]] && return 0
    sleep 0.1
  done
  fail "$name did not become ready"
}
cairn_ready() { [[ $(curl -s -m 2 -X PUT --data ready "http://127.0.0.1:$(cairn_http "$1")/v1/kv/ready" 2>/dev/null) == true ]]; }
etcd_ready() {
  curl -s -m 2 -f -X POST --data '{"key":"cmVhZHk=","value":"MQ=="}' \
    "http://127.0.0.1:$(etcd_client "$1")/v3/kv/put" 2>/dev/null | grep -q revision
}

cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
sum() { local total=0; for v in "$@"; do total=$((total + v)); done; echo $total; }

# Per-thread CPU of one process, as "tid comm ticks" lines (for the split reported per phase).
thread_ticks() {
  for t in /proc/"$1"/task/*; do
    echo "${t##*/} $(tr ' ' '_' <"$t/comm") $(sed 's/^.*) //' "$t/stat" | awk '{print $12 + $13}')"
  done 2>/dev/null
}
thread_split() {
  awk -v hz="$clk_tck" 'NR == FNR {before[$1] = $3; next}
    {d = $3 - before[$1]; if (d > 0) {n++; line[n] = sprintf("%.2f:%s", d / hz, $2); total += d}}
    END {
      cmd = "sort -t: -k1 -rn"; for (i = 1; i <= n; i++) print line[i] | cmd; close(cmd)
      printf("  (%d threads used CPU, %.2f s in all)\n", n, total / hz)
    }' "$1" "$2" | awk 'NR <= 6 || /threads used/' | paste -sd' '
}

# The member number (1-3) of the current leader, empty if none is known.
leader_index() {
  local system=$1
  if [[ $system == cairn ]]; then
    local leader port
    leader=$(curl -s -m 2 "http://127.0.0.1:$(cairn_http 1)/v1/status/leader" | tr -d '"')
    port=${leader##*:}
    for i in 1 2 3; do
      if [[ $port == $((base + 6 + i)) ]]; then echo "$i"; fi
    done
  else
    for i in 1 2 3; do
      local status member leader
      status=$(curl -s -m 2 -X POST --data '{}' "http://127.0.0.1:$(etcd_client $i)/v3/maintenance/status")
      member=$(grep -o '"member_id":"[0-9]*"' <<<"$status" | head -1 | grep -o '[0-9]*')
      leader=$(grep -o '"leader":"[0-9]*"' <<<"$status" | grep -o '[0-9]*')
      if [[ -n $member && $member == "$leader" ]]; then echo "$i"; fi
    done
  fi
}

leader_pid() {
  local i
  i=$(leader_index "$1") || true
  [[ -n $i ]] || return 0
  if [[ $1 == cairn ]]; then echo "${cairn_pids[$((i - 1))]}"; else echo "${etcd_pids[$((i - 1))]}"; fi
}

# All 3 members, or with KV_BENCH_LEADER_ONLY=1 (and a second argument "phase") only the
# leader: that takes Cairn's follower-to-leader forwarding out of the write path.
targets_of() {
  local system=$1 members=(1 2 3) list=()
  if [[ ${KV_BENCH_LEADER_ONLY:-0} == 1 && ${2:-} == phase ]]; then members=("$(leader_index "$system")"); fi
  for i in "${members[@]}"; do
    if [[ $system == cairn ]]; then list+=("127.0.0.1:$(cairn_http "$i")"); else list+=("127.0.0.1:$(etcd_client "$i")"); fi
  done
  (IFS=,; echo "${list[*]}")
}

mode_of() {
  case "$1:$2" in
    cairn:put) echo cairn-put ;; cairn:get-consistent) echo cairn-get-consistent ;; cairn:get-stale) echo cairn-get-stale ;;
    etcd:put) echo etcd-put ;; etcd:get-consistent) echo etcd-range ;; etcd:get-stale) echo etcd-range-serializable ;;
  esac
}

field() { grep -o "$1=[0-9.]*" <<<"$2" | cut -d= -f2; }

# Runs one phase against one system; appends "system phase ops p50 p90 p99 p999 errors
# cpu_ms_per_kop rss_mb load_cpu_s" to $work/table. Requests still unanswered when the
# generator gives up show only in its RESULT line (unfinished=).
run_phase() {
  local system=$1 phase=$2 pids leader
  if [[ $system == cairn ]]; then pids=("${cairn_pids[@]}"); else pids=("${etcd_pids[@]}"); fi
  leader=$(leader_pid "$system") || true
  local before=() after=() result
  for pid in "${pids[@]}"; do before+=("$(cpu_ticks "$pid")"); done
  thread_ticks "$leader" >"$work/threads.before"
  result=$("$load" --mode="$(mode_of "$system" "$phase")" --target="$(targets_of "$system" phase)" \
    --concurrency="$concurrency" --keys="$keys" --duration="$duration" --warmup=1s 2>"$work/load.err" | tail -1) || true
  for pid in "${pids[@]}"; do after+=("$(cpu_ticks "$pid")"); done
  thread_ticks "$leader" >"$work/threads.after"
  [[ $result == RESULT* ]] || fail "$system $phase: no result ($(head -3 "$work/load.err"))"
  local deltas=() rss=()
  for k in 0 1 2; do deltas+=($((after[k] - before[k]))); rss+=("$(rss_kb "${pids[$k]}")"); done
  local completed cpu_ms_per_kop
  completed=$(field completed "$result")
  cpu_ms_per_kop=$(awk -v t="$(sum "${deltas[@]}")" -v hz="$clk_tck" -v n="$completed" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  echo "-- $system $phase: $result" >&2
  head -3 "$work/load.err" >&2
  echo "   server CPU s per process (leader pid $leader): $(for k in 0 1 2; do
    awk -v t="${deltas[$k]}" -v hz="$clk_tck" -v p="${pids[$k]}" -v l="$leader" \
      'BEGIN {printf "%s%.2f ", (p == l ? "*" : ""), t / hz}'; done)" >&2
  echo "   leader threads (CPU s:name, top 6): $(thread_split "$work/threads.before" "$work/threads.after")" >&2
  echo "$system $phase $(field ops_per_s "$result") $(field p50_ms "$result") $(field p90_ms "$result")" \
    "$(field p99_ms "$result") $(field p999_ms "$result") $(field errors "$result") $cpu_ms_per_kop" \
    "$(($(sum "${rss[@]}") / 1024)) $(field load_cpu_s "$result")" >>"$work/table"
}

print_table() {
  echo
  echo "| phase | system | ops/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | server CPU ms / 1k ops | server RSS MB (3) | load-gen CPU s |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  awk '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11}' "$work/table"
  echo
  echo "| phase | throughput Cairn/etcd | CPU per op Cairn/etcd | p99 Cairn/etcd |"
  echo "| --- | --- | --- | --- |"
  awk '{ops[$1 $2] = $3; p99[$1 $2] = $6; cpu[$1 $2] = $9; if (!seen[$2]++) order[++n] = $2}
    END {for (i = 1; i <= n; i++) {p = order[i]
      if (("cairn" p) in ops && ("etcd" p) in ops)
        printf "| %s | %.2f | %.2f | %.2f |\n", p, ops["cairn" p] / ops["etcd" p], cpu["cairn" p] / cpu["etcd" p], p99["cairn" p] / p99["etcd" p]}}' \
    "$work/table"
}

start_cairn
start_etcd
wait_ready cairn cairn_ready
wait_ready etcd etcd_ready
"$load" --mode=cairn-put --preload --target="$(targets_of cairn)" --keys="$keys" --concurrency=50 >/dev/null ||
  fail "cairn preload"
"$load" --mode=etcd-put --preload --target="$(targets_of etcd)" --keys="$keys" --concurrency=50 >/dev/null ||
  fail "etcd preload"

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), data in $work ($(df --output=source "$work" | tail -1))"
echo "cairn: $cairn (built $(date -u -r "$cairn" '+%F %H:%M UTC')); $(etcd --version | head -1)"
echo "clients: $concurrency keep-alive HTTP/1.1 connections dealt round-robin over $([[ ${KV_BENCH_LEADER_ONLY:-0} == 1 ]] && echo "the leader only" || echo "the 3 members"); $keys keys; 128-byte values; $duration per phase (+1 s warm-up)"
: >"$work/table"
for phase in $phases; do
  for system in cairn etcd; do run_phase "$system" "$phase"; done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Warnings the servers logged during the run (elections, timeouts) explain outliers in the tails.
for f in "$work"/cairn?.log "$work"/etcd?.log; do
  echo "${f##*/}: $(grep -c . "$f" || true) warning lines; last: $(tail -n 1 "$f" | cut -c1-200)"
done
print_table
