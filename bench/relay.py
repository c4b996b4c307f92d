#!/usr/bin/python3
"""Relay throughput and a large dead queue (docs/BENCHMARKS.md, "Outbound").

1. Relay: N messages (BENCH_RELAY_MESSAGES, 5,000) of BENCH_RELAY_LENGTH
   (4,096) bytes submitted over 20 connections, delivered to Postfix's
   smtp-sink on another loopback address; rate = messages per second from
   the first submission to the sink's acceptance of the last one.
   - Postel: submission (587, STARTTLS + AUTH), the sink found as the MX of
     sink.bench through a test DNS server (tests/e2e/dnsserver.py).
   - postel-dkim: the same with DKIM keys for the sender's domain
     (`postel dkim generate`, loaded by SIGHUP): every message gets an
     Ed25519 and an RSA-2048 signature when queued (issue 10's target:
     at most 10% slower than "postel").
   - Postfix 3.7 (Debian), a private instance (tests/e2e/postfixpeer.py,
     `postfix -c DIR`) relaying everything to the sink (relayhost
     [SINK]:25), submission over STARTTLS from mynetworks (no AUTH).
2. Dead queue: BENCH_DEAD_MESSAGES (100,000) messages to a domain whose MX
   refuses connections: Postel's RSS and CPU while they wait for their next
   retry, and the time of `postel queue list`.

Loopback only, every wait bounded, everything started is stopped. Run as
root (port 25 on 127.x addresses, Postfix). Prints a Markdown summary.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
os.environ.setdefault("POSTEL_BIN", os.path.join(ROOT, "build", "postel"))
LOAD_BIN = os.environ.get("BENCH_LOAD_BIN",
                          os.path.join(ROOT, "build", "bench", "smtp_load"))

import conftest  # noqa: E402
from dnsserver import DNSServer  # noqa: E402
from postfixpeer import PostfixPeer  # noqa: E402

N = int(os.environ.get("BENCH_RELAY_MESSAGES", "5000"))
LENGTH = int(os.environ.get("BENCH_RELAY_LENGTH", "4096"))
SESSIONS = int(os.environ.get("BENCH_RELAY_SESSIONS", "20"))
REPEAT = int(os.environ.get("BENCH_RELAY_REPEAT", "3"))
DEAD = int(os.environ.get("BENCH_DEAD_MESSAGES", "100000"))
TIMEOUT = float(os.environ.get("BENCH_RELAY_TIMEOUT", "600"))
NET = os.environ.get("BENCH_RELAY_NET", "127.77.0")
SINK_IP, POSTFIX_IP, DEAD_IP = NET + ".2", NET + ".3", NET + ".9"
SENDER = "alice@example.test"


def log(msg):
    print("relay-bench: %s" % msg, file=sys.stderr, flush=True)


class Sink:
    """smtp-sink on SINK_IP:25; counts messages by their dump files, kept
    in memory (/dev/shm) so that counting costs neither side any disk."""

    def __init__(self, ip):
        self.dir = tempfile.mkdtemp(prefix="relay-sink-",
                                    dir="/dev/shm" if os.path.isdir(
                                        "/dev/shm") else None)
        os.chmod(self.dir, 0o777)
        self.bogo = False
        if os.stat(self.dir).st_size == 40:
            probe = os.path.join(self.dir, "probe")
            open(probe, "w").close()
            self.bogo = os.stat(self.dir).st_size == 60
            os.unlink(probe)
        self.proc = subprocess.Popen(
            ["smtp-sink", "-u", "nobody", "-d",
             os.path.join(self.dir, "m."), "%s:25" % ip, "512"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)

    def count(self):
        # tmpfs gives a directory 20 bytes of size per entry (40 empty):
        # one stat instead of listing thousands of files every 10 ms,
        # which cost a tenth of the machine at 20,000 messages.
        if self.bogo:
            return (os.stat(self.dir).st_size - 40) // 20
        return sum(1 for _ in os.scandir(self.dir))

    def clear(self):
        for e in os.scandir(self.dir):
            os.unlink(e.path)

    def stop(self):
        self.proc.kill()
        self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def submit_all(host, port, n, length, login=None, tls=True, threads=20,
               to="r@sink.bench"):
    """n messages over `threads` connections from bench/smtp_load (C,
    one thread per connection: a client that costs the machine little,
    the same for both servers); returns the start time and the process."""
    cmd = [LOAD_BIN, "-s", str(threads), "-m", str(n), "-l", str(length),
           "-f", SENDER, "-t", to, "-T", str(int(TIMEOUT))]
    if tls:
        cmd.append("-S")
    if login:
        cmd += ["-a", "%s:%s" % login]
    cmd += [host, str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    return time.monotonic(), proc


def load_result(proc):
    """Waits for smtp_load; raises with its report unless all went in."""
    out, _ = proc.communicate(timeout=TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError("submission failed: %s" % out.strip())
    return out.strip()


def wait_sink(sink, n, t0, proc):
    deadline = t0 + TIMEOUT
    subs_done = None
    while sink.count() < n:
        if subs_done is None and proc.poll() is not None:
            subs_done = time.monotonic() - t0
            log("submissions done after %.1f s (%d at the sink): %s" %
                (subs_done, sink.count(), load_result(proc)))
        if time.monotonic() > deadline:
            raise RuntimeError("only %d of %d at the sink after %.0fs" %
                               (sink.count(), n, TIMEOUT))
        time.sleep(0.01)
    t1 = time.monotonic()
    if sink.bogo:
        # The directory size said so; the listing must agree.
        listed = sum(1 for _ in os.scandir(sink.dir))
        if listed < n:
            raise RuntimeError("sink holds %d files, not %d" % (listed, n))
    if subs_done is None:
        load_result(proc)
    return t1 - t0


def dkim_keys(srv):
    """Keys for the sender's domain, loaded by the running server."""
    import signal
    r = srv.cli("dkim", "generate", SENDER.split("@")[1])
    if r.returncode != 0:
        raise RuntimeError("dkim generate: %s" % r.stderr)
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while "event=dkim_keys domains=1" not in srv.stderr_text():
        if time.monotonic() > deadline:
            raise RuntimeError("the keys were not loaded")
        time.sleep(0.05)


def run_postel(sink, dns, dkim=False):
    srv = conftest.launch({"resolver": dns.resolver,
                           "dnssec_trust_anchor": "none",
                           "max_connections_per_ip": 1000,
                           "log_level": "info"})
    try:
        if dkim:
            dkim_keys(srv)
        host, port = srv.listen["submission"]
        c0 = proc_cpu(srv.proc.pid)
        t0, proc = submit_all(host, port, N, LENGTH,
                              login=(SENDER, srv.users[SENDER]),
                              threads=SESSIONS)
        secs = wait_sink(sink, N, t0, proc)
        text = srv.stderr_text()
        if dkim and ("event=dkim_unsigned" in text or
                     "event=dkim_sign" in text):
            raise RuntimeError("messages left unsigned")
        log("postel: %.1f s of CPU over %.1f s, %d connections to the "
            "sink, %d log lines" %
            (proc_cpu(srv.proc.pid) - c0, secs,
             text.count("event=smtpc_connect "), text.count("\n")))
        return secs
    finally:
        conftest.finish(srv)


def run_postfix(sink):
    peer = PostfixPeer(POSTFIX_IP, 25, domain="relay.bench", extra={
        "relayhost": "[%s]:25" % SINK_IP,
        "default_transport": "smtp",
        "relay_transport": "smtp",
        "smtpd_client_connection_rate_limit": "0",
        "default_process_limit": "200",
        "smtp_tls_security_level": "none",
    })
    peer.start()
    try:
        t0, proc = submit_all(POSTFIX_IP, 25, N, LENGTH, threads=SESSIONS)
        return wait_sink(sink, N, t0, proc)
    finally:
        peer.cleanup()


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_dead(dns):
    """DEAD messages for dead.bench (its MX refuses connections)."""
    srv = conftest.launch({"resolver": dns.resolver,
                           "dnssec_trust_anchor": "none",
                           "log_level": "info",
                           "max_connections_per_ip": 1000})
    try:
        host, port = srv.listen["submission"]
        t0, proc = submit_all(host, port, DEAD, 512,
                              login=(SENDER, srv.users[SENDER]),
                              threads=SESSIONS, to="r@dead.bench")
        load_result(proc)
        queued = time.monotonic() - t0
        # Every recipient tried once (one connection attempt, then the
        # dead-host cache) and waiting for retry_min: measure the wait.
        pid = srv.proc.pid
        deadline = time.monotonic() + TIMEOUT
        last, steady = -1, 0
        while steady < 3 and time.monotonic() < deadline:
            cpu = proc_cpu(pid)
            steady = steady + 1 if cpu - last < 0.05 else 0
            last = cpu
            time.sleep(1)
        c0, w0 = proc_cpu(pid), time.monotonic()
        time.sleep(20)
        c1, w1 = proc_cpu(pid), time.monotonic()
        rss = proc_rss_kb(pid)
        l0 = time.monotonic()
        out = srv.cli("queue", "list", timeout=600)
        list_s = time.monotonic() - l0
        summary = out.stdout.strip().splitlines()[-1]
        text = srv.stderr_text()
        return {"connects": text.count("event=remote_connect "),
                "deferred": text.count("status=deferred "),
                "queued_s": queued, "rss_kb": rss,
                "cpu_pct": 100.0 * (c1 - c0) / (w1 - w0),
                "list_s": list_s, "list_summary": summary}
    finally:
        conftest.finish(srv)


def main():
    if os.geteuid() != 0:
        sys.exit("relay bench: run as root (port 25 on loopback "
                 "addresses, Postfix)")
    zones = {"sink.bench": {"MX": [(10, "mx.sink.bench")]},
             "mx.sink.bench": {"A": [SINK_IP]},
             "dead.bench": {"MX": [(10, "mx.dead.bench")]},
             "mx.dead.bench": {"A": [DEAD_IP]}}
    dns = DNSServer(zones).start()
    sink = Sink(SINK_IP)
    res, runs = {}, {}
    targets = os.environ.get("BENCH_RELAY_TARGETS", "postel postfix").split()
    try:
        # Interleaved, REPEAT times each: the median of each.
        for r in range(REPEAT):
            for what in targets:
                sink.clear()
                log("%s run %d: %d messages of %d bytes, %d sessions" %
                    (what, r + 1, N, LENGTH, SESSIONS))
                if what.startswith("postel"):
                    secs = run_postel(sink, dns, dkim=what == "postel-dkim")
                else:
                    secs = run_postfix(sink)
                runs.setdefault(what, []).append(N / secs)
                log("%s: %.0f msg/s (%.1f s)" % (what, N / secs, secs))
        for what, rates in runs.items():
            res[what] = sorted(rates)[len(rates) // 2]
        if DEAD > 0:
            log("dead queue: %d messages" % DEAD)
            res["dead"] = run_dead(dns)
    finally:
        sink.stop()
        dns.stop()
    print("| Relay, %d x %d B, %d sessions | msg/s, median of %d |" %
          (N, LENGTH, SESSIONS, REPEAT))
    print("|---|---:|")
    for k in ("postel", "postel-dkim", "postfix"):
        if k in res:
            print("| %s | %.0f (runs: %s) |" % (
                k, res[k], ", ".join("%.0f" % x for x in runs[k])))
    if "postel" in res and "postel-dkim" in res:
        print("\nDKIM signing costs %.1f%% of the relay rate" %
              (100.0 * (1 - res["postel-dkim"] / res["postel"])))
    if "postel" in res and "postfix" in res:
        print("\nPostel / Postfix: %.2fx" % (res["postel"] / res["postfix"]))
    if "dead" in res:
        d = res["dead"]
        print("\n%d messages for an unreachable domain (queued in %.0f s): "
              "RSS %.1f MB, CPU while waiting %.2f%%, `queue list` %.2f s "
              "(%s); %d deferrals logged, %d connection attempts" %
              (DEAD, d["queued_s"], d["rss_kb"] / 1024.0, d["cpu_pct"],
               d["list_s"], d["list_summary"], d["deferred"],
               d["connects"]))
    print("\ncommand: BENCH_RELAY_MESSAGES=%d BENCH_DEAD_MESSAGES=%d "
          "BENCH_RELAY_TARGETS=\"%s\" bash bench/relay.sh" %
          (N, DEAD, " ".join(targets)))


if __name__ == "__main__":
    main()
