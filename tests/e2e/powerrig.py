"""The power-cut rig of test_powercut.py: powerfs.py mounts driven over
their stdin/stdout, a load of client threads that record what the server
acknowledged, a server whose data directory is on powerfs and is cut and
restarted in rounds, and the checks of a cut image against its database."""

import collections
import os
import re
import select
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time

from conftest import HERE, Server, give_to_service_user

POWERFS = os.path.join(HERE, "powerfs.py")
MOUNT_TIMEOUT = 15.0
LOAD_TIMEOUT = 20.0     # a round's load never runs longer
JOIN_TIMEOUT = 15.0
MSGID = re.compile(rb"^Message-ID: <([^>]+)>\r$", re.M)

# -- powerfs -----------------------------------------------------------------
class PowerFs:
    """One powerfs mount of backing on mnt, driven over its stdin/stdout."""

    def __init__(self, backing, mnt, mode, log_path):
        self.mnt = mnt
        os.makedirs(mnt, exist_ok=True)
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", POWERFS, backing, mnt, "--mode", mode],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.buf = b""
        try:
            assert self._answer(MOUNT_TIMEOUT) == "ready", "powerfs not ready"
            assert os.path.ismount(mnt), "powerfs is not mounted"
        except BaseException:
            self.stop()
            raise

    def _answer(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise AssertionError("powerfs: no answer (exit %r): %s" % (
                    self.proc.poll(), self.log_tail()))
            if select.select([self.proc.stdout], [], [], left)[0]:
                b = os.read(self.proc.stdout.fileno(), 4096)
                if not b:
                    time.sleep(0.05)
                self.buf += b
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def log_tail(self):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return f.read()[-3000:].decode("utf-8", "replace")

    def cmd(self, text, timeout=60.0):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()
        ans = self._answer(timeout)
        assert ans.startswith("ok"), "powerfs %s: %s" % (text, ans)
        return ans

    def cut(self, dest):
        """The state after a power loss, written into dest (new)."""
        self.cmd("cut " + dest)

    def stop(self):
        """Unmounts (powerfs does at EOF on its stdin) and waits."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            subprocess.run(["fusermount", "-u", "-z", self.mnt],
                           check=False)
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


_fuse_state = {}


def fuse_usable(work):
    """None when a powerfs can be mounted here, else why not (cached)."""
    if "why" in _fuse_state:
        return _fuse_state["why"]
    why = None
    if os.geteuid() != 0:
        why = "powerfs needs root (allow_other, chown)"
    else:
        try:
            os.close(os.open("/dev/fuse", os.O_RDWR))
        except OSError as e:
            why = "/dev/fuse unusable: %s" % os.strerror(e.errno)
    if why is None:
        back, mnt = os.path.join(work, "probe"), os.path.join(work, "pmnt")
        os.mkdir(back)
        try:
            PowerFs(back, mnt, "strict", os.path.join(work, "probe.log")) \
                .stop()
        except AssertionError as e:
            text = str(e)
            # Only a refused mount skips; any other failure is a failure.
            if "ermission denied" not in text and \
                    "not permitted" not in text:
                raise
            why = "cannot mount a FUSE filesystem here: %s" % text[-300:]
    _fuse_state["why"] = why
    return why


# -- load: workers that record what was acknowledged -----------------------
class Load:
    """Worker threads running until the server is killed. A worker
    records each acknowledgement as it reads it; an error before the kill
    fails the test, errors after it are the expected end of the round."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acks = 0
        self.errors = []
        self.killed = threading.Event()
        self.threads = []

    def ack(self):
        with self.lock:
            self.acks += 1

    def run(self, fn, *args):
        def body():
            try:
                fn(self, *args)
            except Exception as e:
                if not self.killed.is_set():
                    self.errors.append("%s: %r" % (fn.__name__, e))
        t = threading.Thread(target=body, daemon=True)
        self.threads.append(t)
        t.start()

    def cut_after(self, srv, n):
        """Waits (bounded) for n acknowledgements, then kill -9."""
        deadline = time.monotonic() + LOAD_TIMEOUT
        while time.monotonic() < deadline and not self.errors:
            with self.lock:
                if self.acks >= n:
                    break
            if not any(t.is_alive() for t in self.threads):
                break
            time.sleep(0.005)
        self.killed.set()
        srv.kill9()
        for t in self.threads:
            t.join(JOIN_TIMEOUT)
        assert not any(t.is_alive() for t in self.threads), "workers hung"
        assert not self.errors, "error before the cut: %s" % self.errors
        assert self.acks >= 1, "nothing acknowledged before the cut"


# -- the rig: a server on powerfs, cut and restarted in rounds -------------
class Rig:
    def __init__(self, mode, users):
        self.mode = mode
        self.work = tempfile.mkdtemp(prefix="postel-power-")
        os.chmod(self.work, 0o755)
        self.srv = Server(users=users)
        self.conf_dir = self.srv.dir        # config and logs stay here
        self.fs = None
        self.rounds = 0
        self.srv.dir = self._image(0)
        os.mkdir(self.srv.dir, 0o750)
        give_to_service_user(self.srv.dir)

    def _image(self, k):
        return os.path.join(self.work, "d%d" % k)

    def mount(self):
        """The current image under powerfs; the server's data dir is the
        mount point."""
        self.fs = PowerFs(self.srv.dir, os.path.join(self.work, "mnt"),
                          self.mode, os.path.join(self.work, "powerfs.log"))
        self.srv.dir = self.fs.mnt

    def cut(self, load, n):
        """kill -9 after n acknowledgements, power lost: the next image."""
        load.cut_after(self.srv, n)
        self.power_cut(load.acks)

    def power_cut(self, acks=0):
        """The power goes: the image a disk would hold, for the next
        round (the writers are gone already)."""
        self.rounds += 1
        dest = self._image(self.rounds)
        self.fs_stats = self.fs.cmd("stats")
        self.fs.cut(dest)
        self.fs.stop()
        self.fs = None
        self.srv.dir = dest
        # Shown when a test fails: what the round did.
        size = {f: os.path.getsize(os.path.join(dest, f))
                if os.path.exists(os.path.join(dest, f)) else -1
                for f in ("postel.db", "postel.db-wal")}
        print("%s round %d: %d acknowledged, powerfs %s, sizes %s" % (
            self.mode, self.rounds, acks, self.fs_stats, size))
        check_store_image(dest)

    def restart_plain(self):
        """The last image on a plain disk, as a restart some time after
        the power came back finds it (message files an hour old, so the
        start-up sweep considers them); waits for the sweep to end."""
        old = time.time() - 3600
        for dp, _dns, fns in os.walk(os.path.join(self.srv.dir, "msg")):
            for name in fns:
                os.utime(os.path.join(dp, name), (old, old))
        before = len(self.sweeps())
        self.srv.start()
        deadline = time.monotonic() + 20
        while len(self.sweeps()) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        done = self.sweeps()[before:]
        assert done and " errors=0" in done[0], "sweep: %s" % done

    def sweeps(self):
        return [ln for ln in self.srv.stderr_text().splitlines()
                if " event=sweep " in ln]

    def finish(self):
        """Stops the last server; its data directory, swept, holds no
        message file that no row refers to."""
        self.srv.stop_checked()
        check_store_image(self.srv.dir, swept=True)

    def close(self):
        if self.srv.proc is not None:
            self.srv.proc.kill()
            self.srv.proc.wait(5)
            self.srv.proc = None
        if self.fs is not None:
            self.fs.stop()
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.conf_dir, ignore_errors=True)


# -- checks ------------------------------------------------------------------
def check_store_image(d, swept=False):
    """The database of a cut image against its message files (read from a
    copy, so the image is left as the power cut made it). swept: the
    start-up sweep has run, so no unreferenced message file is left."""
    assert os.path.isfile(os.path.join(d, "postel.db")), \
        "the database itself was lost"
    tmp = tempfile.mkdtemp(prefix="postel-image-")
    try:
        for suffix in ("", "-wal"):
            src = os.path.join(d, "postel.db" + suffix)
            if os.path.exists(src):
                shutil.copy(src, tmp)
        db = sqlite3.connect(os.path.join(tmp, "postel.db"))
        try:
            _check_db(db, d, swept)
        finally:
            db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_db(db, d, swept):
    bad = []
    files = set()
    for dp, _dns, fns in os.walk(os.path.join(d, "msg")):
        files |= {os.path.relpath(os.path.join(dp, f), d) for f in fns}
    paths = {p for (p,) in db.execute("SELECT path FROM blobs")}
    if swept and files - paths:
        bad.append("unreferenced files after the sweep: %s" % sorted(
            files - paths)[:3])
    ok = db.execute("PRAGMA integrity_check").fetchone()[0]
    assert ok == "ok", "database damaged: %s" % ok
    # A blob's references: its messages, and (schema 5) the queued
    # message that holds one while it waits for the next hop.
    queued = ("(SELECT COUNT(*) FROM queue_msgs q WHERE q.blob_id = b.id)"
              if db.execute("SELECT 1 FROM sqlite_master WHERE"
                            " name = 'queue_msgs'").fetchone() else "0")
    for bid, path, size, ref, n in db.execute(
            "SELECT b.id, b.path, b.size, b.refcount, (SELECT COUNT(*) "
            "FROM messages m WHERE m.blob_id = b.id) + %s "
            "FROM blobs b" % queued):
        fp = os.path.join(d, path)
        if path.startswith("db/"):
            # Schema 8: a body kept in the database, committed with the
            # rows that reference it; its key is the path's hex number.
            key = int(path[3:], 16)
            key = key - (1 << 64) if key >= 1 << 63 else key
            got = db.execute("SELECT length(data) FROM blob_data"
                             " WHERE id = ?", (key,)).fetchone()
            if got is None:
                bad.append("blob %d: no stored body %s" % (bid, path))
            elif got[0] != size:
                bad.append("blob %d: %s has %d octets, row says %d" % (
                    bid, path, got[0], size))
        elif not os.path.isfile(fp):
            bad.append("blob %d: no file %s" % (bid, path))
        elif os.path.getsize(fp) != size:
            bad.append("blob %d: %s has %d octets, row says %d" % (
                bid, path, os.path.getsize(fp), size))
        if ref != n or n == 0:
            bad.append("blob %d: refcount %d, %d references" % (bid, ref,
                                                               n))
    for (mid,) in db.execute(
            "SELECT m.id FROM messages m LEFT JOIN blobs b "
            "ON b.id = m.blob_id WHERE b.id IS NULL"):
        bad.append("message %d without its blob" % mid)
    for row in db.execute(
            "SELECT mb.name, mb.messages, mb.size, COUNT(m.id), "
            "COALESCE(SUM(m.size), 0) FROM mailboxes mb "
            "LEFT JOIN messages m ON m.mailbox_id = mb.id GROUP BY mb.id"):
        if row[1] != row[3] or row[2] != row[4]:
            bad.append("mailbox %s: counters %d/%d, rows %d/%d" % row)
    assert not bad, "cut image inconsistent:\n" + "\n".join(bad[:20])
    print("image: %d message files, %d rows, %d unreferenced" % (
        len(files), len(paths), len(files - paths)))


def mailbox_contents(srv, user, boxes):
    """{(box, message-id): [raw bytes, ...]} over IMAPS; every message
    must carry a Message-ID."""
    out = collections.defaultdict(list)
    m = srv.imaps(user)
    try:
        for box in boxes:
            typ, data = m.select(box, readonly=True)
            assert typ == "OK", (box, data)
            if int(data[0]) == 0:
                continue
            typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
            assert typ == "OK", data
            for item in data:
                if not isinstance(item, tuple):
                    continue
                found = MSGID.search(item[1])
                assert found, "message without Message-ID in %s" % box
                out[(box, found.group(1).decode())].append(item[1])
    finally:
        m.logout()
    return out
