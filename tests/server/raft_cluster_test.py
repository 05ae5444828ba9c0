#!/usr/bin/env python3
"""server.raft_cluster: a 3-replica Raft cluster of real processes survives losing its leader.

Starts 3 cairn_raft_bench_server processes (fsync on, fresh data dirs, every applied command
tracked), drives proposals with cairn_raft_bench_load, SIGKILLs the leader mid-load, checks that
a new leader takes over and proposals continue, restarts the killed replica on its data dir and
checks it catches up (through a snapshot: the log is compacted every few hundred entries), and
finally that every replica applied the same log (same applied index and digest) and holds every
acknowledged payload.

usage: raft_cluster_test.py <server binary> <load binary>
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from cairn_agent import free_port  # noqa: E402

DEADLINE = time.monotonic() + 55


def fail(message):
    print("FAIL: " + message, flush=True)
    raise SystemExit(1)


def remaining():
    return max(1.0, DEADLINE - time.monotonic())


class Cluster:
    def __init__(self, server, load, work):
        self.server, self.load, self.work = server, load, work
        self.peers = ",".join(f"{i}@127.0.0.1:{free_port()}" for i in (1, 2, 3))
        self.clients = {i: f"127.0.0.1:{free_port()}" for i in (1, 2, 3)}
        self.procs = {}

    def start(self, node):
        log = open(os.path.join(self.work, f"s{node}.log"), "a")
        clients = ",".join(f"{i}@{a}" for i, a in self.clients.items())
        self.procs[node] = subprocess.Popen(
            [self.server, f"--id={node}", f"--peers={self.peers}", f"--clients={clients}",
             f"--data-dir={os.path.join(self.work, f's{node}')}", "--track=1",
             "--snapshot-entries=500", "--snapshot-trailing-entries=100"],
            stdout=log, stderr=subprocess.STDOUT)

    def kill(self, node):
        proc = self.procs.pop(node)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def kill_all(self):
        for node in list(self.procs):
            self.kill(node)

    def targets(self, nodes=(1, 2, 3)):
        return ",".join(self.clients[n] for n in nodes)

    def status(self, nodes=(1, 2, 3)):
        """id -> dict of status fields, for the nodes that answered."""
        out = subprocess.run([self.load, f"--target={self.targets(nodes)}", "--status"],
                             capture_output=True, text=True, timeout=remaining()).stdout
        result = {}
        for line in out.splitlines():
            fields = dict(re.findall(r"(\w+)=(\S+)", line))
            if "id" in fields:
                result[int(fields["id"])] = fields
        return result

    def wait_for(self, what, predicate, timeout):
        end = min(time.monotonic() + timeout, DEADLINE)
        while time.monotonic() < end:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        fail("timed out waiting for " + what)

    def leader(self, nodes=(1, 2, 3)):
        st = self.status(nodes)
        leaders = [i for i, f in st.items() if f["role"] == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def run_load(self, record, count, concurrency=16, duration="20s", background=False):
        cmd = [self.load, f"--target={self.targets()}", f"--concurrency={concurrency}", "--payload=64",
               f"--count={count}", f"--duration={duration}", "--warmup=0s",
               f"--record={os.path.join(self.work, record)}"]
        if background:
            return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=remaining())
        print(done.stdout.strip(), flush=True)
        if done.returncode != 0:
            fail(f"load {record} did not reach {count} acknowledged proposals")


def main():
    server, load = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="cairn-raft-cluster-")
    cluster = Cluster(server, load, work)
    try:
        for node in (1, 2, 3):
            cluster.start(node)
        time.sleep(0.3)
        for node, proc in cluster.procs.items():
            if proc.poll() is not None:
                fail(f"server {node} exited at start (port in use?); see its log below")
        first = cluster.wait_for("a leader", cluster.leader, 15)
        print(f"leader elected: {first}", flush=True)
        cluster.run_load("acked1.txt", 2000)

        # Kill the leader while a load is running; the load must carry on with the new leader.
        background = cluster.run_load("acked2.txt", 0, duration="4s", background=True)
        time.sleep(1.0)
        cluster.kill(first)
        print(f"killed leader {first}", flush=True)
        survivors = tuple(n for n in (1, 2, 3) if n != first)
        second = cluster.wait_for("a new leader", lambda: cluster.leader(survivors), 15)
        print(f"new leader: {second}", flush=True)
        out, _ = background.communicate(timeout=remaining())
        print(out.strip(), flush=True)
        if background.returncode != 0:
            fail("the load across the leader's death failed")
        cluster.run_load("acked2b.txt", 1000)  # fails unless the new leader commits

        # Restart the killed replica on its data dir: it must catch up.
        cluster.start(first)
        cluster.run_load("acked3.txt", 1000)
        target = int(cluster.status(survivors)[second]["commit"])

        def caught_up():
            st = cluster.status()
            return first in st and int(st[first]["applied"]) >= target
        cluster.wait_for(f"replica {first} to catch up to {target}", caught_up, 20)
        print(f"replica {first} caught up: {cluster.status()[first]}", flush=True)

        def converged():
            st = cluster.status()
            if len(st) != 3:
                return None
            applied = {f["applied"] for f in st.values()}
            digests = {f["digest"] for f in st.values()}
            return st if len(applied) == 1 and len(digests) == 1 else None
        st = cluster.wait_for("all replicas to apply the same log", converged, 15)
        print("converged: applied=%s digest=%s" % (st[1]["applied"], st[1]["digest"]), flush=True)

        acked = os.path.join(work, "acked_all.txt")
        with open(acked, "w") as out_file:
            for name in ("acked1.txt", "acked2.txt", "acked2b.txt", "acked3.txt"):
                with open(os.path.join(work, name)) as part:
                    out_file.write(part.read())
        check = subprocess.run([load, f"--target={cluster.targets()}", f"--check={acked}"],
                               capture_output=True, text=True, timeout=remaining())
        print(check.stdout.strip(), flush=True)
        if check.returncode != 0:
            fail("an acknowledged proposal is missing on some replica")
        print("PASS", flush=True)
    except BaseException:
        for name in sorted(os.listdir(work)):
            if name.endswith(".log"):
                with open(os.path.join(work, name)) as f:
                    print(f"--- {name} (tail)\n" + "".join(f.readlines()[-15:]), flush=True)
        raise
    finally:
        cluster.kill_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
