#!/usr/bin/python3
"""agent.client_binary: `cairn-client`, the client-only agent build, and how `cairn agent` uses it.

  - cairn-client refuses -server and -dev, naming `cairn agent` as the binary for them, and
    refuses to run without the `agent` verb;
  - `cairn agent -help` is answered by cairn itself;
  - `cairn agent` for a client agent becomes cairn-client (same pid) and serves the agent API;
    a server (-dev) stays cairn.

usage: /usr/bin/python3 client_binary_test.py <cairn binary> <cairn-client binary>
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from cairn_agent import free_port, poll  # noqa: E402

CAIRN, CLIENT = sys.argv[1], sys.argv[2]


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def run(args):
    done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    return done.returncode, done.stdout + done.stderr


def check_refusals():
    for flags in (["-dev"], ["-server", "-bootstrap-expect=1"]):
        code, out = run([CLIENT, "agent", *flags, "-data-dir=/nonexistent", "-http-port=0"])
        code == 1 and "runs client agents only" in out and "cairn agent" in out or \
            fail(f"cairn-client agent {flags}: exit {code}, output {out!r}")
    code, out = run([CLIENT, "members"])
    code == 1 and "usage: cairn-client agent" in out or fail(f"cairn-client members: exit {code}, output {out!r}")
    code, out = run([CAIRN, "agent", "-help"])
    code == 0 and "-server" in out or fail(f"cairn agent -help: exit {code}, output {out!r}")
    print("cairn-client refuses -dev, -server and other verbs; cairn answers agent -help", flush=True)


def members(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/agent/members", timeout=2) as reply:
            return {m["Name"]: m["Status"] for m in json.loads(reply.read())}
    except OSError:
        return None


def check_exec():
    work = tempfile.mkdtemp(prefix="cairn-client-binary-")
    server_http, server_serf, client_http, client_serf = (free_port() for _ in range(4))
    server = subprocess.Popen([CAIRN, "agent", "-dev", "-node=s1", f"-http-port={server_http}",
                               f"-serf-lan-port={server_serf}", f"-server-port={free_port()}", "-dns-port=0"],
                              stdout=open(os.path.join(work, "s1.log"), "w"), stderr=subprocess.STDOUT)
    client = subprocess.Popen([CAIRN, "agent", "-node=c1", f"-data-dir={work}/c1", f"-http-port={client_http}",
                               f"-serf-lan-port={client_serf}", f"-retry-join=127.0.0.1:{server_serf}"],
                              stdout=open(os.path.join(work, "c1.log"), "w"), stderr=subprocess.STDOUT)
    try:
        poll(lambda: members(client_http) == {"s1": 1, "c1": 1}, 20, 0.1) or \
            fail(f"the client agent did not see both members alive: {members(client_http)}")
        client_image = os.path.basename(os.readlink(f"/proc/{client.pid}/exe"))
        server_image = os.path.basename(os.readlink(f"/proc/{server.pid}/exe"))
        client_image == "cairn-client" or fail(f"the client agent runs {client_image}")
        server_image == "cairn" or fail(f"the -dev agent runs {server_image}")
        print(f"client agent pid {client.pid} runs cairn-client; the -dev agent runs cairn", flush=True)
    finally:
        for process in (client, server):
            process.terminate()
            process.wait(timeout=15)
    client.returncode == 0 or fail(f"the client agent exited {client.returncode} on SIGTERM")


def main():
    started = time.monotonic()
    check_refusals()
    check_exec()
    print(f"PASS ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
