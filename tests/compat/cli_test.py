#!/usr/bin/python3
"""compat.cli: the `cairn` CLI verbs against a real `cairn agent -dev`, as a Consul user types them.

usage: /usr/bin/python3 cli_test.py <cairn binary>
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cairn_agent import Agent  # noqa: E402


def check_semaphore(binary, env, agent, cairn, expect):
    """Three `lock -n=2` runs at once: never more than two children inside, all three run, and
    the semaphore's keys are gone afterwards."""
    log = os.path.join(agent.work, "semaphore.log")
    child = f"echo start $(date +%s.%N) >> {log}; sleep 1; echo end $(date +%s.%N) >> {log}"
    runs = [subprocess.Popen([binary, "lock", "-n=2", "locks/sem", child], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for run in runs:
        out, err = run.communicate(timeout=60)
        expect(run.returncode == 0, f"lock -n=2 exited {run.returncode}: {out!r} {err!r}")
    with open(log) as f:
        events = sorted((float(t), 1 if kind == "start" else -1) for kind, t in (line.split() for line in f))
    inside, most = 0, 0
    for _, step in events:
        inside += step
        most = max(most, inside)
    print(f"semaphore: at most {most} of 3 children inside at once", flush=True)
    expect(len(events) == 6, f"all three children ran: {events}")
    expect(most <= 2, f"{most} children held a 2-holder semaphore at once: {events}")
    left = cairn("kv", "get", "-recurse", "locks/sem/")
    expect(left.strip() == "", f"semaphore keys left behind: {left!r}")


def main():
    binary = sys.argv[1]
    with Agent(binary) as agent:
        env = dict(os.environ, CAIRN_HTTP_ADDR=agent.address)
        runs = 0

        def cairn(*args, stdin=None, expect_code=0):
            nonlocal runs
            runs += 1
            out = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)
            if out.returncode != expect_code:
                agent.fail(f"cairn {' '.join(args)} exited {out.returncode}, wanted {expect_code}\n"
                           f"stdout: {out.stdout}\nstderr: {out.stderr}")
            return out.stdout + out.stderr

        def expect(condition, message):
            if not condition:
                agent.fail(message)

        out = cairn("kv", "put", "app/name", "hello")
        expect("Success! Data written to: app/name" in out, f"kv put: {out!r}")
        expect(cairn("kv", "get", "app/name").strip() == "hello", "kv get")
        cairn("kv", "put", "-flags=5", "app/flagged", "x")
        detailed = cairn("kv", "get", "-detailed", "app/flagged")
        expect("flags" in detailed.lower() and "5" in detailed, f"kv get -detailed: {detailed!r}")
        missing = cairn("kv", "get", "app/missing", expect_code=1)
        expect("No key exists at: app/missing" in missing, f"missing key: {missing!r}")

        exported = cairn("kv", "export", "app/")
        entries = json.loads(exported)
        expect(sorted(e["key"] for e in entries) == ["app/flagged", "app/name"], f"export: {exported!r}")
        out = cairn("kv", "delete", "-recurse", "app/")
        expect("Success!" in out, f"kv delete -recurse: {out!r}")
        cairn("kv", "get", "app/name", expect_code=1)
        out = cairn("kv", "import", "-", stdin=exported)
        expect("Imported: app/name" in out, f"kv import: {out!r}")
        expect(cairn("kv", "get", "app/name").strip() == "hello", "the imported value")

        nodes = cairn("catalog", "nodes")
        expect("compat-node" in nodes and "127.0.0.1" in nodes, f"catalog nodes: {nodes!r}")
        members = cairn("members")
        expect("compat-node" in members and "alive" in members and "server" in members, f"members: {members!r}")
        peers = cairn("operator", "raft", "list-peers")
        expect("leader" in peers and "true" in peers, f"list-peers: {peers!r}")
        info = cairn("info")
        expect("raft:" in info and "state = Leader" in info, f"info: {info!r}")

        held = cairn("lock", "locks/job", "echo holding the lock")
        expect("holding the lock" in held, f"lock ran its child: {held!r}")
        cairn("kv", "get", "locks/job/.lock", expect_code=1)  # released and cleaned up at exit
        check_semaphore(binary, env, agent, cairn, expect)

        for verb in (["kv", "get"], ["kv", "put"], ["catalog", "nodes"], ["members"], ["lock"],
                     ["operator", "raft", "list-peers"], ["info"], ["agent"]):
            text = cairn(*verb, "-help")
            expect("Usage:" in text, f"{' '.join(verb)} -help: {text!r}")
        bad = cairn("kv", "get", "-no-such-flag", "x", expect_code=1)
        expect("flag provided but not defined: -no-such-flag" in bad, f"bad flag: {bad!r}")
        print(f"all {runs} cairn CLI runs behaved as Consul's CLI does", flush=True)


if __name__ == "__main__":
    main()
