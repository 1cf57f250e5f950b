#!/usr/bin/env python3
"""A blocking Python health-check loop, the shape of the runbook's monitor, for bench_probe_scale.

What it does, exactly: every --interval-ms it runs each check of --checks-file once, one after
the other in one thread, then sleeps until the next tick (a tick it overran starts at once).
Checks, with plain sockets from the standard library (the runbook's requests/psycopg2 are not
installed here; their own overhead would only add to Python's cost):
  tcp PORT       connect to 127.0.0.1:PORT, close
  http PORT      connect, "GET /health HTTP/1.1", read the status line and body, close
                 (a new connection per check, as requests.get() without a session does)
  postgres PORT  a new connection per check (as the runbook's psycopg2.connect() does):
                 startup message (trust authentication), "SELECT 1",
                 "SELECT pg_is_in_recovery()", terminate
Each check has a --timeout-ms socket timeout. It stops after --seconds and prints one line of
JSON: checks run, failures, CPU seconds (user + system of this process) and wall seconds.
"""
import argparse
import json
import resource
import socket
import struct
import time


def tcp_check(port, timeout):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout):
        pass


def http_check(port, timeout):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        if not data.startswith(b"HTTP/1.") or data[9:12] != b"200":
            raise RuntimeError("status " + data[:12].decode(errors="replace"))


def pg_messages(s, buf):
    """Yields (type, body) of backend messages until ReadyForQuery."""
    while True:
        while len(buf) < 5:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed")
            buf += chunk
        kind, length = buf[0:1], struct.unpack("!I", buf[1:5])[0]
        while len(buf) < 1 + length:
            buf += s.recv(65536)
        body, buf = buf[5:1 + length], buf[1 + length:]
        if kind == b"E":
            raise RuntimeError("server error")
        if kind == b"R" and struct.unpack("!I", body[:4])[0] != 0:
            raise RuntimeError("authentication other than trust requested")
        yield kind, body
        if kind == b"Z":
            return


def pg_query(s, sql):
    text = sql.encode() + b"\0"
    s.sendall(b"Q" + struct.pack("!I", 4 + len(text)) + text)
    return [body for kind, body in pg_messages(s, b"") if kind == b"D"]


def postgres_check(port, timeout, user):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        params = b"user\0" + user.encode() + b"\0database\0postgres\0\0"
        s.sendall(struct.pack("!II", 8 + len(params), 196608) + params)
        for _ in pg_messages(s, b""):
            pass
        pg_query(s, "SELECT 1")
        pg_query(s, "SELECT pg_is_in_recovery()")
        s.sendall(b"X\0\0\0\4")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checks-file", required=True, help="lines of KIND PORT")
    ap.add_argument("--interval-ms", type=int, default=1000)
    ap.add_argument("--timeout-ms", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--pg-user", default="postgres")
    a = ap.parse_args()
    kinds = {"tcp": tcp_check, "http": http_check, "postgres": postgres_check}
    checks = []
    with open(a.checks_file) as f:
        for line in f:
            kind, port = line.split()
            checks.append((kind, int(port)))
    timeout, interval = a.timeout_ms / 1000.0, a.interval_ms / 1000.0
    start = time.monotonic()
    tick, done, failed = start, 0, 0
    while time.monotonic() - start < a.seconds:
        for kind, port in checks:
            try:
                if kind == "postgres":
                    postgres_check(port, timeout, a.pg_user)
                else:
                    kinds[kind](port, timeout)
            except (OSError, RuntimeError):
                failed += 1
            done += 1
        tick += interval
        delay = tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            tick = time.monotonic()
    wall = time.monotonic() - start
    u = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"checks": done, "failed": failed, "cpu_s": u.ru_utime + u.ru_stime,
                      "wall_s": wall}))


if __name__ == "__main__":
    main()
