"""`postel serve` as an administrator sees it: what the first start creates,
what it prints, privileges, SIGHUP certificate reload and SIGTERM drain."""

import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import PROTOS, SOCK_TIMEOUT, simple_message, unique
from waitutil import server_unread


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
    # Only the success line: a failed reload logs "error event=tls_reload"
    # (that path: test_privileges.py, test_sighup_reloads_a_root_only_key).
    assert server.wait_log(lambda line: "info event=tls_reload" in line,
                           timeout=15), server.stderr_tail()
    assert "error event=tls_reload" not in server.stderr_text()
    new = peer_cert_der(server)
    assert new != old
    with open(os.path.join(tls, "cert.pem")) as f:
        assert ssl.DER_cert_to_PEM_cert(new).strip() == f.read().strip()
    # Clients that trust the new certificate can still send and read.
    token = unique("reload")
    server.send(["alice@example.test"], simple_message(token))
    assert server.wait_messages("alice@example.test", 1, token.encode())


def test_sigterm_drains_work_in_flight(server_factory):
    """SIGTERM lets work in flight finish: the server logs how many jobs
    were busy at the signal, and at least that many of the DATA and STORE
    commands it had read get their 250 / tagged OK; every acknowledged
    message is stored once and the flag kept; what got no reply (its dot
    still buffered at the signal) is not stored; a transaction missing its
    dot is not stored; idle clients are closed; the exit status is 0.
    (No APPEND: its literal goes to a file before the commit starts.)"""
    from rawclient import Closed
    from rawclient import RawClient
    srv = server_factory()
    flag_tok = unique("drain-flag")
    srv.send(["alice@example.test"], simple_message(flag_tok))
    big = b"".join(b"line %06d of a big message to keep the commit busy\r\n"
                   % i for i in range(200000))            # ~10 MB
    idle = [RawClient(*srv.listen["smtp"]) for _ in range(3)]
    for c in idle:
        assert c.reply()[0] == 220
    tokens, senders = [], []
    for i in range(3):
        tok = unique("drain%d" % i).encode()
        c = RawClient(*srv.listen["smtp"])
        assert c.reply()[0] == 220
        c.ehlo()
        assert c.cmd("MAIL FROM:<d@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: " + tok + b"\r\n\r\n" + big)
        tokens.append(tok)
        senders.append(c)
    # One more transaction never finished: the server must not store it.
    cut_tok = unique("drain-cut").encode()
    cut = RawClient(*srv.listen["smtp"])
    assert cut.reply()[0] == 220
    cut.ehlo()
    assert cut.cmd("MAIL FROM:<d@remote.test>")[0] == 250
    assert cut.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert cut.cmd("DATA")[0] == 354
    cut.send(b"Subject: " + cut_tok + b"\r\n\r\nno dot follows\r\n")
    # An IMAP session, idle in INBOX (message 1 is flag_tok's).
    im = RawClient(*srv.listen["imaps"], tls_ctx=srv.ssl_context())
    assert im.read_line().startswith(b"* OK")
    im.line("a1 LOGIN alice@example.test %s" % srv.users["alice@example.test"])
    im.line("a2 SELECT INBOX")
    for _ in range(50):
        ln = im.read_line()
        if ln.startswith(b"a2 "):
            break
    assert ln.startswith(b"a2 OK"), ln
    # Its STORE is dispatched (a commit job) as soon as the server reads it.
    im.line("a3 STORE 1 +FLAGS (\\Flagged)")
    for c in senders:
        c.send(b".\r\n")
    for c in senders:
        server_unread(srv, "smtp", c.sock)
    server_unread(srv, "smtp", cut.sock)
    server_unread(srv, "imaps", im.sock)
    srv.proc.send_signal(signal.SIGTERM)
    acked = []
    for tok, c in zip(tokens, senders):
        try:
            code, lines = c.reply(timeout=30)
        except Closed:
            code, lines = None, []
        assert code in (250, 421, None), (code, lines)
        if code == 250:
            acked.append(tok)
    ln = im.read_line(timeout=30)
    while ln.startswith(b"* "):
        ln = im.read_line(timeout=30)
    assert ln == b"" or ln.startswith(b"a3 OK"), ln
    flagged = ln.startswith(b"a3 OK")
    for c in idle + [cut]:
        assert c.closed(30), "client left open after SIGTERM"
    rc = srv.proc.wait(30)
    assert rc == 0, srv.stderr_tail()
    shut = srv.wait_log(lambda l: "event=shutdown" in l, timeout=1)
    assert shut, srv.stderr_tail()
    busy = int(re.search(r"\bbusy=(\d+)", shut[-1]).group(1))
    assert len(acked) + flagged >= busy, (busy, len(acked), flagged)
    for c in idle + senders + [cut, im]:
        c.close()
    srv.proc = None
    # After the restart: each acknowledged message once, the cut one never.
    srv.start()
    msgs = srv.fetch_all("alice@example.test")
    for tok in tokens:
        got = [m for m in msgs if tok in m]
        assert len(got) == (1 if tok in acked else 0), (tok, len(got))
        assert not got or got[0].endswith(big), tok
    assert not [m for m in msgs if cut_tok in m]
    m = srv.imaps("alice@example.test")
    m.select("INBOX")
    typ, data = m.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    m.logout()
    assert flag_tok.encode() in data[0][1], data
    assert (b"\\Flagged" in data[0][0]) == flagged, data
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
