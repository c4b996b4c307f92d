#!/usr/bin/python3
"""Login storm: 200 parallel wrong-password loops over IMAPS (from several
127.x source addresses) while one client logs in again and again with a
password the verified-login cache remembers. Prints that client's LOGIN
latency (command sent -> tagged OK; the TLS handshake is not included):
p50, p99, max, and the command line. The client logs in on a fresh
connection every 20 ms or so for --seconds (at most --samples logins).

The server runs with auth_block_failures = 0 and auth_fail_delay_ms = 0 by
default, the worst case for the hashing pool: no guesser is ever blocked or
slowed, so every guess costs a yescrypt hash (or a "busy" answer once
auth_queue_max logins wait). --defaults keeps the shipped throttle instead.

Usage: /usr/bin/python3 bench/login_storm.py [--attackers 200]
       [--addresses 20] [--seconds 20] [--samples 2000] [--bin build/postel]
       [--defaults] [--legacy]
--legacy writes only config keys that builds before the throttle know (to
measure an older binary for comparison).

Every loop is bounded in time and count; the server is the only process
started and is stopped (by its pid) at the end.
"""

import argparse
import asyncio
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER, PASSWORD = "storm@bench.test", "storm-Secret-1"
GOOD_SRC = "127.0.0.2"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(args, datadir):
    port = free_port()
    conf = os.path.join(datadir, "postel.conf")
    keys = {
        "hostname": "mail.bench.test",
        "log_level": "warn",
        "max_connections": 20000,
        "max_connections_per_ip": 20000,
        "max_auth_failures": 1000,
        "auth_fail_delay_ms": 0,
    }
    if not args.legacy and not args.defaults:
        keys["auth_block_failures"] = 0
    if args.defaults:
        keys.pop("auth_fail_delay_ms")
    with open(conf, "w") as f:
        for k, v in keys.items():
            f.write("%s = %s\n" % (k, v))
    os.chmod(datadir, 0o755)
    os.chmod(conf, 0o644)
    if os.geteuid() == 0:
        # As root, postel takes over only a data dir it creates or one
        # that is already its user's (docs/CONFIG.md, data_dir).
        shutil.chown(datadir, "postel", "postel")
    base = [args.bin, "--data", datadir, "--config", conf]
    for cmd in (["domain", "add", "bench.test"],
                ["user", "add", USER, "--password-stdin"]):
        subprocess.run(base + cmd, input=PASSWORD + "\n", text=True,
                       check=True, capture_output=True, timeout=60)
    log = open(os.path.join(datadir, "stderr.log"), "wb")
    proc = subprocess.Popen(base + ["serve", "--listen",
                                    "imaps=127.0.0.1:%d" % port],
                            stdout=subprocess.PIPE, stderr=log,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if b"ready" in line or not line:
            break
    if proc.poll() is not None:
        raise SystemExit("postel serve exited: see %s/stderr.log" % datadir)
    return proc, port


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def tagged(reader, tag, timeout):
    for _ in range(100):
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line:
            return b""
        if line.startswith(tag + b" "):
            return line
    return b""


async def attacker(i, port, src, stop_at, counts):
    """One wrong-password loop; reconnects when the server hangs up."""
    n = 0
    await asyncio.sleep(i * 0.01)  # a 2 s ramp: no burst of handshakes
    while time.monotonic() < stop_at and n < 100000:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", port, ssl=tls_ctx(), local_addr=(src, 0)), 30)
        except (OSError, asyncio.TimeoutError):
            counts["connect_err"] += 1
            await asyncio.sleep(0.1)
            continue
        try:
            await asyncio.wait_for(r.readline(), 10)
            while time.monotonic() < stop_at and n < 100000:
                n += 1
                w.write(b'x LOGIN "%s" "guess-%d-%d"\r\n'
                        % (USER.encode(), i, n))
                line = await tagged(r, b"x", 30)
                if not line:
                    break
                key = ("busy" if b"[UNAVAILABLE]" in line else
                       "fail" if b" NO " in line else "other")
                counts[key] += 1
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            counts["io_err"] += 1
        finally:
            w.close()


async def storm(args, port):
    stop_at = time.monotonic() + args.seconds + 5
    counts = {"fail": 0, "busy": 0, "other": 0, "io_err": 0,
              "connect_err": 0}
    tasks = [asyncio.create_task(attacker(
        i, port, "127.0.3.%d" % (i % args.addresses + 1), stop_at, counts))
        for i in range(args.attackers)]
    await asyncio.sleep(3)  # let the backlog build before measuring
    measure = await asyncio.create_subprocess_exec(
        sys.executable, os.path.abspath(__file__), "--measure", str(port),
        "--seconds", str(args.seconds), "--samples", str(args.samples),
        stdout=asyncio.subprocess.PIPE)
    out, _ = await measure.communicate()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return out.decode(), counts


def measure_one(ctx, port):
    """One fresh connection, one LOGIN: (ok, ms from LOGIN to its reply)."""
    s = socket.create_connection(("127.0.0.1", port), 60,
                                 source_address=(GOOD_SRC, 0))
    s = ctx.wrap_socket(s)
    f = s.makefile("rb")
    try:
        f.readline()
        t0 = time.monotonic()
        s.sendall(b'a LOGIN "%s" "%s"\r\n' % (USER.encode(),
                                               PASSWORD.encode()))
        line = f.readline()
        while line and not line.startswith(b"a "):
            line = f.readline()
        ms = (time.monotonic() - t0) * 1000
        s.sendall(b"b LOGOUT\r\n")
        return line.startswith(b"a OK"), ms
    finally:
        f.close()
        s.close()


def measure(port, seconds, samples):
    """Runs in its own process so the attackers' event loop cannot delay
    its clock."""
    lat, bad = [], 0
    stop_at = time.monotonic() + seconds
    ctx = tls_ctx()
    while time.monotonic() < stop_at and len(lat) + bad < samples:
        try:
            ok, ms = measure_one(ctx, port)
        except (OSError, ssl.SSLError):
            ok, ms = False, 0
        if ok:
            lat.append(ms)
        else:
            bad += 1
        time.sleep(0.02)  # a steady client, not a second storm
    lat.sort()
    if not lat:
        print("no successful logins (%d refused)" % bad)
        return
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print("cached logins: %d ok, %d refused; latency ms p50 %.1f p99 %.1f "
          "max %.1f mean %.1f" % (len(lat), bad, p(0.50), p(0.99), lat[-1],
                                  statistics.mean(lat)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attackers", type=int, default=200)
    ap.add_argument("--addresses", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "postel"))
    ap.add_argument("--defaults", action="store_true")
    ap.add_argument("--legacy", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="keep the data directory (server log) and say where")
    ap.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(args.measure, args.seconds, args.samples)
        return
    datadir = tempfile.mkdtemp(prefix="postel-storm-")
    proc = None
    try:
        proc, port = start_server(args, datadir)
        measure_warm = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--measure",
             str(port), "--seconds", "5", "--samples", "3"],
            capture_output=True, text=True, timeout=60)
        print("warm-up (fills the cache): " + measure_warm.stdout.strip())
        out, counts = asyncio.run(storm(args, port))
        print("command: /usr/bin/python3 bench/login_storm.py " +
              " ".join(sys.argv[1:]))
        print("attackers: %d loops from %d addresses; replies: %s" %
              (args.attackers, args.addresses, counts))
        print(out.strip())
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if args.keep:
            print("data directory and log kept: %s" % datadir)
        else:
            shutil.rmtree(datadir, ignore_errors=True)


if __name__ == "__main__":
    main()
