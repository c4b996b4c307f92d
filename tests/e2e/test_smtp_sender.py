"""Sender identity on submission: MAIL FROM and the message's
From:/Sender: must be addresses the authenticated account may use (its own,
+tag forms, aliases that deliver to it, administrator grants; never a
catch-all), refused with 550 5.7.1 naming the rule; port 25 is unaffected
and `sender_check = no` turns the check off."""

import base64
import smtplib

import pytest

from conftest import launch, finish, unique
from rawclient import connect

ALICE = "alice@example.test"
BOB = "bob@example.test"
RULE = "not owned by authenticated user alice@example.test"


@pytest.fixture(scope="module")
def srv():
    s = launch(domains=["example.test", "other.test"])
    try:
        s.cli("alias", "add", "sales@example.test", ALICE, check=True)
        s.cli("alias", "add", "chain@other.test", "sales@example.test",
              check=True)
        # A catch-all that delivers to alice grants her nothing.
        s.cli("alias", "add", "@other.test", ALICE, check=True)
        s.cli("user", "allow-sender", ALICE, "Boss@Granted.test",
              check=True)
        s.cli("user", "allow-sender", ALICE, "@grantdom.test", check=True)
        yield s
    finally:
        finish(s)


def message(token, frm=ALICE, extra=""):
    return ("From: %s\r\nTo: bob@example.test\r\n%sSubject: %s\r\n"
            "Message-ID: <%s@example.test>\r\n\r\nbody %s\r\n" %
            (frm, extra, token, token, token)).encode()


def count(srv, user, token):
    return sum(1 for m in srv.fetch_all(user) if token.encode() in m)


def submit(srv, sender, body, proto="submission", rcpt=BOB):
    """(MAIL reply, DATA reply or None) on a fresh authenticated session."""
    s = srv.smtp_auth(proto)
    try:
        mail = s.mail(sender)
        if mail[0] != 250:
            return mail, None
        assert s.rcpt(rcpt)[0] == 250
        try:
            s.putcmd("data")
            code, msg = s.getreply()
            assert code == 354, (code, msg)
            s.send(body.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
            return mail, s.getreply()
        except smtplib.SMTPResponseException as e:
            return mail, (e.smtp_code, e.smtp_error)
    finally:
        s.close()


@pytest.mark.parametrize("sender,frm", [
    (ALICE, ALICE),
    ("Alice@Example.TEST", "Alice <alice@EXAMPLE.test>"),
    ("alice+lists@example.test", "alice+lists@example.test"),
    ("sales@example.test", "Sales <sales@example.test>"),
    ("chain@other.test", "chain@other.test"),
    ("boss@granted.test", "The Boss <boss@granted.test>"),
    ("boss+x@granted.test", "boss+x@granted.test"),
    ("anyone@grantdom.test", "anyone@grantdom.test"),
    (ALICE, '"Alice A." <"alice"@example.test> (work)'),
])
def test_allowed_senders(srv, sender, frm):
    token = unique("ok")
    mail, data = submit(srv, sender, message(token, frm))
    assert mail[0] == 250, mail
    assert data[0] == 250, data
    assert count(srv, BOB, token) == 1


@pytest.mark.parametrize("sender", [
    BOB,                        # another user
    "someone@remote.test",      # not hosted here
    "nobody@example.test",      # hosted domain, no such address
    "anything@other.test",      # only the catch-all delivers it to alice
    "x@sub.grantdom.test",      # a domain grant is not for subdomains
    "boss2@granted.test",
])
@pytest.mark.parametrize("proto", ["submission", "submissions"])
def test_refused_at_mail(srv, sender, proto):
    mail, _ = submit(srv, sender, b"", proto=proto)
    assert mail[0] == 550, mail
    text = mail[1].decode()
    assert text.startswith("5.7.1 "), text
    assert "<%s>" % sender in text and RULE in text, text


def test_null_sender_refused_on_submission(srv):
    s = srv.smtp_auth()
    try:
        code, msg = s.mail("<>")
        assert code == 550 and msg.startswith(b"5.7.1"), (code, msg)
        assert b"alice@example.test" in msg
        # The transaction is gone: RCPT needs a new MAIL.
        assert s.rcpt(BOB)[0] == 503
        assert s.mail(ALICE)[0] == 250
    finally:
        s.close()


@pytest.mark.parametrize("frm,bad", [
    (BOB, BOB),
    ("Alice <alice@example.test>, Bob <bob@example.test>", BOB),
    ("alice@example.test, x@other.test", "x@other.test"),
    ('"Alice" <alice@remote.test>', "alice@remote.test"),
    ("alice", "alice"),
])
def test_from_mismatch_refused_nothing_stored(srv, frm, bad):
    token = unique("from")
    mail, data = submit(srv, ALICE, message(token, frm))
    assert mail[0] == 250
    assert data[0] == 550, data
    text = data[1].decode()
    assert text.startswith("5.7.1 From: address <%s>" % bad), text
    assert RULE in text, text
    assert count(srv, BOB, token) == 0
    assert count(srv, ALICE, token) == 0


def test_several_from_addresses_all_owned(srv):
    token = unique("multi")
    frm = "Alice <alice@example.test>, Sales <sales@example.test>"
    mail, data = submit(srv, ALICE, message(
        token, frm, "Sender: alice@example.test\r\n"))
    assert data[0] == 250, data
    assert count(srv, BOB, token) == 1


def test_foreign_sender_header_refused(srv):
    token = unique("sender")
    mail, data = submit(srv, ALICE, message(
        token, ALICE, "Sender: bob@example.test\r\n"))
    assert data[0] == 550, data
    assert data[1].decode().startswith("5.7.1 Sender: address "
                                       "<bob@example.test>"), data
    assert count(srv, BOB, token) == 0


def test_missing_from_refused(srv):
    token = unique("nofrom")
    body = ("To: bob@example.test\r\nSubject: %s\r\n\r\nx\r\n" %
            token).encode()
    mail, data = submit(srv, ALICE, body)
    assert data[0] == 550 and data[1].startswith(b"5.7.1"), data
    assert b"From:" in data[1]
    assert count(srv, BOB, token) == 0


def test_from_checked_against_own_address_not_mail_from(srv):
    """MAIL FROM may be an alias and From: the account itself."""
    token = unique("mix")
    mail, data = submit(srv, "sales@example.test", message(token, ALICE))
    assert data[0] == 250, data
    assert count(srv, BOB, token) == 1


def auth_raw(srv, proto="submissions"):
    c = connect(srv, proto)
    c.ehlo()
    cred = base64.b64encode(b"\0" + ALICE.encode() + b"\0" +
                            srv.users[ALICE].encode()).decode()
    code, lines = c.cmd("AUTH PLAIN " + cred)
    assert code == 235, (code, lines)
    return c


@pytest.mark.parametrize("frm,want", [(ALICE, 250), (BOB, 550)])
def test_bdat_path(srv, frm, want):
    token = unique("bdat")
    body = message(token, frm)
    half = len(body) // 2
    with auth_raw(srv) as c:
        assert c.cmd("MAIL FROM:<%s>" % ALICE)[0] == 250
        assert c.cmd("RCPT TO:<%s>" % BOB)[0] == 250
        c.send(b"BDAT %d\r\n" % half + body[:half])
        assert c.reply()[0] == 250
        c.send(b"BDAT %d LAST\r\n" % (len(body) - half) + body[half:])
        code, lines = c.reply()
        assert code == want, (code, lines)
        if want == 550:
            assert lines[0].startswith("5.7.1 From: address <%s>" % BOB)
        # The session goes on either way.
        assert c.cmd("NOOP")[0] == 250
    assert count(srv, BOB, token) == (1 if want == 250 else 0)


def test_pipelined_after_refused_mail(srv):
    """A refused MAIL drops the transaction; pipelined RCPT/DATA get 503
    and nothing is stored."""
    token = unique("pipe")
    with auth_raw(srv) as c:
        c.send("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n" % (BOB, BOB))
        assert c.reply()[0] == 550
        assert c.reply()[0] == 503
        assert c.reply()[0] == 503
        c.send(b"From: x\r\n\r\n%s\r\n.\r\n" % token.encode())
        c.cmd("RSET")
    assert count(srv, BOB, token) == 0


def test_grants_apply_to_next_mail(srv):
    addr = unique("new") + "@granted.test"
    assert submit(srv, addr, b"")[0][0] == 550
    srv.cli("user", "allow-sender", ALICE, addr, check=True)
    token = unique("grant")
    mail, data = submit(srv, addr, message(token, addr))
    assert mail[0] == 250 and data[0] == 250, (mail, data)
    srv.cli("user", "deny-sender", ALICE, addr, check=True)
    assert submit(srv, addr, b"")[0][0] == 550


def test_port_25_unaffected(srv):
    token = unique("mx")
    reply = srv.send(BOB, message(token, "Bob <bob@example.test>"),
                     sender="bob@example.test")
    assert "queued as" in reply
    assert count(srv, BOB, token) == 1


def test_sender_check_off(server_factory):
    s = server_factory(config={"sender_check": "no"})
    token = unique("off")
    mail, data = submit(s, BOB, message(token, "bob@example.test"))
    assert mail[0] == 250 and data[0] == 250, (mail, data)
    mail, data = submit(s, "", message(unique("null"), "x@remote.test"))
    assert mail[0] == 250 and data[0] == 250, (mail, data)
    assert count(s, BOB, token) == 1


def test_bad_sender_check_value(server_factory):
    from conftest import Server
    s = Server(config={"sender_check": "maybe"})
    try:
        r = s.cli("domain", "list")
        assert r.returncode != 0
        assert "sender_check" in r.stderr
    finally:
        s.cleanup()


def test_huge_header_block_refused(srv):
    """A From: hidden after LIMIT_SMTP_HEADER_KEPT (64 KiB) of header
    fields cannot be checked: refused; one just inside is checked."""
    pad = "".join("X-Pad-%d: %s\r\n" % (i, "p" * 70) for i in range(900))
    assert len(pad) > 64 * 1024
    token = unique("huge")
    mail, data = submit(srv, ALICE, (pad + "From: bob@example.test\r\n"
                                     "Subject: %s\r\n\r\nx\r\n" % token)
                        .encode())
    assert data[0] == 550 and data[1].startswith(b"5.7.1"), data
    assert count(srv, BOB, token) == 0
    small = pad[:60 * 1024]
    small = small[:small.rindex("\r\n") + 2]
    mail, data = submit(srv, ALICE, (small + "From: bob@example.test\r\n"
                                     "\r\nx\r\n").encode())
    assert data[0] == 550 and b"<bob@example.test>" in data[1], data
    mail, data = submit(srv, ALICE, (small + "From: alice@example.test\r\n"
                                     "Subject: %s\r\n\r\nx\r\n" % token)
                        .encode())
    assert data[0] == 250, data
    assert count(srv, BOB, token) == 1


def test_empty_message_has_no_from(srv):
    with auth_raw(srv) as c:
        assert c.cmd("MAIL FROM:<%s>" % ALICE)[0] == 250
        assert c.cmd("RCPT TO:<%s>" % BOB)[0] == 250
        assert c.cmd("DATA")[0] == 354
        code, lines = c.cmd(".")
        assert code == 550 and "From:" in lines[0], (code, lines)
        assert c.cmd("MAIL FROM:<%s>" % ALICE)[0] == 250
        assert c.cmd("RCPT TO:<%s>" % BOB)[0] == 250
        code, lines = c.cmd("BDAT 0 LAST")
        assert code == 550 and "From:" in lines[0], (code, lines)
