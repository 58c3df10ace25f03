#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Other NSS services for real: the tests' own libnss_heyestest.so.2 and libnss_myhostname through a bind-mounted nsswitch.conf (root).
"""heyes-connect against NSS services that glibc loads itself, in a private
mount namespace (nsswitch.conf, hosts and resolv.conf bind-mounted over /etc's)
and a network namespace of its own (only lo: nothing outside can be reached):

  - a name only the tests' module knows connects with heyes's resolver
    (source "heyestest") and with --resolver system (getaddrinfo);
  - its slow IPv6 does not hold the race (IPv4 wins before it answers);
  - a service that never answers does not hold the dial past --timeout;
  - heyes's addresses for the module's names are glibc's (getent ahosts);
  - where libnss_myhostname is installed: the machine's own hostname, as
    myhostname answers it, connects, with the addresses glibc gives.

Exit 0 when every check passes, 1 on a failure, 77 (skip) when not root or
when unshare, ip or mount are missing. Every child is bounded in time.
  tests/lab/nss_lab.py --connect build/tools/heyes-connect/heyes-connect \\
      --module-dir build/tests/support
"""

import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
CHILD_TIMEOUT = 15  # s, for every command run


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def run(cmd, env=None, timeout=CHILD_TIMEOUT):
    started = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    return p, time.monotonic() - started


class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}" + (f"\n     {detail}" if detail else ""))


def json_lines(text):
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def answers(lines):
    """{family: (source, [addresses])} of the dns_answer events of the first dial."""
    out = {}
    for o in lines:
        e = o.get("event")
        if isinstance(e, dict) and e.get("type") == "dns_answer":
            out[e.get("family")] = (e.get("source"), e.get("addresses", []))
    return out


def result_of(lines):
    for o in lines:
        if o.get("type") == "result":
            return o
    return {}


def getent(name, env):
    p, _ = run(["getent", "ahosts", name], env=env)
    return sorted({line.split()[0] for line in p.stdout.splitlines() if line.strip()})


def myhostname_module():
    for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"):
        if glob.glob(os.path.join(d, "libnss_myhostname.so.2")):
            return True
    return False


def inside(args):
    """In the private namespaces: mount the files, listen, check."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=CHILD_TIMEOUT)
    subprocess.run(["mount", "--make-rprivate", "/"], check=True, timeout=CHILD_TIMEOUT)
    work = tempfile.mkdtemp(prefix="heyes-nss-lab-")
    try:
        return checks_in(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def only_source(got, source):
    """True when answers() has at least one family and every one is from source."""
    return bool(got) and all(fam[0] == source for fam in got.values())


def checks_in(args, work):
    c = Checks()
    has_myhostname = myhostname_module()
    files = {
        "nsswitch.conf": "hosts: files heyestest" + (" myhostname" if has_myhostname else "") + "\n",
        "hosts": "127.0.0.1 localhost\n::1 localhost\n",
        "resolv.conf": "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    }
    for name, text in files.items():
        path = os.path.join(work, name)
        with open(path, "w") as f:
            f.write(text)
        subprocess.run(["mount", "--bind", path, "/etc/" + name], check=True, timeout=CHILD_TIMEOUT)

    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = args.module_dir
    listeners = []
    for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, listeners[0].getsockname()[1] if listeners else 0))
        s.listen(64)
        listeners.append(s)
    port = str(listeners[0].getsockname()[1])
    connect = [args.connect, "--json", "--no-history"]

    # 1. heyes's own resolver walks the hosts: line to the module.
    p, _ = run(connect + ["loopback.nss.test", port], env=env)
    lines = json_lines(p.stdout)
    got = answers(lines)
    c.check(p.returncode == 0, "heyes resolver: loopback.nss.test connects", p.stderr.strip())
    # The dial ends at its first connect, so only the family that answered
    # first may be there: every answer that is must come from the service.
    c.check(only_source(got, "heyestest"), "heyes resolver: the answer's source is the service", json.dumps(got))

    # 2. The system's getaddrinfo behind the seam: glibc loads the module itself.
    p, _ = run(connect + ["--resolver", "system", "loopback.nss.test", port], env=env)
    got = answers(json_lines(p.stdout))
    c.check(p.returncode == 0, "--resolver system: loopback.nss.test connects", p.stderr.strip())
    c.check(only_source(got, "getaddrinfo"), "--resolver system: the source is getaddrinfo", json.dumps(got))

    # 3. A slow IPv6 answer (400 ms) does not hold the race: IPv4 wins first.
    for resolver in ("heyes", "system"):
        p, took = run(connect + ["--resolver", resolver, "slow6.nss.test", port], env=env)
        r = result_of(json_lines(p.stdout))
        winner = (r.get("connected") or {}).get("address") if isinstance(r.get("connected"), dict) else r.get("address")
        c.check(p.returncode == 0 and "127.0.0.1" in json.dumps(r),
                f"--resolver {resolver}: slow6.nss.test connects to 127.0.0.1 before IPv6 answers",
                f"took {took:.2f} s, result {json.dumps(r)}, winner {winner}")

    # 4. A service that never answers: the dial ends at its timeout, not the service's 20 s.
    for resolver in ("heyes", "system"):
        p, took = run(connect + ["--resolver", resolver, "--timeout", "500", "never.nss.test", port], env=env)
        c.check(p.returncode == 1 and took < 5, f"--resolver {resolver}: never.nss.test fails at --timeout",
                f"exit {p.returncode} after {took:.2f} s: {p.stderr.strip()}")

    # 5. The same addresses as glibc for the module's names. To a port where
    # nothing listens: every attempt is refused, so the dial ends only when
    # both families have answered (a dial that connects ends at its first
    # success, and an answer still on its way would be missing from its list).
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    closed_port = str(probe.getsockname()[1])
    probe.close()
    for name in ("both.nss.test", "v4only.nss.test", "loopback.nss.test"):
        p, _ = run(connect + ["--timeout", "300", name, closed_port], env=env)
        got = answers(json_lines(p.stdout))
        mine = sorted({a for fam in got.values() for a in fam[1]})
        theirs = getent(name, env)
        c.check(mine == theirs, f"{name}: heyes's addresses are glibc's", f"heyes {mine}, getent {theirs}")
    p, _ = run(connect + ["nothere.nss.test", port], env=env)
    r = result_of(json_lines(p.stdout))
    c.check(p.returncode == 1 and r.get("error_code") == "host_not_found" and getent("nothere.nss.test", env) == [],
            "nothere.nss.test: host not found, as getent", json.dumps(r))

    # 6. myhostname: the machine's own name, in a namespace whose only link is lo.
    if has_myhostname:
        host = socket.gethostname()
        theirs = getent(host, env)
        p, _ = run(connect + [host, port], env=env)
        c.check(p.returncode == 0, f"myhostname: {host} connects", p.stderr.strip())
        # The addresses from a dial that waits for both families (as in 5).
        p, _ = run(connect + ["--timeout", "300", host, closed_port], env=env)
        got = answers(json_lines(p.stdout))
        mine = sorted({a for fam in got.values() for a in fam[1]})
        c.check(mine == theirs and only_source(got, "myhostname"),
                f"myhostname: {host} has glibc's addresses, from myhostname", f"heyes {json.dumps(got)}, getent {theirs}")
    else:
        print("note: libnss_myhostname is not installed; its checks are left out")

    for s in listeners:
        s.close()
    print(f"nss-lab: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connect", required=True)
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.connect = os.path.abspath(args.connect)
    args.module_dir = os.path.abspath(args.module_dir)
    if args.inside:
        sys.exit(inside(args))
    if os.geteuid() != 0:
        skip("needs root (unshare -n -m, mount --bind)")
    for tool in ("unshare", "ip", "mount", "getent"):
        if shutil.which(tool) is None:
            skip(f"{tool} is missing")
    if not os.path.exists(os.path.join(args.module_dir, "libnss_heyestest.so.2")):
        print(f"FAIL: no libnss_heyestest.so.2 in {args.module_dir}")
        sys.exit(1)
    p = subprocess.run(["unshare", "-n", "-m", sys.executable, os.path.abspath(__file__), "--inside",
                        "--connect", args.connect, "--module-dir", args.module_dir], timeout=120)
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
