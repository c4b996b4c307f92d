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
