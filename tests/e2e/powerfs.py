#!/usr/bin/python3
"""powerfs.py — a FUSE pass-through filesystem that remembers what a disk
would still hold after losing power, for Postel's power-cut tests
(test_powercut.py).

    powerfs.py BACKING MOUNTPOINT --mode strict|ext4

Every operation is passed to BACKING (so the server sees an ordinary
filesystem, page cache and all); beside it powerfs keeps the *durable*
state, changed only by the calls that make data durable:

  - a file's contents are durable as of its last fsync/fdatasync (a file
    never synced comes back empty); its owner and mode too;
  - names (create, mkdir, rename, link, unlink, rmdir):
      strict  POSIX: a directory's entries are durable as of its last
              fsync (fsync of a file does not make its name durable);
      ext4    one journal: any fsync (file or directory) makes every
              namespace change made so far durable, as ext4's data=ordered
              journal commit does — but not other files' contents
              (delayed allocation: unsynced data may be lost).
Files are followed by their backing inode, across renames and hard links;
an inode number reused after an unlink is a new file. Everything present
at mount time is durable.

Control, one command per line on stdin, one answer line on stdout:
  cut DEST     write the state after a power loss into DEST (a new
               directory), answer "ok"; call it after killing the writers
  stats        counts of fsync/fsyncdir calls seen ("ok fsync=N dirsync=M")
"ready" is printed once the filesystem is mounted. At EOF on stdin the
filesystem unmounts itself (so a dead test leaves no mount behind).
Needs root (allow_other), fuse3's /dev/fuse and Debian's python3-fusepy.
"""

import errno
import os
import stat
import subprocess
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations, fuse_get_context


class PowerFS(Operations):
    use_ns = True

    def __init__(self, backing, mountpoint, mode):
        self.root = os.path.realpath(backing)
        self.mnt = mountpoint
        self.mode = mode
        self.mu = threading.RLock()
        self.live = {}      # backing inode -> node id of the file it holds
        self.kind = {}      # id -> 'f' | 'd' | 'l'
        self.data = {}      # id -> durable contents (file) / target (link)
        self.dents = {}     # directory id -> {name: id}, durable entries
        self.meta = {}      # id -> (mode, uid, gid), durable
        self.nid = 0
        self.fsyncs = 0
        self.dirsyncs = 0
        self.root_id = self._scan(self.root)

    # -- the durable model ----------------------------------------------
    def _full(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def _new(self, st):
        self.nid += 1
        i = self.nid
        self.live[st.st_ino] = i
        if stat.S_ISDIR(st.st_mode):
            self.kind[i], self.dents[i] = "d", {}
        elif stat.S_ISLNK(st.st_mode):
            self.kind[i], self.data[i] = "l", ""
        else:
            self.kind[i], self.data[i] = "f", b""
        self.meta[i] = (st.st_mode, st.st_uid, st.st_gid)
        return i

    def _id(self, full, st=None):
        """The node of a backing path (a new one for an inode not seen
        before, e.g. a file created behind our back)."""
        st = st or os.lstat(full)
        i = self.live.get(st.st_ino)
        return i if i is not None else self._new(st)

    def _scan(self, full):
        """At mount: everything already there is durable."""
        st = os.lstat(full)
        i = self._new(st)
        if self.kind[i] == "d":
            for name in os.listdir(full):
                self.dents[i][name] = self._scan(os.path.join(full, name))
        elif self.kind[i] == "l":
            self.data[i] = os.readlink(full)
        else:
            with open(full, "rb") as f:
                self.data[i] = f.read()
        return i

    def _commit_dir(self, full):
        """The directory's current entries become its durable ones."""
        st = os.lstat(full)
        d = self._id(full, st)
        self.meta[d] = (st.st_mode, st.st_uid, st.st_gid)
        ents = {}
        for name in os.listdir(full):
            p = os.path.join(full, name)
            try:
                cst = os.lstat(p)
            except FileNotFoundError:
                continue
            c = self._id(p, cst)
            if self.kind[c] == "l":
                self.data[c] = os.readlink(p)
            ents[name] = c
        self.dents[d] = ents
        return ents

    def _commit_all(self):
        """ext4's journal commit: every directory's entries and every
        inode's owner and mode (not file contents)."""
        for dp, _dns, fns in os.walk(self.root):
            self._commit_dir(dp)
            for name in fns:
                p = os.path.join(dp, name)
                try:
                    st = os.lstat(p)
                except FileNotFoundError:
                    continue
                i = self._id(p, st)
                self.meta[i] = (st.st_mode, st.st_uid, st.st_gid)

    def _sync_file(self, fh):
        st = os.fstat(fh)
        i = self.live.get(st.st_ino)
        if i is None or self.kind[i] != "f":
            return
        # Read through /proc: fh may be write-only, and the file may
        # have been unlinked already.
        fd = os.open("/proc/self/fd/%d" % fh, os.O_RDONLY)
        try:
            chunks = []
            off = 0
            while True:
                b = os.pread(fd, 1 << 20, off)
                if not b:
                    break
                chunks.append(b)
                off += len(b)
        finally:
            os.close(fd)
        self.data[i] = b"".join(chunks)
        self.meta[i] = (st.st_mode, st.st_uid, st.st_gid)

    def cut(self, dest):
        """Writes the durable tree into dest (which must not exist)."""
        with self.mu:
            os.mkdir(dest)
            made = {}

            def put(i, path):
                mode, uid, gid = self.meta[i]
                k = self.kind[i]
                if k == "d":
                    if path != dest:
                        os.mkdir(path)
                    for name, c in self.dents[i].items():
                        put(c, os.path.join(path, name))
                elif k == "l":
                    os.symlink(self.data[i], path)
                    os.lchown(path, uid, gid)
                    return
                elif i in made:
                    os.link(made[i], path)
                    return
                else:
                    with open(path, "wb") as f:
                        f.write(self.data[i])
                    made[i] = path
                os.chown(path, uid, gid)
                os.chmod(path, stat.S_IMODE(mode))

            put(self.root_id, dest)

    # -- pass-through operations ----------------------------------------
    def _own(self, full):
        """A new name belongs to the caller, as on a real filesystem (we
        run as root)."""
        uid, gid, _pid = fuse_get_context()
        os.lchown(full, uid, gid)
        return os.lstat(full)

    def access(self, path, amode):
        if not os.access(self._full(path), amode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        os.chmod(self._full(path), mode)

    def chown(self, path, uid, gid):
        os.lchown(self._full(path), uid, gid)

    def getattr(self, path, fh=None):
        try:
            st = os.fstat(fh) if path is None and fh else \
                os.lstat(self._full(path))
        except OSError as e:
            raise FuseOSError(e.errno)
        attrs = {k: getattr(st, k) for k in (
            "st_gid", "st_mode", "st_nlink", "st_size", "st_uid", "st_blocks",
            "st_ino")}
        for k in ("st_atime", "st_ctime", "st_mtime"):  # use_ns
            attrs[k] = getattr(st, k + "_ns")
        return attrs

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._full(path))

    def readlink(self, path):
        return os.readlink(self._full(path))

    def mknod(self, path, mode, dev):
        with self.mu:
            os.mknod(self._full(path), mode, dev)
            self._new(self._own(self._full(path)))

    def mkdir(self, path, mode):
        with self.mu:
            os.mkdir(self._full(path), mode)
            self._new(self._own(self._full(path)))

    def symlink(self, name, target):
        with self.mu:
            os.symlink(target, self._full(name))
            i = self._new(self._own(self._full(name)))
            self.data[i] = target

    def create(self, path, mode, fi=None):
        with self.mu:
            full = self._full(path)
            fd = os.open(full, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
            self._new(self._own(full))
            return fd

    def rmdir(self, path):
        os.rmdir(self._full(path))

    def unlink(self, path):
        os.unlink(self._full(path))

    def rename(self, old, new):
        os.rename(self._full(old), self._full(new))

    def link(self, target, source):
        os.link(self._full(source), self._full(target))

    def utimens(self, path, times=None):
        os.utime(self._full(path), ns=times) if times else \
            os.utime(self._full(path))

    def open(self, path, flags):
        return os.open(self._full(path), flags & ~os.O_CREAT)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._full(path), length)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)

    def statfs(self, path):
        st = os.statvfs(self._full(path))
        return {k: getattr(st, k) for k in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail",
            "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}

    def fsync(self, path, datasync, fh):
        with self.mu:
            self.fsyncs += 1
            self._sync_file(fh)
            if self.mode == "ext4":
                self._commit_all()

    def fsyncdir(self, path, datasync, fh):
        with self.mu:
            self.dirsyncs += 1
            if self.mode == "ext4":
                self._commit_all()
            else:
                self._commit_dir(self._full(path))

    # -- control ----------------------------------------------------------
    def init(self, path):
        threading.Thread(target=self._control, daemon=True).start()

    def _control(self):
        print("ready", flush=True)
        for line in sys.stdin:
            words = line.split()
            try:
                if len(words) == 2 and words[0] == "cut":
                    self.cut(words[1])
                    print("ok", flush=True)
                elif words == ["stats"]:
                    print("ok fsync=%d dirsync=%d" % (
                        self.fsyncs, self.dirsyncs), flush=True)
                else:
                    print("err unknown command", flush=True)
            except Exception as e:      # answer, so the test fails clearly
                print("err %r" % (e,), flush=True)
        subprocess.run(["fusermount", "-u", "-z", self.mnt], check=False)


def main(argv):
    if len(argv) != 5 or argv[3] != "--mode" or \
            argv[4] not in ("strict", "ext4"):
        sys.stderr.write(__doc__)
        return 2
    os.umask(0)     # the kernel already applied the caller's umask
    fs = PowerFS(argv[1], argv[2], argv[4])
    FUSE(fs, argv[2], foreground=True, allow_other=True,
         default_permissions=True, hard_remove=True, fsname="powerfs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
