#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The Router Advertisement's PREF64 option (RFC 8781) through the kernel to a dial (run as root).
"""An IPv6-only client namespace and a router namespace joined by a veth pair.

The router sends Router Advertisements carrying a PREF64 option
(2001:db8:64::/96) to ff02::1 from a raw ICMPv6 socket, every 100 ms; the
client accepts RAs, so its kernel passes the option on as RTM_NEWNDUSEROPT.
The client's resolver is silent (its queries are dropped), so the
ipv4only.arpa query cannot give a prefix. heyes-connect --repeat 2 dials the
IPv4 literal 192.88.99.80: the first dial opens the netlink subscription and
times out waiting for the query, the second reads the RA's prefix and
connects to 2001:db8:64::c058:6350, where the router namespace listens (no
translator is needed to check the discovery).

Exit status: 0 passed, 1 failed, 77 skipped (not root, no `ip netns`, no
ip6tables). Run by `meson test -C build lab-ra-pref64`, or by hand:
tests/lab/ra_pref64_lab.py --connect build/tools/heyes-connect/heyes-connect [--verbose].
"""

import argparse
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
PORT = 8443
PREFIX = "2001:db8:64::"
PREFIX_LEN = 96
LIFETIME = 600                      # s, a multiple of 8
TARGET_V4 = "192.88.99.80"
SYNTHESIZED = "2001:db8:64::c058:6350"
CLIENT, ROUTER = "2001:db8:1::2", "2001:db8:1::1"
WALL = 20.0                         # hard bound of the whole dial run, s

VERBOSE = False


def log(msg):
    if VERBOSE:
        print(msg, file=sys.stderr)


class Lab:
    def __init__(self):
        tag = f"{os.getpid()}"
        self.client, self.router = f"heyes-ra-c-{tag}", f"heyes-ra-r-{tag}"
        self.namespaces = []
        self.children = []
        self.tmp = tempfile.mkdtemp(prefix="heyes-ra-")

    def sh(self, *cmd, ns=None, check=True):
        full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
        p = subprocess.run(full, capture_output=True, text=True, timeout=10)
        log(f"$ {' '.join(full)} -> {p.returncode} {p.stderr.strip()}")
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(full)}: {p.stderr.strip() or p.returncode}")
        return p

    def add_ns(self, name):
        self.sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        self.sh("ip", "link", "set", "lo", "up", ns=name)

    def close(self):
        for p in self.children:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)


def skip_reason():
    if os.geteuid() != 0:
        return "not root: the lab needs `ip netns add`"
    for tool in ("ip", "ip6tables"):
        if shutil.which(tool) is None:
            return f"no {tool} on this host"
    p = subprocess.run(["ip", "netns", "add", f"heyes-ra-probe-{os.getpid()}"], capture_output=True, text=True)
    if p.returncode != 0:
        return f"`ip netns add` does not work here: {p.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", f"heyes-ra-probe-{os.getpid()}"], capture_output=True)
    return None


def set_up(lab):
    lab.add_ns(lab.client)
    lab.add_ns(lab.router)
    lab.sh("ip", "link", "add", "c0", "netns", lab.client, "type", "veth", "peer", "name", "r0", "netns", lab.router)
    # No duplicate address detection: the link-local source of the RAs is usable at once.
    for ns, dev in ((lab.client, "c0"), (lab.router, "r0")):
        lab.sh("sysctl", "-qw", f"net.ipv6.conf.{dev}.accept_dad=0", ns=ns)
    lab.sh("sysctl", "-qw", "net.ipv6.conf.c0.accept_ra=1", ns=lab.client)
    lab.sh("ip", "link", "set", "c0", "up", ns=lab.client)
    lab.sh("ip", "link", "set", "r0", "up", ns=lab.router)
    lab.sh("ip", "-6", "addr", "add", f"{CLIENT}/64", "dev", "c0", "nodad", ns=lab.client)
    lab.sh("ip", "-6", "route", "add", "default", "via", ROUTER, "dev", "c0", ns=lab.client)
    lab.sh("ip", "-6", "addr", "add", f"{ROUTER}/64", "dev", "r0", "nodad", ns=lab.router)
    # The synthesized address, on the router's lo: the listener that proves the prefix was used.
    lab.sh("ip", "-6", "addr", "add", f"{SYNTHESIZED}/128", "dev", "lo", ns=lab.router)
    # The resolver that never answers: queries to it vanish.
    lab.sh("ip6tables", "-A", "INPUT", "-p", "udp", "--dport", "53", "-j", "DROP", ns=lab.router)
    lab.sh("ip6tables", "-A", "INPUT", "-p", "tcp", "--dport", "53", "-j", "DROP", ns=lab.router)
    with open(os.path.join(lab.tmp, "resolv.conf"), "w") as f:
        f.write(f"nameserver {ROUTER}\noptions timeout:1 attempts:1\n")


def ra_packet():
    """An RA that is not a default router (lifetime 0), with one PREF64 option."""
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 0, 0, 0)
    scaled = (LIFETIME // 8) << 3 | 0  # prefix length code 0: /96
    option = struct.pack("!BBH", 38, 2, scaled) + socket.inet_pton(socket.AF_INET6, PREFIX)[:12]
    return ra + option


# Run inside the router namespace (`ip netns exec`): sends the RA every 100 ms, listens on PORT.
ROUTER_SCRIPT = r"""
import socket, sys, time, select
packet = bytes.fromhex(sys.argv[1]); addr = sys.argv[2]; port = int(sys.argv[3])
ifindex = socket.if_nametoindex("r0")
ra = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
ra.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
ra.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port)); srv.listen(16)
print("ready", flush=True)
end = time.monotonic() + 60
while time.monotonic() < end:
    ra.sendto(packet, ("ff02::1", 0, 0, ifindex))
    r, _, _ = select.select([srv], [], [], 0.1)
    if r:
        c, _ = srv.accept(); c.close()
"""


def run(lab, connect):
    router = subprocess.Popen(["ip", "netns", "exec", lab.router, sys.executable, "-c", ROUTER_SCRIPT,
                               ra_packet().hex(), SYNTHESIZED, str(PORT)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab.children.append(router)
    ready = []
    t = threading.Thread(target=lambda: ready.append(router.stdout.readline()), daemon=True)
    t.start()
    t.join(5)
    if not ready or ready[0].strip() != "ready":
        raise RuntimeError(f"the router did not start: {router.stderr.read() if router.poll() is not None else 'no answer'}")
    cmd = ["ip", "netns", "exec", lab.client, connect, "--json", "--repeat", "2", "--timeout", "800",
           "--resolv-conf", os.path.join(lab.tmp, "resolv.conf"), "--no-history", TARGET_V4, str(PORT)]
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=WALL)
    log(f"$ {' '.join(cmd)} -> {p.returncode}\n{p.stdout}{p.stderr}")
    return p, time.monotonic() - start


def check(p, wall):
    failures = []
    results = [o for o in (json.loads(line) for line in p.stdout.splitlines() if line.strip()) if o.get("type") == "result"]
    if len(results) != 2:
        return [f"expected 2 results, got {len(results)}: rc={p.returncode} stderr={p.stderr.strip()!r}"]
    first, second = results

    def details(result, kind):
        return [e.get("detail", "") for e in result["events"] if e.get("type") == kind]

    if first["ok"]:
        failures.append(f"dial 1 connected to {first['address']}: the silent resolver cannot have given a prefix")
    if not second["ok"] or second["address"] != SYNTHESIZED:
        failures.append(f"dial 2: ok={second['ok']} address={second['address']} error={second['error']}, "
                        f"want {SYNTHESIZED}")
    notes = details(second, "nat64_prefix")
    want = f"{PREFIX}/{PREFIX_LEN} (ra: {PREFIX}/{PREFIX_LEN} from fe80::"
    if len(notes) != 1 or not notes[0].startswith(want) or f"on c0, lifetime {LIFETIME} s)" not in notes[0]:
        failures.append(f"dial 2's nat64_prefix {notes!r}, want one starting {want!r} naming c0 and the lifetime")
    if details(second, "nat64_synthesized") != [f"{TARGET_V4} under {PREFIX}/{PREFIX_LEN}"]:
        failures.append(f"dial 2's nat64_synthesized {details(second, 'nat64_synthesized')!r}")
    if p.returncode != 1:
        failures.append(f"exit status {p.returncode}, want 1 (the first dial failed)")
    if wall > 5:
        failures.append(f"took {wall:.1f} s, want under 5 s")
    return failures


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connect", required=True, help="the heyes-connect binary")
    ap.add_argument("--verbose", action="store_true")
    opts = ap.parse_args()
    VERBOSE = opts.verbose
    reason = skip_reason()
    if reason:
        print(f"SKIP: {reason}")
        return SKIP
    lab = Lab()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # through finally: the namespaces go
    try:
        set_up(lab)
        p, wall = run(lab, os.path.abspath(opts.connect))
        failures = check(p, wall)
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
        failures = [f"lab error: {e}"]
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        lab.close()
    for f in failures:
        print(f"FAIL: {f}")
    if not failures:
        print(f"ok: the RA's PREF64 reached the second dial, which connected to {SYNTHESIZED}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
