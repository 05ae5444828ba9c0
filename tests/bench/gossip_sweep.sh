#!/usr/bin/env bash
# SWIM against cluster size on the deterministic simulator: runs cairn_gossip_sweep for each
# size, keeps its CSV, prints a summary table, and plots convergence, detection and load per
# member against n next to SWIM's expectations. Builds nothing.
#
#   tests/bench/gossip_sweep.sh <build-dir> [sizes, default 10,30,100,300,1000] [seeds, default 3]
#                               [extra cairn_gossip_sweep flags...]
# seeds is one count for every size, or a list matching the sizes (e.g. 20,20,10,5,3).
# GOSSIP_SWEEP_OUT  results directory (default <build-dir>/gossip-sweep/<UTC time>): sweep.csv,
#                   one CSV and log per size, summary.md
# GOSSIP_SWEEP_IMG  where gossip_*.png go (default docs/img of this checkout)
# GOSSIP_SWEEP_JOBS sizes run at once (default 1; each size is one single-threaded process)
# GOSSIP_SWEEP_REPLOT=1 runs nothing: summary and plots again from GOSSIP_SWEEP_OUT/sweep_*.csv
# Plotting needs /usr/bin/python3 with matplotlib (Debian: python3-matplotlib); without it the
# CSV and summary are still written.
set -euo pipefail

build=${1:?usage: gossip_sweep.sh <build-dir> [sizes] [seeds] [flags...]}
sizes=${2:-10,30,100,300,1000}
seeds=${3:-3}
extra=("${@:4}")
sweep=$build/tests/agent/cairn_gossip_sweep
[[ -x $sweep ]] || { echo "missing $sweep (cmake --build $build --target cairn_gossip_sweep)" >&2; exit 2; }
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
out=${GOSSIP_SWEEP_OUT:-$build/gossip-sweep/$(date -u +%Y%m%dT%H%M%SZ)}
img=${GOSSIP_SWEEP_IMG:-$source_dir/docs/img}
jobs=${GOSSIP_SWEEP_JOBS:-1}
mkdir -p "$out" "$img"

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); results in $out"
IFS=, read -ra size_list <<<"$sizes"
IFS=, read -ra seed_list <<<"$seeds"
if ((${#seed_list[@]} != 1 && ${#seed_list[@]} != ${#size_list[@]})); then
  echo "seeds: one count, or one per size (${#size_list[@]})" >&2
  exit 2
fi

# One process per size, largest last in the list first, so that parallel jobs finish together.
status=0
running=0
for ((i = ${#size_list[@]} - 1; i >= 0; i--)); do
  [[ -n ${GOSSIP_SWEEP_REPLOT:-} ]] && break
  n=${size_list[i]}
  k=${seed_list[0]}
  ((${#seed_list[@]} > 1)) && k=${seed_list[i]}
  if ((running >= jobs)); then
    wait -n || status=1
    running=$((running - 1))
  fi
  echo "command: $sweep --sizes=$n --seeds=$k ${extra[*]}"
  "$sweep" --sizes="$n" --seeds="$k" "${extra[@]}" >"$out/sweep_$n.csv" 2>"$out/sweep_$n.log" &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || status=1
  running=$((running - 1))
done

{
  echo "members,seed,metric,value"
  for f in "$out"/sweep_*.csv; do tail -n +2 "$f"; done
} >"$out/sweep.csv"
grep -h -A1 -E '^(FAILED|note):' "$out"/sweep_*.log || true
grep -h '^#' "$out"/sweep_*.log || true

if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  echo "no matplotlib for /usr/bin/python3 (apt-get install -y python3-matplotlib): plots skipped" >&2
  plot=0
else
  plot=1
fi

/usr/bin/python3 - "$out/sweep.csv" "$img" "$plot" >"$out/summary.md" <<'PY'
"""Summary table (markdown, stdout) and plots of a cairn_gossip_sweep CSV."""
import collections
import csv
import math
import sys

csv_path, img_dir, plot = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
values = collections.defaultdict(list)  # (metric, members) -> [value per seed]
for row in csv.DictReader(open(csv_path)):
    values[(row["metric"], int(row["members"]))].append(float(row["value"]))
sizes = sorted({n for _, n in values})


def stats(metric):
    """Per size: (n, mean, min, max) for the sizes that have the metric."""
    out = []
    for n in sizes:
        v = values.get((metric, n))
        if v:
            out.append((n, sum(v) / len(v), min(v), max(v)))
    return out


def cell(metric, n, digits=2, total=False):
    v = values.get((metric, n))
    if not v:
        return "–"
    if total:
        return "%d" % sum(v)
    return "%.*f / %.*f" % (digits, sum(v) / len(v), digits, max(v))


ROWS = [
    ("seeds", "wall_s", "count"),
    ("mass join: converged, s (mean / max)", "join_converge_s", 2),
    ("one update reaches all, s", "dissemination_s", 2),
    ("crash: first suspicion, s", "crash_first_suspect_s", 2),
    ("crash: first failed, s", "crash_first_failed_s", 2),
    ("crash: all know, s", "crash_all_know_s", 2),
    ("crash: first failed → all know, s", "crash_spread_s", 2),
    ("killed process: first suspicion, s", "kill_first_suspect_s", 2),
    ("killed process: first failed, s", "kill_first_failed_s", 2),
    ("killed process: all know, s", "kill_all_know_s", 2),
    ("UDP packets / member / s", "load_udp_packets_per_member_s", 2),
    ("UDP bytes / member / s", "load_udp_bytes_per_member_s", 1),
    ("push-pull TCP bytes / member / s", "load_tcp_bytes_per_member_s", 0),
    ("10% loss: false failure events (total)", "loss10_false_failure_events", "total"),
    ("30% loss: false failure events (total)", "loss30_false_failure_events", "total"),
    ("10% loss: suspicion events (total)", "loss10_suspect_events", "total"),
    ("30% loss: suspicion events (total)", "loss30_suspect_events", "total"),
    ("10% loss, UDP only: false failure events (total)", "udponly_loss10_false_failure_events", "total"),
    ("10% loss, UDP only: falsely failed members (total)", "udponly_loss10_falsely_failed_members", "total"),
    ("10% loss, UDP only: suspicion events (total)", "udponly_loss10_suspect_events", "total"),
    ("30% loss, UDP only: false failure events (total)", "udponly_loss30_false_failure_events", "total"),
    ("30% loss, UDP only: falsely failed members (total)", "udponly_loss30_falsely_failed_members", "total"),
    ("30% loss, UDP only: suspicion events (total)", "udponly_loss30_suspect_events", "total"),
    ("slowed members", "slow_members", 0),
    ("slowed, Lifeguard on: false failure events (total)", "slow_false_failure_events", "total"),
    ("slowed, Lifeguard on: suspicion events (total)", "slow_suspect_events", "total"),
    ("slowed, Lifeguard off: false failure events (total)", "slow_nolifeguard_false_failure_events", "total"),
    ("slowed, Lifeguard off: suspicion events (total)", "slow_nolifeguard_suspect_events", "total"),
    ("wall time per seed, s (mean / max)", "wall_s", 1),
    ("peak RSS, MB (max)", "max_rss_mb", 0),
]
print("| metric | " + " | ".join("n = %d" % n for n in sizes) + " |")
print("| --- |" + " --- |" * len(sizes))
for label, metric, kind in ROWS:
    if not any((metric, n) in values for n in sizes):
        continue
    if kind == "count":
        cells = ["%d" % len(values.get((metric, n), [])) for n in sizes]
    elif kind == "total":
        cells = [cell(metric, n, total=True) for n in sizes]
    else:
        cells = [cell(metric, n, kind) for n in sizes]
    print("| %s | %s |" % (label, " | ".join(cells)))

if not plot:
    sys.exit(0)
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MARKERS = "osD^v"


def measured(ax, metric, label, i):
    s = stats(metric)
    if not s:
        return None
    n = [x[0] for x in s]
    mean = [x[1] for x in s]
    err = [[x[1] - x[2] for x in s], [x[3] - x[1] for x in s]]
    ax.errorbar(n, mean, yerr=err, marker=MARKERS[i % len(MARKERS)], capsize=3, color="C%d" % i, label=label)
    return s


def expect(ax, s, shape, label, i):
    """SWIM's expectation through the smallest size's mean: shape(n) scaled to it."""
    if not s:
        return
    n0, y0 = s[0][0], s[0][1]
    xs = [sizes[0] * (sizes[-1] / sizes[0]) ** (k / 50) for k in range(51)] if len(sizes) > 1 else [n0]
    ax.plot(xs, [y0 * shape(x) / shape(n0) for x in xs], "--", color="C%d" % i, alpha=0.6, label=label)


def figure(name, title, ylabel, series, logy=False):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (metric, label, shape, shape_label) in enumerate(series):
        expect(ax, measured(ax, metric, label, i), shape, shape_label, i)
    ax.set_xscale("log")
    ax.set_xlabel("cluster size n (members)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if logy:  # packets/s and bytes/s are three orders of magnitude apart
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig("%s/%s" % (img_dir, name), dpi=110)
    plt.close(fig)


LOG = (math.log, "SWIM: c·log n (fitted to smallest n)")
FLAT = (lambda n: 1.0, "SWIM: constant")
figure("gossip_convergence.png", "Convergence and dissemination (mean, min–max over seeds)", "seconds", [
    ("join_converge_s", "mass join → all converged (joins spread over 2 s)") + LOG,
    ("dissemination_s", "one update → every member has it") + LOG,
    ("crash_spread_s", "first failed → every member knows") + LOG,
])
figure("gossip_detection.png", "Crash or kill of one member (mean, min–max over seeds)", "seconds after the crash", [
    ("crash_first_suspect_s", "first suspicion") + FLAT,
    ("crash_first_failed_s", "first member declares failed") + LOG,
    ("crash_all_know_s", "every member knows") + LOG,
    ("kill_all_know_s", "killed process (port refuses): every member knows") + LOG,
])
# memberlist's push-pull: O(n) state every PushPullInterval(n) (base up to 32, +1 per doubling).
PUSH_PULL = (lambda n: n / (1 + max(0, math.ceil(math.log2(n) - 5))),
             "n / push-pull interval(n) (memberlist, not SWIM)")
figure("gossip_load.png", "Steady load per member (mean, min–max over seeds)", "per member per second", [
    ("load_udp_packets_per_member_s", "UDP packets") + FLAT,
    ("load_udp_bytes_per_member_s", "UDP bytes") + FLAT,
    ("load_tcp_bytes_per_member_s", "push-pull TCP bytes") + PUSH_PULL,
], logy=True)
PY
cat "$out/summary.md"
((plot)) && echo "plots: $img/gossip_convergence.png $img/gossip_detection.png $img/gossip_load.png"
exit $status
