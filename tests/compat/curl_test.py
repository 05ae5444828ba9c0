#!/usr/bin/python3
"""compat.curl: the HTTP API driven with `curl` the way Consul's API documentation does it.

Each step runs a real curl command line (PUT with --data @payload.json, GET with query flags,
DELETE) against `cairn agent -dev`, and checks the status code, headers and JSON it gets back.

usage: /usr/bin/python3 curl_test.py <cairn binary>
"""
import base64
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cairn_agent import Agent  # noqa: E402


class Curl:
    def __init__(self, agent):
        self.agent = agent
        self.base = f"http://{agent.address}"
        self.steps = 0

    def run(self, *args, data=None):
        """Runs curl; returns (status, headers dict with lower-case names, body bytes)."""
        *options, url = args
        command = ["curl", "--silent", "--show-error", "--include", "--max-time", "20", *options]
        if data is not None:
            path = os.path.join(self.agent.work, "payload.json")
            with open(path, "w") as f:
                f.write(data if isinstance(data, str) else json.dumps(data))
            command += ["--data-binary", f"@{path}"]
        command.append(url)
        out = subprocess.run(command, capture_output=True, timeout=30)
        if out.returncode != 0:
            self.agent.fail(f"curl failed: {' '.join(command)}: {out.stderr.decode()}")
        head, _, body = out.stdout.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.steps += 1
        return status, headers, body

    def expect(self, condition, message):
        if not condition:
            self.agent.fail(message)


def kv(c):
    status, _, body = c.run("--request", "PUT", f"{c.base}/v1/kv/my-key", data="my-value")
    c.expect(status == 200 and body.strip() == b"true", f"PUT /v1/kv: {status} {body}")
    status, headers, body = c.run(f"{c.base}/v1/kv/my-key")
    entry = json.loads(body)[0]
    c.expect(status == 200 and base64.b64decode(entry["Value"]) == b"my-value", f"GET /v1/kv: {body}")
    c.expect(headers.get("x-consul-index") == str(entry["ModifyIndex"]), f"X-Consul-Index: {headers}")
    c.expect(headers.get("x-consul-knownleader") == "true", f"X-Consul-KnownLeader: {headers}")
    c.expect("x-consul-lastcontact" in headers, "X-Consul-LastContact present")
    status, _, body = c.run(f"{c.base}/v1/kv/my-key?raw")
    c.expect(status == 200 and body == b"my-value", f"?raw: {body}")
    status, headers, _ = c.run(f"{c.base}/v1/kv/no-such-key")
    c.expect(status == 404 and "x-consul-index" in headers, f"404 with an index: {status} {headers}")
    status, _, body = c.run("--request", "DELETE", f"{c.base}/v1/kv/my-key")
    c.expect(status == 200 and body.strip() == b"true", f"DELETE: {status} {body}")
    big = "x" * (512 * 1024 + 1)
    status, _, _ = c.run("--request", "PUT", f"{c.base}/v1/kv/too-big", data=big)
    c.expect(status == 413, f"a value over 512 KB is refused with 413, got {status}")


def catalog_and_health(c):
    payload = {
        "Datacenter": "dc1", "Node": "t2.320", "Address": "192.168.10.10",
        "NodeMeta": {"somekey": "somevalue"},
        "Service": {"ID": "redis1", "Service": "redis", "Tags": ["primary", "v1"],
                    "Address": "127.0.0.1", "Port": 8000},
        "Check": {"Node": "t2.320", "CheckID": "service:redis1", "Name": "Redis health check",
                  "Status": "passing", "ServiceID": "redis1"},
    }
    status, _, body = c.run("--request", "PUT", f"{c.base}/v1/catalog/register", data=payload)
    c.expect(status == 200 and body.strip() == b"true", f"register: {status} {body}")
    status, _, body = c.run(f"{c.base}/v1/catalog/service/redis?tag=primary")
    nodes = json.loads(body)
    c.expect(status == 200 and len(nodes) == 1 and nodes[0]["ServiceID"] == "redis1", f"service: {body}")
    c.expect(nodes[0]["NodeMeta"] == {"somekey": "somevalue"}, f"NodeMeta: {nodes[0]}")
    status, _, body = c.run(f"{c.base}/v1/health/service/redis?passing")
    entries = json.loads(body)
    c.expect(len(entries) == 1 and entries[0]["Checks"][0]["Status"] == "passing", f"health: {body}")
    status, _, body = c.run("--request", "PUT", f"{c.base}/v1/catalog/deregister",
                            data={"Datacenter": "dc1", "Node": "t2.320"})
    c.expect(status == 200, f"deregister: {status} {body}")


def sessions_and_txn(c):
    status, _, body = c.run("--request", "PUT", f"{c.base}/v1/session/create",
                            data={"LockDelay": "15s", "Name": "my-service-lock", "Behavior": "release",
                                  "TTL": "30s"})
    c.expect(status == 200, f"session create: {status} {body}")
    session = json.loads(body)["ID"]
    status, _, body = c.run("--request", "PUT", f"{c.base}/v1/session/create", data={"TTL": "5s"})
    c.expect(status == 400 and b"Invalid Session TTL" in body, f"a TTL under 10s: {status} {body}")
    status, _, body = c.run("--request", "PUT", f"{c.base}/v1/kv/service/lock?acquire={session}", data="me")
    c.expect(body.strip() == b"true", f"acquire: {body}")
    txn = [{"KV": {"Verb": "check-session", "Key": "service/lock", "Session": session}},
           {"KV": {"Verb": "set", "Key": "service/config", "Value": base64.b64encode(b"v2").decode()}}]
    status, _, body = c.run("--request", "PUT", f"{c.base}/v1/txn", data=txn)
    c.expect(status == 200, f"txn: {status} {body}")
    status, _, body = c.run("--request", "PUT", f"{c.base}/v1/txn", data=[{"KV": {"Verb": "set", "Key": "k"}}] * 129)
    c.expect(status == 413, f"129 operations are refused with 413, got {status}")
    status, _, body = c.run("--request", "PUT", f"{c.base}/v1/txn", data="[{")
    c.expect(400 <= status < 500, f"malformed JSON is a 4xx, got {status}")
    status, _, _ = c.run("--request", "PUT", f"{c.base}/v1/session/destroy/{session}")
    c.expect(status == 200, "session destroy")


def agent_service(c):
    service = {"ID": "redis/1", "Name": "redis", "Tags": ["primary"], "Port": 8000,
               "Check": {"TTL": "15s", "DeregisterCriticalServiceAfter": "90m"}}
    status, _, body = c.run("--request", "PUT", f"{c.base}/v1/agent/service/register", data=service)
    c.expect(status == 200, f"agent service register: {status} {body}")
    status, _, body = c.run(f"{c.base}/v1/agent/services")
    c.expect("redis/1" in json.loads(body), f"agent services: {body}")
    status, _, body = c.run("--request", "PUT", f"{c.base}/v1/agent/service/deregister/redis/1")
    c.expect(status == 200, f"deregister an id with '/': {status} {body}")
    status, _, body = c.run(f"{c.base}/v1/status/leader")
    c.expect(status == 200 and json.loads(body).count(":") == 1, f"status leader: {body}")


def main():
    with Agent(sys.argv[1]) as agent:
        curl = Curl(agent)
        for step in (kv, catalog_and_health, sessions_and_txn, agent_service):
            step(curl)
            print(f"  ok   {step.__name__}", flush=True)
        print(f"all {curl.steps} curl requests answered as Consul documents", flush=True)


if __name__ == "__main__":
    main()
