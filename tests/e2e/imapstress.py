#!/usr/bin/env python3
"""imapstress: concurrent IMAP sessions on shared mailboxes, every reply
checked against a model (issue 11, "Done when").

Each client is one IMAPS session of the same user looping over a random
mix: SELECT (then FETCH 1:* (UID FLAGS) to learn the view), FETCH of a
message with its body, STORE of a keyword, STORE \\Deleted + EXPUNGE,
APPEND, COPY, IDLE, NOOP, on two shared mailboxes. Per session the model
is the view the client was told of (sequence number -> UID, flags, the
announced FLAGS); globally, the content token of every (mailbox, UID)
learnt from APPENDUID and COPYUID. Counted as an error:
- a tagged NO or BAD (FETCH of a message expunged by another session
  must be answered with its data; STORE may answer NO for one);
- EXISTS that shrinks the view, EXPUNGE of a number outside it, EXPUNGE
  while a FETCH, STORE or SEARCH runs (RFC 9051 §7.5.1);
- a FETCH of a number outside the view, a UID other than the one the
  number had, UIDs not ascending with the numbers;
- a keyword in FETCH FLAGS not announced in FLAGS before (RFC 9051
  §7.3.5);
- a FETCH that does not return every asked number with its body, or a
  body whose token is not the one stored under that UID;
- a SELECT whose EXISTS differs from the FETCH 1:* that follows.
Prints one line: clients=, seconds=, commands=, errors=, then per command
counts, and the first errors. Exit status 1 when errors > 0.

Usage: imapstress.py --port N [--host H] --user U --password P
       [--clients 20] [--seconds 60] [--seed S]
   or: imapstress.py --launch [...]  (starts postel from POSTEL_BIN with a
       test configuration, as tests/e2e does)
"""

import argparse
import os
import random
import re
import socket
import ssl
import sys
import threading
import time
import uuid

BOXES = ("stress-a", "stress-b")
KEYWORDS = ["$kw%d" % i for i in range(12)]
IO_TIMEOUT = 30.0

_LIT = re.compile(rb"~?\{(\d+)\+?\}\r\n$")
_FETCH = re.compile(rb"^\* (\d+) FETCH \((.*)\)$", re.S)
_NUM = re.compile(rb"^\* (\d+) (EXISTS|EXPUNGE|RECENT)$")
_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_UID = re.compile(rb"(?:^| )UID (\d+)")
_TOKEN = re.compile(rb"Subject: (stress-[0-9a-f]+)")


class Shared:
    """What every client learns: content tokens by (mailbox, UID)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = {}
        self.errors = []
        self.n_errors = 0
        self.counts = {}

    def error(self, client, what):
        with self.lock:
            self.n_errors += 1
            if len(self.errors) < 30:
                self.errors.append("c%d: %s" % (client, what))

    def count(self, op):
        with self.lock:
            self.counts[op] = self.counts.get(op, 0) + 1

    def put(self, box, uid, token):
        with self.lock:
            self.tokens[(box, uid)] = token

    def get(self, box, uid):
        with self.lock:
            return self.tokens.get((box, uid))


class Conn:
    def __init__(self, host, port):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection((host, port), timeout=IO_TIMEOUT)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("server closed the connection")
        self.buf += d

    def line(self):
        """One response line, literals inlined, without the final CRLF."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            i = self.buf.index(b"\r\n") + 2
            ln, self.buf = self.buf[:i], self.buf[i:]
            out += ln
            m = _LIT.search(ln)
            if not m:
                return out[:-2]
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            out += self.buf[:n]
            self.buf = self.buf[n:]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Client:
    def __init__(self, cid, args, shared, deadline):
        self.id = cid
        self.args = args
        self.sh = shared
        self.deadline = deadline
        self.rng = random.Random(args.seed * 1000 + cid)
        self.tag = 0
        self.box = None
        self.uids = []      # sequence number - 1 -> UID (None: unknown)
        self.flags = {}     # UID -> set of flags
        self.known = set()  # keywords announced in FLAGS
        self.cmd = None     # the command running (its name)

    def err(self, what):
        self.sh.error(self.id, "%s [%s in %s]" % (what, self.cmd, self.box))

    # ---- responses -----------------------------------------------------

    def untagged(self, ln):
        m = _NUM.match(ln)
        if m:
            n, what = int(m.group(1)), m.group(2)
            if what == b"EXISTS":
                if n < len(self.uids):
                    self.err("EXISTS %d below %d" % (n, len(self.uids)))
                self.uids.extend([None] * (n - len(self.uids)))
            elif what == b"EXPUNGE":
                if self.cmd in ("FETCH", "STORE", "SEARCH"):
                    self.err("EXPUNGE during %s" % self.cmd)
                if not 1 <= n <= len(self.uids):
                    self.err("EXPUNGE %d outside 1..%d" % (n, len(self.uids)))
                else:
                    uid = self.uids.pop(n - 1)
                    self.flags.pop(uid, None)
            return None
        if ln.startswith(b"* FLAGS ("):
            self.known = set(f for f in ln[9:-1].decode().split()
                             if not f.startswith("\\"))
            return None
        m = _FETCH.match(ln)
        if m:
            return self.fetch_resp(int(m.group(1)), m.group(2))
        return None

    def fetch_resp(self, seq, body):
        if not 1 <= seq <= len(self.uids):
            self.err("FETCH %d outside 1..%d" % (seq, len(self.uids)))
            return None
        lit = body.find(b"{")
        head = body if lit < 0 else body[:lit]
        m = _UID.search(head)
        if m:
            uid = int(m.group(1))
            have = self.uids[seq - 1]
            if have is not None and have != uid:
                self.err("FETCH %d UID %d, was UID %d" % (seq, uid, have))
            self.uids[seq - 1] = uid
            for k in (seq - 2, seq):
                if 0 <= k < len(self.uids) and self.uids[k] is not None:
                    if (k < seq - 1) != (self.uids[k] < uid):
                        self.err("UIDs not ascending at %d" % seq)
        m = _FLAGS.search(head)
        if m:
            fl = set(m.group(1).decode().split())
            for f in fl:
                if not f.startswith("\\") and f not in self.known:
                    self.err("keyword %s not announced in FLAGS" % f)
            if self.uids[seq - 1] is not None:
                self.flags[self.uids[seq - 1]] = fl
        return seq, body

    def run_cmd(self, text, literal=None):
        """(status, tagged line, fetch responses [(seq, body)])."""
        self.tag += 1
        tag = b"s%d" % self.tag
        data = tag + b" " + text
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.conn.send(data + b"\r\n")
        fetches = []
        while True:
            ln = self.conn.line()
            if ln.startswith(tag + b" "):
                st = ln.split(b" ", 2)[1].decode()
                self.sh.count(self.cmd)
                return st, ln, fetches
            if ln.startswith(b"* "):
                f = self.untagged(ln)
                if f is not None:
                    fetches.append(f)

    def ok(self, text, literal=None, allow_no=False):
        st, tagged, fetches = self.run_cmd(text, literal)
        if st != "OK" and not (allow_no and st == "NO"):
            self.err("%s answered %r" % (text[:40], tagged[:120]))
        return st, tagged, fetches

    # ---- operations ----------------------------------------------------

    def op_select(self):
        self.cmd = "SELECT"
        self.box = self.rng.choice(BOXES)
        self.uids, self.flags, self.known = [], {}, set()
        st, _, _ = self.ok(b"SELECT " + self.box.encode())
        exists = len(self.uids)
        if st != "OK" or exists == 0:
            return
        self.cmd = "FETCH"
        st, _, f = self.ok(b"FETCH 1:* (UID FLAGS)")
        if st == "OK" and len(f) < exists:
            self.err("FETCH 1:* gave %d of %d" % (len(f), exists))

    def op_fetch(self):
        if not self.uids:
            return
        self.cmd = "FETCH"
        # Wide ranges: likely to include what another session has just
        # expunged and this one has not been told of yet.
        seq = self.rng.randint(1, len(self.uids))
        if self.rng.random() < 0.5:
            seq = 1
        hi = min(len(self.uids), seq + self.rng.randint(0, 30))
        st, _, f = self.ok(b"FETCH %d:%d (UID FLAGS BODY.PEEK[])" % (seq, hi))
        if st != "OK":
            return
        got = {s: b for s, b in f if b"BODY[] " in b}
        for s in range(seq, hi + 1):
            if s not in got:
                self.err("FETCH %d: no body" % s)
                continue
            m = _TOKEN.search(got[s])
            uid = self.uids[s - 1] if s <= len(self.uids) else None
            want = self.sh.get(self.box, uid) if uid else None
            if m is None:
                self.err("FETCH %d: body without token" % s)
            elif want is not None and m.group(1).decode() != want:
                self.err("FETCH %d UID %s: token %s, stored %s" %
                         (s, uid, m.group(1).decode(), want))

    def op_store_kw(self):
        if not self.uids:
            return
        self.cmd = "STORE"
        seq = self.rng.randint(1, len(self.uids))
        kw = self.rng.choice(KEYWORDS)
        st, _, f = self.ok(b"STORE %d +FLAGS (%s)" % (seq, kw.encode()),
                           allow_no=True)
        if st == "OK" and not any(kw.encode() in b for s, b in f if s == seq):
            # Expunged by another session meanwhile: nothing to show.
            pass

    def op_expunge(self):
        if not self.uids:
            return
        self.cmd = "STORE"
        seq = self.rng.randint(1, len(self.uids))
        hi = min(len(self.uids), seq + self.rng.randint(0, 3))
        self.ok(b"STORE %d:%d +FLAGS.SILENT (\\Deleted)" % (seq, hi),
                allow_no=True)
        self.cmd = "EXPUNGE"
        self.ok(b"EXPUNGE")

    def op_append(self):
        self.cmd = "APPEND"
        box = self.rng.choice(BOXES)
        token = "stress-" + uuid.uuid4().hex[:16]
        msg = ("From: a@example.test\r\nTo: b@example.test\r\n"
               "Subject: %s\r\n\r\nbody of %s\r\n" % (token, token)).encode()
        st, tagged, _ = self.ok(b"APPEND " + box.encode(), msg)
        m = re.search(rb"APPENDUID \d+ (\d+)", tagged)
        if st == "OK" and m:
            self.sh.put(box, int(m.group(1)), token)
        elif st == "OK":
            self.err("APPEND without APPENDUID")

    def op_copy(self):
        if not self.uids:
            return
        self.cmd = "COPY"
        seq = self.rng.randint(1, len(self.uids))
        src_uid = self.uids[seq - 1]
        dst = self.rng.choice(BOXES)
        st, tagged, _ = self.ok(b"COPY %d %s" % (seq, dst.encode()))
        m = re.search(rb"COPYUID \d+ (\d+) (\d+)\]", tagged)
        if st == "OK" and m and src_uid is not None:
            token = self.sh.get(self.box, src_uid)
            if int(m.group(1)) != src_uid:
                self.err("COPYUID source %s, asked UID %d" %
                         (m.group(1).decode(), src_uid))
            elif token is not None:
                self.sh.put(dst, int(m.group(2)), token)

    def op_idle(self):
        self.cmd = "IDLE"
        self.tag += 1
        tag = b"s%d" % self.tag
        self.conn.send(tag + b" IDLE\r\n")
        ln = self.conn.line()
        while not ln.startswith(b"+"):
            if ln.startswith(tag):
                self.err("IDLE answered %r" % ln[:80])
                return
            self.untagged(ln)
            ln = self.conn.line()
        end = time.monotonic() + self.rng.uniform(0.05, 0.4)
        self.conn.sock.settimeout(0.05)
        try:
            while time.monotonic() < end:
                try:
                    while b"\r\n" not in self.conn.buf:
                        self.conn._fill()
                    self.untagged(self.conn.line())
                except (socket.timeout, ssl.SSLError):
                    pass
        finally:
            self.conn.sock.settimeout(IO_TIMEOUT)
        self.conn.send(b"DONE\r\n")
        while True:
            ln = self.conn.line()
            if ln.startswith(tag + b" "):
                if not ln.startswith(tag + b" OK"):
                    self.err("IDLE answered %r" % ln[:80])
                self.sh.count("IDLE")
                return
            self.untagged(ln)

    def op_noop(self):
        self.cmd = "NOOP"
        self.ok(b"NOOP")

    def run(self):
        ops = ([self.op_select] * 2 + [self.op_fetch] * 6 +
               [self.op_store_kw] * 4 + [self.op_expunge] * 2 +
               [self.op_append] * 4 + [self.op_copy] * 2 +
               [self.op_idle] * 2 + [self.op_noop] * 2)
        try:
            self.conn = Conn(self.args.host, self.args.port)
            self.conn.line()
            self.cmd = "LOGIN"
            self.ok(b'LOGIN "%s" "%s"' % (self.args.user.encode(),
                                          self.args.password.encode()))
            self.op_select()
            while time.monotonic() < self.deadline:
                self.rng.choice(ops)()
            self.cmd = "LOGOUT"
            self.ok(b"LOGOUT")
        except (OSError, ConnectionError, ValueError) as e:
            self.err("connection: %r" % e)
        finally:
            if hasattr(self, "conn"):
                self.conn.close()


def setup(args):
    """Creates the shared mailboxes (existing ones are fine) and fills
    them a little."""
    c = Client(-1, args, Shared(), 0)
    c.conn = Conn(args.host, args.port)
    c.conn.line()
    c.cmd = "LOGIN"
    c.ok(b'LOGIN "%s" "%s"' % (args.user.encode(), args.password.encode()))
    for b in BOXES:
        c.run_cmd(b"CREATE " + b.encode())
    c.conn.close()


def run(args):
    """Runs the stress; returns (errors, summary line, shared)."""
    setup(args)
    sh = Shared()
    start = time.monotonic()
    deadline = start + args.seconds
    clients = [Client(i, args, sh, deadline) for i in range(args.clients)]
    threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.seconds + 120)
        if t.is_alive():
            sh.error(-1, "a client did not finish")
    elapsed = time.monotonic() - start
    total = sum(sh.counts.values())
    line = ("clients=%d seconds=%.1f commands=%d errors=%d" %
            (args.clients, elapsed, total, sh.n_errors))
    line += " " + " ".join("%s=%d" % kv for kv in sorted(sh.counts.items()))
    return sh.n_errors, line, sh


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int)
    p.add_argument("--user", default="alice@example.test")
    p.add_argument("--password")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--launch", action="store_true",
                   help="start postel (POSTEL_BIN) as tests/e2e does")
    args = p.parse_args()
    args.clients = max(1, min(args.clients, 200))
    args.seconds = max(1.0, min(args.seconds, 3600.0))
    srv = None
    if args.launch:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from conftest import launch, finish  # noqa: E402
        srv = launch({}, None)
        args.host, args.port = srv.addr("imaps")
        args.password = srv.users[args.user]
    try:
        n, line, sh = run(args)
    finally:
        if srv is not None:
            from conftest import finish  # noqa: E402
            finish(srv)
    print(line)
    for e in sh.errors:
        print("error:", e)
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
