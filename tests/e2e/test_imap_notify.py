"""NOTIFY (RFC 5465), raw IMAP with two sessions: one asks for events with
NOTIFY SET, changes come from another IMAP session, SMTP delivery or POP3,
and the first sees the untagged responses while it sends nothing (no
NOOP, no IDLE)."""

import socket
import time

from conftest import simple_message, unique
from imapraw import Imap, starting

USERS = {"n%d@example.test" % i: "notify-Secret-%d" % i for i in range(1, 24)}
SERVER_USERS = USERS

ALL_OTHER = "(MessageNew MessageExpunge FlagChange MailboxName " \
            "SubscriptionChange)"


def unsolicited(c, want, timeout=10.0, max_lines=2000):
    """Reads untagged lines without sending anything until want(line)
    holds; returns every line read. Fails after timeout."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < max_lines:
        left = deadline - time.monotonic()
        assert left > 0, "not seen; got %r" % got
        try:
            ln = c.c.read_line(timeout=left)
        except (socket.timeout, TimeoutError):
            raise AssertionError("not seen; got %r" % got)
        assert ln, "closed; got %r" % got
        got.append(ln.decode("utf-8", "replace").rstrip("\r\n"))
        if want(got[-1]):
            return got
    raise AssertionError("too many lines: %r" % got[-5:])


def quiet(c, wait=0.8):
    """What arrives unasked within wait seconds, as lines."""
    data = c.c.pending(wait)
    return [l for l in data.decode("utf-8", "replace").split("\r\n") if l]


def test_capability_and_selected_delivery_over_smtp(server):
    user = "n1@example.test"
    a = Imap(server, user)
    caps = starting(a.ok("CAPABILITY"), "* CAPABILITY")[0].split()
    assert "NOTIFY" in caps
    a.ok("SELECT INBOX")
    a.ok("NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge "
         "FlagChange)) (personal " + ALL_OTHER + ")")
    server.send(user, simple_message(unique("nd")))
    lines = unsolicited(a, lambda l: " FETCH " in l)
    assert "* 1 EXISTS" in lines, lines
    assert lines[-1] == "* 1 FETCH (UID 1 FLAGS (\\Recent))", lines
    # A second one: the FETCH names the new message only.
    server.send(user, simple_message(unique("nd")))
    lines = unsolicited(a, lambda l: " FETCH " in l)
    assert "* 2 EXISTS" in lines and lines[-1] == \
        "* 2 FETCH (UID 2 FLAGS (\\Recent))", lines
    # Nothing more, and the session still answers commands.
    assert quiet(a) == []
    assert starting(a.ok("FETCH 1:* (UID)"), "* ") == [
        "* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)"]
    a.close()


def test_flag_change_and_expunge_from_other_session(server):
    user = "n2@example.test"
    for i in range(3):
        server.send(user, simple_message(unique("nf%d" % i)))
    server.wait_messages(user, 3)
    a, b = Imap(server, user), Imap(server, user)
    a.ok("SELECT INBOX")
    a.ok("NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))")
    b.ok("SELECT INBOX")
    b.ok("STORE 2 +FLAGS (\\Flagged)")
    lines = unsolicited(a, lambda l: " FETCH " in l)
    assert lines[-1].startswith("* 2 FETCH (") and "\\Flagged" in \
        lines[-1], lines
    b.ok("STORE 1 +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    lines = unsolicited(a, lambda l: "EXPUNGE" in l)
    assert lines[-1] == "* 1 EXPUNGE", lines
    # The numbering follows: old 2 is now 1.
    lines = a.ok("FETCH 1 (FLAGS)")
    assert "\\Flagged" in lines[0], lines
    a.close()
    b.close()


def test_pop3_deletion_reaches_notify_session(server):
    user = "n3@example.test"
    for i in range(2):
        server.send(user, simple_message(unique("np%d" % i)))
    server.wait_messages(user, 2)
    a = Imap(server, user)
    a.ok("ENABLE QRESYNC")
    a.ok("SELECT INBOX")
    a.ok("NOTIFY SET (selected (MessageNew MessageExpunge))")
    p = server.pop3s(user)
    p.dele(1)
    p.quit()
    lines = unsolicited(a, lambda l: l.startswith("* VANISHED"))
    assert lines[-1] == "* VANISHED 1", lines
    a.close()


def test_status_for_other_mailboxes(server):
    user = "n4@example.test"
    a, b = Imap(server, user), Imap(server, user)
    b.ok("CREATE Work")
    b.ok("CREATE Other")
    a.ok("NOTIFY SET (mailboxes Work (MessageNew MessageExpunge "
         "FlagChange))")
    b.ok("APPEND Work", literal=simple_message(unique("ns")))
    lines = unsolicited(a, lambda l: l.startswith("* STATUS"))
    st = lines[-1]
    assert st.startswith('* STATUS "Work" (') and "MESSAGES 1" in st and \
        "UIDNEXT 2" in st, lines
    # Another mailbox is not watched: nothing.
    b.ok("APPEND Other", literal=simple_message(unique("ns")))
    assert quiet(a) == []
    # A flag change in Work, then an expunge: STATUS each time.
    b.ok("SELECT Work")
    b.ok("STORE 1 +FLAGS (\\Seen)")
    lines = unsolicited(a, lambda l: l.startswith("* STATUS"))
    assert "UNSEEN 0" in lines[-1], lines
    b.ok("STORE 1 +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    # STORE \Deleted is a flag change (one STATUS), then the expunge.
    lines = unsolicited(a, lambda l: l.startswith("* STATUS") and
                        "MESSAGES 0" in l)
    assert len(lines) <= 2, lines
    a.close()
    b.close()


def test_smtp_delivery_to_inbox_seen_as_status(server):
    """Nothing selected: INBOXES makes a delivery a STATUS response."""
    user = "n5@example.test"
    a = Imap(server, user)
    a.ok("NOTIFY SET (inboxes (MessageNew MessageExpunge))")
    server.send(user, simple_message(unique("ni")))
    lines = unsolicited(a, lambda l: l.startswith("* STATUS"))
    assert lines[-1].startswith('* STATUS "INBOX" (') and \
        "MESSAGES 1" in lines[-1], lines
    a.close()


def test_set_status_sends_initial_status(server):
    user = "n6@example.test"
    a = Imap(server, user)
    a.ok("CREATE Lists/a")
    a.ok("CREATE Lists/b")
    a.ok("CREATE Elsewhere")
    a.ok("APPEND Lists/a", literal=simple_message(unique("nst")))
    lines = a.ok("NOTIFY SET STATUS (subtree Lists (MessageNew "
                 "MessageExpunge))")
    sts = sorted(starting(lines, "* STATUS"))
    # CREATE Lists/a made Lists too; the subtree holds all three.
    assert len(sts) == 3, lines
    assert any(s.startswith('* STATUS "Lists/a" (') and "MESSAGES 1" in s
               for s in sts), sts
    assert not any("Elsewhere" in s for s in sts)
    a.close()


def test_mailbox_name_and_subscription_events(server):
    user = "n7@example.test"
    a, b = Imap(server, user), Imap(server, user)
    a.ok("NOTIFY SET (personal " + ALL_OTHER + ")")
    b.ok("CREATE Fresh")
    lines = unsolicited(a, lambda l: l.startswith("* LIST"))
    assert lines[-1] == '* LIST () "/" "Fresh"', lines
    b.ok("RENAME Fresh Renamed")
    lines = unsolicited(a, lambda l: l.startswith("* LIST"))
    assert lines[-1] == '* LIST () "/" "Renamed" ("OLDNAME" ("Fresh"))', lines
    b.ok("SUBSCRIBE Renamed")
    lines = unsolicited(a, lambda l: l.startswith("* LIST"))
    assert lines[-1] == '* LIST (\\Subscribed) "/" "Renamed"', lines
    b.ok("UNSUBSCRIBE Renamed")
    lines = unsolicited(a, lambda l: l.startswith("* LIST"))
    assert lines[-1] == '* LIST () "/" "Renamed"', lines
    b.ok("DELETE Renamed")
    lines = unsolicited(a, lambda l: l.startswith("* LIST"))
    assert lines[-1] == '* LIST (\\NonExistent) "/" "Renamed"', lines
    a.close()
    b.close()


def test_badevent_and_bad_syntax(server):
    user = "n8@example.test"
    a = Imap(server, user)
    st, _, tagged = a.cmd("NOTIFY SET (personal (MessageNew MessageExpunge "
                          "AnnotationChange))")
    assert st == "NO" and "[BADEVENT (" in tagged and \
        "MessageNew" in tagged, tagged
    st, _, tagged = a.cmd("NOTIFY SET (personal (SomethingNew))")
    assert st == "NO" and "[BADEVENT" in tagged, tagged
    for bad in ("NOTIFY", "NOTIFY SET", "NOTIFY SET STATUS",
                "NOTIFY SET (personal (MessageNew))",
                "NOTIFY SET (personal (FlagChange))",
                "NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
                "NOTIFY SET (nowhere (MessageNew MessageExpunge))",
                "NOTIFY SET (selected NONE) (selected-delayed NONE)",
                "NOTIFY SET (mailboxes (MessageNew MessageExpunge))",
                "NOTIFY FROB"):
        st, _, tagged = a.cmd(bad)
        assert st == "BAD", (bad, tagged)
    # A notification must not set \Seen: BODY[] is refused, .PEEK is fine.
    st, _, tagged = a.cmd("NOTIFY SET (selected (MessageNew (BODY[]) "
                          "MessageExpunge))")
    assert st == "BAD", tagged
    a.ok("NOTIFY SET (selected (MessageNew (BODY.PEEK[]) MessageExpunge))")
    # A refused SET leaves NOTIFY as it was (here: off); NONE is fine.
    a.ok("NOTIFY NONE")
    a.ok("NOTIFY SET (selected NONE) (personal NONE)")
    a.close()


def test_notify_none_stops_events(server):
    user = "n9@example.test"
    a = Imap(server, user)
    a.ok("SELECT INBOX")
    a.ok("NOTIFY SET (selected (MessageNew MessageExpunge)) "
         "(personal (MessageNew MessageExpunge))")
    server.send(user, simple_message(unique("nn")))
    unsolicited(a, lambda l: l.endswith(" EXISTS"))
    a.ok("NOTIFY NONE")
    server.send(user, simple_message(unique("nn")))
    server.wait_messages(user, 2)
    assert quiet(a) == []
    # The next command still tells (RFC 9051 §7).
    assert "* 2 EXISTS" in a.ok("NOOP")
    a.close()


def test_selected_delayed_holds_expunges(server):
    user = "n10@example.test"
    for i in range(2):
        server.send(user, simple_message(unique("ndl%d" % i)))
    server.wait_messages(user, 2)
    a, b = Imap(server, user), Imap(server, user)
    a.ok("SELECT INBOX")
    a.ok("NOTIFY SET (selected-delayed (MessageNew MessageExpunge "
         "FlagChange))")
    b.ok("SELECT INBOX")
    b.ok("STORE 1 +FLAGS (\\Deleted)")
    lines = unsolicited(a, lambda l: " FETCH " in l)
    assert lines[-1].startswith("* 1 FETCH") and "\\Deleted" in lines[-1]
    b.ok("EXPUNGE")
    # Not while the client waits: its sequence numbers stay.
    assert not [l for l in quiet(a, 1.0) if "EXPUNGE" in l]
    assert "* 1 EXPUNGE" in a.ok("NOOP")
    a.close()
    b.close()


def test_filter_order_first_group_wins(server):
    user = "n11@example.test"
    a, b = Imap(server, user), Imap(server, user)
    b.ok("CREATE Quiet")
    b.ok("CREATE Loud")
    a.ok("NOTIFY SET (mailboxes Quiet NONE) (personal (MessageNew "
         "MessageExpunge))")
    b.ok("APPEND Quiet", literal=simple_message(unique("nq")))
    b.ok("APPEND Loud", literal=simple_message(unique("nq")))
    lines = unsolicited(a, lambda l: l.startswith("* STATUS"))
    assert lines[-1].startswith('* STATUS "Loud" ('), lines
    assert not [l for l in lines + quiet(a) if "Quiet" in l]
    a.close()
    b.close()


def test_commands_while_notifications_flow(server):
    """Notifications never split a command's responses: a client that
    keeps working sees only whole, tagged answers."""
    user = "n12@example.test"
    a, b = Imap(server, user), Imap(server, user)
    b.ok("CREATE Busy")
    a.ok("SELECT INBOX")
    a.ok("NOTIFY SET (selected (MessageNew MessageExpunge)) "
         "(personal (MessageNew MessageExpunge))")
    for i in range(20):
        b.ok("APPEND Busy", literal=simple_message(unique("nb%d" % i)))
        server.send(user, simple_message(unique("nbi%d" % i))) \
            if i % 5 == 0 else None
        st, lines, tagged = a.cmd("NOOP")
        assert st == "OK", tagged
        for ln in lines:
            assert ln.startswith("* "), lines
    lines = a.ok("STATUS Busy (MESSAGES)")
    assert "MESSAGES 20" in lines[-1], lines
    a.close()
    b.close()


def test_overflow_when_client_does_not_read(server, monkeypatch):
    user = "n13@example.test"
    b = Imap(server, user)
    names = ["Long%02d_%s" % (i, "x" * 180) for i in range(40)]
    for n in names:
        b.ok("CREATE " + n)
    # a gets a small receive buffer (set before connecting, so the TCP
    # window is small) and then stops reading.
    orig = socket.socket

    def small(*args, **kw):
        sk = orig(*args, **kw)
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        return sk

    monkeypatch.setattr(socket, "socket", small)
    a = Imap(server, user)
    monkeypatch.setattr(socket, "socket", orig)
    a.ok("NOTIFY SET (personal (MessageNew MessageExpunge MailboxName "
         "SubscriptionChange))")
    # b (un)subscribes every mailbox, pipelined, 30 times; a pause after
    # each batch lets a's notification pass see it as a change.
    for rnd in range(30):
        verb = b"SUBSCRIBE" if rnd % 2 == 0 else b"UNSUBSCRIBE"
        b.c.send(b"".join(b"p%d_%d %s %s\r\n" % (rnd, i, verb, n.encode())
                          for i, n in enumerate(names)))
        for i in range(len(names)):
            ln = b.read_response()
            while not ln.startswith("p%d_%d " % (rnd, i)):
                ln = b.read_response()
            assert " OK " in ln, ln
        time.sleep(0.05)
    # Now read everything a got: the overflow, then nothing more.
    text = a.c.pending(3.0).decode("utf-8", "replace")
    assert "* OK [NOTIFICATIONOVERFLOW]" in text, (len(text), text[-300:])
    tail = text.split("[NOTIFICATIONOVERFLOW]", 1)[1]
    assert "* LIST" not in tail, tail[:300]
    b.ok("SUBSCRIBE " + names[0])
    assert quiet(a) == []
    # The session works and NOTIFY can be set again.
    a.ok("NOOP")
    a.ok("NOTIFY SET (personal (MessageNew MessageExpunge))")
    a.close()
    b.close()


def test_idle_with_notify_gets_status_too(server):
    user = "n14@example.test"
    a, b = Imap(server, user), Imap(server, user)
    b.ok("CREATE Side")
    a.ok("SELECT INBOX")
    a.ok("NOTIFY SET (selected (MessageNew MessageExpunge)) "
         "(personal (MessageNew MessageExpunge))")
    a.c.line("i1 IDLE")
    assert a.read_response().startswith("+")
    b.ok("APPEND Side", literal=simple_message(unique("nid")))
    lines = unsolicited(a, lambda l: l.startswith("* STATUS"))
    assert lines[-1].startswith('* STATUS "Side" ('), lines
    server.send(user, simple_message(unique("nid")))
    lines = unsolicited(a, lambda l: l.endswith(" EXISTS"))
    assert lines[-1] == "* 1 EXISTS", lines
    a.c.line("DONE")
    lines = unsolicited(a, lambda l: l.startswith("i1 "))
    assert lines[-1].startswith("i1 OK"), lines
    a.close()
    b.close()


def test_message_new_with_header_fields(server):
    """RFC 5465 §5.2's own example: MessageNew with a header fetch."""
    user = "n15@example.test"
    a, b = Imap(server, user), Imap(server, user)
    a.ok("SELECT INBOX")
    a.ok("NOTIFY SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS "
         "(SUBJECT)] FLAGS) MessageExpunge))")
    server.send(user, simple_message(unique("nh"), subject="Hello there"))
    got = []
    for _ in range(10):
        got.append(a.read_response())
        if " FETCH " in got[-1]:
            break
    assert "* 1 EXISTS" in got, got
    f = got[-1]
    assert f.startswith("* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {"), f
    assert "Subject: Hello there" in f and "FLAGS (" in f, f
    # Still unseen: the notification did not read the message.
    assert "\\Seen" not in a.ok("FETCH 1 (FLAGS)")[0]
    # Pipelined commands from another session while a's FETCH flows:
    # a's next command sees only its own answer after the notification.
    for i in range(3):
        b.ok("APPEND INBOX", literal=simple_message(unique("nh%d" % i)))
    st, lines, tagged = a.cmd("NOOP")
    assert st == "OK", tagged
    assert all(l.startswith("* ") for l in lines), lines
    a.close()
    b.close()


def test_metadata_change_events(server):
    user = "n16@example.test"
    a, b = Imap(server, user), Imap(server, user)
    b.ok("CREATE Notes")
    a.ok("NOTIFY SET (mailboxes Notes (MailboxMetadataChange "
         "ServerMetadataChange)) (personal NONE)")
    b.ok('SETMETADATA Notes (/private/comment "first")')
    lines = unsolicited(a, lambda l: l.startswith("* METADATA"))
    assert lines[-1] == '* METADATA "Notes" "/private/comment"', lines
    # Another value for the same entry, and a second entry.
    b.ok('SETMETADATA Notes (/private/comment "second" /shared/x "y")')
    lines = unsolicited(a, lambda l: l.startswith("* METADATA"))
    assert lines[-1] == '* METADATA "Notes" "/private/comment" ' \
        '"/shared/x"', lines
    # The same value again changes nothing; INBOX is not watched.
    b.ok('SETMETADATA Notes (/shared/x "y")')
    b.ok('SETMETADATA INBOX (/private/comment "z")')
    assert quiet(a) == []
    # Server entries: mailbox "".
    b.ok('SETMETADATA "" (/private/vendor/postel/t "1")')
    lines = unsolicited(a, lambda l: l.startswith("* METADATA"))
    assert lines[-1] == '* METADATA "" "/private/vendor/postel/t"', lines
    # Removal is a change too.
    b.ok("SETMETADATA Notes (/shared/x NIL)")
    lines = unsolicited(a, lambda l: l.startswith("* METADATA"))
    assert lines[-1] == '* METADATA "Notes" "/shared/x"', lines
    a.close()
    b.close()


def test_concurrent_changes_keep_watchers_consistent(server):
    """Four NOTIFY sessions follow INBOX while three others append, flag
    and expunge in parallel for a few seconds: every FETCH UID a watcher
    got agrees with its numbering, and at the end its model (built from
    the unsolicited EXISTS/EXPUNGE/FETCH alone) equals the mailbox."""
    import random
    import re as _re
    import threading

    user = "n17@example.test"
    for i in range(5):
        server.send(user, simple_message(unique("ncc%d" % i)))
    server.wait_messages(user, 5)
    errors = []

    class Watcher:
        def __init__(self):
            self.c = Imap(server, user)
            self.events = 0
            lines = self.c.ok("SELECT INBOX")
            self.model = [int(x) for x in " ".join(
                starting(self.c.ok("UID SEARCH ALL"), "* SEARCH"))
                .split()[2:]]
            assert len(self.model) == 5, lines
            self.c.ok("NOTIFY SET (selected (MessageNew (UID FLAGS) "
                      "MessageExpunge FlagChange)) (personal (MessageNew "
                      "MessageExpunge))")

        def apply(self, ln):
            m = _re.match(r"\* (\d+) (EXPUNGE|EXISTS|FETCH \((.*)\))$", ln)
            if not m:
                return
            n = int(m.group(1))
            self.events += 1
            if m.group(2) == "EXPUNGE":
                if not 1 <= n <= len(self.model):
                    errors.append("EXPUNGE %d of %d" % (n, len(self.model)))
                else:
                    del self.model[n - 1]
            elif m.group(2) == "EXISTS":
                if n < len(self.model):
                    errors.append("EXISTS %d < %d" % (n, len(self.model)))
            else:
                u = _re.search(r"UID (\d+)", m.group(3))
                if u is None:
                    return
                u = int(u.group(1))
                if n == len(self.model) + 1:
                    self.model.append(u)
                elif n > len(self.model) or self.model[n - 1] != u:
                    errors.append("FETCH %d UID %d vs %r" % (
                        n, u, self.model[-3:]))

    watchers = [Watcher() for _ in range(4)]
    stop = threading.Event()

    def follow(w):
        while not stop.is_set():
            try:
                ln = w.c.c.read_line(timeout=0.2)
            except (socket.timeout, TimeoutError):
                continue
            if not ln:
                errors.append("closed")
                return
            w.apply(ln.decode().rstrip("\r\n"))

    def work(k):
        c = Imap(server, user)
        c.ok("SELECT INBOX")
        rnd = random.Random(k)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            op = rnd.random()
            if op < 0.4:
                c.ok("APPEND INBOX", literal=simple_message(unique("w")))
            elif op < 0.7:
                c.ok("STORE 1:* +FLAGS (\\Seen)")
            else:
                lines = c.ok("NOOP")
                n = max([int(l.split()[1]) for l in lines
                         if l.endswith(" EXISTS")] + [1])
                c.ok("STORE %d +FLAGS (\\Deleted)" % rnd.randint(1, n))
                c.ok("EXPUNGE")
        c.close()

    readers = [threading.Thread(target=follow, args=(w,)) for w in watchers]
    workers = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in readers + workers:
        t.start()
    for t in workers:
        t.join(30)
    time.sleep(1.0)
    stop.set()
    for t in readers:
        t.join(5)
    assert not errors, errors[:5]
    # They heard of the changes while sending nothing.
    assert all(w.events >= 20 for w in watchers), [
        w.events for w in watchers]
    for w in watchers:
        st, lines, tagged = w.c.cmd("NOOP")
        assert st == "OK", tagged
        for ln in lines:
            w.apply(ln)
        real = [int(x) for x in " ".join(
            starting(w.c.ok("UID SEARCH ALL"), "* SEARCH")).split()[2:]]
        assert w.model == real, (w.model[-5:], real[-5:])
        w.c.close()
    assert not errors, errors[:5]


def test_names_in_modified_utf7_and_subtree(server):
    """Filter names are decoded like any mailbox argument (RFC 3501
    §5.1.3 for an IMAP4rev1 client) and come back the same way."""
    user = "n18@example.test"
    a, b = Imap(server, user), Imap(server, user)
    b.ok('CREATE "&AMk-t&AOk-/Juillet"')       # Été/Juillet
    b.ok('CREATE "Hiver"')
    a.ok('NOTIFY SET (subtree "&AMk-t&AOk-" (MessageNew MessageExpunge))')
    b.ok('APPEND "Hiver"', literal=simple_message(unique("nu")))
    b.ok('APPEND "&AMk-t&AOk-/Juillet"', literal=simple_message(unique("nu")))
    lines = unsolicited(a, lambda l: l.startswith("* STATUS"))
    assert lines[-1].startswith('* STATUS "&AMk-t&AOk-/Juillet" ('), lines
    assert not [l for l in lines + quiet(a) if "Hiver" in l]
    a.close()
    b.close()


def test_selected_follows_other_filters_without_selected_group(server):
    """No SELECTED group: the selected mailbox gets the events of the
    filter that holds it, as EXISTS (never as STATUS)."""
    user = "n19@example.test"
    a = Imap(server, user)
    a.ok("SELECT INBOX")
    a.ok("NOTIFY SET (personal (MessageNew MessageExpunge))")
    server.send(user, simple_message(unique("nsel")))
    lines = unsolicited(a, lambda l: l.endswith(" EXISTS"))
    assert lines[-1] == "* 1 EXISTS", lines
    assert not [l for l in lines + quiet(a) if l.startswith("* STATUS")]
    a.close()
