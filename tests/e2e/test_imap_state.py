"""IMAP state shared between sessions (issue 11 items 2, 3 and 12), as
raw exchanges: a message expunged by another session stays fetchable until
this session is told; \\Recent for IMAP4rev1 sessions (RFC 3501 §2.3.2);
a binary APPEND (RFC 3516) served back as stored."""

import re
import time

from conftest import simple_message, unique
from imapraw import Imap, starting
from waitutil import message_files

USER = "alice@example.test"


def fresh_box(c, tag):
    name = unique(tag)
    c.ok("CREATE %s" % name)
    return name


def append(c, box, token, flags=""):
    msg = simple_message(token)
    if isinstance(msg, str):
        msg = msg.encode()
    lines = c.ok("APPEND %s%s" % (box, " " + flags if flags else ""), msg)
    return lines


def msg_files(server):
    """Message bodies kept: files, and (small messages) database rows."""
    return set(message_files(server))


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


# ---- item 2: fetch of a message expunged by another session ----------

def test_expunged_by_other_session_stays_fetchable(server):
    a = Imap(server, USER)
    name = fresh_box(a, "exp")
    tokens = [unique("m%d" % i) for i in range(3)]
    before = msg_files(server)
    for t in tokens:
        append(a, name, t)
    files = msg_files(server) - before
    assert len(files) == 3
    b = Imap(server, USER)
    b.ok("SELECT %s" % name)
    a.ok("SELECT %s" % name)
    a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    lines = a.ok("EXPUNGE")
    assert "* 2 EXPUNGE" in lines, lines
    # b still numbers message 2: data and metadata are served.
    st, lines, tagged = b.cmd("FETCH 2 (UID FLAGS RFC822.SIZE INTERNALDATE "
                              "ENVELOPE BODY.PEEK[])")
    assert st == "OK", (lines, tagged)
    assert any(tokens[1] in l for l in lines), lines
    assert any("ENVELOPE (" in l for l in lines), lines
    assert not any("EXPUNGE" in l for l in lines), lines
    # The file is kept while b numbers the message.
    assert msg_files(server) - before == files
    # Told now: the expunge is announced, then the file goes.
    lines = b.ok("NOOP")
    assert "* 2 EXPUNGE" in lines, lines
    assert wait_for(lambda: len(msg_files(server) - before) == 2)
    st, lines, _ = b.cmd("FETCH 2 BODY.PEEK[]")
    assert st == "OK" and any(tokens[2] in l for l in lines), lines
    a.close()
    b.close()


def test_expunged_file_removed_when_holder_logs_out(server):
    a = Imap(server, USER)
    name = fresh_box(a, "exl")
    before = msg_files(server)
    append(a, name, unique("x"), "(\\Deleted)")
    assert len(msg_files(server) - before) == 1
    b = Imap(server, USER)
    b.ok("SELECT %s" % name)
    a.ok("SELECT %s" % name)
    a.ok("EXPUNGE")
    # b was never told; its logout lets the file go.
    assert msg_files(server) - before
    b.close()
    assert wait_for(lambda: not (msg_files(server) - before))
    a.close()


def test_expunge_while_fetching_never_serverbug(server):
    """A reader fetching bodies while another session expunges them one by
    one: every FETCH answers OK with the data, never NO [SERVERBUG]."""
    a = Imap(server, USER)
    name = fresh_box(a, "race")
    n = 30
    for i in range(n):
        append(a, name, unique("r%d" % i), "(\\Deleted)")
    b = Imap(server, USER)
    b.ok("SELECT %s" % name)
    a.ok("SELECT %s" % name)
    # Pipelined: b's FETCHes and a's EXPUNGEs interleave in the server.
    for i in range(n):
        a.c.line(b"e%d UID EXPUNGE %d" % (i, i + 1))
        st, lines, tagged = b.cmd("FETCH %d BODY.PEEK[]" % (i + 1))
        assert st == "OK", (i, lines, tagged)
        assert any("{" in l for l in lines), lines
    for i in range(n):
        while True:
            ln = a.read_response()
            if ln.startswith("e%d " % i):
                assert " OK " in ln, ln
                break
    assert "SERVERBUG" not in open(server.stderr_path, errors="replace").read()
    a.close()
    b.close()


# ---- item 3: \Recent ---------------------------------------------------

def recent_count(lines):
    for l in lines:
        m = re.match(r"\* (\d+) RECENT$", l)
        if m:
            return int(m.group(1))
    return None


def flags_of(lines):
    return [l for l in lines if " FETCH " in l]


def test_recent_claimed_by_first_select(server):
    a = Imap(server, USER)
    name = fresh_box(a, "rec")
    for i in range(2):
        append(a, name, unique("n%d" % i))
    lines = a.ok("STATUS %s (RECENT MESSAGES)" % name)
    assert "RECENT 2" in starting(lines, "* STATUS")[0], lines
    # EXAMINE reports them and does not claim them.
    e = Imap(server, USER)
    lines = e.ok("EXAMINE %s" % name)
    assert recent_count(lines) == 2, lines
    lines = e.ok("FETCH 1:* FLAGS")
    assert all("\\Recent" in l for l in flags_of(lines)), lines
    # The first SELECT claims them: \Recent in this session only.
    lines = a.ok("SELECT %s" % name)
    assert recent_count(lines) == 2, lines
    assert any("\\Recent" in l for l in starting(lines, "* FLAGS")) is False
    lines = a.ok("FETCH 1:* FLAGS")
    assert len(flags_of(lines)) == 2
    assert all("\\Recent" in l for l in flags_of(lines)), lines
    assert "* SEARCH 1 2" in a.ok("SEARCH RECENT")
    assert "* SEARCH 1 2" in a.ok("SEARCH NEW")
    assert "* SEARCH" in a.ok("SEARCH OLD")
    a.ok("STORE 1 +FLAGS (\\Seen)")
    assert "* SEARCH 2" in a.ok("SEARCH NEW")
    # Its own APPEND into the selected mailbox: it is told first.
    lines = append(a, name, unique("own"))
    assert "* 3 EXISTS" in lines and recent_count(lines) == 3, lines
    b = Imap(server, USER)
    lines = b.ok("SELECT %s" % name)
    assert recent_count(lines) == 0, lines
    lines = b.ok("FETCH 1:* FLAGS")
    assert not any("\\Recent" in l for l in lines), lines
    assert "* SEARCH 1 2 3" in b.ok("SEARCH OLD")
    lines = b.ok("STATUS INBOX (RECENT)")
    lines = e.ok("STATUS %s (RECENT)" % name)
    assert "RECENT 0" in starting(lines, "* STATUS")[0], lines
    # \Recent is not settable.
    st, _, _ = a.cmd("STORE 1 +FLAGS (\\Recent)")
    assert st in ("BAD", "NO")
    for c in (a, b, e):
        c.close()


def test_recent_new_mail_announced_and_copy_creates_recent(server):
    a = Imap(server, USER)
    name = fresh_box(a, "rnew")
    other = fresh_box(a, "rdst")
    append(a, name, unique("f"))
    lines = a.ok("SELECT %s" % name)
    assert recent_count(lines) == 1, lines
    b = Imap(server, USER)
    b.ok("SELECT %s" % name)
    # New mail from a session that does not have the mailbox selected.
    c = Imap(server, USER)
    append(c, name, unique("g"))
    c.close()
    lines = a.ok("NOOP")
    assert "* 2 EXISTS" in lines, lines
    assert recent_count(lines) == 2, lines
    lines = a.ok("FETCH 2 FLAGS")
    assert "\\Recent" in flags_of(lines)[0], lines
    # b saw the new message after a claimed it: not recent for b.
    lines = b.ok("NOOP")
    lines = b.ok("FETCH 1:* FLAGS")
    assert not any("\\Recent" in l for l in lines), lines
    # COPY makes recent messages in the target.
    a.ok("COPY 1:2 %s" % other)
    lines = a.ok("STATUS %s (RECENT)" % other)
    assert "RECENT 2" in starting(lines, "* STATUS")[0], lines
    lines = b.ok("SELECT %s" % other)
    assert recent_count(lines) == 2, lines
    a.close()
    b.close()


def test_rev2_session_never_sees_recent(server):
    a = Imap(server, USER)
    name = fresh_box(a, "rv2")
    append(a, name, unique("h"))
    a.ok("ENABLE IMAP4rev2")
    lines = a.ok("SELECT %s" % name)
    assert recent_count(lines) is None, lines
    lines = a.ok("FETCH 1 FLAGS")
    assert not any("\\Recent" in l for l in lines), lines
    # It did not claim it either: an IMAP4rev1 session still gets it.
    b = Imap(server, USER)
    lines = b.ok("SELECT %s" % name)
    assert recent_count(lines) == 1, lines
    a.close()
    b.close()


# ---- item 12: binary APPEND ---------------------------------------------

def test_binary_append_served_as_stored(server):
    c = Imap(server, USER, binary=True)
    name = fresh_box(c, "bin")
    part = bytes(range(256)) * 4
    msg = (b"From: a@example.test\r\nTo: b@example.test\r\n"
           b"Subject: bin\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: binary\r\n\r\n" + part)
    st, lines, tagged = c.cmd(b"APPEND %s ~{%d+}\r\n" % (name.encode(),
                                                        len(msg)) + msg)
    assert st == "OK", (lines, tagged)
    assert lines == [], lines
    c.ok("SELECT %s" % name)
    for item, want in ((b"BINARY.PEEK[1]", part), (b"BODY.PEEK[1]", part),
                       (b"BODY.PEEK[]", msg), (b"BINARY.PEEK[]", msg),
                       (b"BODY.PEEK[TEXT]", part)):
        st, lines, tagged = c.cmd(b"FETCH 1 " + item)
        assert st == "OK", (item, lines, tagged)
        assert len(lines) == 1, (item, lines)
        assert lines[0].startswith(b"* 1 FETCH ("), lines
        if item.startswith(b"BINARY"):
            # As stored, in a literal8 (RFC 3516 §4.3).
            assert b" ~{%d}\r\n" % len(want) in lines[0], (item, lines[0][:80])
        else:
            # BODY[] takes only a string (RFC 9051 msg-att-static), and a
            # literal may not carry NUL: a plain literal of the stored size,
            # each NUL shown as 0x80, the other octets as stored.
            assert b" {%d}\r\n" % len(want) in lines[0], (item, lines[0][:80])
            want = want.replace(b"\0", b"\x80")
        assert lines[0].endswith(want + b")"), (item, lines[0][-80:])
    st, lines, tagged = c.cmd(b"FETCH 1 BINARY.SIZE[1]")
    assert st == "OK" and b"BINARY.SIZE[1] %d" % len(part) in lines[0]
    c.close()
