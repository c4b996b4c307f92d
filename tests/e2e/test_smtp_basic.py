"""SMTP on the three ports with real clients (smtplib, swaks) and a few raw
exchanges where exact replies matter."""

import base64
import re
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import queued_id, simple_message, unique
from rawclient import Closed, RawClient, connect

SERVER_CONFIG = {
    "max_message_size": 10000,
    "max_recipients": 3,
    "max_auth_failures": 3,
    "auth_fail_delay_ms": 50,
}
ALICE = "alice@example.test"
BOB = "bob@example.test"


def plain_b64(user, pw):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()


def enh(lines):
    """The enhanced status code of a reply's last line."""
    return lines[-1].split(" ", 1)[0]


def own_message(token):
    """simple_message with alice's From:, as submission requires."""
    return simple_message(token).replace(b"From: sender@remote.test",
                                         b"From: alice@example.test")


def rcpt_reply(server, rcpt, proto="smtp"):
    s = server.smtp(proto) if proto == "smtp" else server.smtp_auth(proto)
    try:
        s.ehlo()
        s.mail("sender@remote.test" if proto == "smtp" else ALICE)
        return s.rcpt(rcpt)
    finally:
        s.quit()


# -- greeting and capabilities ----------------------------------------------

def test_greeting(server):
    for proto in ("smtp", "submission", "submissions"):
        host, port = server.addr(proto)
        ctx = server.ssl_context() if proto == "submissions" else None
        with RawClient(host, port, tls_ctx=ctx) as c:
            code, lines = c.reply()
            assert code == 220, (proto, lines)
            assert lines[0].startswith("mail.test ESMTP Postel"), lines


BASE_CAPS = ["PIPELINING", "SIZE 10000", "8BITMIME", "ENHANCEDSTATUSCODES",
             "SMTPUTF8", "CHUNKING"]


@pytest.mark.parametrize("proto", ["smtp", "submission"])
def test_ehlo_caps_before_and_after_starttls(server, proto):
    with connect(server, proto) as c:
        caps = c.ehlo()
        for cap in BASE_CAPS + ["STARTTLS"]:
            assert cap in caps, (cap, caps)
        assert not any(x.startswith("AUTH") for x in caps), caps
        code, lines = c.cmd("STARTTLS")
        assert code == 220, lines
        assert c.starttls(server.ssl_context()) == b""
        assert_tls_caps(c.ehlo())


def assert_tls_caps(caps):
    """EHLO on TLS: the base set, no STARTTLS, AUTH PLAIN and LOGIN."""
    for cap in BASE_CAPS:
        assert cap in caps, (cap, caps)
    assert "STARTTLS" not in caps
    auth = [x for x in caps if x.startswith("AUTH ")]
    assert auth and {"PLAIN", "LOGIN"} <= set(auth[0].split()[1:]), caps


def test_ehlo_caps_submissions(server):
    with connect(server, "submissions") as c:
        assert_tls_caps(c.ehlo())


def test_helo_works(server):
    with connect(server) as c:
        code, lines = c.cmd("HELO client.test")
        assert code == 250, lines


def test_help_vrfy_noop_rset_quit(server):
    with connect(server) as c:
        c.ehlo()
        code, _ = c.cmd("HELP")
        assert code == 214
        code, l1 = c.cmd("VRFY alice@example.test")
        assert code == 252 and enh(l1) == "2.5.0", l1
        code, l2 = c.cmd("VRFY nobody-here@example.test")
        assert code == 252 and l2 == l1, (l1, l2)   # reveals nothing
        code, lines = c.cmd("NOOP")
        assert code == 250 and enh(lines) == "2.0.0", lines
        code, lines = c.cmd("RSET")
        assert code == 250 and enh(lines) == "2.0.0", lines
        code, lines = c.cmd("QUIT")
        assert code == 221 and enh(lines) == "2.0.0", lines
        assert c.closed()


def test_unknown_command(server):
    with connect(server) as c:
        code, _ = c.cmd("FROBNICATE now")
        assert code == 500
        code, _ = c.cmd("NOOP")
        assert code == 250


def test_bad_sequence(server):
    with connect(server) as c:
        c.ehlo()
        code, _ = c.cmd("RCPT TO:<alice@example.test>")
        assert code == 503
        code, _ = c.cmd("DATA")
        assert code == 503


# -- delivery on port smtp --------------------------------------------------

def test_deliver_to_hosted_user(server):
    token = unique("basic")
    reply = server.send(ALICE, simple_message(token))
    assert "queued as" in reply
    msgs = server.wait_messages(ALICE, 1, token.encode())
    assert len(msgs) == 1
    assert b"Message-ID: <%s@remote.test>" % token.encode() in msgs[0]


def test_two_recipients_one_transaction(server):
    token = unique("two")
    server.send([ALICE, BOB], simple_message(token))
    assert len(server.wait_messages(ALICE, 1, token.encode())) == 1
    assert len(server.wait_messages(BOB, 1, token.encode())) == 1


def test_received_header(server):
    token = unique("rcvd")
    qid = queued_id(server.send(ALICE, simple_message(token)))
    msg = server.wait_messages(ALICE, 1, token.encode())[0]
    # Final delivery's lines (test_delivery_headers.py), then ours.
    assert msg.startswith(b"Return-Path: <sender@remote.test>\r\n"
                          b"Delivered-To: alice@example.test\r\n"
                          b"Received: "), msg[:200]
    head = msg.split(b"\r\nFrom: ", 1)[0]
    unfolded = re.sub(rb"\r\n[ \t]+", b" ", head).decode()
    assert "from client.test" in unfolded, unfolded
    assert "(127.0.0.1)" in unfolded or "[127.0.0.1]" in unfolded, unfolded
    assert "by mail.test" in unfolded, unfolded
    assert "with ESMTP" in unfolded, unfolded
    assert "id " + qid in unfolded, (qid, unfolded)
    assert "<alice@example.test>" in unfolded, unfolded
    assert ";" in unfolded


def test_unknown_user_550(server):
    code, msg = rcpt_reply(server, "nobody-at-all@example.test")
    assert code == 550 and msg.startswith(b"5.1.1"), (code, msg)


def test_relay_denied_554(server):
    code, msg = rcpt_reply(server, "someone@elsewhere.test")
    assert code == 554 and msg.startswith(b"5.7.1"), (code, msg)


def test_null_sender_accepted(server):
    token = unique("bounce")
    s = server.smtp()
    s.ehlo()
    s.mail("<>")
    assert s.rcpt(ALICE)[0] == 250
    assert s.data(simple_message(token))[0] == 250
    s.quit()
    assert len(server.wait_messages(ALICE, 1, token.encode())) == 1


# -- submission -------------------------------------------------------------

@pytest.mark.parametrize("proto", ["submission", "submissions"])
def test_submission_requires_auth(server, proto):
    s = server.smtp(proto)
    s.ehlo()
    if proto == "submission":
        s.starttls(context=server.ssl_context())
        s.ehlo()
    code, msg = s.mail("alice@example.test")
    assert code == 530 and msg.startswith(b"5.7.0"), (code, msg)
    s.quit()


def test_auth_before_tls_refused(server):
    with connect(server, "submission") as c:
        caps = c.ehlo()
        assert not any(x.startswith("AUTH") for x in caps)
        code, lines = c.cmd("AUTH PLAIN " + plain_b64(ALICE, server.users[ALICE]))
        assert code == 538 and enh(lines) == "5.7.11", (code, lines)
        code, lines = c.cmd("MAIL FROM:<alice@example.test>")
        assert code == 530, lines


@pytest.mark.parametrize("mech,initial", [("PLAIN", True), ("PLAIN", False),
                                          ("LOGIN", False)])
def test_starttls_auth_and_send(server, mech, initial):
    token = unique("sub" + mech)
    s = server.smtp("submission")
    s.ehlo()
    s.starttls(context=server.ssl_context())
    s.ehlo()
    s.user, s.password = ALICE, server.users[ALICE]
    obj = s.auth_plain if mech == "PLAIN" else s.auth_login
    code, msg = s.auth(mech, obj, initial_response_ok=initial)
    assert code == 235, (code, msg)
    # Submission: the From: must be the account's.
    s.sendmail("alice@example.test", [BOB], own_message(token))
    s.quit()
    assert len(server.wait_messages(BOB, 1, token.encode())) == 1


def test_submissions_implicit_tls(server):
    token = unique("smtps")
    s = server.smtp_auth("submissions")
    s.sendmail("alice+smtps@example.test", [BOB], own_message(token))
    s.quit()
    msg = server.wait_messages(BOB, 1, token.encode())[0]
    head = re.sub(rb"\r\n[ \t]+", b" ", msg.split(b"\r\nFrom: ", 1)[0])
    assert b"with ESMTPSA" in head, head


def test_wrong_password_535(server):
    s = server.smtp("submissions")
    s.ehlo()
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        s.login(ALICE, "not-the-password")
    assert e.value.smtp_code == 535
    assert e.value.smtp_error.startswith(b"5.7.8"), e.value.smtp_error
    s.close()


def test_unknown_user_auth_535(server):
    with connect(server, "submissions") as c:
        c.ehlo()
        code, lines = c.cmd("AUTH PLAIN " + plain_b64("ghost@example.test", "x"))
        assert code == 535 and enh(lines) == "5.7.8", lines


def test_auth_failures_cut_off(server):
    n = int(SERVER_CONFIG["max_auth_failures"])
    with connect(server, "submissions") as c:
        c.ehlo()
        codes = []
        for _ in range(n + 1):
            try:
                code, lines = c.cmd("AUTH PLAIN " + plain_b64(ALICE, "bad"))
            except Closed:
                break
            codes.append((code, enh(lines)))
            if code == 421:
                break
        assert codes[0] == (535, "5.7.8"), codes
        assert codes[-1] == (421, "4.7.0"), codes
        assert len(codes) in (n, n + 1), codes
        assert c.closed()


@pytest.mark.parametrize("proto", ["submission", "smtp"])
def test_non_hosted_after_auth_accepted(server, proto):
    """An authenticated client on a submission port may send anywhere
    (the outbound queue, tests/e2e/test_smtp_outbound.py); port 25 relays
    for nobody, not even after AUTH."""
    s = server.smtp(proto)
    s.ehlo()
    s.starttls(context=server.ssl_context())
    s.ehlo()
    s.login(ALICE, server.users[ALICE])
    s.mail("alice@example.test")
    code, msg = s.rcpt("friend@elsewhere.test")
    if proto == "submission":
        assert code == 250 and msg.startswith(b"2.1.5"), (code, msg)
    else:
        assert code == 554 and msg.startswith(b"5.7.1"), (code, msg)
    s.quit()


# -- limits -----------------------------------------------------------------

def test_size_at_mail(server):
    with connect(server) as c:
        caps = c.ehlo()
        assert "SIZE 10000" in caps
        code, lines = c.cmd("MAIL FROM:<a@remote.test> SIZE=20000")
        assert code == 552 and enh(lines) == "5.3.4", lines
        code, lines = c.cmd("MAIL FROM:<a@remote.test> SIZE=500")
        assert code == 250, lines


def test_size_in_data(server):
    token = unique("big")
    body = ("x" * 70 + "\r\n") * 200      # about 14 KB > 10000
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(simple_message(token, body=body) + b".\r\n")
        code, lines = c.reply()
        assert code == 552 and enh(lines) == "5.3.4", lines
        code, lines = c.cmd("NOOP")
        assert code == 250, lines
        # A normal message on the same connection still works.
        small = unique("small")
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(simple_message(small) + b".\r\n")
        assert c.reply()[0] == 250
    assert len(server.wait_messages(ALICE, 1, small.encode())) == 1
    # Refused with 552 before the later message was accepted (and that one
    # is there): no window to wait for, it must simply be absent.
    assert [m for m in server.fetch_all(ALICE) if token.encode() in m] == []


def test_too_many_recipients(server):
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        for r in ("alice@example.test", "bob@example.test",
                  "alice+x@example.test"):
            code, lines = c.cmd("RCPT TO:<%s>" % r)
            assert code == 250, (r, lines)
        code, lines = c.cmd("RCPT TO:<bob+y@example.test>")
        assert code == 452 and enh(lines) == "4.5.3", lines


def test_long_command_line(server):
    with connect(server) as c:
        c.ehlo()
        code, lines = c.cmd("NOOP " + "x" * 3000)
        assert code == 500 and enh(lines) == "5.5.2", lines
        code, lines = c.cmd("NOOP")
        assert code == 250, lines


def test_line_just_under_limit_ok(server):
    with connect(server) as c:
        c.ehlo()
        # Longer than RFC 5321's 512 but within Postel's 2048 limit.
        code, lines = c.cmd("NOOP " + "x" * 1500)
        assert code == 250, lines


def test_idle_timeout(server_factory):
    srv = server_factory({"smtp_command_timeout": 2})
    with connect(srv) as c:
        c.ehlo()
        code, lines = c.reply(timeout=15)
        assert code == 421 and enh(lines) == "4.4.2", lines
        assert c.closed(10)


def test_per_ip_connection_limit(server_factory):
    from test_limits import raw_from
    srv = server_factory({"max_connections_per_ip": 5})
    conns = [connect(srv) for _ in range(5)]
    others = []
    try:
        extra = RawClient(*srv.addr("smtp"))
        code, lines = extra.reply()
        assert code == 421 and enh(lines) == "4.7.0", lines
        assert extra.closed()
        extra.close()
        # Per address, not in total: another loopback address still gets
        # its own five (a total limit of 5 would refuse these), then 421.
        for i in range(6):
            c = raw_from("127.0.0.2", srv, "smtp")
            others.append(c)
            code, lines = c.reply()
            if i < 5:
                assert code == 220, (i, code, lines)
            else:
                assert code == 421 and enh(lines) == "4.7.0", lines
        conns.pop().close()
        # A slot frees up once a connection closes (bounded retry: the
        # server notices the close asynchronously).
        ok = False
        for _ in range(50):
            c = RawClient(*srv.addr("smtp"))
            code, _ = c.reply()
            c.close()
            if code == 220:
                ok = True
                break
            time.sleep(0.1)
        assert ok
    finally:
        for c in conns + others:
            c.close()


# -- CHUNKING, SMTPUTF8 -----------------------------------------------------

def test_bdat(server):
    token = unique("bdat")
    msg = simple_message(token, body="chunked body\r\nline two\r\n")
    a, b = msg[:40], msg[40:]
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        c.send(b"BDAT %d\r\n" % len(a) + a)
        code, lines = c.reply()
        assert code == 250, lines
        c.send(b"BDAT %d LAST\r\n" % len(b) + b)
        code, lines = c.reply()
        assert code == 250 and "queued as" in lines[-1], lines
    got = server.wait_messages(ALICE, 1, token.encode())
    assert len(got) == 1
    assert got[0].endswith(msg), got[0]


def test_bdat_then_data_503(server):
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        c.send(b"BDAT 5\r\nhello")
        assert c.reply()[0] == 250
        code, lines = c.cmd("DATA")
        assert code == 503 and enh(lines) == "5.5.1", lines
        assert c.cmd("RSET")[0] == 250
        assert c.cmd("NOOP")[0] == 250


def test_bdat_zero_last(server):
    token = unique("bdat0")
    msg = simple_message(token)
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        c.send(b"BDAT %d\r\n" % len(msg) + msg)
        assert c.reply()[0] == 250
        code, lines = c.cmd("BDAT 0 LAST")
        assert code == 250, lines
    assert len(server.wait_messages(ALICE, 1, token.encode())) == 1


def test_smtputf8(server):
    token = unique("utf8")
    subject = "Grüße – ünïcödé"
    msg = ("From: jörg@bücher.test\r\nTo: alice@example.test\r\n"
           "Subject: %s %s\r\n\r\nbody\r\n" % (subject, token)).encode()
    with connect(server) as c:
        c.ehlo()
        code, lines = c.cmd("MAIL FROM:<jörg@bücher.test> SMTPUTF8".encode())
        assert code == 250, lines
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(msg + b".\r\n")
        assert c.reply()[0] == 250
    got = server.wait_messages(ALICE, 1, token.encode())
    assert len(got) == 1 and subject.encode() in got[0]


def test_smtputf8_via_smtplib(server):
    token = unique("utf8b")
    s = server.smtp()
    s.ehlo()
    s.sendmail("ünï@sender.test", [ALICE], simple_message(token),
               mail_options=["SMTPUTF8"])
    s.quit()
    assert len(server.wait_messages(ALICE, 1, token.encode())) == 1


# -- logs -------------------------------------------------------------------

def test_log_lines_accept_and_deliver(server):
    token = unique("log")
    qid = queued_id(server.send([ALICE, BOB], simple_message(token)))
    mark = "msg=" + qid
    accept = server.wait_log(lambda l: "event=accept" in l and mark in l)
    assert len(accept) == 1, server.stderr_tail()
    line_re = re.compile(r"^\S+ \S+ sess=[0-9a-f]{16} event=\w+")
    assert line_re.match(accept[0]), accept[0]
    deadline = time.monotonic() + 10
    while True:
        deliver = [l for l in server.stderr_text().splitlines()
                   if "event=deliver" in l and re.search(
                       r"\bmsg=%s\b" % re.escape(qid), l)]
        if len(deliver) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(deliver) == 2, deliver
    assert any("rcpt=alice@example.test" in l or "rcpt=<alice@example.test>"
               in l for l in deliver), deliver
    assert any("rcpt=bob@example.test" in l or "rcpt=<bob@example.test>"
               in l for l in deliver), deliver


# -- real client programs ---------------------------------------------------

def swaks(server, *args):
    r = subprocess.run(["swaks", "--silent", "1", "--timeout", "10",
                        "--helo", "swaks.test"] + list(args),
                       capture_output=True, text=True, timeout=60)
    return r


def test_swaks_smtp(server):
    token = unique("swaks")
    host, port = server.addr("smtp")
    r = swaks(server, "--server", host, "--port", str(port),
              "--from", "someone@remote.test", "--to", ALICE,
              "--header", "Subject: " + token, "--body", "via swaks")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(server.wait_messages(ALICE, 1, token.encode())) == 1


def swaks_auth_send(server, proto, tls_opt, mech, token, body):
    """Sends ALICE -> BOB authenticated by swaks on proto; the message
    arrives."""
    host, port = server.addr(proto)
    r = swaks(server, "--server", host, "--port", str(port), tls_opt,
              "--auth", mech, "--auth-user", ALICE,
              "--auth-password", server.users[ALICE],
              "--from", ALICE, "--to", BOB,
              "--header", "Subject: " + token, "--body", body)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(server.wait_messages(BOB, 1, token.encode())) == 1


def test_swaks_submission_tls_auth(server):
    swaks_auth_send(server, "submission", "--tls", "PLAIN",
                    unique("swakstls"), "swaks tls")


def test_swaks_submissions_login(server):
    swaks_auth_send(server, "submissions", "--tls-on-connect", "LOGIN",
                    unique("swaksssl"), "swaks smtps")


def test_swaks_wrong_password_fails(server):
    host, port = server.addr("submission")
    r = swaks(server, "--server", host, "--port", str(port), "--tls",
              "--auth", "PLAIN", "--auth-user", ALICE,
              "--auth-password", "wrong", "--from", ALICE, "--to", BOB)
    assert r.returncode != 0


# -- IPv6 -------------------------------------------------------------------

def _have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _have_ipv6_loopback(), reason="no ::1 on this host")
def test_ipv6_listener(server_factory):
    from conftest import free_ports
    p6, pp = free_ports(2, "::1")
    srv = server_factory(listen={"smtp": ("::1", p6), "pop3s": ("::1", pp)})
    token = unique("v6")
    s = smtplib.SMTP("::1", p6, timeout=10, local_hostname="client.test")
    s.sendmail("a@remote.test", [ALICE], simple_message(token))
    s.quit()
    msgs = srv.wait_messages(ALICE, 1, token.encode())
    assert len(msgs) == 1
