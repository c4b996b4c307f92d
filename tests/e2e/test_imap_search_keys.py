"""Every SEARCH key of RFC 9051 §6.4.4 (and rev1's NEW/OLD/RECENT), sequence
sets, "$" (RFC 5182 SEARCHRES), ESEARCH return options (RFC 4731), SORT with
every RFC 5256 key, and UTF8=ACCEPT (RFC 6855) against a running server.

Five crafted messages are appended once (module fixture) to one mailbox:
RFC 2047 headers in UTF-8, ISO-8859-1 and KOI8-R, quoted-printable and
base64 bodies, a multipart with a binary attachment, Date: headers in
several zones, internal dates given to APPEND, flags and keywords."""

import base64
import re

import pytest

from imapraw import Imap, starting

USERS = {"k1@example.test": "keys-Secret-1",
         "k2@example.test": "keys-Secret-2"}
SERVER_USERS = USERS
USER = "k1@example.test"


def lit(text):
    """A non-synchronizing literal (RFC 7888) holding text as UTF-8."""
    b = text.encode("utf-8") if isinstance(text, str) else text
    return "{%d+}\r\n%s" % (len(b), b.decode("utf-8"))


def koi8_b(text):
    return "=?KOI8-R?B?%s?=" % base64.b64encode(
        text.encode("koi8-r")).decode()


ATTACH = base64.b64encode(b"zebraword inside a binary attachment\x00\x01" *
                          40).decode()
ATTACH = "\r\n".join(ATTACH[i:i + 76] for i in range(0, len(ATTACH), 76))

# (flags, internal date, message)
MESSAGES = [
    ("(\\Seen \\Answered)", "01-Feb-2020 12:00:00 +0000",
     "From: Alice Able <alice@a.test>\r\n"
     "To: bob@b.test\r\n"
     "Cc: carol@c.test\r\n"
     "Bcc: dave@d.test\r\n"
     "Subject: Re: [list] Fwd: alpha report\r\n"
     "Date: Mon, 02 Mar 2020 23:30:00 -0800\r\n"
     "X-Tag: blue\r\n"
     "Message-ID: <m1@a.test>\r\n"
     "\r\n"
     "The quick brown fox\r\n"),
    ("(\\Flagged $Work)", "15-Mar-2020 12:00:00 +0000",
     "From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <jm@x.test>\r\n"
     "To: zed@z.test\r\n"
     "Subject: =?UTF-8?B?w4RwZmVsIHVuZCBCaXJuZW4=?=\r\n"
     "Date: Tue, 03 Mar 2020 01:00:00 +0100\r\n"
     "MIME-Version: 1.0\r\n"
     "Content-Type: text/plain; charset=utf-8\r\n"
     "Content-Transfer-Encoding: quoted-printable\r\n"
     "\r\n"
     "Gr=C3=BC=C3=9Fe aus M=C3=BCnchen, long line soft=\r\n"
     "break here\r\n"),
    ("(\\Deleted \\Draft)", "20-Apr-2021 12:00:00 +0000",
     "From: %s <ivan@r.test>\r\n"
     "To: mike@m.test\r\n"
     "Cc: Xavier <xavier@x.test>\r\n"
     "Subject: %s\r\n"
     "Date: Wed, 21 Apr 2021 02:00:00 +0900\r\n"
     "X-Tag: green\r\n"
     "MIME-Version: 1.0\r\n"
     "Content-Type: text/plain; charset=ISO-8859-1\r\n"
     "Content-Transfer-Encoding: base64\r\n"
     "\r\n"
     "%s\r\n" % (koi8_b("Иван Петров"), koi8_b("Привет мир"),
                 base64.b64encode("Un café crème, s'il vous plaît".encode(
                     "iso-8859-1")).decode())),
    ("()", "10-Jan-2019 12:00:00 +0000",
     "From: Zoe <zoe@z.test>\r\n"
     "To: abe@a.test\r\n"
     "Subject: [list] beta attached (fwd)\r\n"
     "Date: Thu, 01 Jan 2015 00:00:00 +0000\r\n"
     "MIME-Version: 1.0\r\n"
     "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
     "\r\n"
     "--b1\r\n"
     "Content-Type: text/plain\r\n"
     "\r\n"
     "see attachment\r\n"
     "--b1\r\n"
     "Content-Type: application/octet-stream\r\n"
     "Content-Transfer-Encoding: base64\r\n"
     "Content-Disposition: attachment; filename=z.bin\r\n"
     "\r\n" + ATTACH + "\r\n"
     "--b1--\r\n"),
    ("(\\Seen $Work)", "05-May-2023 12:00:00 +0000",
     "From: <bert@b.test>\r\n"
     "To: =?UTF-8?Q?=C3=84rger?= <aerger@x.test>\r\n"
     "Subject: alpha report\r\n"
     "MIME-Version: 1.0\r\n"
     "Content-Type: text/plain; charset=utf-8\r\n"
     "Content-Transfer-Encoding: 8bit\r\n"
     "\r\n"
     "ÄPFEL sind rund\r\n"),
]


def ints(lines, name="SEARCH"):
    got = starting(lines, "* %s" % name)
    assert len(got) == 1, lines
    return [int(x) for x in got[0].split()[2:]]


@pytest.fixture(scope="module")
def _box(_module_server):
    im = Imap(_module_server, USER, USERS[USER])
    for flags, date, msg in MESSAGES:
        im.ok('APPEND INBOX %s "%s" %s' % (flags, date, lit(msg)))
    im.ok("SELECT INBOX")
    lines = im.ok("FETCH 1:* (UID RFC822.SIZE)")
    info = {}
    for l in starting(lines, "* "):
        m = re.match(r"\* (\d+) FETCH \(UID (\d+) RFC822\.SIZE (\d+)\)", l)
        if m:
            info[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    assert sorted(info) == [1, 2, 3, 4, 5], lines
    yield im, info
    im.close()


@pytest.fixture
def box(_box, server):
    """The shared session; the server is checked alive after each test."""
    return _box


def search(im, crit, name="SEARCH"):
    return ints(im.ok("%s %s" % (name, crit)), name.split()[-1])


CASES = [
    ("ALL", [1, 2, 3, 4, 5]),
    ("ANSWERED", [1]), ("UNANSWERED", [2, 3, 4, 5]),
    ("DELETED", [3]), ("UNDELETED", [1, 2, 4, 5]),
    ("DRAFT", [3]), ("UNDRAFT", [1, 2, 4, 5]),
    ("FLAGGED", [2]), ("UNFLAGGED", [1, 3, 4, 5]),
    ("SEEN", [1, 5]), ("UNSEEN", [2, 3, 4]),
    ("KEYWORD $Work", [2, 5]), ("UNKEYWORD $Work", [1, 3, 4]),
    ("KEYWORD $Nothing", []), ("UNKEYWORD $Nothing", [1, 2, 3, 4, 5]),
    # rev1: this session's SELECT claimed all five as \Recent (RFC 3501
    # §2.3.2); 1 and 5 are \Seen.
    ("NEW", [2, 3, 4]), ("RECENT", [1, 2, 3, 4, 5]), ("OLD", []),
    ("BCC dave", [1]), ("BCC carol", []),
    ("CC carol", [1]), ("CC XAVIER", [3]),
    ("FROM alice", [1]), ("FROM \"Alice Able\"", [1]),
    ("FROM jm@x.test", [2]), ("FROM ivan", [3]),
    ("TO zed", [2]), ("TO mike", [3]), ("TO b.test", [1]),
    ("SUBJECT alpha", [1, 5]), ("SUBJECT \"[list]\"", [1, 4]),
    ("SUBJECT Birnen", [2]), ("SUBJECT nothere", []),
    ("HEADER X-Tag blue", [1]), ("HEADER x-tag GREEN", [3]),
    ("HEADER X-Tag \"\"", [1, 3]), ("HEADER Message-ID m1@a", [1]),
    ("BODY \"quick brown\"", [1]), ("BODY QUICK", [1]),
    ("BODY \"softbreak\"", [2]), ("BODY \"see attachment\"", [4]),
    ("BODY zebraword", []), ("BODY alice", []), ("BODY rund", [5]),
    ("TEXT alice", [1]), ("TEXT quick", [1]), ("TEXT zebraword", []),
    ("TEXT \"x-tag: green\"", [3]),
    # internal dates (all at noon UTC)
    ("BEFORE 15-Mar-2020", [1, 4]), ("ON 15-Mar-2020", [2]),
    ("SINCE 15-Mar-2020", [2, 3, 5]), ("SINCE 1-Feb-2020", [1, 2, 3, 5]),
    ("BEFORE 1-Feb-2020", [4]), ("ON 1-Feb-2020", [1]),
    ("ON \"20-Apr-2021\"", [3]),
    # Date: header day in its own zone (RFC 9051: disregarding time and
    # timezone): message 1 is 2-Mar in -0800 (3-Mar UTC), message 3
    # 21-Apr in +0900 (20-Apr UTC); message 5 has no Date: at all.
    ("SENTON 2-Mar-2020", [1]), ("SENTON 3-Mar-2020", [2]),
    ("SENTBEFORE 3-Mar-2020", [1, 4]), ("SENTSINCE 3-Mar-2020", [2, 3]),
    ("SENTON 21-Apr-2021", [3]), ("SENTON 20-Apr-2021", []),
    ("SENTSINCE 1-Jan-2015", [1, 2, 3, 4]), ("SENTBEFORE 1-Jan-2015", []),
    ("NOT SENTBEFORE 1-Jan-2100", [5]),
    # sequence sets
    ("1:*", [1, 2, 3, 4, 5]), ("*", [5]), ("*:4", [4, 5]),
    ("2,4:*", [2, 4, 5]), ("1:2,5", [1, 2, 5]), ("5:3", [3, 4, 5]),
    ("4:9", [4, 5]),
    # boolean structure
    ("OR SEEN FLAGGED", [1, 2, 5]), ("NOT SEEN", [2, 3, 4]),
    ("NOT (SEEN FROM alice)", [2, 3, 4, 5]),
    ("OR (SEEN KEYWORD $Work) DELETED", [3, 5]),
    ("NOT OR ANSWERED DELETED", [2, 4, 5]),
    ("(OR 1 2) (OR 2 3)", [2]),
    ("OR OR DRAFT FLAGGED ANSWERED", [1, 2, 3]),
    ("(((SEEN)))", [1, 5]), ("NOT NOT SEEN", [1, 5]),
    ("SEEN SUBJECT alpha NOT FROM bert", [1]),
    ("OR SUBJECT Birnen (BODY quick NOT UID 1:*)", [2]),
]


@pytest.mark.parametrize("crit,want", CASES)
def test_search_key(box, crit, want):
    im, _ = box
    assert search(im, crit) == want, crit


# Case-insensitive, decoded, non-ASCII: each literal is UTF-8.
UTF8_CASES = [
    ("SUBJECT", "äpfel", [2]), ("SUBJECT", "ÄPFEL", [2]),
    ("SUBJECT", "привет", [3]), ("SUBJECT", "ПРИВЕТ МИР", [3]),
    ("FROM", "jörg müller", [2]), ("FROM", "MÜLLER", [2]),
    ("FROM", "петров", [3]), ("TO", "ärger", [5]),
    ("BODY", "grüße aus münchen", [2]), ("BODY", "MÜNCHEN", [2]),
    ("BODY", "café crème", [3]), ("BODY", "PLAÎT", [3]),
    ("BODY", "äpfel", [5]), ("TEXT", "äpfel", [2, 5]),
    ("TEXT", "Иван", [3]), ("HEADER Subject", "birnen", [2]),
]


@pytest.mark.parametrize("key,text,want", UTF8_CASES)
def test_search_utf8(box, key, text, want):
    im, _ = box
    assert search(im, "CHARSET UTF-8 %s %s" % (key, lit(text))) == want
    # a quoted UTF-8 string works too (RFC 9051 quoted is UTF-8)
    assert search(im, "CHARSET UTF-8 %s \"%s\"" % (key, text)) == want


def test_search_charsets(box):
    im, _ = box
    assert search(im, "CHARSET US-ASCII SUBJECT alpha") == [1, 5]
    assert search(im, "CHARSET utf-8 SUBJECT alpha") == [1, 5]
    st, lines, tagged = im.cmd("SEARCH CHARSET X-UNKNOWN SUBJECT alpha")
    assert st == "NO" and "[BADCHARSET" in tagged, tagged
    st, lines, tagged = im.cmd("SEARCH CHARSET KOI8-R SUBJECT x")
    assert st == "NO" and "[BADCHARSET" in tagged, tagged


def test_search_size(box):
    im, info = box
    sizes = {seq: sz for seq, (uid, sz) in info.items()}
    big = max(sizes.values())
    assert [s for s in sizes if sizes[s] == big] == [4]
    assert search(im, "LARGER %d" % (big - 1)) == [4]
    assert search(im, "LARGER %d" % big) == []
    assert search(im, "SMALLER %d" % big) == [1, 2, 3, 5]
    assert search(im, "SMALLER %d" % (big + 1)) == [1, 2, 3, 4, 5]
    s1 = sizes[1]
    assert search(im, "LARGER %d SMALLER %d" % (s1 - 1, s1 + 1)) == \
        [s for s in sizes if sizes[s] == s1]
    assert search(im, "SMALLER 1") == []
    assert search(im, "LARGER 0") == [1, 2, 3, 4, 5]


def test_search_uid(box):
    im, info = box
    uid = {seq: u for seq, (u, sz) in info.items()}
    assert search(im, "UID %d:%d" % (uid[2], uid[4])) == [2, 3, 4]
    assert search(im, "UID %d,%d" % (uid[1], uid[5])) == [1, 5]
    assert search(im, "UID *") == [5]
    assert search(im, "UID %d:*" % (uid[5] + 100)) == [5]
    assert search(im, "UID %d" % (uid[5] + 100)) == []
    assert search(im, "UID 1:*", "UID SEARCH") == [uid[s] for s in range(1, 6)]
    assert search(im, "SEEN", "UID SEARCH") == [uid[1], uid[5]]
    assert search(im, "UID %d 2:4" % uid[3], "UID SEARCH") == [uid[3]]
    st, _, tagged = im.cmd("SEARCH UID x:y")
    assert st == "BAD", tagged
    for bad in ("FOO", "SINCE 32-Foo-2020", "LARGER -1", "OR SEEN",
                "NOT", "(SEEN", "KEYWORD", "HEADER X-Tag", "RETURN (BOGUS) ALL",
                "0:3"):
        st, _, tagged = im.cmd("SEARCH " + bad)
        assert st == "BAD", (bad, tagged)


def esearch(lines):
    got = starting(lines, "* ESEARCH")
    assert len(got) == 1, lines
    return got[0]


def test_esearch_return(box):
    im, info = box
    uid = {seq: u for seq, (u, sz) in info.items()}
    tag = "t%d" % (next(im.tags) + 1)  # cmd() takes the following tag
    es = esearch(im.ok("SEARCH RETURN (MIN MAX COUNT ALL) SEEN"))
    assert es == '* ESEARCH (TAG "%s") MIN 1 MAX 5 COUNT 2 ALL 1,5' % tag, es
    es = esearch(im.ok("SEARCH RETURN () 1:3,5"))
    assert es.endswith(" ALL 1:3,5"), es
    es = esearch(im.ok("SEARCH RETURN (COUNT) ALL"))
    assert es.endswith(" COUNT 5") and " ALL" not in es, es
    es = esearch(im.ok("SEARCH RETURN (MIN) NOT SEEN"))
    assert es.endswith(" MIN 2") and "MAX" not in es, es
    es = esearch(im.ok("SEARCH RETURN (MAX) NOT SEEN"))
    assert es.endswith(" MAX 4"), es
    # no match: only COUNT 0 is given (RFC 4731 §3.1)
    es = esearch(im.ok("SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT nothere"))
    assert re.fullmatch(r'\* ESEARCH \(TAG "t\d+"\) COUNT 0', es), es
    es = esearch(im.ok("SEARCH RETURN (ALL) SUBJECT nothere"))
    assert re.fullmatch(r'\* ESEARCH \(TAG "t\d+"\)', es), es
    es = esearch(im.ok("UID SEARCH RETURN (MIN MAX ALL) SEEN"))
    assert " UID " in es and "MIN %d" % uid[1] in es and \
        "MAX %d" % uid[5] in es, es
    es = esearch(im.ok("SEARCH RETURN (COUNT) CHARSET UTF-8 SUBJECT %s"
                       % lit("äpfel")))
    assert es.endswith(" COUNT 1"), es


def test_searchres_save(box):
    im, info = box
    uid = {seq: u for seq, (u, sz) in info.items()}
    # SAVE alone: no ESEARCH response (RFC 5182 §2.4)
    lines = im.ok("SEARCH RETURN (SAVE) FLAGGED")
    assert not starting(lines, "* ESEARCH") and \
        not starting(lines, "* SEARCH"), lines
    lines = im.ok("FETCH $ (UID)")
    assert starting(lines, "* ") == ["* 2 FETCH (UID %d)" % uid[2]], lines
    assert search(im, "$") == [2]
    assert search(im, "NOT $") == [1, 3, 4, 5]
    assert search(im, "OR $ DELETED") == [2, 3]
    assert search(im, "UID $") == [2]
    assert search(im, "$", "UID SEARCH") == [uid[2]]
    # SAVE with other options: the ESEARCH is still sent
    es = esearch(im.ok("SEARCH RETURN (SAVE MIN COUNT) SEEN"))
    assert es.endswith(" MIN 1 COUNT 2"), es
    assert search(im, "$") == [1, 5]
    lines = im.ok("UID FETCH $ (FLAGS)")
    assert len(starting(lines, "* ")) == 2, lines
    # SAVE with MIN and/or MAX alone saves only those (RFC 5182 §2.4)
    es = esearch(im.ok("SEARCH RETURN (SAVE MIN) NOT SEEN"))
    assert es.endswith(" MIN 2"), es
    assert search(im, "$") == [2]
    es = esearch(im.ok("SEARCH RETURN (MAX SAVE) NOT SEEN"))
    assert search(im, "$") == [4]
    es = esearch(im.ok("SEARCH RETURN (MIN MAX SAVE) NOT SEEN"))
    assert es.endswith(" MIN 2 MAX 4"), es
    assert search(im, "$") == [2, 4]
    es = esearch(im.ok("SEARCH RETURN (MIN ALL SAVE) NOT SEEN"))
    assert search(im, "$") == [2, 3, 4]
    # a failed SEARCH RETURN (SAVE) empties it (RFC 5182 §2.1)
    st, _, tagged = im.cmd("SEARCH RETURN (SAVE) NOSUCHKEY")
    assert st == "BAD", tagged
    assert search(im, "$") == []
    im.ok("SEARCH RETURN (SAVE) SEEN")
    # "$" in the same command refers to the previous result; SAVE then
    # replaces it.
    im.ok("UID SEARCH RETURN (SAVE) $ SUBJECT alpha NOT 1")
    assert search(im, "$") == [5]
    lines = im.ok("STORE $ +FLAGS.SILENT (\\Flagged)")
    assert search(im, "FLAGGED") == [2, 5]
    im.ok("STORE $ -FLAGS.SILENT (\\Flagged)")
    assert search(im, "FLAGGED") == [2]
    # an empty result saves the empty set
    im.ok("SEARCH RETURN (SAVE) SUBJECT nothere")
    assert search(im, "$") == []
    lines = im.ok("FETCH $ (UID)")
    assert not starting(lines, "* "), lines
    # a new SELECT forgets it
    im.ok("SEARCH RETURN (SAVE) ALL")
    im.ok("SELECT INBOX")
    assert search(im, "$") == []


def test_searchres_capability(server):
    im = Imap(server, "k2@example.test")
    caps = starting(im.ok("CAPABILITY"), "* CAPABILITY")[0].split()
    assert "SEARCHRES" in caps and "ESEARCH" in caps and "SORT" in caps
    im.close()


def test_sort_keys(box):
    im, info = box
    size = {seq: sz for seq, (u, sz) in info.items()}
    uid = {seq: u for seq, (u, sz) in info.items()}
    assert search(im, "(ARRIVAL) UTF-8 ALL", "SORT") == [4, 1, 2, 3, 5]
    assert search(im, "(REVERSE ARRIVAL) UTF-8 ALL", "SORT") == \
        [5, 3, 2, 1, 4]
    # Date: as UTC instants; message 5 has none: its internal date counts
    assert search(im, "(DATE) UTF-8 ALL", "SORT") == [4, 2, 1, 3, 5]
    assert search(im, "(REVERSE DATE) UTF-8 ALL", "SORT") == [5, 3, 1, 2, 4]
    # base subjects: "alpha report" x2, "beta attached", "Äpfel ...",
    # "Привет мир" (octet order after ASCII case folding)
    assert search(im, "(SUBJECT) UTF-8 ALL", "SORT") == [1, 5, 4, 2, 3]
    assert search(im, "(SUBJECT REVERSE ARRIVAL) UTF-8 ALL", "SORT") == \
        [5, 1, 4, 2, 3]
    assert search(im, "(REVERSE SUBJECT) UTF-8 ALL", "SORT") == \
        [3, 2, 4, 1, 5]
    # first From / To / Cc mailbox (addr-mailbox); missing Cc is ""
    assert search(im, "(FROM) UTF-8 ALL", "SORT") == [1, 5, 3, 2, 4]
    assert search(im, "(TO) UTF-8 ALL", "SORT") == [4, 5, 1, 3, 2]
    assert search(im, "(CC) UTF-8 ALL", "SORT") == [2, 4, 5, 1, 3]
    assert search(im, "(REVERSE CC ARRIVAL) UTF-8 ALL", "SORT") == \
        [3, 1, 4, 2, 5]
    want = sorted(size, key=lambda s: (size[s], s))
    assert search(im, "(SIZE) UTF-8 ALL", "SORT") == want
    assert search(im, "(REVERSE SIZE) UTF-8 ALL", "SORT") == \
        sorted(size, key=lambda s: (-size[s], s))
    assert search(im, "(SUBJECT) UTF-8 SEEN", "SORT") == [1, 5]
    assert search(im, "(SUBJECT) US-ASCII OR FLAGGED DELETED", "SORT") == \
        [2, 3]
    assert search(im, "(ARRIVAL) UTF-8 ALL", "UID SORT") == \
        [uid[s] for s in (4, 1, 2, 3, 5)]
    assert search(im, "(SUBJECT) UTF-8 SUBJECT %s" % lit("ПРИВЕТ"),
                  "SORT") == [3]
    for bad in ("(BOGUS) UTF-8 ALL", "() UTF-8 ALL", "(REVERSE) UTF-8 ALL",
                "SUBJECT UTF-8 ALL", "(SUBJECT) UTF-8"):
        st, _, tagged = im.cmd("SORT " + bad)
        assert st == "BAD", (bad, tagged)
    st, _, tagged = im.cmd("SORT (SUBJECT) X-UNKNOWN ALL")
    assert st == "NO" and "BADCHARSET" in tagged, tagged


BASE_SUBJECTS = [
    ("Re: [list] Fwd: x", "x"),
    ("RE: re: x", "x"),
    ("Re[2]: x", "x"),
    ("[Fwd: x]", "x"),
    ("x (fwd)", "x"),
    ("Fwd: [a] [b] Re: x (fwd) (FWD)", "x"),
    ("  Re:   x  ", "x"),
]


def test_sort_base_subject(server):
    """RFC 5256 §2.1: each subject reduces to "x" and sorts equal to it, so
    SUBJECT then ARRIVAL keeps them in arrival order before "y"."""
    im = Imap(server, "k2@example.test")
    im.ok("CREATE Base")
    im.ok('APPEND Base "01-Jan-2020 00:00:00 +0000" %s' %
          lit("Subject: y\r\n\r\nb\r\n"))
    for i, (subj, _) in enumerate(BASE_SUBJECTS):
        im.ok('APPEND Base "%02d-Feb-2020 00:00:00 +0000" %s' %
              (i + 1, lit("Subject: %s\r\n\r\nb\r\n" % subj)))
    im.ok("SELECT Base")
    n = len(BASE_SUBJECTS)
    assert search(im, "(SUBJECT ARRIVAL) UTF-8 ALL", "SORT") == \
        list(range(2, n + 2)) + [1]
    assert search(im, "(SUBJECT REVERSE ARRIVAL) UTF-8 ALL", "SORT") == \
        list(range(n + 1, 1, -1)) + [1]
    im.close()


def test_utf8_accept(server):
    """RFC 6855: ENABLE UTF8=ACCEPT, a UTF-8 mailbox name, APPEND with the
    UTF8 (~{n}) data item and raw UTF-8 headers, then searching them."""
    im = Imap(server, "k2@example.test")
    # the UTF8 data item needs UTF8=ACCEPT enabled first
    st, _, tagged = im.cmd("APPEND INBOX UTF8 (~{12+}\r\nSubject: x\r\n)")
    assert st == "BAD", tagged
    lines = im.ok("ENABLE UTF8=ACCEPT")
    assert "* ENABLED UTF8=ACCEPT" in lines, lines
    im.ok('CREATE "Grüße"')
    lines = im.ok('LIST "" "Gr*"')
    assert any('"Grüße"' in l or " Grüße" in l for l in lines), lines
    msg = ("From: Jürgen <jürgen@bücher.test>\r\n"
           "To: bob@b.test\r\n"
           "Subject: Grüße aus Köln\r\n"
           "\r\n"
           "Schöne Grüße\r\n").encode()
    tag = "t%d" % (next(im.tags) + 1)
    im.c.line(b"%s APPEND \"Gr\xc3\xbc\xc3\x9fe\" (\\Seen) UTF8 (~{%d+}\r\n"
              % (tag.encode(), len(msg)) + msg + b")")
    while True:
        ln = im.read_response()
        if ln.startswith(tag + " "):
            break
    assert ln.startswith(tag + " OK"), ln
    im.ok('SELECT "Grüße"')
    assert search(im, "SUBJECT %s" % lit("KÖLN")) == [1]
    # RFC 6855 §3 and erratum 4029: no CHARSET on SEARCH, only UTF-8
    # on SORT, once UTF8=ACCEPT is enabled
    st, _, tagged = im.cmd("SEARCH CHARSET UTF-8 SUBJECT x")
    assert st == "BAD", tagged
    st, _, tagged = im.cmd("SORT (SUBJECT) US-ASCII ALL")
    assert st == "BAD", tagged
    assert search(im, "(SUBJECT) UTF-8 SUBJECT %s" % lit("köln"),
                  "SORT") == [1]
    assert search(im, 'FROM "jürgen@bücher"') == [1]
    assert search(im, 'BODY "schöne"') == [1]
    lines = im.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert "Grüße aus Köln" in lines[0], lines
    im.close()


def test_search_decoding_edges(server):
    """Encoded words split over folded lines, lower-case charset and
    encoding names, Q's "_", windows-1252 quoted-printable, KOI8-R base64
    in a multipart/alternative, an embedded message/rfc822, and a
    synchronizing literal for the search string."""
    im = Imap(server, "k2@example.test")
    im.ok("CREATE Edges")
    msgs = [
        "Subject: =?UTF-8?Q?Gr=C3=BC?=\r\n =?utf-8?q?=C3=9Fe_vom?= See\r\n"
        "\r\nx\r\n",
        "Subject: plain\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=windows-1252\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Preis: 5 =80, na=EFve\r\n",
        "Subject: alt\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative; boundary=zz\r\n\r\n"
        "--zz\r\nContent-Type: text/plain; charset=koi8-r\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
        "--zz\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>hypertext</p>\r\n--zz--\r\n"
        % base64.b64encode("Съешь же ещё этих булок".encode(
            "koi8-r")).decode(),
        "Subject: fwd\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=mm\r\n\r\n"
        "--mm\r\nContent-Type: text/plain\r\n\r\nsee inner\r\n"
        "--mm\r\nContent-Type: message/rfc822\r\n\r\n"
        "Subject: =?UTF-8?B?0LLQu9C+0LbQtdC90L3QvtC1?=\r\n\r\n"
        "innerbody text\r\n--mm--\r\n",
    ]
    for m in msgs:
        im.ok("APPEND Edges %s" % lit(m))
    im.ok("SELECT Edges")
    u = "CHARSET UTF-8 "
    assert search(im, u + "SUBJECT %s" % lit("grüße vom see")) == [1]
    assert search(im, u + "BODY %s" % lit("5 €, naïve")) == [2]
    assert search(im, u + "BODY %s" % lit("БУЛОК")) == [3]
    assert search(im, u + "BODY hypertext") == [3]
    assert search(im, u + "BODY innerbody") == [4]
    assert search(im, u + "TEXT %s" % lit("ВЛОЖЕННОЕ")) == [4]
    assert search(im, u + "SUBJECT %s" % lit("вложенное")) == []
    # a synchronizing literal: wait for the continuation
    text = "ещё".encode()
    tag = "t%d" % (next(im.tags) + 1)
    im.c.line(b"%s SEARCH CHARSET UTF-8 BODY {%d}" % (tag.encode(),
                                                         len(text)))
    assert im.read_response().startswith("+")
    im.c.line(text)
    lines = []
    while True:
        ln = im.read_response()
        if ln.startswith(tag + " "):
            break
        lines.append(ln)
    assert ln.startswith(tag + " OK"), ln
    assert ints(lines) == [3]
    im.close()
