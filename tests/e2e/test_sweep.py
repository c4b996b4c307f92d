"""Message files nobody references (a crash between writing a file and
committing it, or between an expunge's commit and its unlink) are removed
when the server starts again; referenced files and foreign files stay. One
server per data directory: a second `serve` on the same one is refused."""

import os
import time

import pytest

from conftest import free_ports, simple_message, unique
from waitutil import message_files

USERS = {"sw@example.test": "sweep-Secret-1"}
SERVER_USERS = USERS


# A body over 64 KB is kept in a file; a smaller one in the database
# (src/store/blob.h).
BIG_BODY = ("x" * 998 + "\r\n") * 80


def sweep_lines(server):
    return server.wait_log(lambda l: "event=sweep " in l, timeout=0)


def test_orphans_swept_at_start(server):
    user = "sw@example.test"
    toks = [unique("keep") for _ in range(3)]
    for t in toks:
        server.send(user, simple_message(t, body=BIG_BODY))
    server.wait_messages(user, 3)
    server.stop()
    msg = os.path.join(server.dir, "msg")
    days = sorted(d for d in os.listdir(msg) if d.isdigit())
    assert days, os.listdir(msg)
    old = time.time() - 3600
    # The kept messages look as old as the orphans: only the store says
    # which files are referenced.
    kept = [os.path.join(msg, d, f) for d in days
            for f in os.listdir(os.path.join(msg, d))]
    assert len(kept) == 3, kept
    for path in kept:
        os.utime(path, (old, old))
    orphans = [os.path.join(msg, days[-1], "0123456789abcdef"),
               os.path.join(msg, "20200101", "fedcba9876543210")]
    foreign = [os.path.join(msg, "20200101", "README"),
               os.path.join(msg, "notes", "0123456789abcdef")]
    # Unreferenced but not older than the start (less the sweep margin,
    # SWEEP_MARGIN_S = 600 s): a delivery may be writing such a file right
    # now, before its commit, so the sweep must leave it alone.
    young = {os.path.join(msg, days[-1], "00000000000000aa"): None,
             os.path.join(msg, days[-1], "00000000000000bb"):
                 time.time() - 300}
    owner = os.stat(msg)  # the server's user when the tests run as root
    for path in orphans + foreign:
        d = os.path.dirname(path)
        if not os.path.isdir(d):
            os.makedirs(d)
            os.chown(d, owner.st_uid, owner.st_gid)
        with open(path, "wb") as f:
            f.write(b"Subject: never acknowledged\r\n\r\nx\r\n")
        os.chown(path, owner.st_uid, owner.st_gid)
        os.utime(path, (old, old))
    for path, when in young.items():
        with open(path, "wb") as f:
            f.write(b"Subject: being written\r\n\r\nx\r\n")
        os.chown(path, owner.st_uid, owner.st_gid)
        if when is not None:
            os.utime(path, (when, when))
    before = len(sweep_lines(server))
    server.start()
    deadline = time.monotonic() + 20
    while len(sweep_lines(server)) <= before and time.monotonic() < deadline:
        time.sleep(0.1)
    last = sweep_lines(server)[-1]
    assert "checked=5 removed=2 errors=0" in last, last
    assert not [p for p in orphans if os.path.exists(p)]
    assert all(os.path.exists(p) for p in foreign)
    assert all(os.path.exists(p) for p in young), young
    got = server.fetch_all(user)
    assert len(got) == 3, got
    for t in toks:
        assert any(t.encode() in m for m in got), t


def test_second_server_on_same_data_dir_refused(server):
    port = free_ports(1)[0]
    r = server.cli("serve", "--listen", "pop3=127.0.0.1:%d" % port,
                   timeout=30)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "another postel serve is using this data directory" in r.stderr
    server.check_alive()


@pytest.mark.parametrize("body", ["hello\r\n", BIG_BODY],
                         ids=["stored", "file"])
def test_expunged_message_file_removed_at_once(server, body):
    """Expunging the last copy of a message (IMAP EXPUNGE, MOVE) removes
    its body right after the commit (a file on an I/O worker, a stored one
    in the next group commit, once no session still numbers it:
    src/imap/imap_keep.c); nothing waits for a sweep."""
    user = "sw@example.test"
    tok = unique("gone")
    server.send(user, simple_message(tok, body=body))
    server.wait_messages(user, 1, match=tok.encode())

    def files():
        return sorted(message_files(server))

    before = files()
    m = server.imaps(user)
    m.select("INBOX")
    typ, data = m.search(None, "SUBJECT", tok)
    n = data[0].split()[-1]
    assert m.store(n, "+FLAGS", "\\Deleted")[0] == "OK"
    assert m.expunge()[0] == "OK"
    m.logout()
    end = time.monotonic() + 10
    while len(set(before) - set(files())) < 1 and time.monotonic() < end:
        time.sleep(0.02)
    gone = set(before) - set(files())
    assert len(gone) == 1, (before, files())
