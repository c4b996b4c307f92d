"""IMAP session basics (RFC 9051): greeting, CAPABILITY, NOOP, LOGOUT,
STARTTLS with LOGINDISABLED, LOGIN, AUTHENTICATE PLAIN with SASL-IR, ENABLE,
ID, NAMESPACE, bad input and the literal size limit."""

import base64
import imaplib
import socket

import pytest

from rawclient import RawClient

USERS = {"i%d@example.test" % i: "imap-Secret-%d" % i for i in range(1, 6)}
SERVER_USERS = USERS
U1 = "i1@example.test"


def caps_of(m):
    return set(c.upper() for c in m.capabilities)


def raw(server, proto="imap"):
    host, port = server.addr(proto)
    c = RawClient(host, port,
                  tls_ctx=server.ssl_context() if proto == "imaps" else None)
    return c


def untagged_until(c, tag):
    """Lines up to and including the tagged reply."""
    lines = []
    while True:
        l = c.read_line()
        assert l, "connection closed; got %r" % lines
        lines.append(l.decode("utf-8", "replace").rstrip("\r\n"))
        if lines[-1].startswith(tag + " "):
            return lines


def test_greeting_and_capability_plain(server):
    c = raw(server)
    g = c.read_line().decode()
    assert g.startswith("* OK [CAPABILITY "), g
    assert "LOGINDISABLED" in g and "STARTTLS" in g, g
    assert "AUTH=PLAIN" not in g
    c.line("a1 CAPABILITY")
    lines = untagged_until(c, "a1")
    assert lines[-1].startswith("a1 OK"), lines
    assert "IMAP4rev2" in lines[0] and "IMAP4rev1" in lines[0]
    c.line("a2 LOGIN x y")
    lines = untagged_until(c, "a2")
    assert lines[-1].startswith("a2 NO"), lines
    c.line("a3 LOGOUT")
    lines = untagged_until(c, "a3")
    assert lines[0].startswith("* BYE"), lines
    assert lines[-1].startswith("a3 OK"), lines
    assert c.closed()


def test_starttls_then_login(server):
    m = server.imap()
    assert "LOGINDISABLED" in caps_of(m)
    m.starttls(ssl_context=server.ssl_context())
    caps = caps_of(m)
    assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps, caps
    assert "AUTH=PLAIN" in caps, caps
    typ, _ = m.login(U1, USERS[U1])
    assert typ == "OK"
    typ, data = m.capability()
    caps = data[0].decode().upper().split()
    assert "LOGINDISABLED" not in caps and "AUTH=PLAIN" not in caps, caps
    assert m.noop()[0] == "OK"
    m.logout()


def test_starttls_injection_ignored(server):
    c = raw(server)
    c.read_line()
    # A command sent together with STARTTLS must never run (RFC 9051
    # §6.2.1): the server discards plaintext read before the handshake.
    c.send(b"a1 STARTTLS\r\na2 LOGOUT\r\n")
    l = c.read_line().decode()
    assert l.startswith("a1 OK"), l
    c.sock = server.ssl_context().wrap_socket(c.sock,
                                              server_hostname="localhost")
    c.line("a3 NOOP")
    l = c.read_line().decode()
    assert l.startswith("a3 OK"), l


def test_login_imaps_and_bad_password(server):
    m = server.imaps(U1)
    assert m.state == "AUTH"
    m.logout()
    m = server.imaps()
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login(U1, "wrong")
    assert "AUTHENTICATIONFAILED" in str(e.value)
    m.shutdown()


def test_authenticate_plain_sasl_ir(server):
    c = raw(server, "imaps")
    c.read_line()
    tok = base64.b64encode(b"\0%s\0%s" % (U1.encode(), USERS[U1].encode()))
    c.line(b"a1 AUTHENTICATE PLAIN " + tok)
    lines = untagged_until(c, "a1")
    assert lines[-1].startswith("a1 OK"), lines


def test_authenticate_plain_continuation(server):
    m = server.imaps()
    u2 = "i2@example.test"
    typ, _ = m.authenticate(
        "PLAIN", lambda _: b"\0%s\0%s" % (u2.encode(), USERS[u2].encode()))
    assert typ == "OK"
    m.logout()


def test_enable_id_namespace(server):
    m = server.imaps(U1)
    typ, data = m._simple_command("ENABLE", "IMAP4rev2", "CONDSTORE")
    assert typ == "OK"
    enabled = m.untagged_responses.get("ENABLED", [b""])[0].decode()
    assert "IMAP4REV2" in enabled.upper() and "CONDSTORE" in enabled.upper()
    typ, data = m.xatom("ID", "NIL")
    assert typ == "OK"
    assert m.untagged_responses.get("ID")
    typ, data = m.namespace()
    assert typ == "OK"
    assert b'(("" "/")) NIL NIL' in data[0]
    m.logout()


def test_bad_commands(server):
    c = raw(server, "imaps")
    c.read_line()
    c.line("a1 FROBNICATE")
    assert c.read_line().startswith(b"a1 BAD")
    c.line("a2 SELECT INBOX")
    assert c.read_line().startswith(b"a2 BAD")
    c.line('a3 LOGIN "unterminated')
    assert c.read_line().startswith(b"a3 BAD")
    c.line("")
    assert b"BAD" in c.read_line()
    c.line("a4 NOOP")
    assert c.read_line().startswith(b"a4 OK")


def test_literal_too_big_refused_before_reading(server):
    c = raw(server, "imaps")
    c.read_line()
    c.line("a1 LOGIN {999999999}")
    l = c.read_line()
    assert l.startswith(b"a1 BAD [TOOBIG]"), l
    # No continuation was sent, the session goes on.
    c.line("a2 NOOP")
    assert c.read_line().startswith(b"a2 OK")
    # A non-synchronising literal that is too big ends the session.
    c.line("a3 LOGIN {999999999+}")
    l = c.read_line()
    assert l.startswith(b"a3 BAD [TOOBIG]"), l
    assert c.closed()


def test_synchronising_literal_login(server):
    c = raw(server, "imaps")
    c.read_line()
    pw = USERS[U1].encode()
    c.line(b"a1 LOGIN {%d}" % len(U1))
    assert c.read_line().startswith(b"+ ")
    c.send(U1.encode() + b" {%d+}\r\n" % len(pw) + pw + b"\r\n")
    lines = untagged_until(c, "a1")
    assert lines[-1].startswith("a1 OK"), lines


def test_pipelined_commands(server):
    c = raw(server, "imaps")
    c.read_line()
    c.send(b"a1 NOOP\r\na2 CAPABILITY\r\na3 NOOP\r\n")
    lines = untagged_until(c, "a3")
    tags = [l.split()[0] for l in lines if not l.startswith("*")]
    assert tags == ["a1", "a2", "a3"], lines
