"""IMAP mailbox commands: LIST (LIST-EXTENDED, SPECIAL-USE, CHILDREN,
LIST-STATUS), LSUB, STATUS (SIZE, HIGHESTMODSEQ), CREATE (parents,
CREATE-SPECIAL-USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE; names in
modified UTF-7 (rev1) and UTF-8 (rev2)."""

import imaplib

from conftest import simple_message, unique

USERS = {"m%d@example.test" % i: "mbox-Secret-%d" % i for i in range(1, 9)}
SERVER_USERS = USERS


def login(server, n):
    return server.imaps("m%d@example.test" % n)


def names(data):
    out = []
    for d in data:
        if d is None:
            continue
        s = d.decode() if isinstance(d, bytes) else str(d)
        out.append(s.rsplit(' "/" ', 1)[1].strip('"'))
    return out


def test_list_default_mailboxes_special_use(server):
    m = login(server, 1)
    typ, data = m.list()
    assert typ == "OK"
    got = {l.decode().rsplit(' "/" ', 1)[1].strip('"'): l.decode()
           for l in data}
    for n in ("INBOX", "Drafts", "Sent", "Junk", "Trash", "Archive"):
        assert n in got, got
    assert "\\Sent" in got["Sent"] and "\\Trash" in got["Trash"]
    assert "\\HasNoChildren" in got["INBOX"]
    typ, data = m.list('""', '""')
    assert b'(\\Noselect) "/" ""' in data[0]
    typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*")
    typ, data = m._untagged_response(typ, data, "LIST")
    assert "INBOX" not in names(data) and "Sent" in names(data)
    m.logout()


def test_create_parents_children_delete_rename(server):
    m = login(server, 2)
    assert m.create("a/b/c")[0] == "OK"
    typ, data = m.list('""', "a*")
    got = {n: l.decode() for n, l in zip(names(data), data)}
    assert set(got) == {"a", "a/b", "a/b/c"}, got
    assert "\\HasChildren" in got["a"] and "\\HasNoChildren" in got["a/b/c"]
    typ, data = m.list('""', "a/%")
    assert names(data) == ["a/b"]
    typ, data = m.create("a/b")
    assert typ == "NO" and b"ALREADYEXISTS" in data[0]
    assert m.rename("a", "z")[0] == "OK"
    typ, data = m.list('""', "*")
    ns = names(data)
    assert "z/b/c" in ns and "a" not in ns, ns
    assert m.delete("z/b/c")[0] == "OK"
    typ, data = m.delete("nonexistent")
    assert typ == "NO"
    typ, data = m.delete("INBOX")
    assert typ == "NO"
    m.logout()


def test_create_special_use(server):
    m = login(server, 3)
    typ, data = m._simple_command("CREATE", "MySent", "(USE (\\Sent))")
    assert typ == "OK", data
    typ, data = m.list('""', "MySent")
    assert b"\\Sent" in data[0]
    m.logout()


def test_subscribe_lsub_list_subscribed(server):
    m = login(server, 4)
    m.create("Sub1")
    assert m.subscribe("Sub1")[0] == "OK"
    typ, data = m.lsub('""', "*")
    assert "Sub1" in names(data)
    typ, data = m._simple_command("LIST", "(SUBSCRIBED)", '""', "*")
    typ, data = m._untagged_response(typ, data, "LIST")
    assert "Sub1" in names(data) and b"\\Subscribed" in data[0]
    assert m.unsubscribe("Sub1")[0] == "OK"
    typ, data = m.lsub('""', "*")
    assert "Sub1" not in names(data)
    m.logout()


def test_status_and_list_status(server):
    user = "m5@example.test"
    server.send(user, simple_message(unique("st")))
    server.wait_messages(user, 1)
    m = login(server, 5)
    typ, data = m.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY "
                         "SIZE HIGHESTMODSEQ DELETED)")
    assert typ == "OK", data
    s = data[0].decode()
    assert "MESSAGES 1" in s and "UNSEEN 1" in s and "UIDNEXT 2" in s, s
    assert "SIZE " in s and "HIGHESTMODSEQ" in s, s
    typ, data = m.status("nope", "(MESSAGES)")
    assert typ == "NO"
    typ, data = m._simple_command("LIST", '""', "INBOX", "RETURN",
                                  "(STATUS (MESSAGES))")
    assert typ == "OK"
    assert any(b"MESSAGES 1" in (x if isinstance(x, bytes) else b"")
               for x in m.untagged_responses.get("STATUS", [])), \
        m.untagged_responses
    m.logout()


def test_utf7_and_utf8_names(server):
    m = login(server, 6)
    assert m.create("&AMk-t&AOk-")[0] == "OK"  # "Été" in modified UTF-7
    typ, data = m.list('""', "*t*")
    assert b"&AMk-t&AOk-" in b"".join(data)
    m._simple_command("ENABLE", "IMAP4rev2")
    typ, data = m.list('""', "*t*")
    assert "Été".encode() in b"".join(data), data
    m.logout()


def test_list_wildcards_cost_no_more_than_the_pattern(server):
    """A pattern full of wildcards against a long name is answered at once
    (a backtracking matcher needs time exponential in the wildcards, on
    the thread every session shares), and still matches correctly."""
    m = login(server, 8)
    long_name = "a" * 200 + "/" + "a" * 200
    assert m.create(long_name)[0] == "OK"
    hostile = "*a" * 40 + "*b"
    typ, data = m.list('""', hostile)
    assert typ == "OK" and names(data) == [], data
    typ, data = m.list('""', "*a" * 40 + "*")
    assert typ == "OK" and long_name in names(data), data
    typ, data = m.list('""', "%a" * 40 + "%")
    assert typ == "OK" and long_name not in names(data), data
    typ, data = m.list('""', "a%/%a")
    assert typ == "OK" and names(data) == [long_name], data
    m.logout()
