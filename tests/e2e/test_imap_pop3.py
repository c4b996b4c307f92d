"""POP3 and IMAP on one INBOX: a POP3 DELE+QUIT reaches an IMAP session
with INBOX selected (EXPUNGE, or VANISHED under QRESYNC, at its next
command), and an IMAP EXPUNGE is seen by the next POP3 session."""

import time

from conftest import simple_message, unique
from imapraw import Imap, starting

USERS = {"p%d@example.test" % i: "pop-Secret-%d" % i for i in range(1, 4)}
SERVER_USERS = USERS


def setup_box(server, n, count=3):
    user = "p%d@example.test" % n
    toks = [unique("p%d" % i) for i in range(count)]
    for t in toks:
        server.send(user, simple_message(t))
    server.wait_messages(user, count)
    return user, toks


def pop_dele_quit(server, user, nums):
    p = server.pop3s(user)
    for n in nums:
        p.dele(n)
    p.quit()


def test_pop3_delete_seen_by_imap(server):
    user, toks = setup_box(server, 1)
    c = Imap(server, user)
    c.ok("SELECT INBOX")
    pop_dele_quit(server, user, [2])
    lines = c.ok("NOOP")
    assert "* 2 EXPUNGE" in lines, lines
    lines = c.ok("FETCH 1:* (UID)")
    assert [l.split(" ", 2)[1] for l in lines] == ["1", "2"], lines
    assert "UID 3" in lines[1], lines
    c.close()


def test_pop3_delete_seen_under_qresync_and_idle(server):
    user, toks = setup_box(server, 2)
    c = Imap(server, user)
    c.ok("ENABLE QRESYNC")
    c.ok("SELECT INBOX")
    # Held back during FETCH (RFC 9051 §7.5.1), sent at the next NOOP.
    pop_dele_quit(server, user, [1])
    lines = c.ok("FETCH 1 (UID)")
    assert not starting(lines, "* VANISHED"), lines
    lines = c.ok("NOOP")
    assert "* VANISHED 1" in lines, lines
    # IDLE learns of it at once.
    c.c.line("i1 IDLE")
    assert c.read_response().startswith("+")
    pop_dele_quit(server, user, [1])
    ln = c.read_response()
    assert ln == "* VANISHED 2", ln
    c.c.line("DONE")
    assert c.read_response().startswith("i1 OK")
    c.close()


def test_imap_expunge_seen_by_pop3(server):
    user, toks = setup_box(server, 3)
    c = Imap(server, user)
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    msgs = server.fetch_all(user)
    assert len(msgs) == 2 and toks[0].encode() not in b"".join(msgs)
    p = server.pop3s(user)
    uidl = p.uidl()[1]
    p.quit()
    assert [u.split()[1].split(b".")[1] for u in uidl] == [b"2", b"3"], uidl
    c.close()
