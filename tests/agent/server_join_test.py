#!/usr/bin/python3
"""agent.server_join: Raft voters follow the servers gossip knows.

Starts 3 servers with -bootstrap-expect=3, writes a key, then:
  1. starts a 4th server (also -bootstrap-expect=3): it does not bootstrap a cluster of its own
     but joins the running one, and the leader makes it a voter after its stabilization time;
     it serves the key written before it came;
  2. one of the first servers leaves gracefully (/v1/agent/leave) and exits: the leader removes
     it from the Raft configuration, and writes go on with the 3 that remain;
  3. the 4th server restarts on its data dir and is a voter again, without bootstrapping.

usage: /usr/bin/python3 server_join_test.py <cairn binary>
"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from cairn_agent import Server, cluster_leader, fail_run, http_request as request, poll, start_servers  # noqa: E402

SERVERS = []
STARTED = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def fail(message):
    fail_run(message, SERVERS, 30)


def wait_for(what, predicate, timeout):
    return poll(predicate, timeout, 0.1) or fail(f"timed out after {timeout} s waiting for {what}")


def voters(server):
    status, _, body = request(server, "GET", "/v1/operator/raft/configuration?stale", timeout=3)
    if status != 200:
        return None
    return {entry["Node"] for entry in json.loads(body)["Servers"] if entry["Voter"]}


def configuration_index(server):
    status, _, body = request(server, "GET", "/v1/operator/raft/configuration", timeout=3)
    if status != 200:
        fail(f"raft configuration on {server.name}: {status} {body!r}")
    return json.loads(body)["Index"]


def everyone_agrees(servers, want):
    return all(s.alive() and voters(s) == want for s in servers)


def write(key, value, servers):
    def attempt():
        leader = cluster_leader(servers)
        if leader is None:
            return False
        status, _, body = request(leader, "PUT", f"/v1/kv/{key}", value)
        return status == 200 and body.strip() == b"true"
    wait_for(f"a write of {key}", attempt, 30)


def read_stale(server, key):
    status, _, body = request(server, "GET", f"/v1/kv/{key}?raw&stale", timeout=3)
    return body.decode() if status == 200 else None


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="cairn-server-join-")
    log(f"work directory {work}")
    SERVERS.extend(start_servers(binary, work))
    first = list(SERVERS)
    wait_for("a leader", lambda: cluster_leader(first), 30)
    write("before/join", "kept", first)
    bootstrap_index = configuration_index(cluster_leader(first))

    # 1. A fourth server joins the running cluster.
    s4 = Server(binary, work, "s4", 3)
    s4.join_ports = [s.serf_port for s in first]
    SERVERS.append(s4)
    started = time.monotonic()
    s4.start()
    all_four = {"s1", "s2", "s3", "s4"}
    wait_for("every server to list 4 voters", lambda: everyone_agrees(SERVERS, all_four), 60)
    log(f"s4 joined and is a voter everywhere {time.monotonic() - started:.1f} s after it started "
        "(10 s of that is the stabilization time)")
    joined_index = configuration_index(wait_for("a leader", lambda: cluster_leader(SERVERS), 30))
    if not joined_index > bootstrap_index:
        fail(f"raft configuration Index {joined_index} after adding s4, {bootstrap_index} before: it must grow")
    if not os.path.exists(os.path.join(s4.data_dir, "server", "joined")):
        fail("s4 did not record that it joined a running cluster")
    wait_for("s4 to serve the key written before it came", lambda: read_stale(s4, "before/join") == "kept", 30)

    # 2. s2 leaves gracefully: the leader removes it from the voters.
    s2 = SERVERS[1]
    status, _, body = request(s2, "PUT", "/v1/agent/leave")
    if status != 200:
        fail(f"leave on s2: {status} {body!r}")
    rest = [s for s in SERVERS if s is not s2]
    wait_for("the others to drop s2 from the voters", lambda: everyone_agrees(rest, {"s1", "s3", "s4"}), 60)
    # As Consul's agent does, the server stops by itself once its leave has spread.
    wait_for("s2 to exit after its leave", lambda: not s2.alive(), 15)
    if s2.proc.returncode != 0:
        fail(f"s2 exited with {s2.proc.returncode} after its leave")
    SERVERS.remove(s2)
    write("after/leave", "yes", rest)
    wait_for("s4 to apply a write made after s2 left", lambda: read_stale(s4, "after/leave") == "yes", 30)
    log("s2 left gracefully and was removed; writes go on with s1, s3, s4")

    # 3. s4 restarts on its data dir: a voter again, no second bootstrap.
    s4.stop()
    s4.start()
    wait_for("s4 to come back as a voter", lambda: everyone_agrees(rest, {"s1", "s3", "s4"}), 60)
    write("after/restart", "yes", rest)
    wait_for("s4 to apply a write after its restart", lambda: read_stale(s4, "after/restart") == "yes", 30)
    with open(s4.log_path) as f:
        if f.read().count("bootstrapping the server cluster") != 0:
            fail("s4 bootstrapped a cluster of its own")
    log("s4 restarted on its data dir and is a voter again")

    for s in SERVERS:
        s.stop()
    shutil.rmtree(work, ignore_errors=True)
    log("PASS")


if __name__ == "__main__":
    main()
