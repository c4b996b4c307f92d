"""Helpers for the MTA-STS and TLS-RPT tests (test_mta_sts.py,
test_tlsrpt.py): a test CA made with openssl, an HTTPS policy server
(Python's http.server + ssl) that answers per Host as a test scripts it,
and an SMTP peer (smtppeer.py) with a certificate from the test CA.

Every name resolves through the test DNS server (dnsserver.py) to a
loopback address; Postel trusts the CA through `tls_ca_file` and reaches
the policy server's port through `mta_sts_fetch_port` (a test-only key,
443 by default).
"""

import http.server
import os
import ssl
import subprocess
import tempfile
import threading
import time

from dnslib import QTYPE, RR, TXT

from smtppeer import SmtpPeer, free_port


def _openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   capture_output=True, timeout=30)


class StsCA:
    """A CA and leaf certificates it signs, in a directory the service
    user can read (the server opens tls_ca_file after dropping root)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="stsca-")
        os.chmod(self.dir, 0o755)
        self.cert = os.path.join(self.dir, "ca.pem")
        self.key = os.path.join(self.dir, "ca.key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                 self.key, "-out", self.cert, "-days", "2", "-subj",
                 "/CN=Postel Test CA", "-addext",
                 "basicConstraints=critical,CA:TRUE", "-addext",
                 "keyUsage=critical,keyCertSign,cRLSign")
        os.chmod(self.cert, 0o644)
        self.n = 0

    def leaf(self, *names):
        """(cert, key) for the DNS names, signed by the CA."""
        self.n += 1
        base = os.path.join(self.dir, "leaf%d" % self.n)
        ext = base + ".ext"
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\n" %
                    ",".join("DNS:" + n for n in names))
        _openssl("req", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                 base + ".key", "-out", base + ".csr", "-subj",
                 "/CN=" + names[0])
        _openssl("x509", "-req", "-in", base + ".csr", "-CA", self.cert,
                 "-CAkey", self.key, "-CAcreateserial", "-days", "2",
                 "-out", base + ".pem", "-extfile", ext)
        return base + ".pem", base + ".key"


class Behaviour:
    """What the policy server answers for one Host."""

    def __init__(self, body="", status=200, ctype="text/plain",
                 delay=0.0, headers=None):
        self.body = body.encode() if isinstance(body, str) else body
        self.status = status
        self.ctype = ctype
        self.delay = delay
        self.headers = headers or {}


class PolicyServer:
    """HTTPS on ip:port for mta-sts.DOMAIN; server.hosts[host] =
    Behaviour(...); server.requests: [(host, path)] in arrival order."""

    def __init__(self, ip, cert, key):
        self.ip = ip
        self.port = free_port(ip)
        self.hosts = {}
        self.requests = []
        self.lock = threading.Lock()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                host = (self.headers.get("Host") or "").lower()
                with outer.lock:
                    outer.requests.append((host, self.path))
                b = outer.hosts.get(host)
                if b is None or self.path != "/.well-known/mta-sts.txt":
                    self.send_error(404)
                    return
                if b.delay:
                    time.sleep(b.delay)
                self.send_response(b.status)
                self.send_header("Content-Type", b.ctype)
                self.send_header("Content-Length", str(len(b.body)))
                for k, v in b.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(b.body)
                except OSError:
                    pass

        self.httpd = http.server.ThreadingHTTPServer((ip, self.port),
                                                     Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                            server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def fetches(self, host):
        with self.lock:
            return sum(1 for h, _ in self.requests if h == host)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def policy(mode, *mx, max_age=86400):
    return "version: STSv1\r\nmode: %s\r\n%smax_age: %d\r\n" % (
        mode, "".join("mx: %s\r\n" % m for m in mx), max_age)


def txt0(name, text):
    """A TXT record with TTL 0, so no resolver keeps it."""
    return RR(name, QTYPE.TXT, rdata=TXT(text), ttl=0)


class CAPeer(SmtpPeer):
    """An SmtpPeer whose STARTTLS certificate is (cert, key)."""

    def __init__(self, certkey, **kw):
        self.certkey = certkey
        super().__init__(**kw)

    def _tls_context(self):
        if not self.cfg.tls:
            return None
        self.cert_path, self.key_path = self.certkey
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*self.certkey)
        return ctx
