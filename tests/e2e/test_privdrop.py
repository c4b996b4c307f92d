"""The privilege drop as the kernel sees it
(src/server/privdrop.c): started as root with supplementary groups, the
serving process ends with every uid and gid (real, effective, saved,
filesystem) the service user's, no supplementary group but its own and no
capability, in every thread; and the "cannot regain root" check after the
drop is observable: a `user` that is root by uid makes the server refuse to
start. tests/unit/test_privdrop.c tries setuid(0) after the drop itself."""

import os
import pwd
import subprocess

import pytest

from conftest import Server, try_serve

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

# Groups the server is started with, so the test sees them dropped even
# when the test runner itself has none.
START_GROUPS = [0, 4242]
START_FAIL_TIMEOUT = 20.0


def status_fields(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def test_serving_process_has_no_way_back_to_root(server_factory,
                                                  monkeypatch):
    orig = subprocess.Popen

    def popen(*a, **kw):
        kw.setdefault("extra_groups", START_GROUPS)
        return orig(*a, **kw)

    monkeypatch.setattr(subprocess, "Popen", popen)
    srv = server_factory()
    monkeypatch.undo()
    pw = pwd.getpwnam("postel")
    assert pw.pw_uid != 0 and pw.pw_gid != 0
    tasks = os.listdir("/proc/%d/task" % srv.proc.pid)
    assert len(tasks) > 1  # the worker threads are there too
    checked = False
    for tid in tasks:
        try:
            st = status_fields("/proc/%d/task/%s/status" %
                               (srv.proc.pid, tid))
        except FileNotFoundError:
            continue  # a thread that ended meanwhile holds nothing
        checked = True
        assert [int(u) for u in st["Uid"]] == [pw.pw_uid] * 4, (tid, st)
        assert [int(g) for g in st["Gid"]] == [pw.pw_gid] * 4, (tid, st)
        # Root's groups (0 and 4242 here) are gone: at most its own.
        assert set(int(g) for g in st["Groups"]) <= {pw.pw_gid}, (tid, st)
        # No capability left that could undo the drop.
        assert int(st["CapPrm"][0], 16) == 0, (tid, st)
        assert int(st["CapEff"][0], 16) == 0, (tid, st)
    assert checked
    # And it serves.
    p = srv.pop3s("alice@example.test")
    p.quit()


def test_user_with_uid_zero_is_refused():
    # A `user` that resolves to uid 0 "drops" to root: setuid(0) still
    # works afterwards, and the check must refuse to serve.
    srv = Server(config={"user": "root"})
    try:
        os.chown(srv.dir, 0, 0)  # so the data dir check passes for root
        started, text, rc = try_serve(srv, START_FAIL_TIMEOUT)
        assert not started, "served as root:\n" + text
        assert rc != 0
        assert "regain root" in text, text
    finally:
        srv.cleanup()
