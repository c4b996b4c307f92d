"""IMAP selected state: SELECT/EXAMINE, FETCH (every item kind), STORE
(.SILENT, UNCHANGEDSINCE), EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT, IDLE and
two sessions on one mailbox seeing each other's changes."""

import imaplib
import re

import pytest
import socket
import threading
import time

from conftest import simple_message, unique

USERS = {"f%d@example.test" % i: "fetch-Secret-%d" % i for i in range(1, 11)}
SERVER_USERS = USERS

MIME_MSG = (b"From: Ann <ann@remote.test>\r\nTo: f@example.test\r\n"
            b"Subject: parts\r\nMessage-ID: <mp@remote.test>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
            b"preamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
            b"first part\r\n--XX\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n"
            b"--XX--\r\n")


def setup_box(server, n, count=3, extra=None):
    user = "f%d@example.test" % n
    toks = [unique("m%d" % i) for i in range(count)]
    for t in toks:
        server.send(user, simple_message(t, body="body %s\r\n" % t))
    if extra:
        server.send(user, extra)
    server.wait_messages(user, count + (1 if extra else 0))
    return user, toks


def test_select_examine(server):
    user, _ = setup_box(server, 1)
    m = server.imaps(user)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    assert m.untagged_responses.get("UIDVALIDITY")
    assert "READ-WRITE" in m.untagged_responses
    typ, data = m.select("inbox", readonly=True)
    assert typ == "OK" and "READ-ONLY" in m.untagged_responses
    typ, data = m.store("1", "+FLAGS", "\\Seen")
    assert typ == "NO"
    typ, data = m.select("nonexistent")
    assert typ == "NO"
    m.logout()


def test_fetch_items(server):
    user, toks = setup_box(server, 2)
    m = server.imaps(user)
    m.select("INBOX")
    typ, data = m.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE UID)")
    assert typ == "OK"
    s = data[0].decode()
    # This first session claimed the new messages: \Recent (RFC 3501).
    assert "FLAGS (\\Recent)" in s and "INTERNALDATE" in s and \
        "UID 1" in s, s
    typ, data = m.fetch("1:2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: %s\r\n\r\n" % toks[0].encode(), data
    typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
    assert data[0][1] == b"body %s\r\n" % toks[0].encode()
    typ, data = m.fetch("1", "(BODY.PEEK[]<0.5>)")
    assert len(data[0][1]) == 5 and b"<0>" in data[0][0], data
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0]
    typ, data = m.fetch("1", "(RFC822)")
    assert toks[0].encode() in data[0][1]
    flat = b"".join(x if isinstance(x, bytes) else x[0] for x in data)
    assert b"\\Seen" in flat, data
    typ, data = m.uid("FETCH", "2", "(FLAGS)")
    assert b"UID 2" in data[0]
    with pytest.raises(imaplib.IMAP4.error):
        m.fetch("99", "(FLAGS)")
    m.logout()


def test_fetch_mime(server):
    user, _ = setup_box(server, 3, count=0, extra=MIME_MSG)
    m = server.imaps(user)
    m.select("INBOX")
    typ, data = m.fetch("1", "(ENVELOPE BODYSTRUCTURE BODY)")
    assert typ == "OK", data
    s = data[0] if isinstance(data[0], bytes) else b"".join(
        x if isinstance(x, bytes) else b"".join(x) for x in data)
    assert b"ENVELOPE" in s and b"parts" in s and b"BODYSTRUCTURE" in s, s
    typ, data = m.fetch("1", "(BODY.PEEK[1])")
    assert data[0][1] == b"first part", data
    typ, data = m.fetch("1", "(BODY.PEEK[2.MIME])")
    assert b"Content-Transfer-Encoding: base64" in data[0][1], data
    typ, data = m.fetch("1", "(BINARY.PEEK[2] BINARY.SIZE[2])")
    flat = b"".join(x if isinstance(x, bytes) else b"".join(x)
                    for x in data)
    assert b"hello world" in flat and b"BINARY.SIZE[2] 11" in flat, flat
    m.logout()


def test_store_and_expunge(server):
    user, toks = setup_box(server, 4, count=4)
    m = server.imaps(user)
    m.select("INBOX")
    typ, data = m.store("1:2", "+FLAGS", "(\\Deleted $Forwarded)")
    assert typ == "OK"
    assert b"\\Deleted" in data[0] and b"$Forwarded" in data[0], data
    typ, data = m.store("3", "+FLAGS.SILENT", "\\Flagged")
    assert typ == "OK" and data == [None]
    typ, data = m.store("1", "-FLAGS", "$Forwarded")
    assert b"$Forwarded" not in data[0]
    typ, data = m.expunge()
    assert typ == "OK" and data == [b"1", b"1"], data
    typ, data = m.fetch("1:*", "(UID FLAGS)")
    assert len(data) == 2 and b"UID 3" in data[0] and b"\\Flagged" in data[0]
    m.store("2", "+FLAGS", "\\Deleted")
    m.store("1", "+FLAGS", "\\Deleted")
    typ, data = m.uid("EXPUNGE", "4")
    assert typ == "OK"
    typ, data = m.fetch("1:*", "(UID)")
    assert len(data) == 1 and b"UID 3" in data[0], data
    typ, data = m.close()
    assert typ == "OK"
    typ, data = m.select("INBOX")
    assert data == [b"0"], data
    m.unselect()
    m.logout()


def test_condstore_unchangedsince(server):
    user, _ = setup_box(server, 5, count=2)
    m = server.imaps(user)
    m._simple_command("ENABLE", "CONDSTORE")
    m.select("INBOX")
    hms = int(m.untagged_responses["HIGHESTMODSEQ"][0])
    typ, data = m.fetch("1", "(MODSEQ)")
    ms = int(re.search(rb"MODSEQ \((\d+)\)", data[0]).group(1))
    m.store("1", "+FLAGS", "\\Seen")
    typ, data = m._simple_command("STORE", "1", "(UNCHANGEDSINCE %d)" % ms,
                                  "+FLAGS", "\\Flagged")
    assert typ == "OK" and b"MODIFIED" in data[0], data
    typ, data = m.fetch("1:*", "(FLAGS) (CHANGEDSINCE %d)" % hms)
    assert len([d for d in data if d]) == 1, data
    m.logout()


def two_sessions(server, n):
    """A box of 3 messages with two sessions, a and b, that selected its
    INBOX; returns (user, tokens, a, b)."""
    user, toks = setup_box(server, n, count=3)
    a = server.imaps(user)
    b = server.imaps(user)
    a.select("INBOX")
    b.select("INBOX")
    return user, toks, a, b


def test_two_sessions_see_changes(server):
    user, toks, a, b = two_sessions(server, 6)
    a.store("2", "+FLAGS", "\\Flagged")
    typ, data = b.noop()
    fetches = b.untagged_responses.pop("FETCH", [])
    assert any(b"\\Flagged" in f for f in fetches), fetches
    a.store("1", "+FLAGS", "\\Deleted")
    a.expunge()
    # b learns of the expunge (RFC 9051 section 7.5.1): message 1 gone.
    expunged = []
    deadline = time.monotonic() + 10
    while not expunged and time.monotonic() < deadline:
        b.noop()
        expunged += b.untagged_responses.pop("EXPUNGE", [])
    assert expunged == [b"1"], expunged
    server.send(user, simple_message(unique("new")))
    deadline = time.monotonic() + 10
    exists = []
    while time.monotonic() < deadline:
        b.noop()
        exists += b.untagged_responses.pop("EXISTS", [])
        if exists:
            break
        time.sleep(0.1)
    assert b.untagged_responses.pop("EXPUNGE", []) == []
    assert exists and int(exists[-1]) == 3, exists
    typ, data = b.fetch("1:*", "(UID)")
    uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data]
    assert uids == [2, 3, 4], uids
    a.logout()
    b.logout()


def imaps_lines(server):
    """A TLS socket to the imaps port and a line reader on it, past the
    greeting."""
    host, port = server.addr("imaps")
    sock = server.ssl_context().wrap_socket(
        socket.create_connection((host, port), timeout=10),
        server_hostname="localhost")
    f = sock.makefile("rb")
    f.readline()
    return sock, f


def test_idle_woken_by_smtp(server):
    user, _ = setup_box(server, 7, count=1)
    sock, f = imaps_lines(server)
    sock.sendall(b"a1 LOGIN %s %s\r\n" % (user.encode(),
                                        USERS[user].encode()))
    while not f.readline().startswith(b"a1 "):
        pass
    sock.sendall(b"a2 SELECT INBOX\r\n")
    while not f.readline().startswith(b"a2 "):
        pass
    sock.sendall(b"a3 IDLE\r\n")
    assert f.readline().startswith(b"+ ")
    # How soon the EXISTS comes is measured by bench/idle_wake.py.
    server.send(user, simple_message(unique("idle")))
    line = f.readline()
    assert line == b"* 2 EXISTS\r\n", line
    # IMAP4rev1: the new message is \Recent in this session.
    line = f.readline()
    assert line == b"* 2 RECENT\r\n", line
    sock.sendall(b"DONE\r\n")
    assert f.readline().startswith(b"a3 OK")
    sock.close()


def test_select_flags_lists_keywords_in_use(server):
    """Clients learn the mailbox's tags from the FLAGS response."""
    user, _ = setup_box(server, 1)
    m = server.imaps(user)
    m.select("INBOX")
    assert m.store("1", "+FLAGS", "($Label1 Work)")[0] == "OK"
    assert m.store("2", "+FLAGS", "(work $Forwarded)")[0] == "OK"
    m.close()
    m.select("INBOX")
    flags = m.untagged_responses["FLAGS"][-1].decode()
    assert flags.startswith("(\\Answered \\Flagged \\Deleted \\Seen \\Draft"), flags
    words = flags.strip("()").split()
    # Each keyword once, whatever its case in each message.
    assert sorted(w.lower() for w in words if not w.startswith("\\")) == \
        ["$forwarded", "$label1", "work"], flags
    m.logout()


def test_fetch_of_message_expunged_by_other_session(server):
    """RFC 9051 §7.4.1 forbids EXPUNGE during FETCH, so a session that has
    not yet been told of another session's expunge still numbers the
    message; FETCHing it answers with its data (kept until this session
    is told, issue 11), and the EXPUNGE follows at the next NOOP."""
    user, toks, a, b = two_sessions(server, 8)
    a.store("1", "+FLAGS", "\\Deleted")
    typ, _ = a.expunge()
    assert typ == "OK"
    typ, data = b.fetch("1:3", "(RFC822.SIZE BODY.PEEK[TEXT])")
    assert typ == "OK", (typ, data)
    fetches = data
    seqs = sorted(int(f[0].split()[0]) for f in fetches
                  if isinstance(f, tuple))
    assert seqs == [1, 2, 3], fetches
    bodies = b"".join(f[1] for f in fetches if isinstance(f, tuple))
    assert all(t.encode() in bodies for t in toks[:3])
    # What the view holds still answers: flags need no message file.
    typ, data = b.fetch("1", "(UID FLAGS)")
    assert typ == "OK" and b"UID 1 " in data[0], data
    b.untagged_responses.pop("EXPUNGE", None)
    typ, _ = b.noop()
    assert b.untagged_responses.get("EXPUNGE") == [b"1"], \
        b.untagged_responses
    typ, data = b.fetch("1", "(BODY.PEEK[TEXT])")
    assert typ == "OK" and toks[1].encode() in data[0][1]
    a.logout()
    b.logout()


def test_expunge_spares_message_undeleted_by_other_session(server):
    """EXPUNGE removes what has \\Deleted in the store at that moment: a
    message another session undeleted after this one saw the flag stays
    (the session has not been told of the change yet)."""
    user, toks = setup_box(server, 9, count=2)
    a = server.imaps(user)
    b = server.imaps(user)
    a.select("INBOX")
    b.select("INBOX")
    assert a.store("1:2", "+FLAGS.SILENT", "\\Deleted")[0] == "OK"
    b.noop()
    assert b.store("1", "-FLAGS.SILENT", "\\Deleted")[0] == "OK"
    typ, _ = a.expunge()
    assert typ == "OK"
    b.noop()
    left = b.uid("SEARCH", "ALL")[1][0].split()
    assert len(left) == 1, left
    typ, data = b.fetch("1", "(BODY.PEEK[TEXT] FLAGS)")
    assert b"\\Deleted" not in data[0][0], data
    assert toks[0].encode() in data[0][1], data
    a.logout()
    b.logout()


def test_idle_announces_expunge_held_back_by_fetch(server):
    """An expunge learnt during a FETCH (where EXPUNGE may not be sent)
    is announced as soon as the client enters IDLE, not at some later
    change (RFC 2177, RFC 9051 §7.4.1)."""
    user, _ = setup_box(server, 10, count=2)
    other = server.imaps(user)
    other.select("INBOX")
    sock, f = imaps_lines(server)

    def cmd(tag, text):
        sock.sendall(b"%s %s\r\n" % (tag, text))
        lines = []
        while True:
            ln = f.readline()
            assert ln, lines
            if ln.startswith(tag + b" "):
                return lines, ln
            lines.append(ln)

    cmd(b"a1", b"LOGIN %s %s" % (user.encode(), USERS[user].encode()))
    cmd(b"a2", b"SELECT INBOX")
    assert other.store("1", "+FLAGS", "\\Deleted")[0] == "OK"
    assert other.expunge()[0] == "OK"
    lines, tagged = cmd(b"a3", b"FETCH 1:2 (FLAGS)")
    assert not [l for l in lines if l.endswith(b"EXPUNGE\r\n")], lines
    sock.sendall(b"a4 IDLE\r\n")
    assert f.readline().startswith(b"+ ")
    assert f.readline() == b"* 1 EXPUNGE\r\n"
    sock.sendall(b"DONE\r\n")
    assert f.readline().startswith(b"a4 OK")
    sock.close()
    other.logout()
