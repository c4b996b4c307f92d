"""IMAP4rev2 reply forms (RFC 9051, Appendix E) against IMAP4rev1 ones:
ESEARCH instead of SEARCH, no RECENT, LIST in SELECT, CLOSED, STATUS
DELETED, \\NonExistent (rev2) or \\Noselect (rev1) for a missing parent,
and FETCH/SEARCH on an empty mailbox."""

import re

from imapraw import Imap, fill_box, starting

USERS = {"r%d@example.test" % i: "rev2-Secret-%d" % i for i in range(1, 6)}
SERVER_USERS = USERS


def setup_box(server, n, count=3):
    return fill_box(server, "r%d@example.test" % n, count, "r")


def test_search_forms(server):
    user = setup_box(server, 1)
    c = Imap(server, user)
    c.ok("SELECT INBOX")
    assert c.ok("SEARCH ALL") == ["* SEARCH 1 2 3"]
    assert c.ok("UID SEARCH 2") == ["* SEARCH 2"]
    lines = c.ok("ENABLE IMAP4rev2")
    assert "* ENABLED IMAP4rev2" in lines, lines
    lines = c.ok("SEARCH ALL")
    assert re.match(r'^\* ESEARCH \(TAG "t\d+"\) ALL 1:3$', lines[0]), lines
    lines = c.ok("UID SEARCH 2:3")
    assert re.match(r'^\* ESEARCH \(TAG "t\d+"\) UID ALL 2:3$', lines[0]), \
        lines
    lines = c.ok("SEARCH SUBJECT no-such-subject-here")
    assert re.match(r'^\* ESEARCH \(TAG "t\d+"\)$', lines[0]), lines
    lines = c.ok("SEARCH RETURN (COUNT) ALL")
    assert lines[0].endswith(" COUNT 3"), lines
    c.close()


def test_select_rev2_vs_rev1(server):
    user = setup_box(server, 2, 1)
    c = Imap(server, user)
    lines = c.ok("SELECT INBOX")
    # IMAP4rev1: this first SELECT claims the message (RFC 3501).
    assert "* 1 RECENT" in lines and starting(lines, "* OK [UNSEEN 1]"), \
        lines
    assert not starting(lines, "* LIST"), lines
    c.ok("ENABLE IMAP4rev2")
    lines = c.ok("SELECT INBOX")
    assert lines[0].startswith("* OK [CLOSED]"), lines
    assert not [l for l in lines if "RECENT" in l or "UNSEEN" in l], lines
    assert '* LIST () "/" "INBOX"' in lines, lines
    lines = c.ok("SELECT Sent")
    assert '* LIST (\\Sent) "/" "Sent"' in lines, lines
    c.close()


def test_status_deleted(server):
    user = setup_box(server, 3)
    c = Imap(server, user)
    c.ok("ENABLE IMAP4rev2")
    c.ok("SELECT INBOX")
    c.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    lines = c.ok("STATUS INBOX (MESSAGES DELETED)")
    assert lines == ['* STATUS "INBOX" (MESSAGES 3 DELETED 2)'], lines
    c.close()


def test_missing_parent(server):
    user = "r4@example.test"
    c = Imap(server, user)
    c.ok("CREATE par/child")
    c.ok("DELETE par")
    lines = c.ok('LIST "" "*"')
    assert '* LIST (\\Noselect \\HasChildren) "/" "par"' in lines, lines
    assert '* LIST (\\HasNoChildren) "/" "par/child"' in lines, lines
    lines = c.ok('LIST "" "%"')
    assert '* LIST (\\Noselect \\HasChildren) "/" "par"' in lines, lines
    assert not [l for l in lines if "par/child" in l], lines
    c.ok("ENABLE IMAP4rev2")
    lines = c.ok('LIST "" "p*"')
    assert lines == ['* LIST (\\NonExistent \\HasChildren) "/" "par"',
                     '* LIST (\\HasNoChildren) "/" "par/child"'], lines
    st, _, _ = c.cmd("SELECT par")
    assert st == "NO"
    c.close()


def test_empty_mailbox(server):
    user = "r5@example.test"
    c = Imap(server, user)
    c.ok("CREATE Empty")
    c.ok("SELECT Empty")
    # RFC 9051 §9: a sequence number beyond the mailbox, "*" included
    # when it is empty, is BAD; a UID range never is.
    st, _, _ = c.cmd("FETCH 1:* (FLAGS)")
    assert st == "BAD"
    assert c.ok("UID FETCH 1:* (FLAGS)") == []
    assert c.ok("UID STORE 1:* +FLAGS (\\Seen)") == []
    assert c.ok("SEARCH ALL") == ["* SEARCH"]
    assert c.ok("UID SEARCH UID 1:*") == ["* SEARCH"]
    assert c.ok("SEARCH 1:*") == ["* SEARCH"]
    c.ok("ENABLE IMAP4rev2")
    lines = c.ok("SEARCH ALL")
    assert re.match(r'^\* ESEARCH \(TAG "t\d+"\)$', lines[0]), lines
    c.ok("UID EXPUNGE 1:*")
    c.close()
