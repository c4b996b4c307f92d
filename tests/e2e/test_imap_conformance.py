"""IMAP behaviours a strict conformance suite checks (issue 11), each as a
raw exchange: atoms with every non-special character, NIL as an empty flag
list, syntax errors answered BAD before any other check, and 4294967295
read as a number rather than "*"."""

from conftest import unique
from imapraw import Imap, fill_box
from rawclient import RawClient

# RFC 9051 §9: every CHAR that is not an atom-special is an ATOM-CHAR, so
# this is one atom: a valid name that no mailbox has (it is not modified
# UTF-7 either: "&'+,-" decodes to nothing).
ODD_ATOM = "!#$&'+,-.0123456789:;<=>?@^_`|[}"


def box(server, tag, count=3):
    user = "alice@example.test"
    fill_box(server, user, count, unique(tag))
    # Another session claims the new messages, so FLAGS here are the
    # stored ones only (\Recent: test_imap_state.py).
    other = Imap(server, user)
    other.ok("SELECT INBOX")
    other.close()
    c = Imap(server, user)
    c.ok("SELECT INBOX")
    return c


def test_atom_of_every_atom_char_is_a_name(server):
    c = Imap(server, "alice@example.test")
    st, _, tagged = c.cmd("SELECT " + ODD_ATOM)
    assert st == "NO", tagged
    assert "NONEXISTENT" in tagged
    st, _, tagged = c.cmd("EXAMINE " + ODD_ATOM)
    assert st == "NO", tagged
    st, lines, tagged = c.cmd("STATUS %s (MESSAGES)" % ODD_ATOM)
    assert st == "NO", tagged
    # As a LIST pattern it is valid and matches nothing.
    st, lines, tagged = c.cmd('LIST "" ' + ODD_ATOM)
    assert st == "OK", tagged
    assert [l for l in lines if l.startswith("* LIST")] == []
    # It cannot be made: it is not modified UTF-7.
    st, _, tagged = c.cmd("CREATE " + ODD_ATOM)
    assert st == "NO", tagged
    assert "CANNOT" in tagged
    st, lines, _ = c.cmd('LIST "" *')
    assert not any(ODD_ATOM in l for l in lines), lines
    c.close()


def test_store_nil_is_an_empty_flag_list(server):
    c = box(server, "nil")
    c.ok("STORE 1 +FLAGS (\\Flagged $Label1)")
    lines = c.ok("STORE 1 +FLAGS NIL")
    assert any("FLAGS (\\Flagged $Label1)" in l for l in lines), lines
    lines = c.ok("STORE 1 -FLAGS NIL")
    assert any("FLAGS (\\Flagged $Label1)" in l for l in lines), lines
    lines = c.ok("FETCH 1 FLAGS")
    assert any("FLAGS (\\Flagged $Label1)" in l for l in lines), lines
    # Replacing with the empty list clears them.
    c.ok("STORE 1 FLAGS NIL")
    lines = c.ok("FETCH 1 FLAGS")
    assert any("FLAGS ()" in l for l in lines), lines
    # NIL among other flags is still not a flag.
    st, _, _ = c.cmd("STORE 1 +FLAGS \\Seen NIL")
    assert st == "BAD"
    c.close()


def test_syntax_error_is_bad_before_privacy(server):
    host, port = server.addr("imap")
    c = RawClient(host, port)
    assert c.read_line().startswith(b"* OK")
    for line, want in ((b"a LOGIN", b"a BAD"),
                       (b"b LOGIN onlyone", b"b BAD"),
                       (b"c AUTHENTICATE", b"c BAD"),
                       # Well formed: refused for want of TLS.
                       (b"d LOGIN user pass", b"d NO [PRIVACYREQUIRED]")):
        c.line(line)
        reply = c.read_line()
        assert reply.startswith(want), (line, reply)
    c.close()


def test_top_uid_is_a_number_not_star(server):
    c = box(server, "top", 3)
    lines = c.ok("UID SEARCH ALL")
    uids = [int(x) for x in lines[0].split()[2:]]
    top = max(uids)
    for q, want in (("UID SEARCH UID %d:4294967295" % (top + 1), []),
                    ("UID SEARCH UID 4294967295", []),
                    ("UID SEARCH UID %d:4294967295" % top, [top]),
                    ("UID SEARCH UID %d:*" % (top + 1), [top])):
        lines = c.ok(q)
        got = [int(x) for x in lines[0].split()[2:]]
        assert got == want, (q, lines)
    # FETCH by UID the same way: nothing past the top, no error.
    lines = c.ok("UID FETCH %d:4294967295 (FLAGS)" % (top + 1))
    assert [l for l in lines if " FETCH " in l] == []
    lines = c.ok("UID FETCH %d:* (FLAGS)" % (top + 1))
    assert len([l for l in lines if " FETCH " in l]) == 1
    # A message sequence number past the end is an error (RFC 9051 §9).
    st, _, _ = c.cmd("FETCH 1:4294967295 (FLAGS)")
    assert st == "BAD"
    c.close()


def test_search_from_address_and_name(server):
    c = Imap(server, "alice@example.test")
    token = unique("from")
    froms = ['"User From" <user-from@%s.org>' % token,
             "user-from@%s.org" % token,
             "=?utf-8?q?User_From?= <USER-FROM@%s.ORG>" % token,
             "other@%s.org" % token]
    for i, f in enumerate(froms):
        c.ok("APPEND INBOX", literal=("From: %s\r\nSubject: %s %d\r\n\r\n"
                                      "x\r\n" % (f, token, i)).encode())
    c.ok("SELECT INBOX")

    def search(q):
        lines = c.ok("SEARCH " + q)
        return len(lines[0].split()) - 2

    assert search("FROM user-from@%s.org" % token) == 3
    assert search('FROM "User From" SUBJECT %s' % token) == 2
    assert search("FROM %s.org" % token) == 4
    c.close()


def test_sort_collation_is_ascii_casemap(server):
    """RFC 5256 sorts with i;ascii-casemap (RFC 4790 §9.2.1): letters
    compare as upper case, so "[", "_" and "`" come after every letter."""
    c = Imap(server, "alice@example.test")
    box = unique("Sort")
    c.ok("CREATE " + box)
    rows = [("[list]", "b_user@x.org"), ("Re: aaa", "ba@x.org"),
            ("_under", "Zed <zz@x.org>"), ("Re: [x] Fwd: BBB (fwd)",
                                           "A <aa@x.org>, b@x.org")]
    for subject, cc in rows:
        c.ok("APPEND " + box, literal=("From: f@x.org\r\nCc: %s\r\n"
                                       "Subject: %s\r\n\r\nx\r\n"
                                       % (cc, subject)).encode())
    c.ok("SELECT " + box)
    # Base subjects: "[list]", "aaa", "_under", "BBB".
    assert c.ok("SORT (SUBJECT) UTF-8 ALL")[0] == "* SORT 2 4 1 3"
    # First Cc local parts: "b_user", "ba", "zz", "aa".
    assert c.ok("SORT (CC) UTF-8 ALL")[0] == "* SORT 4 2 1 3"
    assert c.ok("SORT (REVERSE CC) UTF-8 ALL")[0] == "* SORT 3 1 2 4"
    c.close()


def test_list_extended_subscriptions(server):
    """RFC 5258 §3 and RFC 3501 §6.3.9: listing by subscription shows a
    subscribed name whose mailbox is gone (\\NonExistent), a parent of a
    subscribed child with CHILDINFO under RECURSIVEMATCH, and LSUB's "%"
    answers the level it stops at with \\Noselect."""
    c = Imap(server, "alice@example.test")
    top = unique("lx")
    for cmd in ("CREATE %s/a/b", "SUBSCRIBE %s/a/b", "CREATE %s/gone",
                "SUBSCRIBE %s/gone", "DELETE %s/gone"):
        c.ok(cmd % top)
    lines = c.ok('LIST (SUBSCRIBED) "" "%s/*"' % top)
    assert '* LIST (\\NonExistent \\Subscribed) "/" "%s/gone"' % top \
        in lines, lines
    assert any(l.endswith('"%s/a/b"' % top) and "\\Subscribed" in l
               for l in lines), lines
    # Without the SUBSCRIBED selection the gone mailbox is not listed.
    lines = c.ok('LIST "" "%s/*" RETURN (SUBSCRIBED)' % top)
    assert not any("gone" in l for l in lines), lines
    lines = c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%s/%%"' % top)
    assert any(l.startswith("* LIST (") and '"%s/a"' % top in l and
               l.endswith('("CHILDINFO" ("SUBSCRIBED"))') and
               "\\Subscribed" not in l for l in lines), lines
    lines = c.ok('LSUB "" "%s/%%"' % top)
    assert '* LSUB (\\Noselect) "/" "%s/a"' % top in lines, lines
    assert '* LSUB () "/" "%s/gone"' % top in lines, lines
    assert not any('"%s/a/b"' % top in l for l in lines), lines
    lines = c.ok('LSUB "" "%s/*"' % top)
    assert '* LSUB () "/" "%s/a/b"' % top in lines, lines
    assert not any(l.endswith('"%s/a"' % top) for l in lines), lines
    c.close()


def test_condstore_enabled_by_fetch_and_esearch_modseq(server):
    """RFC 7162 §3.1: the first CONDSTORE enabling command on a selected
    mailbox answers HIGHESTMODSEQ, and MODSEQ follows in later FETCHes;
    §3.1.5 with ESEARCH: MIN or MAX alone carries that message's MODSEQ,
    ALL/COUNT the highest of all."""
    c = Imap(server, "alice@example.test")
    name = unique("Cs")
    c.ok("CREATE " + name)
    for i in range(3):
        c.ok("APPEND " + name, literal=b"Subject: cs %d\r\n\r\nx\r\n" % i)
    c.ok("SELECT " + name)
    c.ok("STORE 1 +FLAGS (\\Flagged)")   # message 1: newest modseq
    lines = c.ok("FETCH 2 (MODSEQ)")
    assert any(l.startswith("* OK [HIGHESTMODSEQ ") for l in lines), lines
    # Only the first time.
    lines = c.ok("FETCH 2 (MODSEQ)")
    assert not any("HIGHESTMODSEQ" in l for l in lines), lines
    lines = c.ok("FETCH 1:* (FLAGS)")
    ms = {}
    for l in lines:
        n = int(l.split()[1])
        assert "MODSEQ (" in l, l
        ms[n] = int(l.split("MODSEQ (")[1].split(")")[0])
    top = max(ms.values())
    assert ms[1] == top
    got = c.ok("SEARCH RETURN (MAX) MODSEQ 1")[0]
    assert got.endswith("MAX 3 MODSEQ %d" % ms[3]), got
    got = c.ok("SEARCH RETURN (MIN) MODSEQ 1")[0]
    assert got.endswith("MIN 1 MODSEQ %d" % top), got
    got = c.ok("SEARCH RETURN (COUNT) MODSEQ 1")[0]
    assert got.endswith("COUNT 3 MODSEQ %d" % top), got
    c.close()


def test_new_keywords_are_announced_before_use(server):
    """RFC 9051 §7.3.5: FLAGS lists the flags that exist in the mailbox and
    is sent again (with PERMANENTFLAGS) when a keyword comes into use —
    from another session's STORE, this session's STORE, or an APPEND —
    before any response that shows the keyword."""
    a = Imap(server, "alice@example.test")
    b = Imap(server, "alice@example.test")
    name = unique("Kw")
    a.ok("CREATE " + name)
    a.ok("APPEND %s (old1)" % name, literal=b"Subject: k\r\n\r\nx\r\n")
    lines = a.ok("SELECT " + name)
    flags = [l for l in lines if l.startswith("* FLAGS (")]
    assert flags and "old1" in flags[0], lines
    b.ok("SELECT " + name)
    b.ok("STORE 1 +FLAGS ($Label1)")
    lines = a.ok("NOOP")
    i_flags = next(i for i, l in enumerate(lines) if l.startswith("* FLAGS"))
    i_fetch = next(i for i, l in enumerate(lines) if " FETCH " in l)
    assert i_flags < i_fetch, lines
    assert "$Label1" in lines[i_flags] and "old1" in lines[i_flags]
    assert any(l.startswith("* OK [PERMANENTFLAGS (") and "$Label1" in l
               for l in lines), lines
    # Known now: not announced again.
    b.ok("STORE 1 -FLAGS ($Label1)")
    b.ok("STORE 1 +FLAGS ($Label1)")
    assert not any(l.startswith("* FLAGS") for l in a.ok("NOOP"))
    # This session's own STORE of a new keyword.
    lines = a.ok("STORE 1 +FLAGS (mine2)")
    assert lines[0].startswith("* FLAGS (") and "mine2" in lines[0], lines
    assert " FETCH " in lines[-1] and "mine2" in lines[-1], lines
    # An APPEND with a new keyword: FLAGS before the EXISTS.
    b.ok("APPEND %s (fresh3)" % name, literal=b"Subject: k2\r\n\r\ny\r\n")
    lines = a.ok("NOOP")
    i_flags = next(i for i, l in enumerate(lines) if l.startswith("* FLAGS"))
    i_exists = next(i for i, l in enumerate(lines) if l.endswith(" EXISTS"))
    assert i_flags < i_exists and "fresh3" in lines[i_flags], lines
    a.close()
    b.close()
