#!/usr/bin/python3
"""DANE's cost on the outbound path (docs/BENCHMARKS.md, "DANE").

N messages (BENCH_DANE_MESSAGES, 200) submitted over one connection to a
recipient whose MX is an aiosmtpd peer with STARTTLS (tests/e2e/smtppeer.py)
in a zone signed with ldns-signzone, with a matching TLSA 3 1 1 record:
once with the zone's DS as dnssec_trust_anchor (DANE: TLSA lookup, every
connection verified by OpenSSL's DANE code) and once without validation
(opportunistic TLS), alternating, twice each. Prints messages per second
from the first submission to the peer's last acceptance, connections made
and DANE-verified handshakes. Loopback only; run as root (port 25 on
127.211.0.x). Release build unless POSTEL_BIN is set.
"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
os.environ.setdefault("POSTEL_BIN", os.path.join(ROOT, "build", "postel"))
import conftest  # noqa: E402
from dnsserver import DNSServer  # noqa: E402
from queueutil import message, outbound_config, tmp_file  # noqa: E402
from smtppeer import SmtpPeer  # noqa: E402
from test_dane import ZONE, spki_sha256  # noqa: E402

N = int(os.environ.get("BENCH_DANE_MESSAGES", "200"))
TIMEOUT = 300


def sign(tmp, text):
    """ldns-signzone: (signed zone text, DS text)."""
    def run(*argv):
        return subprocess.run(argv, cwd=tmp, check=True, text=True,
                              capture_output=True, timeout=60).stdout.strip()
    with open(os.path.join(tmp, "dane.test.zone"), "w") as f:
        f.write(text)
    ksk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "dane.test")
    zsk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "dane.test")
    run("ldns-signzone", "dane.test.zone", ksk, zsk)
    with open(os.path.join(tmp, "dane.test.zone.signed")) as f:
        signed = f.read()
    with open(os.path.join(tmp, ksk + ".ds")) as f:
        return signed, f.read()


def one(mode, ip):
    tmp = tempfile.mkdtemp()
    peer = SmtpPeer(host=ip, port=25, tls="cert", cn="mx.dane.test").start()
    tlsa = "_25._tcp.mx IN TLSA 3 1 1 " + spki_sha256(peer.cert_path)
    signed, ds = sign(tmp, ZONE.format(ip=ip, tlsa=tlsa))
    dns = DNSServer().start()
    dns.load_zone(signed)
    srv = conftest.launch(outbound_config(dns))
    try:
        if mode == "dane":
            srv.config["dnssec_trust_anchor"] = tmp_file(srv, "a.ds", ds)
            srv.stop_checked()
            srv._write_config()
            srv.start()
        s = srv.smtp_auth("submission")
        t0 = time.monotonic()
        for i in range(N):
            s.sendmail("alice@example.test", ["bob@dane.test"],
                       message("b%d" % i, to="bob@dane.test"))
        s.quit()
        deadline = time.monotonic() + TIMEOUT
        while len(peer.messages()) < N and time.monotonic() < deadline:
            time.sleep(0.05)
        dt = time.monotonic() - t0
        got = len(peer.messages())
        lines = srv.stderr_text().splitlines()
        dane = sum(1 for l in lines
                   if "event=dane " in l and "dane=verified" in l)
        conns = sum(1 for l in lines if "event=smtpc_connect" in l)
    finally:
        conftest.finish(srv)
        dns.stop()
        peer.stop()
    print("%s: %d/%d messages in %.2f s = %.1f msg/s; connections %d, "
          "DANE-verified handshakes %d" % (mode, got, N, dt, got / dt,
                                           conns, dane), flush=True)


if __name__ == "__main__":
    for rep in range(2):
        one("opportunistic", "127.211.0.%d" % (2 + rep * 2))
        one("dane", "127.211.0.%d" % (3 + rep * 2))
