"""A refused BDAT must never run its chunk as commands (RFC 3030 section 2:
the chunk's octets follow the command whatever the reply). Each test pipelines
a BDAT whose chunk holds command lines, then HELP: the reply after the BDAT's
must be HELP's 214, never a 250 for a NOOP/RCPT hidden in the chunk, and no
message is stored. A BDAT whose chunk size cannot be read closes the
connection (the octets to skip are unknown)."""

import time

import pytest

from conftest import unique
from rawclient import Closed, connect, pop3_fetch_raw

SERVER_CONFIG = {"max_message_size": 4096}

ALICE = "alice@example.test"


def chunk(token):
    """Command lines that would all get 250 if run as commands."""
    return (b"NOOP " + token + b"\r\nRCPT TO:<alice@example.test>\r\n"
            b"MAIL FROM:<x@remote.test>\r\nNOOP\r\n")


def stored(server, token):
    return [m for m in pop3_fetch_raw(server, ALICE) if token in m]


def assert_skipped(c, bdat_code, server, token):
    """Reads the BDAT's reply, then expects HELP's 214 straight after."""
    code, lines = c.reply()
    assert code == bdat_code, (code, lines)
    code, lines = c.reply()
    assert code == 214, ("chunk ran as commands", code, lines)
    assert c.cmd("QUIT")[0] == 221
    assert stored(server, token) == []


def bdat(data, last=True, extra=b""):
    return (b"BDAT %d%s%s\r\n" % (len(data), b" LAST" if last else b"",
                                  extra)) + data


def test_bdat_without_mail(server):
    token = unique("nomail").encode()
    with connect(server) as c:
        c.ehlo()
        c.send(bdat(chunk(token), last=False) + b"HELP\r\n")
        assert_skipped(c, 503, server, token)


def test_bdat_before_ehlo(server):
    token = unique("noehlo").encode()
    with connect(server) as c:
        c.send(bdat(chunk(token)) + b"HELP\r\n")
        assert_skipped(c, 503, server, token)


@pytest.mark.parametrize("mail,code", [
    (b"MAIL FROM:<a@remote.test> SIZE=999999999", 552),
    (b"MAIL FROM:<a@remote.test> SIZE=abc", 501),
    (b"MAIL FROM:<\xc3\xa4@remote.test>", 553),
    (b"MAIL FROM:<a@remote.test> FOO=BAR", 555),
])
def test_bdat_after_refused_mail(server, mail, code):
    token = unique("badmail").encode()
    with connect(server) as c:
        c.ehlo()
        c.send(mail + b"\r\nRCPT TO:<alice@example.test>\r\n" +
               bdat(chunk(token)) + b"HELP\r\n")
        assert c.reply()[0] == code
        assert c.reply()[0] == 503            # RCPT without MAIL
        assert_skipped(c, 503, server, token)


def test_bdat_after_530_on_submission(server):
    token = unique("sub530").encode()
    with connect(server, "submission") as c:
        c.ehlo()
        c.send(b"MAIL FROM:<a@example.test>\r\n" + bdat(chunk(token)) +
               b"HELP\r\n")
        assert c.reply()[0] == 530
        assert_skipped(c, 503, server, token)


def test_bdat_bad_parameter_after_size(server):
    token = unique("badparam").encode()
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
        c.send(bdat(chunk(token), extra=b" FOO") + b"HELP\r\n")
        assert_skipped(c, 501, server, token)


def test_bdat_too_big(server):
    token = unique("big").encode()
    data = chunk(token) * 200                  # > max_message_size
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
        c.send(bdat(data) + b"HELP\r\n")
        assert_skipped(c, 552, server, token)


def test_bdat_too_big_over_chunks(server):
    token = unique("big2").encode()
    data = chunk(token) * 30
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
        c.send(bdat(data, last=False))
        assert c.reply()[0] == 250
        c.send(bdat(data, last=False) + bdat(data) + b"HELP\r\n")
        assert c.reply()[0] == 552
        assert_skipped(c, 554, server, token)


def test_bdat_without_recipients(server):
    token = unique("norcpt").encode()
    with connect(server) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<a@remote.test>\r\n"
               b"RCPT TO:<nobody@example.test>\r\n" + bdat(chunk(token)) +
               b"HELP\r\n")
        assert c.reply()[0] == 250
        assert c.reply()[0] == 550
        assert_skipped(c, 554, server, token)


def test_bdat_after_closed_transaction(server):
    token = unique("closed").encode()
    msg = b"Subject: " + token + b"\r\n\r\nhello\r\n"
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
        c.send(bdat(msg))
        assert c.reply()[0] == 250
        other = unique("after").encode()
        c.send(bdat(chunk(other)) + b"HELP\r\n")
        assert_skipped(c, 503, server, other)
    assert len(stored(server, token)) == 1


def test_rcpt_after_bdat_refused(server):
    token = unique("rcptafter").encode()
    with connect(server) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
        c.send(bdat(b"Subject: " + token + b"\r\n", last=False))
        assert c.reply()[0] == 250
        assert c.cmd("RCPT TO:<bob@example.test>")[0] == 503
        c.send(bdat(b"\r\nbody\r\n"))
        assert c.reply()[0] == 250
    msgs = stored(server, token)
    assert len(msgs) == 1
    assert b"for <alice@example.test>" in msgs[0]


@pytest.mark.parametrize("line", [
    b"BDAT x", b"BDAT", b"BDAT 99999999999999999999999 LAST", b"bdat -1",
    b"BDAT 6\x00", b"BDAT " + b"1" * 1200,
])
def test_bdat_unreadable_size_closes(server, line):
    token = unique("unread").encode()
    with connect(server) as c:
        c.ehlo()
        c.send(line + b"\r\n" + chunk(token) + b"HELP\r\n")
        code, lines = c.reply()
        assert 500 <= code < 600, (code, lines)
        with pytest.raises((Closed, OSError)):
            c.reply()
    assert stored(server, token) == []


def test_bdat_normal_still_works(server):
    token = unique("ok").encode()
    msg = b"Subject: " + token + b"\r\n\r\nNOOP\r\n.\r\n"
    with connect(server) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>"
               b"\r\n" + bdat(msg[:10], last=False) + bdat(msg[10:]) +
               b"HELP\r\n")
        codes = [c.reply()[0] for _ in range(5)]
        assert codes == [250, 250, 250, 250, 214], codes
    deadline = time.monotonic() + 10
    while not stored(server, token) and time.monotonic() < deadline:
        time.sleep(0.2)
    got = stored(server, token)
    assert len(got) == 1 and got[0].endswith(msg)
