#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The NAT64/DNS64 lab: heyes-connect on a real IPv6-only network with tayga and unbound (run as root).
"""Runs heyes-connect inside network namespaces joined into one NAT64 network.

Topology (built once, torn down at the end whatever happens):

    v6only  2001:db8:1::2, no IPv4 ----+
                                       rtr ---- srv  IPv4 only: 192.88.99.10, 203.0.113.10,
    dual    2001:db8:2::2, 10.2.0.2 ---+              a TCP listener on 8443

rtr forwards both families and runs two tayga translators: 64:ff9b::/96 (the
Well-Known Prefix) with the pool 192.168.240.0/24, and 2001:db8:64::/96 (a
network-specific prefix) with 192.168.241.0/24; and five unbound resolvers on
its lo, each serving the zones lab.test and ipv4only.arpa from auth-zones:
"wkp" and "nsp" are DNS64s with those prefixes, "plain" does not synthesize
(ipv4only.arpa has no AAAA: the discovery finds nothing), "pref" does not
synthesize but publishes the ipv4only.arpa AAAA records of 2001:db8:64::/96,
"bogus" publishes ipv4only.arpa AAAA records that hold no well-known address.
tayga drops non-global IPv4 under the Well-Known Prefix, so 192.88.99.10 (it
never leaves the namespaces) stands for a global address; 203.0.113.10
(documentation) goes through the network-specific prefix.

Each scenario runs heyes-connect --json in a client namespace and checks the
exit status, the winner, the trace's NAT64 events, the connect time, and what
reached the network: unbound's query log (log-queries), ip6tables/iptables
counters of DNS packets in the client, and the peer address the server saw
(the translator's pool). A short table of timings ends the run.

Exit status: 0 all passed (but the KNOWN ones, unless --strict), 1 a scenario
failed (or heyes-connect is missing or lacks an option), 77 skipped (not root,
no /dev/net/tun, no tayga, unbound or unbound-checkconf, no `ip netns`). Run by `meson test -C build lab-nat64`, or
by hand: tests/lab/nat64_lab.py --connect build/tools/heyes-connect/heyes-connect
[--only 3 4] [--verbose] [--runs N] [--strict]. docs/lab.md and docs/nat64.md
have the scenarios and the figures.
"""

import argparse
import json
import os
import random
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402  (Lab, Namespace, skip_reason, Broken, on_sigterm)

SKIP = 77
PORT = 8443
WALL = 20.0                    # hard bound of one heyes-connect run, s
SETUP_WAIT = 10.0              # bound of waiting for a daemon to come up, s
EARLY, LATE = 20, 150          # lab.py's window around an expected instant, ms
FAST = 20                      # "no wait": at most this much over the resolver's RTT, ms
RUNS = 5                       # dials per measured scenario (see check_fast); --runs
LAST_RESORT = 2000             # RFC 8305 section 7.2, heyes' last_resort_delay, ms
TIMEOUT = 5000                 # heyes-connect --timeout, unless a scenario sets one, ms

# --- Addresses --------------------------------------------------------------
SRV_GLOBAL = "192.88.99.10"    # global-looking: tayga translates it under 64:ff9b::/96
SRV_DOC = "203.0.113.10"       # documentation: only under the network-specific prefix
WKP, NSP = "64:ff9b::/96", "2001:db8:64::/96"
WKP_GLOBAL = "64:ff9b::c058:630a"      # SRV_GLOBAL under WKP (RFC 6052 /96)
NSP_DOC = "2001:db8:64::cb00:710a"     # SRV_DOC under NSP
BROKEN6_NET = "2001:db8:77::/64"       # native AAAAs whose SYNs rtr drops (all of it local on rtr)
BROKEN6 = ["2001:db8:77::1", "2001:db8:77::2", "2001:db8:77::3"]
REFUSED6 = "2001:db8:78::1"            # a native AAAA that refuses (on rtr, nothing listens)
POOL = {WKP: "192.168.240.", NSP: "192.168.241."}   # tayga's dynamic pools (/24)
V6ONLY, V6ONLY_GW = "2001:db8:1::2", "2001:db8:1::1"
DUAL6, DUAL6_GW = "2001:db8:2::2", "2001:db8:2::1"
DUAL4, DUAL4_GW = "10.2.0.2", "10.2.0.1"
RTR_SRV, SRV_RTR = "10.255.0.1", "10.255.0.2"
# The resolvers, on rtr's lo. SILENT is on rtr's lo too, every packet to it dropped;
# SENTINEL is the namespaces' /etc/resolv.conf (ip netns exec's bind mount):
# heyes-connect gets --resolv-conf, so a packet to it is a bug.
DNS = {"wkp": "2001:db8:53::64", "nsp": "2001:db8:53::65", "plain": "2001:db8:53::53",
       "pref": "2001:db8:53::66", "bogus": "2001:db8:53::bad"}
SILENT, SENTINEL = "2001:db8:53::99", "2001:db8:53::dead"

LAB_ZONE = f"""\
$TTL 300
@        SOA ns admin 1 3600 600 86400 60
@        NS  ns
ns       AAAA {DNS['plain']}
v4only   A    {SRV_DOC}
global   A    {SRV_GLOBAL}
broken6  AAAA {BROKEN6[0]}
broken6  A    {SRV_DOC}
broken3  AAAA {BROKEN6[0]}
broken3  AAAA {BROKEN6[1]}
broken3  AAAA {BROKEN6[2]}
broken3  A    {SRV_DOC}
refused6 AAAA {REFUSED6}
refused6 A    {SRV_DOC}
"""
WKA = "192.0.0.170", "192.0.0.171"   # RFC 7050's well-known IPv4 addresses


def ipv4only_zone(aaaa=()):
    lines = ["$TTL 600", "@ SOA ns.lab.test. admin.lab.test. 1 3600 600 86400 60",
             "@ NS ns.lab.test."] + [f"@ A {a}" for a in WKA] + [f"@ AAAA {a}" for a in aaaa]
    return "\n".join(lines) + "\n"


# name -> (dns64 prefix or None, ipv4only.arpa AAAA records published as data)
RESOLVERS = {
    "wkp": (WKP, ()),
    "nsp": (NSP, ()),
    "plain": (None, ()),
    "pref": (None, ("2001:db8:64::c000:aa", "2001:db8:64::c000:ab")),
    # No well-known address in either: one looks like a WKP synthesis of 192.0.2.1.
    "bogus": (None, ("64:ff9b::c000:201", "2001:db8:bad::1")),
}


def unbound_conf(d, addr, dns64):
    """An unbound that answers lab.test and ipv4only.arpa from its auth-zones
    (for-upstream, so that the dns64 module sees the answers; unbound does not
    synthesize for local-data) and nothing else: every other name is refused,
    and its root hint is 127.0.0.1 in rtr, where nothing listens."""
    zones = "".join(f"""
auth-zone:
  name: "{z}."
  zonefile: "{d}/{z}.zone"
  for-downstream: no
  for-upstream: yes
  fallback-enabled: no
""" for z in ("lab.test", "ipv4only.arpa"))
    modules = f'  module-config: "dns64 iterator"\n  dns64-prefix: {dns64}\n' if dns64 else \
        '  module-config: "iterator"\n'
    return f"""server:
  interface: {addr}
  port: 53
  access-control: ::/0 allow
  do-ip4: no
  do-not-query-localhost: no
  chroot: ""
  username: ""
  directory: "{d}"
  pidfile: "{d}/unbound.pid"
  logfile: "{d}/unbound.log"
  use-syslog: no
  log-queries: yes
  verbosity: 1
  num-threads: 1
  so-reuseport: no
  root-hints: "{d}/root.hints"
  local-zone: "." refuse
  local-zone: "lab.test." transparent
  local-zone: "ipv4only.arpa." transparent
{modules}remote-control:
  control-enable: no
{zones}"""


def tayga_conf(d, tun, prefix, ipv4_addr, ipv6_addr, pool):
    return (f"tun-device {tun}\nipv4-addr {ipv4_addr}\nipv6-addr {ipv6_addr}\n"
            f"prefix {prefix}\ndynamic-pool {pool}\ndata-dir {d}\n")


TAYGAS = [  # tun, prefix, tayga's own IPv4 and IPv6 address, pool
    ("nat64wkp", WKP, "192.168.240.1", "2001:db8:ffff::1", "192.168.240.0/24"),
    ("nat64nsp", NSP, "192.168.241.1", "2001:db8:ffff::2", "192.168.241.0/24"),
]


# --- DNS on the wire (the probe and the RTT measurement) ---------------------
def dns_query(server, name, qtype, timeout=1.0):
    """One UDP query; returns (rcode, [addresses], rtt ms). Raises OSError on silence."""
    qid = random.randrange(65536)
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    msg += b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    msg += struct.pack(">HH", qtype, 1)
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        t0 = time.monotonic()
        s.sendto(msg, (server, 53))
        deadline = t0 + timeout
        while True:
            s.settimeout(max(0.001, deadline - time.monotonic()))
            r = s.recv(4096)
            if r[:2] == msg[:2]:
                break
        rtt = (time.monotonic() - t0) * 1000
    return r[3] & 15, parse_answers(r), rtt


def parse_answers(r):
    def skip_name(i):
        for _ in range(128):  # bounded: a name has at most 127 labels
            if r[i] & 0xC0 == 0xC0:
                return i + 2
            if r[i] == 0:
                return i + 1
            i += r[i] + 1
        raise ValueError("name too long")
    qd, an = struct.unpack(">HH", r[4:8])
    i = 12
    for _ in range(qd):
        i = skip_name(i) + 4
    out = []
    for _ in range(an):
        i = skip_name(i)
        rtype, _, _, rdlen = struct.unpack(">HHIH", r[i:i + 10])
        i += 10
        if rtype == 1:
            out.append(socket.inet_ntop(socket.AF_INET, r[i:i + rdlen]))
        elif rtype == 28:
            out.append(socket.inet_ntop(socket.AF_INET6, r[i:i + rdlen]))
        i += rdlen
    return out


def rtt_mode(server, name, count):
    """--dns-rtt: A and AAAA queries for name, alternately; prints the RTTs (ms) as JSON."""
    rtts = []
    for n in range(count):
        rtts.append(dns_query(server, name, 1 if n % 2 else 28)[2])
    print(json.dumps(rtts))
    return 0


# --- The server's listener (--serve) ----------------------------------------
def serve(port, log_path):
    """Listens on 0.0.0.0:port, prints "ready", then accepts connections and
    appends each peer's address to log_path until stdin closes; at most 300 s."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    print("ready", flush=True)
    end = time.monotonic() + 300
    with open(log_path, "a") as log:
        while time.monotonic() < end:
            ready, _, _ = select.select([s, sys.stdin], [], [], 1.0)
            if sys.stdin in ready:
                return 0
            if s in ready:
                conn, peer = s.accept()
                conn.close()
                log.write(peer[0] + "\n")
                log.flush()
    return 0


# --- The network ------------------------------------------------------------
class Net:
    """The lab's namespaces and daemons; close() removes all of it."""

    def __init__(self, lab_):
        self.lab = lab_
        self.ns = {}
        self.netns_dirs = []           # /etc/netns/NS of the clients, removed at close
        self.created_etc_netns = False  # /etc/netns itself, when this run made it
        self.peer_log = os.path.join(lab_.tmp, "peers.log")

    def sh(self, *cmd, ns=None, check=True, timeout=10):
        return self.lab.sh(*cmd, ns=self.ns[ns].name if ns else None, check=check, timeout=timeout)

    def spawn(self, role, cmd, log_name, stdin_pipe=False, stdout_pipe=False):
        """cmd in namespace role; stdout and stderr to tmp/log_name (unless piped). The
        pid is the namespace's to kill at close (ip netns exec execs the command)."""
        ns = self.ns[role]
        log = open(os.path.join(self.lab.tmp, log_name), "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns.name] + cmd,
                             stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                             stdout=subprocess.PIPE if stdout_pipe else log, stderr=log, text=True)
        log.close()
        ns.procs.append(p)
        return p

    def close(self):
        self.lab.close_all()
        for d in self.netns_dirs:
            shutil.rmtree(d, ignore_errors=True)
        if self.created_etc_netns:
            try:
                os.rmdir("/etc/netns")
            except OSError:
                pass  # someone else's namespace has a directory there now

    # Topology ---------------------------------------------------------------
    def build(self):
        for role in ("rtr", "srv", "v6only", "dual"):
            self.ns[role] = lab.Namespace(self.lab)
            self.lab.log(f"namespace {role}: {self.ns[role].name}")
        self.link("rtr", "srv")
        self.link("rtr", "v6only")
        self.link("rtr", "dual")
        # srv: IPv4 only; its two addresses on lo, a default route to rtr.
        self.addr("srv", "eth-rtr", f"{SRV_RTR}/30")
        self.addr("srv", "lo", f"{SRV_GLOBAL}/32")
        self.addr("srv", "lo", f"{SRV_DOC}/32")
        self.sh("ip", "route", "add", "default", "via", RTR_SRV, ns="srv")
        self.sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns="srv")
        # v6only: one IPv6 address and route; no IPv4 but 127.0.0.1 on lo.
        self.addr("v6only", "eth-rtr", f"{V6ONLY}/64")
        self.sh("ip", "-6", "route", "add", "default", "via", V6ONLY_GW, ns="v6only")
        # dual: both families, both routed through rtr.
        self.addr("dual", "eth-rtr", f"{DUAL6}/64")
        self.addr("dual", "eth-rtr", f"{DUAL4}/24")
        self.sh("ip", "-6", "route", "add", "default", "via", DUAL6_GW, ns="dual")
        self.sh("ip", "route", "add", "default", "via", DUAL4_GW, ns="dual")
        # rtr: forwards both families; the resolvers on its lo.
        self.addr("rtr", "eth-srv", f"{RTR_SRV}/30")
        self.addr("rtr", "eth-v6only", f"{V6ONLY_GW}/64")
        self.addr("rtr", "eth-dual", f"{DUAL6_GW}/64")
        self.addr("rtr", "eth-dual", f"{DUAL4_GW}/24")
        for a in (SRV_GLOBAL, SRV_DOC):
            self.sh("ip", "route", "add", f"{a}/32", "via", SRV_RTR, ns="rtr")
        self.sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", ns="rtr")
        for a in list(DNS.values()) + [SILENT, REFUSED6]:
            self.addr("rtr", "lo", f"{a}/128")
        self.sh("ip", "-6", "route", "add", "local", BROKEN6_NET, "dev", "lo", ns="rtr")
        # The black holes, on the far side: the client's packets leave it and vanish.
        ip6 = self.lab.iptables["6"]
        self.sh(ip6, "-A", "INPUT", "-d", SILENT, "-j", "DROP", ns="rtr")
        self.sh(ip6, "-A", "INPUT", "-d", BROKEN6_NET, "-p", "tcp", "-j", "DROP", ns="rtr")
        for role in ("v6only", "dual"):
            self.client_rules(role)

    def link(self, a, b):
        na, nb = self.ns[a].name, self.ns[b].name
        self.sh("ip", "link", "add", f"eth-{b}", "netns", na, "type", "veth", "peer", "name", f"eth-{a}",
                "netns", nb)
        self.sh("ip", "link", "set", f"eth-{b}", "up", ns=a)
        self.sh("ip", "link", "set", f"eth-{a}", "up", ns=b)

    def addr(self, role, dev, cidr):
        extra = ["nodad"] if ":" in cidr else []
        self.sh("ip", "addr", "add", cidr, "dev", dev, *extra, ns=role)

    def client_rules(self, role):
        """Counters for the client's DNS packets (and the sentinel's), the black
        holes, and the namespace's /etc/resolv.conf pointing at the sentinel."""
        ip6, ip4 = self.lab.iptables["6"], self.lab.iptables["4"]
        for tool in (ip6, ip4):
            for proto in ("udp", "tcp"):
                self.sh(tool, "-A", "OUTPUT", "-p", proto, "--dport", "53", ns=role)
        self.sh(ip6, "-A", "OUTPUT", "-d", SENTINEL, ns=role)
        if not os.path.isdir("/etc/netns"):
            self.created_etc_netns = True
        d = os.path.join("/etc/netns", self.ns[role].name)
        self.netns_dirs.append(d)
        os.makedirs(d, exist_ok=True)
        self.set_etc_resolv_conf(role, SENTINEL)

    def set_etc_resolv_conf(self, role, server):
        """The role's /etc/resolv.conf from the next `ip netns exec` on."""
        with open(os.path.join("/etc/netns", self.ns[role].name, "resolv.conf"), "w") as f:
            f.write(f"nameserver {server}\noptions timeout:1 attempts:1\n")

    def counters(self, role):
        """(DNS packets sent over IPv6, over IPv4, packets to the sentinel) since the last zero."""
        out = []
        for tool, match in ((self.lab.iptables["6"], "dpt:53"), (self.lab.iptables["4"], "dpt:53"),
                            (self.lab.iptables["6"], SENTINEL)):
            r = self.sh(tool, "-w", "-n", "-v", "-x", "-L", "OUTPUT", ns=role)
            out.append(sum(int(line.split()[0]) for line in r.stdout.splitlines()
                           if match in line and line.split()[0].isdigit()))
        return tuple(out)

    def zero_counters(self, role):
        for tool in (self.lab.iptables["6"], self.lab.iptables["4"]):
            self.sh(tool, "-w", "-Z", "OUTPUT", ns=role)

    # Daemons --------------------------------------------------------------
    def start(self):
        self.start_listener()
        for name, (dns64, aaaa) in RESOLVERS.items():
            self.start_unbound(name, dns64, aaaa)
        for t in TAYGAS:
            self.start_tayga(*t)
        self.wait_up()

    def start_listener(self):
        p = self.spawn("srv", [sys.executable, os.path.abspath(__file__), "--serve", str(PORT),
                               "--peer-log", self.peer_log], "listener.log", stdin_pipe=True, stdout_pipe=True)
        ready, _, _ = select.select([p.stdout], [], [], SETUP_WAIT)
        line = p.stdout.readline().strip() if ready else "(nothing)"
        if line != "ready":
            raise RuntimeError(f"listener said {line!r}")

    def start_unbound(self, name, dns64, aaaa):
        d = os.path.join(self.lab.tmp, f"unbound-{name}")
        os.makedirs(d)
        files = {"lab.test.zone": "$ORIGIN lab.test.\n" + LAB_ZONE,
                 "ipv4only.arpa.zone": "$ORIGIN ipv4only.arpa.\n" + ipv4only_zone(aaaa),
                 "root.hints": ".  3600000 NS a.root.lab.\na.root.lab.  3600000 A 127.0.0.1\n",
                 "unbound.conf": unbound_conf(d, DNS[name], dns64)}
        for fname, text in files.items():
            with open(os.path.join(d, fname), "w") as f:
                f.write(text)
        conf = os.path.join(d, "unbound.conf")
        r = subprocess.run(["unbound-checkconf", conf], capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError(f"unbound-checkconf {name}: {(r.stdout + r.stderr).strip()}")
        self.spawn("rtr", ["unbound", "-d", "-c", conf], f"unbound-{name}.out")

    def start_tayga(self, tun, prefix, ipv4_addr, ipv6_addr, pool):
        d = os.path.join(self.lab.tmp, f"tayga-{tun}")
        os.makedirs(d)
        conf = os.path.join(d, "tayga.conf")
        with open(conf, "w") as f:
            f.write(tayga_conf(d, tun, prefix, ipv4_addr, ipv6_addr, pool))
        self.sh("tayga", "-c", conf, "--mktun", ns="rtr")
        self.sh("ip", "link", "set", tun, "up", ns="rtr")
        self.sh("ip", "route", "add", prefix, "dev", tun, ns="rtr")
        self.sh("ip", "route", "add", pool, "dev", tun, ns="rtr")
        self.spawn("rtr", ["tayga", "-c", conf, "-d"], f"tayga-{tun}.log")

    def unbound_log(self, name):
        try:
            with open(os.path.join(self.lab.tmp, f"unbound-{name}", "unbound.log")) as f:
                return f.read()
        except OSError:
            return ""

    def peers(self):
        try:
            with open(self.peer_log) as f:
                return f.read().split()
        except OSError:
            return []

    def wait_up(self):
        """Every resolver answers, and both translators carry a connection (bounded)."""
        deadline = time.monotonic() + SETUP_WAIT
        pending = dict(DNS)
        while pending and time.monotonic() < deadline:
            for name, addr in list(pending.items()):
                r = self.run_helper("v6only", ["--probe", addr], timeout=5, check=False)
                if r.returncode == 0:
                    del pending[name]
            if pending:
                time.sleep(0.05)
        if pending:
            raise RuntimeError(f"unbound not answering: {', '.join(pending)}; log: "
                               + " | ".join(self.unbound_log(n).strip()[-300:] for n in pending))
        for target in (WKP_GLOBAL, NSP_DOC):
            r = self.run_helper("v6only", ["--tcp-probe", target], timeout=SETUP_WAIT + 2, check=False)
            if r.returncode != 0:
                raise RuntimeError(f"no TCP through tayga to {target}: {r.stdout.strip()} {r.stderr.strip()}")

    def run_helper(self, role, args, timeout=10, check=True):
        return self.sh(sys.executable, os.path.abspath(__file__), *args, ns=role, timeout=timeout, check=check)


def probe_mode(server):
    try:
        dns_query(server, "ns.lab.test", 28, timeout=0.2)
        return 0
    except OSError:
        return 1


def tcp_probe_mode(addr):
    end = time.monotonic() + SETUP_WAIT
    err = None
    while time.monotonic() < end:
        try:
            socket.create_connection((addr, PORT), timeout=1).close()
            return 0
        except OSError as e:
            err = e
            time.sleep(0.05)
    print(f"{addr}: {err}")
    return 1


# --- Running heyes-connect ------------------------------------------------------
@dataclass
class Dial:
    rc: int
    result: dict
    stderr: str
    argv: list

    @property
    def elapsed(self):
        return self.result.get("elapsed_ms")

    def events(self, kind=None):
        evs = self.result.get("events", [])
        return [e for e in evs if kind is None or e.get("type") == kind]

    def nat64_events(self):
        return [e for e in self.events() if e.get("type", "").startswith("nat64_") or e.get("type") == "last_resort"]

    def timeline(self):
        return "; ".join(f"{e.get('t_ms', 0):.1f} {e.get('type')} {e.get('address') or ''} {e.get('detail') or ''}"
                         .strip() for e in self.events())


class Ctx:
    """What a scenario needs: the network, dialing, and the figures kept for the table."""

    def __init__(self, lab_, net, runs, strict):
        self.lab, self.net, self.runs, self.strict = lab_, net, runs, strict
        self.rtt = {}  # resolver -> median RTT from v6only, ms

    def resolv_conf(self, server, timeout=1):
        return self.lab.write(f"resolv-{server.replace(':', '_')}-{timeout}.conf",
                              f"nameserver {server}\noptions ndots:1 timeout:{timeout} attempts:1\n")

    def dial(self, role, target, server, args=(), timeout=TIMEOUT):
        """heyes-connect --json in role, resolving through server (None: the
        namespace's /etc/resolv.conf); returns the Dial."""
        hosts = self.lab.write("hosts", "")
        config = ["--resolv-conf", self.resolv_conf(server)] if server else []
        argv = ([self.lab.opts.connect, "--json"] + config
                + ["--hosts", hosts, "--policy", "none", "--timeout", str(timeout)] + list(args) + [target, str(PORT)])
        self.lab.log(f"[{role}] " + " ".join(argv))
        r = self.net.sh(*argv, ns=role, check=False, timeout=WALL)
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
        d = Dial(r.returncode, results[-1], r.stderr, argv)
        self.lab.log(f"  exit {d.rc}, {d.result.get('address')} in {d.elapsed} ms: {d.timeline()}")
        return d

    def measure_rtt(self, name):
        """The resolver's RTT from v6only for lab names (warm cache, as the dials see it)."""
        if name not in self.rtt:
            r = self.net.run_helper("v6only", ["--dns-rtt", DNS[name], "v4only.lab.test", "10"])
            self.rtt[name] = statistics.median(json.loads(r.stdout))
        return self.rtt[name]


# --- Checks -----------------------------------------------------------------------
def check_connected(d, address, family="ipv6"):
    errs = []
    if d.rc != 0 or not d.result.get("ok"):
        errs.append(f"expected a connection to {address}, got exit {d.rc}: {d.result.get('error')} "
                    f"({d.result.get('error_code')})")
    elif d.result.get("address") != address or d.result.get("family") != family:
        errs.append(f"expected {address} ({family}) to win, won by {d.result.get('address')} "
                    f"({d.result.get('family')})")
    return errs


def check_failed(d):
    errs = []
    if d.rc != 1 or d.result.get("ok"):
        errs.append(f"expected exit 1 (no connection), got exit {d.rc}, address {d.result.get('address')}")
    if not d.result.get("error_code") or not d.result.get("error"):
        errs.append("a failed dial without error and error_code")
    return errs


def check_elapsed(d, low, high, what="connect time"):
    e = d.elapsed
    if not isinstance(e, (int, float)):
        return ["no elapsed_ms in the result"]
    if not low <= e <= high:
        return [f"{what} {e:.1f} ms outside [{low:.0f}, {high:.0f}]"]
    return []


def check_prefix_event(d, prefix, source):
    """One nat64_prefix event naming prefix, its detail saying where it came from."""
    evs = d.events("nat64_prefix")
    if len(evs) != 1:
        return [f"expected one nat64_prefix event, got {len(evs)}"]
    detail = evs[0].get("detail", "")
    errs = []
    if prefix not in detail:
        errs.append(f"nat64_prefix does not name {prefix}: {detail!r}")
    if source not in detail:
        errs.append(f"nat64_prefix does not say {source!r}: {detail!r}")
    return errs


def check_no_prefix_event(d):
    evs = d.events("nat64_prefix")
    if len(evs) != 1:
        return [f"expected one nat64_prefix event saying why there is no prefix, got {len(evs)}"]
    detail = evs[0].get("detail", "")
    return [] if detail.startswith("no NAT64 prefix") else [f"nat64_prefix should say there is none: {detail!r}"]


def check_synthesized(d, address):
    if not any(e.get("address") == address for e in d.events("nat64_synthesized")):
        return [f"no nat64_synthesized event for {address}"]
    return []


def check_attempts_only(d, allowed):
    """Every attempt went to one of allowed (no address made up outside a prefix)."""
    bad = [e.get("address") for e in d.events("attempt_start") if e.get("address") not in allowed]
    return [f"attempts to {', '.join(bad)}: only {', '.join(allowed) or 'none'} may be tried"] if bad else []


def check_no_nat64(d):
    evs = d.nat64_events()
    return [f"unexpected NAT64 events: {', '.join(e['type'] for e in evs)}"] if evs else []


class Watch:
    """What the network saw during one scenario: new unbound log lines, the
    client's DNS packet counters, the peers the server accepted."""

    def __init__(self, ctx, role):
        self.ctx, self.role = ctx, role
        ctx.net.zero_counters(role)
        self.logs = {n: len(ctx.net.unbound_log(n)) for n in DNS}
        self.peers = len(ctx.net.peers())

    def queries(self, resolver, needle):
        text = self.ctx.net.unbound_log(resolver)[self.logs[resolver]:]
        return [line for line in text.splitlines() if needle in line]

    def ipv4only_queries(self):
        return {n: len(self.queries(n, "ipv4only.arpa.")) for n in DNS if self.queries(n, "ipv4only.arpa.")}

    def new_peers(self, count, wait=2.0):
        """The peers accepted since the start; waits (bounded) for count of them."""
        end = time.monotonic() + wait
        while True:
            got = self.ctx.net.peers()[self.peers:]
            if len(got) >= count or time.monotonic() >= end:
                return got
            time.sleep(0.02)

    def check_end(self):
        """What must hold after every scenario: nothing went to the sentinel."""
        v6, v4, sentinel = self.ctx.net.counters(self.role)
        return [f"{sentinel} packets to the namespace's /etc/resolv.conf server {SENTINEL}: "
                "heyes-connect ignored --resolv-conf"] if sentinel else []

    def check_peers(self, count, prefix_start):
        got = self.new_peers(count)
        bad = [p for p in got if not p.startswith(prefix_start)]
        errs = []
        if len(got) < count:
            errs.append(f"the server accepted {len(got)} connections, expected {count}")
        if bad:
            errs.append(f"the server saw peers {', '.join(bad)}, expected {prefix_start}*")
        return errs


# --- Scenarios --------------------------------------------------------------------
@dataclass
class Outcome:
    errs: list = field(default_factory=list)
    dials: list = field(default_factory=list)
    figure: str = ""      # for the table: what was measured


def check_fast(dials, rtt):
    """Nothing waited: the fastest of the dials within the resolver's RTT + FAST.
    A wait heyes adds (a Resolution Delay, a discovery it serializes) is in every
    dial; the load of a shared machine, in some. The median goes to the table."""
    values = [d.elapsed for d in dials if isinstance(d.elapsed, (int, float))]
    if len(values) < len(dials):
        return ["a dial without elapsed_ms"]
    if min(values) > rtt + FAST:
        return [f"connect time {min(values):.1f} ms at best, over the resolver's RTT + {FAST} ms "
                f"({rtt:.2f} + {FAST})"]
    return []


def after_answer(d):
    """ms from the A answer (its nat64_synthesized event) to the first attempt;
    None when the trace has either missing."""
    starts, synth = d.events("attempt_start"), d.events("nat64_synthesized")
    if not starts or not synth:
        return None
    return starts[0].get("t_ms", 0) - synth[0].get("t_ms", 0)


def figure(dials, rtt=None):
    values = sorted(d.elapsed for d in dials if isinstance(d.elapsed, (int, float)))
    if not values:
        return "-"
    text = f"{statistics.median(values):.1f}"
    if len(values) > 1:
        text += f" ({values[0]:.1f}-{values[-1]:.1f})"
    if rtt is not None:
        text += f", resolver RTT {rtt:.2f}"
    return text


def literal_via_nat64(ctx, out, resolver, literal, synthesized, prefix, source, args=()):
    """An IPv4 literal on the IPv6-only client: --runs dials, each a fresh process (a fresh discovery)."""
    runs = ctx.runs
    rtt = ctx.measure_rtt(resolver)
    w = Watch(ctx, "v6only")
    for _ in range(runs):
        d = ctx.dial("v6only", literal, DNS[resolver], args)
        out.dials.append(d)
        out.errs += check_connected(d, synthesized)
        out.errs += check_prefix_event(d, prefix, source)
        out.errs += check_synthesized(d, synthesized)
        out.errs += check_attempts_only(d, [synthesized])
    out.errs += w.check_peers(runs, POOL[prefix])
    out.errs += check_fast(out.dials, rtt)
    out.figure = figure(out.dials, rtt)
    return w


def s1(ctx, out):
    """IPv4 literal via the Well-Known Prefix, discovered from the DNS64 (RFC 7050)."""
    w = literal_via_nat64(ctx, out, "wkp", SRV_GLOBAL, WKP_GLOBAL, WKP, "dns")
    n = len(w.queries("wkp", "ipv4only.arpa. AAAA"))
    if n < ctx.runs:
        out.errs.append(f"the DNS64 logged {n} ipv4only.arpa AAAA queries for {ctx.runs} dials")
    out.errs += w.check_end()


def s1b(ctx, out):
    """The same with the system's resolver: no --resolv-conf, the namespace's
    /etc/resolv.conf names the DNS64 (the default configuration of a host)."""
    ctx.net.set_etc_resolv_conf("v6only", DNS["wkp"])
    try:
        w = Watch(ctx, "v6only")
        d = ctx.dial("v6only", SRV_GLOBAL, None)
    finally:
        ctx.net.set_etc_resolv_conf("v6only", SENTINEL)
    out.dials.append(d)
    out.errs += check_connected(d, WKP_GLOBAL)
    out.errs += check_prefix_event(d, WKP, "dns")
    out.errs += check_synthesized(d, WKP_GLOBAL)
    out.errs += check_attempts_only(d, [WKP_GLOBAL])
    out.errs += w.check_peers(1, POOL[WKP])
    if not w.queries("wkp", "ipv4only.arpa. AAAA"):
        out.errs.append("the DNS64 of /etc/resolv.conf saw no ipv4only.arpa AAAA query")
    out.errs += check_elapsed(d, 0, LATE)
    out.figure = figure(out.dials)


def s2a(ctx, out):
    """IPv4 literal via the network-specific prefix, discovered."""
    w = literal_via_nat64(ctx, out, "nsp", SRV_DOC, NSP_DOC, NSP, "dns")
    if len(w.queries("nsp", "ipv4only.arpa. AAAA")) < ctx.runs:
        out.errs.append("the DNS64 saw no ipv4only.arpa AAAA query for each dial")
    out.errs += w.check_end()


def s2b(ctx, out):
    """IPv4 literal via --nat64-prefix 2001:db8:64::/96: no discovery query at all."""
    w = literal_via_nat64(ctx, out, "nsp", SRV_DOC, NSP_DOC, NSP, "configured",
                          args=["--nat64-prefix", NSP])
    q = w.ipv4only_queries()
    if q:
        out.errs.append(f"ipv4only.arpa queried with a fixed prefix: {q}")
    v6, v4, _ = ctx.net.counters("v6only")
    if v6 or v4:
        out.errs.append(f"{v6 + v4} DNS packets for a literal with a fixed prefix")
    out.errs += w.check_end()


def s2c(ctx, out):
    """A documentation IPv4 literal under the Well-Known Prefix: refused (RFC 6052 section 3.1), fails."""
    w = Watch(ctx, "v6only")
    d = ctx.dial("v6only", SRV_DOC, DNS["wkp"], timeout=2000)
    out.dials.append(d)
    out.errs += check_failed(d)
    out.errs += check_prefix_event(d, WKP, "dns")
    if not any(SRV_DOC in (e.get("detail") or "") or e.get("address") == SRV_DOC for e in d.events("nat64_refused")):
        out.errs.append(f"no nat64_refused event for {SRV_DOC}")
    if d.events("nat64_synthesized"):
        out.errs.append("synthesized under the Well-Known Prefix a documentation address")
    out.errs += check_attempts_only(d, [SRV_DOC])
    out.errs += check_elapsed(d, 0, LATE, "failure time")
    out.errs += w.check_end()
    out.figure = figure(out.dials)


def a_only_name(ctx, out, resolver, args):
    rtt = ctx.measure_rtt(resolver)
    w = Watch(ctx, "v6only")
    for _ in range(ctx.runs):
        d = ctx.dial("v6only", "v4only.lab.test", DNS[resolver], args)
        out.dials.append(d)
        out.errs += check_connected(d, NSP_DOC)
        out.errs += check_prefix_event(d, NSP, "configured" if args else "dns")
        out.errs += check_synthesized(d, NSP_DOC)
        out.errs += check_attempts_only(d, [NSP_DOC])
    out.errs += w.check_peers(ctx.runs, POOL[NSP])
    if len(w.queries(resolver, "v4only.lab.test. A IN")) < ctx.runs:
        out.errs.append("the resolver did not see an A query for each dial")
    out.errs += check_fast(out.dials, rtt)
    # No Resolution Delay for the AAAA that cannot come: the attempt starts with the A answer.
    gaps = [after_answer(d) for d in out.dials]
    gaps = [g for g in gaps if g is not None]
    if len(gaps) < len(out.dials):
        out.errs.append("a dial without an A answer followed by an attempt")
    elif min(gaps) > FAST:
        out.errs.append(f"the first attempt started {min(gaps):.1f} ms after the A answer at best: "
                        "a Resolution Delay for the AAAA that cannot come?")
    out.figure = figure(out.dials, rtt)
    out.errs += w.check_end()
    return w


def s3a(ctx, out):
    """An A-only name through a resolver that does not synthesize, --nat64-prefix: heyes synthesizes."""
    w = a_only_name(ctx, out, "plain", ["--nat64-prefix", NSP])
    if w.ipv4only_queries():
        out.errs.append(f"ipv4only.arpa queried with a fixed prefix: {w.ipv4only_queries()}")


def s3b(ctx, out):
    """The same with the prefix discovered: the resolver publishes ipv4only.arpa's AAAA records."""
    a_only_name(ctx, out, "pref", [])


def s4(ctx, out):
    """An A and a black-holed AAAA: the native IPv6 hangs, the synthesized one wins at the last resort."""
    w = Watch(ctx, "v6only")
    d = ctx.dial("v6only", "broken6.lab.test", DNS["nsp"])
    out.dials.append(d)
    out.errs += check_connected(d, NSP_DOC)
    out.errs += check_prefix_event(d, NSP, "dns")
    out.errs += check_synthesized(d, NSP_DOC)
    out.errs += check_elapsed(d, LAST_RESORT - EARLY, LAST_RESORT + LATE)
    lr = d.events("last_resort")
    if len(lr) != 1:
        out.errs.append(f"expected one last_resort event, got {len(lr)}")
    elif not LAST_RESORT - EARLY <= lr[0].get("t_ms", 0) <= LAST_RESORT + LATE:
        out.errs.append(f"last_resort at {lr[0].get('t_ms')} ms, expected ~{LAST_RESORT}")
    starts = d.events("attempt_start")
    order = [e.get("address") for e in starts]
    if order[:1] != BROKEN6[:1] or NSP_DOC not in order:
        out.errs.append(f"expected {BROKEN6[0]} first, then {NSP_DOC}; attempts: {order}")
    else:
        t = next(e.get("t_ms", 0) for e in starts if e.get("address") == NSP_DOC)
        if t < LAST_RESORT - EARLY:
            out.errs.append(f"the synthesized address was tried at {t} ms, before the last resort")
    out.errs += w.check_peers(1, POOL[NSP])
    out.errs += w.check_end()
    out.figure = figure(out.dials)


def s4c(ctx, out):
    """Three black-holed AAAA and an A: the last resort comes 2 s after the
    last IPv6 attempt started (RFC 8305 section 8, the Last Resort Local
    Synthesis Delay), not 2 s after the dial's start."""
    w = Watch(ctx, "v6only")
    d = ctx.dial("v6only", "broken3.lab.test", DNS["nsp"])
    out.dials.append(d)
    out.errs += check_connected(d, NSP_DOC)
    starts = d.events("attempt_start")
    native = [e.get("t_ms", 0) for e in starts if e.get("address") in BROKEN6]
    if len(native) != len(BROKEN6):
        out.errs.append(f"expected {len(BROKEN6)} native attempts: {[e.get('address') for e in starts]}")
    else:
        due = native[-1] + LAST_RESORT
        lr = d.events("last_resort")
        if len(lr) != 1 or not due - EARLY <= lr[0].get("t_ms", 0) <= due + LATE:
            out.errs.append(f"last_resort at {[e.get('t_ms') for e in lr]} ms, expected {due:.0f} "
                            f"(the last IPv6 attempt at {native[-1]:.0f} ms + {LAST_RESORT})")
        out.errs += check_elapsed(d, due - EARLY, due + LATE)
    out.errs += w.check_peers(1, POOL[NSP])
    out.errs += w.check_end()
    out.figure = figure(out.dials)


def s4b(ctx, out):
    """An A and a refusing AAAA: the synthesized address is tried once the native one failed, not at 2 s."""
    w = Watch(ctx, "v6only")
    d = ctx.dial("v6only", "refused6.lab.test", DNS["nsp"])
    out.dials.append(d)
    out.errs += check_connected(d, NSP_DOC)
    out.errs += check_synthesized(d, NSP_DOC)
    out.errs += check_elapsed(d, 0, LATE)
    if len(d.events("last_resort")) != 1:
        out.errs.append(f"expected one last_resort event, got {len(d.events('last_resort'))}")
    order = [e.get("address") for e in d.events("attempt_start")]
    if order != [REFUSED6, NSP_DOC]:
        out.errs.append(f"expected {REFUSED6}, then {NSP_DOC}; attempts: {order}")
    if [f.get("address") for f in d.result.get("failures", [])] != [REFUSED6]:
        out.errs.append(f"expected {REFUSED6} among the failures: {d.result.get('failures')}")
    out.errs += w.check_peers(1, POOL[NSP])
    out.errs += w.check_end()
    out.figure = figure(out.dials)


def s5(ctx, out):
    """Dual-stack client: an IPv4 literal goes straight over IPv4; no synthesis, no ipv4only.arpa query."""
    w = Watch(ctx, "dual")
    d = ctx.dial("dual", SRV_GLOBAL, DNS["wkp"])
    out.dials.append(d)
    out.errs += check_connected(d, SRV_GLOBAL, "ipv4")
    out.errs += check_no_nat64(d)
    out.errs += check_elapsed(d, 0, LATE)
    out.errs += w.check_peers(1, DUAL4)
    v6, v4, _ = ctx.net.counters("dual")
    if v6 or v4:
        out.errs.append(f"{v6 + v4} DNS packets sent for an IPv4 literal on a dual-stack host")
    # The counters and the log do see what is sent: a name through the same DNS64.
    d2 = ctx.dial("dual", "global.lab.test", DNS["wkp"])
    out.dials.append(d2)
    if d2.rc != 0 or d2.result.get("address") not in (SRV_GLOBAL, WKP_GLOBAL):
        out.errs.append(f"global.lab.test from the dual-stack host: exit {d2.rc}, {d2.result.get('address')}")
    out.errs += check_no_nat64(d2)
    v6, v4, _ = ctx.net.counters("dual")
    if not v6 + v4:
        out.errs.append("the DNS counters saw no packet for a name: the check above proves nothing")
    if not w.queries("wkp", "global.lab.test."):
        out.errs.append("the DNS64's query log did not record global.lab.test: the log check proves nothing")
    if w.ipv4only_queries():
        out.errs.append(f"ipv4only.arpa queried from a dual-stack host: {w.ipv4only_queries()}")
    out.errs += w.check_end()
    out.figure = figure(out.dials[:1])


def no_prefix(ctx, out, server, resolver_log):
    """An IPv4 literal on the IPv6-only client when discovery finds no prefix."""
    w = Watch(ctx, "v6only")
    d = ctx.dial("v6only", SRV_GLOBAL, server, timeout=2000)
    out.dials.append(d)
    out.errs += check_failed(d)
    out.errs += check_no_prefix_event(d)
    out.errs += check_attempts_only(d, [SRV_GLOBAL])
    if d.events("nat64_synthesized"):
        out.errs.append("synthesized an address without a prefix")
    out.errs += check_elapsed(d, 0, 2500, "failure time")
    if resolver_log and not w.queries(resolver_log, "ipv4only.arpa. AAAA"):
        out.errs.append(f"the resolver {resolver_log} saw no ipv4only.arpa AAAA query")
    out.errs += w.check_end()
    out.figure = figure(out.dials)
    return d


def s6a(ctx, out):
    """ipv4only.arpa has no AAAA (a resolver without DNS64): no prefix, the literal fails."""
    no_prefix(ctx, out, DNS["plain"], "plain")


def s6b(ctx, out):
    """ipv4only.arpa AAAA records without a well-known address: no prefix, nothing made of them."""
    no_prefix(ctx, out, DNS["bogus"], "bogus")


def s6c(ctx, out):
    """The resolver never answers (timeout:1 attempts:1): no prefix after the query's timeout."""
    d = no_prefix(ctx, out, SILENT, None)
    if isinstance(d.elapsed, (int, float)) and d.elapsed < 1000 - EARLY:
        out.errs.append(f"failed at {d.elapsed:.0f} ms, before the DNS timeout (1000 ms)")


def s7(ctx, out):
    """--no-nat64 on the IPv6-only client: the literal fails at once, nothing asked."""
    w = Watch(ctx, "v6only")
    d = ctx.dial("v6only", SRV_GLOBAL, DNS["wkp"], ["--no-nat64"])
    out.dials.append(d)
    out.errs += check_failed(d)
    out.errs += check_no_nat64(d)
    out.errs += check_attempts_only(d, [SRV_GLOBAL])
    out.errs += check_elapsed(d, 0, LATE, "failure time")
    v6, v4, _ = ctx.net.counters("v6only")
    if v6 or v4 or w.ipv4only_queries():
        out.errs.append(f"DNS with --no-nat64 for a literal: {v6 + v4} packets, {w.ipv4only_queries()}")
    out.errs += w.check_end()
    out.figure = figure(out.dials)


def s8(ctx, out):
    """A loopback literal on the IPv6-only client: dialed as it is (no translator stands in), nothing asked."""
    w = Watch(ctx, "v6only")
    d = ctx.dial("v6only", "127.0.0.1", DNS["wkp"])
    out.dials.append(d)
    out.errs += check_failed(d)  # nothing listens on 127.0.0.1 in v6only: refused
    out.errs += check_no_nat64(d)
    out.errs += check_attempts_only(d, ["127.0.0.1"])
    if [f.get("error_code") for f in d.result.get("failures", [])] != ["ECONNREFUSED"]:
        out.errs.append(f"expected 127.0.0.1 refused: {d.result.get('failures')}")
    out.errs += check_elapsed(d, 0, LATE, "failure time")
    v6, v4, _ = ctx.net.counters("v6only")
    if v6 or v4:
        out.errs.append(f"{v6 + v4} DNS packets for a loopback literal")
    out.errs += w.check_end()
    out.figure = figure(out.dials)


# id, what it shows, function
SCENARIOS = [
    ("1", "literal via 64:ff9b::/96, discovered", s1),
    ("1b", "the same, resolver from /etc/resolv.conf", s1b),
    ("2a", "literal via 2001:db8:64::/96, discovered", s2a),
    ("2b", "literal via --nat64-prefix 2001:db8:64::/96", s2b),
    ("2c", "documentation literal under 64:ff9b::/96", s2c),
    ("3a", "A-only name, plain resolver, fixed prefix", s3a),
    ("3b", "A-only name, plain resolver, discovered", s3b),
    ("4", "A + black-holed AAAA: last resort", s4),
    ("4b", "A + refusing AAAA: synthesized at once", s4b),
    ("4c", "A + 3 black-holed AAAA: last resort", s4c),
    ("5", "dual-stack: IPv4 literal, no NAT64", s5),
    ("6a", "ipv4only.arpa without AAAA", s6a),
    ("6b", "ipv4only.arpa AAAA bogus", s6b),
    ("6c", "resolver silent", s6c),
    ("7", "--no-nat64: literal fails fast", s7),
    ("8", "loopback literal: as it is, no discovery", s8),
]


# Scenarios heyes does not meet yet, with the cause. They run and print what
# went wrong, marked "known", and fail the run only with --strict. Remove an
# entry once it passes (the run says so).
KNOWN = {
}


def selected(only):
    """--only 2 runs 2a, 2b, 2c; --only 2b runs 2b."""
    if not only:
        return SCENARIOS
    return [s for s in SCENARIOS if s[0] in only or s[0].rstrip("abc") in only]


# --- Main ---------------------------------------------------------------------
def skip_reason(lab_):
    reason = lab.skip_reason(lab_, needs=("ip",), options=("--resolv-conf", "--nat64-prefix", "--no-nat64"))
    if reason:
        return reason
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun: tayga needs a tun device"
    for tool, package in (("tayga", "tayga"), ("unbound", "unbound"), ("unbound-checkconf", "unbound")):
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian package {package}; tools/setup.sh installs it)"
    return None


def run_all(ctx, scenarios):
    print(f"{'#':<3} {'scenario':<46} {'winner':<24} {'ms: median (min-max)':<40} result", flush=True)
    failed = known = 0
    for sid, title, fn in scenarios:
        out = Outcome()
        try:
            fn(ctx, out)
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError, OSError) as err:
            out.errs.append(f"{type(err).__name__}: {err}")
        winner = out.dials[0].result.get("address") or "failed" if out.dials else "-"
        reason = KNOWN.get(sid)
        verdict = "FAIL" if out.errs else "ok"
        if reason and out.errs and not ctx.strict:
            verdict = "known"
        elif reason and not out.errs:
            verdict = "ok (a known failure passes now: remove it from KNOWN)"
        print(f"{sid:<3} {title:<46} {winner:<24} {out.figure:<40} {verdict}", flush=True)
        for e in dict.fromkeys(out.errs):  # each message once
            print(f"      {e}")
        if out.errs and out.dials:
            print(f"      command: {' '.join(out.dials[-1].argv)}")
            print(f"      trace: {out.dials[-1].timeline()}")
            if out.dials[-1].stderr.strip():
                print(f"      stderr: {out.dials[-1].stderr.strip()[:300]}")
        if reason and out.errs:
            print(f"      known: {reason}")
        failed += verdict == "FAIL"
        known += verdict == "known"
    print(f"{len(scenarios) - failed - known} of {len(scenarios)} NAT64 lab scenarios passed, "
          f"{known} known failures, {failed} failed")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connect", help="path of heyes-connect")
    ap.add_argument("--only", nargs="*", help="scenario ids to run (2 = 2a 2b 2c; default: all)")
    ap.add_argument("--verbose", action="store_true", help="print each command and each dial's trace")
    ap.add_argument("--runs", type=int, default=RUNS, choices=range(1, 100), metavar="N",
                    help=f"dials of each measured scenario, 1-99: 1, 2a, 2b, 3a, 3b "
                         f"(default {RUNS}; the fastest is checked, the median printed)")
    ap.add_argument("--strict", action="store_true", help="known failures (KNOWN) fail the run too")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)      # internal: the server's listener
    ap.add_argument("--peer-log", help=argparse.SUPPRESS)
    ap.add_argument("--probe", help=argparse.SUPPRESS)                # internal: does this resolver answer?
    ap.add_argument("--tcp-probe", help=argparse.SUPPRESS)            # internal: TCP through a translator
    ap.add_argument("--dns-rtt", nargs=3, help=argparse.SUPPRESS)     # internal: SERVER NAME COUNT
    opts = ap.parse_args()
    if opts.serve:
        return serve(opts.serve, opts.peer_log)
    if opts.probe:
        return probe_mode(opts.probe)
    if opts.tcp_probe:
        return tcp_probe_mode(opts.tcp_probe)
    if opts.dns_rtt:
        return rtt_mode(opts.dns_rtt[0], opts.dns_rtt[1], int(opts.dns_rtt[2]))
    if not opts.connect:
        ap.error("--connect is required")
    scenarios = selected(opts.only)
    if not scenarios:
        ap.error(f"--only {' '.join(opts.only)}: no such scenario ({', '.join(s[0] for s in SCENARIOS)})")

    # meson's timeout sends SIGTERM: an exception, so that every finally runs.
    signal.signal(signal.SIGTERM, lab.on_sigterm)
    for var in ("RES_OPTIONS", "LOCALDOMAIN"):
        os.environ.pop(var, None)
    lab_ = lab.Lab(opts)
    net = Net(lab_)
    try:
        try:
            reason = skip_reason(lab_)
        except lab.Broken as err:
            print(f"FAIL: {err}")
            return 1
        if reason:
            print(f"SKIP: {reason}")
            return SKIP
        t0 = time.monotonic()
        try:
            net.build()
            net.start()
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as err:
            print(f"FAIL: lab set-up: {err}")
            return 1
        lab_.log(f"set-up took {time.monotonic() - t0:.1f} s")
        return run_all(Ctx(lab_, net, opts.runs, opts.strict), scenarios)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        net.close()
        shutil.rmtree(lab_.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
