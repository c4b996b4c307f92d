"""FETCH of flags only (FLAGS, UID, MODSEQ: what a syncing client sends for
the whole mailbox) is answered straight from the selected view; these tests
hold its bytes to the documented form and to the general FETCH path: the
same lines, byte for byte, as when an item that needs the store
(RFC822.SIZE) rides along and is cut out again. System flags in their fixed
order, keywords after them, UID added for UID FETCH (RFC 9051 §6.4.9),
MODSEQ with CONDSTORE (RFC 7162 §3.1), CHANGEDSINCE, \\Recent only in the
session that claimed the messages (RFC 3501 §2.3.2; here another session
claims them first, so SELECT says 0 RECENT), and a reply far larger than
the output high-water mark paced by a slow reader."""

import re
import time

from imapraw import Imap, starting

USERS = {"ff%d@example.test" % i: "flags-Secret-%d" % i for i in range(1, 5)}
SERVER_USERS = USERS
# debug: the slow-reader test looks for event=drain.
SERVER_CONFIG = {"log_level": "debug"}

SYSTEM = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"]
SIZE = re.compile(r" RFC822\.SIZE \d+")


def fill(c, box, n):
    """APPENDs n messages; message i gets the system flags of the bits of
    i and keyword kw<i> when i % 3 == 0, $Forwarded when i % 4 == 0.
    Returns the expected flag list (as the server must write it) per
    message."""
    c.ok("CREATE %s" % box)
    want = []
    for i in range(n):
        sysf = [f for b, f in enumerate(SYSTEM) if i & (1 << b)]
        kw = (["kw%d" % i] if i % 3 == 0 else []) + \
            (["$Forwarded"] if i % 4 == 0 else [])
        msg = ("Subject: f%d\r\n\r\nbody %d\r\n" % (i, i)).encode()
        c.ok("APPEND %s (%s)" % (box, " ".join(sysf + kw)), msg)
        want.append((sysf, kw))
    return want


def flags_text(sysf, kw):
    return "(" + " ".join(sysf + kw) + ")"


def general(c, cmd):
    """The same FETCH through the general path: RFC822.SIZE needs the
    store, so the worker formats it; the item is then cut out."""
    head, items = cmd.split(" (", 1)
    lines = c.ok("%s (%s RFC822.SIZE)" % (head, items[:-1]))
    return [SIZE.sub("", ln, count=1) for ln in lines]


def test_flags_bytes_with_keywords(server):
    c = Imap(server, "ff1@example.test")
    want = fill(c, "F", 40)
    other = Imap(server, "ff1@example.test")
    assert "* 40 RECENT" in other.ok("SELECT F")
    other.close()
    lines = c.ok("SELECT F")
    assert "* 0 RECENT" in lines, lines
    got = c.ok("FETCH 1:* (FLAGS)")
    assert len(got) == 40
    for i, ln in enumerate(got):
        sysf, kw = want[i]
        if len(kw) == 2:  # two keywords: either order is the server's
            assert ln in ("* %d FETCH (FLAGS %s)" % (i + 1, flags_text(sysf, kw)),
                          "* %d FETCH (FLAGS %s)" % (i + 1, flags_text(sysf, kw[::-1]))), ln
        else:
            assert ln == "* %d FETCH (FLAGS %s)" % (i + 1, flags_text(sysf, kw)), ln
        assert "\\Recent" not in ln
    uids = [int(re.search(r"UID (\d+)", ln).group(1))
            for ln in c.ok("FETCH 1:* (UID)")]
    assert uids == sorted(uids) and len(uids) == 40
    lines = c.ok("UID FETCH 1:* (FLAGS)")
    assert lines == ["%s UID %d)" % (g[:-1], u) for g, u in zip(got, uids)]
    lines = c.ok("FETCH 5,2,9 (UID FLAGS)")
    assert lines == ["* %d FETCH (UID %d FLAGS %s)" %
                     (n, uids[n - 1], got[n - 1].split("FLAGS ", 1)[1][:-1])
                     for n in (2, 5, 9)], lines
    c.close()


def test_flags_paths_agree(server):
    """Every flags-only form, before and after CONDSTORE, equals the general
    path's bytes."""
    c = Imap(server, "ff2@example.test")
    fill(c, "G", 30)
    c.ok("SELECT G")
    forms = ["FETCH 1:* (FLAGS)", "UID FETCH 1:* (FLAGS)",
             "FETCH 1:* (UID FLAGS)", "FETCH 3:7,1,20:* (FLAGS UID)",
             "UID FETCH 1:* (MODSEQ FLAGS UID FLAGS)",
             "FETCH 1:* (FLAGS MODSEQ)", "FETCH 2:4 (UID)"]
    announced = 0
    for cmd in forms:
        fast = c.ok(cmd)
        # The first MODSEQ item enables CONDSTORE and answers HIGHESTMODSEQ
        # once (RFC 7162 §3.1); the rest must equal the general path.
        if fast and fast[0].startswith("* OK [HIGHESTMODSEQ "):
            announced += 1
            fast = fast[1:]
        assert fast == general(c, cmd), cmd
    assert announced == 1
    c.ok("ENABLE CONDSTORE")
    c.ok("STORE 3 +FLAGS (\\Flagged late)")
    for cmd in forms:
        fast = c.ok(cmd)
        assert fast == general(c, cmd), cmd
        if "FLAGS" in cmd:
            assert all("MODSEQ (" in ln for ln in fast), fast[:3]
    # CHANGEDSINCE: only the message changed after the mailbox filled.
    ms = [int(re.search(r"MODSEQ \((\d+)\)", ln).group(1))
          for ln in c.ok("FETCH 1:* (MODSEQ)")]
    since = sorted(ms)[-2]
    fast = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % since)
    slow = c.ok("FETCH 1:* (FLAGS RFC822.SIZE) (CHANGEDSINCE %d)" % since)
    assert fast == [SIZE.sub("", ln, count=1) for ln in slow], (fast, slow)
    assert len(fast) == 1 and fast[0].startswith("* 3 FETCH (FLAGS ("), fast
    assert "late" in fast[0] and "MODSEQ (%d)" % max(ms) in fast[0], fast
    c.close()


def test_flags_expunged_elsewhere_and_errors(server):
    """A message expunged by another session keeps its place until
    announced (RFC 9051 §7.5.1) and its flags are still reported; a bad
    set is BAD; the session goes on."""
    a = Imap(server, "ff3@example.test")
    fill(a, "H", 6)
    a.ok("SELECT H")
    before = a.ok("FETCH 1:* (UID FLAGS)")
    assert len(before) == 6
    b = Imap(server, "ff3@example.test")
    b.ok("SELECT H")
    b.ok("STORE 2 +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    b.close()
    # No EXPUNGE during FETCH: all six keep their numbers and flags.
    got = [ln for ln in a.ok("FETCH 1:* (UID FLAGS)")
           if re.match(r"\* \d+ FETCH \(UID ", ln)]
    assert got[:1] + got[2:] == before[:1] + before[2:], got
    assert got[1].startswith(before[1][:-2]), (got[1], before[1])
    assert "EXPUNGE" in " ".join(a.ok("NOOP"))
    st, _, tagged = a.cmd("FETCH 0:3 (FLAGS)")
    assert st == "BAD", tagged
    assert len(starting(a.ok("FETCH 1:* (FLAGS)"), "* ")) == 5
    a.close()


def test_flags_fetch_slow_reader(server):
    """A flags-only reply far larger than the output high-water mark goes
    out a slice at a time as the client reads (event=drain), complete and
    in order, and the session stays usable."""
    c = Imap(server, "ff4@example.test")
    n = 40
    fill(c, "Big", n)
    c.ok("SELECT Big")
    kws = ["k%02d%s" % (i, "y" * 100) for i in range(60)]
    c.ok("STORE 1:* +FLAGS (%s)" % " ".join(kws))
    expect = c.ok("FETCH 1:* (FLAGS)")
    assert len(expect) == n and all(len(ln) > 6000 for ln in expect)
    drains = server.stderr_text().count("event=drain")
    items = " ".join(["FLAGS"] * 4)
    c.c.line(b"f1 UID FETCH 1:* (%s)" % items.encode())
    # ~1 MB of reply: the server must stop at its high-water mark and
    # wait for us, not buffer everything.
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
        got.append(ln)
    assert len(got) == n
    for i, (g, e) in enumerate(zip(got, expect)):
        fl = e.split("FLAGS ", 1)[1][:-1]
        assert g.startswith("* %d FETCH (FLAGS %s FLAGS " % (i + 1, fl)), \
            g[:80]
        assert g.endswith(" FLAGS %s UID %d)" % (fl, i + 1)), g[-80:]
    c.ok("NOOP")
    c.close()
