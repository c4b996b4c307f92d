#!/usr/bin/python3
"""Certificates: what ACME and SNI cost the serving side.

1. ACME issuance against Debian's pebble on loopback (3 names, renewal
   window forced so every 1 s check renews): seconds from acme_order to
   acme_issued, and IMAP NOOP round trips on the loop meanwhile (the ACME
   client runs on its own thread: the loop must not notice).
2. TLS handshakes per second on imaps (no tickets, Python client) with
   the default context alone, and with tls_sni_dir of 20 certificates plus
   acme = yes (servername and ClientHello callbacks), for the default name
   and for the certificate the SNI table finds last.

Usage (as root, after `make all`):
  POSTEL_BIN=build/postel /usr/bin/python3 bench/acme_tls.py
"""
import datetime
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from conftest import POSTEL_BIN, free_ports, launch, finish  # noqa: E402
from dnsserver import DNSServer  # noqa: E402
from test_acme import Pebble, _zones, _listen, _acme_config  # noqa: E402

IMAP_SECONDS = 5
HANDSHAKES = 600


def ts(line):
    return datetime.datetime.strptime(line.split()[0],
                                      "%Y-%m-%dT%H:%M:%S.%fZ")


def acme_part():
    dns = DNSServer(_zones()).start()
    listen = _listen()
    pebble = Pebble(listen["http"][1], dns)
    srv = launch(_acme_config(pebble, acme_renew_before=str(20 * 31557600),
                              acme_check_interval="1"), listen=listen)
    srv.wait_log(lambda l: "acme_issued" in l, timeout=60, at_least=3)
    lat = []
    host, port = srv.addr("imap")
    m = imaplib.IMAP4(host, port)
    end = time.monotonic() + IMAP_SECONDS
    while time.monotonic() < end:
        t0 = time.perf_counter()
        m.noop()
        lat.append(time.perf_counter() - t0)
    m.logout()
    text = srv.stderr_text()
    finish(srv)
    pebble.stop()
    dns.stop()
    order, durs = None, []
    for line in text.splitlines():
        if "event=acme_order" in line:
            order = ts(line)
        elif "event=acme_issued" in line and order is not None:
            durs.append((ts(line) - order).total_seconds())
            order = None
    lat.sort()
    print("ACME issuances (order -> issued, 3 names): %s"
          % ", ".join("%.2fs" % d for d in durs))
    print("IMAP NOOP during renewals: n=%d median=%.3fms p99=%.3fms "
          "max=%.2fms" % (len(lat), 1000 * lat[len(lat) // 2],
                          1000 * lat[int(len(lat) * 0.99)], 1000 * lat[-1]))


def handshakes(extra, name, port):
    pw = pwd.getpwnam("postel")
    d = tempfile.mkdtemp()
    os.chown(d, pw.pw_uid, pw.pw_gid)
    with open(os.path.join(d, "postel.conf"), "w") as f:
        f.write("hostname = mail.test\nlog_level = warn\n")
        f.write("".join(line + "\n" for line in extra))
    http = free_ports(1)[0]
    p = subprocess.Popen([POSTEL_BIN, "--data", d, "--config",
                          os.path.join(d, "postel.conf"), "serve",
                          "--listen", "imaps=127.0.0.1:%d" % port,
                          "--listen", "http=127.0.0.1:%d" % http],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.options |= ssl.OP_NO_TICKET
    t0 = time.perf_counter()
    for _ in range(HANDSHAKES):
        with socket.create_connection(("127.0.0.1", port)) as s:
            with ctx.wrap_socket(s, server_hostname=name):
                pass
    rate = HANDSHAKES / (time.perf_counter() - t0)
    p.terminate()
    p.wait()
    shutil.rmtree(d)
    return rate


def sni_part():
    pw = pwd.getpwnam("postel")
    s = tempfile.mkdtemp()
    os.chmod(s, 0o755)
    for i in range(1, 21):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             "%s/n%d.test.key" % (s, i), "-out", "%s/n%d.test.crt" % (s, i),
             "-days", "2", "-subj", "/CN=n%d.test" % i, "-addext",
             "subjectAltName=DNS:n%d.test" % i],
            check=True, capture_output=True)
    for f in os.listdir(s):
        os.chown(os.path.join(s, f), pw.pw_uid, pw.pw_gid)
    sni = ["tls_sni_dir = " + s, "acme = yes",
           "acme_directory = https://127.0.0.1:1/dir"]
    port = free_ports(1)[0]
    rows = [("default context only", [], "mail.test"),
            ("tls_sni_dir 20 certs + acme, default name", sni, "mail.test"),
            # Sorted n1, n10..n19, n2, n20, n3..n9: n9 is found last.
            ("tls_sni_dir 20 certs + acme, last cert", sni, "n9.test")]
    for rep in range(3):
        print("round %d: %s" % (rep + 1, ", ".join(
            "%s %.0f/s" % (label, handshakes(extra, name, port))
            for label, extra, name in rows)))
    shutil.rmtree(s)


if __name__ == "__main__":
    acme_part()
    sni_part()
