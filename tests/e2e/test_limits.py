"""Connection-level abuse limits: connections per address per
minute, a deadline for a whole command line, a minimum rate for DATA, a
short idle timeout before login. Each limit is shown to trigger with the
protocol's reply, while a well-behaved client beside it (from another
127.x address where the limit is per address) is served as usual.

Small config values keep the tests fast; every wait is bounded and waits
for an expected event, never asserts a duration."""

import time

import pytest

from conftest import SOCK_TIMEOUT, simple_message, unique
import rawclient
from rawclient import Closed, connect

ALICE = "alice@example.test"


def raw_from(src, server, proto):
    return rawclient.raw_from(server, proto, src, SOCK_TIMEOUT)


def greeting(c, proto):
    return c.read_line().decode("utf-8", "replace")


def imap_tagged(c, tag, tries=5):
    """The line of the tagged reply to tag, within tries lines (else the
    last line read)."""
    for _ in range(tries):
        ln = c.read_line()
        if ln.startswith(tag + b" "):
            break
    return ln


def imap_login(c, server, tag=b"a"):
    c.line("%s LOGIN %s %s" % (tag.decode(), ALICE, server.users[ALICE]))
    ln = imap_tagged(c, tag)
    assert ln.startswith(tag + b" OK"), ln


def well_behaved_smtp(server, src="127.0.0.9"):
    """A normal client from src: greeting, EHLO, a delivery, QUIT."""
    c = raw_from(src, server, "smtp")
    try:
        code, _ = c.reply()
        assert code == 220
        c.ehlo("good.test")
        assert c.cmd("MAIL FROM:<g@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(simple_message(unique("good")) + b".\r\n")
        assert c.reply()[0] == 250
        assert c.cmd("QUIT")[0] == 221
    finally:
        c.close()


# -- new connections per address per minute --------------------------------

def test_connection_rate_per_ip(server_factory):
    srv = server_factory(config={"max_connection_rate_per_ip": "3",
                                 "connection_rate_exempt": "127.0.0.1"})
    bad = "127.0.0.5"
    for _ in range(3):
        c = raw_from(bad, srv, "smtp")
        assert c.reply()[0] == 220
        c.cmd("QUIT")
        c.close()
    # The bucket is empty: each protocol refuses in its own words and closes.
    c = raw_from(bad, srv, "smtp")
    code, lines = c.reply()
    assert code == 421 and lines[0].startswith("4.7.0"), (code, lines)
    assert c.closed()
    c = raw_from(bad, srv, "pop3")
    assert greeting(c, "pop3").startswith("-ERR [SYS/TEMP]")
    assert c.closed()
    c = raw_from(bad, srv, "imap")
    assert greeting(c, "imap").startswith("* BYE")
    assert c.closed()
    # Another address is not affected.
    well_behaved_smtp(srv, "127.0.0.6")
    assert srv.wait_log(lambda l: "reason=rate" in l)
    # An exempt address (by default loopback: webmail) is never limited.
    for _ in range(6):
        c = raw_from("127.0.0.1", srv, "smtp")
        assert c.reply()[0] == 220
        c.close()


def test_connection_rate_exempts_loopback_by_default(server_factory):
    srv = server_factory(config={"max_connection_rate_per_ip": "2"})
    for _ in range(5):
        c = raw_from("127.0.0.5", srv, "smtp")
        assert c.reply()[0] == 220
        c.close()


def test_connections_per_ip_counted_per_address(server_factory):
    srv = server_factory(config={"max_connections_per_ip": "2"})
    held = [raw_from("127.0.0.7", srv, "smtp") for _ in range(2)]
    try:
        for c in held:
            assert c.reply()[0] == 220
        c = raw_from("127.0.0.7", srv, "smtp")
        code, lines = c.reply()
        assert code == 421 and lines[0].startswith("4.7.0"), (code, lines)
        c.close()
        well_behaved_smtp(srv, "127.0.0.8")
    finally:
        for c in held:
            c.close()


# -- a deadline for a whole command line -----------------------------------

def trickle(c, chunks, step, midway=None):
    """Sends chunks, one per step seconds, until the server answers or
    closes; returns what it sent back (b"" if nothing yet). midway() runs
    after the second chunk, while the slow client is pending."""
    for i, chunk in enumerate(chunks):
        try:
            c.send(chunk)
        except OSError:
            break
        if i == 1 and midway is not None:
            midway()
        got = c.pending(step)
        if got or c.eof:
            return got
    return b""


def dribble(c, data, step=0.4, limit=40, midway=None):
    """trickle() one byte at a time; then waits a little more for an
    answer (b"" if it never came)."""
    got = trickle(c, (bytes([b]) for b in data[:limit]), step, midway)
    return got if got or c.eof else c.pending(5.0)


@pytest.mark.parametrize("proto,line,expect", [
    ("smtp", b"EHLO a-very-slow-client.example.test\r\n", b"421 4.4.2"),
    ("pop3", b"USER a-very-slow-client@example.test\r\n", b"-ERR"),
    ("imap", b"a1 CAPABILITY and a very slow client indeed\r\n", b"* BYE"),
])
def test_command_line_deadline(server_factory, proto, line, expect):
    srv = server_factory(config={"command_deadline": "2",
                                 "preauth_timeout": "300"})
    c = raw_from("127.0.0.10", srv, proto)
    greeting(c, proto)
    # Each byte restarts the idle timeout; only the line deadline ends it.
    # Meanwhile another client is served as usual.
    got = dribble(c, line, midway=lambda: well_behaved_smtp(srv))
    assert got.startswith(expect), got
    assert c.closed()


def test_command_deadline_spares_pipelined_lines(server_factory):
    """Complete lines, however slowly they come as a whole, are fine."""
    srv = server_factory(config={"command_deadline": "2"})
    c = connect(srv, "smtp")
    for _ in range(4):
        assert c.cmd("NOOP")[0] == 250
        time.sleep(0.8)
    assert c.cmd("QUIT")[0] == 221


# -- a minimum rate for DATA -----------------------------------------------

def slow_sender(src, server):
    """An SMTP client from src with a sender and a recipient accepted."""
    c = raw_from(src, server, "smtp")
    assert c.reply()[0] == 220
    c.ehlo()
    assert c.cmd("MAIL FROM:<slow@remote.test>")[0] == 250
    assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    return c


def test_data_min_rate(server_factory):
    srv = server_factory(config={"smtp_data_min_rate": "1000",
                                 "smtp_data_grace": "2"})
    c = slow_sender("127.0.0.11", srv)
    assert c.cmd("DATA")[0] == 354
    # 20 bytes every 0.3 s: far below 1000 bytes/s, yet never idle; a
    # normal DATA meanwhile.
    got = trickle(c, [b"Subject: slow data\r\n"] * 100, 0.3,
                  midway=lambda: well_behaved_smtp(srv))
    assert got.startswith(b"421 4.4.2"), got
    assert c.closed()


# -- a short idle timeout before login -------------------------------------

def test_preauth_timeout(server_factory):
    srv = server_factory(config={"preauth_timeout": "1"})
    imap = raw_from("127.0.0.12", srv, "imap")
    assert greeting(imap, "imap").startswith("* OK")
    pop = raw_from("127.0.0.12", srv, "pop3")
    assert greeting(pop, "pop3").startswith("+OK")
    sub = raw_from("127.0.0.12", srv, "submission")
    assert sub.reply()[0] == 220
    smtp = raw_from("127.0.0.12", srv, "smtp")
    assert smtp.reply()[0] == 220
    # Logged in, the long autologout timer applies (RFC 9051 section 5.4).
    authed = raw_from("127.0.0.13", srv, "imaps")
    greeting(authed, "imap")
    imap_login(authed, srv)

    assert imap.read_line(timeout=15).startswith(b"* BYE")
    assert imap.closed()
    assert pop.read_line(timeout=15).startswith(b"-ERR")
    assert pop.closed()
    code, lines = sub.reply(timeout=15)
    assert code == 421, (code, lines)
    assert sub.closed()
    # Port 25 has no login; it keeps RFC 5321's command timeout.
    time.sleep(1.5)  # both idle longer than preauth_timeout
    assert smtp.cmd("NOOP")[0] == 250
    authed.line("b NOOP")
    assert authed.read_line().startswith(b"b OK")
    for c in (smtp, authed):
        c.close()


def test_bdat_min_rate(server_factory):
    srv = server_factory(config={"smtp_data_min_rate": "1000",
                                 "smtp_data_grace": "2"})
    c = slow_sender("127.0.0.14", srv)
    c.line("BDAT 100000 LAST")
    got = trickle(c, [b"x" * 20] * 100, 0.3)
    assert got.startswith(b"421 4.4.2"), got
    assert c.closed()


def test_append_literal_is_not_a_command_line(server_factory):
    """An APPEND's message literal is bulk data: a slow upload is not cut
    by command_deadline (the idle timeout still applies)."""
    srv = server_factory(config={"command_deadline": "1"})
    c = raw_from("127.0.0.15", srv, "imaps")
    greeting(c, "imaps")
    imap_login(c, srv)
    msg = b"Subject: slow upload\r\n\r\n" + b"y" * 100 + b"\r\n"
    c.line("b APPEND INBOX {%d+}" % len(msg))
    for i in range(0, len(msg), 25):  # over about 2.4 seconds
        c.send(msg[i:i + 25])
        assert c.pending(0.4) == b""
    c.send(b"\r\n")
    ln = imap_tagged(c, b"b")
    assert ln.startswith(b"b OK"), ln
    c.close()
