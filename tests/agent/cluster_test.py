#!/usr/bin/python3
"""agent.cluster: three `cairn agent -server` processes form a cluster and keep every write.

Starts 3 servers with -bootstrap-expect=3 joined through gossip, checks that they elect one
leader, that writes sent to followers are forwarded and applied on every server, that a
consistent read on a follower sees the latest write, that a blocking query on a follower wakes
on a change made through another server, then SIGKILLs the leader mid-writes: a new leader
takes over, a client that retries on errors loses no acknowledged write, and the killed server
restarted on its data dir catches up with everything.

usage: /usr/bin/python3 cluster_test.py <cairn binary>
"""
import json
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from cairn_agent import cluster_leader as leader_of, fail_run, http_request as request, poll, start_servers  # noqa: E402

SERVERS = []


def fail(message):
    fail_run(message, SERVERS)


def wait_for(what, predicate, timeout):
    return poll(predicate, timeout, 0.05) or fail(f"timed out after {timeout} s waiting for {what}")


def put(server, key, value):
    status, _, body = request(server, "PUT", f"/v1/kv/{key}", value)
    return status == 200 and body.strip() == b"true"


def get(server, key, mode="stale"):
    status, _, body = request(server, "GET", f"/v1/kv/{key}?raw&{mode}")
    return body.decode() if status == 200 else None


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="cairn-cluster-")
    SERVERS.extend(start_servers(binary, work))
    started = time.monotonic()
    leader = wait_for("a leader all three agree on", lambda: leader_of(SERVERS), 30)
    print(f"  ok   leader {leader.name} elected {time.monotonic() - started:.2f} s after start", flush=True)
    followers = [s for s in SERVERS if s is not leader]

    if not put(followers[0], "cluster/forwarded", "from-a-follower"):
        fail("a write sent to a follower was not forwarded and applied")
    if get(followers[1], "cluster/forwarded", "consistent") != "from-a-follower":
        fail("a consistent read on the other follower did not see the write")
    wait_for("the write on every server (stale reads)",
             lambda: all(get(s, "cluster/forwarded") == "from-a-follower" for s in SERVERS), 10)
    print("  ok   writes forwarded from followers; consistent and stale reads agree", flush=True)

    _, headers, _ = request(followers[1], "GET", "/v1/kv/cluster/watched")
    index = headers.get("x-consul-index", "0")
    woke = {}

    def blocking_read():
        t = time.monotonic()
        status, _, body = request(followers[1], "GET", f"/v1/kv/cluster/watched?index={index}&wait=20s&raw",
                                  timeout=30)
        woke.update(status=status, body=body, seconds=time.monotonic() - t)

    waiter = threading.Thread(target=blocking_read)
    waiter.start()
    time.sleep(0.5)
    if not put(followers[0], "cluster/watched", "changed"):
        fail("write for the blocking query failed")
    waiter.join(15)
    if waiter.is_alive() or woke.get("body") != b"changed":
        fail(f"a blocking query on a follower did not wake with the change: {woke}")
    print(f"  ok   blocking query on a follower woke after {woke['seconds']:.2f} s", flush=True)

    acknowledged = []
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set():
            key, value = f"load/{n:05d}", f"v{n}"
            for attempt in range(100):  # retry until acknowledged, moving on to another server: set is idempotent
                if stop.is_set():
                    return
                target = SERVERS[(n + attempt) % 3]
                if put(target, key, value):
                    acknowledged.append((key, value))
                    break
                time.sleep(0.05)
            n += 1

    writers = [threading.Thread(target=writer)]
    writers[0].start()
    time.sleep(1.0)
    leader.kill()
    killed_at = time.monotonic()
    survivors = [s for s in SERVERS if s is not leader]
    new_leader = wait_for("a new leader among the survivors", lambda: leader_of(survivors), 30)
    print(f"  ok   {new_leader.name} took over {time.monotonic() - killed_at:.2f} s after the leader was killed",
          flush=True)
    time.sleep(1.0)
    leader.start()
    time.sleep(1.0)
    stop.set()
    writers[0].join(30)
    if len(acknowledged) < 20:
        fail(f"only {len(acknowledged)} writes were acknowledged around the leader change")

    def has_all(server):
        return all(get(server, k) == v for k, v in acknowledged)

    wait_for("every acknowledged write on every server, the restarted one included",
             lambda: all(has_all(s) for s in SERVERS), 30)
    print(f"  ok   all {len(acknowledged)} acknowledged writes present on all 3 servers after the restart",
          flush=True)
    # Stop one server for good and remove it from Raft through a follower (forwarded to the
    # leader); the two left keep committing.
    gone = next(s for s in SERVERS if s is not leader_of(SERVERS))
    gone.stop()
    remaining = [s for s in SERVERS if s is not gone]
    current = wait_for("a leader after stopping one server", lambda: leader_of(remaining), 30)
    asked = next(s for s in remaining if s is not current)
    status, _, body = request(asked, "DELETE", f"/v1/operator/raft/peer?address=127.0.0.1:{gone.server_port}")
    if status != 200:
        fail(f"remove-peer through a follower: {status} {body}")

    def configuration_size():
        status, _, body = request(current, "GET", "/v1/operator/raft/configuration")
        return status == 200 and len(json.loads(body)["Servers"]) == 2

    wait_for("the Raft configuration without the removed server", configuration_size, 10)
    if not put(asked, "cluster/after-removal", "ok") or get(current, "cluster/after-removal", "consistent") != "ok":
        fail("the two servers left did not commit a write after the removal")
    print(f"  ok   {gone.name} removed from Raft through a follower; the other two keep committing", flush=True)
    for s in SERVERS:
        s.stop()
    shutil.rmtree(work, ignore_errors=True)
    print("cluster test passed", flush=True)


if __name__ == "__main__":
    main()
