#!/usr/bin/python3
"""compat.python_consul: Debian's python3-consul client drives a `cairn agent -dev` unchanged.

Covers kv (get/put/cas/flags/recurse/keys/delete/blocking), txn (through the client's own HTTP
layer: python-consul 0.7 has no txn helper), sessions and locks, catalog, health, agent
services and TTL checks, status and operator endpoints.

With --cluster the same checks run against a FOLLOWER of three `cairn agent -server`
processes, so every write is forwarded to the leader and every session renewal too.

usage: /usr/bin/python3 python_consul_test.py <cairn binary> [--cluster]
"""
import base64
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import consul  # noqa: E402  (Debian's python3-consul)
from cairn_agent import Agent, Server  # noqa: E402

CHECKS = []
SERVERS = 1  # how many servers the cluster under test has


def check(name):
    def register(fn):
        CHECKS.append((name, fn))
        return fn
    return register


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


@check("kv put, get, flags, index rules")
def kv_basic(c):
    expect(c.kv.put("app/config", "v1", flags=42) is True, "put answers true")
    index, entry = c.kv.get("app/config")
    expect(entry["Value"] == b"v1", f"value round trip: {entry}")
    expect(entry["Flags"] == 42, "flags kept")
    expect(int(index) == entry["ModifyIndex"], "a key's X-Consul-Index is its ModifyIndex")
    missing_index, missing = c.kv.get("app/missing")
    expect(missing is None, "a missing key is None (404)")
    expect(int(missing_index) >= entry["ModifyIndex"], "a 404 still carries X-Consul-Index")


@check("kv cas, recurse, keys with separator, delete recurse")
def kv_cas_recurse(c):
    c.kv.put("tree/a", "1")
    _, a = c.kv.get("tree/a")
    expect(c.kv.put("tree/a", "2", cas=a["ModifyIndex"] + 1000) is False, "cas with a wrong index fails")
    expect(c.kv.put("tree/a", "2", cas=a["ModifyIndex"]) is True, "cas with the right index succeeds")
    expect(c.kv.put("tree/a", "3", cas=0) is False, "cas=0 fails on an existing key")
    c.kv.put("tree/b/c", "4")
    c.kv.put("tree/b/d", "5")
    _, entries = c.kv.get("tree/", recurse=True)
    expect([e["Key"] for e in entries] == ["tree/a", "tree/b/c", "tree/b/d"], f"recurse: {entries}")
    _, keys = c.kv.get("tree/", keys=True, separator="/")
    expect(keys == ["tree/a", "tree/b/"], f"keys with separator: {keys}")
    expect(c.kv.delete("tree/", recurse=True) is True, "delete recurse")
    _, gone = c.kv.get("tree/", recurse=True)
    expect(gone is None, "nothing left under the prefix")


@check("kv blocking get wakes on a change to its key only")
def kv_blocking(c):
    c.kv.put("watch/me", "0")
    index, _ = c.kv.get("watch/me")
    result = {}

    def waiter():
        started = time.monotonic()
        new_index, entry = c.kv.get("watch/me", index=index, wait="20s")
        result.update(index=new_index, entry=entry, seconds=time.monotonic() - started)

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.3)
    c.kv.put("watch/other", "unrelated")
    time.sleep(0.3)
    expect(thread.is_alive(), "an unrelated key must not wake the blocking query")
    c.kv.put("watch/me", "1")
    thread.join(10)
    expect(not thread.is_alive(), "the blocking query returned after its key changed")
    expect(result["entry"]["Value"] == b"1", "woke with the new value")
    expect(int(result["index"]) > int(index), "the index moved")
    timed_index, _ = c.kv.get("watch/me", index=result["index"], wait="300ms")
    expect(timed_index == result["index"], "a wait timeout returns the same index")


@check("sessions: create, info, list, node, renew, destroy; locks with acquire/release")
def sessions_and_locks(c):
    node = c.agent.self()["Config"]["NodeName"]
    sid = c.session.create(name="locker", ttl=30, behavior="release")
    _, info = c.session.info(sid)
    expect(info["ID"] == sid and info["Name"] == "locker", f"info: {info}")
    expect(info["TTL"] == "30s", f"TTL reported as a duration: {info['TTL']}")
    _, listed = c.session.list()
    expect(sid in [s["ID"] for s in listed], "list has the session")
    _, on_node = c.session.node(node)
    expect(sid in [s["ID"] for s in on_node], "node sessions have it")
    renewed = c.session.renew(sid)
    expect(renewed["ID"] == sid, "renew answers the session")
    other = c.session.create(name="other", lock_delay=0)
    expect(c.kv.put("locks/leader", "me", acquire=sid) is True, "first acquire wins")
    expect(c.kv.put("locks/leader", "you", acquire=other) is False, "a second holder is refused")
    _, held = c.kv.get("locks/leader")
    expect(held["Session"] == sid and held["LockIndex"] == 1, f"held: {held}")
    expect(c.kv.put("locks/leader", "me", release=sid) is True, "release")
    expect(c.kv.put("locks/leader", "you", acquire=other) is True, "acquire after release")
    expect(c.session.destroy(other) is True, "destroy")
    _, released = c.kv.get("locks/leader")
    expect("Session" not in released or not released["Session"], "destroying the holder releases the lock")
    c.session.destroy(sid)
    _, info = c.session.info(sid)
    expect(info is None, "a destroyed session is gone")


@check("txn: all or nothing through /v1/txn")
def txn(c):
    def put(payload):
        return c.http.put(lambda r: r, "/v1/txn", data=json.dumps(payload))

    ok = put([{"KV": {"Verb": "set", "Key": "txn/a", "Value": base64.b64encode(b"A").decode()}},
              {"KV": {"Verb": "set", "Key": "txn/b", "Value": base64.b64encode(b"B").decode()}},
              {"KV": {"Verb": "get", "Key": "txn/a"}}])
    expect(ok.code == 200, f"txn commits: {ok.code} {ok.body}")
    body = json.loads(ok.body)
    expect(len(body["Results"]) == 3 and body["Errors"] is None, f"results: {body}")
    bad = put([{"KV": {"Verb": "set", "Key": "txn/c", "Value": ""}},
               {"KV": {"Verb": "check-not-exists", "Key": "txn/a"}}])
    expect(bad.code == 409, f"a failed check rolls back with 409: {bad.code}")
    errors = json.loads(bad.body)["Errors"]
    expect(errors[0]["OpIndex"] == 1, f"the failing op is named: {errors}")
    _, c_entry = c.kv.get("txn/c")
    expect(c_entry is None, "nothing from the rolled-back txn is visible")


@check("catalog: register, nodes, services, service with tag, node, deregister")
def catalog(c):
    expect(c.catalog.register("ext-node", "10.1.2.3",
                              service={"Service": "db", "ID": "db1", "Port": 5432, "Tags": ["primary"]},
                              check={"Name": "db alive", "CheckID": "db-alive", "ServiceID": "db1",
                                     "Status": "passing"}) is True, "register")
    _, nodes = c.catalog.nodes()
    expect("ext-node" in [n["Node"] for n in nodes], f"nodes: {nodes}")
    _, services = c.catalog.services()
    expect(services.get("db") == ["primary"], f"services: {services}")
    _, instances = c.catalog.service("db", tag="primary")
    expect(len(instances) == 1 and instances[0]["ServicePort"] == 5432, f"service: {instances}")
    _, none = c.catalog.service("db", tag="replica")
    expect(none == [], "tag filter")
    _, node = c.catalog.node("ext-node")
    expect("db1" in node["Services"], f"node: {node}")
    expect(c.catalog.datacenters() == ["dc1"], "datacenters")
    expect(c.catalog.deregister("ext-node", service_id="db1") is True, "deregister a service")
    _, after = c.catalog.service("db")
    expect(after == [], "the service is gone")
    c.catalog.deregister("ext-node")


@check("health: node (serfHealth), service with passing, state")
def health(c):
    node = c.agent.self()["Config"]["NodeName"]
    _, checks = c.health.node(node)
    serf = [ch for ch in checks if ch["CheckID"] == "serfHealth"]
    expect(serf and serf[0]["Status"] == "passing", f"the agent's node has a passing serfHealth: {checks}")
    c.catalog.register("h-node", "10.0.0.9", service={"Service": "web", "ID": "web1"},
                       check={"Name": "web up", "CheckID": "web-up", "ServiceID": "web1", "Status": "critical"})
    _, all_web = c.health.service("web")
    _, passing_web = c.health.service("web", passing=True)
    expect(len(all_web) == 1 and passing_web == [], f"passing filter: {all_web} / {passing_web}")
    _, critical = c.health.state("critical")
    expect("web-up" in [ch["CheckID"] for ch in critical], "state critical")
    _, web_checks = c.health.checks("web")
    expect([ch["CheckID"] for ch in web_checks] == ["web-up"], f"service checks: {web_checks}")
    c.catalog.deregister("h-node")


@check("agent: self, members, service register with a TTL check, ttl pass, deregister")
def agent(c):
    me = c.agent.self()
    expect(me["Config"]["Datacenter"] == "dc1", f"self: {me['Config']}")
    members = c.agent.members()
    expect(len(members) == SERVERS and all(m["Status"] == 1 for m in members), f"members: {members}")
    expect(c.agent.service.register("api", service_id="api/1", port=8080, tags=["v1"],
                                    check=consul.Check.ttl("10s")) is True, "register")
    services = c.agent.services()
    expect("api/1" in services and services["api/1"]["Port"] == 8080, f"services: {services}")
    check_id = "service:api/1"
    expect(check_id in c.agent.checks(), f"checks: {c.agent.checks()}")
    expect(c.agent.check.ttl_pass(check_id, notes="fine") is True, "ttl pass")
    _, healthy = c.health.service("api", passing=True)
    expect(len(healthy) == 1, f"the service is passing after ttl pass: {healthy}")
    expect(c.agent.service.deregister("api/1") is True, "deregister an id with '/'")
    expect("api/1" not in c.agent.services(), "gone")


@check("status and operator")
def status(c):
    leader = c.status.leader()
    expect(leader and ":" in leader, f"leader: {leader!r}")
    peers = c.status.peers()
    expect(len(peers) == SERVERS and leader in peers, f"peers: {peers}")
    config = c.operator.raft_config()
    leaders = [s for s in config["Servers"] if s["Leader"]]
    expect(len(config["Servers"]) == SERVERS and len(leaders) == 1, f"raft: {config}")
    expect(leaders[0]["Address"] == leader, f"the raft configuration names the same leader: {config}")


def run_checks(client):
    failures = 0
    for name, fn in CHECKS:
        try:
            fn(client)
            print(f"  ok   {name}", flush=True)
        except Exception as error:  # report every failing area, not just the first
            failures += 1
            print(f"  FAIL {name}: {type(error).__name__}: {error}", flush=True)
    print(f"{len(CHECKS) - failures} of {len(CHECKS)} areas passed", flush=True)
    return failures


def single_agent(binary):
    with Agent(binary) as agent:
        print(f"agent ready in {agent.ready_seconds:.3f} s on {agent.address}", flush=True)
        failures = run_checks(consul.Consul(host="127.0.0.1", port=agent.http_port))
        if failures:
            agent.fail(f"{failures} area(s) failed")


def follower_of_cluster(binary):
    global SERVERS
    SERVERS = 3
    work = tempfile.mkdtemp(prefix="cairn-compat-cluster-")
    servers = [Server(binary, work, f"s{i}", 3) for i in (1, 2, 3)]
    for s in servers:
        s.join_ports = [o.serf_port for o in servers if o is not s]
        s.start()
    try:
        follower = wait_for_follower(servers)
        print(f"cluster up; checks go to follower {follower.name} on {follower.address}", flush=True)
        failures = run_checks(consul.Consul(host="127.0.0.1", port=follower.http_port))
        if failures:
            for s in servers:
                print(f"--- {s.name} log tail ---\n{s.log_tail()}", flush=True)
            raise SystemExit(f"FAIL: {failures} area(s) failed; reproduce: /usr/bin/python3 {' '.join(sys.argv)}")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


def wait_for_follower(servers, timeout=30):
    """A server that knows a leader other than itself, once all three agree on one and every
    server's node is in the catalog."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            leaders, nodes = set(), []
            for s in servers:
                with urllib.request.urlopen(f"http://{s.address}/v1/status/leader", timeout=1) as r:
                    leaders.add(json.loads(r.read()))
                with urllib.request.urlopen(f"http://{s.address}/v1/catalog/nodes?stale", timeout=1) as r:
                    nodes.append(len(json.loads(r.read())))
            if len(leaders) == 1 and "" not in leaders and min(nodes) == 3:
                leader = leaders.pop()
                return next(s for s in servers if not leader.endswith(f":{s.server_port}"))
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise SystemExit("FAIL: the 3-server cluster did not elect a leader and register its nodes in time")


if __name__ == "__main__":
    if "--cluster" in sys.argv[2:]:
        follower_of_cluster(sys.argv[1])
    else:
        single_agent(sys.argv[1])
