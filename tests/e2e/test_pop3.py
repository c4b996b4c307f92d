"""POP3 (RFC 1939, 2449, 2595, 5034) with poplib and the raw client."""

import base64
import poplib

import pytest

from conftest import simple_message, unique
from rawclient import RawClient, connect

USERS = {"p%d@example.test" % i: "pop-Secret-%d" % i for i in range(1, 9)}
SERVER_USERS = USERS


def deliver(server, user, n):
    tokens = [unique("pop%d" % i) for i in range(n)]
    for t in tokens:
        server.send(user, simple_message(t, body="body of %s\r\n" % t))
    msgs = server.wait_messages(user, n)
    assert len(msgs) == n
    return tokens


def pop3_plain(server):
    host, port = server.addr("pop3")
    return poplib.POP3(host, port, timeout=10)


def capa(conn):
    """CAPA names (upper case) from a poplib connection."""
    return {k.upper(): [a.upper() for a in v] for k, v in conn.capa().items()}


def test_greeting(server):
    for proto in ("pop3", "pop3s"):
        with connect(server, proto, greet=False) as c:
            g = c.pop_line()
            assert g.startswith("+OK Postel POP3 ready"), g


def test_capa_before_and_after_stls(server):
    p = pop3_plain(server)
    caps = capa(p)
    for k in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
              "STLS"):
        assert k in caps, (k, caps)
    assert "USER" not in caps and "SASL" not in caps, caps
    p.stls(context=server.ssl_context())
    caps = capa(p)
    assert "STLS" not in caps, caps
    assert "USER" in caps, caps
    assert "PLAIN" in caps.get("SASL", []), caps
    for k in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"):
        assert k in caps, (k, caps)
    p.quit()


def test_capa_pop3s(server):
    p = server.pop3s()
    caps = capa(p)
    assert "STLS" not in caps and "USER" in caps, caps
    assert "PLAIN" in caps.get("SASL", []), caps
    p.quit()


def test_plaintext_auth_refused(server):
    user = "p1@example.test"
    with connect(server, "pop3") as c:
        r1 = c.pop_cmd("USER " + user)
        if r1.startswith("+OK"):
            r1 = c.pop_cmd("PASS " + USERS[user])
        assert r1.startswith("-ERR [AUTH]"), r1
        assert "plaintext" in r1.lower(), r1
        cred = base64.b64encode(b"\0" + user.encode() + b"\0" +
                                USERS[user].encode()).decode()
        r2 = c.pop_cmd("AUTH PLAIN " + cred)
        assert r2.startswith("-ERR [AUTH]"), r2
        assert c.pop_cmd("STAT").startswith("-ERR")
        assert c.pop_cmd("QUIT").startswith("+OK")


def test_stls_user_pass(server):
    user = "p1@example.test"
    p = pop3_plain(server)
    p.stls(context=server.ssl_context())
    p.user(user)
    assert p.pass_(USERS[user]).startswith(b"+OK")
    p.stat()
    p.quit()


def test_stls_injection(server):
    user = "p1@example.test"
    with connect(server, "pop3") as c:
        c.send(b"STLS\r\nUSER " + user.encode() + b"\r\n")
        r = c.pop_line()
        assert r.startswith("+OK"), r
        assert c.starttls(server.ssl_context()) == b""
        # The injected USER never ran, so PASS has no user to go with.
        r = c.pop_cmd("PASS " + USERS[user])
        assert r.startswith("-ERR"), r
        assert c.pop_cmd("STAT").startswith("-ERR")


def test_pop3s_user_pass(server):
    user = "p1@example.test"
    token = unique("upass").encode()
    server.send(user, simple_message(token.decode()))
    p = server.pop3s(user, USERS[user])
    try:
        count, size = p.stat()
        # STAT must describe the maildrop: every message, its octets.
        listed = [int(l.split()[1]) for l in p.list()[1]]
        assert count == len(listed) and count >= 1, (count, listed)
        assert size == sum(listed), (size, listed)
        _, lines, octets = p.retr(count)
        assert token in b"\r\n".join(lines)
    finally:
        p.quit()


@pytest.mark.parametrize("initial", [True, False])
def test_auth_plain(server, initial):
    user = "p2@example.test"
    cred = base64.b64encode(b"\0" + user.encode() + b"\0" +
                            USERS[user].encode()).decode()
    with connect(server, "pop3s") as c:
        if initial:
            r = c.pop_cmd("AUTH PLAIN " + cred)
        else:
            r = c.pop_cmd("AUTH PLAIN")
            assert r.startswith("+"), r
            r = c.pop_cmd(cred)
        assert r.startswith("+OK"), r
        assert c.pop_cmd("STAT").startswith("+OK")
        assert c.pop_cmd("QUIT").startswith("+OK")


def test_auth_plain_bad(server):
    user = "p2@example.test"
    cred = base64.b64encode(b"\0" + user.encode() + b"\0wrong").decode()
    with connect(server, "pop3s") as c:
        r = c.pop_cmd("AUTH PLAIN " + cred)
        assert r.startswith("-ERR [AUTH]"), r


def test_bad_password(server):
    with pytest.raises(poplib.error_proto) as e:
        server.pop3s("p3@example.test", "wrong-password")
    assert e.value.args[0].startswith(b"-ERR [AUTH]"), e.value.args
    with pytest.raises(poplib.error_proto) as e:
        server.pop3s("nobody@example.test", "whatever")
    assert e.value.args[0].startswith(b"-ERR [AUTH]"), e.value.args


def test_commands(server):
    user = "p4@example.test"
    tokens = deliver(server, user, 3)
    p = server.pop3s(user, USERS[user])
    count, total = p.stat()
    assert count == 3
    resp, listing, _ = p.list()
    sizes = {int(l.split()[0]): int(l.split()[1]) for l in listing}
    assert sorted(sizes) == [1, 2, 3]
    assert sum(sizes.values()) == total
    assert p.list(2).split()[:2] == [b"+OK", b"2"]
    for i in (1, 2, 3):
        _, lines, octets = p.retr(i)
        text = b"".join(l + b"\r\n" for l in lines)
        assert len(text) == sizes[i], (i, len(text), sizes[i])
        assert tokens[i - 1].encode() in text   # delivery order kept
    # TOP n 0: headers and the blank line only; TOP n 1: one body line.
    _, lines, _ = p.top(1, 0)
    assert b"" in lines and not any(b"body of" in l for l in lines)
    assert any(l.startswith(b"Subject: ") for l in lines)
    _, lines, _ = p.top(1, 1)
    assert lines[-1] == b"body of " + tokens[0].encode()
    resp, uids, _ = p.uidl()
    uidl = [l.split()[1] for l in uids]
    assert len(set(uidl)) == 3
    assert p.uidl(2).split()[2] == uidl[1]
    assert p.noop().startswith(b"+OK")
    # DELE hides the message; RSET brings it back.
    assert p.dele(1).startswith(b"+OK")
    assert p.stat()[0] == 2
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    with pytest.raises(poplib.error_proto):
        p.dele(1)
    assert p.rset().startswith(b"+OK")
    assert p.stat() == (3, total)
    p.dele(2)
    assert p.quit().startswith(b"+OK")
    # Deletion took effect at QUIT.
    p = server.pop3s(user, USERS[user])
    assert p.stat()[0] == 2
    _, uids, _ = p.uidl()
    assert [l.split()[1] for l in uids] == [uidl[0], uidl[2]]
    p.quit()


def pop3_login(c, user):
    """USER and PASS of user on the raw client c, both accepted."""
    assert c.pop_cmd("USER " + user).startswith("+OK")
    assert c.pop_cmd("PASS " + USERS[user]).startswith("+OK")


def test_bad_message_numbers(server):
    user = "p5@example.test"
    deliver(server, user, 1)
    with connect(server, "pop3s") as c:
        pop3_login(c, user)
        for cmd in ("RETR 0", "RETR 99", "LIST 7", "DELE -1", "TOP 1",
                    "RETR abc", "UIDL 4294967296"):
            r = c.pop_cmd(cmd)
            assert r.startswith("-ERR"), (cmd, r)
        assert c.pop_cmd("RETR 1").startswith("+OK")
        c.pop_multi()
        assert c.pop_cmd("QUIT").startswith("+OK")


def test_disconnect_without_quit_deletes_nothing(server):
    user = "p6@example.test"
    deliver(server, user, 2)
    with connect(server, "pop3s") as c:
        pop3_login(c, user)
        assert c.pop_cmd("DELE 1").startswith("+OK")
        assert c.pop_cmd("DELE 2").startswith("+OK")
    # The mailbox lock is released when the server sees the close; poll.
    p = None
    for _ in range(50):
        try:
            p = server.pop3s(user, USERS[user])
            break
        except poplib.error_proto as e:
            assert b"[IN-USE]" in e.args[0], e.args
            import time
            time.sleep(0.1)
    assert p is not None
    assert p.stat()[0] == 2
    p.quit()


def test_in_use(server):
    user = "p7@example.test"
    first = server.pop3s(user, USERS[user])
    try:
        with pytest.raises(poplib.error_proto) as e:
            server.pop3s(user, USERS[user])
        assert e.value.args[0].startswith(b"-ERR [IN-USE]"), e.value.args
    finally:
        first.quit()
    again = server.pop3s(user, USERS[user])
    again.quit()


def test_uidl_stable_across_sessions_and_restart(server_factory):
    user = "alice@example.test"
    srv = server_factory()
    deliver(srv, user, 3)

    def uidl():
        p = srv.pop3s(user)
        try:
            return [l.split()[1] for l in p.uidl()[1]]
        finally:
            p.quit()

    first = uidl()
    assert len(set(first)) == 3
    assert uidl() == first
    srv.restart()
    assert uidl() == first
    # Deleting one leaves the others' UIDs unchanged; a new message gets a
    # UID never used before.
    p = srv.pop3s(user)
    p.dele(1)
    p.quit()
    deliver_more = unique("later")
    srv.send(user, simple_message(deliver_more))
    srv.wait_messages(user, 3)
    now = uidl()
    assert now[:2] == first[1:]
    assert now[2] not in first


def test_retr_dot_stuffing(server):
    user = "p8@example.test"
    token = unique("dots")
    body = ".starts with dot\r\n..two\r\n.\r\nend\r\n"
    s = server.smtp()
    s.sendmail("a@remote.test", [user], simple_message(token, body=body))
    s.quit()
    msgs = server.wait_messages(user, 1, token.encode())
    assert len(msgs) == 1
    assert msgs[0].endswith(body.encode()), msgs[0]
