"""Hostile SMTP input with exact bytes: STARTTLS injection, bare CR/LF
smuggling, NUL, huge lines, pipelined garbage, byte-exact 8-bit content.
After each test the shared server must still be running (fixture check)."""

import base64
import time

import pytest

from conftest import unique
from rawclient import (Closed, RawClient, connect, dot_stuff, pop3_fetch_raw,
                       strip_received)
from waitutil import wait_smtp_gone

ALICE = "alice@example.test"
BOB = "bob@example.test"


def wait_raw(server, user, token, count=1, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        msgs = [m for m in pop3_fetch_raw(server, user) if token in m]
        if len(msgs) >= count or time.monotonic() > deadline:
            return msgs
        time.sleep(0.2)


def start_data(c, rcpt=ALICE, sender="a@remote.test", body8=False):
    c.ehlo()
    opt = " BODY=8BITMIME" if body8 else ""
    assert c.cmd("MAIL FROM:<%s>%s" % (sender, opt))[0] == 250
    assert c.cmd("RCPT TO:<%s>" % rcpt)[0] == 250
    code, lines = c.cmd("DATA")
    assert code == 354, lines


def assert_still_serving(server):
    with connect(server) as c:
        assert c.cmd("NOOP")[0] == 250


# -- STARTTLS command injection (CVE-2011-0411 class) -----------------------

@pytest.mark.parametrize("proto", ["smtp", "submission"])
def test_starttls_injection_mail(server, proto):
    with connect(server, proto) as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nMAIL FROM:<a@remote.test>\r\n")
        code, lines = c.reply()
        assert code == 220, lines
        leftover = c.starttls(server.ssl_context())
        assert leftover == b"", leftover
        c.ehlo()
        code, lines = c.cmd("RCPT TO:<alice@example.test>")
        assert code in (503, 530), (code, lines)  # no MAIL was given


def test_starttls_injection_rset(server):
    with connect(server) as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nRSET\r\n")
        assert c.reply()[0] == 220
        assert c.starttls(server.ssl_context()) == b""
        # The first reply after the handshake must answer HELP, not RSET.
        code, lines = c.cmd("HELP")
        assert code == 214, (code, lines)


def test_starttls_injection_auth(server):
    cred = base64.b64encode(b"\0" + ALICE.encode() + b"\0" +
                            server.users[ALICE].encode())
    with connect(server, "submission") as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nAUTH PLAIN " + cred + b"\r\n")
        assert c.reply()[0] == 220
        assert c.starttls(server.ssl_context()) == b""
        c.ehlo()
        code, lines = c.cmd("MAIL FROM:<alice@example.test>")
        assert code == 530, (code, lines)   # the injected AUTH never ran


def test_plaintext_on_implicit_tls_port(server):
    host, port = server.addr("submissions")
    with RawClient(host, port, timeout=5) as c:
        c.send(b"EHLO client.test\r\nMAIL FROM:<a@b>\r\n")
        # The plaintext is a failed TLS handshake: the server hangs up
        # without ever answering it as SMTP.
        got = b""
        deadline = time.monotonic() + 10
        while not c.eof and time.monotonic() < deadline:
            got += c.pending(0.5)
        assert c.eof, "server kept the connection open"
        assert b"250" not in got and b"220" not in got, got
    assert_still_serving(server)


def test_garbage_instead_of_handshake(server):
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("STARTTLS")[0] == 220
        c.send(b"\x16\x03\x01\x00\x05garbage-not-tls\r\n" * 4)
        assert c.closed(10), "server kept a failed handshake open"
    assert_still_serving(server)


# -- message smuggling with bare CR / LF ------------------------------------

SMUGGLE = [
    (b"\n.\n", b"\n"),
    (b"\r.\r", b"\r"),
    (b"\r\n.\n", b"\n"),
    (b"\n.\r\n", b"\r\n"),
    (b"\r.\r\n", b"\r\n"),
    (b"\r\n.\r", b"\r"),
]


@pytest.mark.parametrize("term,sep", SMUGGLE,
                         ids=[repr(t) for t, _ in SMUGGLE])
def test_no_smuggling(server, term, sep):
    token = unique("smug").encode()
    inner = unique("inner").encode()
    payload = (b"From: a@remote.test\r\nSubject: " + token + b"\r\n\r\n"
               b"before" + term +
               b"MAIL FROM:<evil@remote.test>" + sep +
               b"RCPT TO:<bob@example.test>" + sep +
               b"DATA" + sep +
               b"Subject: " + inner + sep + sep +
               b"smuggled " + inner + term +
               b"after\r\n.\r\n")
    with connect(server) as c:
        start_data(c)
        c.send(payload)
        code, lines = c.reply()
        assert code == 250, lines
        # Had anything been smuggled, its replies would come before HELP's.
        code, lines = c.cmd("HELP")
        assert code == 214, (code, lines)
        code, lines = c.cmd("NOOP")
        assert code == 250, (code, lines)
    got = wait_raw(server, ALICE, token)
    assert len(got) == 1
    msg = got[0]
    assert b"smuggled " + inner in msg
    assert b"MAIL FROM:<evil@remote.test>" in msg
    assert b"after\r\n" in msg
    # Stored with bare CR / LF normalised to CRLF.
    assert msg.count(b"\n") == msg.count(b"\r\n"), msg
    assert msg.count(b"\r") == msg.count(b"\r\n"), msg
    assert not [m for m in pop3_fetch_raw(server, BOB) if inner in m]


def test_dot_after_bare_lf_does_not_end_data(server):
    token = unique("dotlf").encode()
    with connect(server) as c:
        start_data(c)
        c.send(b"Subject: " + token + b"\r\n\r\nline\n.\n")
        # Not the end: the server must still be waiting for data. Had the
        # bare-LF dot ended it, "more" and "." would each get a 500
        # before NOOP's 250, and "more" would not be in the message.
        c.send(b"more\r\n.\r\nNOOP\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        code, lines = c.reply()
        assert code == 250 and lines[-1].startswith("2.0.0 Ok"), lines
    got = wait_raw(server, ALICE, token)
    assert len(got) == 1
    assert b"\r\n\r\nline\r\n" in got[0], got[0]
    assert got[0].endswith(b"\r\nmore\r\n"), got[0]


# -- NUL, huge lines, garbage ----------------------------------------------

@pytest.mark.parametrize("line", [
    b"NOOP\x00",
    b"MAIL FROM:<a\x00b@remote.test>",
    b"EHLO cl\x00ient.test",
    b"\x00\x00\x00\x00",
])
def test_nul_in_command(server, line):
    with connect(server) as c:
        c.ehlo()
        c.send(line + b"\r\n")
        code, lines = c.reply()
        assert code == 500, (code, lines)
        assert lines[-1].startswith("5.5.2"), lines
        assert c.cmd("NOOP")[0] == 250


def test_nul_in_data_survives(server):
    token = unique("nul").encode()
    with connect(server) as c:
        start_data(c)
        c.send(b"Subject: " + token + b"\r\n\r\nab\x00cd\r\n.\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        assert c.cmd("NOOP")[0] == 250
    # Stored once, the NUL kept byte for byte (8-bit data is not altered).
    got = wait_raw(server, ALICE, token)
    assert len(got) == 1, got
    assert (strip_received(got[0]) ==
            b"Subject: " + token + b"\r\n\r\nab\x00cd\r\n"), got[0]


def test_100k_command_line(server):
    with connect(server) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<" + b"a" * 100000 + b"@remote.test>\r\n")
        code, lines = c.reply()
        assert code == 500 and lines[-1].startswith("5.5.2"), lines
        code, lines = c.cmd("NOOP")
        assert code == 250, (code, lines)
        # The session state is intact: a normal transaction works.
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250


def test_100k_line_without_newline_then_close(server):
    with connect(server) as c:
        c.send(b"X" * 100000)
        # Refused once past LIMIT_SMTP_LINE, before any line end came.
        code, lines = c.reply(timeout=10)
        assert code == 500 and lines[-1].startswith("5.5.2"), lines
    assert_still_serving(server)


def test_100k_line_in_data(server):
    token = unique("huge").encode()
    with connect(server) as c:
        start_data(c)
        c.send(b"Subject: " + token + b"\r\n\r\n" + b"y" * 100000 +
               b"\r\n.\r\n")
        code, lines = c.reply(timeout=20)
        # limits.h: a data line over LIMIT_SMTP_DATA_LINE rejects the
        # message after the dot.
        assert code == 552 and lines[-1].startswith("5.3.4"), lines
        assert c.cmd("NOOP")[0] == 250
    # The 552 came after the dot: the message is refused, not pending.
    assert [m for m in pop3_fetch_raw(server, ALICE) if token in m] == []


def test_long_but_allowed_data_line_byte_exact(server):
    token = unique("long").encode()
    body = bytes(range(33, 127)) * 100          # 9400 bytes, one line
    msg = b"Subject: " + token + b"\r\n\r\n" + body + b"\r\n"
    with connect(server) as c:
        start_data(c)
        c.send(msg + b".\r\n")
        assert c.reply()[0] == 250
    got = wait_raw(server, ALICE, token)
    assert len(got) == 1
    assert strip_received(got[0]) == msg


def test_pipelined_garbage(server):
    # "BDAT x" is not here: a BDAT whose size cannot be read closes the
    # connection (test_smtp_bdat_hostile.py).
    garbage = [b"\xff\xfe\xfd", b"MAIL", b"RCPT TO", b"DATA", b"FOO BAR",
               b"MAIL FROM:<<<>>>", b"RCPT TO:<@>", b"AUTH",
               b"STARTTLS extra args"]
    with connect(server) as c:
        c.ehlo()
        c.send(b"".join(g + b"\r\n" for g in garbage) + b"NOOP\r\n")
        codes = [c.reply()[0] for _ in garbage]
        assert all(400 <= x < 600 for x in codes), codes
        code, lines = c.reply()
        assert code == 250, (code, lines)


SMTP_ERRORS = 20    # LIMIT_SMTP_ERRORS in src/core/limits.h


def test_too_many_errors_disconnects(server):
    with connect(server) as c:
        c.ehlo()
        c.send(b"BOGUS\r\n" * (SMTP_ERRORS * 3))
        codes = []
        for _ in range(SMTP_ERRORS * 3 + 1):
            try:
                codes.append(c.reply(timeout=10)[0])
            except Closed:
                break
        # Every error up to the limit is answered, then 421 and the
        # server hangs up: the lines after the limit are never read.
        assert codes == [500] * SMTP_ERRORS + [421], codes
        assert c.closed(10)
    assert_still_serving(server)


def test_pipelined_transaction(server):
    token = unique("pipe").encode()
    with connect(server) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<a@remote.test>\r\n"
               b"RCPT TO:<alice@example.test>\r\n"
               b"RCPT TO:<nobody-here@example.test>\r\n"
               b"RCPT TO:<bob@example.test>\r\n"
               b"DATA\r\n")
        codes = [c.reply()[0] for _ in range(5)]
        assert codes == [250, 250, 550, 250, 354], codes
        c.send(b"Subject: " + token + b"\r\n\r\nx\r\n.\r\nNOOP\r\n")
        assert c.reply()[0] == 250
        assert c.reply()[0] == 250
    assert len(wait_raw(server, ALICE, token)) == 1
    assert len(wait_raw(server, BOB, token)) == 1


def test_disconnect_mid_data_stores_nothing(server):
    token = unique("cut").encode()
    sender = token.decode() + "@remote.test"
    with connect(server) as c:
        start_data(c, sender=sender)
        c.send(b"Subject: " + token + b"\r\n\r\npartial message\r\n")
    # Once the session is torn down nothing more can be stored for it.
    wait_smtp_gone(server, sender)
    assert [m for m in pop3_fetch_raw(server, ALICE) if token in m] == []
    assert_still_serving(server)


# -- byte-exact content -----------------------------------------------------

def test_8bit_and_dots_byte_exact(server):
    token = unique("exact").encode()
    msg = (b"From: =?utf-8?q?J=C3=B6rg?= <j@remote.test>\r\n"
           b"To: alice@example.test\r\n"
           b"Subject: " + token + b" \xc3\xa9t\xc3\xa9\r\n"
           b"Content-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n"
           b"\r\n"
           b".leading dot\r\n"
           b"..two dots\r\n"
           b"...\r\n"
           b". \r\n"
           b"latin1 \xe9\xe8\xff\xfe bytes\r\n"
           b"\t tab and trailing spaces   \r\n"
           b"\r\n"
           b"From the start of a line\r\n"
           b"end\r\n")
    with connect(server) as c:
        start_data(c, body8=True)
        c.send(dot_stuff(msg) + b".\r\n")
        code, lines = c.reply()
        assert code == 250, lines
    got = wait_raw(server, ALICE, token)
    assert len(got) == 1
    assert strip_received(got[0]) == msg


def test_byte_exact_via_bdat(server):
    token = unique("bdatx").encode()
    # BDAT is not dot-stuffed: a lone "." line is content.
    msg = (b"Subject: " + token + b"\r\n\r\n.\r\n..x\r\n\xf0\x9f\x93\xa7\r\n")
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test> BODY=8BITMIME")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        assert c.reply()[0] == 250
    got = wait_raw(server, ALICE, token)
    assert len(got) == 1
    assert strip_received(got[0]) == msg


@pytest.mark.parametrize("n, code", [(2047, 501), (2048, 500), (2049, 500)])
def test_sasl_response_limit_counts_cr(server, n, code):
    # LIMIT_SMTP_LINE (2048) counts the CR of the CRLF (RFC 5321
    # §4.5.3.1.4 counts the line end): a SASL response of 2047 octets is
    # read (and refused as malformed), 2048 is "Line too long". The SASL
    # exchange then still waits for its response; "*" cancels it.
    with connect(server, "submissions") as c:
        c.ehlo()
        assert c.cmd("AUTH PLAIN")[0] == 334
        c.send(b"A" * n + b"\r\n")
        got, lines = c.reply()
        assert got == code, (got, lines)
        if code == 500:
            assert lines[-1].startswith("5.5.2"), lines
            assert c.cmd("*")[0] == 501
        assert c.cmd("NOOP")[0] == 250


def test_overlong_bdat_line_closes(server):
    # A BDAT line past LIMIT_SMTP_LINE: its size cannot be read, so the
    # octets after it may be chunk data and must not run (RFC 3030 §2).
    token = unique("longbdat").encode()
    with connect(server) as c:
        c.ehlo()
        c.send(b"BDAT " + b"1" * 3000 + b"\r\nSubject: " + token +
               b"\r\n\r\nHELP\r\n")
        code, lines = c.reply()
        assert code == 500 and lines[-1].startswith("5.5.2"), lines
        with pytest.raises((Closed, OSError)):
            c.reply()
