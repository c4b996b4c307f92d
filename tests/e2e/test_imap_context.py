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
