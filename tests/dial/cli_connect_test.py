#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# heyes-connect's conversation: streamed events, JSON Lines, SIGINT/SIGTERM, stdout vs stderr, option checks,
# where each answer came from and a nameserver's rcode.
# Usage: cli_connect_test.py PATH/TO/heyes-connect. IPv4 loopback only; every dial names --nameserver
# (a closed loopback port, or a tiny DNS server of its own on loopback), so the machine's resolver is never asked.
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.abspath(sys.argv[1])
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NS = ["--nameserver", f"127.0.0.1:{closed_port()}"]
NAT64_BAD_LENGTH = ("option '--nat64-prefix': '2001:db8::/33': "
                    "/33 is not a NAT64 prefix length (32, 40, 48, 56, 64 or 96)")


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def lines_of(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def black_hole():
    """127.0.0.1:P with listen(fd, 0) and its one queue slot taken: further SYNs are dropped."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hole.bind(("127.0.0.1", 0))
    hole.listen(0)
    filler = socket.create_connection(hole.getsockname(), timeout=5)
    return hole.getsockname()[1], [hole, filler]


def working():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


class TinyDns:
    """A DNS server on 127.0.0.1 (UDP, its own thread): every query gets rcode, with an A record
    of a_record for A queries when rcode is 0 (NODATA without SOA for the other types)."""

    def __init__(self, rcode=0, a_record=None):
        self.rcode, self.a_record = rcode, a_record
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve)
        self.thread.start()

    def reply(self, q):
        end = 12
        while end < len(q) and q[end] != 0:
            end += q[end] + 1
        question = q[12:end + 5]
        qtype = int.from_bytes(q[end + 1:end + 3], "big")
        answer = b""
        if self.rcode == 0 and qtype == 1 and self.a_record:
            answer = b"\xc0\x0c\x00\x01\x00\x01" + (300).to_bytes(4, "big") + b"\x00\x04" + socket.inet_aton(self.a_record)
        flags = 0x8000 | (q[2] & 0x01) << 8 | 0x0080 | self.rcode
        header = q[0:2] + flags.to_bytes(2, "big") + b"\x00\x01" + (1 if answer else 0).to_bytes(2, "big") + b"\x00\x00\x00\x00"
        return header + question + answer

    def serve(self):
        while not self.stop.is_set():
            try:
                q, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            if len(q) < 17:
                continue
            self.queries += 1
            self.sock.sendto(self.reply(q), peer)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def dns_events(result):
    return [e for e in result.get("events", []) if e["type"] in ("dns_answer", "dns_error")]


def answer_sources():
    """Each dns_answer / dns_error says where it came from; a nameserver's error rcode reaches the result."""
    listener = working()
    port = str(listener.getsockname()[1])
    try:
        # A literal: one answer, source literal, its address as an array; no rcode.
        rc, out, err = run(*NS, "--json", "127.0.0.1", port)
        result = lines_of(out)[-1] if out else {}
        check(rc == 0 and [(e["type"], e["source"], e["addresses"]) for e in dns_events(result)]
              == [("dns_answer", "literal", ["127.0.0.1"])] and result.get("rcode", "absent") is None,
              f"source literal: rc={rc} out={out!r} err={err!r}")
        # --resolve: given.
        rc, out, err = run(*NS, "--json", "--resolve", f"given.heyes.test:{port}:127.0.0.1", "given.heyes.test", port)
        result = lines_of(out)[-1] if out else {}
        check(rc == 0 and [(e["source"], e.get("addresses")) for e in dns_events(result)] == [("given", ["127.0.0.1"])],
              f"source given: rc={rc} out={out!r} err={err!r}")
        # The hosts file: hosts, for the answer and for the family it lacks (no rcode there).
        with tempfile.TemporaryDirectory() as tmp:
            hosts = os.path.join(tmp, "hosts")
            with open(hosts, "w") as f:
                f.write("127.0.0.1 files.heyes.test\n")
            rc, out, err = run(*NS, "--json", "--no-addrconfig", "--hosts", hosts, "files.heyes.test", port)
            result = lines_of(out)[-1] if out else {}
            events = dns_events(result)
            check(rc == 0 and sorted((e["type"], e["source"]) for e in events)
                  == [("dns_answer", "hosts"), ("dns_error", "hosts")]
                  and all(e["rcode"] is None and e["server"] is None for e in events if e["type"] == "dns_error"),
                  f"source hosts: rc={rc} out={out!r} err={err!r}")
            # Text: the timeline says it too.
            rc, out, err = run(*NS, "-4", "--hosts", hosts, "files.heyes.test", port)
            check(rc == 0 and "dns_answer ipv4  1 address(es) from hosts: 127.0.0.1" in out,
                  f"source hosts, text: rc={rc} out={out!r} err={err!r}")
        # DNS on the first dial, the cache on the second.
        with TinyDns(a_record="127.0.0.1") as dns:
            rc, out, err = run("--nameserver", f"127.0.0.1:{dns.port}", "--json", "-4", "--repeat", "2",
                               "cached.heyes.test", port)
            results = [o for o in lines_of(out) if o["type"] == "result"]
            got = [[(e["type"], e["source"], e.get("addresses")) for e in dns_events(r)] for r in results]
            check(rc == 0 and got == [[("dns_answer", "dns", ["127.0.0.1"])], [("dns_answer", "cache", ["127.0.0.1"])]]
                  and dns.queries == 1, f"source dns then cache: rc={rc} got={got} queries={dns.queries} err={err!r}")
    finally:
        listener.close()


def rcodes():
    """SERVFAIL and REFUSED: error_code dns_server_failure as before, the rcode and server beside it."""
    for code, name in ((2, "SERVFAIL"), (5, "REFUSED")):
        with TinyDns(rcode=code) as dns:
            server = f"127.0.0.1:{dns.port}"
            rc, out, err = run("--nameserver", server, "--json", "--timeout", "5000", "bad.heyes.test", "80")
            result = lines_of(out)[-1] if out else {}
            want = {"ok": False, "error": "every nameserver failed", "error_code": "dns_server_failure", "rcode": name,
                    "failures": []}
            check(rc == 1 and {k: result.get(k) for k in want} == want, f"{name} json result: rc={rc} {result}")
            errors = [e for e in dns_events(result) if e["type"] == "dns_error"]
            check(errors and all(e["source"] == "dns" and e["rcode"] == name and e["server"] == server
                                 and e["detail"] == f"every nameserver failed: {name} from {server}" for e in errors),
                  f"{name} json dns_error events: {errors}")
            rc, out, err = run("--nameserver", server, "--timeout", "5000", "bad.heyes.test", "80")
            check(rc == 1 and err.startswith(f"heyes-connect: error: every nameserver failed: {name} from {server} (after "),
                  f"{name} text: rc={rc} err={err!r}")
    # No server answered: rcode null, and the error line as before.
    rc, out, err = run(*NS, "--json", "--timeout", "5000", "nothing.heyes.test", "80")
    result = lines_of(out)[-1] if out else {}
    check(rc == 1 and "rcode" in result and result["rcode"] is None, f"no answer: rcode {result}")


def interrupted_run(sig, extra):
    """Dials the black hole, waits for the streamed attempt_start, signals after ~0.5 s."""
    port, keep = black_hole()
    p = subprocess.Popen([BIN, *NS, "--no-history", *extra, "127.0.0.1", str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    streamed = threading.Event()

    def read():
        for line in p.stdout:
            seen.append(line)
            if "attempt_start" in line:
                streamed.set()

    reader = threading.Thread(target=read)
    reader.start()
    t0 = time.monotonic()
    got_start = streamed.wait(10)
    running = p.poll() is None  # the attempt_start came while the dial was still pending
    time.sleep(max(0.0, 0.5 - (time.monotonic() - t0)))
    p.send_signal(sig)
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    reader.join(5)
    err = p.stderr.read()
    for s in keep:
        s.close()
    return rc, "".join(seen), err, got_start and running


def signals():
    rc, out, err, live = interrupted_run(signal.SIGINT, [])
    check(live, f"SIGINT text: attempt_start not streamed while the dial was pending: {out!r}")
    check(rc == 130, f"SIGINT: rc={rc}, want 130 (err={err!r})")
    check("attempt_start ipv4 127.0.0.1" in out, f"SIGINT text: no attempt_start line on stdout: {out!r}")
    check(err.endswith("heyes-connect: interrupted by SIGINT\n"), f"SIGINT text: stderr {err!r}")
    check("heyes-connect: error: Operation aborted." in err, f"SIGINT text: the cancelled dial's error not on stderr: {err!r}")

    rc, out, err, live = interrupted_run(signal.SIGTERM, ["--json"])
    objs = lines_of(out)
    check(live, f"SIGTERM json: attempt_start not streamed while the dial was pending: {out!r}")
    check(rc == 143, f"SIGTERM: rc={rc}, want 143 (err={err!r})")
    check(all(o.get("schema") == 1 for o in objs), f"SIGTERM json: an object without schema 1: {objs}")
    types = [o["type"] for o in objs]
    check(types and types[-2:] == ["result", "interrupted"] and set(types[:-2]) == {"event"},
          f"SIGTERM json: objects {types}, want events, result, interrupted")
    check(any(o["type"] == "event" and o["event"]["type"] == "attempt_start" for o in objs),
          "SIGTERM json: no streamed attempt_start event")
    if len(objs) >= 2:
        check(objs[-2]["ok"] is False and objs[-2]["error_code"] == "ECANCELED", f"SIGTERM json result: {objs[-2]}")
        check(objs[-1] == {"schema": 1, "type": "interrupted", "dial": 1, "signal": "SIGTERM", "exit_status": 143},
              f"SIGTERM json: interrupted object {objs[-1]}")
    check(err == "", f"SIGTERM json: stderr {err!r}")


def json_lines():
    closed = closed_port()
    rc, out, err = run(*NS, "--json", "127.0.0.1", str(closed))
    objs = lines_of(out)
    check(rc == 1 and objs, f"refused --json: rc={rc} out={out!r}")
    if not objs:
        return
    result = objs[-1]
    events = [o for o in objs[:-1]]
    check(all(o["type"] == "event" and o["dial"] == 1 and o["schema"] == 1 for o in events),
          f"refused --json: not only events before the result: {objs}")
    want = {"schema": 1, "type": "result", "dial": 1, "host": "127.0.0.1", "service": str(closed), "ok": False,
            "address": None, "port": None, "family": None, "error": "every connection attempt failed",
            "error_code": "all_attempts_failed",
            "failures": [{"address": "127.0.0.1", "error": "Connection refused", "error_code": "ECONNREFUSED"}]}
    check({k: result.get(k) for k in want} == want, f"refused --json result: {result}")
    check("rcode" in result and result["rcode"] is None, f"refused --json: rcode {result}")
    check(isinstance(result.get("elapsed_ms"), (int, float)), f"refused --json: elapsed_ms {result}")
    check([o["event"] for o in events] == result.get("events"), "refused --json: streamed events != result events")
    check(err == "", f"refused --json: stderr {err!r}")

    # Text: the timeline on stdout, the error on stderr.
    rc, out, err = run(*NS, "127.0.0.1", str(closed))
    check(rc == 1 and "attempt_failed ipv4 127.0.0.1" in out and "error" not in out.replace("attempt_failed", ""),
          f"refused text: stdout {out!r}")
    check(err == "heyes-connect: error: every connection attempt failed (after 0 ms)\n"
          "heyes-connect:   127.0.0.1: Connection refused\n" or
          (err.startswith("heyes-connect: error: every connection attempt failed (after ")
           and err.endswith("heyes-connect:   127.0.0.1: Connection refused\n")), f"refused text: stderr {err!r}")

    # One operand HOST:PORT, [V6]:PORT.
    rc, out, err = run(*NS, "--json", f"127.0.0.1:{closed}")
    objs = lines_of(out)
    check(rc == 1 and objs and objs[-1]["host"] == "127.0.0.1" and objs[-1]["service"] == str(closed),
          f"HOST:PORT: rc={rc} out={out!r} err={err!r}")
    rc, out, err = run(*NS, "--json", f"[::1]:{closed}")
    objs = lines_of(out)
    check(rc == 1 and objs and objs[-1]["host"] == "::1" and objs[-1]["service"] == str(closed),
          f"[V6]:PORT: rc={rc} out={out!r} err={err!r}")


def repeat_quiet_verbose():
    listener = working()
    port = listener.getsockname()[1]
    rc, out, err = run(*NS, "--repeat", "2", "127.0.0.1", str(port))
    lines = out.splitlines()
    check(rc == 0 and lines[:1] == [f"dial 1 of 2: 127.0.0.1 {port}"] and f"dial 2 of 2: 127.0.0.1 {port}" in lines
          and sum(line.startswith("connected to 127.0.0.1") for line in lines) == 2,
          f"--repeat 2 text: rc={rc} out={out!r} err={err!r}")
    rc, out, err = run(*NS, "--repeat", "2", "--json", "127.0.0.1", str(port))
    objs = lines_of(out)
    results = [o for o in objs if o["type"] == "result"]
    check(rc == 0 and [o["dial"] for o in results] == [1, 2] and all(o["ok"] for o in results),
          f"--repeat 2 json: results {results}")
    check({o["dial"] for o in objs if o["type"] == "event"} == {1, 2}, "--repeat 2 json: events not numbered 1, 2")
    for q in ("-q", "--quiet"):
        rc, out, err = run(*NS, q, "127.0.0.1", str(port))
        check(rc == 0 and out == "" and err == "", f"{q} connected: rc={rc} out={out!r} err={err!r}")
        rc, out, err = run(*NS, q, "127.0.0.1", str(closed_port()))
        check(rc == 1 and out == "" and err == "", f"{q} refused: rc={rc} out={out!r} err={err!r}")
    rc, out, err = run(*NS, "-v", "127.0.0.1", str(port))
    check(rc == 0 and "attempt_start ipv4 127.0.0.1" in out and out.splitlines()[-1].startswith("connected to "),
          f"-v: rc={rc} out={out!r}")
    listener.close()


def files():
    listener = working()
    port = str(listener.getsockname()[1])
    with tempfile.TemporaryDirectory() as tmp:
        hosts = os.path.join(tmp, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 files.heyes.test\nnot-an-address bad.heyes.test\n")
        conf = os.path.join(tmp, "resolv.conf")
        with open(conf, "w") as f:
            f.write("nameserver bogus\n")
        # Each file's warning once, also over two dials.
        rc, out, err = run(*NS, "--hosts", hosts, "--resolv-conf", conf, "--repeat", "2", "files.heyes.test", port)
        lines = err.splitlines()
        check(rc == 0 and len(lines) == 2 and all(line.startswith("heyes-connect: warning: ") for line in lines)
              and sum(f"{hosts}:2" in line for line in lines) == 1 and sum(f"{conf}:1" in line for line in lines) == 1,
              f"warnings once: rc={rc} err={err!r}")
        # Unreadable files: one style, the reason.
        for option, path, reason in (("--hosts", os.path.join(tmp, "none"), "No such file or directory"),
                                     ("--resolv-conf", os.path.join(tmp, "none"), "No such file or directory"),
                                     ("--resolv-conf", tmp, "Is a directory"),
                                     ("--policy", os.path.join(tmp, "none"), "No such file or directory")):
            rc, out, err = run(*NS, option, path, "127.0.0.1", port)
            want = f"heyes-connect: option '{option}': {path}: cannot read file: {reason}\n"
            check(rc == 2 and out == "" and err == want, f"unreadable {option} {path}: rc={rc} err={err!r} want {want!r}")
    listener.close()


def bad_input():
    ns_free = {"--demo"}
    cases = [
        (["--sort", "--timeout", "5", "::1"], "option '--timeout' does not apply to sort mode (try --help)"),
        (["--demo", "--hosts", "X"], "option '--hosts' does not apply to demo mode (try --help)"),
        (["--demo", "-4"], "option '-4' does not apply to demo mode (try --help)"),
        (["--source", "::1=::1", "127.0.0.1", "80"], "option '--source' does not apply to dial mode (try --help)"),
        (["-4", "-6", "127.0.0.1", "80"], "option '-6' conflicts with '-4'"),
        (["-q", "-v", "127.0.0.1", "80"], "option '-q' conflicts with '-v'"),
        (["-q", "--json", "127.0.0.1", "80"], "option '-q' conflicts with '--json'"),
        (["example.com"], "missing PORT"),
        (["a", "b", "c"], "unexpected operand 'c'"),
        (["[::1]"], "missing PORT"),
        (["[::1]x"], "operand '[::1]x': expected [V6]:PORT"),
        (["127.0.0.1:"], "empty PORT"),
        (["--nat64-prefix", "64:ff9b::/96", "--no-nat64", "127.0.0.1", "80"],
         "options '--nat64-prefix' and '--no-nat64' exclude each other"),
        (["--no-nat64", "--nat64-prefix", "64:ff9b::/96", "127.0.0.1", "80"],
         "options '--nat64-prefix' and '--no-nat64' exclude each other"),
        (["--demo", "--no-nat64"], "option '--no-nat64' does not apply to demo mode (try --help)"),
        (["--nat64-prefix", "2001:db8::/33", "127.0.0.1", "80"], NAT64_BAD_LENGTH),
        (["--nameserver", "::1:53", "127.0.0.1", "80"],
         "option '--nameserver': '::1:53' is ambiguous: write '[::1]:53' for port 53, or '[::1:53]' for the address"),
    ]
    for args, message in cases:
        prefix = [] if ns_free & set(args) or "--sort" in args else NS
        rc, out, err = run(*prefix, *args)
        want_out = [{"schema": 1, "type": "error", "error_code": "bad_input", "error": message}] if "--json" in args else []
        check(rc == 2 and lines_of(out) == want_out and err == f"heyes-connect: {message}\n",
              f"bad input {args}: rc={rc} out={out!r} err={err!r}, want {message!r}")
    # --nameserver with brackets, and a bare IPv6 without a port tail, are fine.
    for ns in ("[::1]:53", "2001:db8::53"):
        rc, out, err = run("--nameserver", ns, "-q", "127.0.0.1", str(closed_port()))
        check(rc == 1 and err == "", f"--nameserver {ns}: rc={rc} err={err!r}")
    # With --json an input error is also one JSON object on stdout.
    rc, out, err = run(*NS, "--json", "example.com")
    check(rc == 2 and err == "heyes-connect: missing PORT\n"
          and lines_of(out) == [{"schema": 1, "type": "error", "error_code": "bad_input", "error": "missing PORT"}],
          f"--json bad input: rc={rc} out={out!r} err={err!r}")


def resolve_option():
    """--resolve HOST:PORT:ADDR[,ADDR...]: those addresses for HOST PORT, no DNS; other ports resolve as usual."""
    listener = working()
    port = listener.getsockname()[1]
    try:
        # 127.0.0.3:P refuses (nothing listens there), 127.0.0.1:P accepts.
        rc, out, err = run(*NS, "--json", "--resolve", f"Staging.Example:{port}:127.0.0.3,127.0.0.1",
                           "staging.example", str(port))
        objs = [o for o in lines_of(out) if o.get("type") == "result"]
        events = objs[0]["events"] if objs else []
        check(rc == 0 and len(objs) == 1 and objs[0]["address"] == "127.0.0.1"
              and [e.get("address") for e in events if e["type"] == "attempt_start"] == ["127.0.0.3", "127.0.0.1"]
              and not any(e["type"] == "dns_query" for e in events),
              f"--resolve: rc={rc} out={out!r} err={err!r}")
        # Another port: the override does not apply, DNS is asked (a closed port: it fails, exit 1).
        rc, out, err = run(*NS, "-q", "--timeout", "3000", "--resolve", f"staging.example:{port + 1 if port < 65535 else 1}:127.0.0.1",
                           "staging.example", str(port))
        check(rc == 1, f"--resolve for another port: rc={rc} err={err!r}")
    finally:
        listener.close()
    for bad, why in (("x", "no PORT"), ("h:80", "no ADDR"), (":80:127.0.0.1", "no HOST"), ("h:0:127.0.0.1", "PORT must be a number from 1 to 65535"),
                     ("h:80:nope", "ADDR 'nope' is not an address"), ("bad..h:80:127.0.0.1", "bad HOST")):
        rc, out, err = run(*NS, "--resolve", bad, "127.0.0.1", "80")
        want = f"heyes-connect: option '--resolve': '{bad}': {why} (expected HOST:PORT:ADDR[,ADDR...])\n"
        check(rc == 2 and out == "" and err == want, f"--resolve {bad!r}: rc={rc} err={err!r}, want {want!r}")


def main():
    if not os.access(BIN, os.X_OK):
        print(f"FAIL: {BIN} is not an executable")
        return 1
    for part in (bad_input, json_lines, repeat_quiet_verbose, files, resolve_option, answer_sources, rcodes, signals):
        part()
    for f in failures:
        print("FAIL:", f)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


sys.exit(main())
