"""A client leaving while its command's background job runs
(untested before): SMTP delivery (gone right after the final "."), IMAP
FETCH of a large message, a long SEARCH, APPEND (gone once the literal is
sent, while it is written and committed), EXPUNGE and POP3 QUIT (gone right
after sending them). The server must not crash or leak (the fixtures fail a
test on a sanitizer report or a bad exit at teardown), and what is durable
must be right, as seen by a client reconnecting:
  - a message whose delivery started (the whole DATA was sent) is stored
    exactly once;
  - an APPEND that started is stored at most once;
  - an EXPUNGE or a POP3 QUIT either happened completely or not at all;
  - no message file is left without its message, none lost under one.
Some cases leave with a TCP reset (SO_LINGER 0) so the server's writes
fail mid-reply; the others with a plain close, so the server sees the end
of input only after the command. Every wait is bounded."""

import hashlib
import re
import socket
import struct
import time

from conftest import SOCK_TIMEOUT, simple_message, unique
from rawclient import Closed, RawClient, connect, dot_stuff
from waitutil import message_files, wait_for

ALICE = "alice@example.test"
EVENT_WAIT = 20.0


# -- helpers ----------------------------------------------------------------

def reset(c):
    """Leaves with a TCP reset: unread replies are thrown away and the
    server's next write fails."""
    try:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        c.sock.close()
    except OSError:
        pass


def leave(c):
    """Leaves with a plain close (FIN): the server reads what was sent,
    then the end of input."""
    try:
        c.sock.close()
    except OSError:
        pass


class Imap:
    """A small IMAP-over-TLS client on RawClient: commands by tag, the
    reply lines with literals appended to their line."""

    def __init__(self, server, user=ALICE):
        host, port = server.addr("imaps")
        self.c = RawClient(host, port, tls_ctx=server.ssl_context())
        assert self.c.read_line().startswith(b"* OK")
        self.n = 0
        r = self.cmd("LOGIN %s %s" % (user, server.users[user]))
        assert r[-1].split()[1] == b"OK", r

    def send(self, text):
        self.n += 1
        tag = "t%d" % self.n
        data = text if isinstance(text, bytes) else text.encode()
        self.c.send(tag.encode() + b" " + data + b"\r\n")
        return tag

    def reply(self, tag, timeout=None):
        lines = []
        for _ in range(1000000):
            ln = self.c.read_line(timeout)
            if not ln:
                raise Closed("EOF before %s: %r" % (tag, lines[-3:]))
            m = re.search(rb"\{(\d+)\}\r\n$", ln)
            if m:
                ln += self.read_exact(int(m.group(1)), timeout)
                ln += self.c.read_line(timeout)
            lines.append(ln)
            if ln.startswith(tag.encode() + b" "):
                return lines
        raise AssertionError("reply too long")

    def read_exact(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or SOCK_TIMEOUT)
        while len(self.c.buf) < n:
            if self.c.eof or not self.c._fill(deadline):
                raise Closed("EOF in literal")
        out, self.c.buf = self.c.buf[:n], self.c.buf[n:]
        return out

    def cmd(self, text, timeout=None):
        return self.reply(self.send(text), timeout)

    def ok(self, text, timeout=None):
        r = self.cmd(text, timeout)
        assert r[-1].split()[1] == b"OK", r[-3:]
        return r

    def append(self, msg, flags=""):
        tag = self.send(b"APPEND INBOX %s{%d+}\r\n" %
                        (flags.encode(), len(msg)) + msg)
        self.c.send(b"\r\n")
        r = self.reply(tag)
        assert r[-1].split()[1] == b"OK", r[-3:]

    def close(self):
        self.c.close()


def inbox(server):
    """[(uid, flags bytes, body bytes)] of alice's INBOX, over a new
    connection."""
    for _ in range(50):
        m = Imap(server)
        try:
            m.ok("SELECT INBOX")
            r = m.cmd("UID FETCH 1:* (UID FLAGS BODY.PEEK[])")
            m.ok("LOGOUT")
        finally:
            m.close()
        # Another session's expunge landed between SELECT and FETCH
        # (RFC 5530 EXPUNGEISSUED): look again.
        if b"[EXPUNGEISSUED]" not in r[-1]:
            break
        time.sleep(0.1)
    assert r[-1].split()[1] == b"OK", r[-3:]
    out = []
    for ln in r[:-1]:
        if not ln.startswith(b"* ") or b" FETCH " not in ln:
            continue
        head = ln[:ln.index(b"\r\n")]
        uid = int(re.search(rb"UID (\d+)", head).group(1))
        flags = re.search(rb"FLAGS \(([^)]*)\)", head).group(1)
        size = int(re.search(rb"\{(\d+)\}$", head).group(1))
        body = ln[len(head) + 2:len(head) + 2 + size]
        out.append((uid, flags, body))
    return out


def count_with(msgs, token):
    return sum(1 for m in msgs if token.encode() in m[2])


def files_match_messages(server, n):
    """Waits (bounded) until exactly n message files exist; returns the
    final count."""
    wait_for(lambda: len(message_files(server)) == n)
    return len(message_files(server))


def big_text(nbytes, token):
    line = b"%s filler line for a large message body\r\n" % token.encode()
    return line * (nbytes // len(line) + 1)


# -- SMTP ---------------------------------------------------------------------

def smtp_send_and_go(srv, token, size, how):
    c = connect(srv)
    c.ehlo()
    assert c.cmd("MAIL FROM:<leaver@remote.test>")[0] == 250
    assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    assert c.cmd("DATA")[0] == 354
    body = simple_message(token, body=big_text(size, token).decode())
    c.send(dot_stuff(body) + b"\r\n.\r\n")
    how(c)  # no wait for the 250


SMTP_SIZES = (200, 70000, 3 * 1024 * 1024)


def test_smtp_gone_after_final_dot_is_delivered_once(server_factory):
    # A plain close after the final ".": the server has the whole
    # message, so its delivery starts, and each is stored, once.
    srv = server_factory()
    tokens = [unique("smtpgone") for _ in SMTP_SIZES]
    for token, size in zip(tokens, SMTP_SIZES):
        smtp_send_and_go(srv, token, size, leave)
    got = srv.wait_messages(ALICE, len(tokens), timeout=EVENT_WAIT)
    for t in tokens:
        assert sum(1 for m in got if t.encode() in m) == 1, t
    assert len(srv.wait_log(lambda l: "event=deliver" in l)) == len(tokens)
    assert files_match_messages(srv, len(tokens)) == len(tokens)
    assert len(srv.fetch_all(ALICE)) == len(tokens)


def test_smtp_reset_after_final_dot_stored_at_most_once(server_factory):
    # A reset right after the final ".": the server may or may not have
    # read the whole message first, and its delivery job may still run
    # when the connection goes. Each message is stored at most once, one
    # the server logged as delivered exactly once, and no message file is
    # left over (SIGTERM drains the jobs first).
    srv = server_factory()
    tokens = [unique("smtprst") for _ in range(2) for _ in SMTP_SIZES]
    for token, size in zip(tokens, SMTP_SIZES * 2):
        smtp_send_and_go(srv, token, size, reset)
    srv.stop_checked()
    files = len(message_files(srv))
    delivered = len([l for l in srv.stderr_text().splitlines()
                     if "event=deliver" in l])
    srv.start()
    got = srv.fetch_all(ALICE)
    for t in tokens:
        assert sum(1 for m in got if t.encode() in m) <= 1, t
    assert len(got) == delivered == files, (len(got), delivered, files)


# -- IMAP ---------------------------------------------------------------------

def test_imap_gone_during_large_fetch(server_factory):
    # Several large messages: FETCH 1:* runs in batches (one per ~1 MB of
    # output), the next batch parked while the client does not read. The
    # client reads the first line and leaves, with a job running or
    # parked.
    srv = server_factory()
    m = Imap(srv)
    want = []
    for i in range(6):
        token = unique("bigfetch%d" % i)
        msg = simple_message(token, body=big_text(2 * 1024 * 1024,
                                                  token).decode())
        m.append(msg)
        want.append(hashlib.sha256(msg).hexdigest())
    m.close()
    for how in (reset, leave, reset):
        m = Imap(srv)
        m.ok("SELECT INBOX")
        m.send("FETCH 1:* (BODY.PEEK[] BODY.PEEK[TEXT])")
        got = m.c.read_line()
        assert got.startswith(b"* 1 FETCH"), got
        how(m.c)
    # The server is up, the messages intact and unseen.
    msgs = inbox(srv)
    assert [hashlib.sha256(b).hexdigest() for _, _, b in msgs] == want
    assert not any(b"\\Seen" in f for _, f, _ in msgs)
    srv.check_alive()


def test_imap_gone_during_long_search(server_factory):
    srv = server_factory()
    m = Imap(srv)
    for i in range(4):
        m.append(simple_message(unique("s%d" % i), body=big_text(
            4 * 1024 * 1024, "searchable").decode()))
    m.close()
    keys = "BODY never-there-0"
    for k in range(1, 16):
        keys = "OR BODY never-there-%d %s" % (k, keys)
    for how in (reset, leave):
        m = Imap(srv)
        m.ok("SELECT INBOX")
        m.send("SEARCH " + keys)
        how(m.c)
    # Still answering searches, with the right answer.
    m = Imap(srv)
    m.ok("SELECT INBOX")
    r = m.ok("SEARCH BODY searchable")
    assert r[0].strip() == b"* SEARCH 1 2 3 4", r
    m.close()
    srv.check_alive()


def test_imap_gone_during_append_stored_at_most_once(server_factory):
    srv = server_factory()
    tokens = []
    for i, size in enumerate((300, 70000, 2 * 1024 * 1024, 300, 500000)):
        token = unique("appgone%d" % i)
        tokens.append(token)
        m = Imap(srv)
        msg = simple_message(token, body=big_text(size, token).decode())
        m.send(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
        m.c.send(b"\r\n")
        (reset if i % 2 else leave)(m.c)
    # SIGTERM drains every job, so once the server has stopped (cleanly,
    # without a sanitizer report) each APPEND either ended in its commit
    # or was given up. Then no message file may be left without its
    # message: the start-up sweep, which removes such files, finds none.
    srv.stop_checked()
    files = len(message_files(srv))
    srv.start()
    sweeps = srv.wait_log(lambda l: "event=sweep" in l, at_least=2)
    assert len(sweeps) == 2 and "removed=0" in sweeps[-1], sweeps
    msgs = inbox(srv)
    for t in tokens:
        assert count_with(msgs, t) <= 1, t
    assert files == len(msgs), (files, len(msgs))


def test_imap_gone_during_expunge_all_or_nothing(server_factory):
    srv = server_factory()
    tokens = [unique("exp%d" % i) for i in range(10)]
    m = Imap(srv)
    for t in tokens:
        m.append(simple_message(t))
    m.close()
    for how in (leave, reset):
        before = inbox(srv)
        n = len(before)
        m = Imap(srv)
        m.ok("SELECT INBOX")
        m.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        m.send("EXPUNGE")
        how(m.c)
        # Bounded: the outcome settles once the job ends.
        after = None
        deadline = time.monotonic() + EVENT_WAIT
        while time.monotonic() < deadline:
            after = inbox(srv)
            if len(after) in (n, n - 3) and \
                    len(message_files(srv)) == len(after):
                break
            time.sleep(0.2)
        uids = [u for u, _, _ in before]
        if len(after) == n - 3:
            # Done completely: exactly the three marked are gone.
            assert [u for u, _, _ in after] == uids[3:]
        else:
            # Not at all: all there, the three still marked.
            assert [u for u, _, _ in after] == uids, (before, after)
            assert all(b"\\Deleted" in f for _, f, _ in after[:3])
            assert not any(b"\\Deleted" in f for _, f, _ in after[3:])
            m = Imap(srv)
            m.ok("SELECT INBOX")
            m.ok("EXPUNGE")
            m.close()
            wait_for(lambda: len(inbox(srv)) == n - 3)
        # The files of expunged messages are unlinked just after the
        # commit that the mailbox listing already shows.
        wait_for(lambda: len(message_files(srv)) == len(inbox(srv)))
        assert len(message_files(srv)) == len(inbox(srv))
    assert len(inbox(srv)) == 4
    srv.check_alive()


# -- POP3 ---------------------------------------------------------------------

def pop3_login(srv):
    """A logged-in raw POP3S client; retries (bounded) while the maildrop
    is still locked by a session that is going away."""
    for _ in range(100):
        c = connect(srv, "pop3s")
        assert c.pop_cmd("USER " + ALICE).startswith("+OK")
        r = c.pop_cmd("PASS " + srv.users[ALICE])
        if r.startswith("+OK"):
            return c
        c.close()
        assert "[IN-USE]" in r, r
        time.sleep(0.1)
    raise AssertionError("maildrop stays locked")


def test_pop3_gone_after_quit_all_or_nothing(server_factory):
    srv = server_factory()
    tokens = [unique("pq%d" % i) for i in range(8)]
    for t in tokens:
        srv.send([ALICE], simple_message(t))
    assert len(srv.wait_messages(ALICE, 8)) == 8
    for how in (leave, reset):
        before = srv.fetch_all(ALICE)
        n = len(before)
        c = pop3_login(srv)
        # Pipelined, then gone at once: the QUIT's commit starts as the
        # connection goes.
        c.send(b"DELE 1\r\nDELE 2\r\nDELE 3\r\nQUIT\r\n")
        how(c)
        # The session ends either way; then the drop is either all gone
        # or untouched.
        c = pop3_login(srv)
        r = c.pop_cmd("STAT")
        c.pop_cmd("QUIT")
        c.close()
        count = int(r.split()[1])
        after = srv.fetch_all(ALICE)
        assert count == len(after)
        if count == n - 3:
            assert after == before[3:]
        else:
            assert after == before, (count, n)
            p = srv.pop3s(ALICE)
            for i in (1, 2, 3):
                p.dele(i)
            p.quit()
        assert files_match_messages(srv, n - 3) == n - 3
    assert len(srv.fetch_all(ALICE)) == 2
    srv.check_alive()
