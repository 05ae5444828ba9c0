#!/usr/bin/env bash
# Gossip membership, side by side: Cairn client agents (`cairn agent`, no -server) and
# HashiCorp Serf (Debian's serf 0.9.4, default LAN profile), N agents each as real processes on
# their own loopback addresses (Cairn 127.0.2.10+i, Serf 127.0.1.10+i), one system at a time,
# for every N in the size list. Per system and size: time for all agents to see all after the
# joins, time for all to see a SIGKILLed member failed, idle CPU and RSS per agent, UDP
# datagrams and bytes each agent sends per second (iptables counters), gossip TCP bytes, and
# false positives (any live member seen non-alive). gossip_bench.py does the work and documents
# every definition; this wrapper checks the tools, installs serf/iptables with apt-get if they
# are missing, and cleans up (agents, iptables chain) however the run ends. Builds nothing.
#
#   tests/bench/gossip_bench.sh <build-dir> [sizes, default 5,20,50] [gossip_bench.py options]
#   tests/bench/gossip_bench.sh <build-dir> --idle-minutes 10      (50 agents unless sizes are given)
#
# Options worth knowing (see gossip_bench.py --help): --rounds R (ranges over R runs),
# --idle S (idle window, 30 s), --idle-minutes M (the long false-positive run; sizes default to
# 50 then), --results DIR (results.csv, results.md, agent logs; a new /tmp dir by default),
# --systems cairn|serf|cairn,serf, --strict (exit 3 when a target of the issue is missed).
# Needs root for iptables (without it, UDP packets come from /proc/net/snmp, system-wide).
set -euo pipefail

build=${1:?usage: gossip_bench.sh <build-dir> [sizes, default 5,20,50] [gossip_bench.py options]}
shift
sizes=
if [[ $# -gt 0 && $1 != -* ]]; then
  sizes=$1
  shift
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=/usr/bin/python3
cairn=$build/agent/cairn
reproduce="tests/bench/gossip_bench.sh $build${sizes:+ $sizes}${*:+ $*}"

systems=cairn,serf
prev=
for a in "$@"; do
  case $a in --systems=*) systems=${a#--systems=} ;; esac
  [[ $prev == --systems ]] && systems=$a
  prev=$a
done
if [[ $systems == *cairn* && ! -x $cairn ]]; then
  echo "missing $cairn (build it first: cmake --build --preset release)" >&2
  exit 2
fi
[[ -x $python ]] || { echo "missing $python" >&2; exit 2; }
if [[ $systems == *serf* ]] && ! command -v serf >/dev/null; then
  echo "serf is missing: installing Debian's serf (benchmark only)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y serf >/dev/null
fi
if ! command -v iptables >/dev/null && [[ $(id -u) == 0 ]]; then
  echo "iptables is missing: installing it (packet counters)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y iptables >/dev/null ||
    echo "warning: no iptables; UDP packets will come from /proc/net/snmp (system-wide, no bytes)" >&2
fi

work=$(mktemp -d /tmp/cairn-gossip-bench-run.XXXXXX)
chain=GOSSIPBENCH_$$
pidfile=$work/pids
: >"$pidfile"
py_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  # The Python side kills its agents and removes its chain itself; this covers it being killed.
  if [[ -n $py_pid ]]; then
    kill "$py_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$py_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  while read -r pid; do
    if [[ -n $pid ]]; then kill -9 "$pid" 2>/dev/null || true; fi
  done <"$pidfile"
  if command -v iptables >/dev/null && iptables -w 5 -n -L "$chain" >/dev/null 2>&1; then
    while iptables -w 5 -D OUTPUT -j "$chain" 2>/dev/null; do :; done
    iptables -w 5 -F "$chain" 2>/dev/null || true
    iptables -w 5 -X "$chain" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted; to reproduce: $reproduce" >&2; exit 130' INT TERM HUP

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
set +e
"$python" "$here/gossip_bench.py" --cairn="$cairn" ${sizes:+--sizes="$sizes"} --chain="$chain" --pidfile="$pidfile" "$@" &
py_pid=$!
wait "$py_pid"
status=$?
py_pid=
set -e
case $status in
  0) ;;
  3) echo "some targets of the issue were missed (--strict); see the table above" >&2 ;;
  *) echo "FAIL: gossip_bench.py exited with $status (see the messages above; agent logs in the results dir)" >&2 ;;
esac
echo "to reproduce: $reproduce"
exit "$status"
