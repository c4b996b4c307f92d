"""IMAP message and mailbox commands end to end: STORE in every form,
EXPUNGE/UID EXPUNGE, CLOSE vs UNSELECT, CHECK, COPY/MOVE (COPYUID, UID
forms, TRYCREATE), APPEND (flags, date, APPENDUID, APPENDLIMIT, LITERAL+),
CREATE/DELETE/RENAME edge cases, STATUS of a missing mailbox, commands in
the wrong state, malformed input, and what must survive a restart
(UIDVALIDITY, UIDs never reused, messages and their flags)."""

import imaplib
import re
import socket

import pytest

from conftest import simple_message, unique
from test_imap_fetch import Raw, fetch_map

USERS = {"c%d@example.test" % i: "cmd-Secret-%d" % i for i in range(1, 21)}
SERVER_USERS = USERS
SERVER_CONFIG = {"max_message_size": 65536}


def msg(i=0, body="hello\r\n"):
    return simple_message(unique("c%d" % i), body=body)


def raw(server, n):
    return Raw(server, "c%d@example.test" % n)


def fill(c, count, box="INBOX"):
    uids = []
    for i in range(count):
        st, _, tagged = c.cmd("APPEND %s" % box, msg(i))
        assert st == "OK", tagged
        uids.append(int(re.search(rb"APPENDUID \d+ (\d+)", tagged).group(1)))
    return uids


def flags_of(c, seq="1:*"):
    return {k: v["FLAGS"] for k, v in c.fetch(seq, "(FLAGS)").items()}


def uids_of(c):
    return [int(v["UID"]) for _, v in sorted(c.fetch("1:*", "(UID)").items())]


def expand(uid_set):
    out = []
    for r in uid_set.split(b","):
        a, _, b = r.partition(b":")
        out += list(range(int(a), int(b or a) + 1))
    return out


def code(tagged):
    m = re.search(rb"\[([A-Z-]+)", tagged)
    return m.group(1).decode() if m else None


# -- STORE -------------------------------------------------------------------
def test_store_forms(server):
    c = raw(server, 1)
    fill(c, 3)
    c.ok("SELECT INBOX")
    lines = c.ok("STORE 1 +FLAGS (\\Seen $Label1 custom)")
    d = fetch_map(lines)[1]
    assert set(d["FLAGS"]) == {"\\Seen", "$Label1", "custom"}, d
    lines = c.ok("STORE 1 -FLAGS (custom)")
    assert set(fetch_map(lines)[1]["FLAGS"]) == {"\\Seen", "$Label1"}
    lines = c.ok("STORE 1:2 FLAGS (\\Answered)")
    got = fetch_map(lines)
    assert got[1]["FLAGS"] == ["\\Answered"] and \
        got[2]["FLAGS"] == ["\\Answered"], got
    lines = c.ok("STORE 3 +FLAGS.SILENT (\\Flagged)")
    assert not fetch_map(lines), lines
    lines = c.ok("STORE 3 FLAGS.SILENT ()")
    assert not fetch_map(lines), lines
    assert flags_of(c) == {1: ["\\Answered"], 2: ["\\Answered"], 3: []}
    lines = c.ok("UID STORE 2 +FLAGS (\\Draft)")
    d = fetch_map(lines)[2]
    assert d["UID"] == "2" and "\\Draft" in d["FLAGS"], d
    # the keyword is announced in FLAGS / PERMANENTFLAGS on the next SELECT
    c.ok("STORE 1 +FLAGS (kw2)")
    lines = c.ok("SELECT INBOX")
    assert any(b"PERMANENTFLAGS" in l and b"\\*" in l for l in lines), lines
    # \Recent cannot be stored; a bad flag list is BAD
    for bad in ("STORE 1 +FLAGS (\\Recent)", "STORE 1 +FLAGS (\\Bogus)",
                "STORE 1 FLAGS", "STORE 1 XFLAGS (\\Seen)",
                "STORE 1 +FLAGS (a", "STORE 1 +FLAGS (a]b)"):
        st, _, tagged = c.cmd(bad)
        assert st == "BAD", (bad, tagged)
    c.ok("EXAMINE INBOX")
    st, _, tagged = c.cmd("STORE 1 +FLAGS (\\Seen)")
    assert st == "NO", tagged
    st, _, tagged = c.cmd("UID STORE 1 +FLAGS (\\Seen)")
    assert st == "NO", tagged
    c.close()


# -- EXPUNGE, CLOSE, UNSELECT, CHECK -------------------------------------------
def test_expunge_and_uid_expunge(server):
    c = raw(server, 2)
    uids = fill(c, 5)
    c.ok("SELECT INBOX")
    c.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    lines = c.ok("EXPUNGE")
    assert lines == [b"* 2 EXPUNGE", b"* 3 EXPUNGE"], lines
    assert uids_of(c) == [uids[0], uids[2], uids[4]]
    c.ok("STORE 1:* +FLAGS.SILENT (\\Deleted)")
    # UID EXPUNGE removes only the listed UIDs among the \Deleted ones
    lines = c.ok("UID EXPUNGE %d" % uids[2])
    assert lines == [b"* 2 EXPUNGE"], lines
    assert uids_of(c) == [uids[0], uids[4]]
    lines = c.ok("UID EXPUNGE 1:%d" % uids[0])
    assert lines == [b"* 1 EXPUNGE"], lines
    c.ok("CHECK")
    c.ok("EXAMINE INBOX")
    st, _, tagged = c.cmd("EXPUNGE")
    assert st == "NO", tagged
    c.close()


def test_close_expunges_unselect_does_not(server):
    c = raw(server, 3)
    fill(c, 3)
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    lines = c.ok("UNSELECT")
    assert not any(b"EXPUNGE" in l for l in lines), lines
    st, _, tagged = c.cmd("FETCH 1 FLAGS")
    assert st == "BAD", "UNSELECT leaves the selected state"
    lines = c.ok("EXAMINE INBOX")
    assert b"* 3 EXISTS" in lines, lines
    c.ok("CLOSE")                         # read-only: no expunge
    lines = c.ok("SELECT INBOX")
    assert b"* 3 EXISTS" in lines, lines
    lines = c.ok("CLOSE")
    assert not any(b"EXPUNGE" in l for l in lines), \
        "CLOSE expunges silently (RFC 9051 section 6.4.1)"
    st, _, tagged = c.cmd("CLOSE")
    assert st == "BAD", tagged
    lines = c.ok("SELECT INBOX")
    assert b"* 2 EXISTS" in lines, lines
    c.close()


# -- COPY / MOVE ---------------------------------------------------------------
def test_copy_move_copyuid(server):
    c = raw(server, 4)
    uids = fill(c, 4)
    c.ok("CREATE Dest")
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS (\\Flagged kwcopy)")
    st, lines, tagged = c.cmd("COPY 1:2 Dest")
    assert st == "OK", tagged
    m = re.search(rb"\[COPYUID (\d+) ([\d:,]+) ([\d:,]+)\]", tagged)
    assert m, tagged
    dest_validity = int(m.group(1))
    assert expand(m.group(2)) == uids[:2], tagged
    assert expand(m.group(3)) == [1, 2], tagged
    st, lines, tagged = c.cmd("UID COPY %d Dest" % uids[3])
    assert re.search(rb"\[COPYUID %d %d 3\]" % (dest_validity, uids[3]),
                     tagged), tagged
    # MOVE: COPYUID in an untagged OK, then EXPUNGE, then the tagged OK
    st, lines, tagged = c.cmd("MOVE 2 Dest")
    assert st == "OK", tagged
    assert re.match(rb"\* OK \[COPYUID %d %d 4\]" % (dest_validity, uids[1]),
                    lines[0]), lines
    assert lines[1:] == [b"* 2 EXPUNGE"], lines
    st, lines, tagged = c.cmd("UID MOVE %d Dest" % uids[2])
    assert st == "OK" and b"* 2 EXPUNGE" in lines, (lines, tagged)
    assert uids_of(c) == [uids[0], uids[3]]
    for cmd in ("COPY 1 NoSuchBox", "MOVE 1 NoSuchBox",
                "UID COPY %d NoSuchBox" % uids[0],
                "UID MOVE %d NoSuchBox" % uids[0]):
        st, _, tagged = c.cmd(cmd)
        assert st == "NO" and code(tagged) == "TRYCREATE", (cmd, tagged)
    assert uids_of(c) == [uids[0], uids[3]], "a failed MOVE moves nothing"
    st, _, tagged = c.cmd("COPY 9 Dest")
    assert st in ("BAD", "NO"), tagged
    lines = c.ok("SELECT Dest")
    assert b"* 5 EXISTS" in lines, lines
    d = c.fetch(1, "(FLAGS UID)")[1]
    assert set(d["FLAGS"]) >= {"\\Flagged", "kwcopy"} and d["UID"] == "1"
    # MOVE to the same mailbox is allowed or refused, never a loss
    c.cmd("MOVE 1 Dest")
    c.ok("NOOP")
    assert len(c.fetch("1:*", "(UID)")) == 5
    c.close()


def test_copy_in_examine_is_allowed_move_is_not(server):
    c = raw(server, 5)
    fill(c, 1)
    c.ok("EXAMINE INBOX")
    c.ok("COPY 1 Trash")
    st, _, tagged = c.cmd("MOVE 1 Trash")
    assert st == "NO", tagged
    c.ok("SELECT INBOX")
    lines = c.ok("FETCH 1 (UID)")
    assert lines, "the message is still in INBOX"
    c.close()


# -- APPEND --------------------------------------------------------------------
def test_append_flags_date_appenduid(server):
    c = raw(server, 6)
    body = msg(0)
    st, _, tagged = c.cmd('APPEND INBOX (\\Seen \\Draft kwapp) '
                          '"01-Jan-2020 10:20:30 +0200"', body)
    assert st == "OK", tagged
    m = re.search(rb"\[APPENDUID (\d+) (\d+)\]", tagged)
    assert m, tagged
    lines = c.ok("STATUS INBOX (UIDVALIDITY UIDNEXT MESSAGES)")
    assert b"UIDVALIDITY %s" % m.group(1) in lines[0], lines
    assert b"UIDNEXT %d" % (int(m.group(2)) + 1) in lines[0], lines
    c.ok("SELECT INBOX")
    d = c.fetch(1, "(FLAGS INTERNALDATE UID BODY.PEEK[])")[1]
    assert set(d["FLAGS"]) == {"\\Seen", "\\Draft", "kwapp"}, d
    assert d["UID"] == m.group(2).decode() and d["BODY[]"] == body
    assert imaplib.Internaldate2tuple(b'INTERNALDATE "%s"' %
                                      d["INTERNALDATE"])[:6] == \
        imaplib.Internaldate2tuple(
            b'INTERNALDATE "01-Jan-2020 10:20:30 +0200"')[:6]
    for bad in ('APPEND INBOX (\\Recent)', 'APPEND INBOX "32-Jan-2020 '
                '10:20:30 +0200"', 'APPEND INBOX "01-Jan-2020 25:00:00 '
                '+0000"', 'APPEND INBOX (\\Seen'):
        st, _, tagged = c.cmd(bad, body)
        assert st == "BAD", (bad, tagged)
    st, _, tagged = c.cmd("APPEND NoSuchBox", body)
    assert st == "NO" and code(tagged) == "TRYCREATE", tagged
    # still in sync after the refusals
    c.ok("NOOP")
    c.close()


def test_append_synchronising_literal(server):
    c = raw(server, 7)
    body = msg(1)
    c.c.send(b"s1 APPEND INBOX {%d}\r\n" % len(body))
    ln = c.c.read_line()
    assert ln.startswith(b"+"), ln
    c.c.send(body + b"\r\n")
    ln = c.read_response()
    assert ln.startswith(b"s1 OK") and b"APPENDUID" in ln, ln
    c.close()


def test_append_limit_refused_before_literal(server):
    c = raw(server, 8)
    caps = c.ok("CAPABILITY")[0]
    m = re.search(rb"APPENDLIMIT=(\d+)", caps)
    assert m and int(m.group(1)) == 65536, caps
    assert b"LITERAL+" in caps, caps
    # synchronising: refused instead of "+", nothing of it is read
    c.c.send(b"s1 APPEND INBOX {70000}\r\n")
    ln = c.read_response()
    assert re.match(rb"s1 (NO \[TOOBIG\]|BAD)", ln), ln
    c.ok("NOOP")
    # exactly the limit is accepted
    big = simple_message(unique("big"), body="x" * 100 + "\r\n")
    big += b"y" * (65536 - len(big))
    c.ok("APPEND INBOX", big)
    c.ok("SELECT INBOX")
    assert c.fetch(1, "(RFC822.SIZE)")[1]["RFC822.SIZE"] == "65536"
    # non-synchronising and too large: refused; the server may close the
    # connection as it cannot skip the octets safely (RFC 7888 section 4)
    c.c.send(b"s2 APPEND INBOX {70000+}\r\n")
    try:
        ln = c.read_response()
        assert re.match(rb"(\* BYE|s2 (NO|BAD))", ln), ln
    except (AssertionError, socket.timeout, OSError):
        raise
    c.c.close()
    server.check_alive()


def test_append_literal_plus_pipelined(server):
    c = raw(server, 9)
    a, b = msg(2), msg(3)
    c.c.send(b"p1 APPEND INBOX (\\Flagged) {%d+}\r\n%s\r\n"
             b"p2 APPEND INBOX {%d+}\r\n%s\r\np3 NOOP\r\n"
             % (len(a), a, len(b), b))
    got = []
    while len(got) < 3:
        ln = c.read_response()
        if not ln.startswith(b"*"):
            got.append(ln)
    assert [g.split(b" ")[:2] for g in got] == [
        [b"p1", b"OK"], [b"p2", b"OK"], [b"p3", b"OK"]], got
    c.ok("SELECT INBOX")
    d = c.fetch("1:2", "(FLAGS BODY.PEEK[])")
    assert d[1]["BODY[]"] == a and d[2]["BODY[]"] == b
    assert d[1]["FLAGS"] == ["\\Flagged"]
    c.close()


# -- CREATE / DELETE / RENAME / STATUS -----------------------------------------
def test_create_delete_rename_edges(server):
    c = raw(server, 10)
    c.ok("CREATE Proj/a/b")
    st, _, tagged = c.cmd("CREATE Proj/a")
    assert st == "NO" and code(tagged) == "ALREADYEXISTS", tagged
    st, _, tagged = c.cmd("CREATE inbox")
    assert st == "NO", tagged
    c.ok("CREATE Trailing/")           # RFC 9051: the trailing / is dropped
    lines = c.ok('LIST "" Trailing*')
    assert len(lines) == 1 and (lines[0].endswith(b'"/" Trailing') or
                                lines[0].endswith(b'"/" "Trailing"')), lines
    fill(c, 2, "Proj/a")
    st, lines, _ = c.cmd("STATUS Proj/a (UIDVALIDITY)")
    validity = re.search(rb"UIDVALIDITY (\d+)", lines[0]).group(1)
    c.ok("RENAME Proj Work")
    lines = [l.replace(b'"/" "', b'"/" ').rstrip(b'"')
             for l in c.ok('LIST "" Work*')]
    assert sorted(lines) == sorted([
        b'* LIST (\\HasChildren) "/" Work',
        b'* LIST (\\HasChildren) "/" Work/a',
        b'* LIST (\\HasNoChildren) "/" Work/a/b']), lines
    assert c.ok('LIST "" Proj*') == []
    lines = c.ok("STATUS Work/a (MESSAGES UIDVALIDITY)")
    assert b"MESSAGES 2" in lines[0], lines
    assert b"UIDVALIDITY " + validity in lines[0], \
        "RENAME keeps UIDVALIDITY (RFC 9051 section 6.3.6)"
    for cmd, want in (("RENAME Work/a Work/a/b", "ALREADYEXISTS"),
                      ("RENAME NoSuch Other", "NONEXISTENT"),
                      ("RENAME Work INBOX", "ALREADYEXISTS"),
                      ("DELETE INBOX", None), ("DELETE NoSuch", "NONEXISTENT"),
                      ("RENAME Work Work/x", None)):
        st, _, tagged = c.cmd(cmd)
        assert st == "NO", (cmd, tagged)
        if want:
            assert code(tagged) == want, (cmd, tagged)
    # DELETE of a mailbox with children leaves it \Noselect (RFC 9051 6.3.5)
    c.ok("DELETE Work/a")
    lines = c.ok('LIST "" Work/a')
    assert lines and b"\\Noselect" in lines[0], lines
    st, _, tagged = c.cmd("SELECT Work/a")
    assert st == "NO", tagged
    c.ok("DELETE Work/a/b")
    st, lines, _ = c.cmd("STATUS NoSuchBox (MESSAGES)")
    assert st == "NO" and code(_) == "NONEXISTENT", _
    c.close()


def test_rename_inbox_moves_messages(server):
    c = raw(server, 11)
    uids = fill(c, 3)
    c.ok("RENAME INBOX Old")
    lines = c.ok("STATUS Old (MESSAGES)")
    assert b"MESSAGES 3" in lines[0], lines
    lines = c.ok("STATUS INBOX (MESSAGES UIDNEXT)")
    assert b"MESSAGES 0" in lines[0], lines
    c.ok("SELECT Old")
    assert uids_of(c) == uids
    # new mail still arrives in INBOX
    server.send("c11@example.test", msg(4))
    server.wait_messages("c11@example.test", 1)
    lines = c.ok("STATUS INBOX (MESSAGES)")
    assert b"MESSAGES 1" in lines[0], lines
    # RFC 9051 section 6.3.6: INBOX's children stay where they are; a
    # new name with missing superiors gets them created
    c.ok("CREATE INBOX/kid")
    c.ok("RENAME INBOX Old2")
    names = [l.rsplit(b'"/" ', 1)[1].strip(b'"') for l in c.ok('LIST "" *')]
    assert b"INBOX/kid" in names and b"Old2/kid" not in names, names
    assert b"INBOX" in names and b"Old2" in names, names
    c.ok("RENAME Old2 A/B/C")
    names = [l.rsplit(b'"/" ', 1)[1].strip(b'"') for l in c.ok('LIST "" *')]
    assert {b"A", b"A/B", b"A/B/C"} <= set(names), names
    lines = c.ok("STATUS A/B/C (MESSAGES)")
    assert b"MESSAGES 1" in lines[0], lines
    c.close()


def test_delete_selected_mailbox(server):
    c = raw(server, 12)
    c.ok("CREATE Gone")
    fill(c, 1, "Gone")
    c.ok("SELECT Gone")
    # A failed DELETE keeps the selection; a done one ends it.
    st, lines, tagged = c.cmd("DELETE Nonexistent")
    assert st == "NO", tagged
    c.ok("FETCH 1 (FLAGS)")
    st, lines, tagged = c.cmd("DELETE Gone")
    assert st == "OK", tagged
    st, lines, tagged = c.cmd("FETCH 1 (FLAGS)")
    assert st == "BAD", tagged
    c.ok("NOOP")
    c.close()


# -- states and malformed input ------------------------------------------------
def test_wrong_state_and_malformed(server):
    host, port = server.addr("imaps")
    from rawclient import RawClient
    r = RawClient(host, port, tls_ctx=server.ssl_context())
    assert r.read_line().startswith(b"* OK")
    for cmd in ("SELECT INBOX", "FETCH 1 FLAGS", "LIST \"\" *",
                "STATUS INBOX (MESSAGES)", "APPEND INBOX x"):
        r.line("n1 " + cmd)
        ln = r.read_line()
        assert re.match(rb"n1 (BAD|NO) ", ln), (cmd, ln)
    r.close()
    # a fresh connection per group: a session is closed after too many
    # errors in a row (LIMIT_IMAP_ERRORS)
    c = raw(server, 13)
    fill(c, 2)
    for cmd in ("FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "EXPUNGE",
                "CLOSE", "UNSELECT", "COPY 1 Trash", "MOVE 1 Trash",
                "SEARCH ALL", "UID FETCH 1 FLAGS", "CHECK"):
        st, _, tagged = c.cmd(cmd)
        assert st == "BAD", (cmd, tagged)
    c.close()
    c = raw(server, 13)
    for cmd in ("FOO", "XYZZY 1 2", "UID FOO 1", "UID NOOP", "LOGIN",
                "SELECT", "SELECT INBOX extra junk", "CREATE",
                "RENAME a", "STATUS INBOX", "STATUS INBOX (BOGUS)",
                "NOOP extra", "CAPABILITY x", "LOGOUT x", "NAMESPACE x"):
        st, _, tagged = c.cmd(cmd)
        assert st == "BAD", (cmd, tagged)
    c.ok("SELECT INBOX")
    for cmd in ("CHECK x", "CLOSE x", "UNSELECT x", "EXPUNGE 1",
                "IDLE x"):
        st, _, tagged = c.cmd(cmd)
        assert st == "BAD", (cmd, tagged)
    c.ok("NOOP")
    c.close()
    for seq in ("0", "1:0", "a", "1,", ",1", "1::2", "1:*:2", "-1",
                "4294967296", "1 2", "*:", "1,,2", "1:2:3"):
        c = raw(server, 13)
        c.ok("SELECT INBOX")
        st, _, tagged = c.cmd("FETCH %s FLAGS" % seq)
        assert st == "BAD", (seq, tagged)
        st, _, tagged = c.cmd("UID FETCH %s FLAGS" % seq)
        assert st == "BAD", ("UID", seq, tagged)
        c.close()
    c = raw(server, 13)
    c.ok("SELECT INBOX")
    # out of range message numbers (RFC 9051 section 6.4.5): BAD or NO
    st, _, tagged = c.cmd("FETCH 3 FLAGS")
    assert st in ("BAD", "NO"), tagged
    # UIDs that do not exist are not an error
    st, lines, tagged = c.cmd("UID FETCH 99 FLAGS")
    assert st == "OK" and lines == [], (lines, tagged)
    # an empty line and a line without a command
    c.c.send(b"\r\n")
    c.c.send(b"tagonly\r\n")
    ln = c.read_response()
    while not ln.startswith(b"tagonly") and not ln.startswith(b"* BAD"):
        ln = c.read_response()
    c.ok("NOOP")
    c.close()


# -- persistence ---------------------------------------------------------------
def test_restart_keeps_uidvalidity_uids_and_flags(server_factory):
    srv = server_factory(users={"r@example.test": "restart-Secret-1"})

    def conn():
        return Raw(srv, "r@example.test")

    c = conn()
    c.ok("CREATE Keep")
    uids = fill(c, 3)
    fill(c, 1, "Keep")
    lines = c.ok("SELECT INBOX")
    validity = [l for l in lines if b"UIDVALIDITY" in l][0]
    c.ok("STORE 1 +FLAGS (\\Seen kwkeep)")
    c.ok("STORE 2 +FLAGS (\\Flagged \\Answered)")
    c.ok("STORE 3 +FLAGS (\\Deleted)")
    c.ok("EXPUNGE")
    c.close()
    srv.restart()
    c = conn()
    lines = c.ok("SELECT INBOX")
    assert validity in lines, (validity, lines)
    assert uids_of(c) == uids[:2]
    fl = flags_of(c)
    assert set(fl[1]) == {"\\Seen", "kwkeep"}, fl
    assert set(fl[2]) == {"\\Flagged", "\\Answered"}, fl
    # the expunged UID is never handed out again, even after the restart
    new = fill(c, 1)
    assert new[0] > uids[2], (new, uids)
    c.ok("STORE 1:* +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    new2 = fill(c, 1)
    assert new2[0] > new[0]
    lines = c.ok("STATUS Keep (UIDVALIDITY MESSAGES)")
    keep_validity = re.search(rb"UIDVALIDITY (\d+)", lines[0]).group(1)
    c.ok("RENAME Keep Kept")
    c.close()
    srv.restart()
    c = conn()
    lines = c.ok("STATUS Kept (UIDVALIDITY MESSAGES)")
    assert b"UIDVALIDITY " + keep_validity in lines[0], lines
    assert b"MESSAGES 1" in lines[0], lines
    lines = c.ok("SELECT INBOX")
    assert validity in lines and uids_of(c) == new2
    c.close()


def test_sequence_and_uid_edges(server):
    c = raw(server, 14)
    c.ok("CREATE Empty")
    c.ok("SELECT Empty")
    # "*" in an empty mailbox: an error for sequence numbers, nothing for
    # UIDs (RFC 9051 section 6.4.8)
    for cmd in ("FETCH 1:* FLAGS", "FETCH * FLAGS"):
        st, _, tagged = c.cmd(cmd)
        assert st in ("BAD", "NO"), (cmd, tagged)
    for cmd in ("UID FETCH 1:* FLAGS", "UID STORE 1:* +FLAGS (\\Seen)",
                "UID COPY 1:* Trash", "UID EXPUNGE 1:*"):
        assert c.ok(cmd) == [], cmd
    c.ok('APPEND INBOX (\\Flagged) "01-Jan-2020 10:20:30 +0000"',
         msg(0))
    uids = fill(c, 2)
    c.ok("SELECT INBOX")
    # n:* with n above the highest UID still means the last message
    d = fetch_map(c.ok("UID FETCH %d:* (FLAGS)" % (uids[-1] + 10)))
    assert list(d) == [3] and d[3]["UID"] == str(uids[-1]), d
    assert list(fetch_map(c.ok("FETCH 3:1 (UID)"))) == [1, 2, 3]
    assert list(fetch_map(c.ok("FETCH 2,1,2 (UID)"))) == [1, 2]
    # COPY and MOVE keep flags and INTERNALDATE (RFC 9051 section 6.4.7)
    c.ok("COPY 1 Trash")
    c.ok("MOVE 1 Archive")
    for box in ("Trash", "Archive"):
        c.ok("EXAMINE %s" % box)
        d = c.fetch("*", "(FLAGS INTERNALDATE)")
        d = list(d.values())[0]
        assert d["FLAGS"] == ["\\Flagged"], (box, d)
        assert d["INTERNALDATE"] == b"01-Jan-2020 10:20:30 +0000", (box, d)
    c.close()


def test_copy_of_scattered_uids_has_whole_copyuid(server):
    """A COPYUID listing many scattered UIDs is sent whole (it used to be
    longer than the tagged reply's buffer, and the client waited for a
    reply that never came); runs are written as ranges."""
    c = raw(server, 20)
    uids = fill(c, 700)
    c.ok("CREATE Many")
    c.ok("SELECT INBOX")
    picked = uids[::2]
    st, lines, tagged = c.cmd("UID COPY %s Many" %
                              ",".join(str(u) for u in picked))
    assert st == "OK", tagged
    m = re.search(rb"\[COPYUID \d+ ([\d:,]+) ([\d:,]+)\]", tagged)
    assert m, tagged
    assert expand(m.group(1)) == picked
    assert m.group(2) == b"1:350", tagged
    c.close()
