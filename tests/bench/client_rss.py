#!/usr/bin/python3
"""A client agent's resident memory, idle and after it has served requests.

Starts one `cairn agent -dev` server and one client agent (`cairn agent` without -server,
which runs as cairn-client) on 127.0.0.1, both with free ports, and reads the client's
/proc/<pid>/status and smaps:
  1. idle, once it has joined and synced (anti-entropy);
  2. after it has served work through its own HTTP API: service registrations with TTL checks
     and their updates, relayed KV writes and reads (--requests of each, over --connections
     concurrent keep-alive connections), relayed catalog and health reads, and blocking queries
     held through the relay and woken.
Prints VmRSS, RssAnon and RssFile and the resident KiB per mapping after each step.
Compare `serf agent` RSS with tests/bench/gossip_bench.sh, which measures both side by side.

usage: /usr/bin/python3 tests/bench/client_rss.py <build-dir> [--requests N] [--connections N]
"""
import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from cairn_agent import Agent, Client, poll  # noqa: E402


def status_fields(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                fields[key] = value.strip()
    return fields


def rss_by_mapping(pid):
    totals, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and ":" in parts[3]:
                name = parts[5] if len(parts) >= 6 else "(anonymous)"
            elif parts[0] == "Rss:":
                totals[name] = totals.get(name, 0) + int(parts[1])
    return sorted(totals.items(), key=lambda item: -item[1])


def report(step, pid):
    fields = status_fields(pid)
    print(f"{step}: VmRSS {fields['VmRSS']}, RssAnon {fields['RssAnon']}, RssFile {fields['RssFile']}, "
          f"threads {fields['Threads']}", flush=True)
    for name, kib in rss_by_mapping(pid):
        if kib >= 16:
            print(f"  {kib:6d} KiB  {name}", flush=True)


def request(port, method, path, body=None, connection=None):
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body)
    reply = connection.getresponse()
    data = reply.read()
    if own:
        connection.close()
    if reply.status != 200:
        raise RuntimeError(f"{method} {path}: {reply.status} {data[:200]!r}")
    return data


def serve_work(port, requests, connections):
    for i in range(5):
        check = {"CheckID": f"ttl{i}", "TTL": "30s"}
        request(port, "PUT", "/v1/agent/service/register",
                json.dumps({"Name": f"svc{i}", "Port": 8000 + i, "Check": check}))
        request(port, "PUT", f"/v1/agent/check/pass/ttl{i}")

    def worker(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(index, requests, connections):
            request(port, "PUT", f"/v1/kv/rss/{n}", f"value-{n}" * 8, connection)
            request(port, "GET", f"/v1/kv/rss/{n}", None, connection)
        request(port, "GET", "/v1/catalog/services", None, connection)
        request(port, "GET", "/v1/health/service/svc0?passing", None, connection)
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    index = json.loads(request(port, "GET", "/v1/kv/rss/0?index=0"))[0]["ModifyIndex"]
    waiters = [threading.Thread(target=request, args=(port, "GET", f"/v1/kv/rss/0?index={index}&wait=20s"))
               for _ in range(connections)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.5)
    request(port, "PUT", "/v1/kv/rss/0", "woken")
    for waiter in waiters:
        waiter.join()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    cairn = os.path.join(args.build, "agent", "cairn")
    work = tempfile.mkdtemp(prefix="cairn-client-rss-")
    server = Agent(cairn, ["-dns-port=0"])
    server.start()
    client = Client(cairn, work, "c1", "127.0.0.1", [f"127.0.0.1:{server.serf_port}"])
    client.start()
    try:
        def synced():
            try:
                self_info = json.loads(request(client.http_port, "GET", "/v1/agent/self"))
                return int(self_info["Stats"]["anti_entropy"]["passes"]) > 0
            except (OSError, RuntimeError, KeyError, ValueError):
                return False
        poll(synced, 30, 0.2) or sys.exit("FAIL: the client agent did not sync with the server")
        image = os.path.basename(os.readlink(f"/proc/{client.proc.pid}/exe"))
        print(f"client agent pid {client.proc.pid} runs {image}", flush=True)
        time.sleep(2)
        report("idle, joined and synced", client.proc.pid)
        started = time.monotonic()
        serve_work(client.http_port, args.requests, args.connections)
        print(f"served {args.requests} relayed writes and reads over {args.connections} connections, "
              f"{args.connections} blocking queries ({time.monotonic() - started:.1f} s)", flush=True)
        report("after serving", client.proc.pid)
    finally:
        client.terminate()
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(server.work, ignore_errors=True)


if __name__ == "__main__":
    main()
