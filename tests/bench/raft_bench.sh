#!/usr/bin/env bash
# The Raft benchmark: 3 cairn_raft_bench_server processes on 127.0.0.1 (fsync on, fresh data
# dirs), then (a) 256 concurrent proposers x 128 B and (b) one proposer. Builds nothing.
#
#   tests/bench/raft_bench.sh <build-dir> [duration, default 10s]
# CAIRN_BENCH_SERVER_FLAGS adds flags to every server (e.g. --tick-ms=5).
set -euo pipefail

build=${1:?usage: raft_bench.sh <build-dir> [duration]}
duration=${2:-10s}
server=$build/tests/bench/cairn_raft_bench_server
load=$build/tests/bench/cairn_raft_bench_load
for b in "$server" "$load"; do [[ -x $b ]] || { echo "missing $b (build it first)" >&2; exit 2; }; done

base=${CAIRN_BENCH_PORT_BASE:-$((20000 + ($$ % 200) * 10))}
peers="1@127.0.0.1:$((base + 1)),2@127.0.0.1:$((base + 2)),3@127.0.0.1:$((base + 3))"
clients="1@127.0.0.1:$((base + 4)),2@127.0.0.1:$((base + 5)),3@127.0.0.1:$((base + 6))"
targets="127.0.0.1:$((base + 4)),127.0.0.1:$((base + 5)),127.0.0.1:$((base + 6))"
work=$(mktemp -d /tmp/cairn-raft-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

for id in 1 2 3; do
  "$server" --id=$id --peers="$peers" --clients="$clients" --data-dir="$work/s$id" ${CAIRN_BENCH_SERVER_FLAGS:-} \
    >"$work/s$id.log" 2>&1 &
  pids+=($!)
done

leader=""
for _ in $(seq 1 100); do
  if status=$("$load" --target="$targets" --status 2>/dev/null); then
    leader=$(grep -o 'role=leader' <<<"$status" | head -1 || true)
    [[ -n $leader ]] && break
  fi
  sleep 0.1
done
if [[ -z $leader ]]; then
  echo "no leader elected" >&2
  tail -n 20 "$work"/s*.log >&2
  exit 1
fi

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), data in $work ($(df --output=source "$work" | tail -1))"
echo "== (a) 256 concurrent proposers x 128 B, $duration =="
"$load" --target="$targets" --concurrency=256 --payload=128 --duration="$duration" --warmup=2s
echo "== (b) 1 proposer x 128 B, $duration =="
"$load" --target="$targets" --concurrency=1 --connections=1 --payload=128 --duration="$duration" --warmup=1s
echo "== servers =="
"$load" --target="$targets" --status
