"""Inbound DKIM/DMARC cost: the SMTP ingest rate of 4 KB messages on
port 25, DKIM-signed (rsa-sha256, 2048 bits, signed by dkimpy) against the
same message unsigned, with DKIM and DMARC on (the default), and unsigned
with `dmarc = no` for reference. The key, SPF and DMARC records are served
by the loopback test DNS server (TTL 3600: answers cached after the first
message). The issue's target: signed >= 80% of the unsigned rate.

    make build/postel
    /usr/bin/python3 bench/dkim_ingest.py [MESSAGES] [ROUNDS]

Rounds alternate the variants; the median rate of each is printed, and
the server's CPU time per message (/proc/PID/stat, all threads), which a
busy shared machine disturbs far less than the rate. Every
wait is bounded (smtp_load -T, the server's start and stop timeouts).
"""

import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("POSTEL_BIN", os.path.join(ROOT, "build", "postel"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import dnsserver  # noqa: E402
from conftest import Server  # noqa: E402
from dkimutil import dkimpy_sign, rsa_key, txt_strings  # noqa: E402

DOMAIN = "bench.test"
RCPT = "u1@" + DOMAIN
SESSIONS = 20
LOAD_TIMEOUT = 300


def message():
    body = "".join("x" * 78 + "\r\n" for _ in range(4096 // 80))
    return ("From: News <news@%s>\r\nTo: %s\r\nSubject: bench\r\n"
            "Date: Mon, 07 Dec 2026 06:00:00 +0000\r\n"
            "Message-ID: <bench@%s>\r\n\r\n%s" %
            (DOMAIN, RCPT, DOMAIN, body)).encode()


def build_load(tmp):
    exe = os.path.join(tmp, "smtp_load")
    subprocess.run(["cc", "-std=c17", "-D_GNU_SOURCE", "-O2", "-pthread",
                    "-I", os.path.join(ROOT, "bench"), "-o", exe,
                    os.path.join(ROOT, "bench", "smtp_load.c"),
                    "-lssl", "-lcrypto"], check=True)
    return exe


def cpu_seconds(pid):
    """User + system CPU time of a process (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(exe, srv, path, n):
    out = subprocess.run([exe, "-s", str(SESSIONS), "-m", str(n),
                          "-T", str(LOAD_TIMEOUT), "-F", path,
                          "-f", "sender@" + DOMAIN, "-t", RCPT,
                          "127.0.0.1", str(srv.ports["smtp"])],
                         capture_output=True, text=True,
                         timeout=LOAD_TIMEOUT + 30)
    if out.returncode != 0:
        raise SystemExit("smtp_load failed: " + out.stdout + out.stderr)
    # "... rate=1234.5/s ..." (smtp_load's report line)
    for tok in out.stdout.split():
        if tok.startswith("rate="):
            return float(tok[5:].rstrip("/s").replace("msg", ""))
    raise SystemExit("no rate in: " + out.stdout)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    tmp = tempfile.mkdtemp(prefix="postel-dkim-bench-")
    exe = build_load(tmp)
    key = rsa_key(2048)
    msg = message()
    files = {"unsigned": os.path.join(tmp, "unsigned.eml"),
             "signed": os.path.join(tmp, "signed.eml")}
    with open(files["unsigned"], "wb") as f:
        f.write(msg)
    with open(files["signed"], "wb") as f:
        f.write(dkimpy_sign(msg, "sel", DOMAIN, key[0]) + msg)
    dnsserver.TTL = 3600
    dns = dnsserver.DNSServer({
        DOMAIN: {"TXT": ["v=spf1 ip4:127.0.0.0/8 -all"]},
        "sel._domainkey." + DOMAIN: {"TXT": [txt_strings(key[1])]},
        "_dmarc." + DOMAIN: {"TXT": ["v=DMARC1; p=reject"]},
    }).start()
    variants = [("signed", files["signed"], "yes"),
                ("unsigned", files["unsigned"], "yes"),
                ("unsigned, dmarc = no", files["unsigned"], "no")]
    rates = {v[0]: [] for v in variants}
    cpus = {v[0]: [] for v in variants}
    try:
        for r in range(rounds):
            for name, path, dmarc in variants:
                srv = Server(config={"resolver": dns.resolver,
                                     "dnssec_trust_anchor": "none",
                                     "dmarc": dmarc},
                             users={RCPT: "bench-Secret-1"},
                             domains=[DOMAIN])
                try:
                    srv.provision()
                    srv.start()
                    cpu0 = cpu_seconds(srv.proc.pid)
                    rate = run_load(exe, srv, path, n)
                    cpu = (cpu_seconds(srv.proc.pid) - cpu0) / n * 1e6
                    srv.stop()
                    # Every signed message really verified (the log).
                    dkim_pass = srv.stderr_text().count(
                        "event=dkim") and srv.stderr_text().count(
                        "result=pass d=" + DOMAIN)
                    if name == "signed" and dkim_pass < n:
                        raise SystemExit("only %d dkim=pass" % dkim_pass)
                finally:
                    srv.stop()
                    srv.cleanup()
                rates[name].append(rate)
                cpus[name].append(cpu)
                print("round %d %-22s %8.1f msg/s %6.0f us CPU/msg" %
                      (r + 1, name, rate, cpu), flush=True)
    finally:
        dns.stop()
    med = {k: statistics.median(v) for k, v in rates.items()}
    mcpu = {k: statistics.median(v) for k, v in cpus.items()}
    print("\n%d x 4 KB, %d sessions, medians of %d rounds:" %
          (n, SESSIONS, rounds))
    for k, v in med.items():
        print("  %-22s %8.1f msg/s %6.0f us CPU/msg" % (k, v, mcpu[k]))
    print("  signed / unsigned: rate %.1f%%, CPU per message %.1f%%" %
          (100.0 * med["signed"] / med["unsigned"],
           100.0 * mcpu["signed"] / mcpu["unsigned"]))
    print("command: /usr/bin/python3 bench/dkim_ingest.py %d %d" % (n, rounds))


if __name__ == "__main__":
    main()
