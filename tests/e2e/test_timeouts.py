"""The protocol timeouts and the total connection limit
(untested before): `smtp_data_timeout` (an idle client inside DATA gets 421 4.4.2,
the connection closes and nothing of the message is stored),
`pop3_timeout` and `imap_timeout` for logged-in sessions (-ERR / * BYE,
then the close), and `max_connections` (one over the limit is refused in
each protocol's words; once one closes, a new one is served).

The time knobs are set to 2 s (the config minimum is 1) and the other
timers far out, so only the one under test can fire. Every wait is
bounded and waits for an event; no test asserts a duration."""

import time

from conftest import simple_message, unique
from rawclient import Closed, raw_from
from waitutil import message_files, wait_for

ALICE = "alice@example.test"
# Far longer than any wait below: a timer that is not the one under test
# never fires during a test.
FAR = "300"
EVENT_WAIT = 20.0


def imap_tagged(c, tag, limit=100):
    for _ in range(limit):
        ln = c.read_line()
        if not ln:
            raise Closed("EOF waiting for %s" % tag)
        if ln.startswith(tag.encode() + b" "):
            return ln
    raise AssertionError("no tagged reply for %s" % tag)


# -- smtp_data_timeout ----------------------------------------------------

def test_smtp_data_timeout_closes_and_stores_nothing(server_factory):
    srv = server_factory(config={"smtp_data_timeout": "2",
                                 "smtp_command_timeout": FAR,
                                 "smtp_data_min_rate": "0",
                                 "command_deadline": FAR})
    token = unique("datato")
    c = raw_from(srv, "smtp")
    assert c.reply()[0] == 220
    c.ehlo()
    assert c.cmd("MAIL FROM:<idle@remote.test>")[0] == 250
    assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    assert c.cmd("DATA")[0] == 354
    # Part of a message, then silence: no final ".".
    c.send(simple_message(token, body="x" * 70000 + "\r\nmore\r\n"))
    code, lines = c.reply(timeout=EVENT_WAIT)
    assert code == 421 and lines[0].startswith("4.4.2"), (code, lines)
    assert c.closed(10)
    c.close()
    # The command timeout (300 s) is what an idle client outside DATA
    # gets: a session idle as long after a command is still served.
    c = raw_from(srv, "smtp")
    assert c.reply()[0] == 220
    c.ehlo()
    assert c.cmd("NOOP")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    # Nothing of the interrupted message is stored: not in the mailbox,
    # and its spool file is given up (bounded wait: the unlink runs on an
    # io worker).
    assert not [m for m in srv.fetch_all(ALICE) if token.encode() in m]
    assert wait_for(lambda: not message_files(srv)), message_files(srv)
    assert srv.wait_log(lambda l: "timeout" in l)


# -- pop3_timeout / imap_timeout ------------------------------------------

def test_pop3_timeout_logged_in(server_factory):
    srv = server_factory(config={"pop3_timeout": "2",
                                 "preauth_timeout": FAR,
                                 "command_deadline": FAR})
    c = raw_from(srv, "pop3s")
    assert c.pop_line().startswith("+OK")
    assert c.pop_cmd("USER " + ALICE).startswith("+OK")
    assert c.pop_cmd("PASS " + srv.users[ALICE]).startswith("+OK")
    assert c.pop_cmd("STAT").startswith("+OK")
    line = c.pop_line(timeout=EVENT_WAIT)
    assert line.startswith("-ERR"), line
    assert c.closed(10)
    c.close()
    # The maildrop lock went with the session: a new one logs in.
    p = srv.pop3s(ALICE)
    p.quit()


def test_imap_timeout_logged_in(server_factory):
    srv = server_factory(config={"imap_timeout": "2",
                                 "preauth_timeout": FAR,
                                 "command_deadline": FAR})
    c = raw_from(srv, "imaps")
    assert c.read_line().startswith(b"* OK")
    c.line("a LOGIN %s %s" % (ALICE, srv.users[ALICE]))
    assert imap_tagged(c, "a").startswith(b"a OK")
    c.line("b SELECT INBOX")
    assert imap_tagged(c, "b").startswith(b"b OK")
    ln = c.read_line(timeout=EVENT_WAIT)
    assert ln.startswith(b"* BYE"), ln
    assert c.closed(10)
    c.close()


# -- max_connections ------------------------------------------------------

def test_max_connections_total(server_factory):
    # Each client from its own address, so the per-address limit (default
    # 200) cannot be what refuses: only the total of 3 can.
    srv = server_factory(config={"max_connections": "3"})
    held = []
    try:
        c = raw_from(srv, "smtp", "127.0.0.21")
        held.append(c)
        assert c.reply()[0] == 220
        c = raw_from(srv, "pop3", "127.0.0.22")
        held.append(c)
        assert c.pop_line().startswith("+OK")
        c = raw_from(srv, "imap", "127.0.0.23")
        held.append(c)
        assert c.read_line().startswith(b"* OK")

        c = raw_from(srv, "smtp", "127.0.0.24")
        code, lines = c.reply()
        assert code == 421 and lines[0].startswith("4.7.0"), (code, lines)
        assert c.closed()
        c.close()
        c = raw_from(srv, "pop3", "127.0.0.25")
        line = c.pop_line()
        assert line.startswith("-ERR [SYS/TEMP]"), line
        assert c.closed()
        c.close()
        c = raw_from(srv, "imap", "127.0.0.26")
        ln = c.read_line()
        assert ln.startswith(b"* BYE"), ln
        assert c.closed()
        c.close()
        assert srv.wait_log(lambda l: "reason=limit" in l)

        # One leaves: a new client is served (bounded retry, the server
        # notices the close asynchronously).
        first = held.pop(0)
        assert first.cmd("QUIT")[0] == 221
        first.close()
        greeting = None
        for _ in range(100):
            c = raw_from(srv, "imap", "127.0.0.27")
            greeting = c.read_line()
            if greeting.startswith(b"* OK"):
                held.append(c)
                break
            c.close()
            time.sleep(0.1)
        assert greeting.startswith(b"* OK"), greeting
        # ... and the limit holds again at three.
        c = raw_from(srv, "smtp", "127.0.0.28")
        assert c.reply()[0] == 421
        c.close()
        # The held ones were never disturbed.
        assert held[0].pop_cmd("CAPA").startswith("+OK")
        held[1].line("n NOOP")
        assert imap_tagged(held[1], "n").startswith(b"n OK")
    finally:
        for c in held:
            c.close()
