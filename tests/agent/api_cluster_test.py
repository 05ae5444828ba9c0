#!/usr/bin/python3
"""agent.api_cluster: Consul's HTTP API on a real three-server cluster, asked through followers.

Starts 3 `cairn agent -server -bootstrap-expect=3` processes on 127.0.0.1 and sends every request
over real sockets, most of them to followers (their writes are forwarded to the leader). Checks:

  1. every endpoint area: /v1/kv (GET recurse, keys, separator, raw, index+wait; PUT flags, cas,
     acquire, release; DELETE recurse, cas), /v1/txn (a mixed txn that commits; a failing one that
     answers 409 with per-operation Errors and writes none of its keys), /v1/session/*,
     /v1/catalog/*, /v1/health/* (?passing, ?tag=), /v1/status/*, /v1/operator/raft/configuration,
     /v1/agent/self and members; X-Consul-Index on indexed reads (a 404 included),
     X-Consul-KnownLeader, ?consistent and ?stale reads on a follower;
  2. blocking queries held on a follower wake on their own key, prefix or deletion, promptly,
     and not on an unrelated write (a return at wait expiry with the same index is allowed);
  3. sessions and locks: concurrent acquires from two servers (one winner, the other after the
     release), lock-delay after the holder's session is destroyed, release and delete behaviors,
     a session invalidated when its node's check turns critical;
  4. the leader SIGKILLed while a client does CAS increments through the followers (re-reading
     with ?consistent after any error): the counter equals the acknowledged increments (plus any
     whose answer was lost but that the re-read proved applied) and the killed server, restarted
     on its data dir, rejoins as a voter and reads the final counter.

Elections can happen on a loaded machine (Raft's election timeout is 100-200 ms): a request
refused with "No cluster leader" is retried, and a step whose write had an unknown outcome, or
whose timing check fails while the Raft term moved, runs again with fresh keys (noted in the
output). A wrong answer without an election fails at once.

usage: /usr/bin/python3 api_cluster_test.py <cairn binary>
"""
import base64
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from cairn_agent import cluster_leader as leader_of, http_request as request, start_servers  # noqa: E402

SERVERS = []
DEADLINE_SECONDS = 240  # CTest kills the test at 300 s; fail first, with the logs
DEADLINE = time.monotonic() + DEADLINE_SECONDS
REPRODUCE = "reproduce: /usr/bin/python3 " + " ".join(sys.argv)
FAILED = threading.Event()
KILLED = set()  # names of the servers this test killed on purpose
NO_LEADER = b"No cluster leader"
RETRIED = []  # requests retried because the cluster was between leaders, for the summary


class Transient(Exception):
    """A step was disturbed by a leader election (the 100 ms election timeout fires on a loaded
    machine) or by the test's own slowness, not by a wrong answer: the step is run again."""


def crashed():
    """'<name> exited with <code>' for each server that stopped without the test stopping it."""
    return [f"{s.name} exited with {s.proc.returncode}" for s in SERVERS
            if s.proc is not None and s.proc.poll() is not None and s.name not in KILLED]


def report_failure(message):
    FAILED.set()
    print(f"FAIL: {message}", flush=True)
    if crashed():
        print("crashed: " + ", ".join(crashed()), flush=True)
    for s in SERVERS:
        print(f"--- {s.name} log tail ({s.log_path}) ---\n{s.log_tail()}", flush=True)
    print(REPRODUCE, flush=True)
    for s in SERVERS:
        s.kill()


def fail(message):
    report_failure(message)
    raise SystemExit(1)


def watchdog():
    if not FAILED.is_set():
        report_failure(f"the test did not finish within its {DEADLINE_SECONDS} s deadline")
        os._exit(1)


def check(condition, message):
    if not condition:
        fail(message)




def steady_request(server, method, path, body=None, retry_unknown=False):
    """request(), retried for up to 15 s while the cluster is between leaders: on "No cluster leader"
    (refused before anything was proposed), and for reads (or with retry_unknown) on any 500 or no
    answer. A write whose outcome is unknown raises Transient otherwise: its step runs again with
    fresh keys, since a retried write may have been applied twice (two ModifyIndexes)."""
    deadline = min(time.monotonic() + 15, DEADLINE)
    while True:
        status, headers, data = request(server, method, path, body)
        refused = status == 500 and data.startswith(NO_LEADER)
        unknown = status == 0 or (status == 500 and not refused)
        if not (refused or unknown) or time.monotonic() >= deadline:
            return status, headers, data
        if unknown and method != "GET" and not retry_unknown:
            raise Transient(f"{method} {path} on {server.name}: outcome unknown: {status} {data[:160]!r}")
        RETRIED.append(f"{method} {path} on {server.name}: {status} {data[:80]!r}")
        time.sleep(0.1)


def call(server, method, path, body=None, expect=200, retry_unknown=False):
    """A request that must answer `expect`; returns (headers, body bytes)."""
    status, headers, data = steady_request(server, method, path, body, retry_unknown)
    check(status == expect, f"{method} {path} on {server.name} (body {body!r}): expected {expect}, "
                            f"got {status} {data[:300]!r}")
    return headers, data


def write(server, method, path, body=None, retry_unknown=False):
    """A write answering Consul's true/false; returns the boolean."""
    _, data = call(server, method, path, body, retry_unknown=retry_unknown)
    check(data.strip() in (b"true", b"false"), f"{method} {path} on {server.name}: not true/false: {data!r}")
    return data.strip() == b"true"


def read(server, path, expect=200):
    """An indexed read: checks X-Consul-Index and X-Consul-KnownLeader; returns (index, JSON or bytes)."""
    headers, data = call(server, "GET", path, expect=expect)
    index = headers.get("x-consul-index", "")
    check(index.isdigit() and int(index) > 0, f"GET {path} on {server.name}: X-Consul-Index missing or bad: "
                                              f"{headers}")
    check(headers.get("x-consul-knownleader") == "true",
          f"GET {path} on {server.name}: X-Consul-KnownLeader is not true: {headers}")
    if expect != 200 or "raw" in path.partition("?")[2].split("&"):
        return int(index), data
    return int(index), json.loads(data)


def kv_entry(server, key, mode="consistent"):
    """The key's entry (a dict, Value decoded) read with ?<mode>, or None on a 404."""
    status, headers, data = steady_request(server, "GET", f"/v1/kv/{key}?{mode}")
    check(status in (200, 404), f"GET /v1/kv/{key}?{mode} on {server.name}: {status} {data!r}")
    check("x-consul-index" in headers, f"GET /v1/kv/{key}?{mode} on {server.name}: no X-Consul-Index: {headers}")
    if status == 404:
        return None
    entry = json.loads(data)[0]
    entry["Value"] = base64.b64decode(entry["Value"]).decode() if entry["Value"] is not None else ""
    return entry


def wait_for(what, predicate, timeout):
    deadline = min(time.monotonic() + timeout, DEADLINE)
    while time.monotonic() < deadline:
        check(not crashed(), f"a server crashed while waiting for {what}: {', '.join(crashed())}")
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    fail(f"timed out after {timeout} s waiting for {what}")




def ok(message):
    print(f"  ok   {message}", flush=True)


def cluster_term():
    """The highest Raft term any live server reports: it moves with every election."""
    terms = [0]
    for s in SERVERS:
        status, _, body = request(s, "GET", "/v1/agent/self", timeout=5) if s.alive() else (0, {}, b"")
        if status == 200:
            terms.append(int(json.loads(body)["Stats"]["raft"]["term"]))
    return max(terms)


def check_steady(condition, message, term):
    """check() for an answer that an election can also explain: Transient if the term moved since `term`."""
    if condition:
        return
    if cluster_term() != term:
        raise Transient(f"{message} (a leader election happened meanwhile)")
    fail(message)


def retry_transient(what, step, attempts=3):
    """Runs step(attempt) until it is not disturbed; fails after `attempts` disturbed runs."""
    for attempt in range(attempts):
        try:
            return step(attempt)
        except Transient as disturbed:
            print(f"  note {what}: attempt {attempt + 1} disturbed, run again: {disturbed}", flush=True)
    fail(f"{what}: disturbed {attempts} times in a row (see the notes above)")


def roles():
    """(leader, followers) as the live servers currently agree."""
    leader = wait_for("a leader all live servers agree on", lambda: leader_of(SERVERS), 30)
    return leader, [s for s in SERVERS if s is not leader]


# ---- 1. every endpoint area ---------------------------------------------------------------------

def check_status_operator_agent(attempt):
    term = cluster_term()
    leader, followers = roles()
    expected = sorted(f"127.0.0.1:{s.server_port}" for s in SERVERS)
    for s in SERVERS:
        _, body = call(s, "GET", "/v1/status/leader")
        check_steady(json.loads(body) == f"127.0.0.1:{leader.server_port}",
                     f"/v1/status/leader on {s.name}: {body!r}, want {leader.name}'s", term)
        _, body = call(s, "GET", "/v1/status/peers")
        check(sorted(json.loads(body)) == expected, f"/v1/status/peers on {s.name}: {body!r}, want {expected}")
    _, body = call(followers[0], "GET", "/v1/operator/raft/configuration")
    servers = json.loads(body)["Servers"]
    check(sorted(x["Address"] for x in servers) == expected and all(x["Voter"] for x in servers),
          f"raft configuration on a follower: {body!r}")
    check_steady([x["Node"] for x in servers if x["Leader"]] == [leader.name],
                 f"raft configuration leader: {body!r}, want {leader.name}", term)
    check(sorted(x["Node"] for x in servers) == ["s1", "s2", "s3"], f"raft configuration nodes: {body!r}")
    for s in SERVERS:
        _, body = call(s, "GET", "/v1/agent/self")
        me = json.loads(body)
        check(me["Config"]["NodeName"] == s.name and me["Config"]["Server"] is True
              and me["Config"]["Datacenter"] == "dc1", f"/v1/agent/self on {s.name}: {me['Config']}")
        check_steady(me["Stats"]["raft"]["state"] == ("Leader" if s is leader else "Follower"),
                     f"/v1/agent/self on {s.name}: raft state {me['Stats']['raft']}", term)
        check(me["Member"]["Name"] == s.name and me["Member"]["Port"] == s.serf_port,
              f"/v1/agent/self on {s.name}: Member {me['Member']}")

    def all_members_alive():
        _, body = call(followers[1], "GET", "/v1/agent/members")
        members = {m["Name"]: m for m in json.loads(body)}
        return sorted(members) == ["s1", "s2", "s3"] and all(
            m["Status"] == 1 and m["Tags"]["role"] == "consul" and m["Tags"]["port"] == str(s.server_port)
            for s in SERVERS for m in [members[s.name]])

    wait_for("/v1/agent/members on a follower to list s1, s2, s3 alive as servers", all_members_alive, 15)
    _, body = call(followers[0], "GET", "/v1/catalog/datacenters")
    check(json.loads(body) == ["dc1"], f"/v1/catalog/datacenters: {body!r}")
    ok("status/leader and peers on every server, raft configuration, agent self/members, datacenters")


def check_kv(attempt):
    term = cluster_term()
    leader, (f0, f1) = roles()
    p = f"api{attempt}/"
    check(write(f0, "PUT", f"/v1/kv/{p}kv/one?flags=42", "first"), "PUT with flags from a follower")
    index, entries = read(f0, f"/v1/kv/{p}kv/one")
    e = entries[0]
    check(e["Key"] == f"{p}kv/one" and e["Flags"] == 42 and base64.b64decode(e["Value"]) == b"first"
          and e["ModifyIndex"] == index and e["CreateIndex"] == index and e["LockIndex"] == 0 and "Session" not in e,
          f"GET /v1/kv/{p}kv/one on {f0.name} (index {index}): {e}")
    _, raw = read(f1, f"/v1/kv/{p}kv/one?raw&consistent")
    check(raw == b"first", f"?raw&consistent on the other follower: {raw!r}")
    # A missing key: 404 with an index (the KV table's) and the leader header.
    index_missing, _ = read(f1, f"/v1/kv/{p}kv/missing?consistent", expect=404)
    check(index_missing >= index, f"404 X-Consul-Index {index_missing} below the last KV write {index}")
    status, _, body = request(f1, "GET", f"/v1/kv/{p}kv/one?stale&consistent")
    check(status == 400, f"?stale&consistent must be refused with 400: {status} {body!r}")

    # ?consistent on a follower sees a write made through the leader at once; ?stale eventually.
    check(write(leader, "PUT", f"/v1/kv/{p}kv/one", "second"), "PUT through the leader")
    e = kv_entry(f1, f"{p}kv/one", "consistent")
    check(e and e["Value"] == "second" and e["Flags"] == 0, f"?consistent read on a follower after the write: {e}")
    wait_for("?stale read on the other follower to see the write",
             lambda: (kv_entry(f0, f"{p}kv/one", "stale") or {}).get("Value") == "second", 10)

    # cas: 0 only creates; a stale index fails; the current one succeeds.
    one = kv_entry(f0, f"{p}kv/one")
    check(not write(f0, "PUT", f"/v1/kv/{p}kv/one?cas=0", "x"), "cas=0 on an existing key must fail")
    check(not write(f1, "PUT", f"/v1/kv/{p}kv/one?cas={one['ModifyIndex'] - 1}", "x"), "cas with a stale index")
    check(kv_entry(leader, f"{p}kv/one")["Value"] == "second", "a failed cas changed the value")
    check(write(f1, "PUT", f"/v1/kv/{p}kv/one?cas={one['ModifyIndex']}&flags=7", "third"), "cas with the index")
    e = kv_entry(f0, f"{p}kv/one")
    check(e["Value"] == "third" and e["Flags"] == 7 and e["ModifyIndex"] > one["ModifyIndex"]
          and e["CreateIndex"] == one["CreateIndex"], f"after a successful cas: {e}")
    check(write(f0, "PUT", f"/v1/kv/{p}kv/created?cas=0", "new"), "cas=0 must create a missing key")
    check(not write(f1, "PUT", f"/v1/kv/{p}kv/created?cas=0", "again"), "cas=0 twice must fail the second time")

    # recurse, keys, separator.
    for key in (f"{p}tree/a", f"{p}tree/b", f"{p}tree/sub/c", f"{p}treex"):
        check(write(f0 if key.endswith("a") else f1, "PUT", f"/v1/kv/{key}", key.upper()), f"PUT {key}")
    index, entries = read(f0, f"/v1/kv/{p}tree/?recurse&consistent")
    tree = [f"{p}tree/a", f"{p}tree/b", f"{p}tree/sub/c"]
    check([x["Key"] for x in entries] == tree
          and [base64.b64decode(x["Value"]).decode() for x in entries] == [k.upper() for k in tree],
          f"?recurse: {entries}")
    check(index == max(x["ModifyIndex"] for x in entries), f"?recurse X-Consul-Index {index}: {entries}")
    _, keys = read(f1, f"/v1/kv/{p}tree/?keys&consistent")
    check(keys == [f"{p}tree/a", f"{p}tree/b", f"{p}tree/sub/c"], f"?keys: {keys}")
    _, keys = read(f1, f"/v1/kv/{p}tree/?keys&separator=/&consistent")
    check(keys == [f"{p}tree/a", f"{p}tree/b", f"{p}tree/sub/"], f"?keys&separator=/: {keys}")
    read(f1, f"/v1/kv/{p}nothing-here/?recurse&consistent", expect=404)

    # DELETE: cas with a stale index fails and keeps the key; with the index it deletes; recurse.
    b = kv_entry(f0, f"{p}tree/b")
    check(not write(f1, "DELETE", f"/v1/kv/{p}tree/b?cas={b['ModifyIndex'] + 1000}"), "delete-cas stale index")
    check(kv_entry(leader, f"{p}tree/b") is not None, "a failed delete-cas removed the key")
    check(write(f1, "DELETE", f"/v1/kv/{p}tree/b?cas={b['ModifyIndex']}"), "delete-cas with the index")
    check(kv_entry(f0, f"{p}tree/b") is None, "delete-cas did not remove the key")
    check(write(f0, "DELETE", f"/v1/kv/{p}tree/?recurse"), "DELETE ?recurse")
    read(leader, f"/v1/kv/{p}tree/?recurse&consistent", expect=404)
    check(kv_entry(f1, f"{p}treex") is not None, f"DELETE {p}tree/?recurse removed {p}treex outside the prefix")
    check(write(f0, "DELETE", f"/v1/kv/{p}kv/created"), "plain DELETE")
    check(kv_entry(f1, f"{p}kv/created") is None, "plain DELETE did not remove the key")

    # ?index with ?wait and no change: answers at expiry with the same index.
    e = kv_entry(f0, f"{p}kv/one")
    started = time.monotonic()
    index, entries = read(f1, f"/v1/kv/{p}kv/one?index={e['ModifyIndex']}&wait=1s")
    took = time.monotonic() - started
    check_steady(0.9 <= took < 4, f"?index={e['ModifyIndex']}&wait=1s with no change answered in {took:.2f} s",
                 term)
    check(index == e["ModifyIndex"] and entries[0]["ModifyIndex"] == e["ModifyIndex"],
          f"?index={e['ModifyIndex']}&wait=1s with no change: {took:.2f} s, index {index}, {entries}")
    ok("kv: flags, raw, 404 with index, consistent/stale on followers, cas, recurse, keys, separator, "
       "delete cas/recurse, index+wait")


def txn_kv(verb, key, value=None, **extra):
    op = {"Verb": verb, "Key": key, **extra}
    if value is not None:
        op["Value"] = base64.b64encode(value.encode()).decode()
    return {"KV": op}


def check_txn(attempt):
    leader, followers = roles()
    f0, f1 = followers
    t = f"txn{attempt}/"
    check(write(leader, "PUT", f"/v1/kv/{t}existing", "old"), f"PUT {t}existing")
    check(write(leader, "PUT", f"/v1/kv/{t}doomed", "bye"), f"PUT {t}doomed")
    existing = kv_entry(f0, f"{t}existing")
    ops = [txn_kv("set", f"{t}a", "A", Flags=3),
           txn_kv("cas", f"{t}b", "B", Index=0),
           txn_kv("check-index", f"{t}existing", Index=existing["ModifyIndex"]),
           txn_kv("get", f"{t}existing"),
           txn_kv("check-not-exists", f"{t}never"),
           txn_kv("delete", f"{t}doomed"),
           {"Node": {"Verb": "get", "Node": {"Node": followers[0].name}}}]
    _, body = call(f0, "PUT", "/v1/txn", ops)
    answer = json.loads(body)
    results = answer.get("Results") or []
    check(answer.get("Errors") is None and len(results) == 4, f"a mixed txn through a follower: {body!r}")
    check(results[0]["KV"]["Key"] == f"{t}a" and results[0]["KV"]["Flags"] == 3
          and results[1]["KV"]["Key"] == f"{t}b"
          and base64.b64decode(results[2]["KV"]["Value"]) == b"old"
          and results[3]["Node"]["Node"] == followers[0].name, f"mixed txn results: {results}")
    a, b_entry = kv_entry(f1, f"{t}a"), kv_entry(f1, f"{t}b")
    check(a and a["Value"] == "A" and a["Flags"] == 3 and b_entry and b_entry["Value"] == "B"
          and a["ModifyIndex"] == b_entry["ModifyIndex"], f"the txn's writes on the other follower: {a} {b_entry}")
    check(kv_entry(f1, f"{t}doomed") is None, f"the txn's delete did not remove {t}doomed")

    # A failing txn: two of its ops fail, so none of its writes may land.
    a = kv_entry(f0, f"{t}a")
    ops = [txn_kv("set", f"{t}fail-x", "X"),
           txn_kv("set", f"{t}fail-y", "Y"),
           txn_kv("cas", f"{t}a", "changed", Index=a["ModifyIndex"] + 1000),
           txn_kv("check-not-exists", f"{t}b"),
           txn_kv("delete", f"{t}existing"),
           txn_kv("set", f"{t}a", "overwritten")]
    status, _, body = steady_request(f1, "PUT", "/v1/txn", ops)
    check(status == 409, f"a failing txn must answer 409: {status} {body!r}")
    answer = json.loads(body)
    errors = answer.get("Errors") or []
    check(answer.get("Results") is None and sorted(e["OpIndex"] for e in errors) == [2, 3]
          and all(e["What"] for e in errors), f"a failing txn's Errors must name ops 2 and 3: {body!r}")
    for s in SERVERS:
        for key in (f"{t}fail-x", f"{t}fail-y"):
            check(kv_entry(s, key) is None, f"the failed txn wrote {key} (read ?consistent on {s.name})")
        after = kv_entry(s, f"{t}a")
        check(after["Value"] == "A" and after["ModifyIndex"] == a["ModifyIndex"],
              f"the failed txn changed {t}a on {s.name}: {after}")
        check(kv_entry(s, f"{t}existing") is not None, f"the failed txn deleted {t}existing on {s.name}")
    ok("txn: a mixed txn commits through a follower; a failing one answers 409 with per-op Errors, writes nothing")


def check_catalog_and_health(attempt):
    leader, (f0, f1) = roles()
    n1, n2, web, db, rack = f"ext{attempt}-1", f"ext{attempt}-2", f"web{attempt}", f"db{attempt}", f"r{attempt}"
    web1 = {"Node": n1, "Address": "10.0.0.1", "NodeMeta": {"rack": rack},
            "Service": {"ID": "web1", "Service": web, "Tags": ["primary", "v1"], "Port": 8080},
            "Check": {"CheckID": "service:web1", "Name": "web1 alive", "Status": "passing", "ServiceID": "web1"}}
    web2 = {"Node": n2, "Address": "10.0.0.2",
            "Service": {"ID": "web2", "Service": web, "Tags": ["secondary"], "Port": 8081},
            "Check": {"CheckID": "service:web2", "Name": "web2 alive", "Status": "critical", "ServiceID": "web2"}}
    db2 = {"Node": n2, "Address": "10.0.0.2", "Service": {"ID": "db", "Service": db, "Port": 5432}}
    check(write(f0, "PUT", "/v1/catalog/register", web1), f"register {n1}/web1 through a follower")
    check(write(f1, "PUT", "/v1/catalog/register", web2), f"register {n2}/web2 through the other follower")
    check(write(leader, "PUT", "/v1/catalog/register", db2), f"register {n2}/db through the leader")
    # Only the nodes of this attempt and the servers count (an earlier, disturbed attempt may have left some).
    ours = (n1, n2, "s1", "s2", "s3")

    _, nodes = read(f1, "/v1/catalog/nodes?consistent")
    names = sorted(n["Node"] for n in nodes if n["Node"] in ours)
    check(names == sorted(ours), f"/v1/catalog/nodes: {names}")
    _, nodes = read(f0, f"/v1/catalog/nodes?node-meta=rack:{rack}&consistent")
    check([n["Node"] for n in nodes] == [n1], f"/v1/catalog/nodes?node-meta=rack:{rack}: {nodes}")
    # f0 has now applied the other servers' registrations (the ?consistent read above): default reads.
    _, services = read(f0, "/v1/catalog/services")
    check(services.get(web) == ["primary", "secondary", "v1"] and services.get(db) == [],
          f"/v1/catalog/services: {services}")
    index, instances = read(f1, f"/v1/catalog/service/{web}")
    check(sorted(i["ServiceID"] for i in instances) == ["web1", "web2"] and index >= max(
        i["ModifyIndex"] for i in instances), f"/v1/catalog/service/{web} (index {index}): {instances}")
    _, instances = read(f1, f"/v1/catalog/service/{web}?tag=primary")
    check([(i["Node"], i["ServiceID"], i["ServicePort"], i["Address"]) for i in instances]
          == [(n1, "web1", 8080, "10.0.0.1")], f"/v1/catalog/service/{web}?tag=primary: {instances}")
    _, node = read(f0, f"/v1/catalog/node/{n2}")
    check(node["Node"]["Address"] == "10.0.0.2" and sorted(node["Services"]) == ["db", "web2"],
          f"/v1/catalog/node/{n2}: {node}")
    _, node = read(f0, "/v1/catalog/node/no-such-node")
    check(node is None, f"/v1/catalog/node of an unknown node must be null: {node}")

    _, checks = read(f1, f"/v1/health/node/{n1}")
    check([(c["CheckID"], c["Status"], c["ServiceID"]) for c in checks] == [("service:web1", "passing", "web1")],
          f"/v1/health/node/{n1}: {checks}")
    _, checks = read(f0, f"/v1/health/checks/{web}")
    check(sorted((c["CheckID"], c["Status"]) for c in checks)
          == [("service:web1", "passing"), ("service:web2", "critical")], f"/v1/health/checks/{web}: {checks}")
    _, entries = read(f0, f"/v1/health/service/{web}")
    check(sorted(e["Service"]["ID"] for e in entries) == ["web1", "web2"], f"/v1/health/service/{web}: {entries}")
    _, entries = read(f1, f"/v1/health/service/{web}?passing")
    check([e["Service"]["ID"] for e in entries] == ["web1"]
          and [c["CheckID"] for c in entries[0]["Checks"]] == ["service:web1"],
          f"/v1/health/service/{web}?passing: {entries}")
    _, entries = read(f1, f"/v1/health/service/{web}?tag=secondary")
    check([(e["Node"]["Node"], e["Service"]["ID"]) for e in entries] == [(n2, "web2")],
          f"/v1/health/service/{web}?tag=secondary: {entries}")
    _, entries = read(f1, f"/v1/health/service/{web}?tag=secondary&passing")
    check(entries == [], f"/v1/health/service/{web}?tag=secondary&passing must be empty: {entries}")

    # The servers' own serfHealth checks are left out of the exact comparisons: gossip on a loaded
    # machine may flag one for a moment, and they are not what these queries are about.
    def registered(checks):
        return sorted((c["Node"], c["CheckID"], c["Status"]) for c in checks if c["Node"] in (n1, n2))

    _, checks = read(f0, "/v1/health/state/critical")
    check(registered(checks) == [(n2, "service:web2", "critical")]
          and all(c["Status"] == "critical" for c in checks), f"/v1/health/state/critical: {checks}")
    _, checks = read(f0, "/v1/health/state/passing")
    check(registered(checks) == [(n1, "service:web1", "passing")]
          and all(c["Status"] == "passing" for c in checks), f"/v1/health/state/passing: {checks}")
    _, checks = read(f0, "/v1/health/state/any")
    check(registered(checks) == [(n1, "service:web1", "passing"), (n2, "service:web2", "critical")]
          and sorted(c["Node"] for c in checks if c["CheckID"] == "serfHealth") == ["s1", "s2", "s3"],
          f"/v1/health/state/any: {checks}")
    status, _, body = request(f0, "GET", "/v1/health/state/bogus")
    check(status == 400, f"/v1/health/state/bogus must answer 400: {status} {body!r}")

    # Deregistration through followers: a service, then a whole node.
    check(write(f1, "PUT", "/v1/catalog/deregister", {"Node": n2, "ServiceID": "web2"}), "deregister web2")
    _, instances = read(f0, f"/v1/catalog/service/{web}?consistent")
    check([i["ServiceID"] for i in instances] == ["web1"], f"{web} after deregistering web2: {instances}")
    _, checks = read(f0, f"/v1/health/checks/{web}")
    check([c["CheckID"] for c in checks] == ["service:web1"], f"web2's check outlived its service: {checks}")
    check(write(f0, "PUT", "/v1/catalog/deregister", {"Node": n1}), f"deregister node {n1}")
    _, nodes = read(f1, "/v1/catalog/nodes?consistent")
    check(n1 not in [n["Node"] for n in nodes], f"{n1} still in /v1/catalog/nodes: {nodes}")
    _, instances = read(f1, f"/v1/catalog/service/{web}")
    check(instances == [], f"{web} instances after deregistering {n1}: {instances}")
    _, services = read(f1, "/v1/catalog/services")
    check(web not in services and db in services, f"/v1/catalog/services after deregistrations: {services}")
    ok("catalog: register/deregister through followers, nodes, services, service/<svc>?tag, node/<node>; "
       "health: node, checks, service ?passing ?tag, state")


def create_session(server, body=None):
    _, data = call(server, "PUT", "/v1/session/create", body or {})
    session = json.loads(data).get("ID", "")
    check(len(session) == 36, f"session create on {server.name} ({body}): {data!r}")
    return session


def session_info(server, session):
    _, sessions = read(server, f"/v1/session/info/{session}?consistent")
    return sessions[0] if sessions else None


def check_sessions(attempt):
    leader, (f0, f1) = roles()
    k = f"sess{attempt}/"
    name = f"api-test{attempt}"
    sid = create_session(f0, {"Name": name, "TTL": "30s", "LockDelay": "2s"})
    info = session_info(f1, sid)
    check(info and info["ID"] == sid and info["Name"] == name and info["Node"] == f0.name
          and info["Checks"] == ["serfHealth"] and info["TTL"] == "30s" and info["Behavior"] == "release"
          and info["LockDelay"] == 2_000_000_000, f"/v1/session/info on the other follower: {info}")
    _, on_node = read(f1, f"/v1/session/node/{f0.name}")
    check([s["ID"] for s in on_node if s["Name"] == name] == [sid] and all(s["Node"] == f0.name for s in on_node),
          f"/v1/session/node/{f0.name}: {on_node}")
    _, listed = read(leader, "/v1/session/list")
    check(sid in [s["ID"] for s in listed], f"/v1/session/list: {listed}")
    _, renewed = call(f1, "PUT", f"/v1/session/renew/{sid}")
    renewed = json.loads(renewed)
    check(len(renewed) == 1 and renewed[0]["ID"] == sid and renewed[0]["TTL"] == "30s",
          f"/v1/session/renew through a follower: {renewed}")
    status, _, body = request(f0, "PUT", "/v1/session/renew/00000000-0000-0000-0000-000000000000")
    check(status == 404, f"renewing an unknown session must answer 404: {status} {body!r}")
    check(write(f1, "PUT", f"/v1/session/destroy/{sid}"), "session destroy through a follower")
    check(session_info(f0, sid) is None, "a destroyed session is still in /v1/session/info")
    _, listed = read(f0, "/v1/session/list")
    check(sid not in [s["ID"] for s in listed], f"a destroyed session is still in /v1/session/list: {listed}")

    # Behaviors: release keeps the key without its Session; delete removes the key.
    released = create_session(f0, {"Name": "rel", "LockDelay": "0s"})
    deleted = create_session(f1, {"Name": "del", "Behavior": "delete", "LockDelay": "0s"})
    check(write(f0, "PUT", f"/v1/kv/{k}release-me?acquire={released}", "r"), "acquire with the release session")
    check(write(f1, "PUT", f"/v1/kv/{k}delete-me?acquire={deleted}", "d"), "acquire with the delete session")
    check(kv_entry(leader, f"{k}release-me")["Session"] == released, "the key does not name its holder")
    check(kv_entry(leader, f"{k}delete-me")["Session"] == deleted, "the key does not name its holder")
    check(write(f1, "PUT", f"/v1/session/destroy/{released}"), "destroy the release session")
    check(write(f0, "PUT", f"/v1/session/destroy/{deleted}"), "destroy the delete session")
    for s in SERVERS:
        e = kv_entry(s, f"{k}release-me")
        check(e and "Session" not in e and e["Value"] == "r" and e["LockIndex"] == 1,
              f"Behavior release: the key after the session's destruction on {s.name}: {e}")
        check(kv_entry(s, f"{k}delete-me") is None, f"Behavior delete: the key survived on {s.name}")
    ok("session create/info/node/list/renew/destroy through followers; release and delete behaviors")


def check_lock_race(attempt):
    """Two sessions acquire one key at once through two followers: exactly one wins."""
    term = cluster_term()
    _, (f0, f1) = roles()
    key = f"locks/race{attempt}"
    sa = create_session(f0, {"Name": "lock-a", "LockDelay": "2s"})
    sb = create_session(f1, {"Name": "lock-b", "LockDelay": "2s"})
    barrier = threading.Barrier(2)
    won = {}

    def contend(server, session):
        barrier.wait(10)
        won[session] = request(server, "PUT", f"/v1/kv/{key}?acquire={session}", session)

    threads = [threading.Thread(target=contend, args=args) for args in ((f0, sa), (f1, sb))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    check_steady(all(won.get(x, (0,))[0] == 200 for x in (sa, sb)), f"concurrent acquires of {key}: {won}", term)
    winners = [x for x in (sa, sb) if won[x][2].strip() == b"true"]
    check(len(winners) == 1, f"exactly one of two concurrent acquires of {key} must win: {won}")
    winner = winners[0]
    loser = sb if winner == sa else sa
    loser_server, winner_server = (f1, f0) if winner == sa else (f0, f1)
    e = kv_entry(f0, key)
    check(e["Session"] == winner and e["Value"] == winner and e["LockIndex"] == 1, f"the lock after the race: {e}")
    check(not write(loser_server, "PUT", f"/v1/kv/{key}?acquire={loser}", "x"), "acquire of a held lock")
    check(not write(loser_server, "PUT", f"/v1/kv/{key}?release={loser}", "x"), "release by a non-holder")
    check(write(winner_server, "PUT", f"/v1/kv/{key}?release={winner}", "released"), "release by the holder")
    e = kv_entry(loser_server, key)
    check(e and "Session" not in e and e["LockIndex"] == 1 and e["Value"] == "released", f"after release: {e}")
    check(write(loser_server, "PUT", f"/v1/kv/{key}?acquire={loser}", loser), "acquire after the release")
    e = kv_entry(winner_server, key)
    check(e["Session"] == loser and e["LockIndex"] == 2, f"the lock after the second acquire: {e}")
    return key, (winner, winner_server), (loser, loser_server)


def check_lock_delay(attempt):
    """Once the holder's session is destroyed, nobody acquires the key for its 2 s lock-delay."""
    key, (waiter, waiter_server), (holder, holder_server) = check_lock_race(attempt)
    destroyed_at = time.monotonic()
    check(write(holder_server, "PUT", f"/v1/session/destroy/{holder}"), "destroy the holder's session")
    e = kv_entry(waiter_server, key)
    check(e and "Session" not in e, f"destroying the holder's session did not release the lock: {e}")
    got = write(waiter_server, "PUT", f"/v1/kv/{key}?acquire={waiter}", "early")
    early = time.monotonic() - destroyed_at
    if early >= 1.9:
        raise Transient(f"too slow to probe the lock-delay: first acquire answered {early:.2f} s after the destroy")
    check(not got, f"an acquire {early:.2f} s after the holder's session was destroyed ignored its 2 s lock-delay")
    wait_for("the acquire to succeed once the lock-delay is over",
             lambda: write(waiter_server, "PUT", f"/v1/kv/{key}?acquire={waiter}", "late"), 10)
    late = time.monotonic() - destroyed_at
    check(late >= 1.95, f"the acquire succeeded {late:.2f} s after the destroy, inside the 2 s lock-delay")
    e = kv_entry(holder_server, key)
    check(e["Session"] == waiter and e["LockIndex"] == 3 and e["Value"] == "late", f"after the lock-delay: {e}")
    check(write(waiter_server, "PUT", f"/v1/session/destroy/{waiter}"), "destroy the last holder")
    return early, late


def check_session_invalidation(attempt):
    """A session tied to a node's serfHealth is invalidated when that check turns critical."""
    _, (f0, f1) = roles()
    node_name, key = f"ext-lock{attempt}", f"locks/tied{attempt}"
    node = {"Node": node_name, "Address": "10.0.0.9",
            "Check": {"CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing"}}
    check(write(f0, "PUT", "/v1/catalog/register", node), f"register {node_name} with serfHealth passing")
    tied = create_session(f0, {"Node": node_name, "Name": "tied", "LockDelay": "0s"})
    info = session_info(f1, tied)
    check(info and info["Node"] == node_name and info["Checks"] == ["serfHealth"], f"the tied session: {info}")
    check(write(f1, "PUT", f"/v1/kv/{key}?acquire={tied}", "held"), "acquire with the tied session")
    node["Check"]["Status"] = "critical"
    check(write(f1, "PUT", "/v1/catalog/register", node), f"mark {node_name}'s serfHealth critical")
    for s in SERVERS:
        check(session_info(s, tied) is None, f"the session survived its node's critical serfHealth on {s.name}")
        e = kv_entry(s, key)
        check(e and "Session" not in e and e["Value"] == "held",
              f"the lock of the invalidated session is still held on {s.name}: {e}")


def check_locks():
    early, late = retry_transient("lock race and lock-delay", check_lock_delay)
    ok(f"locks: one of two concurrent acquires through two followers wins, the other after the release; "
       f"lock-delay refused an acquire at {early:.2f} s, granted one at {late:.2f} s")
    retry_transient("session invalidation by a critical check", check_session_invalidation)
    ok("a session is invalidated (its lock released) when its node's serfHealth turns critical")


# ---- 2. blocking queries --------------------------------------------------------------------------

class Blocker(threading.Thread):
    """One blocking GET in the background; `answer` is (status, headers, body), `seconds` its time."""

    def __init__(self, server, path):
        super().__init__(daemon=True)
        self.server, self.path = server, path
        self.answer, self.returned_at = None, None

    def run(self):
        self.started_at = time.monotonic()
        self.answer = request(self.server, "GET", self.path, timeout=30)
        self.returned_at = time.monotonic()

    def describe(self):
        took = None if self.returned_at is None else round(self.returned_at - self.started_at, 2)
        return f"GET {self.path} on {self.server.name}: {self.answer} after {took} s"


def start_blocker(server, path):
    b = Blocker(server, path)
    b.start()
    time.sleep(0.3)  # let the query register its watch, so that the unrelated writes below test it
    return b


def expect_still_blocked(b, index, wait_seconds, unchanged, term):
    """Fails if the blocker returned before its wait expired, or returned a changed result.

    Returns False when it returned at expiry with the same index and an unchanged result (allowed).
    """
    if b.returned_at is None:
        return True
    status, headers, body = b.answer
    took = b.returned_at - b.started_at
    check_steady(status == 200, f"a blocking query failed while unrelated keys were written: {b.describe()}", term)
    check(took >= wait_seconds * 0.95, f"a blocking query returned early on an unrelated write: {b.describe()}")
    check(headers.get("x-consul-index") == str(index) and unchanged(body),
          f"a blocking query returned a changed result on an unrelated write: {b.describe()}")
    return False


def expect_woken(b, what, since, expect_status, newer_than, term):
    b.join(5)
    check_steady(b.returned_at is not None, f"a blocking query did not wake on {what}: {b.describe()}", term)
    took = b.returned_at - since
    status, headers, body = b.answer
    check_steady(took < 2.0, f"a blocking query woke {took:.2f} s after {what} (want < 2 s): {b.describe()}", term)
    check_steady(status == expect_status and int(headers.get("x-consul-index", "0")) > newer_than,
                 f"a blocking query woken by {what} must answer {expect_status} with an index above "
                 f"{newer_than}: {b.describe()}", term)
    return body, took


def blocking_key(attempt):
    """A blocking GET on a follower ignores another key, wakes on its own; answers at expiry unchanged."""
    term = cluster_term()
    leader, (f0, f1) = roles()
    a, other = f"watch{attempt}/a", f"watch{attempt}/b"
    check(write(leader, "PUT", f"/v1/kv/{a}", "a0"), f"PUT {a}")
    check(write(leader, "PUT", f"/v1/kv/{other}", "b0"), f"PUT {other}")
    index = kv_entry(f0, a)["ModifyIndex"]
    path = f"/v1/kv/{a}?index={index}&wait=5s"
    b = start_blocker(f0, path)

    def unchanged(body):
        entries = json.loads(body)
        return entries[0]["ModifyIndex"] == index and base64.b64decode(entries[0]["Value"]) == b"a0"

    for n, writer in enumerate((f1, leader, f1)):
        check(write(writer, "PUT", f"/v1/kv/{other}", f"b{n + 1}"), f"unrelated write to {other}")
    # The follower holding the query has applied the unrelated writes: a wrong wake-up would have fired.
    wait_for(f"{f0.name} to apply the writes to {other}",
             lambda: (kv_entry(f0, other, "stale") or {}).get("Value") == "b3", 5)
    time.sleep(0.2)
    if not expect_still_blocked(b, index, 5, unchanged, term):
        b = start_blocker(f0, path)
    sent_at = time.monotonic()
    check(write(f1, "PUT", f"/v1/kv/{a}", "a1"), f"PUT {a} through the other follower")
    body, took = expect_woken(b, f"a write of {a} through another server", sent_at, 200, index, term)
    entries = json.loads(body)
    check(base64.b64decode(entries[0]["Value"]) == b"a1" and entries[0]["ModifyIndex"] > index,
          f"a woken blocking query must carry the new value: {b.describe()}")

    # With only unrelated writes, it answers at wait expiry with the same index and value.
    index = entries[0]["ModifyIndex"]
    check(kv_entry(f0, a)["ModifyIndex"] == index, f"the woken query did not answer the latest {a}: {b.describe()}")
    b = start_blocker(f0, f"/v1/kv/{a}?index={index}&wait=1s")
    check(write(f1, "PUT", f"/v1/kv/{other}", "b4"), f"unrelated write to {other}")
    b.join(5)
    check_steady(b.returned_at is not None and b.answer[0] == 200, f"wait=1s: {b.describe()}", term)
    status, headers, body = b.answer
    check(b.returned_at - b.started_at >= 0.95 and headers.get("x-consul-index") == str(index)
          and json.loads(body)[0]["ModifyIndex"] == index, f"wait=1s with only unrelated writes: {b.describe()}")
    return took


def blocking_deleted_key(attempt):
    """A deleted key wakes its waiter with a 404 and a newer index (its tombstone's)."""
    term = cluster_term()
    leader, (f0, f1) = roles()
    key, other = f"watch{attempt}/del", f"watch{attempt}/unrelated"
    check(write(leader, "PUT", f"/v1/kv/{key}", "soon gone"), f"PUT {key}")
    index = kv_entry(f1, key)["ModifyIndex"]
    path = f"/v1/kv/{key}?index={index}&wait=5s"
    b = start_blocker(f1, path)
    check(write(f0, "PUT", f"/v1/kv/{other}", "x"), f"unrelated write to {other}")
    wait_for(f"{f1.name} to apply the write to {other}", lambda: kv_entry(f1, other, "stale") is not None, 5)
    time.sleep(0.2)
    if not expect_still_blocked(b, index, 5, lambda body: json.loads(body)[0]["ModifyIndex"] == index, term):
        b = start_blocker(f1, path)
    sent_at = time.monotonic()
    check(write(f0, "DELETE", f"/v1/kv/{key}"), f"DELETE {key} through the other follower")
    _, took = expect_woken(b, "the deletion of its key", sent_at, 404, index, term)
    return took


def blocking_prefix(attempt):
    """A blocking ?recurse on a follower ignores keys outside its prefix, wakes on a new key and a delete."""
    term = cluster_term()
    leader, (f0, f1) = roles()
    prefix = f"watch{attempt}/dir/"
    check(write(leader, "PUT", f"/v1/kv/{prefix}x", "x"), f"PUT {prefix}x")
    index, _ = read(f1, f"/v1/kv/{prefix}?recurse&consistent")
    path = f"/v1/kv/{prefix}?recurse&index={index}&wait=5s"
    b = start_blocker(f1, path)

    def unchanged(body):
        return [e["Key"] for e in json.loads(body)] == [f"{prefix}x"]

    sibling, other = f"watch{attempt}/dirx", f"watch{attempt}/other"  # share the string "watch<n>/dir"
    check(write(f0, "PUT", f"/v1/kv/{sibling}", "sibling"), f"unrelated write to {sibling}")
    check(write(leader, "PUT", f"/v1/kv/{other}", "other"), f"unrelated write to {other}")
    wait_for(f"{f1.name} to apply the unrelated writes",
             lambda: kv_entry(f1, other, "stale") is not None and kv_entry(f1, sibling, "stale"), 5)
    time.sleep(0.2)
    if not expect_still_blocked(b, index, 5, unchanged, term):
        b = start_blocker(f1, path)
    sent_at = time.monotonic()
    check(write(f0, "PUT", f"/v1/kv/{prefix}y", "y"), f"PUT {prefix}y through the other follower")
    body, took = expect_woken(b, "a new key under the prefix", sent_at, 200, index, term)
    check([e["Key"] for e in json.loads(body)] == [f"{prefix}x", f"{prefix}y"],
          f"a woken ?recurse query must list the new key: {b.describe()}")
    index = int(b.answer[1]["x-consul-index"])
    b = start_blocker(f1, f"/v1/kv/{prefix}?recurse&index={index}&wait=5s")
    sent_at = time.monotonic()
    check(write(leader, "DELETE", f"/v1/kv/{prefix}x"), f"DELETE {prefix}x through the leader")
    body, took_delete = expect_woken(b, "a deletion under the prefix", sent_at, 200, index, term)
    check([e["Key"] for e in json.loads(body)] == [f"{prefix}y"],
          f"a ?recurse query woken by a delete must not list the deleted key: {b.describe()}")
    return took, took_delete


def check_blocking():
    took = retry_transient("blocking GET on a key", blocking_key)
    ok(f"blocking GET on a follower ignored writes to another key, woke {took:.2f} s after its key was written "
       f"through another server, answered wait=1s at expiry unchanged")
    took = retry_transient("blocking GET on a deleted key", blocking_deleted_key)
    ok(f"blocking GET on a deleted key woke {took:.2f} s after the delete with a 404 and a newer index")
    took, took_delete = retry_transient("blocking ?recurse", blocking_prefix)
    ok(f"blocking ?recurse on a follower ignored writes outside its prefix, woke {took:.2f} s after a new key "
       f"and {took_delete:.2f} s after a delete under it")


# ---- 4. leader loss during CAS increments -----------------------------------------------------

class CasCounter(threading.Thread):
    """Increments a counter with CAS through the followers; after any error or failed CAS re-reads
    with ?consistent (so a retry is safe) and accounts for an increment that was applied unanswered."""

    def __init__(self, targets, key):
        super().__init__(daemon=True)
        self.targets, self.key = targets, key
        self.acked = 0       # increments answered true
        self.recovered = 0   # increments answered with an error or false, that the re-read shows applied
        self.errors = 0      # answers that were neither true nor false (status 0, 500, ...)
        self.refused = 0     # CAS answered false
        self.error_samples = []  # the first few error answers, for the report
        self.problem = None  # set on lost or duplicated increments
        self.stop = threading.Event()

    def consistent_read(self, turn):
        """(value, ModifyIndex) read with ?consistent, retried across the targets; None past 30 s."""
        deadline = min(time.monotonic() + 30, DEADLINE)
        while time.monotonic() < deadline:
            server = self.targets[turn % len(self.targets)]
            turn += 1
            status, _, body = request(server, "GET", f"/v1/kv/{self.key}?consistent", timeout=5)
            if status == 200:
                e = json.loads(body)[0]
                return int(base64.b64decode(e["Value"])), e["ModifyIndex"]
            time.sleep(0.05)
        self.problem = f"no ?consistent read of {self.key} succeeded on {[s.name for s in self.targets]} in 30 s"
        return None

    def run(self):
        try:
            self.increment()
        except Exception:  # noqa: BLE001 -- reported by the main thread
            self.problem = "the CAS writer raised: " + traceback.format_exc()

    def increment(self):
        seen = self.consistent_read(0)
        turn = 0
        while seen is not None and not self.stop.is_set():
            value, index = seen
            turn += 1
            server = self.targets[turn % len(self.targets)]
            path = f"/v1/kv/{self.key}?cas={index}"
            status, _, body = request(server, "PUT", path, str(value + 1), timeout=10)
            answer = f"PUT {path} ({value + 1}) on {server.name} answered {status} {body[:120]!r}"
            if status == 200 and body.strip() == b"true":
                self.acked += 1  # counted at once: the acknowledgement is the promise
            elif status == 200 and body.strip() == b"false":
                self.refused += 1
                if self.errors == 0:  # only an earlier unanswered write of ours can have moved the key
                    self.problem = f"{answer} with no earlier error: someone else changed the counter"
                    return
            else:
                self.errors += 1
                if len(self.error_samples) < 3:
                    self.error_samples.append(f"{server.name}: {status} {body[:120]!r}")
                time.sleep(0.05)
            seen = self.consistent_read(turn)
            if seen is None:
                return
            if status == 200 and body.strip() == b"true":
                if seen[0] != value + 1:
                    self.problem = f"{answer}, but a ?consistent read then shows {seen}"
                    return
            elif seen[0] == value + 1:
                self.recovered += 1  # applied although its answer was lost (or a late duplicate lost the race)
            elif seen != (value, index):
                self.problem = f"{answer}; a ?consistent read then shows {seen}, want ({value}, {index}) or " \
                               f"{value + 1}"
                return


def check_leader_loss(leader, followers):
    check(write(leader, "PUT", "/v1/kv/ha/counter", "0", retry_unknown=True), "PUT ha/counter")
    counter = CasCounter(followers, "ha/counter")
    counter.start()
    wait_for("10 acknowledged CAS increments before the kill", lambda: counter.acked >= 10 or counter.problem, 20)
    KILLED.add(leader.name)
    leader.kill()
    killed_at = time.monotonic()
    new_leader = wait_for("a new leader among the survivors", lambda: leader_of(followers), 30)
    elected = time.monotonic() - killed_at
    acked_at_election = counter.acked
    wait_for("10 more acknowledged increments under the new leader",
             lambda: counter.acked >= acked_at_election + 10 or counter.problem or not counter.is_alive(), 30)
    counter.stop.set()
    counter.join(30)
    check(not counter.is_alive(), "the CAS writer did not stop")
    check(counter.problem is None, f"CAS writer: {counter.problem}")
    check(counter.acked >= acked_at_election + 10, f"no progress under the new leader {new_leader.name}: "
                                                   f"{counter.acked} acknowledged")
    check(counter.recovered <= counter.errors,
          f"more recovered increments ({counter.recovered}) than unanswered writes ({counter.errors})")
    expected = counter.acked + counter.recovered
    for s in followers:
        e = kv_entry(s, "ha/counter", "consistent")
        check(e and e["Value"] == str(expected), f"ha/counter on {s.name} after the leader change: {e}, want "
                                                 f"{expected} ({counter.acked} acknowledged + {counter.recovered} "
                                                 f"applied whose answer was lost)")
    ok(f"leader {leader.name} killed mid-writes; {new_leader.name} elected in {elapsed(elected)}; counter "
       f"{expected} = {counter.acked} acknowledged + {counter.recovered} recovered CAS increments "
       f"({counter.errors} errors, {counter.refused} refused; errors seen: {counter.error_samples})")

    leader.start()
    KILLED.discard(leader.name)
    restarted_at = time.monotonic()

    def rejoined():
        status, _, body = request(leader, "GET", "/v1/operator/raft/configuration", timeout=2)
        if status != 200:
            return False
        servers = json.loads(body)["Servers"]
        return len(servers) == 3 and all(x["Voter"] for x in servers) and sum(x["Leader"] for x in servers) == 1 \
            and leader_of(SERVERS) is not None

    wait_for(f"{leader.name} restarted on its data dir to see 3 voters and a leader", rejoined, 30)
    wait_for(f"{leader.name}'s stale read of ha/counter to reach {expected}",
             lambda: (kv_entry(leader, "ha/counter", "stale") or {}).get("Value") == str(expected), 30)
    _, body = call(leader, "GET", "/v1/status/peers")
    check(len(json.loads(body)) == 3, f"/v1/status/peers on the restarted server: {body!r}")
    check(kv_entry(leader, "ha/counter", "consistent")["Value"] == str(expected),
          "a consistent read on the restarted server does not see the final counter")
    ok(f"{leader.name} restarted, rejoined as a voter and caught up in {elapsed(time.monotonic() - restarted_at)}")


def elapsed(seconds):
    return f"{seconds:.2f} s"


def run(binary, work):
    SERVERS.extend(start_servers(binary, work))
    started = time.monotonic()
    leader = wait_for("a leader all three agree on", lambda: leader_of(SERVERS), 30)

    def all_registered():
        status, _, body = request(leader, "GET", "/v1/health/state/passing?consistent")
        return status == 200 and sorted(c["Node"] for c in json.loads(body) if c["CheckID"] == "serfHealth") \
            == ["s1", "s2", "s3"]

    wait_for("serfHealth passing for s1, s2 and s3 in the catalog", all_registered, 30)
    ok(f"leader {leader.name} elected, all three servers in the catalog {elapsed(time.monotonic() - started)} "
       f"after start")
    # Each part asks who leads now: on a loaded machine an election may have moved the leader.
    retry_transient("status, operator and agent endpoints", check_status_operator_agent)
    retry_transient("kv endpoints", check_kv)
    retry_transient("txn endpoint", check_txn)
    retry_transient("catalog and health endpoints", check_catalog_and_health)
    retry_transient("session endpoints", check_sessions)
    check_locks()
    check_blocking()
    check_leader_loss(*roles())
    print(f"  note Raft term at the end: {cluster_term()} (the leader kill accounts for one or two)", flush=True)
    if RETRIED:
        print(f"  note {len(RETRIED)} requests were retried while the cluster was between leaders, first: "
              f"{RETRIED[0]}", flush=True)
    for s in SERVERS:
        check(s.terminate(), f"{s.name} did not stop within 10 s of SIGTERM")
        KILLED.add(s.name)


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="cairn-api-cluster-")
    timer = threading.Timer(DEADLINE_SECONDS, watchdog)
    timer.daemon = True
    timer.start()
    started = time.monotonic()
    try:
        run(binary, work)
    except SystemExit:
        print(f"work dir kept for inspection: {work}", flush=True)
        raise
    except Exception:  # a bug in the test or an unexpected answer shape: still show the logs
        traceback.print_exc()
        report_failure("unexpected exception (see the traceback above)")
        print(f"work dir kept for inspection: {work}", flush=True)
        raise SystemExit(1)
    finally:
        timer.cancel()
        for s in SERVERS:
            s.kill()
    shutil.rmtree(work, ignore_errors=True)
    print(f"api cluster test passed in {elapsed(time.monotonic() - started)}", flush=True)


if __name__ == "__main__":
    main()
