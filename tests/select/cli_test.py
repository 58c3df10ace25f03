#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# heyes-connect --sort end to end: orders printed, exit codes, the one-line error on stderr.
# Usage: cli_test.py PATH/TO/heyes-connect. Touches loopback only (--source elsewhere).
import os
import re
import subprocess
import sys
import tempfile

BIN = os.path.abspath(sys.argv[1])
failures = []


def run(*args, cwd=None):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=20, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def expect_order(args, want, what):
    rc, out, err = run(*args)
    if rc != 0 or out.split() != want or err:
        failures.append(f"{what}: rc={rc} out={out.split()} err={err!r}, want {want}")


def expect_error(args, message, what, cwd=None):
    rc, out, err = run(*args, cwd=cwd)
    want = f"heyes-connect: {message}\n"
    if rc != 2 or out or err != want:
        failures.append(f"{what}: rc={rc} out={out!r} err={err!r}, want rc=2 err={want!r}")


# RFC 6724 section 10.2 example 2 (prefer matching scope), sources given.
ex2 = ["--sort", "--policy", "none", "--source", "2001:db8:1::1=fe80::1",
       "--source", "198.51.100.121=198.51.100.117", "2001:db8:1::1", "198.51.100.121"]
expect_order(ex2, ["198.51.100.121", "2001:db8:1::1"], "10.2 example 2")

# Interleaving: four IPv6 and two IPv4 destinations, all with sources.
six = [f"2001:db8::{i}" for i in range(1, 5)]
four = ["192.0.2.10", "192.0.2.11"]
srcs = []
for d in six:
    srcs += ["--source", f"{d}=2001:db8::100/64"]
for d in four:
    srcs += ["--source", f"{d}=192.0.2.100/24"]
base = ["--sort", "--policy", "none", *srcs]
expect_order(base + six + four, [six[0], four[0], six[1], four[1], six[2], six[3]], "interleave count 1")
expect_order(base + ["--family-count", "2"] + six + four,
             [six[0], six[1], four[0], six[2], four[1], six[3]], "interleave count 2")
expect_order(base + ["--family-count=3", "--no-interleave"] + four + six, six + four, "--no-interleave")

# DST=none: unusable, sorted last; later --source for one DST wins.
expect_order(["--sort", "--policy", "none", "--source", "2001:db8::1=none", "--source", "192.0.2.1=192.0.2.2",
              "--no-interleave", "2001:db8::1", "192.0.2.1"], ["192.0.2.1", "2001:db8::1"], "DST=none")
expect_order(["--sort", "--policy", "none", "--source", "2001:db8::1=none", "--source", "2001:db8::1=2001:db8::2",
              "--source", "192.0.2.1=192.0.2.2", "--no-interleave", "192.0.2.1", "2001:db8::1"],
             ["2001:db8::1", "192.0.2.1"], "later --source wins")
# A deprecated source loses (rule 3).
expect_order(["--sort", "--policy", "none", "--source", "2001:db8:1::1=2001:db8:1::2/64,deprecated",
              "--source", "2001:db8:2::1=2001:db8:2::2/64", "2001:db8:1::1", "2001:db8:2::1"],
             ["2001:db8:2::1", "2001:db8:1::1"], "deprecated flag")

with tempfile.TemporaryDirectory() as tmp:
    # A policy file (RFC 6724 section 10.4): fe80::/10 below ::/0 puts global first.
    with open(os.path.join(tmp, "global.conf"), "w") as f:
        f.write("# global before link-local\nprecedence ::1/128 50\nprecedence ::/0 40\n"
                "precedence ::ffff:0:0/96 35\nprecedence fe80::/10 33\n")
    tenfour = ["--sort", "--source", "2001:db8::1=2001:db8::2", "--source", "fe80::1=fe80::2",
               "fe80::1", "2001:db8::1"]
    expect_order(["--policy", os.path.join(tmp, "global.conf")] + tenfour, ["2001:db8::1", "fe80::1"], "10.4 policy")
    expect_order(["--policy", "none"] + tenfour, ["fe80::1", "2001:db8::1"], "10.4 without policy")
    # A bad policy file: the file name as given, the line, the reason.
    with open(os.path.join(tmp, "policy.conf"), "w") as f:
        f.write("label ::1/128 0\n\nlable ::/0 1\n")
    expect_error(["--sort", "--policy", "policy.conf", "::1"], "policy.conf:3: unknown keyword 'lable'",
                 "bad policy", cwd=tmp)
    expect_error(["--sort", "--policy", "missing.conf", "::1"],
                 "option '--policy': missing.conf: cannot read file: No such file or directory", "missing policy",
                 cwd=tmp)

# Bad command lines: exit 2, nothing on stdout, one line naming the problem.
bad = [
    ([], "nothing to do: give --sort ADDR..., HOST PORT or --demo (try --help)"),
    (["::1"], "missing PORT"),
    (["--sort"], "--sort needs at least one ADDR"),
    (["--sort", "example.com"], "'example.com' is not an IP address"),
    (["--sort", "--", "-1"], "'-1' is not an IP address"),
    (["--srot", "::1"], "unknown option '--srot' (try --help)"),
    (["-x", "::1"], "unknown option '-x' (try --help)"),
    (["--sort", "::1", "--policy"], "option '--policy' needs a value"),
    (["--sort", "--policy=", "::1"], "option '--policy': empty file name"),
    (["--sort=yes", "::1"], "option '--sort' takes no value"),
    (["--sort", "--family-count", "0", "::1"], "option '--family-count': expected an integer from 1 to 1000, got '0'"),
    (["--sort", "--family-count", "2x", "::1"], "option '--family-count': expected an integer from 1 to 1000, got '2x'"),
    (["--sort", "--family-count", "99999999999999999999", "::1"],
     "option '--family-count': expected an integer from 1 to 1000, got '99999999999999999999'"),
    (["--sort", "--source", "::1", "::1"], "option '--source': expected DST=SRC[/LEN] or DST=none, got '::1'"),
    (["--sort", "--source", "::1=bogus", "::1"], "option '--source': 'bogus' is not an IP address"),
    (["--sort", "--source", "nope=::1", "::1"], "option '--source': 'nope' is not an IP address"),
    (["--sort", "--source", "::1=::1/129", "::1"], "option '--source': expected an integer from 0 to 128, got '129'"),
    (["--sort", "--source", "192.0.2.1=192.0.2.2/33", "::1"],
     "option '--source': expected an integer from 0 to 32, got '33'"),
    (["--sort", "--source", "::1=::1,stale", "::1"],
     "option '--source': unknown flag 'stale' (deprecated, home or temporary)"),
    (["--sort", "--source", "::1=127.0.0.1", "::1"],
     "option '--source': source '127.0.0.1' is not of the family of '::1'"),
    (["--sort", "ev\nil\x01"], "'ev\\x0ail\\x01' is not an IP address"),
    (["--sort", "1" * 500], "'" + "1" * 60 + "...' is not an IP address"),
]
for args, message in bad:
    expect_error(args, message, f"bad input {args!r:.60}")

# --help and --version.
rc, out, err = run("--help")
if rc != 0 or not out.startswith("usage: heyes-connect --sort") or "--family-count" not in out or err:
    failures.append(f"--help: rc={rc} out={out!r} err={err!r}")
rc, out, err = run("--version")
if rc != 0 or not re.fullmatch(r"heyes-connect \d+\.\d+\.\d+\n", out) or err:
    failures.append(f"--version: rc={rc} out={out!r} err={err!r}")

# The system source lookup, loopback only: both come back, ::1 first when
# IPv6 loopback exists (precedence 50 against 35).
rc, out, err = run("--sort", "--policy", "none", "--no-interleave", "127.0.0.1", "::1")
has_v6 = os.path.exists("/proc/net/if_inet6") and "00000000000000000000000000000001" in open("/proc/net/if_inet6").read()
want = ["::1", "127.0.0.1"] if has_v6 else ["127.0.0.1", "::1"]
if rc != 0 or out.split() != want or err:
    failures.append(f"loopback system lookup: rc={rc} out={out.split()} err={err!r}, want {want}")

for f in failures:
    print("FAIL:", f)
print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
