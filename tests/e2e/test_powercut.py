"""Power cuts, not only kill -9: the server's data directory lives on
powerfs.py (a FUSE pass-through that keeps only what was made durable), the
server is killed in the middle of a load, and the state a disk would hold
after losing power is written to a new directory; a fresh server starts on
it. In both of powerfs's modes ("strict": POSIX, a name is durable once its
directory is fsynced; "ext4": any fsync commits every name) and at several
cut points (each test cuts, restarts on the cut image under powerfs again,
loads and cuts again), every acknowledged change must be there exactly
once, an unacknowledged one wholly there or wholly absent, and the store
consistent: no row without its file, no file shorter than its row, reference
counts and mailbox counters equal to the rows.

Cases: SMTP delivery (250), IMAP APPEND / COPY / MOVE / EXPUNGE (tagged OK),
POP3 DELE + QUIT (+OK), the CLI's provisioning (exit status 0), an
upgrade's copy of the old database, message directories left unsynced by an
earlier process, the self-signed TLS pair; provisioning, upgrade and SMTP
once more with SQLite's own directory fsyncs disabled (nodirsync.c). The
last image is started on a plain disk and swept: nothing unreferenced
remains, nothing referenced is removed. The rig is in powerrig.py.
Skipped only when this machine cannot mount a FUSE filesystem."""

import collections
import os
import pwd
import re
import shutil
import smtplib
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import HERE, give_to_service_user
from loadutil import make_message
from powerrig import MSGID, Load, Rig, fuse_usable, mailbox_contents
from rawclient import strip_received

MODES = ("strict", "ext4")


def _rigs(mode):
    made = []
    work = tempfile.mkdtemp(prefix="postel-fuse-probe-")
    try:
        why = fuse_usable(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if why:
        pytest.skip(why)

    def make(users):
        r = Rig(mode, users)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


@pytest.fixture(params=MODES)
def rig_factory(request):
    yield from _rigs(request.param)


_shim = {}


@pytest.fixture
def strict_rig_without_sqlite_dirsync(monkeypatch, tmp_path_factory):
    """Strict mode, the server and CLI running with nodirsync.c preloaded:
    SQLite's own directory fsyncs do nothing."""
    if "lib" not in _shim:
        lib = str(tmp_path_factory.mktemp("shim") / "nodirsync.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", lib,
                        os.path.join(HERE, "nodirsync.c"), "-ldl"],
                       check=True)
        _shim["lib"] = lib
    monkeypatch.setenv("LD_PRELOAD", _shim["lib"])
    # An ASan build (libasan linked dynamically) must not refuse to run
    # when another library is preloaded first.
    monkeypatch.setenv("ASAN_OPTIONS", ":".join(filter(None, [
        os.environ.get("ASAN_OPTIONS"), "verify_asan_link_order=0"])))
    yield from _rigs("strict")


# -- SMTP delivery -----------------------------------------------------------
SMTP_USERS = {"alice@example.test": "alice-Secret-1",
              "bob@example.test": "bob-Secret-2"}
SMTP_SENDERS = 4
SMTP_MAX_PER_SENDER = 60


def smtp_sender(load, srv, n, sent, acked):
    """Sends messages one after another; every fifth to both users (one
    file, two rows) and every seventh large (streamed in pieces)."""
    host, port = srv.addr("smtp")
    s = smtplib.SMTP(host, port, timeout=10, local_hostname="pc%d.test" % n)
    s.ehlo()
    for i in range(SMTP_MAX_PER_SENDER):
        rcpts = list(SMTP_USERS) if i % 5 == 0 else [list(SMTP_USERS)[n % 2]]
        mid, msg = make_message("s%d-%d-%d" % (srv.kills, n, i),
                                lines=4000 if i % 7 == 3 else 6)
        with load.lock:
            sent[mid] = (rcpts, msg)
        s.sendmail("power@remote.test", rcpts, msg)
        with load.lock:
            acked.add(mid)
        load.ack()
    s.quit()


def check_smtp(srv, sent, acked):
    """Every acknowledged message in each recipient's INBOX exactly once,
    byte for byte; an unacknowledged one complete in all its recipients'
    INBOXes or in none. Returns the message ids present."""
    where = collections.defaultdict(set)
    for user in SMTP_USERS:
        for (box, mid), copies in mailbox_contents(srv, user,
                                                   ["INBOX"]).items():
            assert mid in sent, "unknown message %s" % mid
            assert len(copies) == 1, "%s: %d copies for %s" % (
                mid, len(copies), user)
            body = strip_received(copies[0])
            assert body == sent[mid][1], "%s differs for %s" % (mid, user)
            where[mid].add(user)
    lost = [m for m in acked if where.get(m) != set(sent[m][0])]
    assert not lost, "%d acknowledged messages lost, e.g. %s" % (
        len(lost), lost[:3])
    half = [m for m in where if where[m] != set(sent[m][0])]
    assert not half, "delivered to only some recipients: %s" % half[:3]
    print("smtp: %d sent, %d acknowledged, %d present" % (
        len(sent), len(acked), len(where)))
    return set(where)


@pytest.mark.parametrize("cuts", [(3, 15, 150)])
def test_smtp_delivery_power_cut(rig_factory, cuts):
    smtp_rounds(rig_factory(SMTP_USERS), cuts)


def test_smtp_delivery_without_sqlite_dirsync(
        strict_rig_without_sqlite_dirsync):
    smtp_rounds(strict_rig_without_sqlite_dirsync(SMTP_USERS), (3, 15))


def smtp_rounds(rig, cuts):
    rig.srv.provision()
    sent, acked = {}, set()
    for n in cuts:
        rig.mount()
        rig.srv.start()
        acked |= check_smtp(rig.srv, sent, acked)
        load = Load()
        for w in range(SMTP_SENDERS):
            load.run(smtp_sender, rig.srv, w, sent, acked)
        rig.cut(load, n)
    rig.restart_plain()
    check_smtp(rig.srv, sent, acked)
    rig.finish()


def test_unsynced_message_dirs_power_cut(rig_factory):
    """msg/ and the day's msg/YYYYMMDD exist, but their names were never
    synced to disk — as a server killed between its mkdir and the fsync of
    the parent leaves them (or another thread of ours, between the two).
    Delivery must still make them durable before it acknowledges."""
    rig = rig_factory(SMTP_USERS)
    rig.srv.provision()
    rig.mount()
    pw = pwd.getpwnam("postel")
    now = time.time()
    for t in (now, now + 86400):    # the day may change during the test
        day = os.path.join(rig.srv.dir, "msg",
                           time.strftime("%Y%m%d", time.gmtime(t)))
        os.makedirs(day, 0o750, exist_ok=True)
        for d in (os.path.dirname(day), day):
            os.chown(d, pw.pw_uid, pw.pw_gid)
    rig.srv.start()
    sent, acked = {}, set()
    load = Load()
    for w in range(SMTP_SENDERS):
        load.run(smtp_sender, rig.srv, w, sent, acked)
    rig.cut(load, 8)
    rig.srv.start()
    check_smtp(rig.srv, sent, acked)
    rig.srv.stop_checked()


def test_provisioning_power_cut(rig_factory):
    provisioning(rig_factory(SMTP_USERS))


def test_provisioning_without_sqlite_dirsync(
        strict_rig_without_sqlite_dirsync):
    provisioning(strict_rig_without_sqlite_dirsync(SMTP_USERS))


def provisioning(rig):
    """domain add / user add on a new data directory, each acknowledged by
    exit status 0, then the power goes: the database (its name, its WAL,
    its rows) is there, and the users can log in and receive mail."""
    rig.mount()
    rig.srv.provision()
    rig.power_cut()
    rig.srv.start()
    for user, password in SMTP_USERS.items():
        rig.srv.imaps(user, password).logout()
    mid, msg = make_message("after-provisioning")
    rig.srv.send(list(SMTP_USERS), msg)
    check_smtp(rig.srv, {mid: (list(SMTP_USERS), msg)}, {mid})
    rig.srv.stop_checked()


def test_tls_pair_power_cut(rig_factory):
    """The self-signed certificate made at the first start survives a power
    cut: clients that trusted it keep trusting it (a new one would be
    made, or with only one of the pair left the server would not start)."""
    rig = rig_factory(SMTP_USERS)
    rig.srv.provision()
    rig.mount()
    rig.srv.start()
    with open(rig.srv.cert_path, "rb") as f:
        cert = f.read()
    rig.srv.kill9()
    rig.power_cut()
    rig.srv.start()
    with open(rig.srv.cert_path, "rb") as f:
        assert f.read() == cert, "a new certificate after the power cut"
    rig.srv.imaps("alice@example.test").logout()
    rig.srv.stop_checked()


def test_upgrade_backup_power_cut(rig_factory):
    upgrade(rig_factory(SMTP_USERS))


def test_upgrade_backup_without_sqlite_dirsync(
        strict_rig_without_sqlite_dirsync):
    upgrade(strict_rig_without_sqlite_dirsync(SMTP_USERS))


def upgrade(rig):
    """Opening a version 1 database upgrades it and leaves a copy of the
    old one (postel.db.v1.bak, DESIGN.md principle 6). When the upgrade is
    on disk, so must the copy be, whole: the power goes right after."""
    db_path = os.path.join(rig.srv.dir, "postel.db")
    with open(os.path.join(os.path.dirname(HERE), "..", "src", "store",
                           "schema.sql")) as f:
        schema = f.read()
    db = sqlite3.connect(db_path)
    db.executescript(schema)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO domains (name, created) "
               "VALUES ('old.test', 1700000000)")
    db.commit()
    db.close()
    give_to_service_user(db_path)
    rig.mount()
    r = rig.srv.cli("domain", "list", check=True)
    assert "old.test" in r.stdout, r.stdout
    rig.power_cut()
    new = sqlite3.connect(os.path.join(rig.srv.dir, "postel.db"))
    version = new.execute("SELECT value FROM meta "
                          "WHERE key = 'schema_version'").fetchone()[0]
    new.close()
    assert version != "1", "the upgrade itself was lost"
    bak = os.path.join(rig.srv.dir, "postel.db.v1.bak")
    assert os.path.isfile(bak), "upgraded, but the copy of v1 is gone"
    old = sqlite3.connect("file:%s?mode=ro" % bak, uri=True)
    try:
        assert old.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert old.execute("SELECT name FROM domains").fetchall() == [
            ("old.test",)], "the copy of v1 lost its rows"
    except sqlite3.DatabaseError as e:
        raise AssertionError("the copy of v1 is damaged: %s (%d octets)" % (
            e, os.path.getsize(bak)))
    finally:
        old.close()

# -- IMAP APPEND / COPY / MOVE / EXPUNGE -----------------------------------
IMAP_USER = "carol@example.test"
IMAP_USERS = {IMAP_USER: "carol-Secret-3"}
IMAP_WORKERS = 3
IMAP_MAX_PER_WORKER = 25
UIDS = re.compile(rb"\[(?:APPENDUID|COPYUID) \d+ (?:\S+ )?(\d+)\]")


class Places:
    """Where each message is known to be (after its last acknowledged
    step), and where it will be if the step in flight completes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.msgs = {}      # message id -> bytes
        self.now = {}       # message id -> frozenset of places
        self.next = {}      # message id -> frozenset, a step in flight

    def begin(self, mid, after, msg=None):
        with self.lock:
            if msg is not None:
                self.msgs[mid], self.now[mid] = msg, frozenset()
            self.next[mid] = frozenset(after)

    def done(self, mid):
        with self.lock:
            self.now[mid] = self.next.pop(mid)

    def check(self, seen):
        """seen: {message id: set of places}. Each message must be where
        its last acknowledged step left it, or where the step in flight
        would have; what was seen is then known to be on disk."""
        bad = []
        for mid in set(self.now) | set(seen):
            if mid not in self.now:
                bad.append("unknown message %s in %s" % (mid, seen[mid]))
                continue
            got = frozenset(seen.get(mid, ()))
            if got != self.now[mid] and got != self.next.get(mid):
                bad.append("%s in %s, acknowledged %s, in flight %s" % (
                    mid, sorted(got), sorted(self.now[mid]),
                    sorted(self.next.get(mid, ()))))
            self.now[mid] = got
        self.next.clear()
        assert not bad, "after the cut:\n" + "\n".join(bad[:10])


def imap_ok(typ, data, what):
    assert typ == "OK", "%s: %s %s" % (what, typ, data)
    return data


def moved_uid(m, data):
    """The UID in the target mailbox from MOVE's COPYUID (RFC 6851 §4.3:
    in an untagged OK before the expunges, which imaplib files under
    the response code; some servers put it in the tagged OK)."""
    codes = m.untagged_responses.pop("COPYUID", None)
    found = UIDS.search(b"[COPYUID " + codes[-1] + b"]") if codes else \
        UIDS.search(data[0])
    assert found, "MOVE without COPYUID: %s" % data
    return found.group(1)


def imap_worker(load, srv, k, places, rnd):
    """Per message: APPEND to its own mailbox, COPY to Archive (every
    other message), MOVE to a second mailbox, then \\Deleted and UID
    EXPUNGE there."""
    src, dst = "P%d-%d" % (rnd, k), "J%d-%d" % (rnd, k)
    m = srv.imaps(IMAP_USER)
    imap_ok(*m.create(src), "CREATE")
    imap_ok(*m.create(dst), "CREATE")
    for i in range(IMAP_MAX_PER_WORKER):
        mid, msg = make_message("i%d-%d-%d" % (rnd, k, i),
                                lines=3000 if i % 6 == 2 else 5)
        places.begin(mid, {src}, msg)
        data = imap_ok(*m.append(src, None, None, msg), "APPEND")
        uid = UIDS.search(data[0]).group(1).decode()
        places.done(mid)
        load.ack()
        imap_ok(*m.select(src), "SELECT")
        # Every other message is not copied: its EXPUNGE removes the last
        # reference to its file, which is then unlinked after the commit.
        kept = {"Archive"} if i % 2 == 0 else set()
        if kept:
            places.begin(mid, {src} | kept)
            imap_ok(*m.uid("COPY", uid, "Archive"), "COPY")
            places.done(mid)
            load.ack()
        places.begin(mid, kept | {dst})
        typ, data = m.uid("MOVE", uid, dst)
        imap_ok(typ, data, "MOVE")
        places.done(mid)
        load.ack()
        uid = moved_uid(m, data)
        imap_ok(*m.select(dst), "SELECT")
        imap_ok(*m.uid("STORE", uid.decode(), "+FLAGS.SILENT",
                       "(\\Deleted)"), "STORE")
        places.begin(mid, kept)
        imap_ok(*m._simple_command("UID", "EXPUNGE", uid.decode()),
                "UID EXPUNGE")
        places.done(mid)
        load.ack()
    m.logout()


def check_imap(srv, places):
    seen = collections.defaultdict(set)
    for (box, mid), copies in mailbox_contents(
            srv, IMAP_USER, imap_boxes(srv)).items():
        assert len(copies) == 1, "%s: %d copies in %s" % (
            mid, len(copies), box)
        assert mid not in places.msgs or copies[0] == places.msgs[mid], \
            "%s differs in %s" % (mid, box)
        seen[mid].add(box)
    places.check(seen)
    print("imap: %d messages, %d places" % (
        len(seen), sum(len(v) for v in seen.values())))


def imap_boxes(srv):
    m = srv.imaps(IMAP_USER)
    try:
        data = imap_ok(*m.list(), "LIST")
    finally:
        m.logout()
    return [ln.rsplit(b" ", 1)[1].strip(b'"').decode() for ln in data]


@pytest.mark.parametrize("cuts", [(6, 25, 80)])
def test_imap_changes_power_cut(rig_factory, cuts):
    rig = rig_factory(IMAP_USERS)
    rig.srv.provision()
    places = Places()
    for rnd, n in enumerate(cuts):
        rig.mount()
        rig.srv.start()
        check_imap(rig.srv, places)
        load = Load()
        for w in range(IMAP_WORKERS):
            load.run(imap_worker, rig.srv, w, places, rnd)
        rig.cut(load, n)
    rig.restart_plain()
    check_imap(rig.srv, places)
    rig.finish()


# -- POP3 DELE + QUIT --------------------------------------------------------
POP_USERS = {"pop%d@example.test" % i: "pop-Secret-%d" % i for i in range(3)}
POP_MESSAGES = 16       # per user, delivered before the first cut
POP_DELE_PER_SESSION = 2


class Drops:
    """Each POP3 user's messages: those known present and the ones a QUIT
    in flight deletes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.msgs = {}                  # message id -> bytes
        self.present = {}               # user -> set of message ids
        self.quitting = {}              # user -> set, QUIT sent, no answer

    def check(self, srv):
        bad = []
        for user in POP_USERS:
            got = set()
            for (box, mid), copies in mailbox_contents(
                    srv, user, ["INBOX"]).items():
                assert len(copies) == 1 and mid in self.msgs, mid
                assert strip_received(copies[0]) == self.msgs[mid], mid
                got.add(mid)
            want = self.present.get(user, set())
            maybe = want - self.quitting.get(user, set())
            if got != want and got != maybe:
                bad.append("%s: %d messages, expected %d (or %d): "
                           "extra %s, missing %s" % (
                               user, len(got), len(want), len(maybe),
                               sorted(got - want)[:3],
                               sorted(maybe - got)[:3]))
            self.present[user] = got
        self.quitting.clear()
        assert not bad, "after the cut:\n" + "\n".join(bad)
        print("pop3: %s" % {u: len(v) for u, v in self.present.items()})


def pop_worker(load, srv, user, drops):
    """Sessions that each delete the first messages and QUIT."""
    for _ in range(POP_MESSAGES // POP_DELE_PER_SESSION):
        p = srv.pop3s(user)
        count, _size = p.stat()
        if count == 0:
            p.quit()
            return
        gone = set()
        for i in range(1, min(count, POP_DELE_PER_SESSION) + 1):
            found = MSGID.search(b"\r\n".join(p.top(i, 0)[1]) + b"\r")
            gone.add(found.group(1).decode())
            assert p.dele(i).startswith(b"+OK")
        with drops.lock:
            drops.quitting[user] = gone
        assert p.quit().startswith(b"+OK")
        with drops.lock:
            drops.present[user] -= gone
            del drops.quitting[user]
        load.ack()


def pop_setup(srv, drops):
    for user in POP_USERS:
        drops.present[user] = set()
        for i in range(POP_MESSAGES):
            mid, msg = make_message("p-%s-%d" % (user, i))
            srv.send(user, msg)
            drops.msgs[mid] = msg
            drops.present[user].add(mid)


@pytest.mark.parametrize("cuts", [(2, 7, 8)])
def test_pop3_quit_power_cut(rig_factory, cuts):
    rig = rig_factory(POP_USERS)
    rig.srv.provision()
    drops = Drops()
    rig.srv.start()                 # set-up on a plain disk, before powerfs
    pop_setup(rig.srv, drops)
    rig.srv.stop_checked()
    for n in cuts:
        rig.mount()
        rig.srv.start()
        drops.check(rig.srv)
        load = Load()
        for user in POP_USERS:
            load.run(pop_worker, rig.srv, user, drops)
        rig.cut(load, n)
    rig.restart_plain()
    drops.check(rig.srv)
    rig.finish()
