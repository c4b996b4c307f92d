"""The TLS profile: TLS 1.2+ only, ECDHE with AEAD ciphers only by
default, session tickets under a rotated key ring, and a deadline for the
whole handshake on the implicit-TLS ports and after STARTTLS."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import SOCK_TIMEOUT
from rawclient import RawClient

SERVER_CONFIG = {"tls_handshake_timeout": "2"}
CLOSE_BOUND = 20.0  # seconds a test waits for the deadline to close


def s_client(server, *args, proto="submissions"):
    """openssl s_client against the server; True when the handshake
    completed."""
    host, port = server.listen[proto]
    r = subprocess.run(["openssl", "s_client", "-connect",
                        "%s:%d" % (host, port), "-brief"] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    ok = "CONNECTION ESTABLISHED" in r.stdout + r.stderr
    return ok, r.stdout + r.stderr


def test_tls11_refused(server):
    ok, out = s_client(server, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
    assert not ok, out


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-AES128-SHA256",
                                    "ECDHE-ECDSA-AES256-SHA384",
                                    "ECDHE-ECDSA-AES128-SHA"])
def test_cbc_and_sha1_suites_refused(server, cipher):
    ok, out = s_client(server, "-tls1_2", "-cipher", cipher)
    assert not ok, out


@pytest.mark.parametrize("proto", ["submissions", "pop3s", "imaps"])
def test_ecdhe_gcm_accepted(server, proto):
    ok, out = s_client(server, "-tls1_2", "-cipher",
                       "ECDHE-ECDSA-AES128-GCM-SHA256", proto=proto)
    assert ok, out
    assert "ECDHE-ECDSA-AES128-GCM-SHA256" in out, out


def test_tls13_default_suites(server):
    ok, out = s_client(server, "-tls1_3")
    assert ok and "TLSv1.3" in out, out
    ok, out = s_client(server, "-tls1_3", "-ciphersuites",
                       "TLS_AES_128_CCM_8_SHA256")
    assert not ok, out


def test_static_rsa_refused_with_an_rsa_certificate(server_factory):
    keydir = tempfile.mkdtemp(prefix="postel-rsa-")
    try:
        cert = os.path.join(keydir, "cert.pem")
        key = os.path.join(keydir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-subj", "/CN=localhost", "-days", "2",
                        "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        srv = server_factory(config={"cert": cert, "key": key})
        ok, out = s_client(srv, "-tls1_2", "-cipher", "AES128-GCM-SHA256")
        assert not ok, out
        ok, out = s_client(srv, "-tls1_2", "-cipher",
                           "ECDHE-RSA-AES128-GCM-SHA256")
        assert ok, out
    finally:
        shutil.rmtree(keydir, ignore_errors=True)


def test_configured_profile(server_factory):
    srv = server_factory(config={"tls_min_version": "TLSv1.3"})
    ok, out = s_client(srv, "-tls1_2")
    assert not ok, out
    ok, out = s_client(srv, "-tls1_3")
    assert ok, out


# -- session tickets -----------------------------------------------------------

def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_greeting(server, ctx, session=None):
    """Connects to 465, reads the greeting (which also takes in the
    TLS 1.3 tickets); returns (session, reused)."""
    with socket.create_connection(server.listen["submissions"],
                                  timeout=SOCK_TIMEOUT) as s:
        with ctx.wrap_socket(s, session=session) as t:
            assert t.recv(1000).startswith(b"220")
            return t.session, t.session_reused


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_session_ticket_resumes_and_survives_reload(server_factory, version):
    srv = server_factory()
    ctx = client_ctx()
    ctx.maximum_version = getattr(ssl.TLSVersion, version)
    sess, reused = tls_greeting(srv, ctx)
    assert not reused
    _, reused = tls_greeting(srv, ctx, sess)
    assert reused
    # The key ring is the process's, not the context's: a SIGHUP reload
    # does not void the tickets out there.
    n = srv.stderr_text().count("event=tls_reload")
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while srv.stderr_text().count("event=tls_reload") == n:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    _, reused = tls_greeting(srv, ctx, sess)
    assert reused


def test_ticket_keys_rotate(server_factory):
    srv = server_factory(config={"tls_ticket_rotation": "1"})
    ctx = client_ctx()
    sess, _ = tls_greeting(srv, ctx)
    # A key seals for one period and opens for one more; after more than
    # two periods its tickets are no longer accepted.
    time.sleep(3.2)
    _, reused = tls_greeting(srv, ctx, sess)
    assert not reused


def test_tickets_off(server_factory):
    srv = server_factory(config={"tls_ticket_rotation": "0"})
    ctx = client_ctx()
    sess, _ = tls_greeting(srv, ctx)
    _, reused = tls_greeting(srv, ctx, sess)
    assert not reused


# -- handshake deadline --------------------------------------------------------

@pytest.mark.parametrize("proto", ["submissions", "imaps", "pop3s"])
def test_silent_client_closed_after_handshake_deadline(server, proto):
    host, port = server.listen[proto]
    c = RawClient(host, port)
    try:
        assert c.closed(timeout=CLOSE_BOUND)
    finally:
        c.close()


def test_trickled_handshake_closed(server):
    """One byte of ClientHello every 0.3 s keeps resetting an idle timer;
    the deadline covers the whole handshake."""
    host, port = server.listen["submissions"]
    hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 500
    c = RawClient(host, port)
    closed = False
    try:
        deadline = time.monotonic() + CLOSE_BOUND
        for b in hello:
            if time.monotonic() > deadline:
                break
            try:
                c.send(bytes([b]))
            except OSError:
                closed = True
                break
            if c.closed(timeout=0.3):
                closed = True
                break
        assert closed
    finally:
        c.close()


def starttls_accepted(server):
    """A client on the submission port whose STARTTLS the server accepted;
    the handshake is the caller's."""
    host, port = server.listen["submission"]
    c = RawClient(host, port)
    try:
        code, _ = c.reply()
        assert code == 220
        c.ehlo()
        code, _ = c.cmd("STARTTLS")
        assert code == 220
    except BaseException:
        c.close()
        raise
    return c


def test_starttls_silent_client_closed(server):
    c = starttls_accepted(server)
    try:
        assert c.closed(timeout=CLOSE_BOUND)
    finally:
        c.close()


def test_deadline_ends_with_the_handshake(server):
    """A client idle after a completed handshake for longer than the
    deadline is still served."""
    host, port = server.listen["submissions"]
    c = RawClient(host, port, tls_ctx=client_ctx())
    try:
        code, _ = c.reply()
        assert code == 220
        time.sleep(3)
        code, _ = c.cmd("NOOP")
        assert code == 250
    finally:
        c.close()


def test_deadline_ends_with_the_starttls_handshake(server):
    c = starttls_accepted(server)
    try:
        c.starttls(client_ctx())
        time.sleep(3)
        c.ehlo()
        code, _ = c.cmd("NOOP")
        assert code == 250
    finally:
        c.close()


@pytest.mark.parametrize("key,value,expect", [
    ("tls_min_version", "TLSv1.1", "tls_min_version must be TLSv1.2 or TLSv1.3"),
    ("tls_ciphers", "NOPE", "tls_ciphers"),
    ("tls_ciphersuites", "TLS_NOPE", "tls_ciphersuites"),
    ("tls_handshake_timeout", "0", "tls_handshake_timeout must be a number"),
])
def test_bad_profile_settings_stop_the_start(tmp_path, key, value, expect):
    from conftest import POSTEL_BIN, free_ports
    conf = tmp_path / "postel.conf"
    conf.write_text("%s = %s\n" % (key, value))
    data = tmp_path / "data"
    os.chmod(tmp_path, 0o755)
    port = free_ports(1)[0]
    r = subprocess.run([POSTEL_BIN, "--data", str(data), "--config",
                        str(conf), "serve", "--listen",
                        "submissions=127.0.0.1:%d" % port],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert expect in r.stderr, r.stderr
