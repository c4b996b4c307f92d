"""Status and control through DATA_DIR/control: `postel status`, `who`,
`kick`, `user show` and `user del` against real IMAP, POP3 and SMTP
sessions opened with imaplib, poplib and smtplib; the errors when no
server runs; the socket's mode and owner; what open sessions are told at
shutdown; a second `serve` on the same data directory."""

import os
import pwd
import socket
import stat
import subprocess
import time

import pytest

from conftest import POSTEL_BIN, free_ports, serve_argv

ALICE = "alice@example.test"
BOB = "bob@example.test"


def wait_until(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


def who_rows(server):
    r = server.cli("who")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    if not lines:
        return []
    assert lines[0].split()[:3] == ["USER", "PROTOCOL", "CLIENT"]
    return [l.split() for l in lines[1:]]


def open_sessions(server):
    """alice on imaps, pop3s and submission; bob on imaps."""
    m = server.imaps(ALICE)
    p = server.pop3s(ALICE)
    s = server.smtp_auth("submission", ALICE)
    b = server.imaps(BOB)
    return m, p, s, b


def close_quietly(*clients):
    for c in clients:
        try:
            c.sock.close()
        except Exception:
            pass


def test_status_and_who_with_live_sessions(server):
    m, p, s, b = open_sessions(server)
    try:
        rows = wait_until(lambda: len(who_rows(server)) >= 4 and
                          who_rows(server))
        got = sorted((r[0], r[1], r[2]) for r in rows)
        assert got == sorted([
            (ALICE, "imaps", "127.0.0.1"), (ALICE, "pop3s", "127.0.0.1"),
            (ALICE, "submission", "127.0.0.1"),
            (BOB, "imaps", "127.0.0.1")]), rows
        # SINCE is a UTC date and time.
        assert all(len(r) == 5 and r[3].count("-") == 2 for r in rows)

        r = server.cli("status")
        assert r.returncode == 0, r.stderr
        out = r.stdout
        assert "version: 0.1.0" in out
        assert "uptime: 0d " in out
        for proto, (addr, port) in server.listen.items():
            assert "listener: %s %s:%d" % (proto, addr, port) in out, out
        assert "sessions: imaps 2" in out, out
        assert "sessions: pop3s 1" in out, out
        assert "sessions: submission 1" in out, out
        assert "sessions: smtp 0" in out, out
        assert "logged-in users: 2" in out, out
        assert "queue: 0 messages" in out, out
        assert "store size: " in out and " bytes" in out, out
    finally:
        for c in (m, b):
            c.logout()
        p.quit()
        s.quit()


def test_kick_ends_every_protocol(server):
    m, p, s, b = open_sessions(server)
    try:
        wait_until(lambda: len(who_rows(server)) >= 4)
        r = server.cli("kick", ALICE)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "%s: 3 sessions ended\n" % ALICE
        assert m.readline() == \
            b"* BYE Session ended by the administrator\r\n"
        assert p.file.readline() == \
            b"-ERR Session ended by the administrator\r\n"
        code, text = s.getreply()
        assert code == 421 and b"4.7.0" in text, (code, text)
        # bob's session goes on.
        assert b.noop()[0] == "OK"
        rows = wait_until(lambda: [r for r in who_rows(server)
                                   if r[0] == ALICE] == [] and
                          who_rows(server))
        assert [r[0] for r in rows] == [BOB]
        assert server.wait_log(lambda l: "event=kick" in l and
                               ALICE in l and "sessions=3" in l)
    finally:
        close_quietly(m, p, s)
        b.logout()


def test_kick_without_sessions_and_bad_address(server):
    r = server.cli("kick", "nobody@example.test")
    assert (r.returncode, r.stdout) == (
        0, "nobody@example.test: 0 sessions ended\n")
    r = server.cli("kick", "not an address")
    assert r.returncode == 1 and r.stderr.startswith(
        "postel: invalid address"), r
    r = server.cli("kick")
    assert r.returncode == 2


def test_socket_mode_and_owner(server):
    path = os.path.join(server.dir, "control")
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    if os.geteuid() == 0:
        assert st.st_uid == pwd.getpwnam("postel").pw_uid


def test_control_protocol_errors(server):
    """The socket's own answers to a bad request, a long line."""
    path = os.path.join(server.dir, "control")

    def ask(data):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(10)
            c.connect(path)
            c.sendall(data)
            got = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    return got
                got += chunk

    assert ask(b"FLY\n") == b"ERR unknown command\n"
    assert ask(b"KICK\r\n") == b"ERR missing argument\n"
    assert ask(b"STATUS now\n") == b"ERR unexpected argument\n"
    # 1025 octets and no line end yet: refused without waiting for more.
    assert ask(b"WHO " + b"x" * 1021) == b"ERR line too long\n"
    assert ask(b"WHO nobody@example.test\n") == b"OK\n"


def test_user_show_and_del(server):
    carol = "carol@example.test"
    server.add_user(carol, "carol-Secret-3")
    server.cli("alias", "add", "info@example.test", carol, check=True)
    server.cli("user", "allow-sender", carol, "@example.test", check=True)
    server.send(carol, b"Subject: one\r\n\r\nhello\r\n")
    server.wait_messages(carol, 1, password="carol-Secret-3")
    m = server.imaps(carol, "carol-Secret-3")
    try:
        m.create("Archive")
        wait_until(lambda: any(r[0] == carol for r in who_rows(server)))
        r = server.cli("user", "show", carol)
        assert r.returncode == 0, r.stderr
        out = r.stdout
        assert "address: %s" % carol in out
        # INBOX, Archive and the special-use mailboxes made at creation.
        assert "mailboxes: 6" in out, out
        assert "mailbox: INBOX (1 message, " in out, out
        assert "mailbox: Archive (0 messages, 0 bytes)" in out, out
        assert "alias: info@example.test (to %s)" % carol in out, out
        assert "aliases: 1" in out, out
        assert "may send as: @example.test" in out, out
        assert "sessions: 1" in out, out
        assert "session: imaps 127.0.0.1 since " in out, out
        # Every line is "key: value".
        assert all(": " in l for l in out.splitlines()), out

        r = server.cli("user", "del", carol)
        assert r.returncode == 0, r.stderr
        assert "%s: 1 open session ended" % carol in r.stdout, r.stdout
        assert m.readline() == \
            b"* BYE Session ended by the administrator\r\n"
    finally:
        close_quietly(m)


def test_errors_when_not_running(server_factory):
    srv = server_factory()
    srv.cli("user", "allow-sender", ALICE, "@example.test", check=True)
    srv.stop_checked()
    path = os.path.join(srv.dir, "control")
    assert not os.path.exists(path), "control socket left behind"
    want = "postel: the server is not running (no %s)\n" % path
    for args in (("status",), ("who",), ("kick", ALICE)):
        r = srv.cli(*args)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", want), args
    # user show reads the store without a server; only the sessions
    # part needs one.
    r = srv.cli("user", "show", ALICE)
    assert r.returncode == 0, r.stderr
    assert "mailboxes: " in r.stdout and "mailbox: INBOX (" in r.stdout
    assert "may send as: @example.test" in r.stdout
    assert "sessions: unknown: the server is not running" in r.stdout
    r = srv.cli("user", "del", BOB)
    assert r.returncode == 0 and r.stderr == "", r
    # A stale socket (a crash) is replaced at the next start.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(path)
    r = srv.cli("status")
    assert r.returncode == 1 and "not running" in r.stderr
    srv.start()
    assert srv.cli("status").returncode == 0


def test_second_serve_refused_before_binding(server):
    other = free_ports(2)
    argv = serve_argv(server)
    # The same data directory, other ports: nothing may be bound.
    i = argv.index("--listen")
    argv = argv[:i] + ["--listen", "imap=127.0.0.1:%d" % other[0],
                       "--listen", "smtp=127.0.0.1:%d" % other[1]]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == \
        "postel: another postel serve is using this data directory\n"
    for port in other:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
    # The first one still serves.
    assert server.cli("status").returncode == 0
    m = server.imaps(ALICE)
    assert m.noop()[0] == "OK"
    m.logout()


def test_shutdown_tells_sessions(server_factory):
    srv = server_factory()
    m = srv.imaps(ALICE)
    m.select("INBOX")
    # An IDLE session gets its BYE too.
    idle = srv.imaps(BOB)
    idle.select("INBOX")
    idle.send(b"i1 IDLE\r\n")
    assert idle.readline().startswith(b"+ ")
    p = srv.pop3s(ALICE)
    s = srv.smtp("smtp")
    s.ehlo()
    wait_until(lambda: len(who_rows(srv)) >= 3)
    srv.proc.send_signal(15)
    try:
        assert m.readline() == b"* BYE [UNAVAILABLE] Server shutting down\r\n"
        assert idle.readline() == \
            b"* BYE [UNAVAILABLE] Server shutting down\r\n"
        assert p.file.readline() == \
            b"-ERR [SYS/TEMP] Server shutting down\r\n"
        code, text = s.getreply()
        assert code == 421 and text.startswith(b"4.3.2 mail.test"), text
        assert srv.proc.wait(20) == 0
        srv.check_sanitizer()
    finally:
        close_quietly(m, idle, p, s)
    # finish() stops it again.
    srv.proc = None
    srv.start()
