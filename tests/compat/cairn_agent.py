"""Starts real `cairn agent` processes for the compatibility and integration tests.

Every agent gets its own free ports on 127.0.0.1 and its output in a log file; a failure
prints the tail of that log and the command that reproduces the run.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


# Test ports come from below the kernel's ephemeral range (32768+), so that no outgoing
# connection can take one between the reservation and the agent binding it, and are reserved
# across every test process with a lock file per port (tests/support/test_ports.h shares them).
TEST_PORT_FIRST, TEST_PORT_LAST = 20000, 32000
TEST_PORT_LEASE_SECONDS = 3600
_next_port = None


def _port_free(port, kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _claim_port(directory, port):
    path = os.path.join(directory, str(port))
    for _ in range(2):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return True
        except FileExistsError:
            try:
                if time.time() - os.stat(path).st_mtime < TEST_PORT_LEASE_SECONDS:
                    return False
                os.unlink(path)
            except FileNotFoundError:
                pass
    return False


def free_port():
    """A port on 127.0.0.1, free for TCP and UDP, that no other test is given for an hour."""
    global _next_port
    directory = os.path.join(os.environ.get("TMPDIR") or "/tmp", "cairn-test-ports")
    os.makedirs(directory, exist_ok=True)
    span = TEST_PORT_LAST - TEST_PORT_FIRST + 1
    if _next_port is None:
        _next_port = (os.getpid() * 2654435761 ^ int(time.time())) % span
    for _ in range(span):
        port = TEST_PORT_FIRST + _next_port % span
        _next_port += 1
        if _port_free(port, socket.SOCK_STREAM) and _port_free(port, socket.SOCK_DGRAM) \
                and _claim_port(directory, port):
            return port
    raise RuntimeError(f"no free test port in {directory}")


class _Process:
    """What every agent process of a test shares: its log file and how it is stopped."""

    log_path = None
    proc = None

    def terminate(self):
        """SIGTERM, then SIGKILL after 10 s; True if the process stopped on SIGTERM (or was not running)."""
        if not self.proc or self.proc.poll() is not None:
            return True
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
            return True
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return False

    def log_tail(self, lines=40):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"


class Agent(_Process):
    """One `cairn agent -dev` process with free ports, stopped on exit."""

    def __init__(self, binary, extra_args=()):
        self.binary = binary
        self.work = tempfile.mkdtemp(prefix="cairn-compat-")
        self.http_port, self.serf_port = free_port(), free_port()
        self.args = [binary, "agent", "-dev", "-node=compat-node",
                     f"-http-port={self.http_port}", f"-serf-lan-port={self.serf_port}",
                     f"-server-port={free_port()}", *extra_args]
        self.log_path = os.path.join(self.work, "agent.log")
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self):
        return f"127.0.0.1:{self.http_port}"

    def start(self, timeout=10.0):
        log = open(self.log_path, "a")
        started = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                self.fail(f"agent exited with {self.proc.returncode} during start")
            try:
                with urllib.request.urlopen(f"http://{self.address}/v1/status/leader", timeout=1) as r:
                    if r.status == 200 and r.read().strip() not in (b'""', b""):
                        self.ready_seconds = time.monotonic() - started
                        return
            except OSError:
                pass
            time.sleep(0.02)
        self.fail("agent did not answer /v1/status/leader in time")

    def stop(self):
        if not self.terminate():
            self.fail("agent did not stop within 10 s of SIGTERM")

    def fail(self, message):
        print(f"FAIL: {message}\n--- agent log tail ({self.log_path}) ---\n{self.log_tail()}", flush=True)
        print("reproduce: " + " ".join(sys.argv), flush=True)
        raise SystemExit(1)


class Server(_Process):
    """One `cairn agent -server` process of a cluster, restartable on its data dir."""

    def __init__(self, binary, work, name, expect):
        self.binary, self.name = binary, name
        self.data_dir = os.path.join(work, name)
        self.http_port, self.serf_port, self.server_port = free_port(), free_port(), free_port()
        self.join_ports = []  # gossip ports of the other servers, set by the caller
        self.expect = expect
        self.log_path = os.path.join(work, f"{name}.log")
        self.proc = None

    @property
    def address(self):
        return f"127.0.0.1:{self.http_port}"

    def start(self):
        args = [self.binary, "agent", "-server", f"-bootstrap-expect={self.expect}", f"-node={self.name}",
                f"-data-dir={self.data_dir}", "-bind=127.0.0.1", f"-http-port={self.http_port}",
                f"-serf-lan-port={self.serf_port}", f"-server-port={self.server_port}",
                *[f"-retry-join=127.0.0.1:{port}" for port in self.join_ports]]
        self.proc = subprocess.Popen(args, stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self):
        self.terminate()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Client(_Process):
    """One client agent (no -server) on its own loopback address, joined to `join` gossip addresses."""

    def __init__(self, binary, work, name, ip, join):
        self.binary, self.name, self.ip = binary, name, ip
        self.data_dir = os.path.join(work, name)
        self.http_port, self.serf_port = free_port(), free_port()
        self.join = list(join)
        self.log_path = os.path.join(work, f"{name}.log")
        self.proc = None

    @property
    def address(self):
        return f"{self.ip}:{self.http_port}"

    def start(self):
        args = [self.binary, "agent", f"-node={self.name}", f"-data-dir={self.data_dir}", f"-bind={self.ip}",
                f"-client={self.ip}", f"-http-port={self.http_port}", f"-serf-lan-port={self.serf_port}",
                *[f"-retry-join={address}" for address in self.join]]
        self.proc = subprocess.Popen(args, stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT)

    kill = Server.kill
    stop = Server.stop
    alive = Server.alive


def fail_run(message, agents, log_lines=40, cleanup=None):
    """Ends a test run: the failure, each agent's log tail, how to reproduce, then kills them."""
    print(f"FAIL: {message}", flush=True)
    for agent in agents:
        print(f"--- {agent.name} log tail ({agent.log_path}) ---\n{agent.log_tail(log_lines)}", flush=True)
    print("reproduce: /usr/bin/python3 " + " ".join(sys.argv), flush=True)
    if cleanup:
        cleanup()
    for agent in agents:
        agent.kill()
    raise SystemExit(1)


def poll(predicate, timeout, interval=0.05):
    """predicate()'s first truthy value within `timeout` seconds, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def http_request(server, method, path, body=None, timeout=10):
    """Returns (status, headers with lower-case names, body bytes); status 0 when unreachable.
    A dict or list body is sent as JSON."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(f"http://{server.address}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()
    except OSError:
        return 0, {}, b""


def cluster_leader(servers):
    """The server every live server in `servers` names as leader, if they agree."""
    answers = set()
    for s in servers:
        if not s.alive():
            continue
        status, _, body = http_request(s, "GET", "/v1/status/leader", timeout=2)
        if status != 200 or body in (b'""', b""):
            return None
        answers.add(json.loads(body))
    if len(answers) != 1:
        return None
    address = answers.pop()
    return next((s for s in servers if s.alive() and address == f"127.0.0.1:{s.server_port}"), None)


def start_servers(binary, work, count=3):
    """`count` servers named s1..sN, each joining the others through gossip, all started."""
    servers = [Server(binary, work, f"s{i}", count) for i in range(1, count + 1)]
    for s in servers:
        s.join_ports = [other.serf_port for other in servers if other is not s]
    for s in servers:
        s.start()
    return servers
