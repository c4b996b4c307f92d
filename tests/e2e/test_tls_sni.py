"""SNI (RFC 6066 §3): certificates in tls_sni_dir are chosen by the name
the client sends, on every TLS port (implicit TLS and STARTTLS); other
names and no name get the default certificate, the self-signed one that
names the configured host name. Checked with Python's ssl
(server_hostname) and openssl s_client -servername, trusting only the
expected certificate; a SIGHUP picks up a certificate added later."""

import os
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import launch, finish, give_to_service_user


def make_cert(path_crt, path_key, names):
    san = ",".join("DNS:%s" % n for n in names)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", path_key,
         "-out", path_crt, "-days", "2", "-subj", "/CN=%s" % names[0],
         "-addext", "subjectAltName=" + san],
        check=True, capture_output=True)
    for p in (path_crt, path_key):
        os.chmod(p, 0o600)
        give_to_service_user(p)


@pytest.fixture(scope="module")
def sni():
    base = tempfile.mkdtemp(prefix="postel-sni-")
    os.chmod(base, 0o755)
    d = os.path.join(base, "sni")
    os.mkdir(d, 0o750)
    give_to_service_user(d)
    make_cert(os.path.join(d, "other.test.crt"),
              os.path.join(d, "other.test.key"), ["other.test"])
    # certbot's layout: live/NAME/fullchain.pem + privkey.pem.
    os.mkdir(os.path.join(d, "wild.test"), 0o750)
    give_to_service_user(os.path.join(d, "wild.test"))
    make_cert(os.path.join(d, "wild.test", "fullchain.pem"),
              os.path.join(d, "wild.test", "privkey.pem"),
              ["*.wild.test", "wild.test"])
    # Not a certificate: skipped.
    with open(os.path.join(d, "README"), "w") as f:
        f.write("per-name certificates\n")
    srv = launch({"tls_sni_dir": d})
    srv.sni_dir = d
    yield srv
    finish(srv)
    subprocess.run(["rm", "-rf", base])


def served(srv, proto, name, cafile):
    """The verified leaf's subject CN for SNI name, on an implicit-TLS
    port."""
    ctx = ssl.create_default_context(cafile=cafile)
    host, port = srv.addr(proto)
    with socket.create_connection((host, port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=name) as t:
            return dict(x[0] for x in t.getpeercert()["subject"])[
                "commonName"]


def test_sni_picks_the_named_certificate(sni):
    other = os.path.join(sni.sni_dir, "other.test.crt")
    for proto in ("imaps", "pop3s", "submissions"):
        assert served(sni, proto, "other.test", other) == "other.test"


def test_wildcard_from_certbot_layout(sni):
    wild = os.path.join(sni.sni_dir, "wild.test", "fullchain.pem")
    assert served(sni, "imaps", "imap.wild.test", wild) == "*.wild.test"
    assert served(sni, "imaps", "wild.test", wild) == "*.wild.test"


def test_other_names_get_the_default_naming_the_host(sni):
    assert served(sni, "imaps", "mail.test", sni.cert_path) == "mail.test"
    # An unknown name: the default certificate (which then does not
    # verify for that name).
    ctx = ssl.create_default_context(cafile=sni.cert_path)
    ctx.check_hostname = False
    host, port = sni.addr("imaps")
    with socket.create_connection((host, port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname="unknown.test") as t:
            cn = dict(x[0] for x in t.getpeercert()["subject"])["commonName"]
    assert cn == "mail.test"


def test_starttls_uses_sni_too(sni):
    other = os.path.join(sni.sni_dir, "other.test.crt")
    ctx = ssl.create_default_context(cafile=other)
    host, port = sni.addr("submission")
    with smtplib.SMTP(host, port, timeout=10) as s:
        s.ehlo("client.test")
        s._host = "other.test"  # smtplib sends it as server_hostname
        s.starttls(context=ctx)
        cert = s.sock.getpeercert()
    assert dict(x[0] for x in cert["subject"])["commonName"] == "other.test"


def test_openssl_s_client_servername(sni):
    host, port = sni.addr("imaps")
    other = os.path.join(sni.sni_dir, "other.test.crt")
    r = subprocess.run(
        ["openssl", "s_client", "-connect", "%s:%d" % (host, port),
         "-servername", "other.test", "-CAfile", other,
         "-verify_return_error", "-brief"],
        input="", capture_output=True, text=True, timeout=20)
    assert "Verification: OK" in r.stderr, r.stderr
    assert "other.test" in r.stderr


def test_sighup_loads_a_new_certificate(sni):
    d = sni.sni_dir
    make_cert(os.path.join(d, "later.test.crt"),
              os.path.join(d, "later.test.key"), ["later.test"])
    sni.proc.send_signal(signal.SIGHUP)
    assert sni.wait_log(lambda l: "event=tls_reload" in l), \
        sni.stderr_tail()
    later = os.path.join(d, "later.test.crt")
    deadline = time.monotonic() + 10
    while True:
        try:
            assert served(sni, "imaps", "later.test", later) == "later.test"
            break
        except ssl.SSLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _default_cn(srv):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    host, port = srv.addr("imaps")
    with socket.create_connection((host, port), timeout=10) as sock:
        with ctx.wrap_socket(sock) as t:
            der = t.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    r = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext",
                        "subjectAltName"], input=pem, capture_output=True,
                       text=True, check=True)
    return r.stdout


def test_self_signed_default_follows_the_host_name(server_factory):
    srv = server_factory()
    assert "CN = mail.test" in _default_cn(srv)
    srv.stop_checked()
    # The administrator sets the real host name: the self-signed default
    # made for the old one is replaced at the next start.
    srv.config["hostname"] = "mx.renamed.test"
    srv._write_config()
    srv.start()
    out = _default_cn(srv)
    assert "CN = mx.renamed.test" in out
    assert "DNS:mx.renamed.test" in out and "DNS:localhost" in out
    assert served(srv, "imaps", "mx.renamed.test",
                  srv.cert_path) == "mx.renamed.test"


def test_own_certificate_at_the_default_path_is_kept(server_factory):
    srv = server_factory()
    srv.stop_checked()
    # An administrator's own certificate put in DATA_DIR/tls: never
    # replaced, even when it does not name the host.
    tls = os.path.join(srv.dir, "tls")
    os.unlink(os.path.join(tls, "cert.pem"))
    os.unlink(os.path.join(tls, "key.pem"))
    make_cert(os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem"),
              ["own.test"])
    srv.start()
    assert "CN = own.test" in _default_cn(srv)
