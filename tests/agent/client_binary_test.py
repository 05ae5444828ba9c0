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
from cairn_agent import Agent, Client, poll  # noqa: E402

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
    with Agent(CAIRN, ["-dns-port=0"]) as server:
        client = Client(CAIRN, work, "c1", "127.0.0.1", [f"127.0.0.1:{server.serf_port}"])
        client.start()
        try:
            poll(lambda: members(client.http_port) == {server_name(server): 1, "c1": 1}, 20, 0.1) or \
                fail(f"the client agent did not see both members alive: {members(client.http_port)}")
            client_image = os.path.basename(os.readlink(f"/proc/{client.proc.pid}/exe"))
            server_image = os.path.basename(os.readlink(f"/proc/{server.proc.pid}/exe"))
            client_image == "cairn-client" or fail(f"the client agent runs {client_image}")
            server_image == "cairn" or fail(f"the -dev agent runs {server_image}")
            print(f"client agent pid {client.proc.pid} runs cairn-client; the -dev agent runs cairn", flush=True)
        finally:
            client.terminate()
    client.proc.returncode == 0 or fail(f"the client agent exited {client.proc.returncode} on SIGTERM")


def server_name(server):
    return next(arg for arg in server.args if arg.startswith("-node=")).split("=", 1)[1]


def main():
    started = time.monotonic()
    check_refusals()
    check_exec()
    print(f"PASS ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
