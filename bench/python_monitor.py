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

With --runbook the loop is the runbook's monitor instead, with its libraries (Debian's
python3-requests, python3-psycopg2, python3-redis) and its way of using them; each line
of the checks file is one of its checks (written here from what the runbook's checks do):
  process NAME   `pgrep -f NAME` in a subprocess (its CPU is counted: RUSAGE_CHILDREN)
  tcp PORT       socket connect_ex, close
  http PORT      requests.get(/health), status 200
  postgres PORT  psycopg2.connect() per check, SELECT 1, pg_is_in_recovery(), the replay
                 lag query on a standby, close
  redis PORT     a new StrictRedis per check: PING, INFO memory, used/max ratio
  trading PORT   a new StrictRedis: GET trading:enabled, last_order_timestamp,
                 active_order_count
  market PORT    a new StrictRedis: GET last_market_update, fresher than 5 s
  e2e PORT       requests.post() of the dry-run order, only every 10th tick (as the runbook)
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


def runbook_checks(pg_user):
    """The runbook monitor's checks; imported only in --runbook mode."""
    import subprocess
    import psycopg2
    import redis
    import requests

    def process(name, timeout):
        if subprocess.run(["pgrep", "-f", name], capture_output=True, timeout=1).returncode != 0:
            raise RuntimeError("not running")

    def tcp(port, timeout):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            if s.connect_ex(("127.0.0.1", port)) != 0:
                raise RuntimeError("closed")

    def http(port, timeout):
        t = time.time()
        r = requests.get(f"http://127.0.0.1:{port}/health", timeout=timeout)
        if r.status_code != 200 or (time.time() - t) > 1.0:
            raise RuntimeError("status")

    def postgres(port, timeout):
        t = time.time()
        conn = psycopg2.connect(host="127.0.0.1", port=port, dbname="postgres", user=pg_user,
                                connect_timeout=3)
        try:
            cur = conn.cursor()
            cur.execute("SELECT 1;")
            cur.fetchone()
            latency = time.time() - t
            cur.execute("SELECT pg_is_in_recovery();")
            if cur.fetchone()[0]:
                cur.execute("SELECT EXTRACT(EPOCH FROM (NOW() - pg_last_xact_replay_timestamp()));")
                lag = cur.fetchone()[0]
                if lag and lag > 10:
                    raise RuntimeError("lag")
        finally:
            conn.close()
        if latency > 0.1:
            raise RuntimeError("slow")

    def client(port):
        return redis.StrictRedis(host="127.0.0.1", port=port, db=0)

    def redis_check(port, timeout):
        r = client(port)
        t = time.time()
        r.ping()
        latency = time.time() - t
        info = r.info("memory")
        maxmemory = info.get("maxmemory", 0)
        if maxmemory > 0 and info["used_memory"] / maxmemory > 0.95:
            raise RuntimeError("memory")
        if latency > 0.01:
            raise RuntimeError("slow")

    def trading(port, timeout):
        r = client(port)
        enabled = r.get("trading:enabled")
        if not enabled or enabled.decode() != "true":
            raise RuntimeError("disabled")
        last = r.get("last_order_timestamp")
        if last:
            float(last.decode())  # the engine stand-in writes fractional seconds
        active = r.get("active_order_count")
        if active:
            int(active.decode())

    def market(port, timeout):
        last = client(port).get("last_market_update")
        if not last or time.time() - float(last.decode()) > 5:
            raise RuntimeError("stale")

    def e2e(port, timeout):
        r = requests.post(f"http://127.0.0.1:{port}/api/orders/test",
                          json={"symbol": "TEST", "quantity": 1, "side": "BUY", "type": "LIMIT",
                                "price": 100.0, "dry_run": True}, timeout=5)
        if r.status_code != 200:
            raise RuntimeError("rejected")

    return {"process": process, "tcp": tcp, "http": http, "postgres": postgres,
            "redis": redis_check, "trading": trading, "market": market, "e2e": e2e}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checks-file", required=True, help="lines of KIND PORT")
    ap.add_argument("--interval-ms", type=int, default=1000)
    ap.add_argument("--timeout-ms", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--pg-user", default="postgres")
    ap.add_argument("--runbook", action="store_true", help="the runbook monitor's checks")
    a = ap.parse_args()
    kinds = {"tcp": tcp_check, "http": http_check,
             "postgres": lambda port, timeout: postgres_check(port, timeout, a.pg_user)}
    if a.runbook:
        kinds = runbook_checks(a.pg_user)
    checks = []
    with open(a.checks_file) as f:
        for line in f:
            kind, arg = line.split()
            checks.append((kind, arg if kind == "process" else int(arg)))
    timeout, interval = a.timeout_ms / 1000.0, a.interval_ms / 1000.0
    start = time.monotonic()
    tick, done, failed, ticks = start, 0, 0, 0
    reasons = {}
    while time.monotonic() - start < a.seconds:
        for kind, arg in checks:
            if kind == "e2e" and ticks % 10 != 0:
                continue
            try:
                kinds[kind](arg, timeout)
            except Exception as e:  # noqa: BLE001 - a failed check of any kind, as the runbook
                failed += 1
                why = f"{kind}: {type(e).__name__}"
                reasons[why] = reasons.get(why, 0) + 1
            done += 1
        ticks += 1
        tick += interval
        delay = tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            tick = time.monotonic()
    wall = time.monotonic() - start
    u = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"checks": done, "failed": failed, "cpu_s": u.ru_utime + u.ru_stime,
                      "children_cpu_s": c.ru_utime + c.ru_stime, "wall_s": wall,
                      "failures": reasons}))


if __name__ == "__main__":
    main()
