"""ACME certificates (RFC 8555) against Debian's pebble, the ACME test
server, on loopback: postel obtains a certificate over HTTP-01 (pebble's
validation authority resolves the names through the test DNS server and
fetches /.well-known/acme-challenge/TOKEN from postel's HTTP listener),
then serves it on imaps, submissions and https, checked with Python's ssl
trusting only pebble's root; a short renewal window replaces it without a
restart; a CA that refuses leaves the server on its self-signed
certificate with the reason logged."""

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import PROTOS, free_ports, launch, finish

PEBBLE = shutil.which("pebble") or "/usr/bin/pebble"
NAMES = ("mail.test", "mta-sts.example.test", "autoconfig.example.test")

pytestmark = pytest.mark.skipif(not os.access(PEBBLE, os.X_OK),
                                reason="pebble not installed")


class Pebble:
    """pebble on loopback with its own self-signed HTTPS certificate."""

    def __init__(self, http_port, dns, nonce_reject=0, tls_port=None):
        self.dir = tempfile.mkdtemp(prefix="pebble-")
        os.chmod(self.dir, 0o755)
        self.port, self.mgmt = free_ports(2)
        self.cert = os.path.join(self.dir, "pebble.pem")
        key = os.path.join(self.dir, "pebble.key")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
             "-out", self.cert, "-days", "2", "-subj", "/CN=pebble",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True)
        os.chmod(self.cert, 0o644)
        conf = os.path.join(self.dir, "pebble.json")
        with open(conf, "w") as f:
            json.dump({"pebble": {
                "listenAddress": "127.0.0.1:%d" % self.port,
                "managementListenAddress": "127.0.0.1:%d" % self.mgmt,
                "certificate": self.cert, "privateKey": key,
                "httpPort": http_port,
                "tlsPort": tls_port or free_ports(1)[0],
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False}}, f)
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1",
                   PEBBLE_VA_ALWAYS_VALID="0",
                   PEBBLE_WFE_NONCEREJECT=str(nonce_reject))
        self.log = open(os.path.join(self.dir, "pebble.log"), "wb")
        self.proc = subprocess.Popen(
            [PEBBLE, "-config", conf, "-dnsserver", dns.resolver],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                self.get("/roots/0")
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("pebble did not start")

    @property
    def directory(self):
        return "https://127.0.0.1:%d/dir" % self.port

    def get(self, path):
        ctx = ssl.create_default_context(cafile=self.cert)
        url = "https://127.0.0.1:%d%s" % (self.mgmt, path)
        with urllib.request.urlopen(url, context=ctx, timeout=5) as r:
            return r.read()

    def root_file(self):
        """pebble's root CA (new at every start), as a PEM file."""
        path = os.path.join(self.dir, "root.pem")
        with open(path, "wb") as f:
            f.write(self.get("/roots/0"))
        return path

    def stop(self):
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _listen():
    protos = PROTOS + ("http", "https")
    ports = free_ports(len(protos))
    return {p: ("127.0.0.1", port) for p, port in zip(protos, ports)}


def _zones():
    return {n: {"A": ["127.0.0.1"]} for n in NAMES}


def _acme_config(pebble, **extra):
    cfg = {"acme": "yes", "acme_directory": pebble.directory,
           "acme_email": "postmaster@example.test",
           "acme_ca_file": pebble.cert,
           "acme_retry_interval": "2"}
    cfg.update(extra)
    return cfg


def peer_cert(srv, proto, cafile, name="mail.test"):
    """The verified leaf (dict) and its DER, served on proto for name."""
    ctx = ssl.create_default_context(cafile=cafile)
    host, port = srv.addr(proto)
    with socket.create_connection((host, port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=name) as tls:
            return tls.getpeercert(), tls.getpeercert(binary_form=True)


def issuer_cn(cert):
    return dict(x[0] for x in cert["issuer"])["commonName"]


def _issued(srv, at_least=1, timeout=60):
    lines = srv.wait_log(lambda l: "event=acme_issued" in l,
                         timeout=timeout, at_least=at_least)
    assert len(lines) >= at_least, srv.stderr_tail()
    return lines


def _wait_served(srv, root, timeout=10, not_der=None):
    """The leaf served on imaps once it verifies against root (and is
    not not_der); the loop swaps contexts right after acme_issued."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            cert, der = peer_cert(srv, "imaps", root)
            if der != not_der:
                return cert, der
        except ssl.SSLError as e:
            last = e
        time.sleep(0.2)
    raise AssertionError("ACME certificate not served: %r\n%s"
                         % (last, srv.stderr_tail()))


@pytest.fixture
def issued(dns_server):
    """A server with an ACME certificate from a fresh pebble."""
    dns = dns_server(_zones())
    listen = _listen()
    pebble = Pebble(listen["http"][1], dns, nonce_reject=15)
    srv = None
    try:
        # nodns.test is hosted but its mta-sts./autoconfig. names have no
        # DNS records: the CA cannot validate them, they are skipped and
        # the other names still get their certificate.
        srv = launch(_acme_config(pebble), listen=listen,
                     domains=["example.test", "nodns.test"])
        _issued(srv)
        root = pebble.root_file()
        yield srv, pebble, root
    finally:
        if srv is not None:
            finish(srv)
        pebble.stop()


def test_certificate_obtained_and_served_on_every_tls_port(issued):
    srv, pebble, root = issued
    cert, _ = _wait_served(srv, root)
    assert issuer_cn(cert).startswith("Pebble Intermediate CA")
    sans = {v for k, v in cert["subjectAltName"] if k == "DNS"}
    assert sans == set(NAMES)
    skips = srv.wait_log(lambda l: "event=acme_skip" in l, timeout=0)
    assert {s.split("name=")[1].split()[0] for s in skips} == {
        "mta-sts.nodns.test", "autoconfig.nodns.test"}, skips
    for proto in ("submissions", "https", "imaps"):
        c, _ = peer_cert(srv, proto, root)
        assert issuer_cn(c).startswith("Pebble Intermediate CA")
    # The mta-sts. name is in the certificate: RFC 8461 §3.3 fetches the
    # policy over HTTPS for that name.
    c, _ = peer_cert(srv, "https", root, name="mta-sts.example.test")
    assert issuer_cn(c).startswith("Pebble Intermediate CA")
    # Stored in the data directory, readable by the service user only.
    for name in ("account.key", "key.pem", "cert.pem"):
        st = os.stat(os.path.join(srv.dir, "acme", name))
        assert st.st_mode & 0o777 == 0o600, name
    # /metrics tells when the certificate in use expires.
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics"
                                % srv.ports["http"], timeout=10) as r:
        metrics = r.read().decode()
    line = [l for l in metrics.splitlines() if l.startswith(
        "postel_tls_certificate_expiry_timestamp_seconds ")]
    assert line, metrics
    assert int(line[0].split()[1]) == int(
        ssl.cert_time_to_seconds(cert["notAfter"]))
    # openssl s_client, an independent client, sees the same issuer.
    host, port = srv.addr("submissions")
    r = subprocess.run(
        ["openssl", "s_client", "-connect", "%s:%d" % (host, port),
         "-servername", "mail.test", "-CAfile", root,
         "-verify_return_error", "-brief"],
        input="", capture_output=True, text=True, timeout=20)
    assert "Verification: OK" in r.stderr, r.stderr
    # The challenge answers are withdrawn once validated; nothing else
    # under the prefix is served.
    for path, method, code in (
            ("/.well-known/acme-challenge/abc", "GET", "404"),
            ("/.well-known/acme-challenge/", "GET", "404"),
            ("/.well-known/acme-challenge/..%2fpostel.conf", "GET", "404"),
            ("/.well-known/acme-challenge/../../postel.conf", "GET", "404"),
            ("/.well-known/acme-challenge/abc", "POST", "405")):
        out = subprocess.run(
            ["curl", "-s", "--path-as-is", "-o", "/dev/null", "-w",
             "%{http_code}"] + (["--data", "x"] if method == "POST" else [])
            + ["http://127.0.0.1:%d%s" % (srv.ports["http"], path)],
            capture_output=True, text=True, timeout=20)
        assert out.stdout == code, (path, method, out.stdout)


def test_restart_serves_the_stored_certificate_at_once(issued):
    srv, pebble, root = issued
    _, der = _wait_served(srv, root)
    srv.restart()
    # No new order: the stored certificate is valid and covers the names.
    cert, der2 = peer_cert(srv, "imaps", root)
    assert der2 == der
    time.sleep(1)
    assert len(srv.wait_log(lambda l: "event=acme_issued" in l,
                            timeout=0)) == 1


def test_key_not_matching_after_a_crash_is_repaired(issued):
    srv, pebble, root = issued
    _, der = _wait_served(srv, root)
    srv.stop_checked()
    # A crash between the two renames: a new key beside the old chain.
    key = os.path.join(srv.dir, "acme", "key.pem")
    st = os.stat(key)
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", key], check=True,
                   capture_output=True)
    os.chown(key, st.st_uid, st.st_gid)
    os.chmod(key, 0o600)
    srv.start()
    # Refused at start (logged), the self-signed one serves meanwhile...
    assert srv.wait_log(lambda l: "event=acme_load" in l)
    # ... and a new certificate is issued and served.
    assert srv.wait_log(lambda l: "event=acme_order" in l and
                        "does not match" in l, timeout=30)
    _issued(srv, at_least=2)
    cert, der2 = _wait_served(srv, root, not_der=der)
    assert issuer_cn(cert).startswith("Pebble Intermediate CA")


def test_renewal_replaces_the_certificate_without_restart(dns_server):
    dns = dns_server(_zones())
    listen = _listen()
    pebble = Pebble(listen["http"][1], dns)
    srv = None
    try:
        # A renewal window longer than pebble's 5-year certificates: every
        # check renews.
        srv = launch(_acme_config(pebble, acme_renew_before=str(
            20 * 31557600), acme_check_interval="2"), listen=listen)
        pid = srv.proc.pid
        _issued(srv)
        root = pebble.root_file()
        _, first = _wait_served(srv, root)
        _issued(srv, at_least=2)
        cert, second = _wait_served(srv, root, not_der=first)
        assert second != first
        assert issuer_cn(cert).startswith("Pebble Intermediate CA")
        assert srv.proc.pid == pid
        # The CA goes away while a renewal is due: the failure is logged
        # and the ACME certificate in use stays.
        root = shutil.copy(root, os.path.join(srv.dir, "pebble-root.pem"))
        pebble.stop()
        lines = srv.wait_log(lambda l: "event=acme_failed" in l, timeout=30)
        assert lines and "kept=old" in lines[0], srv.stderr_tail()
        _, still = peer_cert(srv, "imaps", root)
        issued_count = len(srv.wait_log(lambda l: "event=acme_issued" in l,
                                        timeout=0))
        time.sleep(1)
        _, again = peer_cert(srv, "imaps", root)
        assert again == still
        assert len(srv.wait_log(lambda l: "event=acme_issued" in l,
                                timeout=0)) == issued_count
        srv.check_alive()
    finally:
        if srv is not None:
            finish(srv)
        pebble.stop()


def test_refusing_ca_keeps_the_old_certificate_and_logs_why(dns_server):
    dns = dns_server(_zones())
    listen = _listen()
    # pebble validates on a port where nothing answers: every challenge
    # fails and the order is refused.
    pebble = Pebble(free_ports(1)[0], dns)
    srv = None
    try:
        srv = launch(_acme_config(pebble), listen=listen)
        lines = srv.wait_log(lambda l: "event=acme_failed" in l,
                             timeout=60)
        assert lines, srv.stderr_tail()
        assert "authorization for" in lines[0]
        assert "kept=old" in lines[0]
        # Still serving, on the self-signed certificate.
        ctx = srv.ssl_context()
        host, port = srv.addr("imaps")
        with socket.create_connection((host, port), timeout=10) as sock:
            with ctx.wrap_socket(sock, server_hostname="mail.test") as t:
                assert dict(x[0] for x in t.getpeercert()["issuer"])[
                    "commonName"] == "mail.test"
        srv.check_alive()
        # ... and retried after acme_retry_interval.
        assert len(srv.wait_log(lambda l: "event=acme_failed" in l,
                                timeout=30, at_least=2)) >= 2
    finally:
        if srv is not None:
            finish(srv)
        pebble.stop()


def test_tls_alpn_01_on_the_https_port_alone(dns_server):
    """No http listener (port 80 not ours): the challenge is answered on
    the https port with ALPN acme-tls/1 (RFC 8737)."""
    dns = dns_server(_zones())
    protos = PROTOS + ("https",)
    listen = {p: ("127.0.0.1", port)
              for p, port in zip(protos, free_ports(len(protos)))}
    # pebble's HTTP-01 port answers nothing: only TLS-ALPN-01 can work.
    pebble = Pebble(free_ports(1)[0], dns, tls_port=listen["https"][1])
    srv = None
    try:
        srv = launch(_acme_config(pebble), listen=listen)
        assert srv.wait_log(lambda l: "event=acme_start" in l and
                            "challenge=tls-alpn-01" in l)
        _issued(srv)
        assert srv.wait_log(lambda l: "event=acme_challenge" in l and
                            "type=tls-alpn-01" in l)
        root = pebble.root_file()
        cert, _ = _wait_served(srv, root)
        assert issuer_cn(cert).startswith("Pebble Intermediate CA")
        c, _ = peer_cert(srv, "https", root, name="autoconfig.example.test")
        assert issuer_cn(c).startswith("Pebble Intermediate CA")
        # A client offering acme-tls/1 now gets the real certificate: the
        # challenge answers are withdrawn after validation.
        ctx = ssl.create_default_context(cafile=root)
        ctx.set_alpn_protocols(["acme-tls/1"])
        host, port = srv.addr("https")
        with socket.create_connection((host, port), timeout=10) as sock:
            with ctx.wrap_socket(sock, server_hostname="mail.test") as t:
                assert t.selected_alpn_protocol() is None
        srv.check_alive()
    finally:
        if srv is not None:
            finish(srv)
        pebble.stop()


def test_acme_without_http_listener_is_refused_at_start(tmp_path):
    from conftest import Server, try_serve
    srv = Server({"acme": "yes"})
    try:
        srv.provision()
        started, err, rc = try_serve(srv, 10)
        assert not started
        assert "needs an http listener" in err
    finally:
        srv.cleanup()
