"""ARC and SRS cost on port 25 (issue 10): messages per second into one
mailbox, 4 KB bodies, for the same message plain and carrying a one-set
ARC chain (sealed once by dkimpy; Postel verifies it for every message:
body hash, two RSA-2048 signatures, keys from the DNS cache); then the
same message to an alias that forwards it elsewhere (queue_delivery = no:
rows queued, nothing sent) with ARC sealing and SRS on, and with both
off. Besides the rate, the server's CPU time per message (from
/proc/PID/stat), which a busy machine disturbs less than the rate.

    /usr/bin/python3 bench/arc_ingest.py [-m MESSAGES] [-p PROCESSES]

Runs build/postel (release), as root on loopback, with the loopback DNS
server of the tests. Prints one line per case and the exact command.
"""

import argparse
import multiprocessing
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import dkim  # noqa: E402
import dnsserver  # noqa: E402
from dkimutil import rsa_key, txt_strings  # noqa: E402

BIN = os.path.join(ROOT, "build", "postel")
BODY = "".join("line %03d of the body, padding to about four kilobytes.\r\n"
               % i for i in range(70))


def message(arc_pem=None):
    msg = ("From: author@orig.test\r\nTo: u1@bench.test\r\n"
           "Subject: bench\r\nMessage-ID: <b@orig.test>\r\n"
           "Date: Mon, 07 Dec 2026 06:00:00 +0000\r\n\r\n" + BODY).encode()
    if arc_pem is None:
        return msg
    msg = (b"Authentication-Results: lists.test; spf=pass "
           b"smtp.mailfrom=author@orig.test\r\n") + msg
    return b"".join(dkim.arc_sign(msg, b"arc", b"lists.test", arc_pem,
                                  b"lists.test")) + msg


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sender(args):
    port, n, rcpt, msg = args
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.ehlo("load.bench.test")
    for _ in range(n):
        s.sendmail("list@orig.test", [rcpt], msg)
    s.quit()


def run(port, rcpt, msg, total, procs):
    per = total // procs
    t0 = time.monotonic()
    with multiprocessing.Pool(procs) as pool:
        pool.map(sender, [(port, per, rcpt, msg)] * procs)
    return per * procs / (time.monotonic() - t0)


def cpu_seconds(pid):
    """The process's user + system CPU time (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(d, resolver, extra):
    conf = os.path.join(d, "postel.conf")
    with open(conf, "w") as f:
        f.write("hostname = mail.bench.test\nlog_level = info\n"
                "resolver = %s\ndnssec_trust_anchor = none\n"
                "queue_delivery = no\n%s" % (resolver, extra))
    data = os.path.join(d, "data")
    os.mkdir(data)
    if os.geteuid() == 0:
        shutil.chown(data, "postel", "postel")
    cli = [BIN, "--data", data, "--config", conf]
    subprocess.run(cli + ["domain", "add", "bench.test"], check=True,
                   capture_output=True)
    subprocess.run(cli + ["user", "add", "u1@bench.test",
                          "--password-stdin"], input=b"bench-pass\n",
                   check=True, capture_output=True)
    subprocess.run(cli + ["alias", "add", "fwd@bench.test", "r@peer.test"],
                   check=True, capture_output=True)
    subprocess.run(cli + ["dkim", "generate", "bench.test"], check=True,
                   capture_output=True)
    port = free_port()
    log = open(os.path.join(d, "postel.log"), "w")
    p = subprocess.Popen(cli + ["serve", "--listen",
                                "smtp=127.0.0.1:%d" % port],
                         stdout=subprocess.PIPE, stderr=log)
    for _ in range(20):  # bounded: "postel: ready" comes within a few
        if b"ready" in p.stdout.readline():
            return p, port
    raise RuntimeError("postel did not start (see %s)" % d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", type=int, default=4000)
    ap.add_argument("-p", type=int, default=8)
    a = ap.parse_args()
    pem, txt = rsa_key()
    dnsserver.TTL = 3600
    dns = dnsserver.DNSServer({
        "arc._domainkey.lists.test": {"TXT": [txt_strings(txt)]},
        "orig.test": {"TXT": ["v=spf1 ip4:127.0.0.0/8 -all"]},
        "load.bench.test": {"A": ["127.0.0.1"]},
    }).start()
    plain, sealed = message(), message(pem)
    print("command: /usr/bin/python3 bench/arc_ingest.py -m %d -p %d "
          "(%d messages, %d sessions, %d-byte body)"
          % (a.m, a.p, a.m, a.p, len(BODY)))
    cases = [
        ("inbound, no ARC fields", "", "u1@bench.test", plain),
        ("inbound, one-set ARC chain verified", "", "u1@bench.test",
         sealed),
        ("inbound with a chain, arc = no", "arc = no\n", "u1@bench.test",
         sealed),
        ("forward: ARC seal + SRS", "", "fwd@bench.test", sealed),
        ("forward: arc = no, srs = no", "arc = no\nsrs = no\n",
         "fwd@bench.test", sealed),
    ]
    for name, extra, rcpt, msg in cases:
        d = tempfile.mkdtemp(prefix="postel-arc-bench-")
        os.chmod(d, 0o755)
        p, port = serve(d, dns.resolver, extra)
        try:
            run(port, rcpt, msg, a.p * 20, a.p)  # warm the caches
            cpu0 = cpu_seconds(p.pid)
            rate = run(port, rcpt, msg, a.m, a.p)
            cpu = (cpu_seconds(p.pid) - cpu0) / a.m * 1e6
            print("%-40s %8.0f msg/s %8.0f us server CPU/msg"
                  % (name, rate, cpu))
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)
            shutil.rmtree(d, ignore_errors=True)
    dns.stop()


if __name__ == "__main__":
    main()
