#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# heyes-connect dial and demo modes end to end: --json parsed, --repeat and history, exit codes.
# Usage: cli_dial_test.py PATH/TO/heyes-connect ipv4|ipv6. Loopback only; no nameserver is ever
# asked (a hosts file answers, and every run names --nameserver: a closed loopback port).
# The ipv4 part runs everywhere; the ipv6 part (a black-holed [::1]) skips, exit 77, without ::1.
import json
import os
import re
import socket
import subprocess
import sys
import tempfile

BIN = os.path.abspath(sys.argv[1])
PART = sys.argv[2] if len(sys.argv) > 2 else ""
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def broken_ipv6_setup():
    """Working 127.0.0.1:P and black-holed [::1]:P (backlog 0, queue filled once)."""
    for _ in range(16):
        working = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        working.bind(("127.0.0.1", 0))
        working.listen(64)
        port = working.getsockname()[1]
        broken = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        broken.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            broken.bind(("::1", port))
        except OSError:
            working.close()
            broken.close()
            continue
        broken.listen(0)
        filler = socket.create_connection(("::1", port), timeout=5)
        return port, [working, broken, filler]
    raise RuntimeError("no free port pair")


def dials(out):
    """The result objects of --json's JSON Lines (each after its dial's event objects)."""
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    objs = [o for o in lines if o.get("type") == "result"]
    check(all(o.get("type") in ("event", "result") and o.get("schema") == 1 for o in lines),
          f"--json: a line neither an event nor a result of schema 1: {lines}")
    for o in objs:
        for key in ("ok", "address", "port", "family", "elapsed_ms", "error", "events"):
            check(key in o, f"json object without {key!r}: {o}")
        for e in o.get("events", []):
            check(isinstance(e.get("t_ms"), (int, float)) and isinstance(e.get("type"), str), f"bad event {e}")
    return objs


def starts(o):
    return [(e.get("family"), e.get("address"), e["t_ms"]) for e in o["events"] if e["type"] == "attempt_start"]


def check_repeat(objs, port, what):
    """Dial 1 waits one attempt delay on ::1, then wins over 127.0.0.1; dials 2 and 3 go to IPv4 at once."""
    check(len(objs) == 3, f"{what}: {len(objs)} objects, want 3")
    if len(objs) != 3:
        return
    for i, o in enumerate(objs):
        check(o["ok"] and o["address"] == "127.0.0.1" and o["family"] == "ipv4" and o["port"] == port,
              f"{what}: dial {i + 1} did not connect to 127.0.0.1 port {port}: {o}")
    first = starts(objs[0])
    check(len(first) == 2 and first[0][1] == "::1" and first[1][1] == "127.0.0.1",
          f"{what}: dial 1 attempts {first}, want ::1 then 127.0.0.1")
    # The attempt delay (250 ms) was waited; the upper bound only catches a hang.
    check(200 <= objs[0]["elapsed_ms"] < 10000, f"{what}: dial 1 took {objs[0]['elapsed_ms']} ms, want 200..10000")
    check(any(e["type"] == "attempt_cancelled" for e in objs[0]["events"]),
          f"{what}: dial 1 has no attempt_cancelled event")
    for i in (1, 2):
        s = starts(objs[i])
        # History: the black hole is not tried at all, so no attempt delay is spent on it.
        check([a for _, a, _ in s] == ["127.0.0.1"], f"{what}: dial {i + 1} tried {s}, want only 127.0.0.1 (history)")


def ipv6_part():
    """The half-broken dual-stack network: history, text mode, --history-file, --demo."""
    dead_ns = f"127.0.0.1:{closed_port()}"
    with tempfile.TemporaryDirectory() as tmp:
        hosts = os.path.join(tmp, "hosts")
        with open(hosts, "w") as f:
            f.write("::1 dual.heyes.test\n127.0.0.1 dual.heyes.test\n")
        port, keep = broken_ipv6_setup()
        base = ["--hosts", hosts, "--nameserver", dead_ns, "--no-addrconfig"]

        # --repeat 3 --json: history makes dials 2 and 3 skip the black hole.
        rc, out, err = run(*base, "--repeat", "3", "--json", "dual.heyes.test", str(port))
        check(rc == 0, f"--repeat 3: rc={rc} err={err!r}")
        check_repeat(dials(out), port, "hosts --repeat 3")

        # Text mode: the timeline, then the one-line verdict.
        rc, out, err = run(*base, "--no-history", "--attempt-delay", "100", "dual.heyes.test", str(port))
        lines = out.splitlines()
        check(rc == 0 and lines and re.fullmatch(rf"connected to 127\.0\.0\.1 port {port} in \d+ ms", lines[-1]),
              f"text mode: rc={rc} last line {lines[-1:]!r}")
        check(all(re.match(r"^ +\d+\.\d ms  [a-z_]+", line) for line in lines[:-1]) and len(lines) > 3,
              f"text mode timeline: {lines!r}")
        check(any("attempt_start ipv4 127.0.0.1" in line for line in lines), "text mode: no IPv4 attempt line")
        # --history-file: the second process knows what the first learnt (::1 black-holed).
        history = os.path.join(tmp, "cache", "heyes", "history")
        rc, out, err = run(*base, "--json", "--history-file", history, "dual.heyes.test", str(port))
        first = dials(out)
        check(rc == 0 and len(first) == 1 and [a for _, a, _ in starts(first[0])][:1] == ["::1"],
              f"--history-file run 1: rc={rc} out={out!r} err={err!r}")
        check(err.count("\n") == 1 and "history: " in err and "no history yet" in err,
              f"--history-file run 1: one note on stderr, got {err!r}")
        check(os.path.exists(history) and (os.stat(history).st_mode & 0o777) == 0o600,
              "--history-file: no file of mode 0600 after run 1")
        with open(history) as f:
            text = f.read()
        check(text.startswith("heyes-history 1\n") and "\n::1 - - 0 - " in text and "\n127.0.0.1 " in text,
              f"--history-file contents: {text!r}")
        rc, out, err = run(*base, "--json", "--history-file", history, "dual.heyes.test", str(port))
        second = dials(out)
        check(rc == 0 and not err and len(second) == 1 and [a for _, a, _ in starts(second[0])] == ["127.0.0.1"],
              f"--history-file run 2: rc={rc} out={out!r} err={err!r}")
        # A file that is not a history: one line on stderr naming it, ignored, rewritten.
        with open(history, "w") as f:
            f.write("not a history\n")
        rc, out, err = run(*base, "--json", "--history-file", history, "dual.heyes.test", str(port))
        check(rc == 0 and err.count("\n") == 1 and f"history: {history}:1: not a heyes history file" in err,
              f"--history-file corrupted: rc={rc} err={err!r}")
        with open(history) as f:
            check(f.read().startswith("heyes-history 1\n"), "--history-file: a bad file was not rewritten")
        for s in keep:
            s.close()

    # --demo --repeat 3: the in-process DNS server (real queries) and the same history effect.
    rc, out, err = run("--demo", "--repeat", "3", "--json")
    objs = dials(out)
    check(rc == 0, f"--demo: rc={rc} err={err!r}")
    check(objs and any(e["type"] == "dns_query" for e in objs[0]["events"]), "--demo: no dns_query event")
    if objs:
        check_repeat(objs, objs[0]["port"], "--demo --repeat 3")
    rc, out, err = run("--demo")
    check(rc == 0 and "demo: OK" in out and re.search(r"^connected to 127\.0\.0\.1 port \d+ in \d+ ms$", out, re.M),
          f"--demo text: rc={rc} out={out!r}")


def ipv4_part():
    """What needs only IPv4: exit codes, causes per address, input errors."""
    # Every run names its resolver: a closed loopback port (never the machine's).
    ns = ["--nameserver", f"127.0.0.1:{closed_port()}"]
    # A refused port: exit 1, the cause per address.
    closed = closed_port()
    rc, out, err = run(*ns, "--json", "127.0.0.1", str(closed))
    objs = dials(out)
    check(rc == 1 and len(objs) == 1 and not objs[0]["ok"] and objs[0]["error"]
          and objs[0]["failures"] == [{"address": "127.0.0.1", "error": "Connection refused",
                                       "error_code": "ECONNREFUSED"}],
          f"refused: rc={rc} out={out!r}")
    rc, out, err = run(*ns, "-6", "--json", "127.0.0.1", str(closed))
    objs = dials(out)
    check(rc == 1 and objs and objs[0]["ok"] is False and objs[0]["address"] is None, f"-6 with an IPv4 literal: {out!r}")

    # inet_aton's numeric forms are address literals, as getaddrinfo reads them: no DNS.
    for literal in ("127.1", "0x7f.0.0.1", "2130706433", "0177.0.0.1"):
        rc, out, err = run(*ns, "--json", literal, str(closed))
        objs = dials(out)
        check(rc == 1 and len(objs) == 1
              and [(f["address"], f["error_code"]) for f in objs[0]["failures"]] == [("127.0.0.1", "ECONNREFUSED")]
              and not any(e["type"] == "dns_query" for e in objs[0]["events"]),
              f"numeric host {literal}: rc={rc} out={out!r} err={err!r}")

    # Bad input: exit 2, one line on stderr, nothing dialed.
    # Host names are glibc's res_hnok names: a backslash escape is bad input, never a query.
    for args in (["127.0.0.1", "0"], ["127.0.0.1", "no-such-service-here"], ["bad..name", "80"],
                 ["ok\\999.t", "80"], ["ok\\065.t", "80"], ["trailing\\", "80"], ["-lead.t", "80"],
                 ["--repeat", "0", "127.0.0.1", "80"], ["--attempt-delay", "x", "127.0.0.1", "80"],
                 ["--nameserver", "nope", "127.0.0.1", "80"], ["--hosts", "/nonexistent/hosts", "h.test", "80"],
                 ["--demo", "extra"], ["--history-file", "", "127.0.0.1", "80"],
                 ["--no-history", "--history-file", "h", "127.0.0.1", "80"]):
        rc, out, err = run(*([] if "--demo" in args else ns), *args)
        check(rc == 2 and not out and err.startswith("heyes-connect: ") and err.count("\n") == 1,
              f"bad input {args}: rc={rc} out={out!r} err={err!r}")


def main():
    if not os.access(BIN, os.X_OK):
        print(f"FAIL: {BIN} is not an executable")
        return 1
    if PART == "ipv4":
        ipv4_part()
    elif PART == "ipv6":
        if not have_ipv6_loopback():
            print("SKIP: no IPv6 loopback (::1) on this host")
            return 77
        ipv6_part()
    else:
        print(f"usage: {sys.argv[0]} HEYES-CONNECT ipv4|ipv6")
        return 2
    for f in failures:
        print("FAIL:", f)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


sys.exit(main())
