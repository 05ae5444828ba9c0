#!/usr/bin/python3
"""agent.client_cluster: 3 servers and 20 client agents, real processes on 127.0.0.0/8.

Servers listen on 127.0.0.1; client agent i binds 127.0.3.<i+1> for gossip and HTTP. Phases:
  1. every agent sees all 23 members alive; every client's node is in the catalog with a
     passing serfHealth check; client agents run as `cairn-client` (no storage engine, no TLS);
  2. each client registers a service with a TTL check through its own HTTP API; the catalog
     shows all of them, and reads, writes and a blocking query relayed by clients work;
  3. anti-entropy: a service removed behind a client's back (catalog deregister on a server)
     comes back; the client's next change brings it back at once;
  4. SIGKILL one client: its node turns critical in the catalog and every agent sees it failed;
     `cairn force-leave` then turns it left everywhere and removes its node from the catalog;
  5. SIGKILL the server most clients use: the rest keep serving, every client still writes
     and reads, and clients move off the dead server;
  6. partition 5 clients from everyone else (iptables on loopback), then heal: membership
     converges and no live member stays failed anywhere.

Phase 6 needs root and iptables; CAIRN_TEST_NO_IPTABLES=1 skips it (for a machine without).

usage: /usr/bin/python3 client_cluster_test.py <cairn binary>
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from cairn_agent import Client, cluster_leader, fail_run, http_request as request, poll, start_servers  # noqa: E402

CLIENTS_COUNT = 20
PARTITIONED = range(15, 20)  # clients c15..c19: 127.0.3.16 .. 127.0.3.20
CHAIN = f"CAIRN_TEST_{os.getpid()}"
SERVERS, CLIENTS = [], []
BINARY = sys.argv[1]
STARTED = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def cleanup():
    remove_partition()
    for agent in SERVERS + CLIENTS:
        agent.kill()


def fail(message):
    print("(logs of every agent are in the work directory)", flush=True)
    fail_run(message, SERVERS + CLIENTS[:3], 25, cleanup)


def wait_for(what, predicate, timeout):
    return poll(predicate, timeout, 0.1) or fail(f"timed out after {timeout} s waiting for {what}")


def get_json(agent, path, timeout=10):
    status, headers, body = request(agent, "GET", path, timeout=timeout)
    if status != 200:
        return None, headers
    return json.loads(body), headers


def member_states(agent):
    members, _ = get_json(agent, "/v1/agent/members", timeout=3)
    return {m["Name"]: m["Status"] for m in members} if members is not None else None


def alive_agents():
    return [a for a in SERVERS + CLIENTS if a.alive()]


def serf_health(server, node):
    checks, _ = get_json(server, f"/v1/health/node/{node}?stale")
    for check in checks or []:
        if check["CheckID"] == "serfHealth":
            return check["Status"]
    return None


# ---- phase 1 --------------------------------------------------------------------------------

def everyone_sees_everyone_alive(names):
    for agent in alive_agents():
        states = member_states(agent)
        if states is None or any(states.get(name) != 1 for name in names):
            return False
    return True


# Libraries only a server may map: the storage engine's compression libraries (RocksDB itself is
# linked statically) and OpenSSL.
SERVER_ONLY_LIBRARIES = ("libsnappy", "libzstd", "liblz4", "libbz2", "libssl", "libcrypto")


def mapped_libraries(pid):
    with open(f"/proc/{pid}/maps") as f:
        return {line.split()[5] for line in f if len(line.split()) >= 6 and ".so" in line.split()[5]}


def check_process_images():
    """`cairn agent` runs client agents as cairn-client (exec, same pid), servers as cairn."""
    for server in SERVERS:
        image = os.readlink(f"/proc/{server.proc.pid}/exe")
        os.path.basename(image) == "cairn" or fail(f"server {server.name} runs {image}, not cairn")
    for client in CLIENTS:
        image = os.readlink(f"/proc/{client.proc.pid}/exe")
        os.path.basename(image) == "cairn-client" or fail(f"client {client.name} runs {image}, not cairn-client")
        mapped = [lib for lib in mapped_libraries(client.proc.pid) if any(n in lib for n in SERVER_ONLY_LIBRARIES)]
        not mapped or fail(f"client {client.name} maps {mapped}")
    log("every client agent runs cairn-client, which maps no storage or TLS library")


def phase_join():
    names = [a.name for a in SERVERS + CLIENTS]
    wait_for("a leader", lambda: cluster_leader(SERVERS), 30)
    wait_for("every agent to see all 23 members alive", lambda: everyone_sees_everyone_alive(names), 60)
    log("all 23 agents see each other alive")
    wait_for("every client node in the catalog with a passing serfHealth",
             lambda: all(serf_health(SERVERS[0], c.name) == "passing" for c in CLIENTS), 30)
    log("every client node is in the catalog, serfHealth passing")
    check_process_images()


# ---- phase 2 --------------------------------------------------------------------------------

def register_services():
    for i, client in enumerate(CLIENTS):
        body = {"Name": "web", "ID": f"web-{i}", "Port": 8000 + i, "Tags": [f"c{i}"], "Check": {"TTL": "60s"}}
        status, _, text = request(client, "PUT", "/v1/agent/service/register", body)
        if status != 200:
            fail(f"registering a service on {client.name}: {status} {text!r}")
        status, _, text = request(client, "PUT", f"/v1/agent/check/pass/service:web-{i}")
        if status != 200:
            fail(f"passing the TTL check on {client.name}: {status} {text!r}")


def passing_web_instances(agent):
    entries, _ = get_json(agent, "/v1/health/service/web?passing")
    return {e["Service"]["ID"] for e in entries} if entries is not None else set()


def check_relayed_reads_and_writes():
    a, b, c = CLIENTS[0], CLIENTS[1], CLIENTS[2]
    status, _, body = request(a, "PUT", "/v1/kv/relay/key", "one")
    if status != 200 or body.strip() != b"true":
        fail(f"a KV write relayed by {a.name}: {status} {body!r}")
    status, headers, body = request(b, "GET", "/v1/kv/relay/key?raw&consistent")
    if status != 200 or body != b"one" or "x-consul-index" not in headers:
        fail(f"a consistent read relayed by {b.name}: {status} {headers} {body!r}")
    index = int(headers["x-consul-index"])
    # A blocking query relayed by one client wakes on a write relayed by another.
    answer = {}

    def blocking_read():
        answer["status"], answer["headers"], answer["body"] = request(
            c, "GET", f"/v1/kv/relay/key?raw&index={index}&wait=20s", timeout=30)

    reader = threading.Thread(target=blocking_read)
    reader.start()
    time.sleep(0.5)
    if answer:
        fail(f"the blocking query on {c.name} returned before any change: {answer}")
    started = time.monotonic()
    request(CLIENTS[3], "PUT", "/v1/kv/relay/key", "two")
    reader.join(timeout=30)
    woke = time.monotonic() - started
    if answer.get("body") != b"two" or int(answer["headers"]["x-consul-index"]) <= index:
        fail(f"the relayed blocking query did not return the new value: {answer}")
    if woke > 5:
        fail(f"the relayed blocking query took {woke:.1f} s to wake")
    # Errors come back as the server gave them: a bad flag, a missing key with its index.
    status, headers, _ = request(a, "GET", "/v1/kv/relay/missing")
    if status != 404 or "x-consul-index" not in headers:
        fail(f"a relayed 404 lost its status or index header: {status} {headers}")
    log(f"relayed write, consistent read, blocking query (woke in {woke * 1000:.0f} ms) and 404 all as a server answers")


def phase_services():
    register_services()
    want = {f"web-{i}" for i in range(CLIENTS_COUNT)}
    wait_for("all 20 web instances passing in the catalog", lambda: passing_web_instances(SERVERS[1]) == want, 30)
    # Clients answer catalog reads by relaying: the same answer from any client.
    if passing_web_instances(CLIENTS[5]) != want:
        fail("a client relayed a different answer for /v1/health/service/web")
    log("20 services with passing TTL checks registered through their clients")
    check_relayed_reads_and_writes()


# ---- phase 3 --------------------------------------------------------------------------------

def node_service_ids(server, node):
    entry, _ = get_json(server, f"/v1/catalog/node/{node}?stale")
    return set(entry["Services"].keys()) if entry else set()


def phase_anti_entropy():
    client = CLIENTS[4]
    server = SERVERS[0]
    status, _, body = request(server, "PUT", "/v1/catalog/deregister", {"Node": client.name, "ServiceID": "web-4"})
    if status != 200:
        fail(f"catalog deregister: {status} {body!r}")
    wait_for("web-4 to leave the catalog", lambda: "web-4" not in node_service_ids(server, client.name), 10)
    # Any local change starts a full anti-entropy pass, which restores what the catalog lost.
    status, _, body = request(client, "PUT", "/v1/agent/service/register", {"Name": "api", "ID": "api-4", "Port": 9000})
    if status != 200:
        fail(f"registering api-4: {status} {body!r}")
    wait_for("anti-entropy to restore web-4 next to api-4",
             lambda: node_service_ids(server, client.name) >= {"web-4", "api-4"}, 10)
    # Something on the client's node that the client does not own is removed.
    status, _, body = request(server, "PUT", "/v1/catalog/register",
                              {"Node": client.name, "Address": client.ip,
                               "Service": {"Service": "stray", "ID": "stray-1"}})
    if status != 200:
        fail(f"catalog register of a stray service: {status} {body!r}")
    request(client, "PUT", "/v1/agent/service/deregister/api-4")
    wait_for("anti-entropy to remove the stray service and api-4",
             lambda: node_service_ids(server, client.name) == {"web-4"}, 10)
    self_info, _ = get_json(client, "/v1/agent/self")
    stats = self_info["Stats"]["anti_entropy"]
    log(f"anti-entropy restored a removed service and removed a stray one (client stats {stats})")


# ---- phase 4 --------------------------------------------------------------------------------

def phase_kill_client():
    victim = CLIENTS[10]
    victim.kill()
    started = time.monotonic()
    wait_for(f"{victim.name}'s serfHealth to turn critical",
             lambda: serf_health(SERVERS[0], victim.name) == "critical", 60)
    critical = time.monotonic() - started
    wait_for(f"every agent to see {victim.name} failed",
             lambda: all((member_states(a) or {}).get(victim.name) == 4 for a in alive_agents()), 60)
    everyone = time.monotonic() - started
    passing = passing_web_instances(SERVERS[0])
    if "web-10" in passing:
        fail("the killed client's service is still listed as passing")
    log(f"SIGKILLed {victim.name}: critical in the catalog after {critical:.1f} s, failed everywhere after {everyone:.1f} s")
    # `cairn force-leave` on a server: the failed member turns left everywhere and its node
    # leaves the catalog (the leader deregisters members that left).
    server = SERVERS[0]
    done = subprocess.run([BINARY, "force-leave", f"-http-addr={server.address}", victim.name],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        fail(f"cairn force-leave {victim.name}: exit {done.returncode}: {done.stdout}{done.stderr}")
    wait_for(f"every agent to see {victim.name} left",
             lambda: all((member_states(a) or {}).get(victim.name) == 3 for a in alive_agents()), 30)
    wait_for(f"{victim.name}'s node to leave the catalog",
             lambda: get_json(server, f"/v1/catalog/node/{victim.name}?stale")[0] is None, 30)
    done = subprocess.run([BINARY, "force-leave", f"-http-addr={server.address}", CLIENTS[11].name],
                          capture_output=True, text=True, timeout=30)
    if done.returncode == 0 or "not failed" not in done.stdout + done.stderr:
        fail(f"force-leave of a live member was not refused: {done.returncode} {done.stdout}{done.stderr}")
    log(f"force-leave: {victim.name} left everywhere and its node left the catalog; a live member is refused")


# ---- phase 5 --------------------------------------------------------------------------------

def current_server(client):
    info, _ = get_json(client, "/v1/agent/self", timeout=3)
    return info["Stats"]["consul"]["server"] if info else None


def write_and_read(client, key, value):
    status, _, body = request(client, "PUT", f"/v1/kv/{key}", value, timeout=15)
    if status != 200 or body.strip() != b"true":
        return False
    status, _, body = request(client, "GET", f"/v1/kv/{key}?raw", timeout=15)
    return status == 200 and body == value.encode()


def phase_kill_server():
    live_clients = [c for c in CLIENTS if c.alive()]
    usage = collections.Counter(current_server(c) for c in live_clients)
    busiest, users = usage.most_common(1)[0]
    victim = next(s for s in SERVERS if s.address == busiest)
    log(f"clients per server {dict(usage)}; SIGKILL {victim.name} ({users} clients use it)")
    victim.kill()
    started = time.monotonic()
    for client in live_clients:
        wait_for(f"{client.name} to write and read again",
                 lambda client=client: write_and_read(client, f"after-kill/{client.name}", client.name), 45)
    served = time.monotonic() - started
    wait_for("every client to use a live server",
             lambda: all(current_server(c) not in (None, busiest) for c in live_clients), 60)
    log(f"every client wrote and read within {served:.1f} s of the kill; all moved off {victim.name}")


# ---- phase 6 --------------------------------------------------------------------------------

def iptables(*args, check=True):
    return subprocess.run(["iptables", "-w", *args], check=check, capture_output=True)


def isolated_range():
    return f"127.0.3.{PARTITIONED[0] + 1}-127.0.3.{PARTITIONED[-1] + 1}"


def add_partition():
    iptables("-N", CHAIN)
    # Loopback traffic passes INPUT once, so dropping both directions there cuts the link.
    iptables("-A", CHAIN, "-m", "iprange", "--src-range", isolated_range(), "!", "--dst-range", isolated_range(),
             "-j", "DROP")
    iptables("-A", CHAIN, "-m", "iprange", "--dst-range", isolated_range(), "!", "--src-range", isolated_range(),
             "-j", "DROP")
    iptables("-I", "INPUT", "-j", CHAIN)


def remove_partition():
    if shutil.which("iptables") is None:
        return
    iptables("-D", "INPUT", "-j", CHAIN, check=False)
    iptables("-F", CHAIN, check=False)
    iptables("-X", CHAIN, check=False)


def phase_partition():
    if os.environ.get("CAIRN_TEST_NO_IPTABLES") == "1":
        log("partition phase skipped (CAIRN_TEST_NO_IPTABLES=1)")
        return
    if shutil.which("iptables") is None or os.geteuid() != 0:
        fail("the partition phase needs root and iptables (scripts/setup installs it); "
             "CAIRN_TEST_NO_IPTABLES=1 skips it")
    isolated = [CLIENTS[i] for i in PARTITIONED]
    add_partition()
    started = time.monotonic()
    log(f"partitioned {', '.join(c.name for c in isolated)} from everyone else")
    wait_for("the majority side to see the isolated clients failed",
             lambda: all(serf_health(SERVERS[0] if SERVERS[0].alive() else SERVERS[1], c.name) == "critical"
                         for c in isolated), 90)
    log(f"isolated clients critical in the catalog after {time.monotonic() - started:.1f} s")
    remove_partition()
    healed = time.monotonic()
    names = [a.name for a in alive_agents()]
    wait_for("every live agent to see every live member alive after the heal",
             lambda: everyone_sees_everyone_alive(names), 120)
    server = next(s for s in SERVERS if s.alive())
    wait_for("serfHealth passing again for the isolated clients",
             lambda: all(serf_health(server, c.name) == "passing" for c in isolated), 30)
    log(f"healed: every live member alive everywhere after {time.monotonic() - healed:.1f} s")


def main():
    work = tempfile.mkdtemp(prefix="cairn-client-cluster-")
    log(f"work directory {work}")
    SERVERS.extend(start_servers(BINARY, work))
    joins = [f"127.0.0.1:{s.serf_port}" for s in SERVERS]
    for i in range(CLIENTS_COUNT):
        CLIENTS.append(Client(BINARY, work, f"c{i}", f"127.0.3.{i + 1}", joins))
    for client in CLIENTS:
        client.start()
    try:
        phase_join()
        phase_services()
        phase_anti_entropy()
        phase_kill_client()
        phase_kill_server()
        phase_partition()
    except SystemExit:
        raise
    except Exception as error:  # noqa: BLE001 - any surprise is a test failure with logs
        fail(f"unexpected {type(error).__name__}: {error}")
    cleanup()
    shutil.rmtree(work, ignore_errors=True)
    log("PASS")


if __name__ == "__main__":
    main()
