"""SEARCH / UID SEARCH, ESEARCH return options, SORT."""

from conftest import simple_message, unique

USERS = {"s1@example.test": "search-Secret-1"}
SERVER_USERS = USERS


def test_search_esearch_sort(server):
    m = server.imaps("s1@example.test")
    for i, subj in enumerate(["banana", "apple", "cherry"]):
        m.append("INBOX", "(\\Seen)" if i == 1 else None, None,
                 simple_message(unique("s"), subject=subj,
                                body="needle%d\r\n" % i))
    m.select("INBOX")
    typ, data = m.search(None, "ALL")
    assert data == [b"1 2 3"], data
    typ, data = m.search(None, "UNSEEN")
    assert data == [b"1 3"], data
    typ, data = m.search(None, "SUBJECT", "cherry")
    assert data == [b"3"], data
    typ, data = m.search(None, "BODY", "needle1")
    assert data == [b"2"], data
    typ, data = m.uid("SEARCH", "2:*")
    assert data == [b"2 3"], data
    typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT ALL)",
                                  "ALL")
    es = m.untagged_responses.get("ESEARCH", [b""])[0]
    assert b"MIN 1" in es and b"MAX 3" in es and b"COUNT 3" in es, es
    assert b"ALL 1:3" in es, es
    typ, data = m.sort("(SUBJECT)", "UTF-8", "ALL")
    assert data == [b"2 1 3"], data
    m.logout()


def test_search_and_sort_without_stored_fields(server):
    """Messages stored before the search fields existed (schema 2) have
    none: SEARCH and SORT read the message files for those, with the same
    answers."""
    import os
    import sqlite3

    m = server.imaps("s1@example.test")
    m.create("Old")
    for subj, frm in [("zebra notes", "Zed <z@remote.test>"),
                      ("aardvark", "Al <a@remote.test>"),
                      ("moose", "Mo <m@remote.test>")]:
        msg = ("From: %s\r\nTo: s1@example.test\r\nSubject: %s\r\n"
               "Message-ID: <%s@remote.test>\r\n\r\nbody\r\n" %
               (frm, subj, unique("o")))
        assert m.append("Old", None, None, msg.encode())[0] == "OK"
    m.select("Old")
    want = {("SUBJECT", "MOOSE"): [b"3"], ("FROM", "zed"): [b"1"],
            ("HEADER", "Subject", "aard"): [b"2"],
            ("OR", "SUBJECT", "zebra", "FROM", "al"): [b"1 2"],
            ("SUBJECT", "nothing"): [b""]}
    for stored in (True, False):
        if not stored:
            db = sqlite3.connect(os.path.join(server.dir, "postel.db"),
                                 timeout=10)
            n = db.execute("SELECT COUNT(*) FROM blob_fields").fetchone()
            assert n[0] >= 3
            db.execute("DELETE FROM blob_fields")
            db.commit()
            db.close()
        for keys, hits in want.items():
            assert m.search(None, *keys)[1] == hits, (stored, keys)
        assert m.sort("(SUBJECT)", "UTF-8", "ALL")[1] == [b"2 3 1"]
        assert m.sort("(FROM)", "UTF-8", "ALL")[1] == [b"2 3 1"]
    m.logout()
