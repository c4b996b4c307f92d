#!/usr/bin/python3
"""Times the large-mailbox IMAP commands with Python's imaplib (the client
of issue 12's table). Driven by bench/run_imap_big.sh; usable alone:

    imap_big.py HOST PORT USER PASSWORD EXPECTED_MESSAGES [ROUNDS]

Over implicit TLS (certificate not checked: loopback, test certificate).
One SELECT warms the mailbox first (the table is warm: a second SELECT),
then every command is timed ROUNDS times, in the order of the table, and
one line per command is printed: "name<TAB>ms,ms,ms<TAB>check". STORE
+FLAGS and -FLAGS (\\Seen) make one row (their sum), so every round leaves
the flags as it found them. MODSEQ is asked on a second connection, so
CONDSTORE (RFC 7162 §3.1: enabled by the MODSEQ item) does not change the
other rows. "raw" rows read the reply as bytes without imaplib's parsing:
what the server costs, without the client's per-line work; "imaplib
parsing alone" feeds the FETCH 1:* (FLAGS) reply, read once, from memory to
imaplib's reader: the floor of the imaplib rows, which no server can beat
(it is most of them at 100,000 messages).

Every reply is checked (the number of FETCH lines, the tagged OK); a
failure exits non-zero. Bounded: ROUNDS <= 10, socket timeout 600 s.
"""
import imaplib
import io
import re
import ssl
import sys
import time

imaplib._MAXLINE = 64 * 1024 * 1024  # a SEARCH of 100,000 numbers is one line
TIMEOUT = 600


def connect(host, port, user, password):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    m = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=TIMEOUT)
    m.login(user, password)
    return m


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return (time.perf_counter() - t0) * 1000.0, r


def ok(r, what):
    if r[0] != "OK":
        raise SystemExit(f"imap_big: {what}: {r!r}")
    return r[1]


def fetch_lines(data):
    """Number of FETCH responses in imaplib's data list."""
    head = re.compile(rb"^\d+ \(")
    return sum(1 for d in data if d is not None and
               head.match(d[0] if isinstance(d, tuple) else d))


def raw_bytes(m, command, tag=b"R0"):
    """Sends COMMAND with TAG and returns the whole reply as bytes, read
    until the tagged OK: the server's and the transport's time without
    imaplib's parsing. Exits on NO/BAD, a closed connection or the
    timeout."""
    m.sock.sendall(tag + b" " + command + b"\r\n")
    want = b"\r\n" + tag + b" "
    chunks, tail = [], b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        c = m.sock.recv(1 << 20)
        if not c:
            raise SystemExit("imap_big: connection closed")
        chunks.append(c)
        tail = (tail + c)[-256:]
        i = tail.find(want)
        if i >= 0 and tail.endswith(b"\r\n"):
            line = tail[i + 2:]
            if not line.startswith(tag + b" OK"):
                raise SystemExit(f"imap_big: {command!r}: {line!r}")
            return b"".join(chunks)
    raise SystemExit("imap_big: raw read timed out")


def raw(m, command):
    """The number of FETCH responses to COMMAND, read as raw bytes."""
    tag = b"R" + str(int(time.monotonic_ns() % 1000000)).encode()
    return raw_bytes(m, command, tag).count(b" FETCH (")


def parse_only(m, reply):
    """imaplib's own work on REPLY, fed from memory: the client's floor
    for a command, whatever the server. Uses imaplib's internal reader
    (_get_response), as IMAP4._command_complete does."""
    tag = m._new_tag()
    data = reply.replace(b"\r\nR0 OK", b"\r\n" + tag + b" OK")
    saved = m.file
    m.file = io.BufferedReader(io.BytesIO(data))
    m.tagged_commands[tag] = None
    try:
        for _ in range(data.count(b"\r\n") + 1):
            m._get_response()
            if m.tagged_commands[tag] is not None:
                break
        typ, dat = m._untagged_response("OK", [None], "FETCH")
    finally:
        m.file = saved
        del m.tagged_commands[tag]
    return typ, dat


def main():
    if len(sys.argv) not in (6, 7):
        raise SystemExit(__doc__)
    host, port, user, password = sys.argv[1], int(sys.argv[2]), \
        sys.argv[3], sys.argv[4]
    n = int(sys.argv[5])
    rounds = int(sys.argv[6]) if len(sys.argv) == 7 else 3
    if not 1 <= rounds <= 10:
        raise SystemExit("imap_big: 1 <= ROUNDS <= 10")
    m = connect(host, port, user, password)
    cm = connect(host, port, user, password)
    got = int(ok(m.select("INBOX"), "SELECT")[0])
    if got != n:
        raise SystemExit(f"imap_big: INBOX holds {got}, expected {n}")
    ok(cm.select("INBOX"), "SELECT")
    last = f"{max(1, n - 49)}:{n}"
    reply = raw_bytes(m, b"FETCH 1:* (FLAGS)")
    rows = [
        ("SELECT", lambda: m.select("INBOX"),
         lambda r: int(r[1][0]) == n),
        ("FETCH 1:* (FLAGS)", lambda: m.fetch("1:*", "(FLAGS)"),
         lambda r: fetch_lines(r[1]) == n),
        ("UID FETCH 1:* (FLAGS)", lambda: m.uid("FETCH", "1:*", "(FLAGS)"),
         lambda r: fetch_lines(r[1]) == n),
        ("FETCH 1:* (UID FLAGS)", lambda: m.fetch("1:*", "(UID FLAGS)"),
         lambda r: fetch_lines(r[1]) == n),
        ("FETCH 1:* (FLAGS MODSEQ)",
         lambda: cm.fetch("1:*", "(FLAGS MODSEQ)"),
         lambda r: fetch_lines(r[1]) == n),
        ("FETCH 1:* (FLAGS), raw read",
         lambda: ("OK", raw(m, b"FETCH 1:* (FLAGS)")),
         lambda r: r[1] == n),
        ("imaplib parsing alone (FETCH 1:* (FLAGS) reply from memory)",
         lambda: parse_only(m, reply),
         lambda r: fetch_lines(r[1]) == n),
        ("FETCH last 50 (ENVELOPE)", lambda: m.fetch(last, "(ENVELOPE)"),
         lambda r: fetch_lines(r[1]) == min(50, n)),
        ("SEARCH UNSEEN", lambda: m.search(None, "UNSEEN"),
         lambda r: True),
        ("SEARCH SUBJECT (no match)",
         lambda: m.search(None, "SUBJECT", '"no-such-subject-zq"'),
         lambda r: r[1][0].strip() == b""),
        ("SEARCH BODY (no match)",
         lambda: m.search(None, "BODY", '"no-such-body-zq"'),
         lambda r: r[1][0].strip() == b""),
    ]
    out = {}
    for _ in range(rounds):
        for name, fn, check in rows:
            ms, r = timed(fn)
            if r[0] != "OK" or not check(r):
                raise SystemExit(f"imap_big: {name}: unexpected reply "
                                 f"{str(r)[:300]}")
            out.setdefault(name, []).append(ms)
        ms1, r1 = timed(lambda: m.store("1:*", "+FLAGS", "(\\Seen)"))
        ms2, r2 = timed(lambda: m.store("1:*", "-FLAGS", "(\\Seen)"))
        ok(r1, "STORE +FLAGS")
        ok(r2, "STORE -FLAGS")
        out.setdefault("STORE 1:* +FLAGS / -FLAGS (\\Seen)", []).append(
            ms1 + ms2)
    for name, v in out.items():
        print(f"{name}\t{','.join(f'{x:.1f}' for x in v)}")
    for c in (m, cm):
        c.logout()


if __name__ == "__main__":
    main()
