"""CONDSTORE (RFC 7162 §3.1): HIGHESTMODSEQ in SELECT, MODSEQ in FETCH and
STORE responses once enabled, CHANGEDSINCE, UNCHANGEDSINCE/MODIFIED and the
SEARCH MODSEQ key with its (MODSEQ n) result."""

import re

from imapraw import Imap, fill_box, code_value, starting

USERS = {"cs%d@example.test" % i: "cond-Secret-%d" % i for i in range(1, 6)}
SERVER_USERS = USERS
# debug: the FETCH backpressure test looks for event=drain.
SERVER_CONFIG = {"log_level": "debug"}


def setup_box(server, n, count=3):
    return fill_box(server, "cs%d@example.test" % n, count, "c")


def modseq_of(line):
    m = re.search(r"MODSEQ \((\d+)\)", line)
    assert m, line
    return int(m.group(1))


def test_enable_select_highestmodseq(server):
    user = setup_box(server, 1)
    c = Imap(server, user)
    lines = c.ok("ENABLE CONDSTORE")
    assert "* ENABLED CONDSTORE" in lines, lines
    lines = c.ok("SELECT INBOX")
    hm = code_value(lines, "HIGHESTMODSEQ")
    assert hm is not None and int(hm) > 0, lines
    # FETCH FLAGS carries MODSEQ once CONDSTORE is on.
    lines = c.ok("FETCH 1:* (FLAGS)")
    assert len(lines) == 3 and all("MODSEQ (" in l for l in lines), lines
    assert max(modseq_of(l) for l in lines) <= int(hm)
    # STORE responses carry MODSEQ, and HIGHESTMODSEQ grows.
    lines = c.ok("STORE 2 +FLAGS (\\Flagged)")
    fl = starting(lines, "* 2 FETCH")
    assert fl and "\\Flagged" in fl[0], lines
    m2 = modseq_of(fl[0])
    assert m2 > int(hm)
    # CHANGEDSINCE: only message 2.
    lines = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % int(hm))
    assert len(lines) == 1 and lines[0].startswith("* 2 FETCH"), lines
    lines = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % m2)
    assert lines == [], lines
    # STATUS HIGHESTMODSEQ agrees.
    lines = c.ok("STATUS INBOX (HIGHESTMODSEQ)")
    assert "HIGHESTMODSEQ %d" % m2 in lines[0], lines
    c.close()


def test_select_condstore_parameter_enables(server):
    user = setup_box(server, 2, 1)
    c = Imap(server, user)
    lines = c.ok("SELECT INBOX (CONDSTORE)")
    assert code_value(lines, "HIGHESTMODSEQ"), lines
    lines = c.ok("STORE 1 +FLAGS (\\Seen)")
    assert "MODSEQ (" in lines[0], lines
    c.close()


def test_store_unchangedsince_modified(server):
    user = setup_box(server, 3, 2)
    c = Imap(server, user)
    c.ok("ENABLE CONDSTORE")
    c.ok("SELECT INBOX")
    lines = c.ok("FETCH 1:2 (MODSEQ)")
    ms = [modseq_of(l) for l in lines]
    lines = c.ok("STORE 1 +FLAGS.SILENT (\\Answered)")
    st, lines, tagged = c.cmd("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Draft)"
                              % max(ms))
    assert st == "OK" and "[MODIFIED 1]" in tagged, (lines, tagged)
    assert any(l.startswith("* 2 FETCH") and "\\Draft" in l
               for l in lines), lines
    c.close()


def test_search_modseq(server):
    user = setup_box(server, 4)
    c = Imap(server, user)
    c.ok("SELECT INBOX")
    lines = c.ok("FETCH 1:* (MODSEQ)")
    # The first CONDSTORE enabling command answers HIGHESTMODSEQ too.
    assert lines[0].startswith("* OK [HIGHESTMODSEQ "), lines
    base = max(modseq_of(l) for l in lines[1:])
    lines = c.ok("STORE 3 +FLAGS (\\Flagged)")
    m3 = modseq_of(lines[0])  # CONDSTORE enabled by the MODSEQ item
    lines = c.ok("SEARCH MODSEQ %d" % (base + 1))
    assert lines == ["* SEARCH 3 (MODSEQ %d)" % m3], lines
    lines = c.ok("UID SEARCH RETURN (ALL) MODSEQ %d" % (base + 1))
    assert re.match(r'\* ESEARCH \(TAG "t\d+"\) UID ALL 3 MODSEQ %d$' % m3,
                    lines[0]), lines
    # No match: no MODSEQ part.
    lines = c.ok("SEARCH MODSEQ %d" % (m3 + 100))
    assert lines == ["* SEARCH"], lines
    # The per-flag entry form is accepted.
    lines = c.ok('SEARCH MODSEQ "/flags/\\\\flagged" all %d' % (base + 1))
    assert lines[0].startswith("* SEARCH 3"), lines
    c.close()


def test_other_session_change_has_modseq(server):
    user = setup_box(server, 5, 2)
    a = Imap(server, user)
    b = Imap(server, user)
    a.ok("ENABLE CONDSTORE")
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    b.ok("STORE 1 +FLAGS (\\Flagged)")
    lines = a.ok("NOOP")
    fl = starting(lines, "* 1 FETCH")
    assert fl and "\\Flagged" in fl[0] and "MODSEQ (" in fl[0], lines
    a.close()
    b.close()


def test_big_fetch_slow_reader(server):
    """A FETCH far larger than the output high-water mark goes out in
    batches as the client reads (conn on_drain), complete and in order."""
    import time
    user = "cs5@example.test"
    c = Imap(server, user)
    c.ok("CREATE Big")
    body = ("x" * 998 + "\r\n") * 300  # ~300 KB per message
    n = 12
    for i in range(n):
        msg = ("Subject: big %d\r\n\r\n%s" % (i, body)).encode()
        c.c.send(b"a%d APPEND Big {%d+}\r\n" % (i, len(msg)) + msg + b"\r\n")
        ln = c.read_response()
        assert ln.startswith("a%d OK" % i), ln
    c.ok("SELECT Big")
    drains = server.stderr_text().count("event=drain")
    c.c.line("f1 UID FETCH 1:* (BODY.PEEK[] MODSEQ)")
    # Not reading yet: the server must stop at its high-water mark and
    # wait for us (event=drain, log_level debug), not buffer everything.
    deadline = time.monotonic() + 20
    while server.stderr_text().count("event=drain") <= drains:
        assert time.monotonic() < deadline, "the server never waited"
        time.sleep(0.05)
    got = []
    while True:
        ln = c.read_response()
        if ln.startswith("f1 "):
            assert ln.startswith("f1 OK"), ln
            break
        if not ln.startswith("* OK [HIGHESTMODSEQ "):
            got.append(ln)
    assert len(got) == n, [g[:60] for g in got]
    for i, g in enumerate(got):
        assert g.startswith("* %d FETCH (" % (i + 1)), g[:80]
        assert ("Subject: big %d\r\n" % i) in g and "MODSEQ (" in g
        assert len(g) > len(body)
    # The session is still usable.
    c.ok("NOOP")
    c.close()
    # Batches waited for the output to drain (log_level debug).
    assert server.stderr_text().count("event=drain") > drains
