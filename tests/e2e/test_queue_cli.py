"""`postel queue ...` against a running server.

The messages are put in the queue's tables directly (schema version 6,
src/store/schema_v5.sql and v6) with Python's sqlite3 module: the path that queues
them from SMTP is tested where it is built. Everything else is the real
command: its output, its exit status, the rows and files it leaves, and the
server still serving afterwards.
"""

import os
import sqlite3
import subprocess
import time

import pytest

from conftest import POSTEL_BIN, give_to_service_user

ARRIVAL = 1700000000  # 2023-11-14 22:13:20 UTC

# The rows these tests write are due (their times are in 2023): a running
# scheduler would try them, bounce them and send notices while a test
# reads them back. queue_delivery = no keeps the queue as the test left it
# (the server still accepts and queues), so every assertion is about the
# command alone.
SERVER_CONFIG = {"queue_delivery": "no"}


def run(server, *args):
    """The real CLI, times in UTC."""
    argv = [POSTEL_BIN, "--data", server.dir, "--config",
            server.config_path, "queue"] + list(args)
    env = dict(os.environ, TZ="UTC")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                       env=env, stdin=subprocess.DEVNULL)
    for mark in ("AddressSanitizer", "runtime error:"):
        assert mark not in r.stderr, r.stderr
    return r


def db(server):
    c = sqlite3.connect(os.path.join(server.dir, "postel.db"), timeout=10)
    c.execute("PRAGMA foreign_keys = ON")
    return c


def release_db(server):
    """Files the test's connection may have made belong to the service
    user, as the server's own."""
    for name in os.listdir(server.dir):
        if name.startswith("postel.db"):
            give_to_service_user(os.path.join(server.dir, name))


def make_blob(server, qid):
    rel = "msg/20231114/%s" % qid
    path = os.path.join(server.dir, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    give_to_service_user(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(b"Subject: queued\r\n\r\nhello\r\n")
    give_to_service_user(path)
    return rel


def enqueue(server, qid, rcpts, sender="sender@example.test", held=0,
            envid="", created=ARRIVAL):
    """Queues one message; rcpts: dicts of queue_rcpts columns (addr
    required)."""
    rel = make_blob(server, qid)
    c = db(server)
    with c:
        blob = c.execute("INSERT INTO blobs (path, size, refcount)"
                         " VALUES (?, 30, 1)", (rel,)).lastrowid
        msg = c.execute(
            "INSERT INTO queue_msgs (qid, blob_id, size, env_from, envid,"
            " ret, flags, created, held) VALUES (?, ?, 30, ?, ?, 2, 2, ?,"
            " ?)", (qid, blob, sender, envid, created, held)).lastrowid
        for r in rcpts:
            row = dict(next_attempt=created, state=0, attempts=0,
                       status="", reply="", remote_mta="", notify=0,
                       last_attempt=0)
            row.update(r)
            row["domain"] = row["addr"].rsplit("@", 1)[1].lower()
            row["msg_id"] = msg
            cols = ", ".join(row)
            c.execute("INSERT INTO queue_rcpts (%s) VALUES (%s)" %
                      (cols, ", ".join("?" * len(row))),
                      tuple(row.values()))
    c.close()
    release_db(server)
    return rel


def rows(server, sql, args=()):
    c = db(server)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def serial(server):
    return rows(server, "SELECT serial FROM queue_serial")[0][0]


def one_error(r, code=1):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("postel: "), r.stderr
    return lines[0]


@pytest.fixture
def clean_queue(server):
    """Each test starts with an empty queue."""
    for (qid,) in rows(server, "SELECT qid FROM queue_msgs"):
        run(server, "delete", qid)
    yield server
    for (qid,) in rows(server, "SELECT qid FROM queue_msgs"):
        run(server, "delete", qid)


def test_list_empty(clean_queue):
    r = run(clean_queue, "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "0 messages, 0 recipients\n"


def test_list_and_show(clean_queue):
    srv = clean_queue
    enqueue(srv, "00000000000000a1", [
        dict(addr="Bob@Remote.Test", attempts=2, status="4.4.1",
             reply="451 4.4.1 try again later", last_attempt=ARRIVAL + 60,
             next_attempt=ARRIVAL + 600,
             remote_mta="mx.remote.test[127.0.0.9]", notify=2 | 4,
             orcpt="rfc822;bob@remote.test"),
        dict(addr="gone@other.test", state=2, status="5.1.1",
             reply="550 5.1.1 no such user", attempts=1),
        dict(addr="done@remote.test", state=1, status="2.0.0",
             reply="250 ok"),
    ], envid="env-42")
    enqueue(srv, "00000000000000a2", [dict(addr="x@third.test")],
            sender="", created=ARRIVAL + 5)
    r = run(srv, "list")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0].split() == ["-Queue", "ID-", "--Size--",
                              "---Arrival", "Time----",
                              "-Sender/Recipient-------"]
    assert out[1].split() == ["00000000000000a1", "30", "2023-11-14",
                              "22:13:20", "sender@example.test"]
    assert out[2].strip() == "(4.4.1 451 4.4.1 try again later)"
    assert out[3].strip() == "Bob@Remote.Test"
    assert out[4].strip() == "(failed: 5.1.1 550 5.1.1 no such user)"
    assert out[5].strip() == "gone@other.test"
    # Sent recipients are not listed.
    assert "done@remote.test" not in r.stdout
    assert out[6] == ""
    assert out[7].split() == ["00000000000000a2", "30", "2023-11-14",
                              "22:13:25", "<>"]
    assert out[8].strip() == "x@third.test"
    assert out[-1] == "2 messages, 3 recipients"

    r = run(srv, "show", "00000000000000A1")
    assert r.returncode == 0, r.stderr
    s = r.stdout
    assert "queue id: 00000000000000a1\n" in s
    assert "arrival: 2023-11-14 22:13:20 (" in s
    assert "from: <sender@example.test>\n" in s
    assert "envid: env-42\n" in s
    assert "ret: HDRS\n" in s
    assert "flags: 8BITMIME\n" in s
    bob = s[s.index("recipient: <Bob@Remote.Test>"):
            s.index("recipient: <gone@other.test>")]
    assert "state: pending\n" in bob
    assert "attempts: 2\n" in bob
    assert "last attempt: 2023-11-14 22:14:20 (" in bob
    assert "next attempt: 2023-11-14 22:23:20 (" in bob
    assert "last status: 4.4.1\n" in bob
    assert "last reply: 451 4.4.1 try again later\n" in bob
    assert "remote mta: mx.remote.test[127.0.0.9]\n" in bob
    assert "notify: FAILURE DELAY\n" in bob
    assert "orcpt: rfc822;bob@remote.test\n" in bob
    gone = s[s.index("recipient: <gone@other.test>"):]
    assert "state: failed\n" in gone
    assert "next attempt" not in gone.split("recipient: <done")[0]


def test_list_filters(clean_queue):
    srv = clean_queue
    enqueue(srv, "00000000000000b1", [dict(addr="a@one.test"),
                                       dict(addr="b@two.test")])
    enqueue(srv, "00000000000000b2", [dict(addr="c@Two.Test")], held=1)
    enqueue(srv, "00000000000000b3", [dict(addr="d@three.test")])

    def ids(r):
        assert r.returncode == 0, r.stderr
        return [l.split()[0] for l in r.stdout.splitlines()[1:]
                if l and not l.startswith(" ") and "message" not in l]

    assert ids(run(srv, "list", "--domain", "TWO.test")) == [
        "00000000000000b1", "00000000000000b2!"]
    assert ids(run(srv, "list", "--held")) == ["00000000000000b2!"]
    assert ids(run(srv, "list", "--domain", "nowhere.test")) == []
    one_error(run(srv, "list", "--domain", "bad..domain"))
    one_error(run(srv, "list", "extra"), code=2)
    one_error(run(srv, "list", "--bogus"), code=2)


def test_hold_release(clean_queue):
    srv = clean_queue
    enqueue(srv, "00000000000000c1", [dict(addr="a@remote.test")])
    s0 = serial(srv)
    r = run(srv, "hold", "00000000000000c1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "00000000000000c1: held\n"
    assert rows(srv, "SELECT held FROM queue_msgs")[0][0] == 1
    assert serial(srv) > s0
    assert "00000000000000c1!" in run(srv, "list").stdout
    assert "(held)" in run(srv, "show", "00000000000000c1").stdout
    r = run(srv, "release", "00000000000000c1")
    assert r.returncode == 0 and r.stdout == "00000000000000c1: released\n"
    assert rows(srv, "SELECT held FROM queue_msgs")[0][0] == 0
    line = one_error(run(srv, "hold", "ffffffffffffffff"))
    assert line == "postel: no such queue id: ffffffffffffffff"
    one_error(run(srv, "hold"), code=2)
    one_error(run(srv, "release", "a", "b"), code=2)


def test_flush(clean_queue):
    srv = clean_queue
    later = int(time.time()) + 86400
    enqueue(srv, "00000000000000d1", [dict(addr="a@one.test",
                                           next_attempt=later),
                                      dict(addr="b@two.test",
                                           next_attempt=later)])
    enqueue(srv, "00000000000000d2", [dict(addr="c@two.test",
                                           next_attempt=later)])
    enqueue(srv, "00000000000000d3", [dict(addr="d@three.test",
                                           next_attempt=later)], held=1)

    def due():
        return sorted(a for (a,) in rows(
            srv, "SELECT addr FROM queue_rcpts WHERE next_attempt < ?",
            (later,)))

    s0 = serial(srv)
    r = run(srv, "flush", "00000000000000d2")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "1 recipient due now\n"
    assert due() == ["c@two.test"]
    assert serial(srv) > s0
    r = run(srv, "flush", "--domain", "one.test")
    assert r.stdout == "2 recipients due now\n"
    assert due() == ["a@one.test", "b@two.test", "c@two.test"]
    # Held messages stay held, and are not flushed.
    r = run(srv, "flush")
    assert r.returncode == 0 and r.stdout == "3 recipients due now\n"
    assert "d@three.test" not in due()
    one_error(run(srv, "flush", "00000000000000d1", "--domain", "x.test"),
              code=2)
    assert one_error(run(srv, "flush", "0000000000000bad")) == \
        "postel: no such queue id: 0000000000000bad"


def test_bounce(clean_queue):
    srv = clean_queue
    enqueue(srv, "00000000000000e1", [dict(addr="a@remote.test"),
                                      dict(addr="n@remote.test", notify=8),
                                      dict(addr="s@remote.test", state=1)])
    r = run(srv, "bounce", "00000000000000e1")
    assert r.returncode == 0, r.stderr
    got = rows(srv, "SELECT addr, state, status, reply, notice FROM"
               " queue_rcpts ORDER BY id")
    assert got[0] == ("a@remote.test", 2, "5.0.0",
                      "given up by the administrator", 1)
    # NOTIFY=NEVER: failed, no notice; the sent one untouched.
    assert got[1][1:] == (2, "5.0.0", "given up by the administrator", 0)
    assert got[2][1] == 1
    show = run(srv, "show", "00000000000000e1").stdout
    assert "notice owed: failed" in show
    one_error(run(srv, "bounce", "0000000000000bad"))


def test_delete(clean_queue):
    srv = clean_queue
    rel = enqueue(srv, "00000000000000f1", [dict(addr="a@remote.test")])
    path = os.path.join(srv.dir, rel)
    assert os.path.exists(path)
    r = run(srv, "delete", "00000000000000f1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "00000000000000f1: deleted\n"
    assert rows(srv, "SELECT COUNT(*) FROM queue_msgs")[0][0] == 0
    assert rows(srv, "SELECT COUNT(*) FROM queue_rcpts")[0][0] == 0
    assert rows(srv, "SELECT COUNT(*) FROM blobs WHERE path = ?",
                (rel,))[0][0] == 0
    assert not os.path.exists(path)
    assert one_error(run(srv, "delete", "00000000000000f1")) == \
        "postel: no such queue id: 00000000000000f1"
    assert one_error(run(srv, "show", "00000000000000f1")) == \
        "postel: no such queue id: 00000000000000f1"


def test_delete_keeps_a_local_copy(clean_queue):
    """A file a mailbox still holds stays when its queue entry goes."""
    srv = clean_queue
    rel = enqueue(srv, "00000000000000f2", [dict(addr="a@remote.test")])
    c = db(srv)
    with c:
        c.execute("UPDATE blobs SET refcount = refcount + 1 WHERE path = ?",
                  (rel,))
    c.close()
    assert run(srv, "delete", "00000000000000f2").returncode == 0
    assert os.path.exists(os.path.join(srv.dir, rel))
    assert rows(srv, "SELECT refcount FROM blobs WHERE path = ?",
                (rel,)) == [(1,)]
    c = db(srv)
    with c:
        c.execute("DELETE FROM blobs WHERE path = ?", (rel,))
    c.close()


def test_usage_and_help(clean_queue):
    srv = clean_queue
    one_error(run(srv), code=2)
    one_error(run(srv, "frobnicate"), code=2)
    one_error(run(srv, "show"), code=2)
    r = run(srv, "--help")
    assert r.returncode == 0 and "queue list" in r.stdout


def test_server_still_serves(clean_queue):
    """The commands ran beside the server: it still takes mail."""
    srv = clean_queue
    enqueue(srv, "0000000000000101", [dict(addr="a@remote.test")])
    assert run(srv, "hold", "0000000000000101").returncode == 0
    srv.send(["alice@example.test"], b"Subject: after\r\n\r\nhi\r\n")
    srv.check_alive()


def test_paused_queue_keeps_mail(clean_queue):
    """queue_delivery = no: a submitted message to a remote address is
    accepted, queued, and left alone (no attempt, no notice)."""
    srv = clean_queue
    assert srv.wait_log(lambda l: "event=queue_paused" in l)
    s = srv.smtp_auth()
    try:
        s.sendmail("alice@example.test", ["far@remote.test"],
                   b"From: alice@example.test\r\nSubject: paused\r\n"
                   b"\r\nwaits\r\n")
    finally:
        s.quit()
    got = rows(srv, "SELECT addr, state, attempts, lease_owner FROM"
               " queue_rcpts")
    assert got == [("far@remote.test", 0, 0, "")]
    # The one-second tick would have seen the serial and a round taken
    # the due recipient by now, were the scheduler running.
    assert run(srv, "flush").stdout == "1 recipient due now\n"
    time.sleep(2.5)
    assert rows(srv, "SELECT addr, state, attempts, lease_owner FROM"
                " queue_rcpts") == [("far@remote.test", 0, 0, "")]
    r = run(srv, "list")
    assert "far@remote.test" in r.stdout
