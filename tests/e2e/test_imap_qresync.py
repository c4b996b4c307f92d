"""QRESYNC (RFC 7162 §3.2): ENABLE QRESYNC, SELECT (QRESYNC (...)) with
VANISHED (EARLIER) and FETCH of changes, UID FETCH (CHANGEDSINCE m
VANISHED), VANISHED instead of EXPUNGE, and the CLOSED response code."""

import re

from imapraw import Imap, fill_box, code_value, starting

USERS = {"qr%d@example.test" % i: "qres-Secret-%d" % i for i in range(1, 7)}
SERVER_USERS = USERS


def setup_box(server, n, count=4):
    return fill_box(server, "qr%d@example.test" % n, count, "q")


def test_enable_implies_condstore(server):
    user = setup_box(server, 1, 1)
    c = Imap(server, user)
    lines = c.ok("ENABLE QRESYNC")
    assert any("QRESYNC" in l for l in starting(lines, "* ENABLED")), lines
    c.ok("SELECT INBOX")
    lines = c.ok("STORE 1 +FLAGS (\\Seen)")
    assert "MODSEQ (" in lines[0] and "UID 1" in lines[0], lines
    c.close()


def test_select_qresync_resync(server):
    user = setup_box(server, 2)
    a = Imap(server, user)
    a.ok("ENABLE QRESYNC")
    lines = a.ok("SELECT INBOX")
    uv = int(code_value(lines, "UIDVALIDITY"))
    hm = int(code_value(lines, "HIGHESTMODSEQ"))
    a.ok("UNSELECT")
    # Another session changes the mailbox while a is away.
    b = Imap(server, user)
    b.ok("SELECT INBOX")
    b.ok("STORE 2 +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    b.ok("STORE 3 +FLAGS (\\Flagged)")  # was message 4, UID 4
    b.close()
    st, lines, tagged = a.cmd("SELECT INBOX (QRESYNC (%d %d))" % (uv, hm))
    assert st == "OK", (lines, tagged)
    assert "* VANISHED (EARLIER) 2" in lines, lines
    fl = starting(lines, "* 3 FETCH")
    assert fl and "UID 4" in fl[0] and "\\Flagged" in fl[0] \
        and "MODSEQ (" in fl[0], lines
    assert "* 3 EXISTS" in lines
    # known-uids outside the vanished UID: no VANISHED.
    st, lines, tagged = a.cmd("SELECT INBOX (QRESYNC (%d %d 3:4))" % (uv, hm))
    assert st == "OK" and starting(lines, "* OK [CLOSED]"), lines
    assert not starting(lines, "* VANISHED"), lines
    fl = starting(lines, "* 3 FETCH")
    assert len(fl) == 1 and "UID 4" in fl[0] and "\\Flagged" in fl[0], lines
    # Also with seq-match data (RFC 7162 section 3.2.5.2): the same
    # changes are reported.
    lines = a.ok("SELECT INBOX (QRESYNC (%d %d 1:4 (1:2 1:2)))" % (uv, hm))
    assert "* VANISHED (EARLIER) 2" in lines, lines
    fl = starting(lines, "* 3 FETCH")
    assert len(fl) == 1 and "UID 4" in fl[0] and "\\Flagged" in fl[0], lines
    assert len([l for l in lines if " FETCH " in l]) == 1, lines
    # Wrong UIDVALIDITY: a plain SELECT.
    lines = a.ok("EXAMINE INBOX (QRESYNC (%d %d))" % (uv + 1, hm))
    assert not starting(lines, "* VANISHED") and \
        not [l for l in lines if "FETCH" in l], lines
    a.close()


def test_qresync_needs_enable(server):
    user = setup_box(server, 3, 1)
    c = Imap(server, user)
    st, lines, tagged = c.cmd("SELECT INBOX (QRESYNC (1 1))")
    assert st == "BAD", tagged
    c.close()


def test_uid_fetch_vanished_and_expunge_as_vanished(server):
    user = setup_box(server, 4)
    a = Imap(server, user)
    a.ok("ENABLE QRESYNC")
    lines = a.ok("SELECT INBOX")
    hm = int(code_value(lines, "HIGHESTMODSEQ"))
    lines = a.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    lines = a.ok("EXPUNGE")
    assert "* VANISHED 1,3" in lines, lines
    assert not [l for l in lines if l.endswith("EXPUNGE")], lines
    lines = a.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % hm)
    assert "* VANISHED (EARLIER) 1,3" in lines, lines
    assert not [l for l in lines if "FETCH" in l], lines
    # VANISHED is only for UID FETCH.
    st, _, _ = a.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % hm)
    assert st == "BAD"
    # Another session's expunge arrives as VANISHED too.
    b = Imap(server, user)
    b.ok("SELECT INBOX")
    b.ok("UID STORE 2 +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    lines = a.ok("NOOP")
    assert "* VANISHED 2" in lines, lines
    assert not [l for l in lines if l.endswith("EXPUNGE")], lines
    b.close()
    a.close()


def test_closed_on_reselect(server):
    user = setup_box(server, 5, 1)
    c = Imap(server, user)
    c.ok("SELECT INBOX")
    lines = c.ok("SELECT INBOX")
    assert not starting(lines, "* OK [CLOSED]"), lines
    c.ok("ENABLE QRESYNC")
    lines = c.ok("EXAMINE INBOX")
    assert lines[0].startswith("* OK [CLOSED]"), lines
    c.close()


def test_vanished_lists_ranges(server):
    """Runs of expunged UIDs are written as ranges (RFC 7162 §3.2.10), in
    VANISHED and VANISHED (EARLIER) alike, and SELECT's known-uids keep
    only what the client asked about."""
    user = setup_box(server, 6, count=7)
    a = Imap(server, user)
    a.ok("ENABLE QRESYNC")
    lines = a.ok("SELECT INBOX")
    hm = int(code_value(lines, "HIGHESTMODSEQ"))
    v = int(code_value(lines, "UIDVALIDITY"))
    a.ok("STORE 1:3,5,6 +FLAGS.SILENT (\\Deleted)")
    lines = a.ok("EXPUNGE")
    assert "* VANISHED 1:3,5:6" in lines, lines
    lines = a.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % hm)
    assert "* VANISHED (EARLIER) 1:3,5:6" in lines, lines
    a.ok("UNSELECT")
    lines = a.ok("SELECT INBOX (QRESYNC (%d %d 2:5))" % (v, hm))
    assert "* VANISHED (EARLIER) 2:3,5" in lines, lines
    a.close()
