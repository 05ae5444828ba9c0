#!/usr/bin/python3
"""Gossip membership benchmark: Cairn client agents vs HashiCorp Serf, side by side.

For every cluster size N (default 5, 20, 50) and every round, each system runs alone in turn
(Cairn, then Serf): N agents as real processes, agent i on its own loopback address
(Cairn 127.0.2.<10+i>, Serf 127.0.1.<10+i>; the same ports on every address), all joining
agent 0 (the seed). Phases:

  join     the seed starts and answers its API; then agents 1..N-1 are spawned back to back,
           each told to join the seed. all-see-all = from the spawn of the LAST agent until
           every agent's member list shows all N members alive (also reported from the spawn
           of the first joiner, and the spawn spread between the two). Each agent is polled
           every --join-poll seconds until it has converged.
  settle   --settle seconds of quiet (join broadcasts and the post-join push-pulls die out).
  idle     --idle seconds (or --idle-minutes): CPU (utime+stime, /proc/PID/stat) and RSS
           (VmRSS, /proc/PID/status, sampled every 5 s: mean and max) per agent, and the UDP
           datagrams and bytes each agent SENDS per second, counted by iptables rules in a
           dedicated chain on OUTPUT (one rule per agent: -s <its address> -p udp --sport
           <gossip port>; bytes are IP packet lengths: payload + 28). Gossip TCP (push-pull)
           bytes are counted too, for the whole cluster (to or from the gossip port), divided
           by N. Without iptables the UDP count falls back to /proc/net/snmp Udp OutDatagrams,
           which is system-wide and counts packets only; the table says which source was used.
  failure  SIGKILL agent N/2 (never the seed); all-see-failed = from the kill until every
           other agent reports it failed (Cairn Status 4, Serf "failed"); first and median
           observer are reported too. Polled every --fail-poll seconds.

From the end of the join phase to the end of the run every agent is polled (every --fp-poll
seconds, 1 s by default, faster during the failure phase) and any member other than the killed
one seen in any state but alive by any agent is a FALSE POSITIVE (counted as events: one per
observer and member each time it enters a non-alive state; and as distinct members). The
idle CPU therefore includes answering one member-list request per second.

Polling is asyncio in this one process, one persistent connection per agent: HTTP/1.1
GET /v1/agent/members for Cairn, Serf's msgpack RPC (handshake, then "members", or
"members-filtered" with Status (failed|left|leaving|none) once only non-alive members matter) for
Serf. Times are taken when a reply arrives, so they are late by up to one poll interval plus the
reply latency.

Results: a table on stdout (each system, then Cairn/Serf ratios and the issue's targets),
results.csv (one row per system, size and round) and results.md in --results (a new temporary
directory by default), agent logs under --results/logs. Every agent is SIGKILLed and the
iptables chain removed when the tool exits, whatever the reason (gossip_bench.sh also does it).

usage: /usr/bin/python3 gossip_bench.py --cairn PATH --serf PATH [--sizes 5,20,50]
         [--systems cairn,serf] [--rounds R] [--idle S | --idle-minutes M] [--results DIR]
Exit status: 0 measured (targets are reported, not enforced, unless --strict: then 3 when one
is missed), 1 a measurement failed (an agent died, a phase timed out), 2 bad usage.
"""
import argparse
import asyncio
import csv
import json
import os
import resource
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
STARTED = time.monotonic()
ALIVE = "alive"
CAIRN_STATUS = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}


def log(message):
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", flush=True)


class BenchError(Exception):
    """A measurement could not be made; the message says which and why."""


# ---------------------------------------------------------------------------------------------
# msgpack, only what Serf's RPC uses (go-codec MsgpackHandle with RawToString and WriteExt).


class NeedMore(Exception):
    pass


def mp_pack(obj, out):
    if obj is None:
        out.append(0xC0)
    elif obj is True or obj is False:
        out.append(0xC3 if obj else 0xC2)
    elif isinstance(obj, int):
        if 0 <= obj < 128:
            out.append(obj)
        elif 0 <= obj < 2**64:
            out += b"\xcf" + struct.pack(">Q", obj)
        else:
            out += b"\xd3" + struct.pack(">q", obj)
    elif isinstance(obj, str):
        data = obj.encode()
        if len(data) < 32:
            out.append(0xA0 | len(data))
        else:
            out += b"\xda" + struct.pack(">H", len(data))
        out += data
    elif isinstance(obj, (bytes, bytearray)):
        out += b"\xc5" + struct.pack(">H", len(obj)) + obj
    elif isinstance(obj, dict):
        if len(obj) < 16:
            out.append(0x80 | len(obj))
        else:
            out += b"\xde" + struct.pack(">H", len(obj))
        for key, value in obj.items():
            mp_pack(key, out)
            mp_pack(value, out)
    elif isinstance(obj, (list, tuple)):
        if len(obj) < 16:
            out.append(0x90 | len(obj))
        else:
            out += b"\xdc" + struct.pack(">H", len(obj))
        for value in obj:
            mp_pack(value, out)
    else:
        raise TypeError(f"mp_pack: {type(obj)}")
    return out


_FIXED = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i",
          0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
_LEN = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}


def _take(buf, pos, count):
    if pos + count > len(buf):
        raise NeedMore()
    return buf[pos:pos + count], pos + count


def mp_unpack(buf, pos=0):
    """Decodes one object at buf[pos:]; returns (object, next position); NeedMore if cut."""
    if pos >= len(buf):
        raise NeedMore()
    b = buf[pos]
    pos += 1
    if b < 0x80:
        return b, pos
    if b >= 0xE0:
        return b - 0x100, pos
    if 0xA0 <= b <= 0xBF:
        raw, pos = _take(buf, pos, b & 0x1F)
        return raw.decode(errors="replace"), pos
    if 0x80 <= b <= 0x8F:
        return _unpack_map(buf, pos, b & 0x0F)
    if 0x90 <= b <= 0x9F:
        return _unpack_array(buf, pos, b & 0x0F)
    if b == 0xC0:
        return None, pos
    if b in (0xC2, 0xC3):
        return b == 0xC3, pos
    if b in _FIXED:
        fmt = _FIXED[b]
        raw, pos = _take(buf, pos, struct.calcsize(fmt))
        return struct.unpack(fmt, raw)[0], pos
    if b in _LEN:
        fmt = _LEN[b]
        raw, pos = _take(buf, pos, struct.calcsize(fmt))
        raw, pos = _take(buf, pos, struct.unpack(fmt, raw)[0])
        return (raw.decode(errors="replace") if b >= 0xD9 else bytes(raw)), pos
    if b in (0xDC, 0xDD, 0xDE, 0xDF):
        fmt = ">H" if b in (0xDC, 0xDE) else ">I"
        raw, pos = _take(buf, pos, struct.calcsize(fmt))
        count = struct.unpack(fmt, raw)[0]
        return (_unpack_array if b in (0xDC, 0xDD) else _unpack_map)(buf, pos, count)
    raise ValueError(f"msgpack: unsupported type byte 0x{b:02x}")


def _unpack_map(buf, pos, count):
    result = {}
    for _ in range(count):
        key, pos = mp_unpack(buf, pos)
        value, pos = mp_unpack(buf, pos)
        result[key] = value
    return result, pos


def _unpack_array(buf, pos, count):
    result = []
    for _ in range(count):
        value, pos = mp_unpack(buf, pos)
        result.append(value)
    return result, pos


# ---------------------------------------------------------------------------------------------
# Member-list clients: members(all_members) returns {name: status string}; with
# all_members=False only the members that are not alive need to be in it.


class CairnClient:
    def __init__(self, addr, port):
        self.addr, self.port = addr, port
        self.reader = self.writer = None
        self.request = (f"GET /v1/agent/members HTTP/1.1\r\nHost: {addr}:{port}\r\n"
                        "User-Agent: gossip-bench\r\n\r\n").encode()

    async def members(self, all_members=True):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.addr, self.port)
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        status = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                body += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                del body[-2:]
            body = bytes(body[:-2]) if body.endswith(b"\r\n") else bytes(body)
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        if len(status) < 2 or status[1] != "200":
            raise BenchError(f"{self.addr}: GET /v1/agent/members answered {lines[0]!r}: {body[:200]!r}")
        return {m["Name"]: CAIRN_STATUS.get(m["Status"], str(m["Status"])) for m in json.loads(body)}

    async def join_state(self, expected):
        """(whether every expected member is alive here, a short description)."""
        members = await self.members()
        alive = {n for n, s in members.items() if s == ALIVE} & expected
        return len(alive) == len(expected), describe(members, expected)

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def describe(members, expected):
    alive = {n for n, s in members.items() if s == ALIVE} & expected
    other = sorted(f"{n} {s}" for n, s in members.items() if s != ALIVE)
    missing = sorted(expected - set(members))
    return (f"{len(alive)} of {len(expected)} alive"
            + (f"; not alive: {', '.join(other[:5])}" if other else "")
            + (f"; unknown: {', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}" if missing else ""))


class SerfClient:
    NON_ALIVE = {"Tags": {}, "Status": "(failed|left|leaving|none)", "Name": ".*"}

    def __init__(self, addr, port):
        self.addr, self.port = addr, port
        self.reader = self.writer = None
        self.buf = bytearray()
        self.seq = 0

    async def _read(self):
        while True:
            try:
                obj, pos = mp_unpack(self.buf)
                del self.buf[:pos]
                return obj
            except NeedMore:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError(f"{self.addr}:{self.port}: Serf RPC connection closed")
                self.buf += data

    async def _call(self, command, body=None, reply=True):
        self.seq += 1
        out = mp_pack({"Command": command, "Seq": self.seq}, bytearray())
        if body is not None:
            mp_pack(body, out)
        self.writer.write(out)
        header = await self._read()
        if header.get("Error"):
            raise BenchError(f"{self.addr}: Serf RPC {command}: {header['Error']}")
        return await self._read() if reply else None

    async def members(self, all_members=True):
        if self.writer is None:
            self.buf.clear()
            self.reader, self.writer = await asyncio.open_connection(self.addr, self.port)
            await self._call("handshake", {"Version": 1}, reply=False)
        if all_members:
            reply = await self._call("members")
        else:
            reply = await self._call("members-filtered", self.NON_ALIVE)
        return {m["Name"]: m["Status"] for m in reply["Members"]}

    async def join_state(self, expected):
        """As CairnClient's, from the small "stats" reply: decoding the full member list in
        Python 1,000 times a second (50 agents every 50 ms) would take a core from the agents.
        members == N with none failed or left is the same condition (Serf shows a suspected member
        as alive, and the names cannot differ: only our agents join)."""
        if self.writer is None:
            await self.members(all_members=False)  # connects and shakes hands
        stats = (await self._call("stats"))["serf"]
        members, failed, left = int(stats["members"]), int(stats["failed"]), int(stats["left"])
        done = members == len(expected) and failed == 0 and left == 0
        return done, f"{members} members, {failed} failed, {left} left"

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# ---------------------------------------------------------------------------------------------
# The two systems: how to start agent i and talk to it.


class System:
    def __init__(self, name, binary, net, gossip_port):
        self.name, self.binary, self.net, self.gossip_port = name, binary, net, gossip_port

    def addr(self, i):
        return f"{self.net}.{10 + i}"

    def node(self, i):
        return f"{self.name}-{i}"


class Cairn(System):
    HTTP, SERVER, DNS = 28500, 28300, 28600

    def __init__(self, binary):
        super().__init__("cairn", binary, "127.0.2", 28301)

    def command(self, i, data_dir):
        addr = self.addr(i)
        cmd = [self.binary, "agent", f"-data-dir={data_dir}", f"-node={self.node(i)}",
               f"-bind={addr}", f"-client={addr}", f"-http-port={self.HTTP}",
               f"-serf-lan-port={self.gossip_port}", f"-server-port={self.SERVER}",
               f"-dns-port={self.DNS}", "-log-level=warn"]
        if i > 0:
            cmd.append(f"-retry-join={self.addr(0)}:{self.gossip_port}")
        return cmd

    def client(self, i):
        return CairnClient(self.addr(i), self.HTTP)


class Serf(System):
    RPC = 27373

    def __init__(self, binary):
        super().__init__("serf", binary, "127.0.1", 27946)

    def command(self, i, data_dir):
        addr = self.addr(i)
        cmd = [self.binary, "agent", f"-node={self.node(i)}", f"-bind={addr}:{self.gossip_port}",
               f"-rpc-addr={addr}:{self.RPC}", "-log-level=warn"]
        if i > 0:
            cmd.append(f"-join={self.addr(0)}:{self.gossip_port}")
        return cmd

    def client(self, i):
        return SerfClient(self.addr(i), self.RPC)


# ---------------------------------------------------------------------------------------------
# Processes, /proc sampling and packet counters.


class Agent:
    def __init__(self, system, index, work, pidfile):
        self.system, self.index = system, index
        self.name = system.node(index)
        self.data_dir = os.path.join(work, self.name)
        self.log_path = os.path.join(work, f"{self.name}.log")
        os.makedirs(self.data_dir, exist_ok=True)
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(system.command(index, self.data_dir), stdout=self.log_file,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        if pidfile:
            with open(pidfile, "a") as f:
                f.write(f"{self.proc.pid}\n")
        self.killed = False

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.log_file.close()

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError as e:
            return f"(no log: {e})"


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def udp_out_datagrams():
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("OutDatagrams")])


class Counters:
    """Per-agent UDP sent (packets, bytes) and cluster gossip TCP bytes, by iptables rules in a
    chain of our own hooked first into OUTPUT; /proc/net/snmp when iptables cannot be used."""

    def __init__(self, chain, system, count, use_iptables):
        self.chain, self.system, self.count = chain, system, count
        self.source = "none"
        self.installed = False
        if use_iptables and shutil.which("iptables") and os.geteuid() == 0:
            try:
                self._install()
                self.source = "iptables"
            except (subprocess.CalledProcessError, OSError) as e:
                log(f"iptables unusable ({e}); UDP packets from /proc/net/snmp (system-wide, no bytes)")
                self.remove()
        if self.source == "none":
            self.source = "snmp"

    def _ipt(self, *args, check=True):
        return subprocess.run(["iptables", "-w", "5", *args], check=check, capture_output=True, text=True)

    def _install(self):
        self.remove()
        self._ipt("-N", self.chain)
        self.installed = True
        port = str(self.system.gossip_port)
        for i in range(self.count):
            self._ipt("-A", self.chain, "-s", f"{self.system.addr(i)}/32", "-p", "udp", "--sport", port)
        net = f"{self.system.net}.0/24"
        self._ipt("-A", self.chain, "-d", net, "-p", "tcp", "--dport", port)
        self._ipt("-A", self.chain, "-s", net, "-p", "tcp", "--sport", port)
        self._ipt("-I", "OUTPUT", "1", "-j", self.chain)

    def read(self):
        """Returns ([(packets, bytes)] per agent, tcp bytes) — or ([(udp packets, 0)], 0)."""
        if self.source == "snmp":
            return [(udp_out_datagrams(), 0)], 0
        out = self._ipt("-L", self.chain, "-v", "-x", "-n").stdout.splitlines()[2:]
        rows = [(int(line.split()[0]), int(line.split()[1])) for line in out if line.strip()]
        if len(rows) != self.count + 2:
            raise BenchError(f"iptables chain {self.chain}: {len(rows)} rules, expected {self.count + 2}")
        return rows[:self.count], rows[-2][1] + rows[-1][1]

    def remove(self):
        if not shutil.which("iptables"):
            return
        for _ in range(10):
            if self._ipt("-D", "OUTPUT", "-j", self.chain, check=False).returncode != 0:
                break
        self._ipt("-F", self.chain, check=False)
        self._ipt("-X", self.chain, check=False)
        self.installed = False


# ---------------------------------------------------------------------------------------------
# One run: one system, N agents.


class Watch:
    """Polls every agent from convergence to the end: the killed member's failure times and
    any other member seen non-alive (false positives)."""

    def __init__(self, clients, names, interval):
        self.clients, self.names = clients, names
        self.interval = interval
        self.changed = asyncio.Event()
        self.victim = None
        self.failed_at = {}          # observer index -> time it first reported the victim failed
        self.victim_other = {}       # observer -> a non-failed, non-alive state seen for the victim
        self.non_alive = set()       # (observer, member) pairs currently non-alive (not the victim)
        self.fp_events = []          # (time, observer, member, status)
        self.errors = 0
        self.last_error = ""
        self.polls = 0
        self.stop = False
        self.skipped = None          # the killed agent, no longer polled
        self.tasks = []

    def set_interval(self, interval):
        self.interval = interval
        self.changed.set()
        self.changed = asyncio.Event()

    def start(self, skip=()):
        self.tasks = [asyncio.create_task(self._run(i)) for i in range(len(self.clients)) if i not in skip]

    async def finish(self):
        self.stop = True
        self.set_interval(0)
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _run(self, i):
        client = self.clients[i]
        while not self.stop:
            if self.skipped == i:
                return
            sent = time.monotonic()
            try:
                members = await asyncio.wait_for(client.members(all_members=False), timeout=3)
                self.polls += 1
                self._record(i, members, time.monotonic())
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError,
                    BenchError, KeyError) as e:
                client.close()
                if self.skipped == i:
                    return
                self.errors += 1
                self.last_error = f"{self.names[i]}: {type(e).__name__}: {e}"
            delay = self.interval - (time.monotonic() - sent)
            if delay > 0 and not self.stop:
                try:
                    await asyncio.wait_for(self.changed.wait(), timeout=delay)
                except asyncio.TimeoutError:
                    pass

    def _record(self, observer, members, now):
        seen = set()
        for name, status in members.items():
            if status == ALIVE:
                continue
            if name == self.victim:
                if status == "failed":
                    self.failed_at.setdefault(observer, now)
                else:
                    self.victim_other.setdefault(observer, status)
                continue
            seen.add(name)
            if (observer, name) not in self.non_alive:
                self.non_alive.add((observer, name))
                self.fp_events.append((now, self.names[observer], name, status))
                log(f"FALSE POSITIVE: {self.names[observer]} reports {name} {status}")
        for pair in [p for p in self.non_alive if p[0] == observer and p[1] not in seen]:
            self.non_alive.discard(pair)


async def wait_seed(system, agent, client, timeout):
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if not agent.alive():
            raise BenchError(f"{agent.name} exited with {agent.proc.returncode} during start:\n{agent.log_tail()}")
        try:
            members = await asyncio.wait_for(client.members(), timeout=2)
            if members.get(agent.name) == ALIVE:
                return
            last = f"members {members}"
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, BenchError) as e:
            client.close()
            last = f"{type(e).__name__}: {e}"
        await asyncio.sleep(0.05)
    raise BenchError(f"{agent.name} did not answer its member list within {timeout} s (last: {last})\n{agent.log_tail()}")


async def wait_join(clients, names, agents, interval, timeout):
    """Per agent, the time it first reports every name alive."""
    expected = set(names)
    done = {}
    last = {}

    async def poll(i):
        while True:
            sent = time.monotonic()
            try:
                converged, last[i] = await asyncio.wait_for(clients[i].join_state(expected), timeout=3)
                if converged:
                    done[i] = time.monotonic()
                    return
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, KeyError,
                    BenchError) as e:
                clients[i].close()
                last[i] = f"{type(e).__name__}: {e}"
                if not agents[i].alive():
                    raise BenchError(f"{names[i]} exited with {agents[i].proc.returncode}:\n{agents[i].log_tail()}")
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - sent)))

    async def progress():
        while True:
            await asyncio.sleep(10)
            log(f"  join: {len(done)} of {len(clients)} agents converged")

    tasks = [asyncio.create_task(poll(i)) for i in range(len(clients))]
    reporter = asyncio.create_task(progress())
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=timeout)
    except asyncio.TimeoutError:
        short = [i for i in range(len(clients)) if i not in done]
        details = []
        for i in short[:6]:  # the full member list of the first few, to say who is missing
            try:
                details.append(f"{names[i]}: {describe(await asyncio.wait_for(clients[i].members(), 3), expected)}")
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, BenchError) as e:
                details.append(f"{names[i]}: {last.get(i, 'no answer')} ({type(e).__name__})")
        raise BenchError(f"join: not converged after {timeout:.0f} s: {len(short)} agents short: "
                         + " | ".join(details) + (" | ..." if len(short) > 6 else ""))
    finally:
        reporter.cancel()
        for t in tasks:
            t.cancel()
    return done


def check_alive(agents, skip=None):
    for a in agents:
        if a is not skip and not a.alive():
            raise BenchError(f"{a.name} exited with {a.proc.returncode}:\n{a.log_tail()}")


def cpu_self():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_one(system, n, round_index, args, log_dir):
    work = os.path.join(log_dir, f"{system.name}-{n}-r{round_index}")
    os.makedirs(work, exist_ok=True)
    names = [system.node(i) for i in range(n)]
    clients = [system.client(i) for i in range(n)]
    agents = []
    counters = Counters(args.chain, system, n, not args.no_iptables)
    watch = None
    row = {"system": system.name, "agents": n, "round": round_index, "counter_source": counters.source,
           "load_avg_start": os.getloadavg()[0]}
    try:
        # Join.
        agents.append(Agent(system, 0, work, args.pidfile))
        await wait_seed(system, agents[0], clients[0], args.start_timeout)
        cpu0 = cpu_self()
        t_first = time.monotonic()
        for i in range(1, n):
            agents.append(Agent(system, i, work, args.pidfile))
        t_last = time.monotonic()
        done = await wait_join(clients, names, agents, args.join_poll, args.join_timeout)
        t_all = max(done.values())
        row["join_all_s"] = t_all - t_last
        row["join_all_from_first_s"] = t_all - t_first
        row["join_median_s"] = statistics.median(t - t_last for t in done.values())
        row["spawn_spread_s"] = t_last - t_first
        log(f"{system.name} N={n}: all see all {row['join_all_s']:.2f} s after the last spawn "
            f"({row['join_all_from_first_s']:.2f} s after the first; spawns took {row['spawn_spread_s']:.2f} s; "
            f"poller CPU {cpu_self() - cpu0:.2f} s)")
        check_alive(agents)

        # Settle and idle, watched for false positives.
        watch = Watch(clients, names, args.fp_poll)
        watch.start()
        await asyncio.sleep(args.settle)
        check_alive(agents)
        pids = [a.proc.pid for a in agents]
        c0, tcp0 = counters.read()
        ticks0 = [cpu_ticks(p) for p in pids]
        self0 = cpu_self()
        t0 = time.monotonic()
        rss_samples = [[] for _ in pids]
        end = t0 + args.idle
        next_report = t0 + 60
        while True:
            for k, p in enumerate(pids):
                rss_samples[k].append(rss_kb(p))
            now = time.monotonic()
            if now >= end:
                break
            if now >= next_report:
                log(f"  idle {now - t0:.0f}/{args.idle:.0f} s, false positives so far {len(watch.fp_events)}")
                next_report += 60
            await asyncio.sleep(min(5.0, end - now))
            check_alive(agents)
        t1 = time.monotonic()
        ticks1 = [cpu_ticks(p) for p in pids]
        c1, tcp1 = counters.read()
        for k, p in enumerate(pids):
            rss_samples[k].append(rss_kb(p))
        span = t1 - t0
        cpu_pct = [(b - a) / CLK_TCK / span * 100 for a, b in zip(ticks0, ticks1)]
        rss_mean = [statistics.mean(s) / 1024 for s in rss_samples]
        rss_max = [max(s) / 1024 for s in rss_samples]
        row.update(idle_s=span, cpu_pct_mean=statistics.mean(cpu_pct), cpu_pct_max=max(cpu_pct),
                   rss_mb_mean=statistics.mean(rss_mean), rss_mb_max=max(rss_max),
                   poller_cpu_pct=(cpu_self() - self0) / span * 100)
        if counters.source == "iptables":
            pkts = [(b[0] - a[0]) / span for a, b in zip(c0, c1)]
            byts = [(b[1] - a[1]) / span for a, b in zip(c0, c1)]
            row.update(udp_pkts_per_agent_s=statistics.mean(pkts), udp_pkts_max_agent_s=max(pkts),
                       udp_bytes_per_agent_s=statistics.mean(byts), udp_bytes_max_agent_s=max(byts),
                       tcp_bytes_per_agent_s=(tcp1 - tcp0) / span / n)
        else:
            row.update(udp_pkts_per_agent_s=(c1[0][0] - c0[0][0]) / span / n)
        log(f"{system.name} N={n}: idle {span:.0f} s: CPU {row['cpu_pct_mean']:.2f}% (max {row['cpu_pct_max']:.2f}%), "
            f"RSS {row['rss_mb_mean']:.1f} MB (max {row['rss_mb_max']:.1f}), "
            f"UDP {row['udp_pkts_per_agent_s']:.2f} pkt/s"
            + (f" {row['udp_bytes_per_agent_s']:.0f} B/s, gossip TCP {row['tcp_bytes_per_agent_s']:.0f} B/s"
               if counters.source == "iptables" else " (system-wide snmp count / N)")
            + " per agent")

        # Failure.
        victim = n // 2
        watch.victim = names[victim]
        watch.set_interval(args.fail_poll)
        watch.skipped = victim
        t_kill = time.monotonic()
        agents[victim].proc.kill()
        agents[victim].killed = True
        deadline = t_kill + args.fail_timeout
        observers = [i for i in range(n) if i != victim]
        while time.monotonic() < deadline and len(watch.failed_at) < len(observers):
            await asyncio.sleep(0.05)
            check_alive(agents, skip=agents[victim])
        if len(watch.failed_at) < len(observers):
            missing = [names[i] for i in observers if i not in watch.failed_at]
            raise BenchError(f"failure: after {args.fail_timeout} s, {len(missing)} agents still do not report "
                             f"{names[victim]} failed: {', '.join(missing[:8])}"
                             + (f"; other states seen for it: {watch.victim_other}" if watch.victim_other else ""))
        times = sorted(t - t_kill for t in watch.failed_at.values())
        row.update(fail_first_s=times[0], fail_median_s=statistics.median(times), fail_all_s=times[-1])
        log(f"{system.name} N={n}: {names[victim]} SIGKILLed: first sees it failed {times[0]:.2f} s, "
            f"median {row['fail_median_s']:.2f} s, all {times[-1]:.2f} s")
        if watch.victim_other:
            log(f"  note: some agents reported {names[victim]} in another state first: {watch.victim_other}")
        # A few more seconds watched after the failure (a wrong suspicion of a live member often
        # follows a real one), then stop.
        watch.set_interval(args.fp_poll)
        await asyncio.sleep(args.post_fail)
        check_alive(agents, skip=agents[victim])
        await watch.finish()
        row.update(false_positive_events=len(watch.fp_events),
                   false_positive_members=len({e[2] for e in watch.fp_events}),
                   poll_errors=watch.errors, polls=watch.polls)
        if watch.errors:
            log(f"  {watch.errors} failed polls of {watch.polls + watch.errors} (last: {watch.last_error})")
        if watch.fp_events:
            log(f"  FALSE POSITIVES: {len(watch.fp_events)} events about {row['false_positive_members']} members: "
                + "; ".join(f"{o} saw {m} {s}" for _, o, m, s in watch.fp_events[:10]))
        row["load_avg_end"] = os.getloadavg()[0]
        return row
    finally:
        if watch is not None and not watch.stop:
            await watch.finish()
        for c in clients:
            c.close()
        for a in agents:
            a.kill()
        counters.remove()
        for a in agents:
            shutil.rmtree(a.data_dir, ignore_errors=True)
        if args.drop_logs:
            shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Report.

FIELDS = ["system", "agents", "round", "join_all_s", "join_all_from_first_s", "join_median_s",
          "spawn_spread_s", "fail_first_s", "fail_median_s", "fail_all_s", "idle_s", "cpu_pct_mean",
          "cpu_pct_max", "rss_mb_mean", "rss_mb_max", "udp_pkts_per_agent_s", "udp_pkts_max_agent_s",
          "udp_bytes_per_agent_s", "udp_bytes_max_agent_s", "tcp_bytes_per_agent_s",
          "false_positive_events", "false_positive_members", "poll_errors", "polls", "poller_cpu_pct",
          "counter_source", "load_avg_start", "load_avg_end", "error"]


def fmt_range(values, digits):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    if len(values) == 1 or round(lo, digits) == round(hi, digits):
        return f"{lo:.{digits}f}"
    return f"{lo:.{digits}f}–{hi:.{digits}f}"


def mean_of(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.mean(values) if values else None


def report(rows, systems, sizes, args):
    lines = []
    metrics = [("join_all_s", "all-see-all s (from last spawn)", 2),
               ("join_all_from_first_s", "all-see-all s (from first spawn)", 2),
               ("fail_first_s", "first sees failed s", 2),
               ("fail_all_s", "all-see-failed s", 2),
               ("cpu_pct_mean", "idle CPU % per agent", 2),
               ("rss_mb_mean", "RSS MB per agent", 1),
               ("rss_mb_max", "RSS MB max agent", 1),
               ("udp_pkts_per_agent_s", "UDP packets/s per agent", 2),
               ("udp_bytes_per_agent_s", "UDP bytes/s per agent", 0),
               ("tcp_bytes_per_agent_s", "gossip TCP bytes/s per agent", 0),
               ("false_positive_events", "false positives (events)", 0)]
    ok = True
    head = "| agents | metric | " + " | ".join(systems) + (" | cairn/serf | target | met |" if len(systems) == 2 else " |")
    lines.append(head)
    lines.append("|" + " --- |" * (head.count("|") - 1))
    for n in sizes:
        by = {s: [r for r in rows if r["agents"] == n and r["system"] == s and not r.get("error")] for s in systems}
        for key, label, digits in metrics:
            cells = [fmt_range([r.get(key) for r in by[s]], digits) for s in systems]
            line = f"| {n} | {label} | " + " | ".join(cells) + " |"
            if len(systems) == 2:
                c, s = mean_of(by["cairn"], key), mean_of(by["serf"], key)
                ratio = f"{c / s:.2f}" if c is not None and s not in (None, 0) else "-"
                target, met = target_of(key, c, s)
                if met == "no":
                    ok = False
                line += f" {ratio} | {target} | {met} |"
            lines.append(line)
    failed = [r for r in rows if r.get("error")]
    for r in failed:
        lines.append(f"\nFAILED {r['system']} N={r['agents']} round {r['round']}: {r['error']}")
    lines.append("")
    lines.append(f"Ranges are min–max over {args.rounds} round(s); ratios compare means. UDP counts are datagrams "
                 f"sent (iptables OUTPUT, bytes = IP length). Idle window {args.idle:.0f} s after {args.settle:.0f} s "
                 f"of settling, agents polled once a second meanwhile. Machine: {os.cpu_count()} CPUs, load "
                 f"average at the end {os.getloadavg()[0]:.2f} (shared machine: numbers are noisy).")
    return "\n".join(lines), ok


def target_of(key, c, s):
    """The issue's target for a metric, and whether the means meet it ('-' when none)."""
    if c is None:
        return "-", "-"
    if s is None and key != "rss_mb_max" and key != "false_positive_events":
        return "-", "-"
    if key == "join_all_s":
        return "≤ serf", ("yes" if s is not None and c <= s else "no")
    if key == "fail_all_s":
        return "≤ serf / 2", ("yes" if s is not None and c <= s / 2 else "no")
    if key == "cpu_pct_mean":
        return "≤ serf", ("yes" if s is not None and c <= s else "no")
    if key == "rss_mb_max":
        return "≤ 5 MB", ("yes" if c <= 5.0 else "no")
    if key == "udp_pkts_per_agent_s":
        return "≤ serf", ("yes" if s is not None and c <= s + 1e-9 else "no")
    if key == "false_positive_events":
        return "0, ≤ serf", ("yes" if c == 0 else "no")
    return "-", "-"


async def main_async(args, systems, sizes):
    results = args.results or tempfile.mkdtemp(prefix="cairn-gossip-bench.")
    os.makedirs(results, exist_ok=True)
    log_dir = os.path.join(results, "logs")
    log(f"results in {results}; sizes {sizes}; systems {[s.name for s in systems]}; rounds {args.rounds}; "
        f"idle {args.idle:.0f} s; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for s in systems:
        built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(s.binary)))
        info = f"built {built}"
        if s.name == "serf":
            dpkg = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "serf"], capture_output=True, text=True)
            info = f"Debian package {dpkg.stdout.strip() or '?'}"
        log(f"{s.name}: {s.binary} ({info})")
    rows = []
    csv_path = os.path.join(results, "results.csv")
    for n in sizes:
        for r in range(1, args.rounds + 1):
            for s in systems:
                log(f"--- {s.name}, {n} agents, round {r} ---")
                try:
                    row = await run_one(s, n, r, args, log_dir)
                except BenchError as e:
                    log(f"FAILED: {s.name} N={n} round {r}: {e}")
                    row = {"system": s.name, "agents": n, "round": r, "error": str(e).splitlines()[0]}
                rows.append(row)
                with open(csv_path, "w", newline="") as f:
                    w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
                    w.writeheader()
                    for row_ in rows:
                        w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row_.items()})
    table, ok = report(rows, [s.name for s in systems], sizes, args)
    print("\n" + table, flush=True)
    with open(os.path.join(results, "results.md"), "w") as f:
        f.write(table + "\n")
    log(f"CSV: {csv_path}; table: {os.path.join(results, 'results.md')}; agent logs: {log_dir}")
    errors = [r for r in rows if r.get("error")]
    if errors:
        return 1
    return 3 if (args.strict and not ok) else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cairn", help="the cairn binary")
    p.add_argument("--serf", default=shutil.which("serf"), help="the serf binary (default: serf on PATH)")
    p.add_argument("--sizes", default=None, help="comma-separated cluster sizes (default 5,20,50; 50 with --idle-minutes)")
    p.add_argument("--systems", default="cairn,serf")
    p.add_argument("--rounds", type=int, default=1, help="runs per system and size (ranges are reported)")
    p.add_argument("--results", help="results directory (default: a new temporary directory)")
    p.add_argument("--idle", type=float, default=30.0, help="idle measurement window, seconds")
    p.add_argument("--idle-minutes", type=float, help="long idle run: window in minutes (false-positive check)")
    p.add_argument("--settle", type=float, default=10.0, help="seconds between convergence and the idle window")
    p.add_argument("--post-fail", type=float, default=5.0, help="seconds watched after the failure is known")
    p.add_argument("--join-poll", type=float, default=0.05)
    p.add_argument("--fail-poll", type=float, default=0.1)
    p.add_argument("--fp-poll", type=float, default=1.0)
    p.add_argument("--start-timeout", type=float, default=20.0)
    p.add_argument("--join-timeout", type=float, default=180.0,
                   help="seconds for all to see all (Serf can need a push-pull, 60 s apart at 50)")
    p.add_argument("--fail-timeout", type=float, default=60.0)
    p.add_argument("--chain", default=f"GOSSIPBENCH_{os.getpid()}", help="iptables chain name (≤ 28 chars)")
    p.add_argument("--no-iptables", action="store_true", help="count UDP packets from /proc/net/snmp instead")
    p.add_argument("--pidfile", help="append every agent pid here (for the calling script's cleanup)")
    p.add_argument("--drop-logs", action="store_true", help="delete agent logs after each run")
    p.add_argument("--strict", action="store_true", help="exit 3 when a target is missed")
    args = p.parse_args()
    if args.idle_minutes is not None:
        args.idle = args.idle_minutes * 60
    sizes = [int(x) for x in (args.sizes or ("50" if args.idle_minutes is not None else "5,20,50")).split(",") if x]
    if any(n < 3 or n > 240 for n in sizes):
        p.error("sizes must be between 3 and 240")
    systems = []
    for name in args.systems.split(","):
        if name == "cairn":
            if not args.cairn or not os.access(args.cairn, os.X_OK):
                p.error(f"cairn binary not executable: {args.cairn!r} (--cairn)")
            systems.append(Cairn(args.cairn))
        elif name == "serf":
            if not args.serf or not os.access(args.serf, os.X_OK):
                p.error("serf not found (apt-get install serf, or --serf)")
            systems.append(Serf(args.serf))
        else:
            p.error(f"unknown system {name!r}")

    def on_signal(signum, _frame):
        raise SystemExit(f"interrupted by signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    return asyncio.run(main_async(args, systems, sizes))


if __name__ == "__main__":
    sys.exit(main())
