#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The differential test: heyes against glibc's getaddrinfo on the same files and DNS server (run as root).
"""Asks glibc's getaddrinfo and heyes the same names with the same
/etc/hosts, /etc/resolv.conf, /etc/gai.conf, /etc/nsswitch.conf and DNS
server, and compares the addresses (in order) and the class of the error.

Topology (built once, torn down at the end whatever happens):

    NS   lo 127.0.0.1 (heyes-test-dns on :53), ::1
         gd0 192.0.2.2/24, 2001:db8:1::2/64, fd00:1::2/64 --- veth --- gd1 in PEER
         default routes via 192.0.2.1 and 2001:db8:1::1

Nothing leaves the two namespaces: every nameserver of every resolv.conf is
127.0.0.1, and PEER answers nothing (the orderings need only the routes).

Cases come in groups that share their files; each group writes
/etc/netns/NS/{hosts,resolv.conf,gai.conf,nsswitch.conf} (which `ip netns
exec` binds over /etc/*) and runs one heyes-gai-compare with all its names.
A case agrees when both give the same addresses in the same order, or both
fail with the same class of error (no address: EAI_NONAME, EAI_NODATA;
temporary: EAI_AGAIN; anything else). A case marked with a reason is a known
place where heyes keeps to an RFC and glibc does not (docs/config.md, "Where
heyes and getaddrinfo differ"): its disagreement is expected.

Exit status: 0 every case agrees or is an expected difference, 1 a case
disagrees (or a program failed), 77 skipped (not root, no `ip`). Run by
`meson test -C build gai-diff`, or by hand: tests/lab/gai_diff.py --compare
build/tests/lab/heyes-gai-compare --test-dns build/tests/lab/heyes-test-dns
[--only GROUP...] [--verbose].
"""

import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402  (sh, stop_processes)

SKIP = 77
SETUP_WAIT = 10.0   # bound of waiting for the DNS server, s
RUN_WALL = 30.0     # bound of one heyes-gai-compare run, s

NS_V4, PEER_V4 = "192.0.2.2", "192.0.2.1"
NS_V6, PEER_V6 = "2001:db8:1::2", "2001:db8:1::1"
NS_ULA = "fd00:1::2"

BASE_RESOLV = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
NSSWITCH = "hosts: files dns\n"

# --- The DNS server's zone --------------------------------------------------
# (name, type, address) records; --rcode and --cname below.
RECORDS = [
    ("www.example.test", "A", "192.0.2.10"), ("www.example.test", "AAAA", "2001:db8:1::10"),
    ("multi.example.test", "A", "192.0.2.11"), ("multi.example.test", "A", "198.51.100.11"),
    ("multi.example.test", "AAAA", "2001:db8:77::11"), ("multi.example.test", "AAAA", "2001:db8:1::11"),
    ("v4only.example.test", "A", "192.0.2.12"),
    ("v6only.example.test", "AAAA", "2001:db8:1::13"),
    ("host1.b.test", "A", "192.0.2.14"), ("host1.b.test", "AAAA", "2001:db8:1::14"),
    ("nd.b.test", "A", "192.0.2.15"),
    ("sf.b.test", "A", "192.0.2.16"),
    ("rf.b.test", "A", "192.0.2.17"),
    ("to.b.test", "A", "192.0.2.18"),
    ("host2.a.test", "A", "192.0.2.19"), ("host2.b.test", "A", "192.0.2.20"),
    ("host2", "A", "192.0.2.21"),
    ("x.y", "A", "192.0.2.22"), ("x.y.a.test", "A", "192.0.2.23"),
    ("tld", "A", "192.0.2.24"),
    ("both.test", "A", "192.0.2.25"), ("both.test", "AAAA", "2001:db8:1::25"),
    ("inhosts.test", "AAAA", "2001:db8:1::26"), ("inhosts.test", "A", "192.0.2.126"),
    ("dotted.test", "A", "192.0.2.127"),
    ("half.test", "A", "192.0.2.28"),
    ("target.test", "A", "192.0.2.29"), ("target.test", "AAAA", "2001:db8:1::29"),
    ("localhost", "A", "192.0.2.30"), ("sub.localhost", "A", "192.0.2.31"),
    ("deep.one.two", "A", "192.0.2.32"),
    ("deep.one.two.a.test", "A", "192.0.2.33"),
    ("zero.test", "A", "0.0.0.0"), ("zero.test", "AAAA", "::"),
    ("mcast.test", "A", "224.0.0.1"), ("mcast.test", "A", "192.0.2.34"),
] + [("big.test", "A", f"203.0.113.{i}") for i in range(1, 41)] + [
    ("big.test", "AAAA", f"2001:db8:99::{i:x}") for i in range(1, 21)]
RCODES = [
    ("nd.a.test", "ANY", "NODATA"),
    ("sf.a.test", "ANY", "SERVFAIL"),
    ("rf.a.test", "ANY", "REFUSED"),
    ("servfail.test", "ANY", "SERVFAIL"),
    ("refused.test", "ANY", "REFUSED"),
    ("nodata.test", "ANY", "NODATA"),
    ("half.test", "AAAA", "NXDOMAIN"),
    ("nd2.z.a.test", "ANY", "NODATA"),
    ("sf2.z", "ANY", "SERVFAIL"),
    ("rf2.z", "ANY", "REFUSED"),
    ("sf3.a.test", "ANY", "SERVFAIL"),
    ("nd4.a.test", "ANY", "NODATA"), ("nd4.b.test", "ANY", "SERVFAIL"),
    ("rf5.a.test", "ANY", "REFUSED"), ("rf5", "ANY", "NODATA"),
]
CNAMES = [("alias.test", "target.test"), ("alias2.test", "alias.test"), ("dangling.test", "nowhere.test")]
DROPS = [("to.a.test", "A"), ("to.a.test", "AAAA"), ("to2.z", "A"), ("to2.z", "AAAA")]

# --- The hosts files ---------------------------------------------------------
HOSTS = """\
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.0.2.40 multi.hosts m1
2001:db8:1::40 multi.hosts
192.0.2.41 multi.hosts
192.0.2.42 Mixed.Case.Hosts
192.0.2.43 dotted.hosts.
::ffff:192.0.2.44 mapped.hosts
192.0.2.45 v4only.hosts
2001:db8:1::46 v6only.hosts
192.0.2.47 dup.hosts
192.0.2.47 dup.hosts
192.0.2.48 first alias1 alias2
192.0.2.49 second alias1
192.0.2.50 inhosts.test
fe80::1%gd0 linklocal.hosts
127.1 short.hosts
192.0.2.53 crlf.hosts
192.0.2.54 dotted-alias.hosts alias.dotted.
::1.2.3.4 compat.hosts
0.0.0.0 blocked.hosts
192.0.2.51\ttabbed.hosts   # a comment
# 192.0.2.52 commented.hosts
"""

# The destination mixes of the ordering cases: one name each, file order
# chosen so that the sorted order differs from it.
MIXES = """\
fd00:2::5 ula-v4
192.0.2.60 ula-v4
192.0.2.61 global-v4
2001:db8:5::1 global-v4
192.0.2.62 sixtofour-v4
2002:c000:201::1 sixtofour-v4
192.0.2.63 teredo-v4
2001:0:5::1 teredo-v4
2001:0:5::2 teredo-global
2001:db8:5::2 teredo-global
fd00:2::6 ula-global
2001:db8:5::3 ula-global
192.0.2.64 sitelocal
fec0::1 sitelocal
2001:db8:5::4 sitelocal
::ffff:192.0.2.65 mapped-global
2001:db8:5::5 mapped-global
2001:db8:5::6 far-near
2001:db8:1::66 far-near
2001:db8:1:0:8000::1 rule9-v6
2001:db8:1::3 rule9-v6
192.0.2.200 rule9-v4
192.0.2.3 rule9-v4
198.51.100.1 rule9-v4-offlink
192.0.2.4 rule9-v4-offlink
198.51.100.2 v4-loopback
127.0.0.1 v4-loopback
2001:db8:5::7 v6-loopback
::1 v6-loopback
169.254.0.5 linklocal-v4
192.0.2.66 linklocal-v4
192.0.2.67 mixed-order
2001:db8:5::8 mixed-order
192.0.2.68 mixed-order
2001:db8:5::9 mixed-order
"""

GAI_FULL = """\
# glibc's gai.conf(5) example table, IPv4 preferred
reload yes
label ::1/128 0
label ::/0 1
label 2002::/16 2
label ::/96 3
label ::ffff:0:0/96 4
label fec0::/10 5
label fc00::/7 6
label 2001:0::/32 7
precedence ::1/128 50
precedence ::/0 40
precedence 2002::/16 30
precedence ::/96 20
precedence ::ffff:0:0/96 100
scopev4 ::ffff:169.254.0.0/112 2
scopev4 ::ffff:127.0.0.0/104 2
scopev4 ::ffff:0.0.0.0/96 14
"""

# RFC 6724 section 2.1's table written out (glibc's built-in one is RFC 3484's).
GAI_RFC6724 = """\
precedence ::1/128 50
precedence ::/0 40
precedence ::ffff:0:0/96 35
precedence 2002::/16 30
precedence 2001::/32 5
precedence fc00::/7 3
precedence ::/96 1
precedence fec0::/10 1
precedence 3ffe::/16 1
label ::1/128 0
label ::/0 1
label ::ffff:0:0/96 4
label 2002::/16 2
label 2001::/32 5
label fc00::/7 13
label ::/96 3
label fec0::/10 11
label 3ffe::/16 12
"""

# The one line Debian's gai.conf suggests to prefer IPv4.
GAI_PREFER_V4 = "precedence ::ffff:0:0/96 100\n"

# IPv4 scopes: 192.0.2.0/24 site-local (rule 2 and 8 see it), in IPv4 notation.
GAI_SCOPEV4 = GAI_RFC6724 + "scopev4 192.0.2.0/24 5\nscopev4 ::ffff:127.0.0.0/104 2\n"

MIX_NAMES = ["ula-v4", "global-v4", "sixtofour-v4", "teredo-v4", "teredo-global", "ula-global",
             "sitelocal", "mapped-global", "far-near", "rule9-v6", "rule9-v4", "rule9-v4-offlink",
             "v4-loopback", "v6-loopback", "linklocal-v4", "mixed-order"]

# --- Expected differences ----------------------------------------------------
MAPPED = "heyes holds an IPv4-mapped address as the IPv4 address it maps (same wire, AF_INET)"
LOCALHOST = "RFC 6761 6.3: heyes answers localhost names with loopback, never the hosts file or DNS"
RULE9_BITS = "glibc's rule 9 counts common bits past the source's prefix length; RFC 6724 2.2 stops there"
DUPLICATE = "heyes keeps one of each address of a name (one attempt per address); glibc returns every line"
ZONE = "heyes's documented extension: a hosts address may carry an IPv6 %zone (glibc skips the line)"
BRACKETS = "heyes takes [IPv6] as a literal (the URL form a dial is given); getaddrinfo does not"
NUMERIC_ZONE = ("a numeric zone on an address outside link scope: glibc keeps it as the scope id, heyes drops it, "
                "as the kernel ignores it there (the endpoint heyes reports is then the socket's)")
RULE10 = "rule 10 keeps the input order: heyes's is AAAA then A (RFC 8305 3), glibc's A then AAAA or file order"
UNDIALABLE = "heyes leaves out of a DNS answer what no connection can go to (0.0.0.0, ::, multicast)"
HOSTALIASES = "heyes does not read HOSTALIASES (hostname(7)), a glibc resolver feature"
RFC3484 = "glibc's built-in table (no gai.conf lines of that kind) is RFC 3484's; heyes uses RFC 6724's"


@dataclass
class Case:
    name: str
    expect: str = ""  # reason: a known difference


@dataclass
class Group:
    id: str
    title: str
    cases: list
    resolv: str = BASE_RESOLV
    hosts: str = HOSTS
    gai: str = GAI_RFC6724
    env: dict = field(default_factory=dict)


def cases(*names, **expected):
    """Cases from names; expected maps a name (with '_' for '-' and '.') to its reason."""
    out = []
    for n in names:
        key = n.replace("-", "_").replace(".", "_")
        out.append(Case(n, expected.get(key, "")))
    return out


def groups():
    g = []
    g.append(Group("hosts", "the hosts file", [
        Case("multi.hosts"), Case("m1"), Case("MULTI.HOSTS"), Case("mixed.case.hosts"),
        Case("multi.hosts."), Case("dotted.hosts"), Case("dotted.hosts."),
        Case("mapped.hosts", MAPPED), Case("v4only.hosts"), Case("v6only.hosts"), Case("dup.hosts", DUPLICATE),
        Case("alias1"), Case("alias2"), Case("inhosts.test"), Case("linklocal.hosts", ZONE), Case("tabbed.hosts"),
        Case("commented.hosts"), Case("nothere.hosts"), Case("short.hosts"), Case("crlf.hosts"),
        Case("alias.dotted."), Case("alias.dotted"), Case("compat.hosts"), Case("blocked.hosts"),
        Case("localhost"), Case("localhost.", LOCALHOST), Case("ip6-localhost"), Case("LocalHost"),
    ]))
    g.append(Group("no-localhost", "a hosts file without localhost lines", [
        Case("localhost", LOCALHOST), Case("sub.localhost", LOCALHOST), Case("www.example.test"),
    ], hosts="192.0.2.40 other.hosts\n"))
    g.append(Group("literals", "address literals", [
        Case(n) for n in [
            "1", "1.2", "1.2.3", "1.2.3.4", "127.1", "0x7f.1", "0X7F.0.0.1", "017.0.0.1", "0x7f000001",
            "4294967295", "4294967296", "1.2.3.256", "1.2.3.4.5", "08.1.2.3", "1.2.3.4 junk", "1.2.3.4.",
            "::1", "::ffff:1.2.3.4", "2001:DB8::A", "fe80::1%lo", "fe80::1%1", "fe80::1%nosuch", "::1%lo",
            "::1%1", "fe80::1%", "[::1]", "2001:db8::1.", " 1.2.3.4", "0", "0x", "1..2",
            "1.2.3.4%lo", "::1.2.3.4", "ff02::1%lo", "ff05::1%lo", "2001:db8::1%4294967295",
            "2001:db8::1%4294967296",
        ]
    ]))
    for c in g[-1].cases:
        c.expect = {"::ffff:1.2.3.4": MAPPED, "[::1]": BRACKETS, "::1%1": NUMERIC_ZONE,
                    "2001:db8::1%4294967295": NUMERIC_ZONE}.get(c.name, "")
    g.append(Group("dns", "DNS answers, no search list", [
        Case("www.example.test"), Case("www.example.test."), Case("WWW.Example.Test"), Case("multi.example.test"),
        Case("v4only.example.test"), Case("v6only.example.test"), Case("nosuch.example.test"),
        Case("nodata.test"), Case("servfail.test"), Case("refused.test"), Case("half.test"),
        Case("alias.test"), Case("alias2.test"), Case("dangling.test"), Case("bad_name.test"),
        Case("-leading.test"), Case("a..b.test"), Case("big.test"),
        Case("zero.test", UNDIALABLE), Case("mcast.test", UNDIALABLE),
    ]))
    search = "search a.test b.test\n" + BASE_RESOLV
    g.append(Group("search", "search a.test b.test, ndots 1", [
        Case("host1"), Case("nd"), Case("sf"), Case("rf"), Case("to"), Case("host2"), Case("x.y"),
        Case("nosuch"), Case("host1."), Case("www.example.test"), Case("tld"), Case("deep.one.two"),
        Case("to2.z"), Case("nd2.z"), Case("sf2.z"), Case("rf2.z"), Case("sf3"), Case("nd4"), Case("rf5"),
    ], resolv=search))
    g.append(Group("ndots", "search a.test b.test, ndots 2 and 0", [
        Case("x.y"), Case("deep.one.two"), Case("host2"),
    ], resolv=search + "options ndots:2\n"))
    g.append(Group("ndots0", "search a.test b.test, ndots 0", [
        Case("host2"), Case("host1"),
    ], resolv=search + "options ndots:0\n"))
    g.append(Group("domain-last", "search then domain: the last line wins", [
        Case("host1"), Case("host2"),
    ], resolv="search a.test\ndomain b.test\n" + BASE_RESOLV))
    g.append(Group("search-last", "domain then search: the last line wins", [
        Case("host1"), Case("host2"),
    ], resolv="domain b.test\nsearch a.test\n" + BASE_RESOLV))
    g.append(Group("search-root", "a search list with the root and a trailing dot", [
        Case("host2"), Case("host1"), Case("tld"),
    ], resolv="search . b.test.\n" + BASE_RESOLV))
    g.append(Group("no-tld-query", "options no-tld-query", [
        Case("tld"), Case("host2"), Case("x.y"),
    ], resolv="search a.test\n" + BASE_RESOLV + "options no-tld-query\n"))
    g.append(Group("no-aaaa", "options no-aaaa", [
        Case("www.example.test"), Case("v6only.example.test"), Case("multi.hosts"), Case("v6only.hosts"),
        Case("localhost"), Case("::1"), Case("alias.test"),
    ], resolv=BASE_RESOLV + "options no-aaaa\n"))
    g.append(Group("single-request", "options single-request rotate (no effect on answers)", [
        Case("www.example.test"), Case("multi.example.test"),
    ], resolv=BASE_RESOLV + "options single-request rotate edns0\n"))
    g.append(Group("domain-words", "domain with two words: the first one only", [
        Case("host1"), Case("host2"),
    ], resolv="domain b.test a.test\n" + BASE_RESOLV))
    g.append(Group("inet6", "options inet6 (obsolete) and ndots:99 (clamped)", [
        Case("www.example.test"), Case("x.y"), Case("deep.one.two"),
    ], resolv=search + "options inet6 ndots:99\n"))
    g.append(Group("env-localdomain-two", "LOCALDOMAIN with two domains", [
        Case("host1"), Case("host2"), Case("nd"),
    ], resolv=BASE_RESOLV, env={"LOCALDOMAIN": "a.test b.test"}))
    g.append(Group("no-server", "a nameserver nothing listens on (ECONNREFUSED)", [
        Case("www.example.test"), Case("host1"), Case("multi.hosts"),
    ], resolv="search a.test\nnameserver 127.0.0.2\noptions timeout:1 attempts:1\n"))
    g.append(Group("empty-resolv", "an empty resolv.conf: the defaults (127.0.0.1, ndots 1)", [
        Case("www.example.test"), Case("nosuch.example.test"),
    ], resolv=""))
    g.append(Group("env-hostaliases", "HOSTALIASES maps a one-label name", [
        Case("myalias", HOSTALIASES), Case("www.example.test"),
    ], env={"HOSTALIASES": "@ETC@/aliases"}))
    g.append(Group("env-res-options-flags", "RES_OPTIONS=no-tld-query over a search list", [
        Case("tld"), Case("host2"),
    ], resolv="search a.test\n" + BASE_RESOLV, env={"RES_OPTIONS": "no-tld-query"}))
    g.append(Group("env-localdomain", "LOCALDOMAIN=b.test over search a.test", [
        Case("host1"), Case("host2"),
    ], resolv="search a.test\n" + BASE_RESOLV, env={"LOCALDOMAIN": "b.test"}))
    g.append(Group("env-localdomain-empty", "LOCALDOMAIN= (empty) clears the search list", [
        Case("host1"), Case("host2"),
    ], resolv=search, env={"LOCALDOMAIN": ""}))
    g.append(Group("env-res-options", "RES_OPTIONS=ndots:2 over ndots 1", [
        Case("x.y"), Case("host2"),
    ], resolv=search, env={"RES_OPTIONS": "ndots:2"}))
    g.append(Group("env-res-options-empty", "RES_OPTIONS= (empty): no change", [
        Case("x.y"),
    ], resolv=search, env={"RES_OPTIONS": ""}))
    g.append(Group("gai-rfc6724", "gai.conf: RFC 6724's table", [
        Case(n, {"rule9-v6": RULE9_BITS, "rule9-v4": RULE9_BITS, "mapped-global": MAPPED}.get(n, ""))
        for n in MIX_NAMES
    ], hosts=MIXES))
    g.append(Group("gai-none", "no gai.conf: the built-in tables", [
        Case(n, {"ula-v4": RFC3484, "rule9-v6": RULE9_BITS, "rule9-v4": RULE9_BITS,
                 "mapped-global": MAPPED}.get(n, "")) for n in MIX_NAMES
    ], hosts=MIXES, gai=None))
    g.append(Group("gai-full", "gai.conf: label, precedence, scopev4, reload (IPv4 first)", [
        Case(n) for n in ["global-v4", "ula-v4", "sixtofour-v4", "sitelocal", "mixed-order", "v6-loopback"]
    ], hosts=MIXES, gai=GAI_FULL))
    g.append(Group("gai-prefer-v4", "gai.conf: the one precedence line for IPv4", [
        Case(n) for n in ["global-v4", "ula-v4", "mixed-order", "ula-global"]
    ], hosts=MIXES, gai=GAI_PREFER_V4))
    g.append(Group("gai-scopev4", "gai.conf: scopev4 192.0.2.0/24 site-local", [
        Case(n) for n in ["global-v4", "linklocal-v4", "v4-loopback", "mixed-order"]
    ], hosts=MIXES, gai=GAI_SCOPEV4))
    g.append(Group("gai-bad-lines", "gai.conf: bad lines among good ones", [
        Case(n) for n in ["global-v4", "ula-v4", "mixed-order"]
    ], hosts=MIXES, gai="precedence bogus 7\nlabel ::/0\nfrobnicate yes\n" + GAI_PREFER_V4))
    g.append(Group("gai-repeated", "gai.conf: one prefix twice", [
        Case(n) for n in ["global-v4", "mixed-order"]
    ], hosts=MIXES, gai="precedence ::ffff:0:0/96 100\nprecedence ::ffff:0:0/96 10\n"))
    g.append(Group("gai-repeated-label", "gai.conf: one label prefix twice", [
        Case(n) for n in ["sixtofour-v4", "teredo-v4"]
    ], hosts=MIXES, gai="precedence 2002::/16 50\nlabel 2002::/16 1\n" + GAI_RFC6724))
    g.append(Group("gai-equal", "gai.conf: IPv4 and IPv6 of equal precedence (rule 10 decides)", [
        Case("global-v4", RULE10), Case("mixed-order", RULE10), Case("www.example.test", RULE10),
    ], hosts=MIXES, gai="precedence ::1/128 50\nprecedence ::/0 40\nprecedence ::ffff:0:0/96 40\n"))
    return g


# --- Namespaces ----------------------------------------------------------------
class Lab:
    def __init__(self, opts):
        self.opts = opts
        tag = f"{os.getpid()}"
        self.ns = f"heyes-gai-{tag}"
        self.peer = f"heyes-gai-peer-{tag}"
        self.etc = f"/etc/netns/{self.ns}"
        self.made = []      # namespaces created, deleted at the end
        self.procs = []

    sh = staticmethod(lab.sh)

    def log(self, msg):
        if self.opts.verbose:
            print(f"  [gai-diff] {msg}", flush=True)

    def set_up(self):
        os.makedirs(self.etc, exist_ok=False)
        for ns in (self.ns, self.peer):
            self.made.append(ns)  # before it exists: an interruption may come at any point
            self.sh("ip", "netns", "add", ns)
            self.sh("ip", "link", "set", "lo", "up", ns=ns)
            for k in ("all", "default"):
                self.sh("sysctl", "-qw", f"net.ipv6.conf.{k}.accept_dad=0", ns=ns)
        self.sh("ip", "-n", self.ns, "link", "add", "gd0", "type", "veth", "peer", "name", "gd1", "netns", self.peer)
        for ns, dev, v4, v6 in ((self.ns, "gd0", NS_V4, NS_V6), (self.peer, "gd1", PEER_V4, PEER_V6)):
            self.sh("ip", "addr", "add", f"{v4}/24", "dev", dev, ns=ns)
            self.sh("ip", "-6", "addr", "add", f"{v6}/64", "dev", dev, "nodad", ns=ns)
            self.sh("ip", "link", "set", dev, "up", ns=ns)
        self.sh("ip", "-6", "addr", "add", f"{NS_ULA}/64", "dev", "gd0", "nodad", ns=self.ns)
        self.sh("ip", "route", "add", "default", "via", PEER_V4, ns=self.ns)
        self.sh("ip", "-6", "route", "add", "default", "via", PEER_V6, "dev", "gd0", ns=self.ns)
        # fe80:: of gd0 (with accept_dad 0 it is usable at once): wait boundedly for it.
        deadline = time.monotonic() + SETUP_WAIT
        while "fe80" not in self.sh("ip", "-6", "addr", "show", "dev", "gd0", ns=self.ns).stdout:
            if time.monotonic() > deadline:
                raise RuntimeError("gd0 has no link-local address")
            time.sleep(0.05)

    def start_dns(self):
        cmd = [self.opts.test_dns, "--listen", "127.0.0.1:53", "--lifetime", "300"]
        for name, rtype, addr in RECORDS:
            cmd += ["--record", name, rtype, addr]
        for name, rtype, rcode in RCODES:
            cmd += ["--rcode", name, rtype, rcode]
        for name, target in CNAMES:
            cmd += ["--cname", name, target]
        for name, rtype in DROPS:
            cmd += ["--drop", name, rtype]
        p = subprocess.Popen(["ip", "netns", "exec", self.ns] + cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        ready, _, _ = select.select([p.stdout], [], [], SETUP_WAIT)
        line = p.stdout.readline() if ready else ""
        if not line.startswith("listening"):
            p.kill()
            raise RuntimeError(f"heyes-test-dns did not start: {line!r} {p.stderr.read()[:300] if not ready else ''}")
        self.log(line.strip())

    def write_files(self, group):
        files = {"resolv.conf": group.resolv, "hosts": group.hosts, "nsswitch.conf": NSSWITCH,
                 "gai.conf": group.gai if group.gai is not None else ""}
        files["aliases"] = "myalias www.example.test\n"
        for name, text in files.items():
            with open(os.path.join(self.etc, name), "w") as f:
                f.write(text)

    def run_group(self, group):
        self.write_files(group)
        env = ["env", "-u", "LOCALDOMAIN", "-u", "RES_OPTIONS", "-u", "HOSTALIASES"]
        env += [f"{k}={v.replace('@ETC@', self.etc)}" for k, v in group.env.items()]
        cmd = ["ip", "netns", "exec", self.ns] + env + [self.opts.compare] + [c.name for c in group.cases]
        # No gai.conf: ip netns exec binds only files that exist, so the
        # empty one is removed and the host's /etc/gai.conf would show
        # through; an unshared mount namespace hides it instead.
        if group.gai is None:
            os.unlink(os.path.join(self.etc, "gai.conf"))
            cmd = ["ip", "netns", "exec", self.ns, "unshare", "-m", "sh", "-c",
                   'mount --bind /dev/null /etc/gai.conf 2>/dev/null || true; exec "$@"', "sh"] + \
                  env + [self.opts.compare] + [c.name for c in group.cases]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_WALL)
        if r.returncode != 0:
            raise RuntimeError(f"heyes-gai-compare exited {r.returncode}: {r.stderr.strip()[:500]}")
        results = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        if [x["name"] for x in results] != [c.name for c in group.cases]:
            raise RuntimeError(f"heyes-gai-compare answered for other names: {r.stdout[:500]}")
        return results

    def close(self):
        lab.stop_processes(self.procs)
        for ns in self.made:
            r = self.sh("ip", "netns", "pids", ns, check=False)
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            self.sh("ip", "netns", "del", ns, check=False)
        if os.path.isdir(self.etc):
            shutil.rmtree(self.etc, ignore_errors=True)


def error_class(error):
    if error is None:
        return "ok"
    if error in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY"):
        return "no address"
    if error == "EAI_AGAIN":
        return "temporary"
    return "fail"


def agree(result):
    g, h = result["glibc"], result["heyes"]
    return error_class(g["error"]) == error_class(h["error"]) and g["addresses"] == h["addresses"]


def show(side):
    return side["error"] if side["error"] else " ".join(side["addresses"]) or "(none)"


def on_sigterm(*_):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the clean-up must not be interrupted
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", required=True, help="the heyes-gai-compare program")
    ap.add_argument("--test-dns", required=True, help="the heyes-test-dns program")
    ap.add_argument("--only", nargs="*", help="group ids to run")
    ap.add_argument("--verbose", action="store_true")
    opts = ap.parse_args()
    for path in (opts.compare, opts.test_dns):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print(f"gai-diff: {path}: not an executable (is the build complete?)")
            return 1
    if os.geteuid() != 0:
        print("gai-diff: skipped: not root (network namespaces and /etc/netns need root)")
        return SKIP
    for tool in ("ip", "unshare", "mount"):
        if shutil.which(tool) is None:
            print(f"gai-diff: skipped: {tool} not found (Debian: iproute2, util-linux)")
            return SKIP
    signal.signal(signal.SIGTERM, on_sigterm)
    start = time.monotonic()
    lab = Lab(opts)
    total = agreed = expected = 0
    failures = []
    try:
        try:
            lab.set_up()
        except (RuntimeError, OSError) as err:
            if "netns" in str(err) or "Operation not permitted" in str(err):
                print(f"gai-diff: skipped: cannot make network namespaces here: {err}")
                return SKIP
            raise
        lab.start_dns()
        for group in groups():
            if opts.only and group.id not in opts.only:
                continue
            print(f"== {group.id}: {group.title}", flush=True)
            for case, result in zip(group.cases, lab.run_group(group)):
                total += 1
                same = agree(result)
                if same:
                    agreed += 1
                    mark = "agree" if not case.expect else "agree (expected a difference: update the list)"
                    g_error, h_error = result["glibc"]["error"], result["heyes"]["error"]
                    if g_error != h_error:  # the same class, another code (NONAME, NODATA)
                        mark += f" ({g_error} / {h_error})"
                elif case.expect:
                    expected += 1
                    mark = f"expected difference: {case.expect}"
                else:
                    failures.append((group.id, result))
                    mark = "DISAGREE"
                print(f"  {case.name!r:28} {mark}")
                if not same or opts.verbose:
                    print(f"      glibc: {show(result['glibc'])}")
                    h = result["heyes"]
                    print(f"      heyes: {show(h)}" + (f"  [{', '.join(h['errors'])}]" if h["errors"] else ""))
    finally:
        lab.close()
    print(f"gai-diff: {total} cases, {agreed} agree, {expected} expected differences, "
          f"{len(failures)} disagree ({time.monotonic() - start:.1f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
