"""APPEND (flags, date, APPENDUID, TRYCREATE, APPENDLIMIT), COPY and MOVE
with COPYUID and their UID forms."""

import imaplib
import re
import time

from conftest import simple_message, unique

USERS = {"a%d@example.test" % i: "app-Secret-%d" % i for i in range(1, 6)}
SERVER_USERS = USERS


def test_append_and_fetch_back(server):
    m = server.imaps("a1@example.test")
    msg = simple_message(unique("app"), body="appended body\r\n")
    typ, data = m.append("INBOX", "(\\Seen $Label1)",
                         imaplib.Time2Internaldate(time.time()), msg)
    assert typ == "OK" and b"APPENDUID" in data[0], data
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
    m.select("INBOX")
    typ, data = m.uid("FETCH", str(uid), "(FLAGS BODY.PEEK[] ENVELOPE)")
    assert data[0][1] == msg
    assert b"\\Seen" in data[0][0] and b"$Label1" in data[0][0]
    typ, data = m.append("NoSuchBox", None, None, msg)
    assert typ == "NO" and b"TRYCREATE" in data[0]
    assert b"APPENDLIMIT=" in b" ".join(
        x.encode() if isinstance(x, str) else x for x in m.capabilities)
    m.logout()


def test_append_to_selected_announces_exists(server):
    m = server.imaps("a2@example.test")
    m.select("INBOX")
    m.append("INBOX", None, None, simple_message(unique("x")))
    typ, data = m.noop()
    assert m.untagged_responses.get("EXISTS")[-1] == b"1", \
        m.untagged_responses
    m.logout()


def test_copy_and_move(server):
    user = "a3@example.test"
    m = server.imaps(user)
    for i in range(3):
        m.append("INBOX", None, None, simple_message(unique("c%d" % i)))
    m.select("INBOX")
    typ, data = m.copy("1:2", "Archive")
    assert typ == "OK" and b"COPYUID" in data[0], data
    typ, data = m.status("Archive", "(MESSAGES)")
    assert b"MESSAGES 2" in data[0]
    typ, data = m._simple_command("MOVE", "1", "Trash")
    assert typ == "OK", data
    assert m.untagged_responses.get("EXPUNGE") == [b"1"], \
        m.untagged_responses
    typ, data = m.status("Trash", "(MESSAGES)")
    assert b"MESSAGES 1" in data[0]
    typ, data = m.uid("MOVE", "3", "Junk")
    assert typ == "OK"
    typ, data = m.fetch("1:*", "(UID)")
    assert len(data) == 1 and b"UID 2" in data[0], data
    typ, data = m.copy("1", "Nope")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    m.logout()
