"""Positive synchronisation on the server's log, for negative checks.

A test that asserts something did NOT happen must first know the server has
finished with the request; a fixed sleep only guesses. The server logs one
line per event (`<time> <level> sess=<16 hex> event=<name> k=v ...`,
docs/ARCHITECTURE.md), so a test finds its session by a unique value it sent
(e.g. a MAIL FROM address) and waits, bounded, for that session's
`event=session` (its one line, at the end): after it the session can do
nothing more.
"""

import os
import re
import sqlite3
import time

EVENT_WAIT = 20.0

SESS_RE = re.compile(r"\bsess=([0-9a-f]{16})\b")


def session_id(server, needle, event=None, timeout=10.0):
    """The sess id of the first log line containing needle (and
    event=<event> when given); fails the test after timeout."""
    def pred(line):
        return (needle in line and SESS_RE.search(line) is not None and
                (event is None or (" event=%s " % event) in line + " "))
    lines = server.wait_log(pred, timeout=timeout)
    assert lines, "no log line with %r (event %r):\n%s" % (
        needle, event, server.stderr_tail())
    return SESS_RE.search(lines[0]).group(1)


def wait_session_event(server, sess, event, timeout=10.0):
    """Waits (bounded) for event=<event> of session sess; returns the
    lines; fails the test when it never comes."""
    mark = "sess=%s event=%s" % (sess, event)
    lines = server.wait_log(lambda l: mark in l, timeout=timeout)
    assert lines, "session %s: no event=%s in %.0fs:\n%s" % (
        sess, event, timeout, server.stderr_tail())
    return lines


def wait_smtp_gone(server, sender, timeout=10.0):
    """Waits until the SMTP session that sent MAIL FROM:<sender> has been
    torn down (its event=session is logged)."""
    sess = session_id(server, sender, "mail", timeout)
    return wait_session_event(server, sess, "session", timeout)


def server_unread(srv, proto, client_sock, timeout=10.0):
    """Waits (bounded) until the server process has read everything the
    client sent on client_sock: the receive queue of the server's end in
    /proc/net/tcp is empty. A session that is not waiting for a job handles
    what was read in the same loop callback, before it can see a signal or
    another connection's bytes; a paused one keeps it buffered meanwhile."""
    sport = srv.listen[proto][1]
    cport = client_sock.getsockname()[1]
    deadline = time.monotonic() + timeout
    while True:
        queued = None
        with open("/proc/net/tcp") as f:
            for row in f.read().splitlines()[1:]:
                col = row.split()
                if (int(col[1].split(":")[1], 16) == sport and
                        int(col[2].split(":")[1], 16) == cport):
                    queued = int(col[4].split(":")[1], 16)
        assert queued is not None, "no server socket for port %d" % cport
        if queued == 0:
            return
        assert time.monotonic() < deadline, "server never read %d bytes" % (
            queued)
        time.sleep(0.02)


def wait_for(pred, timeout=EVENT_WAIT, step=0.1):
    """Polls pred (bounded) until it is true; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def message_files(server):
    """The message bodies the server keeps: regular files with content
    under the data dir's msg/ tree, and (schema 8) the bodies stored in
    the database ("db:<blob id>"), where a small message goes."""
    out = []
    db_path = os.path.join(server.dir, "postel.db")
    if os.path.exists(db_path):
        db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True,
                             timeout=10)
        try:
            out += ["db:%d" % r for (r,) in
                    db.execute("SELECT id FROM blob_data")]
        except sqlite3.OperationalError:
            pass  # an older schema, or not made yet
        finally:
            db.close()
    for root, _, files in os.walk(os.path.join(server.dir, "msg")):
        for f in files:
            path = os.path.join(root, f)
            try:
                if os.path.getsize(path) > 0:
                    out.append(path)
            except FileNotFoundError:
                pass
    return out
