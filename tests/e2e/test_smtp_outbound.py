"""The SMTP server side of the outbound queue: the DSN extension (RFC 3461)
on MAIL and RCPT, remote recipients accepted from authenticated clients
only (never an open relay), aliases forwarding outside, the queue rows
committed with the message (seen with `postel queue show`), and the mail
loop limit (RFC 5321 §6.3).

No mail leaves the machine: the queue's resolver is a closed loopback
port, so remote recipients stay pending."""

import imaplib
import time

import pytest

from conftest import free_ports, queued_id, unique
from rawclient import connect

SERVER_CONFIG = {
    # Loopback only: nothing answers there, so nothing is resolved (and
    # retries wait long enough not to change what the tests look at).
    "resolver": "127.0.0.1:%d" % free_ports(1)[0],
    "retry_min": 3600,
}
ALICE = "alice@example.test"
BOB = "bob@example.test"
REMOTE = "friend@elsewhere.test"


def message(token, sender=ALICE, extra_headers=""):
    return ("%sFrom: %s\r\nTo: someone@example.test\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.test>\r\n\r\nhello %s\r\n" %
            (extra_headers, sender, token, token, token)).encode()


def queue_show(server, qid):
    r = server.cli("queue", "show", qid)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def queue_list(server):
    r = server.cli("queue", "list")
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def raw_submission(server):
    """A RawClient on 465, authenticated as alice."""
    import base64
    c = connect(server, "submissions")
    c.ehlo()
    cred = base64.b64encode(b"\0" + ALICE.encode() + b"\0" +
                            server.users[ALICE].encode()).decode()
    code, lines = c.cmd("AUTH PLAIN " + cred)
    assert code == 235, (code, lines)
    return c


def imap_has(server, user, token):
    m = server.imaps(user)
    try:
        m.select("INBOX")
        typ, data = m.search(None, "SUBJECT", token)
        return typ == "OK" and data[0].split() != []
    finally:
        m.logout()


# -- the DSN extension ------------------------------------------------------

@pytest.mark.parametrize("proto", ["smtp", "submission", "submissions"])
def test_dsn_advertised(server, proto):
    s = server.smtp(proto)
    try:
        s.ehlo()
        if proto == "submission":
            s.starttls(context=server.ssl_context())
            s.ehlo()
        assert s.has_extn("dsn"), s.esmtp_features
    finally:
        s.quit()


def test_dsn_parameters_accepted(server):
    token = unique("dsnok")
    with connect(server) as c:
        c.ehlo()
        code, lines = c.cmd("MAIL FROM:<sender@remote.test> RET=HDRS "
                            "ENVID=QQ+2B314159")
        assert code == 250, lines
        for rcpt in ("RCPT TO:<%s> NOTIFY=FAILURE,delay "
                     "ORCPT=rfc822;alice+2Bx@example.test" % ALICE,
                     "RCPT TO:<%s> notify=never ORCPT=UTF-8;b\\x{E9}b@"
                     "example.test" % BOB):
            code, lines = c.cmd(rcpt)
            assert code == 250 and lines[-1].startswith("2.1.5"), lines
        assert c.cmd("DATA")[0] == 354
        c.send(message(token, "sender@remote.test") + b".\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        c.cmd("QUIT")
    assert len(server.wait_messages(ALICE, 1, token.encode())) == 1
    assert len(server.wait_messages(BOB, 1, token.encode())) == 1


REFUSED = [
    ("MAIL FROM:<s@remote.test> RET=ALL", None, 501, "5.5.4"),
    ("MAIL FROM:<s@remote.test> RET=FULL RET=HDRS", None, 501, "5.5.4"),
    ("MAIL FROM:<s@remote.test> ENVID=" + "x" * 101, None, 501, "5.5.4"),
    ("MAIL FROM:<s@remote.test> ENVID=a+2", None, 501, "5.5.4"),
    ("MAIL FROM:<s@remote.test> ENVID=a+0D+0ABcc:x", None, 501, "5.5.4"),
    ("MAIL FROM:<s@remote.test> ENVID=a ENVID=b", None, 501, "5.5.4"),
    ("MAIL FROM:<s@remote.test> NOTIFY=SUCCESS", None, 555, "5.5.4"),
    (None, "NOTIFY=NEVER,SUCCESS", 501, "5.5.4"),
    (None, "NOTIFY=SUCCESS,SUCCESS", 501, "5.5.4"),
    (None, "NOTIFY=SOMETIMES", 501, "5.5.4"),
    (None, "NOTIFY=FAILURE NOTIFY=DELAY", 501, "5.5.4"),
    (None, "ORCPT=alice@example.test", 501, "5.5.4"),
    (None, "ORCPT=x400;alice@example.test", 501, "5.5.4"),
    (None, "ORCPT=rfc822;" + "a" * 495, 501, "5.5.4"),
    (None, "ORCPT=rfc822;a+0Ab@example.test", 501, "5.5.4"),
    (None, "ORCPT=rfc822;a@b ORCPT=rfc822;c@d", 501, "5.5.4"),
    (None, "RET=FULL", 555, "5.5.4"),
    (None, "ENVID=abc", 555, "5.5.4"),
]


@pytest.mark.parametrize("mail,rcpt_params,code,enh", REFUSED)
def test_dsn_parameters_refused(server, mail, rcpt_params, code, enh):
    with connect(server) as c:
        c.ehlo()
        got, lines = c.cmd(mail or "MAIL FROM:<s@remote.test>")
        if rcpt_params is not None:
            assert got == 250, lines
            got, lines = c.cmd("RCPT TO:<%s> %s" % (ALICE, rcpt_params))
        assert (got, lines[-1].split(" ", 1)[0]) == (code, enh), lines
        # The session goes on: a clean command still works.
        assert c.cmd("RSET")[0] == 250


# -- remote recipients and relaying -----------------------------------------

@pytest.mark.parametrize("proto", ["submission", "submissions"])
def test_remote_recipient_after_auth_queued(server, proto):
    token = unique("remote")
    s = server.smtp_auth(proto)
    try:
        s.mail(ALICE)
        code, msg = s.rcpt(REMOTE)
        assert (code, msg[:5]) == (250, b"2.1.5"), (code, msg)
        code, msg = s.data(message(token))
        assert code == 250, (code, msg)
    finally:
        s.quit()
    qid = queued_id(msg)
    out = queue_show(server, qid)
    assert REMOTE in out, out
    assert server.wait_log(lambda l: "event=queue" in l and
                           ("msg=%s" % qid) in l and REMOTE in l)
    assert qid in queue_list(server)


def test_remote_recipient_refused_on_port_25(server):
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>")[0] == 250
        code, lines = c.cmd("RCPT TO:<%s>" % REMOTE)
        assert code == 554 and lines[-1].startswith("5.7.1"), lines


@pytest.mark.parametrize("proto", ["submission", "submissions"])
def test_remote_recipient_refused_before_auth(server, proto):
    with connect(server, proto) as c:
        c.ehlo()
        if proto == "submission":
            assert c.cmd("STARTTLS")[0] == 220
            c.starttls(server.ssl_context())
            c.ehlo()
        code, lines = c.cmd("MAIL FROM:<%s>" % ALICE)
        assert code == 530 and lines[-1].startswith("5.7.0"), lines
        code, lines = c.cmd("RCPT TO:<%s>" % REMOTE)
        assert code == 503, lines


# Addresses that route elsewhere by old conventions, or look hosted but
# are not: on port 25, none may be taken for another domain.
RELAY_TRICKS = [
    "{u}@elsewhere.test@example.test",   # user@other@ours
    "{u}%elsewhere.test@example.test",   # the %-hack
    "@example.test:{u}@elsewhere.test",  # source route
    "@example.test,@mail.test:{u}@elsewhere.test",
    '"{u}@elsewhere.test"@example.test',  # quoted local part
    '"{u}"@elsewhere.test',
    "{u}@elsewhere.test.",
    "{u}@[127.0.0.1]",
    "{u}!elsewhere.test@example.test",   # bang path
]


@pytest.mark.parametrize("rcpt", RELAY_TRICKS)
def test_never_an_open_relay(server, rcpt):
    u = unique("relay")
    rcpt = rcpt.replace("{u}", u)
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>")[0] == 250
        code, lines = c.cmd("RCPT TO:<%s>" % rcpt)
        assert code in (501, 550, 553, 554), (rcpt, code, lines)
        # Nothing was taken for it: DATA has no recipient to go to.
        assert c.cmd("DATA")[0] in (503, 554)
        assert c.cmd("QUIT")[0] == 221


@pytest.mark.parametrize("proto", ["smtp", "submissions"])
def test_hosted_domain_with_trailing_dot_is_local(server, proto):
    """alice@example.test. names our domain (an absolute name): delivered
    here, on port 25 as after AUTH, never queued for another host."""
    token = unique("dot")
    c = connect(server) if proto == "smtp" else raw_submission(server)
    with c:
        if proto == "smtp":
            c.ehlo()
        assert c.cmd("MAIL FROM:<%s>" % ALICE)[0] == 250
        code, lines = c.cmd("RCPT TO:<ALICE@Example.Test.>")
        assert code == 250, lines
        assert c.cmd("DATA")[0] == 354
        c.send(message(token) + b".\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        qid = queued_id(lines[-1])
        c.cmd("QUIT")
    assert imap_has(server, ALICE, token)
    r = server.cli("queue", "show", qid)
    assert r.returncode != 0 or "example.test" not in r.stdout.lower(), \
        r.stdout


def test_mixed_local_and_remote(server):
    token = unique("mixed")
    with raw_submission(server) as c:
        code, lines = c.cmd("MAIL FROM:<%s> RET=HDRS ENVID=env+2B%s" %
                            (ALICE, token))
        assert code == 250, lines
        assert c.cmd("RCPT TO:<%s>" % BOB)[0] == 250
        code, lines = c.cmd("RCPT TO:<%s> NOTIFY=SUCCESS,FAILURE "
                            "ORCPT=rfc822;orig+2B1@elsewhere.test" % REMOTE)
        assert code == 250, lines
        assert c.cmd("DATA")[0] == 354
        c.send(message(token) + b".\r\n")
        code, lines = c.reply()
        assert code == 250 and len(lines) == 1, lines
        qid = queued_id(lines[-1])
        c.cmd("QUIT")
    assert imap_has(server, BOB, token)
    out = queue_show(server, qid)
    low = out.lower()
    assert REMOTE in out, out
    assert "orig+1@elsewhere.test" in out, out
    assert "env+" + token in out, out
    assert "success" in low and "failure" in low, out
    assert "hdrs" in low, out
    # bob was delivered here and asked nothing: no row for him.
    assert BOB not in out, out
    assert len(server.wait_log(lambda l: "event=queue" in l and
                               ("msg=%s" % qid) in l)) == 1
    assert server.wait_log(lambda l: "event=deliver" in l and
                           ("msg=%s" % qid) in l and BOB in l)


def test_alias_to_external_queued_from_port_25(server):
    token = unique("fwd")
    alias = "fwd-%s@example.test" % token
    server.cli("alias", "add", alias, "ext-%s@elsewhere.test" % token,
               check=True)
    server.cli("alias", "add", "both-%s@example.test" % token, BOB,
               "ext-%s@elsewhere.test" % token, check=True)
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>")[0] == 250
        code, lines = c.cmd("RCPT TO:<%s>" % alias)
        assert code == 250, lines
        code, lines = c.cmd("RCPT TO:<both-%s@example.test>" % token)
        assert code == 250, lines
        assert c.cmd("DATA")[0] == 354
        c.send(message(token, "s@remote.test") + b".\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        qid = queued_id(lines[-1])
        c.cmd("QUIT")
    out = queue_show(server, qid)
    # One row for the one external address, its ORCPT the alias given.
    assert out.count("ext-%s@elsewhere.test" % token) == 1, out
    assert ("rfc822;" + alias) in out, out
    assert imap_has(server, BOB, token)


def test_notify_success_on_local_recipient(server):
    token = unique("succ")
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>")[0] == 250
        code, lines = c.cmd("RCPT TO:<%s> NOTIFY=SUCCESS" % ALICE)
        assert code == 250, lines
        assert c.cmd("DATA")[0] == 354
        c.send(message(token, "s@remote.test") + b".\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        qid = queued_id(lines[-1])
        c.cmd("QUIT")
    assert imap_has(server, ALICE, token)
    # The row queued SENT with the "delivered" notice owed: the running
    # queue sends that notice (to s@remote.test, queued with the null
    # sender) and retires the row, so look for either.
    deadline = time.monotonic() + 10
    while True:
        r = server.cli("queue", "show", qid)
        low = r.stdout.lower()
        if r.returncode == 0:
            assert ALICE in r.stdout, r.stdout
            assert "sent" in low and "deliver" in low, r.stdout
            break
        if any("event=dsn " in l and "orig=%s " % qid in l and
               "action=delivered" in l
               for l in server.stderr_text().splitlines()):
            break
        assert time.monotonic() < deadline, r.stderr
        time.sleep(0.1)


# -- loops --------------------------------------------------------------------

def send_with_received(server, n, token):
    hops = "".join("Received: from hop%d.test by hop%d.test; "
                   "Mon, 7 Dec 2026 06:00:00 +0000\r\n" % (i, i + 1)
                   for i in range(n))
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(message(token, "s@remote.test", hops) + b".\r\n")
        code, lines = c.reply()
        c.cmd("QUIT")
    return code, lines


def test_mail_loop_refused(server):
    token = unique("loop")
    before = queue_list(server)
    code, lines = send_with_received(server, 31, token)
    assert code == 554 and lines[-1].startswith("5.4.6"), lines
    assert server.wait_log(lambda l: "event=reject" in l and
                           "reason=loop" in l)
    assert not imap_has(server, ALICE, token)
    assert queue_list(server) == before
    ok = unique("hops30")
    code, lines = send_with_received(server, 30, ok)
    assert code == 250, lines
    assert imap_has(server, ALICE, ok)


def test_mail_loop_refused_remote(server):
    token = unique("loopq")
    hops = "".join("Received: from a by b; Mon, 7 Dec 2026 06:00:00 "
                   "+0000\r\n" for _ in range(31))
    before = queue_list(server)
    s = server.smtp_auth("submissions")
    try:
        s.mail(ALICE)
        assert s.rcpt(REMOTE)[0] == 250
        code, msg = s.data(message(token, ALICE, hops))
        assert (code, msg[:5]) == (554, b"5.4.6"), (code, msg)
    finally:
        s.quit()
    assert queue_list(server) == before


def test_loop_refused_over_bdat(server):
    token = unique("loopb")
    before = queue_list(server)
    hops = "".join("Received: from a by b; Mon, 7 Dec 2026 06:00:00 "
                   "+0000\r\n" for _ in range(31))
    body = message(token, "s@remote.test", hops)
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        code, lines = c.reply()
        assert code == 554 and lines[-1].startswith("5.4.6"), lines
        assert c.cmd("NOOP")[0] == 250
    assert not imap_has(server, ALICE, token)
    assert queue_list(server) == before


# -- the envelope's flags -----------------------------------------------------

@pytest.mark.parametrize("mail_params,body8,flags", [
    ("", False, []),
    ("BODY=8BITMIME", False, ["8BITMIME"]),
    ("", True, ["8BITMIME"]),
    ("SMTPUTF8", False, ["SMTPUTF8"]),
])
def test_queue_flags(server, mail_params, body8, flags):
    token = unique("flags")
    body = message(token)
    if body8:
        body = body.replace(b"hello", "h\u00e9llo".encode())
    with raw_submission(server) as c:
        code, lines = c.cmd(("MAIL FROM:<%s> %s" % (ALICE, mail_params))
                            .strip())
        assert code == 250, lines
        assert c.cmd("RCPT TO:<%s>" % REMOTE)[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(body + b".\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        qid = queued_id(lines[-1])
        c.cmd("QUIT")
    line = [l for l in queue_show(server, qid).splitlines()
            if l.startswith("flags:")][0]
    got = line.split(":", 1)[1].split()
    assert sorted(f for f in got if f != "none") == sorted(flags), line


def test_notify_success_from_null_sender_queues_nothing(server):
    token = unique("nullsucc")
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<>")[0] == 250
        assert c.cmd("RCPT TO:<%s> NOTIFY=SUCCESS" % ALICE)[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(message(token, "s@remote.test") + b".\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        qid = queued_id(lines[-1])
        c.cmd("QUIT")
    assert imap_has(server, ALICE, token)
    # Nothing queued for it (the running queue changes the list
    # meanwhile, so the log of this message is what tells).
    assert not [l for l in server.stderr_text().splitlines()
                if "event=queue " in l and "msg=%s " % qid in l]
