"""FETCH end to end, byte for byte: every message of tests/mime-corpus is
APPENDed and its ENVELOPE, BODY and BODYSTRUCTURE compared with the expected
strings kept beside it; BODY[section]<partial> and BODY.PEEK for every
section kind (HEADER, HEADER.FIELDS(.NOT), TEXT, MIME, part numbers, nested
inside message/rfc822) compared with the bytes we sent; BINARY and
BINARY.SIZE (base64, quoted-printable, unknown CTE); RFC822(.HEADER/.TEXT/
.SIZE); INTERNALDATE; which items set \\Seen (RFC 9051 section 6.4.5)."""

import base64
import imaplib
import os
import quopri
import re
import time

import pytest

from imapraw import Imap

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(os.path.dirname(HERE), "mime-corpus")
NAMES = sorted(n[:-4] for n in os.listdir(CORPUS) if n.endswith(".eml"))
USERS = {"x%d@example.test" % i: "fetch-Secret-%d" % i for i in range(1, 9)}
SERVER_USERS = USERS

UNKNOWN_CTE = (b"From: a@example.org\r\nSubject: odd\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=q\r\n\r\n"
               b"--q\r\nContent-Type: text/plain\r\n"
               b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n"
               b"--q\r\nContent-Type: text/plain\r\n"
               b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
               b"caf=C3=A9 =\r\nsoft\r\n--q--\r\n")


def corpus(name):
    with open(os.path.join(CORPUS, name + ".eml"), "rb") as f:
        return f.read()


def expected(name, kind):
    with open(os.path.join(CORPUS, "%s.%s" % (name, kind)), "rb") as f:
        return f.read().rstrip(b"\n")


# -- a bytes-level client and a FETCH response parser -------------------------
class Raw(Imap):
    """The shared raw client (imapraw.py) in binary mode: exact bytes in
    and out, replies with literals inlined."""

    def __init__(self, server, user):
        super().__init__(server, user, binary=True)

    def fetch(self, seq, items):
        """{msn: {item name: value}} from the FETCH responses."""
        lines = self.ok("FETCH %s %s" % (seq, items))
        return fetch_map(lines)


def _atom(b, i):
    j = i
    while j < len(b) and b[j:j + 1] not in b" ()":
        if b[j:j + 1] == b"[":
            j = b.index(b"]", j)
        j += 1
    return b[i:j], j


def parse(b, i=0):
    """One value at b[i:]: (value, next index). Lists become lists,
    strings and literals bytes, NIL None, atoms str."""
    c = b[i:i + 1]
    if c == b"(":
        out, i = [], i + 1
        while b[i:i + 1] != b")":
            if b[i:i + 1] == b" ":
                i += 1
                continue
            v, i = parse(b, i)
            out.append(v)
        return out, i + 1
    if c == b'"':
        j, out = i + 1, b""
        while b[j:j + 1] != b'"':
            if b[j:j + 1] == b"\\":
                j += 1
            out += b[j:j + 1]
            j += 1
        return out, j + 1
    if c == b"{" or b[i:i + 2] == b"~{":
        j = b.index(b"}\r\n", i)
        n = int(b[b.index(b"{", i) + 1:j])
        return b[j + 3:j + 3 + n], j + 3 + n
    a, j = _atom(b, i)
    return (None if a == b"NIL" else a.decode()), j


def fetch_map(lines):
    out = {}
    for ln in lines:
        m = re.match(rb"\* (\d+) FETCH ", ln)
        if not m:
            continue
        lst, _ = parse(ln, m.end())
        d = out.setdefault(int(m.group(1)), {})
        for k in range(0, len(lst), 2):
            d[lst[k]] = lst[k + 1]
        # \Recent is this session's (RFC 3501 §2.3.2, test_imap_state.py),
        # not a stored flag these tests compare.
        if isinstance(d.get("FLAGS"), list):
            d["FLAGS"] = [f for f in d["FLAGS"] if f != "\\Recent"]
    return out


def raw_item(line, name):
    """The unparsed bytes of item name in a FETCH line (a list value)."""
    i = line.index(name.encode() + b" ") + len(name) + 1
    _, j = parse(line, i)
    return line[i:j]


# -- the reference section extractor (RFC 9051 section 6.4.5) ----------------
def split_entity(raw):
    """(header incl. the blank line, body) of a message or body part."""
    if raw.startswith(b"\r\n"):
        return b"\r\n", raw[2:]
    i = raw.find(b"\r\n\r\n")
    if i < 0:
        return raw, b""
    return raw[:i + 4], raw[i + 4:]


def ctype(header, default=b"text/plain"):
    m = re.search(rb"(?im)^content-type:\s*([\w-]+)/([\w.+-]+)"
                  rb"(.*(?:\r\n[ \t].*)*)", header)
    if not m:
        # RFC 2046 section 5.1.5: in a digest the default is a message
        return default, None
    bnd = re.search(rb'(?i)boundary="?([^";\r\n]+)"?', m.group(3))
    return (m.group(1) + b"/" + m.group(2)).lower(), \
        bnd.group(1) if bnd else None


def mp_parts(body, boundary):
    """The raw body parts of a multipart body: each from after its
    delimiter line to before the CRLF that precedes the next one."""
    delim = b"--" + boundary
    starts = [m for m in re.finditer(rb"(?m)^" + re.escape(delim) +
                                     rb"(--)?[ \t]*\r?$", body)]
    parts = []
    for k, m in enumerate(starts):
        if m.group(1):
            break
        s = m.end() + 1
        e = starts[k + 1].start() - 2 if k + 1 < len(starts) else len(body)
        parts.append(body[s:e])
    return parts


def section(msg, spec):
    """The bytes of BODY[spec] of message msg (CRLF line ends)."""
    hdr, body = split_entity(msg)
    mime = hdr
    nums = []
    rest = spec
    while rest and rest[0].isdigit():
        n, _, rest = rest.partition(".")
        nums.append(int(n))
    default = b"text/plain"
    for depth, n in enumerate(nums):
        ct, bnd = ctype(hdr, default)
        if ct.startswith(b"multipart/"):
            mime, body = split_entity(mp_parts(body, bnd)[n - 1])
            hdr = mime
            default = (b"message/rfc822" if ct == b"multipart/digest"
                       else b"text/plain")
        else:
            assert n == 1, spec
        ct, _ = ctype(hdr, default)
        default = b"text/plain"
        if ct == b"message/rfc822" and (depth + 1 < len(nums) or
                                        rest in ("HEADER", "TEXT")):
            hdr, body = split_entity(body)
    if rest == "":
        return body if nums else msg
    if rest == "MIME":
        return mime
    if rest == "HEADER":
        return hdr
    if rest == "TEXT":
        return body
    raise AssertionError(spec)


# -- tests ---------------------------------------------------------------------
def instant(date_time):
    tup = imaplib.Internaldate2tuple(b'INTERNALDATE "%s"' % date_time)
    assert tup is not None, date_time
    return time.mktime(tup)


def append_corpus(c, names):
    for n in names:
        c.ok("APPEND INBOX", corpus(n))


def test_corpus_envelope_body_bodystructure(server):
    c = Raw(server, "x1@example.test")
    append_corpus(c, NAMES)
    c.ok("SELECT INBOX")
    for i, n in enumerate(NAMES, 1):
        lines = c.ok("FETCH %d (ENVELOPE BODY BODYSTRUCTURE RFC822.SIZE)" % i)
        assert len(lines) == 1, lines
        ln = lines[0]
        assert raw_item(ln, "BODYSTRUCTURE") == expected(n, "bodystructure"), n
        assert raw_item(ln, "ENVELOPE") == expected(n, "envelope"), n
        assert raw_item(ln, "BODY") == expected(n, "body"), n
        assert fetch_map(lines)[i]["RFC822.SIZE"] == str(len(corpus(n))), n
        # the whole message comes back exactly as appended
        got = c.fetch(i, "(BODY.PEEK[])")[i]["BODY[]"]
        assert got == corpus(n), n
    c.close()


SECTIONS = {
    "rfc822-in-multipart": ["HEADER", "TEXT", "1", "1.MIME", "2", "2.MIME",
                            "2.HEADER", "2.TEXT", "2.1", "2.1.MIME", "2.2",
                            "2.2.MIME"],
    "nested": ["1", "1.MIME", "1.1", "1.1.MIME", "1.2", "2", "2.MIME",
               "TEXT"],
    "digest": ["1", "1.HEADER", "1.TEXT", "1.1", "2.HEADER", "3", "3.MIME"],
    "alternative": ["1", "1.MIME", "2", "2.MIME", "HEADER"],
    "simple": ["1", "HEADER", "TEXT"],
    "extension-fields": ["1", "HEADER", "TEXT"],
}


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_body_sections_match_sent_bytes(server, name):
    c = Raw(server, "x2@example.test")
    st, lines, _ = c.cmd("APPEND INBOX", corpus(name))
    assert st == "OK"
    uid = re.search(rb"APPENDUID \d+ (\d+)", _).group(1).decode()
    c.ok("SELECT INBOX")
    msg = corpus(name)
    for spec in SECTIONS[name]:
        want = section(msg, spec)
        got = c.ok("UID FETCH %s (BODY.PEEK[%s])" % (uid, spec))
        items = list(fetch_map(got).values())[0]
        assert items["BODY[%s]" % spec] == want, (name, spec)
        # partial: <origin.count>, the label gives the origin only
        got = fetch_map(c.ok("UID FETCH %s (BODY.PEEK[%s]<2.5>)" %
                             (uid, spec)))
        items = list(got.values())[0]
        assert items["BODY[%s]<2>" % spec] == want[2:7], (name, spec)
    c.close()


def test_header_fields_partial_and_rfc822_items(server):
    c = Raw(server, "x3@example.test")
    msg = corpus("simple")
    c.ok("APPEND INBOX (\\Flagged) \"07-Feb-1994 21:52:25 -0800\"", msg)
    c.ok("SELECT INBOX")
    hdr, text = split_entity(msg)
    d = c.fetch(1, "(BODY.PEEK[HEADER.FIELDS (SUBJECT from)])")[1]
    # field names are case-insensitive; the label may echo them uppercased
    assert {k.upper(): v for k, v in d.items()}[
        "BODY[HEADER.FIELDS (SUBJECT FROM)]"] == (
        b'From: "Alice Example" <alice@example.org>\r\n'
        b"Subject: Lunch\r\n on Friday?\r\n\r\n"), d
    d = c.fetch(1, "(BODY.PEEK[HEADER.FIELDS.NOT (Return-Path To Cc "
                   "Subject Date Message-ID In-Reply-To)])")[1]
    assert list(d.values())[0] == (
        b'From: "Alice Example" <alice@example.org>\r\n'
        b"MIME-Version: 1.0\r\n\r\n"), d
    d = c.fetch(1, "(BODY.PEEK[HEADER.FIELDS (X-None)])")[1]
    assert list(d.values())[0] == b"\r\n"
    # header-fld-name is an astring: literals too, synchronising (the
    # server asks for it with "+") or LITERAL+ (RFC 7888).
    want = (b'From: "Alice Example" <alice@example.org>\r\n'
            b"Subject: Lunch\r\n on Friday?\r\n\r\n")
    c.c.send(b"lit1 FETCH 1 (BODY.PEEK[HEADER.FIELDS ({7}\r\n")
    assert c.read_response().startswith(b"+")
    c.c.send(b"SUBJECT {4+}\r\nFrom)])\r\n")
    lines = []
    while True:
        ln = c.read_response()
        if ln.startswith(b"lit1 "):
            break
        lines.append(ln)
    assert ln.startswith(b"lit1 OK"), (lines, ln)
    d = fetch_map(lines)[1]
    assert d["BODY[HEADER.FIELDS (SUBJECT FROM)]"] == want, d
    # A literal that is not a field name is still a BAD.
    c.c.send(b"lit2 FETCH 1 (BODY.PEEK[HEADER.FIELDS ({3+}\r\na:b)])\r\n")
    assert c.read_response().startswith(b"lit2 BAD")
    # partial past the end is empty, a count past the end is truncated
    d = c.fetch(1, "(BODY.PEEK[]<100000.10> BODY.PEEK[TEXT]<3.100000>)")[1]
    assert d["BODY[]<100000>"] == b"" and d["BODY[TEXT]<3>"] == text[3:]
    d = c.fetch(1, "(RFC822.HEADER RFC822.SIZE INTERNALDATE FLAGS)")[1]
    assert d["RFC822.HEADER"] == hdr
    assert d["RFC822.SIZE"] == str(len(msg))
    # the same instant as given to APPEND (the zone may be normalised)
    assert instant(d["INTERNALDATE"]) == instant(b"07-Feb-1994 21:52:25 -0800")
    assert d["FLAGS"] == ["\\Flagged"], "RFC822.HEADER must not set \\Seen"
    d = c.fetch(1, "(RFC822.TEXT)")[1]
    assert d["RFC822.TEXT"] == text
    assert "\\Seen" in d["FLAGS"], "RFC822.TEXT sets \\Seen with FLAGS"
    d = c.fetch(1, "(RFC822)")[1]
    assert d["RFC822"] == msg
    # the FETCH macros
    d = c.fetch(1, "FAST")[1]
    assert set(d) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}, d
    d = c.fetch(1, "ALL")[1]
    assert set(d) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}
    d = c.fetch(1, "FULL")[1]
    assert set(d) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
                      "BODY"}
    c.close()


def test_binary_decodes_and_sizes(server):
    c = Raw(server, "x4@example.test")
    for n in ("nested", "alternative", "rfc822-in-multipart"):
        c.ok("APPEND INBOX", corpus(n))
    c.ok("APPEND INBOX", UNKNOWN_CTE)
    c.ok("SELECT INBOX")
    d = c.fetch(1, "(BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1.1])")[1]
    assert d["BINARY[2]"] == base64.b64decode(b"JVBERi0xLjQK")
    assert d["BINARY.SIZE[2]"] == str(len(base64.b64decode(b"JVBERi0xLjQK")))
    assert d["BINARY[1.1]"] == b"plain text"
    d = c.fetch(1, "(BINARY.PEEK[2]<1.3>)")[1]
    assert d["BINARY[2]<1>"] == base64.b64decode(b"JVBERi0xLjQK")[1:4]
    want = quopri.decodestring(b"Gr=C3=BC=C3=9Fe")
    d = c.fetch(2, "(BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[2])")[2]
    assert d["BINARY[1]"] == want and d["BINARY.SIZE[1]"] == str(len(want))
    assert d["BINARY[2]"] == b"<p>" + want + b"</p>"
    # base64 inside a message/rfc822 part
    d = c.fetch(3, "(BINARY.PEEK[2.2] BINARY.SIZE[2.2])")[3]
    assert d["BINARY[2.2]"] == base64.b64decode(b"iVBORw0KGgo=")
    d = c.fetch(4, "(BINARY.PEEK[2])")[4]
    assert d["BINARY[2]"] == "café soft".encode()
    st, lines, tagged = c.cmd("FETCH 4 (BINARY.PEEK[1])")
    assert st == "NO" and b"[UNKNOWN-CTE]" in tagged, tagged
    st, lines, tagged = c.cmd("FETCH 4 (BINARY.SIZE[1])")
    assert st == "NO" and b"[UNKNOWN-CTE]" in tagged, tagged
    d = c.fetch("1:4", "(FLAGS)")
    assert all("\\Seen" not in v["FLAGS"] for v in d.values()), d
    d = c.fetch(2, "(BINARY[1])")[2]
    assert "\\Seen" in d["FLAGS"], "non-PEEK BINARY sets \\Seen"
    c.close()


@pytest.mark.parametrize("item,seen", [
    ("BODY.PEEK[]", False), ("BODY.PEEK[TEXT]", False),
    ("BINARY.PEEK[1]", False), ("RFC822.HEADER", False),
    ("RFC822.SIZE", False), ("ENVELOPE", False), ("BODYSTRUCTURE", False),
    ("BINARY.SIZE[1]", False),
    ("BODY[]", True), ("BODY[HEADER]", True), ("BODY[1]", True),
    ("BODY[TEXT]<0.1>", True), ("BINARY[1]", True), ("RFC822", True),
    ("RFC822.TEXT", True),
])
def test_seen_only_by_non_peek(server, item, seen):
    c = Raw(server, "x5@example.test")
    c.ok("SELECT INBOX")
    st, _, tagged = c.cmd("APPEND INBOX", corpus("simple"))
    uid = re.search(rb"APPENDUID \d+ (\d+)", tagged).group(1).decode()
    lines = c.ok("UID FETCH %s (%s)" % (uid, item))
    d = list(fetch_map(lines).values())[0]
    if seen:
        assert "\\Seen" in d.get("FLAGS", []), (item, d)
    else:
        assert "FLAGS" not in d, (item, d)
    d = list(fetch_map(c.ok("UID FETCH %s (FLAGS)" % uid)).values())[0]
    assert ("\\Seen" in d["FLAGS"]) == seen, (item, d)
    # EXAMINE never sets \Seen (RFC 9051 section 6.3.3)
    c.ok("EXAMINE INBOX")
    c.ok("APPEND INBOX", corpus("simple"))
    c.ok("EXAMINE INBOX")
    lines = c.ok("FETCH * (%s)" % item)
    d = list(fetch_map(c.ok("FETCH * (FLAGS)")).values())[0]
    assert "\\Seen" not in d["FLAGS"], (item, d)
    c.close()


def test_fetch_errors(server):
    c = Raw(server, "x6@example.test")
    c.ok("APPEND INBOX", corpus("simple"))
    c.ok("SELECT INBOX")
    for bad in ("FETCH 1 (BODY[0])", "FETCH 1 (BODY[1.0])",
                "FETCH 1 (BODY[HEADER.FIELDS])", "FETCH 1 (BODY[FOO])",
                "FETCH 1 (NOSUCHITEM)", "FETCH 1 (BODY[]<1>)",
                "FETCH 1 BODY[", "FETCH 1 (FLAGS", "FETCH 0 FLAGS",
                "FETCH a:b FLAGS", "FETCH 1,,2 FLAGS", "FETCH",
                "FETCH 1 ()"):
        st, lines, tagged = c.cmd(bad)
        assert st == "BAD", (bad, tagged)
    # a part that does not exist is empty (RFC 9051 leaves it to the
    # server; we answer NIL or an empty string, never an error)
    st, lines, tagged = c.cmd("FETCH 1 (BODY.PEEK[5])")
    assert st == "OK", (lines, tagged)
    assert len(lines) == 1 and re.match(
        rb'\* 1 FETCH \(BODY\[5\] (NIL|""|\{0\}\r\n)\)$', lines[0]), lines
    st, lines, tagged = c.cmd("FETCH 2 FLAGS")
    assert st in ("BAD", "NO"), tagged
    c.close()


def test_header_fields_of_embedded_message(server):
    c = Raw(server, "x7@example.test")
    c.ok("APPEND INBOX", corpus("rfc822-in-multipart"))
    c.ok("SELECT INBOX")
    d = c.fetch(1, "(BODY.PEEK[2.HEADER.FIELDS (Subject Date)] "
                   "BODY.PEEK[2.HEADER.FIELDS.NOT (Subject Date From To "
                   "Message-ID MIME-Version)])")[1]
    d = {k.upper(): v for k, v in d.items()}
    assert d["BODY[2.HEADER.FIELDS (SUBJECT DATE)]"] == (
        b"Subject: photo\r\nDate: Wed, 2 Mar 2022 08:00:00 +0100\r\n\r\n")
    assert d["BODY[2.HEADER.FIELDS.NOT (SUBJECT DATE FROM TO MESSAGE-ID "
             "MIME-VERSION)]"] == (
        b'Content-Type: multipart/mixed; boundary="b2"\r\n\r\n')
    c.close()


def test_binary_literal8_whole_message_and_errors(server):
    blob = b"\x00\x01binary\xff\r\nmore"
    nul = (b"From: a@example.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" +
           base64.b64encode(blob) + b"\r\n")
    c = Raw(server, "x8@example.test")
    c.ok("APPEND INBOX", nul)
    c.ok("SELECT INBOX")
    # decoded data with NUL goes out as literal8 (RFC 3516 section 4.2)
    lines = c.ok("FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])")
    assert b"BINARY[1] ~{%d}\r\n" % len(blob) in lines[0], lines
    d = fetch_map(lines)[1]
    assert d["BINARY[1]"] == blob and d["BINARY.SIZE[1]"] == str(len(blob))
    # BINARY[] is the whole message, unchanged
    d = c.fetch(1, "(BINARY.PEEK[] BINARY.SIZE[])")[1]
    assert d["BINARY[]"] == nul and d["BINARY.SIZE[]"] == str(len(nul))
    for bad in ("FETCH 1 (BINARY.PEEK[TEXT])", "FETCH 1 (BINARY[HEADER])",
                "FETCH 1 (BINARY.PEEK[1.MIME])", "FETCH 1 (BINARY.SIZE[1]<0.2>)",
                "FETCH 1 (BODY.PEEK[]<0.0>)"):
        st, _, tagged = c.cmd(bad)
        assert st == "BAD", (bad, tagged)
    c.close()
