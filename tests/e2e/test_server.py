"""`postel serve` as an administrator sees it: what the first start creates,
what it prints, privileges, SIGHUP certificate reload and SIGTERM drain."""

import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import PROTOS, SOCK_TIMEOUT, simple_message, unique


def test_first_start_creates_store_and_certificate(server):
    for rel in ("postel.db", "msg", "tls/cert.pem", "tls/key.pem"):
        assert os.path.exists(os.path.join(server.dir, rel)), rel
    # The key is private to the server's user.
    assert os.stat(os.path.join(server.dir, "tls/key.pem")).st_mode & 0o077 == 0
    with open(server.stdout_path) as f:
        out = f.read()
    for proto in PROTOS:
        host, port = server.listen[proto]
        assert "postel: listening %s %s:%d" % (proto, host, port) in out
    assert "postel: ready" in out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_root_drops_to_service_user(server):
    pw = pwd.getpwnam("postel")
    with open("/proc/%d/status" % server.proc.pid) as f:
        uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
    assert all(int(u) == pw.pw_uid for u in uids), uids
    for rel in ("postel.db", "msg", "tls/key.pem"):
        assert os.stat(os.path.join(server.dir, rel)).st_uid == pw.pw_uid, rel
    # Admin commands run as root leave files the server can use: a user
    # added now receives mail at once.
    server.add_user("late@example.test", "late-Secret-9")
    token = unique("late")
    server.send(["late@example.test"], simple_message(token))
    assert server.wait_messages("late@example.test", 1, token.encode())


def peer_cert_der(server):
    host, port = server.listen["submissions"]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=SOCK_TIMEOUT) as s:
        with ctx.wrap_socket(s) as t:
            return t.getpeercert(binary_form=True)


def test_sighup_reloads_certificate(server_factory):
    server = server_factory()
    old = peer_cert_der(server)
    tls = os.path.join(server.dir, "tls")
    st = os.stat(os.path.join(tls, "key.pem"))
    new_cert = os.path.join(tls, "new-cert.pem")
    new_key = os.path.join(tls, "new-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=reloaded.test", "-days", "2",
                    "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", new_key, "-out", new_cert],
                   check=True, capture_output=True)
    for p in (new_cert, new_key):
        os.chown(p, st.st_uid, st.st_gid)
    os.replace(new_key, os.path.join(tls, "key.pem"))
    os.replace(new_cert, os.path.join(tls, "cert.pem"))
    server.proc.send_signal(signal.SIGHUP)
    server.wait_log(lambda line: "event=tls_reload" in line)
    new = peer_cert_der(server)
    assert new != old
    with open(os.path.join(tls, "cert.pem")) as f:
        assert ssl.DER_cert_to_PEM_cert(new).strip() == f.read().strip()
    # Clients that trust the new certificate can still send and read.
    token = unique("reload")
    server.send(["alice@example.test"], simple_message(token))
    assert server.wait_messages("alice@example.test", 1, token.encode())


def test_sigterm_with_idle_clients_exits_zero(server_factory):
    srv = server_factory()
    idle = [socket.create_connection(srv.listen["smtp"], timeout=5)
            for _ in range(5)]
    for s in idle:
        assert s.recv(100).startswith(b"220 ")
    srv.proc.send_signal(signal.SIGTERM)
    rc = srv.proc.wait(20)
    assert rc == 0, srv.stderr_tail()
    for s in idle:
        s.close()
    srv.proc = None
    # The data directory serves again after the restart.
    srv.start()
    token = unique("after-term")
    srv.send(["bob@example.test"], simple_message(token))
    assert srv.wait_messages("bob@example.test", 1, token.encode())


def test_config_errors_are_reported(tmp_path):
    from conftest import POSTEL_BIN
    bad = tmp_path / "bad.conf"
    bad.write_text("hostname = x\nno_such_key = 1\n")
    r = subprocess.run([POSTEL_BIN, "--config", str(bad), "serve"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "bad.conf:2: unknown setting 'no_such_key'" in r.stderr
    r = subprocess.run([POSTEL_BIN, "serve", "--listen", "smtp=nowhere"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and "bad listen address" in r.stderr
