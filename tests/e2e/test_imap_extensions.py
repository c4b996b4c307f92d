"""IMAP extensions, raw IMAP: MULTIAPPEND (RFC 3502), LITERAL+ as the
superset of LITERAL- (RFC 7888), UNAUTHENTICATE (RFC 8437)."""

import os
import re
import sqlite3
import time

from conftest import simple_message, unique
from imapraw import Imap, fill_box, starting

USERS = {"x%d@example.test" % i: "ext-Secret-%d" % i for i in range(1, 13)}
SERVER_USERS = USERS


def raw(c, data, sync=False):
    """Sends one command given as parts: bytes go as they are, a tuple
    (bytes,) as a literal (non-synchronising unless sync). Returns
    (status, untagged lines, tagged line)."""
    tag = "t%d" % next(c.tags)
    parts = [tag.encode() + b" "] + list(data)
    out = b""
    for p in parts:
        if isinstance(p, tuple):
            lit = p[0]
            if sync:
                c.c.send(out + b"{%d}\r\n" % len(lit))
                out = b""
                ln = c.read_response()
                assert ln.startswith("+"), ln
                out = lit
            else:
                out += b"{%d+}\r\n" % len(lit) + lit
        else:
            out += p
    c.c.send(out + b"\r\n")
    lines = []
    while True:
        ln = c.read_response()
        if ln.startswith(tag + " "):
            return ln.split(" ", 2)[1], lines, ln
        lines.append(ln)


def caps(c):
    line = starting(c.ok("CAPABILITY"), "* CAPABILITY")[0]
    return line.split()[2:]


def status(c, box, item="MESSAGES"):
    lines = c.ok("STATUS %s (%s)" % (box, item))
    return int(re.search(item + r" (\d+)", lines[0]).group(1))


def test_multiappend_all_in_one_command(server):
    c = Imap(server, "x1@example.test")
    assert "MULTIAPPEND" in caps(c)
    c.ok("CREATE Multi")
    msgs = [simple_message(unique("ma%d" % i)) for i in range(3)]
    st, lines, tagged = raw(c, [
        b"APPEND Multi (\\Seen) \"01-Feb-2020 10:00:00 +0000\" ", (msgs[0],),
        b" ", (msgs[1],),
        b" (\\Flagged $Work) ", (msgs[2],)])
    assert st == "OK", (lines, tagged)
    m = re.search(r"\[APPENDUID (\d+) (\S+)\]", tagged)
    assert m, tagged
    uids = m.group(2)
    # RFC 4315 with RFC 3502: one UID per message, in order, as a set.
    assert re.fullmatch(r"\d+:\d+", uids), uids
    lo, hi = (int(x) for x in uids.split(":"))
    assert hi - lo == 2
    c.ok("SELECT Multi")
    lines = c.ok("UID FETCH %s (FLAGS INTERNALDATE BODY.PEEK[])" % uids)
    assert len(starting(lines, "* ")) == 3, lines
    assert "\\Seen" in lines[0] and "01-Feb-2020 10:00:00 +0000" in lines[0]
    assert "\\Seen" not in lines[1] and "\\Flagged" not in lines[1]
    assert "\\Flagged" in lines[2] and "$Work" in lines[2]
    for ln, msg in zip(lines, msgs):
        assert msg.decode() in ln
    c.close()


def test_multiappend_synchronising_literals(server):
    c = Imap(server, "x2@example.test")
    msgs = [simple_message(unique("ms%d" % i)) for i in range(2)]
    st, lines, tagged = raw(c, [b"APPEND INBOX ", (msgs[0],), b" ",
                                (msgs[1],)], sync=True)
    assert st == "OK" and "APPENDUID" in tagged, (lines, tagged)
    assert status(c, "INBOX") == 2
    c.close()


def test_multiappend_is_all_or_nothing(server):
    c = Imap(server, "x3@example.test")
    c.ok("CREATE Box")
    good = simple_message(unique("aon"))
    # The third message is empty: refused, and the first two with it.
    st, lines, tagged = raw(c, [b"APPEND Box ", (good,), b" ", (good,),
                                b" ", (b"",)])
    assert st == "NO", tagged
    assert status(c, "Box") == 0
    # A bad date-time on the second message: BAD, nothing stored.
    st, lines, tagged = raw(c, [b"APPEND Box ", (good,),
                                b" \"99-Foo-2020 00:00:00 +0000\" ",
                                (good,)])
    assert st == "BAD", tagged
    assert status(c, "Box") == 0
    # A missing mailbox: TRYCREATE, nothing stored anywhere.
    st, lines, tagged = raw(c, [b"APPEND NoSuch ", (good,), b" ",
                                (good,)])
    assert st == "NO" and "[TRYCREATE]" in tagged, tagged
    assert status(c, "INBOX") == 0
    c.close()


def test_multiappend_over_quota_stores_none(server):
    user = "x4@example.test"
    server.cli("user", "quota", user, "3K", check=True)
    c = Imap(server, user)
    body = "x" * 1200 + "\r\n"
    msgs = [simple_message(unique("q%d" % i), body=body) for i in range(3)]
    st, lines, tagged = raw(c, [b"APPEND INBOX ", (msgs[0],), b" ",
                                (msgs[1],), b" ", (msgs[2],)])
    assert st == "NO" and "[OVERQUOTA]" in tagged, tagged
    assert status(c, "INBOX") == 0
    # One message alone fits.
    st, lines, tagged = raw(c, [b"APPEND INBOX ", (msgs[0],)])
    assert st == "OK", tagged
    assert status(c, "INBOX") == 1
    c.close()


def test_literal_plus_covers_literal_minus(server):
    """RFC 7888: LITERAL- is LITERAL+ limited to 4096 octets; LITERAL+ has
    no such limit, so it is the one advertised and a larger
    non-synchronising literal works (not only in APPEND)."""
    c = Imap(server, "x5@example.test")
    cs = caps(c)
    assert "LITERAL+" in cs and "LITERAL-" not in cs
    msg = simple_message(unique("big"), body="y" * 9000 + "\r\n")
    st, _, tagged = raw(c, [b"APPEND INBOX ", (msg,)])
    assert st == "OK", tagged
    c.ok("SELECT INBOX")
    word = b"z" * 5000
    st, lines, tagged = raw(c, [b"SEARCH BODY ", (word,)])
    assert st == "OK" and lines == ["* SEARCH"], (lines, tagged)
    c.close()


def test_unauthenticate(server):
    user = fill_box(server, "x6@example.test", 2, "ua")
    c = Imap(server, user)
    assert "UNAUTHENTICATE" in caps(c)
    c.ok("ENABLE CONDSTORE")
    c.ok("SELECT INBOX")
    c.ok("STORE 1 +FLAGS (\\Deleted)")
    lines = c.ok("UNAUTHENTICATE")
    # Closed without expunge (as UNSELECT): no EXPUNGE response.
    assert not [l for l in lines if "EXPUNGE" in l], lines
    st, _, _ = c.cmd("SELECT INBOX")
    assert st == "BAD"
    st, _, _ = c.cmd("UNAUTHENTICATE")
    assert st == "BAD"
    assert "UNAUTHENTICATE" in caps(c)
    # Log in again, as another user: that user's mailboxes.
    other = fill_box(server, "x7@example.test", 1, "ub")
    c.ok("LOGIN %s %s" % (other, USERS[other]))
    assert status(c, "INBOX") == 1
    c.ok("UNAUTHENTICATE")
    c.ok("LOGIN %s %s" % (user, USERS[user]))
    lines = c.ok("SELECT INBOX")
    assert "* 2 EXISTS" in lines, lines
    # ENABLE CONDSTORE ended with the login: no MODSEQ in FETCH.
    lines = c.ok("FETCH 1 (FLAGS)")
    assert "\\Deleted" in lines[0] and "MODSEQ" not in lines[0], lines
    c.close()


def imap_date(t):
    return time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(t))


def search(c, text):
    lines = c.ok(text)
    hit = starting(lines, "* SEARCH")
    assert len(hit) == 1, lines
    return [int(x) for x in hit[0].split()[2:]]


def test_within_older_younger(server):
    c = Imap(server, "x8@example.test")
    assert "WITHIN" in caps(c)
    now = time.time()
    for age in (3 * 86400, 600, 0):
        c.ok('APPEND INBOX "%s"' % imap_date(now - age),
             simple_message(unique("w%d" % age)))
    c.ok("SELECT INBOX")
    assert search(c, "SEARCH YOUNGER 3600") == [2, 3]
    assert search(c, "SEARCH OLDER 3600") == [1]
    assert search(c, "SEARCH OLDER 300") == [1, 2]
    assert search(c, "SEARCH YOUNGER 86400 NOT YOUNGER 300") == [2]
    assert search(c, "UID SEARCH OLDER 999999") == []
    for bad in ("YOUNGER 0", "OLDER", "OLDER -5", "OLDER x"):
        st, _, _ = c.cmd("SEARCH " + bad)
        assert st == "BAD", bad
    c.close()


def test_savedate_fetch_and_search(server):
    c = Imap(server, "x9@example.test")
    assert "SAVEDATE" in caps(c)
    c.ok("CREATE Other")
    old = "01-Feb-2020 10:00:00 +0000"
    c.ok('APPEND INBOX (\\Seen) "%s"' % old,
         simple_message(unique("sd")))
    c.ok("SELECT INBOX")
    lines = c.ok("FETCH 1 (INTERNALDATE SAVEDATE)")
    assert 'INTERNALDATE "%s"' % old in lines[0], lines
    m = re.search(r'SAVEDATE "(\d\d-\w{3}-\d{4}) ', lines[0])
    assert m, lines
    today = time.strftime("%d-%b-%Y", time.gmtime())
    assert m.group(1) in (today, time.strftime(
        "%d-%b-%Y", time.gmtime(time.time() - 60))), lines
    day = m.group(1)
    assert search(c, "SEARCH SAVEDON %s" % day) == [1]
    assert search(c, "SEARCH SAVEDSINCE %s" % day) == [1]
    assert search(c, "SEARCH SAVEDBEFORE %s" % day) == []
    assert search(c, "SEARCH SAVEDBEFORE 1-Jan-2100") == [1]
    assert search(c, "SEARCH ON 1-Feb-2020") == [1]
    assert search(c, "SEARCH SAVEDON 1-Feb-2020") == []
    assert search(c, "SEARCH SAVEDATESUPPORTED") == [1]
    # COPY and MOVE save a new copy: a new SAVEDATE, INTERNALDATE kept.
    c.ok("COPY 1 Other")
    c.ok("SELECT Other")
    lines = c.ok("FETCH 1 (INTERNALDATE SAVEDATE)")
    assert 'INTERNALDATE "%s"' % old in lines[0], lines
    assert 'SAVEDATE "%s' % day in lines[0] or \
        'SAVEDATE "%s' % today in lines[0], lines
    c.ok("MOVE 1 INBOX")
    c.ok("SELECT INBOX")
    lines = c.ok("UID FETCH 1:* (SAVEDATE)")
    assert len(lines) == 2 and all("SAVEDATE \"" in l for l in lines)
    st, _, _ = c.cmd("SEARCH SAVEDON 31-Foo-2020")
    assert st == "BAD"
    c.close()


def test_savedate_of_delivered_mail(server):
    user = fill_box(server, "x10@example.test", 1, "dl")
    c = Imap(server, user)
    c.ok("SELECT INBOX")
    lines = c.ok("FETCH 1 (SAVEDATE INTERNALDATE)")
    sd = re.search(r'SAVEDATE "([^"]+)"', lines[0]).group(1)
    idate = re.search(r'INTERNALDATE "([^"]+)"', lines[0]).group(1)
    # Delivered: saved when it arrived (within a minute of it).
    fmt = "%d-%b-%Y %H:%M:%S %z"
    import datetime
    a = datetime.datetime.strptime(sd, fmt)
    b = datetime.datetime.strptime(idate, fmt)
    assert abs((a - b).total_seconds()) < 60, lines
    c.close()


def mailboxid(text):
    m = re.search(r"MAILBOXID \(([A-Za-z0-9_-]{1,255})\)", text)
    assert m, text
    return m.group(1)


def test_objectid_mailboxid(server):
    c = Imap(server, "x11@example.test")
    assert "OBJECTID" in caps(c)
    st, _, tagged = c.cmd("CREATE Proj")
    assert st == "OK"
    mid = mailboxid(tagged)
    assert mailboxid(c.ok("STATUS Proj (MAILBOXID MESSAGES)")[0]) == mid
    lines = c.ok("SELECT Proj")
    assert mailboxid(" ".join(starting(lines, "* OK [MAILBOXID"))) == mid
    c.ok("UNSELECT")
    # RENAME keeps it; a new mailbox of the old name gets a new one.
    c.ok("RENAME Proj Proj2")
    assert mailboxid(c.ok("STATUS Proj2 (MAILBOXID)")[0]) == mid
    st, _, tagged = c.cmd("CREATE Proj")
    assert mailboxid(tagged) != mid
    inbox = mailboxid(c.ok("STATUS INBOX (MAILBOXID)")[0])
    assert inbox not in (mid, mailboxid(tagged))
    c.ok("DELETE Proj2")
    st, _, tagged = c.cmd("CREATE Proj2")
    assert mailboxid(tagged) != mid
    # LIST-STATUS carries it as well.
    lines = c.ok('LIST "" "Proj2" RETURN (STATUS (MAILBOXID))')
    assert mailboxid(" ".join(starting(lines, "* STATUS"))) == \
        mailboxid(tagged)
    # Another user's mailboxes have other ids.
    d = Imap(server, "x12@example.test")
    assert mailboxid(d.ok("STATUS INBOX (MAILBOXID)")[0]) != inbox
    d.close()
    c.close()


def test_objectid_emailid_threadid(server):
    c = Imap(server, "x1@example.test")
    c.ok("CREATE Obj")
    c.ok("CREATE Obj2")
    for i in range(2):
        c.ok("APPEND Obj", simple_message(unique("oid%d" % i)))
    c.ok("SELECT Obj")
    lines = c.ok("FETCH 1:2 (EMAILID THREADID)")
    ids = [re.search(r"EMAILID \(([A-Za-z0-9_-]+)\)", l).group(1)
           for l in lines]
    assert ids[0] != ids[1]
    assert all("THREADID NIL" in l for l in lines), lines
    assert search(c, "SEARCH EMAILID %s" % ids[1]) == [2]
    assert search(c, "SEARCH EMAILID nosuchid") == []
    assert search(c, "SEARCH THREADID T1") == []
    # COPY and MOVE keep the EMAILID.
    c.ok("COPY 1 Obj2")
    c.ok("MOVE 2 Obj2")
    c.ok("SELECT Obj2")
    lines = c.ok("FETCH 1:* (EMAILID)")
    got = [re.search(r"EMAILID \(([A-Za-z0-9_-]+)\)", l).group(1)
           for l in lines]
    assert got == ids, (got, ids)
    c.close()


def test_preview(server):
    c = Imap(server, "x2@example.test")
    assert "PREVIEW" in caps(c)
    c.ok("CREATE Prev")
    plain = simple_message(unique("pv"), body="  Hello   there,\r\n\r\n"
                           "\tsee you\r\ntomorrow.  \r\n")
    html = (b"From: a@remote.test\r\nSubject: h\r\n"
            b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
            b"Content-Type: text/html; charset=iso-8859-1\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            b"<html><style>b{}</style><p>Gr=FC&szlig;e &amp; more</p>"
            b"</html>\r\n--zz\r\nContent-Type: application/pdf\r\n\r\n"
            b"%PDF\r\n--zz--\r\n")
    long = simple_message(unique("pl"), body="word " * 200 + "\r\n")
    noext = (b"Subject: img\r\nContent-Type: image/png\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0K\r\n")
    for m in (plain, html, long, noext):
        c.ok("APPEND Prev", m)
    c.ok("EXAMINE Prev")
    lines = c.ok("FETCH 1:4 (PREVIEW)")
    assert '* 1 FETCH (PREVIEW "Hello there, see you tomorrow.")' in lines, \
        lines
    assert "Gr\u00fc&szlig;e & more" in lines[1], lines
    m = re.search(r'PREVIEW "([^"]*)"', lines[2])
    assert m and len(m.group(1)) == 256 and m.group(1).startswith("word w")
    assert '* 4 FETCH (PREVIEW "")' in lines, lines
    # LAZY may leave it out; we always have it. With other items too.
    lines = c.ok("UID FETCH 1 (UID PREVIEW (LAZY) FLAGS)")
    assert "PREVIEW \"Hello there, see you tomorrow.\"" in lines[0], lines
    lines = c.ok("FETCH 1 PREVIEW (LAZY)")
    assert "PREVIEW \"Hello" in lines[0], lines
    for bad in ("FETCH 1 (PREVIEW (FOO))", "FETCH 1 (PREVIEW ())",
                "FETCH 1 PREVIEW (LAZY LAZY X)"):
        st, _, _ = c.cmd(bad)
        assert st == "BAD", bad
    # PREVIEW does not set \Seen.
    lines = c.ok("FETCH 1 (FLAGS)")
    assert "\\Seen" not in lines[0]
    c.close()


def msg_from(name, addr, subject):
    return ("From: %s <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s@remote.test>\r\n\r\nbody\r\n" %
            (name, addr, addr, subject, unique("m"))).encode()


def esearch(c, text):
    lines = c.ok(text)
    hit = starting(lines, "* ESEARCH")
    assert len(hit) == 1, lines
    return hit[0]


def test_esort_and_sort_display(server):
    c = Imap(server, "x3@example.test")
    cs = caps(c)
    assert "ESORT" in cs and "SORT=DISPLAY" in cs
    assert "CONTEXT=SORT" in cs and "CONTEXT=SEARCH" in cs
    c.ok("CREATE Srt")
    # From display names sort differently from the addresses.
    for name, addr in (("Zed Alpha", "aaa@x.test"),
                       ("Bob", "zzz@x.test"),
                       ("", "mmm@x.test"),
                       ("Carl", "bbb@x.test")):
        c.ok("APPEND Srt", msg_from(name, addr, "s"))
    c.ok("SELECT Srt")
    lines = c.ok("SORT (DISPLAYFROM) UTF-8 ALL")
    assert lines == ["* SORT 2 4 3 1"], lines
    lines = c.ok("SORT (REVERSE DISPLAYTO) UTF-8 ALL")
    assert lines == ["* SORT 2 3 4 1"], lines
    lines = c.ok("SORT (FROM) UTF-8 ALL")
    assert lines == ["* SORT 1 4 3 2"], lines
    # ESORT: MIN/MAX are first and last in the sort order; ALL in order.
    r = esearch(c, "SORT RETURN (MIN MAX COUNT ALL) (DISPLAYFROM) UTF-8 ALL")
    assert r.endswith(" MIN 2 MAX 1 COUNT 4 ALL 2,4,3,1"), r
    assert '(TAG "' in r
    r = esearch(c, "UID SORT RETURN (COUNT) (DISPLAYFROM) UTF-8 NOT FROM bob")
    assert r.endswith(" UID COUNT 3"), r
    r = esearch(c, "SORT RETURN () (REVERSE DISPLAYFROM) UTF-8 ALL")
    assert r.endswith(" ALL 1,3,4,2"), r
    r = esearch(c, "SORT RETURN (MIN COUNT) (ARRIVAL) UTF-8 FROM nobody")
    assert r.endswith(" COUNT 0") and "MIN" not in r, r
    for bad in ("SORT RETURN (SAVE) (ARRIVAL) UTF-8 ALL",
                "SORT RETURN (FOO) (ARRIVAL) UTF-8 ALL",
                "SORT RETURN (ARRIVAL) UTF-8 ALL",
                "SORT (ARRIVAL) UTF-8 RETURN (MIN) ALL"):
        st, _, _ = c.cmd(bad)
        assert st == "BAD", bad
    c.close()


def thread_msg(mid, subject, date, refs=None, irt=None):
    h = "From: t@remote.test\r\nSubject: %s\r\nDate: %s\r\n" % (subject,
                                                              date)
    if mid:
        h += "Message-ID: <%s>\r\n" % mid
    if refs:
        h += "References: %s\r\n" % " ".join("<%s>" % r for r in refs)
    if irt:
        h += "In-Reply-To: <%s>\r\n" % irt
    return (h + "\r\nbody\r\n").encode()


def day(n):
    return "Mon, %02d Jan 2024 10:00:00 +0000" % n


def test_thread(server):
    c = Imap(server, "x4@example.test")
    cs = caps(c)
    assert "THREAD=ORDEREDSUBJECT" in cs and "THREAD=REFERENCES" in cs
    c.ok("CREATE Thr")
    msgs = [
        thread_msg("a@x", "Plan", day(1)),                        # 1
        thread_msg("b@x", "Re: Plan", day(2), refs=["a@x"]),      # 2
        thread_msg("c@x", "Other", day(3)),                       # 3
        thread_msg("d@x", "Re: Plan", day(4), refs=["a@x", "b@x"]),  # 4
        thread_msg("e@x", "Re: Plan", day(5), irt="a@x"),         # 5
        # parent never seen: gathered under a dummy with its sibling
        thread_msg("f@x", "Lost", day(6), refs=["gone@x"]),       # 6
        thread_msg("g@x", "Re: Lost", day(7), refs=["gone@x"]),   # 7
        # same subject, no references: gathered by subject (step 5)
        thread_msg("h@x", "Re: Other", day(8)),                   # 8
        thread_msg(None, "Solo", "Sun, 31 Dec 2023 10:00:00 +0000"),                         # 9
    ]
    for m in msgs:
        c.ok("APPEND Thr", m)
    c.ok("SELECT Thr")
    lines = c.ok("THREAD ORDEREDSUBJECT UTF-8 ALL")
    # Base subjects: Lost(6,7) Other(3,8) Plan(1,2,4,5) Solo(9); threads
    # by their first message's date.
    assert lines == ["* THREAD (9)(1 (2)(4)(5))(3 8)(6 7)"], lines
    lines = c.ok("THREAD REFERENCES UTF-8 ALL")
    assert lines == ["* THREAD (9)(1 (2 4)(5))(3 8)((6)(7))"], lines
    lines = c.ok("UID THREAD REFERENCES UTF-8 ALL")
    uids = [int(x) for x in re.findall(r"\d+", c.ok(
        "UID SEARCH ALL")[0])]
    assert lines[0].startswith("* THREAD (%d)(%d (" % (uids[8], uids[0]))
    # The search criteria narrow the messages threaded.
    lines = c.ok("THREAD REFERENCES UTF-8 SUBJECT plan NOT 2")
    assert lines == ["* THREAD (1 (4)(5))"], lines
    lines = c.ok("THREAD ORDEREDSUBJECT US-ASCII SUBJECT nomatch")
    assert lines == ["* THREAD"], lines
    for bad in ("THREAD FOO UTF-8 ALL", "THREAD REFERENCES UTF-8",
                "THREAD REFERENCES UTF-8 RETURN (ALL) ALL"):
        st, _, _ = c.cmd(bad)
        assert st == "BAD", bad
    st, _, tagged = c.cmd("THREAD REFERENCES KOI8-R ALL")
    assert st == "NO" and "BADCHARSET" in tagged
    c.close()


def test_metadata(server):
    user = "x5@example.test"
    c = Imap(server, user)
    assert "METADATA" in caps(c)
    # Nothing set: no METADATA response.
    assert c.ok('GETMETADATA "" /private/comment') == []
    c.ok('SETMETADATA "" (/private/comment "my server note")')
    c.ok("CREATE Meta")
    c.ok('SETMETADATA Meta (/private/comment "private one" '
         '/shared/comment "shared one" /private/vendor/x/a "1" '
         '/private/vendor/x/b/c "2")')
    lines = c.ok('GETMETADATA "" /private/comment')
    assert lines == ['* METADATA "" (/private/comment "my server note")'], \
        lines
    lines = c.ok("GETMETADATA Meta (/private/comment /shared/comment)")
    assert lines == ['* METADATA "Meta" (/private/comment "private one" '
                     '/shared/comment "shared one")'], lines
    # Entry names are case-insensitive.
    lines = c.ok("GETMETADATA Meta /PRIVATE/Comment")
    assert lines == ['* METADATA "Meta" (/private/comment "private one")']
    # DEPTH 1: the entry and its children; infinity: all below.
    lines = c.ok("GETMETADATA (DEPTH 1) Meta /private/vendor/x")
    assert lines == ['* METADATA "Meta" (/private/vendor/x/a "1")'], lines
    lines = c.ok("GETMETADATA (DEPTH infinity) Meta /private/vendor")
    assert lines == ['* METADATA "Meta" (/private/vendor/x/a "1" '
                     '/private/vendor/x/b/c "2")'], lines
    # MAXSIZE leaves longer values out and says how long the longest is.
    st, lines, tagged = c.cmd("GETMETADATA (MAXSIZE 5) Meta "
                              "(/private/comment /private/vendor/x/a)")
    assert st == "OK" and "[METADATA LONGENTRIES 11]" in tagged, tagged
    assert lines == ['* METADATA "Meta" (/private/vendor/x/a "1")'], lines
    # A value with 8-bit and CR/LF comes back as a literal, exactly.
    val = "line1\r\nl\u00e9ne2".encode()
    st, _, tagged = raw(c, [b"SETMETADATA Meta (/private/note ", (val,),
                            b")"])
    assert st == "OK", tagged
    lines = c.ok("GETMETADATA Meta /private/note")
    assert lines[0].encode() == b"* METADATA \"Meta\" (/private/note {%d}\r\n" \
        % len(val) + val + b")", lines
    # NIL deletes.
    c.ok("SETMETADATA Meta (/private/note NIL /private/nothere NIL)")
    assert c.ok("GETMETADATA Meta /private/note") == []
    # Errors.
    st, _, tagged = c.cmd('SETMETADATA "" (/shared/admin "x")')
    assert st == "NO", tagged
    st, _, tagged = c.cmd('SETMETADATA NoSuch (/private/a "x")')
    assert st == "NO" and "NONEXISTENT" in tagged, tagged
    st, _, tagged = c.cmd("GETMETADATA NoSuch /private/a")
    assert st == "NO" and "NONEXISTENT" in tagged, tagged
    big = b"v" * 40000
    st, _, tagged = raw(c, [b"SETMETADATA Meta (/private/big ", (big,),
                            b")"])
    assert st == "NO" and "[METADATA MAXSIZE 32768]" in tagged, tagged
    for bad in ('SETMETADATA Meta (/other/x "v")',
                'SETMETADATA Meta (/private/a* "v")',
                'SETMETADATA Meta (/private//a "v")',
                'SETMETADATA Meta (/private/a/ "v")',
                'SETMETADATA Meta (/private "v")',
                'SETMETADATA Meta (/private/a)',
                'GETMETADATA (DEPTH 2) Meta /private/a',
                'GETMETADATA (MAXSIZE x) Meta /private/a',
                'GETMETADATA Meta'):
        st, _, _ = c.cmd(bad)
        assert st == "BAD", bad
    # All or nothing: one bad entry (TOOMANY) stores none of them.
    many = " ".join('/private/n%d "v"' % i for i in range(600))
    st, _, tagged = c.cmd("SETMETADATA Meta (%s)" % many)
    assert st == "NO" and "[METADATA TOOMANY]" in tagged, tagged
    assert c.ok("GETMETADATA Meta /private/n1") == []
    # RENAME keeps the entries; DELETE removes them with the mailbox.
    c.ok("RENAME Meta Meta2")
    lines = c.ok("GETMETADATA Meta2 /shared/comment")
    assert lines == ['* METADATA "Meta2" (/shared/comment "shared one")']
    c.ok("DELETE Meta2")
    c.ok("CREATE Meta2")
    assert c.ok("GETMETADATA (DEPTH infinity) Meta2 /private") == []
    # Another user sees none of it.
    d = Imap(server, "x6@example.test")
    assert d.ok('GETMETADATA "" /private/comment') == []
    d.close()
    c.close()


def test_metadata_rows_go_with_the_account(server):
    user = "meta-gone@example.test"
    server.add_user(user, "Meta-Secret-1")
    c = Imap(server, user, "Meta-Secret-1")
    c.ok('SETMETADATA "" (/private/a "1")')
    c.ok('SETMETADATA INBOX (/private/b "2" /shared/c "3")')
    c.close()
    # What the store keeps is the point here: read its table.
    db = sqlite3.connect(os.path.join(server.dir, "postel.db"))

    def rows():
        return db.execute("SELECT COUNT(*) FROM metadata").fetchone()[0]

    before = rows()
    assert before >= 3
    server.cli("user", "del", user, check=True)
    assert rows() == before - 3
    db.close()
