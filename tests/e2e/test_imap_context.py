"""PARTIAL (RFC 9394) results of SEARCH, UID SEARCH and SORT, checked
against the full result of the same search; raw IMAP."""

import re

from conftest import simple_message, unique
from imapraw import Imap, starting

USERS = {"c%d@example.test" % i: "ctx-Secret-%d" % i for i in range(1, 10)}
SERVER_USERS = USERS


def esearch(c, text):
    lines = c.ok(text)
    hit = starting(lines, "* ESEARCH")
    assert len(hit) == 1, lines
    return hit[0]


def expand(text):
    """An IMAP sequence set (or comma list) -> list of numbers, in order."""
    out = []
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            out.extend(range(min(a, b), max(a, b) + 1))
        else:
            out.append(int(part))
    return out


def partial_of(line):
    m = re.search(r" PARTIAL \((-?\d+:-?\d+) (NIL|[\d,:]+)\)", line)
    assert m, line
    return m.group(1), [] if m.group(2) == "NIL" else expand(m.group(2))


def fill(c, box, count, tag):
    """count messages in box; every third one \\Flagged."""
    c.ok("CREATE " + box)
    for i in range(count):
        flags = " (\\Flagged)" if i % 3 == 0 else ""
        c.ok("APPEND %s%s" % (box, flags),
             literal=simple_message(unique("%s%d" % (tag, i))))


def test_partial_capability_and_ranges(server):
    c = Imap(server, "c1@example.test")
    caps = starting(c.ok("CAPABILITY"), "* CAPABILITY")[0].split()
    assert "PARTIAL" in caps and "ESEARCH" in caps
    fill(c, "P", 30, "pa")
    c.ok("SELECT P")
    # Expunge a few so UIDs and sequence numbers differ.
    c.ok("STORE 2,5,6 +FLAGS (\\Deleted)")
    c.ok("EXPUNGE")
    for cmd in ("UID SEARCH", "SEARCH"):
        full = esearch(c, cmd + " RETURN (ALL) UNDELETED")
        allhits = expand(re.search(r" ALL (\S+)", full).group(1))
        assert len(allhits) == 27
        flagged = expand(re.search(r" ALL (\S+)", esearch(
            c, cmd + " RETURN (ALL) FLAGGED")).group(1))
        for rng, key, base in (("1:5", "UNDELETED", allhits),
                               ("5:1", "UNDELETED", allhits),
                               ("-1:-5", "UNDELETED", allhits),
                               ("-5:-1", "UNDELETED", allhits),
                               ("3:3", "FLAGGED", flagged),
                               ("20:100", "UNDELETED", allhits),
                               ("-100:-20", "UNDELETED", allhits),
                               ("1:100", "FLAGGED", flagged)):
            line = esearch(c, "%s RETURN (PARTIAL %s) %s" % (cmd, rng, key))
            echoed, got = partial_of(line)
            a, b = sorted(abs(int(x)) for x in rng.split(":"))
            if rng.startswith("-"):
                n = len(base)
                want = base[max(n - b, 0):max(n - a + 1, 0)]
                assert echoed == "-%d:-%d" % (a, b), line
            else:
                want = base[a - 1:b]
                assert echoed == "%d:%d" % (a, b), line
            assert got == want, (cmd, rng, line, base)
            if cmd.startswith("UID"):
                assert " UID PARTIAL" in line, line
    # Beyond the results: NIL. COUNT still counts them all.
    line = esearch(c, "UID SEARCH RETURN (PARTIAL 500:600 COUNT) ALL")
    assert partial_of(line)[1] == [] and "COUNT 27" in line, line
    line = esearch(c, "SEARCH RETURN (PARTIAL 1:10) SUBJECT nothing-here")
    assert partial_of(line) == ("1:10", []), line
    c.close()


def test_partial_with_sort(server):
    c = Imap(server, "c2@example.test")
    fill(c, "S", 12, "ps")
    c.ok("SELECT S")
    lines = c.ok("UID SORT (REVERSE ARRIVAL) UTF-8 ALL")
    order = [int(x) for x in lines[0].split()[2:]]
    assert len(order) == 12
    line = esearch(c, "UID SORT RETURN (PARTIAL 2:4) (REVERSE ARRIVAL) "
                      "UTF-8 ALL")
    assert partial_of(line) == ("2:4", order[1:4]), (line, order)
    line = esearch(c, "UID SORT RETURN (PARTIAL -1:-3 COUNT) "
                      "(REVERSE ARRIVAL) UTF-8 ALL")
    assert partial_of(line) == ("-1:-3", order[-3:]), (line, order)
    assert "COUNT 12" in line
    c.close()


def test_partial_with_save_is_a_paged_fetch(server):
    """SEARCH RETURN (SAVE PARTIAL a:b) then FETCH $: the page only."""
    c = Imap(server, "c8@example.test")
    fill(c, "G", 10, "pg")
    c.ok("SELECT G")
    line = esearch(c, "UID SEARCH RETURN (SAVE PARTIAL 4:6) ALL")
    assert partial_of(line) == ("4:6", [4, 5, 6]), line
    lines = c.ok("UID FETCH $ (UID)")
    assert [int(l.split("UID ")[1].rstrip(")")) for l in lines] == [4, 5, 6]
    esearch(c, "SEARCH RETURN (SAVE PARTIAL -1:-2) ALL")
    lines = c.ok("FETCH $ (UID)")
    assert [l.split()[1] for l in lines] == ["9", "10"], lines
    c.close()


def test_partial_bad_arguments(server):
    c = Imap(server, "c3@example.test")
    fill(c, "B", 2, "pb")
    c.ok("SELECT B")
    for bad in ("SEARCH RETURN (PARTIAL) ALL",
                "SEARCH RETURN (PARTIAL 0:5) ALL",
                "SEARCH RETURN (PARTIAL 1:-5) ALL",
                "SEARCH RETURN (PARTIAL -1:5) ALL",
                "SEARCH RETURN (PARTIAL 1) ALL",
                "SEARCH RETURN (PARTIAL 1:4294967296) ALL",
                "SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL",
                "SEARCH RETURN (PARTIAL 1:5 ALL) ALL",
                "SEARCH RETURN (PARTIAL x:y) ALL"):
        st, _, tagged = c.cmd(bad)
        assert st == "BAD", (bad, tagged)
    c.close()


# ---- CONTEXT=SEARCH / CONTEXT=SORT (RFC 5267 §4) ---------------------------

def esearch_updates(c, tag, timeout=10.0):
    """Unsolicited ESEARCH lines for tag, read until none comes for a
    short while (after at least one)."""
    import socket as _s
    import time as _t
    got = []
    deadline = _t.monotonic() + timeout
    while _t.monotonic() < deadline:
        try:
            ln = c.c.read_line(timeout=0.7 if got else
                               max(deadline - _t.monotonic(), 0.1))
        except (_s.timeout, TimeoutError):
            if got:
                return got
            continue
        assert ln, got
        ln = ln.decode().rstrip("\r\n")
        if ln.startswith('* ESEARCH (TAG "%s")' % tag):
            got.append(ln)
    raise AssertionError("no update for %s: %r" % (tag, got))


def test_context_search_update_on_delivery_store_expunge(server):
    user = "c4@example.test"
    a, b = Imap(server, user), Imap(server, user)
    caps = starting(a.ok("CAPABILITY"), "* CAPABILITY")[0].split()
    assert "CONTEXT=SEARCH" in caps and "CONTEXT=SORT" in caps
    for i in range(4):
        server.send(user, simple_message(unique("cx%d" % i)))
    server.wait_messages(user, 4)
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    a.ok("STORE 2 +FLAGS (\\Flagged)")
    st, lines, tagged = a.cmd("UID SEARCH RETURN (UPDATE ALL) UNFLAGGED")
    tag = tagged.split()[0]
    assert st == "OK"
    assert starting(lines, "* ESEARCH")[0].endswith(" UID ALL 1,3:4"), lines
    # A delivery joins the result: ADDTO (0 5), at the next command.
    server.send(user, simple_message(unique("cx5")))
    server.wait_messages(user, 5)
    lines = a.ok("NOOP")
    assert "* 5 EXISTS" in lines, lines
    upd = starting(lines, '* ESEARCH (TAG "%s")' % tag)
    assert upd == ['* ESEARCH (TAG "%s") UID ADDTO (0 5)' % tag], lines
    # Another session flags message 3: it leaves the result.
    b.ok("UID STORE 3 +FLAGS (\\Flagged)")
    lines = a.ok("NOOP")
    assert starting(lines, '* ESEARCH (TAG "%s")' % tag) == [
        '* ESEARCH (TAG "%s") UID REMOVEFROM (0 3)' % tag], lines
    # An expunge says EXPUNGE only: the message leaves implicitly.
    b.ok("UID STORE 4 +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    lines = a.ok("NOOP")
    assert "* 4 EXPUNGE" in lines, lines
    assert not [l for l in lines if "REMOVEFROM" in l and "4" in l.split(
        "REMOVEFROM")[1]], lines
    # Unflagging 2 by ourselves adds it.
    lines = a.ok("STORE 2 -FLAGS (\\Flagged)")
    assert '* ESEARCH (TAG "%s") UID ADDTO (0 2)' % tag in lines, lines
    # The full search agrees with what the updates built.
    full = starting(a.ok("UID SEARCH RETURN (ALL) UNFLAGGED"), "* ESEARCH")
    assert full[0].endswith(" UID ALL 1:2,5"), full
    # CANCELUPDATE: no more updates.
    a.ok('CANCELUPDATE "%s"' % tag)
    server.send(user, simple_message(unique("cx6")))
    server.wait_messages(user, 5)
    lines = a.ok("NOOP")
    assert not starting(lines, '* ESEARCH (TAG "%s")' % tag), lines
    st, _, _ = a.cmd('CANCELUPDATE "%s"' % tag)
    assert st == "BAD"
    a.close()
    b.close()


def test_context_sequence_numbers_and_idle(server):
    user = "c5@example.test"
    a = Imap(server, user)
    for i in range(3):
        server.send(user, simple_message(unique("cs%d" % i)))
    server.wait_messages(user, 3)
    a.ok("SELECT INBOX")
    st, lines, tagged = a.cmd("SEARCH RETURN (UPDATE) ALL")
    tag = tagged.split()[0]
    assert starting(lines, "* ESEARCH")[0].endswith(" ALL 1:3"), lines
    a.c.line("i1 IDLE")
    assert a.read_response().startswith("+")
    server.send(user, simple_message(unique("cs3")))
    upd = esearch_updates(a, tag)
    assert upd == ['* ESEARCH (TAG "%s") ADDTO (0 4)' % tag], upd
    a.c.line("DONE")
    assert a.read_response().startswith("i1 OK")
    a.close()


def test_context_sort_positions(server):
    user = "c6@example.test"
    a, b = Imap(server, user), Imap(server, user)
    a.ok("CREATE Srt")
    subjects = ["delta", "bravo", "foxtrot"]
    for s in subjects:
        msg = ("From: x@remote.test\r\nSubject: %s\r\n\r\nbody\r\n" %
               s).encode()
        a.ok("APPEND Srt", literal=msg)
    a.ok("SELECT Srt")
    b.ok("SELECT Srt")
    st, lines, tagged = a.cmd("UID SORT RETURN (UPDATE ALL) (SUBJECT) "
                              "UTF-8 UNDELETED")
    tag = tagged.split()[0]
    assert starting(lines, "* ESEARCH")[0].endswith(" UID ALL 2,1,3"), lines
    # "charlie" sorts between bravo and delta: position 2.
    b.ok("APPEND Srt", literal=b"From: x@remote.test\r\nSubject: charlie"
                               b"\r\n\r\nbody\r\n")
    lines = a.ok("NOOP")
    assert starting(lines, '* ESEARCH (TAG "%s")' % tag) == [
        '* ESEARCH (TAG "%s") UID ADDTO (2 4)' % tag], lines
    # delta (uid 1, position 3 now) gets \Deleted: removed there.
    b.ok("UID STORE 1 +FLAGS (\\Deleted)")
    lines = a.ok("NOOP")
    assert starting(lines, '* ESEARCH (TAG "%s")' % tag) == [
        '* ESEARCH (TAG "%s") UID REMOVEFROM (3 1)' % tag], lines
    full = starting(a.ok("UID SORT RETURN (ALL) (SUBJECT) UTF-8 UNDELETED"),
                    "* ESEARCH")
    assert full[0].endswith(" UID ALL 2,4,3"), full
    a.close()
    b.close()


def test_context_noupdate_and_notify(server):
    user = "c7@example.test"
    a, b = Imap(server, user), Imap(server, user)
    server.send(user, simple_message(unique("cn")))
    server.wait_messages(user, 1)
    a.ok("SELECT INBOX")
    # PARTIAL with UPDATE: the updates cover the whole result (RFC 9394
    # §3); eight contexts at most, the ninth is refused (NOUPDATE).
    st, lines, tagged = a.cmd("UID SEARCH RETURN (UPDATE PARTIAL 1:10) ALL")
    assert st == "OK" and "NOUPDATE" not in " ".join(lines), lines
    for i in range(7):
        a.ok("UID SEARCH RETURN (UPDATE COUNT) ALL")
    st, lines, tagged = a.cmd("UID SEARCH RETURN (UPDATE COUNT) ALL")
    tag = tagged.split()[0]
    assert st == "OK" and "COUNT 1" in lines[0], lines
    assert '* NO [NOUPDATE "%s"] Not kept up to date' % tag in lines, lines
    a.ok("CLOSE")   # drops every context
    a.ok("SELECT INBOX")
    # With NOTIFY, updates come between commands, unasked.
    a.ok("NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))")
    st, lines, tagged = a.cmd("UID SEARCH RETURN (UPDATE) SEEN")
    tag = tagged.split()[0]
    b.ok("SELECT INBOX")
    b.ok("UID STORE 1 +FLAGS (\\Seen)")
    upd = esearch_updates(a, tag)
    assert upd == ['* ESEARCH (TAG "%s") UID ADDTO (0 1)' % tag], upd
    a.close()
    b.close()
