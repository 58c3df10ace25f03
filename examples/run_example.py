#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Runs one README example against loopback only: a test DNS server and TCP listeners it starts itself.
"""run_example.py [--test-dns PATH] [--expect TEXT]... [--status N] -- EXAMPLE ARG...

Starts heyes-test-dns on 127.0.0.1 (demo.test: AAAA ::1, A 127.0.0.1; only
with --test-dns, which {dns} needs) and
accepting TCP listeners on 127.0.0.1:P and [::1]:P, then runs the example
with {port}, {closed_port} and {dns} in its arguments replaced. Passes when
the exit status is N (default 0) and every TEXT appears in the output.
--aaaa-delay MS delays the AAAA answer (A then arrives first).
Never contacts anything but loopback. Exit 77 when an argument needs ::1
and the host has no IPv6 loopback.
"""

import argparse
import socket
import subprocess
import sys
import threading

SKIP = 77
RUN_TIMEOUT = 30  # s


def listen(family, address, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((address, port))
    s.listen(16)
    return s


def open_listeners():
    """Accepting listeners on 127.0.0.1:P and (when possible) [::1]:P, same P."""
    for _ in range(20):  # bounded: [::1]:P may be taken
        v4 = listen(socket.AF_INET, "127.0.0.1", 0)
        port = v4.getsockname()[1]
        try:
            return [v4, listen(socket.AF_INET6, "::1", port)], port, True
        except OSError:
            v4.close()
    return [listen(socket.AF_INET, "127.0.0.1", 0)], None, False


def accept_forever(sock):
    while True:
        try:
            conn, _ = sock.accept()
            conn.close()
        except OSError:
            return


def closed_port():
    """A port with nothing listening on 127.0.0.1 (a connect there is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--test-dns")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--aaaa-delay", type=int, default=0, help="delay the AAAA answer (ms)")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    opts = ap.parse_args()
    command = opts.command[1:] if opts.command[:1] == ["--"] else opts.command

    socks, port, have_v6 = open_listeners()
    if port is None:
        port = socks[0].getsockname()[1]
    if not have_v6 and any("::1" in a for a in command):
        print("SKIP: no IPv6 loopback on this host")
        return SKIP
    for s in socks:
        threading.Thread(target=accept_forever, args=(s,), daemon=True).start()

    if opts.test_dns is None and any("{dns}" in a for a in command):
        print("FAIL: {dns} in the arguments needs --test-dns")
        return 1
    dns = None
    if opts.test_dns is not None:
        dns = subprocess.Popen([opts.test_dns, "--listen", "127.0.0.1:0", "--lifetime", str(RUN_TIMEOUT * 2),
                                "--record", "demo.test", "AAAA", "::1", "--record", "demo.test", "A", "127.0.0.1",
                                "--delay", "demo.test", "AAAA", str(opts.aaaa_delay)],
                               stdout=subprocess.PIPE, text=True)
    try:
        values = {"port": str(port), "closed_port": str(closed_port())}
        if dns is not None:
            line = dns.stdout.readline().split()  # "listening 127.0.0.1:PORT"
            if len(line) != 2 or line[0] != "listening":
                print(f"FAIL: heyes-test-dns did not start: {line}")
                return 1
            values["dns"] = line[1]
        command = [a.format(**values) for a in command]
        print("$", " ".join(command), flush=True)
        r = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        print(r.stdout + r.stderr, end="")
        missing = [t for t in opts.expect if t not in r.stdout]
        if r.returncode != opts.status or missing:
            print(f"FAIL: exit {r.returncode} (want {opts.status}), missing in output: {missing}")
            return 1
        return 0
    finally:
        if dns is not None:
            dns.terminate()
            dns.wait(timeout=5)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            except OSError:
                pass
            s.close()


if __name__ == "__main__":
    sys.exit(main())
