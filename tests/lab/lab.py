#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The network-namespace lab: heyes-connect against real broken networks (run as root).
"""Runs heyes-connect inside throw-away network namespaces, one per scenario.

Each namespace gets `lo` with documentation addresses on it, a DNS server
(dnsmasq, or heyes-test-dns for the timing scenarios), TCP listeners on the
working addresses and an iptables DROP rule on OUTPUT for each broken one (its
SYNs vanish, so the connect hangs, as on a black-holed path). heyes-connect
--json dials the scenario's name; the test checks the winning address and that
the connect time falls into the window the RFCs predict.

Exit status: 0 all passed, 1 a scenario failed or the programs under test
are missing or broken, 77 skipped (the host cannot run the lab: not root, no
`ip netns`, no iptables, no dnsmasq). Run by `meson test -C build --suite lab`,
or by hand: tests/lab/lab.py --connect build/tools/heyes-connect/heyes-connect
--test-dns build/tests/lab/heyes-test-dns [--only 4] [--verbose].
field.py (test lab-field; docs/lab.md) uses this machinery (start_host,
connect) to measure connect times with and without a history file.
"""

import argparse
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

SKIP = 77
PORT = 8443                      # every listener of the lab listens on this port
DNS_ADDR = "198.51.100.53"       # the lab's DNS server, on lo inside the namespace
ATTEMPT_DELAY = 250              # RFC 8305 Connection Attempt Delay (heyes default), ms
RESOLUTION_DELAY = 50            # RFC 8305 Resolution Delay (heyes default), ms
DNS_DELAY = 1000                 # the delay of the delayed answer in scenarios 8 and 9, ms
AAAA_LATE = 20                   # "aaaa-late": AAAA this late, inside the Resolution Delay, ms
TIMEOUT = 1500                   # heyes-connect --timeout for every dial, ms
EARLY, LATE = 20, 150            # the window: [expected - EARLY, expected + LATE]
SCENARIO_WALL = 20.0             # hard bound of one scenario, s
RESOLV_CONF = f"nameserver {DNS_ADDR}\noptions ndots:1 timeout:2 attempts:1\n"

# --- Addresses --------------------------------------------------------------
# Symbolic names used in the table: 6a/6b work, 6u..6z are broken (SYN
# dropped); same for 4a/4b/4c and 4x/4y/4z. "native" IPv6 is 2001:db8::/32, which
# RFC 6724's default table prefers over IPv4; "6to4" is 2002::/16 (here the
# 6to4 prefix of 10.64.76.7), which the default table ranks below IPv4.
# Every IPv6 address of a flavour is in one /64; 4c works in the /24 of the
# broken 4x/4y/4z (field.py dials such neighbours for network RTT evidence).
V6 = {
    "native": {"6a": "2001:db8::a", "6b": "2001:db8::b",
               "6x": "2001:db8::bad:1", "6y": "2001:db8::bad:2", "6z": "2001:db8::bad:3",
               "6u": "2001:db8::bad:4", "6v": "2001:db8::bad:5", "6w": "2001:db8::bad:6"},
    "6to4": {"6a": "2002:a40:4c07:1::a", "6b": "2002:a40:4c07:1::b",
             "6x": "2002:a40:4c07:1::bad:1", "6y": "2002:a40:4c07:1::bad:2",
             "6z": "2002:a40:4c07:1::bad:3", "6u": "2002:a40:4c07:1::bad:4",
             "6v": "2002:a40:4c07:1::bad:5", "6w": "2002:a40:4c07:1::bad:6"},
}
V4 = {"4a": "198.51.100.10", "4b": "198.51.100.11", "4c": "203.0.113.10",
      "4x": "203.0.113.1", "4y": "203.0.113.2", "4z": "203.0.113.3"}


def is_broken(label):
    return label[1] in "uvwxyz"


def stop_processes(procs):
    """Ends the processes this lab started (by their Popen objects): SIGTERM, then SIGKILL after 2 s."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=2)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=2)


# --- The expected results -----------------------------------------------------
# One row per scenario. AAAA and A are the answers (in DNS order), by symbolic
# name. The three last columns say what must happen on a dual-stack host with
# native IPv6, on a dual-stack host with 6to4 IPv6, and on an IPv4-only host
# (only ::1 for IPv6, so IPv6 destinations have no source address):
#   "4a k1"        4a wins after k=1 broken address: at k x ATTEMPT_DELAY
#   "4a rd"        4a wins after the Resolution Delay (AAAA late or lost)
#   "4a dns"       4a wins when its delayed A answer arrives (DNS_DELAY)
#   "fail now"     the dial fails at once (no usable address)
#   "fail timeout" the dial fails at TIMEOUT (every usable address broken)
#   "-"            not run (scenarios 8-12 are native IPv6 only)
# dns: "dnsmasq" (a real DNS server), or "test" (heyes-test-dns, which can
# delay or drop one type): "aaaa-delay" delays AAAA by DNS_DELAY, "a-delay"
# the A answer, "aaaa-drop" never answers AAAA, "aaaa-late" delays AAAA by
# AAAA_LATE (within the Resolution Delay: both families sorted together;
# expected times then start at AAAA_LATE).
@dataclass
class Scenario:
    id: str
    title: str
    aaaa: list
    a: list
    dns: str
    native: str
    sixtofour: str
    ipv4_only: str
    args: list = field(default_factory=list)
    policy: str = ""


def row(id, title, aaaa, a, dns, native, sixtofour, ipv4_only, args=(), policy=""):
    return Scenario(id, title, aaaa.split(), a.split(), dns, native, sixtofour, ipv4_only,
                    list(args), policy)


# A gai.conf that prefers IPv4: RFC 6724's default table with ::ffff:0:0/96 raised to 100.
PREFER_V4_POLICY = """\
# RFC 6724 default precedences, but IPv4 (::ffff:0:0/96) first
precedence ::1/128       50
precedence ::/0          40
precedence ::ffff:0:0/96 100
precedence 2002::/16     30
precedence ::/96         1
precedence fc00::/7      3
precedence fec0::/10     1
precedence 3ffe::/16     1
precedence 2001::/32     5
"""

SCENARIOS = [
    #    id    title                              AAAA        A           dns           native     6to4       ipv4-only
    row("1",  "one IPv4",                         "",         "4a",       "dnsmasq",    "4a k0",   "4a k0",   "4a k0"),
    row("2",  "one IPv6",                         "6a",       "",         "dnsmasq",    "6a k0",   "6a k0",   "fail now"),
    row("3",  "IPv4 + IPv6",                      "6a",       "4a",       "dnsmasq",    "6a k0",   "4a k0",   "4a k0"),
    row("4",  "IPv4 + broken IPv6",               "6x",       "4a",       "dnsmasq",    "4a k1",   "4a k0",   "4a k0"),
    row("5",  "broken IPv4 + IPv6",               "6a",       "4x",       "dnsmasq",    "6a k0",   "6a k1",   "fail timeout"),
    row("6",  "IPv4 + IPv6 + broken IPv6",        "6x 6a",    "4a",       "dnsmasq",    "4a k1",   "4a k0",   "4a k0"),
    row("7",  "IPv4 + broken IPv4 + IPv6",        "6a",       "4x 4a",    "dnsmasq",    "6a k0",   "6a k1",   "4a k1"),
    row("8",  "AAAA delayed 1 s",                 "6a",       "4a",       "aaaa-delay", "4a rd",   "-",       "4a k0"),
    row("9",  "A delayed 1 s",                    "6a",       "4a",       "a-delay",    "6a k0",   "-",       "4a dns"),
    row("10", "AAAA never answered",              "6a",       "4a",       "aaaa-drop",  "4a rd",   "-",       "4a k0"),
    row("11", "3 broken IPv6 + IPv4",             "6x 6y 6z", "4a",       "dnsmasq",    "4a k1",   "-",       "4a k0"),
    row("12", "IPv6 + 3 broken IPv4",             "6a",       "4x 4y 4z", "dnsmasq",    "6a k0",   "-",       "fail timeout"),
    # A policy file that prefers IPv4: the broken IPv4 goes first now.
    row("P",  "policy prefers IPv4 (as 5)",       "6a",       "4x",       "dnsmasq",    "6a k1",   "-",       "-",
        policy=PREFER_V4_POLICY),
    # The same with AAAA 20 ms late, so that both answers are sorted together.
    row("P2", "policy prefers IPv4, AAAA late",   "6a",       "4x",       "aaaa-late",  "6a k1",   "-",       "-",
        policy=PREFER_V4_POLICY),
    # First Address Family Count 2: both IPv6 before the IPv4 (6x 6a 4a).
    # AAAA is 20 ms late, so that both answers are sorted together.
    row("F",  "--family-count 2 (as 6)",          "6x 6a",    "4a",       "aaaa-late",  "6a k1",   "-",       "-",
        args=["--family-count", "2"]),
]


# Rows heyes fails today, with the cause. They still run and print what went
# wrong, marked "known", and do not fail the run unless --strict is given.
# Remove a row's entry once it passes (the run says so).
KNOWN = {}


@dataclass
class Expect:
    winner: str | None   # symbolic name, None for a failure
    at_ms: int           # when the dial ends
    k: int               # broken addresses tried before the winner (for the table)


def parse_expect(text):
    what, when = text.split()
    if what == "fail":
        return Expect(None, 0 if when == "now" else TIMEOUT, 0)
    if when.startswith("k"):
        k = int(when[1:])
        return Expect(what, k * ATTEMPT_DELAY, k)
    return Expect(what, {"rd": RESOLUTION_DELAY, "dns": DNS_DELAY}[when], 0)


# One run: a scenario on one host kind ("dual" or "ipv4-only") with one IPv6 flavour.
@dataclass
class Run:
    scenario: Scenario
    stack: str
    flavour: str
    expect: Expect

    def address(self, label):
        return V6[self.flavour][label] if label.startswith("6") else V4[label]

    @property
    def name(self):  # the DNS name dialled
        return f"s{self.scenario.id.lower()}.lab.test"

    @property
    def stack_label(self):
        return f"{self.stack}/{self.flavour}"


def plan(only):
    runs = []
    for s in SCENARIOS:
        if only and s.id not in only:
            continue
        for stack, flavour, column in (("dual", "native", s.native), ("dual", "6to4", s.sixtofour),
                                       ("ipv4-only", "native", s.ipv4_only),
                                       ("ipv4-only", "6to4", s.ipv4_only if s.sixtofour != "-" else "-")):
            if column != "-":
                expect = parse_expect(column)
                if s.dns == "aaaa-late":
                    expect.at_ms += AAAA_LATE  # the race starts when AAAA arrives
                runs.append(Run(s, stack, flavour, expect))
    return runs


# --- Running commands -------------------------------------------------------

def sh(*cmd, ns=None, check=True, timeout=10):
    """Runs cmd (in network namespace ns when given), output captured; a failure
    raises with the command and its stderr unless check is False."""
    full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
    r = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"`{' '.join(full)}` failed ({r.returncode}): {r.stderr.strip()}")
    return r


class Lab:
    def __init__(self, opts):
        self.opts = opts
        self.counter = 0
        self.iptables = {"4": "iptables", "6": "ip6tables"}
        self.tmp = tempfile.mkdtemp(prefix="heyes-lab-")
        self.open_namespaces = []  # closed at the end whatever happened

    def close_all(self):
        for ns in list(self.open_namespaces):
            ns.close()

    sh = staticmethod(sh)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def log(self, msg):
        if self.opts.verbose:
            print(f"  [lab] {msg}", flush=True)


class Namespace:
    """One network namespace with its processes; close() removes everything."""

    def __init__(self, lab):
        lab.counter += 1
        self.lab = lab
        self.name = f"heyes-lab-{os.getpid()}-{lab.counter}"
        self.procs = []
        lab.open_namespaces.append(self)  # before it exists: an interruption may come at any point
        lab.sh("ip", "netns", "add", self.name)
        lab.sh("ip", "link", "set", "lo", "up", ns=self.name)

    def add_address(self, addr):
        if ":" in addr:
            self.lab.sh("ip", "-6", "addr", "add", f"{addr}/128", "dev", "lo", "nodad", ns=self.name)
        else:
            self.lab.sh("ip", "addr", "add", f"{addr}/32", "dev", "lo", ns=self.name)

    def drop_tcp_to(self, addr):
        tool = self.lab.iptables["6" if ":" in addr else "4"]
        self.lab.sh(tool, "-A", "OUTPUT", "-d", addr, "-p", "tcp", "-j", "DROP", ns=self.name)

    def spawn(self, cmd, log_name):
        log = open(os.path.join(self.lab.tmp, f"{self.name}-{log_name}.log"), "w")
        p = subprocess.Popen(["ip", "netns", "exec", self.name] + cmd, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        self.procs.append(p)
        return p

    def close(self):
        # Our own children first, by pid; then anything left inside the
        # namespace (only processes this lab started can be in it).
        stop_processes(self.procs)
        r = self.lab.sh("ip", "netns", "pids", self.name, check=False)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        self.lab.sh("ip", "netns", "del", self.name, check=False)
        if self in self.lab.open_namespaces:
            self.lab.open_namespaces.remove(self)


# --- Inside the namespace: listeners and readiness ---------------------------
def dns_probe(server, port, deadline):
    """True once the DNS server at server:port answers anything (bounded by deadline)."""
    query = struct.pack(">HHHHHH", 0x4c61, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p for p in (b"ready", b"lab", b"test")) + b"\0"
    query += struct.pack(">HH", 1, 1)
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.1)
            try:
                s.sendto(query, (server, port))
                if s.recv(512)[:2] == query[:2]:
                    return True
            except OSError:
                time.sleep(0.05)
    return False


def serve(port, addrs, dns):
    """Listens on every addr:port, waits for the DNS server, prints "ready",
    then accepts (and closes) connections until stdin closes; at most 60 s."""
    socks = []
    for a in addrs:
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a, port))
        s.listen(16)
        socks.append(s)
    host, dport = dns.rsplit(":", 1)
    if not dns_probe(host, int(dport), time.monotonic() + 5):
        print("dns server not answering", flush=True)
        return 1
    print("ready", flush=True)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        ready, _, _ = select.select(socks + [sys.stdin], [], [], 1.0)
        for s in ready:
            if s is sys.stdin:
                return 0
            conn, _ = s.accept()
            conn.close()
    return 0


# --- One scenario -----------------------------------------------------------
def dnsmasq_cmd(run):
    cmd = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
           "--port=53", f"--listen-address={DNS_ADDR}", "--bind-interfaces", "--pid-file=",
           "--local-ttl=60", "--log-facility=-", "--log-queries"]
    # One --host-record per address: dnsmasq keeps one address per family per
    # record, and answers a fresh server's first query in this order.
    for label in run.scenario.aaaa + run.scenario.a:
        cmd.append(f"--host-record={run.name},{run.address(label)}")
    return cmd


def test_dns_cmd(lab, run):
    s = run.scenario
    cmd = [lab.opts.test_dns, "--listen", f"{DNS_ADDR}:53"]
    for label in s.aaaa:
        cmd += ["--record", run.name, "AAAA", run.address(label)]
    for label in s.a:
        cmd += ["--record", run.name, "A", run.address(label)]
    if s.dns == "aaaa-delay":
        cmd += ["--delay", run.name, "AAAA", str(DNS_DELAY)]
    elif s.dns == "a-delay":
        cmd += ["--delay", run.name, "A", str(DNS_DELAY)]
    elif s.dns == "aaaa-late":
        cmd += ["--delay", run.name, "AAAA", str(AAAA_LATE)]
    elif s.dns == "aaaa-drop":
        cmd += ["--drop", run.name, "AAAA"]
    return cmd


def set_up(lab, ns, run):
    """Addresses, DROP rules, DNS server and listeners; returns when all are up."""
    s = run.scenario
    # On the IPv4-only host no IPv6 address exists but ::1.
    labels = [l for l in s.aaaa + s.a if not (run.stack == "ipv4-only" and l.startswith("6"))]
    start_host(lab, ns, [run.address(l) for l in labels if not is_broken(l)],
               [run.address(l) for l in labels if is_broken(l)],
               dnsmasq_cmd(run) if s.dns == "dnsmasq" else test_dns_cmd(lab, run))


def start_host(lab, ns, working, broken, dns_cmd):
    """Puts the DNS server's and every working and broken address on lo, a
    DROP rule for each broken one, starts dns_cmd and listeners on the working
    ones; returns when all are up."""
    ns.add_address(DNS_ADDR)
    for addr in working + broken:
        ns.add_address(addr)
    for addr in broken:
        ns.drop_tcp_to(addr)
    dns = ns.spawn(dns_cmd, "dns")
    listener = ns.spawn([sys.executable, os.path.abspath(__file__), "--serve", str(PORT),
                         "--dns", f"{DNS_ADDR}:53"] + working, "listen")
    # Wait (bounded) for the listener's "ready", which it prints once the DNS server answers.
    ready, _, _ = select.select([listener.stdout], [], [], 8.0)
    line = listener.stdout.readline().strip() if ready else "(nothing)"
    if line != "ready":
        raise RuntimeError(f"lab set-up failed: listener said {line!r}; dns server "
                           f"{'exited ' + str(dns.returncode) if dns.poll() is not None else 'running'}")


def dial(lab, ns, run):
    policy = lab.write(f"{ns.name}-gai.conf", run.scenario.policy) if run.scenario.policy else "none"
    return connect(lab, ns, ["--policy", policy, "--timeout", str(TIMEOUT)] + run.scenario.args
                   + [run.name, str(PORT)])


def connect(lab, ns, args, wall=SCENARIO_WALL):
    """Runs heyes-connect --json ARGS in ns; returns (exit status, the last dial's result object)."""
    # Hermetic: the lab's own resolv.conf, hosts file (and the caller's
    # policy), so that the machine's configuration (search lists, ndots,
    # gai.conf) changes nothing; the lab's DNS server, never the machine's.
    resolv_conf, hosts = lab.write("resolv.conf", RESOLV_CONF), lab.write("hosts", "")
    args = [lab.opts.connect, "--json", "--nameserver", f"{DNS_ADDR}:53", "--resolv-conf", resolv_conf,
            "--hosts", hosts] + list(args)
    lab.log(" ".join(args))
    r = lab.sh(*args, ns=ns.name, check=False, timeout=wall)
    # JSON Lines: the events as they happened, then one result object per dial.
    results = []
    for line in r.stdout.splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and obj.get("type") == "result":
            results.append(obj)
    if not results:
        raise RuntimeError(f"heyes-connect exit {r.returncode}, no JSON result; stderr: {r.stderr.strip()}")
    return r.returncode, results[-1]


def check(run, rc, result):
    """Returns a list of what went wrong (empty when the run passed)."""
    e, errs = run.expect, []
    elapsed = result.get("elapsed_ms")
    if e.winner is None:
        if result.get("ok") or rc == 0:
            errs.append(f"expected failure, connected to {result.get('address')}")
        elif rc != 1:
            errs.append(f"expected exit status 1 (no connection), got {rc}")
    else:
        want = run.address(e.winner)
        if rc != 0:
            errs.append(f"connected, but heyes-connect exited {rc}")
        if not result.get("ok"):
            errs.append(f"expected {e.winner} ({want}), failed: {result.get('error')}")
        elif result.get("address") != want:
            errs.append(f"expected {e.winner} ({want}), won by {result.get('address')}")
    if not isinstance(elapsed, (int, float)):
        return errs + ["no elapsed_ms in the JSON"]
    if not (e.at_ms - EARLY <= elapsed <= e.at_ms + LATE):
        errs.append(f"connect time {elapsed:.0f} ms outside [{e.at_ms - EARLY}, {e.at_ms + LATE}]")
    # Usable families: an IPv4-only host never waits on IPv6 (not even the
    # Resolution Delay), asserted from the trace rather than a tighter time bound.
    if run.stack == "ipv4-only":
        errs += ipv6_waits(result.get("events", []))
    return errs


def ipv6_waits(events):
    """Usable families on an IPv4-only host: no AAAA query (as AI_ADDRCONFIG), no
    Resolution Delay, no IPv6 attempt."""
    errs = []
    for ev in events:
        kind, family = ev.get("type"), ev.get("family")
        if kind == "dns_query" and family == "ipv6":
            errs.append(f"IPv4-only host sent an AAAA query at {ev.get('t_ms')} ms")
        elif kind == "resolution_delay":
            errs.append(f"IPv4-only host waited the Resolution Delay at {ev.get('t_ms')} ms")
        elif kind == "attempt_start" and family == "ipv6":
            errs.append(f"IPv4-only host started an IPv6 attempt at {ev.get('t_ms')} ms")
    return errs


def run_one(lab, run):
    ns = Namespace(lab)
    try:
        set_up(lab, ns, run)
        rc, result = dial(lab, ns, run)
        errs = check(run, rc, result)
        if errs:
            errs.append("DNS server log: " + tail(os.path.join(lab.tmp, f"{ns.name}-dns.log")))
        return result, errs
    finally:
        ns.close()


def tail(path, n=8):
    try:
        with open(path) as f:
            return " | ".join(l.strip() for l in f.readlines()[-n:]) or "(empty)"
    except OSError:
        return "(none)"


def describe_attempts(result):
    return ", ".join(f"{ev.get('address')}@{ev.get('t_ms')}" for ev in result.get("events", [])
                     if ev.get("type") == "attempt_start")


# --- Main -------------------------------------------------------------------
class Broken(Exception):
    """A program under test is missing or broken: the run fails (it never skips)."""


def skip_reason(lab, needs=("ip", "dnsmasq"), options=(), programs=()):
    """Why the host cannot run the lab (None: it can): needs are the system
    programs it runs. Raises Broken when heyes-connect (or one of programs, the
    project's own helpers) is missing, does not run, or lacks one of options."""
    for path in (lab.opts.connect,) + tuple(programs):
        if not (path and os.path.isfile(path) and os.access(path, os.X_OK)):
            raise Broken(f"{path or 'a program under test'}: not an executable (is the build complete?)")
    try:
        r = subprocess.run([lab.opts.connect, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise Broken(f"{lab.opts.connect} --help: {err}") from err
    if r.returncode != 0:
        raise Broken(f"{lab.opts.connect} --help exited {r.returncode}: {r.stderr.strip()[:200]}")
    missing = [o for o in ("--nameserver", "--json") + tuple(options) if o not in r.stdout]
    if missing:
        raise Broken(f"{lab.opts.connect} --help does not list {', '.join(missing)}")
    if os.geteuid() != 0:
        return "not root: the lab needs network namespaces (run as root, e.g. in CI)"
    for tool in needs:
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian: iproute2, dnsmasq-base)"
    return probe_namespace(lab)


def probe_namespace(lab):
    """Creates one namespace to check that `ip netns` and iptables work here;
    falls back to iptables-legacy when the nft backend fails."""
    try:
        ns = Namespace(lab)
    except (RuntimeError, OSError) as err:
        return f"`ip netns add` does not work here: {err}"
    try:
        for fam, tools in (("4", ("iptables", "iptables-legacy")),
                           ("6", ("ip6tables", "ip6tables-legacy"))):
            for tool in tools:
                if shutil.which(tool) and lab.sh(tool, "-S", ns=ns.name, check=False).returncode == 0:
                    lab.iptables[fam] = tool
                    break
            else:
                return f"no working {'ip6tables' if fam == '6' else 'iptables'} in a namespace"
    finally:
        ns.close()
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connect", help="path of heyes-connect")
    ap.add_argument("--test-dns", help="path of heyes-test-dns")
    ap.add_argument("--only", nargs="*", help="scenario ids to run (default: all)")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--strict", action="store_true", help="known failures (KNOWN) fail the run too")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # internal: listener mode
    ap.add_argument("--dns", help=argparse.SUPPRESS)
    ap.add_argument("addrs", nargs="*", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.serve:
        return serve(opts.serve, opts.addrs, opts.dns)
    if not opts.connect:
        ap.error("--connect is required")

    # meson's timeout sends SIGTERM: turn it into an exception so every
    # finally block (namespace and process clean-up) runs.
    signal.signal(signal.SIGTERM, on_sigterm)
    for var in ("RES_OPTIONS", "LOCALDOMAIN"):  # the resolver honours them, as glibc
        os.environ.pop(var, None)
    lab = Lab(opts)
    try:
        runs = plan(opts.only)
        # heyes-test-dns plays the timing scenarios: needed as soon as one is planned.
        helpers = (opts.test_dns,) if any(r.scenario.dns != "dnsmasq" for r in runs) else ()
        try:
            reason = skip_reason(lab, programs=helpers)
        except Broken as err:
            print(f"FAIL: {err}")
            return 1
        if reason:
            print(f"SKIP: {reason}")
            return SKIP
        return run_all(lab, runs)
    finally:
        # Whatever was interrupted half-way: no second signal stops this.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        lab.close_all()
        shutil.rmtree(lab.tmp, ignore_errors=True)


def on_sigterm(*_):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the clean-up must not be interrupted
    sys.exit(1)


def run_all(lab, runs):
    print(f"{'scenario':<34} {'stack':<18} {'expected':<14} {'winner':<24} {'ms':>6}  result")
    failures = known = 0
    for run in runs:
        s, e = run.scenario, run.expect
        expected = f"{e.winner or 'fail'} k={e.k} @{e.at_ms}"
        try:
            result, errs = run_one(lab, run)
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as err:
            result, errs = {}, [f"{type(err).__name__}: {err}"]
        winner = result.get("address") or ("failed" if result else "-")
        ms = result.get("elapsed_ms")
        ms_text = f"{ms:6.0f}" if isinstance(ms, (int, float)) else "     -"
        reason = KNOWN.get((s.id, run.stack_label))
        verdict = "ok" if not errs else "FAIL"
        if reason and errs and not lab.opts.strict:
            verdict = "known"
        elif reason and not errs:
            verdict = "ok (a known failure passes now: remove it from KNOWN)"
        print(f"{s.id + '. ' + s.title:<34} {run.stack_label:<18} {expected:<14} {winner:<24} {ms_text}  "
              f"{verdict}", flush=True)
        for err in errs:
            print(f"      {err}; attempts: {describe_attempts(result) or 'none'}")
        if errs and reason:
            print(f"      known: {reason}")
        failures += verdict == "FAIL"
        known += verdict == "known"
    print(f"{len(runs) - failures - known} of {len(runs)} lab runs passed, {known} known failures, "
          f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
