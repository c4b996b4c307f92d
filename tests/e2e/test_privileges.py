"""Root and the service account: started as root, postel
never follows a link the `postel` user planted, never hands over a directory
it did not create, and reloads a root-only key on SIGHUP through its key
helper while the server itself still cannot open that key.

The victims are temporary root-owned files and directories, never system
files."""

import hashlib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import (POSTEL_BIN, SOCK_TIMEOUT, Server, assert_no_sanitizer,
                      try_serve,
                      simple_message, unique)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

START_FAIL_TIMEOUT = 20.0


def service_ids():
    pw = pwd.getpwnam("postel")
    return pw.pw_uid, pw.pw_gid


def try_start(srv):
    """Runs `postel serve` expecting it to refuse to start. Returns
    (started, stderr); a server that does become ready is stopped."""
    started, text, _ = try_serve(srv, START_FAIL_TIMEOUT)
    return started, text


def start_fails(srv):
    started, text = try_start(srv)
    assert not started, "server started:\n" + text
    return text


class Victim:
    """A root-owned temporary file standing in for /etc/passwd."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="postel-victim-")
        self.path = os.path.join(self.dir, "passwd")
        with open(self.path, "w") as f:
            f.write("root:x:0:0:root:/root:/bin/bash\n")
        os.chmod(self.path, 0o644)
        self.before = self.state()

    def state(self):
        st = os.stat(self.path)
        with open(self.path, "rb") as f:
            data = f.read()
        return (data, st.st_uid, st.st_gid, st.st_mode,
                sorted(os.listdir(self.dir)), os.stat(self.dir).st_uid)

    def assert_untouched(self):
        assert self.state() == self.before

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def victim():
    v = Victim()
    yield v
    v.cleanup()


@pytest.fixture
def fresh():
    """A provisioned data dir (owned by postel), never started."""
    srv = Server()
    srv.provision()
    yield srv
    srv.cleanup()


def plant(path, target):
    """What the postel user can do in its own data dir: a symlink it owns."""
    uid, gid = service_ids()
    os.symlink(target, path)
    os.lchown(path, uid, gid)


def postel_dir(path):
    uid, gid = service_ids()
    os.mkdir(path, 0o750)
    os.chown(path, uid, gid)


# -- hole 4: links planted in DATA_DIR/tls -----------------------------------

def test_planted_key_link_is_not_followed(fresh, victim):
    tls = os.path.join(fresh.dir, "tls")
    postel_dir(tls)
    plant(os.path.join(tls, "key.pem"), victim.path)
    started, err = try_start(fresh)
    victim.assert_untouched()
    assert not started
    assert "key.pem" in err and "cert.pem" in err, err
    # No certificate was made beside the planted key either.
    assert not os.path.lexists(os.path.join(tls, "cert.pem"))


def test_planted_links_for_both_files_are_not_followed(fresh, victim):
    tls = os.path.join(fresh.dir, "tls")
    postel_dir(tls)
    plant(os.path.join(tls, "key.pem"), victim.path)
    plant(os.path.join(tls, "cert.pem"), victim.path)
    started, err = try_start(fresh)
    victim.assert_untouched()
    assert not started
    assert "symbolic link" in err, err


def test_planted_dangling_link_is_not_created_through(fresh, victim):
    tls = os.path.join(fresh.dir, "tls")
    postel_dir(tls)
    target = os.path.join(victim.dir, "new-file")
    plant(os.path.join(tls, "key.pem"), target)
    plant(os.path.join(tls, "cert.pem"), target + "2")
    started, _ = try_start(fresh)
    assert not os.path.lexists(target)
    assert not os.path.lexists(target + "2")
    victim.assert_untouched()
    assert not started


def test_planted_tls_dir_link_is_not_followed(fresh, victim):
    plant(os.path.join(fresh.dir, "tls"), victim.dir)
    started, err = try_start(fresh)
    victim.assert_untouched()
    assert not started
    assert "tls" in err and "symbolic link" in err, err


def test_one_file_of_the_pair_missing_is_an_error(fresh):
    fresh.start()
    fresh.stop_checked()
    key = os.path.join(fresh.dir, "tls", "key.pem")
    with open(key, "rb") as f:
        key_bytes = f.read()
    os.unlink(fresh.cert_path)
    err = start_fails(fresh)
    assert "cert.pem is missing" in err, err
    with open(key, "rb") as f:
        assert f.read() == key_bytes
    assert not os.path.exists(fresh.cert_path)


# -- hole 5: the data dir ------------------------------------------------------

def run_cli(data_dir, *args, stdin=""):
    r = subprocess.run([POSTEL_BIN, "--data", data_dir] + list(args),
                       input=stdin, capture_output=True, text=True,
                       timeout=30)
    assert_no_sanitizer(r.stderr, "cli")
    return r


def test_existing_root_dir_is_not_handed_over():
    d = tempfile.mkdtemp(prefix="postel-etc-")
    try:
        with open(os.path.join(d, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n")
        before = os.stat(d)
        r = run_cli(d, "user", "list")
        assert r.returncode != 0
        assert "already exists" in r.stderr and "postel" in r.stderr, \
            r.stderr
        after = os.stat(d)
        assert (after.st_uid, after.st_gid, after.st_mode) == \
            (before.st_uid, before.st_gid, before.st_mode)
        assert os.listdir(d) == ["hosts"]
        # serve refuses it the same way.
        srv = Server()
        try:
            os.chown(srv.dir, 0, 0)
            err = start_fails(srv)
            assert "already exists" in err, err
            assert os.stat(srv.dir).st_uid == 0
        finally:
            srv.cleanup()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_cli_creates_a_missing_nested_data_dir():
    base = tempfile.mkdtemp(prefix="postel-nest-")
    os.chmod(base, 0o755)
    try:
        data = os.path.join(base, "a", "b", "data")
        r = run_cli(data, "domain", "add", "nested.test")
        assert r.returncode == 0, r.stderr
        uid, _ = service_ids()
        assert os.stat(data).st_uid == uid
        for p in (os.path.join(base, "a"), os.path.join(base, "a", "b")):
            st = os.stat(p)
            assert st.st_uid == 0 and st.st_mode & 0o777 == 0o755, p
        r = run_cli(data, "domain", "list")
        assert r.returncode == 0 and "nested.test" in r.stdout, r.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_data_dir_through_a_planted_link_is_refused(victim):
    base = tempfile.mkdtemp(prefix="postel-lnk-")
    os.chmod(base, 0o755)
    try:
        postel_dir(os.path.join(base, "home"))
        # The postel user points its directory at root's.
        plant(os.path.join(base, "home", "spool"), victim.dir)
        r = run_cli(os.path.join(base, "home", "spool", "data"),
                    "user", "list")
        assert r.returncode != 0
        assert "symbolic link" in r.stderr, r.stderr
        victim.assert_untouched()
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- hole 6: SIGHUP with a root-only key --------------------------------------

def make_pair(dirpath, cn, prefix=""):
    cert = os.path.join(dirpath, prefix + "cert.pem")
    key = os.path.join(dirpath, prefix + "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=%s" % cn, "-days", "2",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    for p in (cert, key):
        os.chown(p, 0, 0)
        os.chmod(p, 0o600)
    return cert, key


def pem_fingerprint(path):
    with open(path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def served_fingerprint(srv, proto="submissions"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(srv.listen[proto],
                                  timeout=SOCK_TIMEOUT) as s:
        with ctx.wrap_socket(s) as t:
            return hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()


def reload_and_wait(srv, marker):
    """SIGHUP, then waits (bounded) for one more tls_reload line."""
    n = srv.stderr_text().count(marker)
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while srv.stderr_text().count(marker) <= n:
        assert time.monotonic() < deadline, srv.stderr_tail()
        time.sleep(0.1)


def test_sighup_reloads_a_root_only_key(server_factory):
    keydir = tempfile.mkdtemp(prefix="postel-le-")  # root 0700
    try:
        cert, key = make_pair(keydir, "first.test")
        srv = server_factory(config={"cert": cert, "key": key})
        with open("/proc/%d/status" % srv.proc.pid) as f:
            uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
        assert all(int(u) == service_ids()[0] for u in uids), uids
        assert served_fingerprint(srv) == pem_fingerprint(cert)

        new_cert, new_key = make_pair(keydir, "second.test", "new-")
        os.replace(new_key, key)
        os.replace(new_cert, cert)
        reload_and_wait(srv, "info event=tls_reload")
        second = pem_fingerprint(cert)
        assert served_fingerprint(srv) == second
        assert served_fingerprint(srv, "pop3s") == second
        # Mail still flows over the reloaded certificate.
        token = unique("reload-root")
        srv.send(["alice@example.test"], simple_message(token))

        # A broken certificate: the one in use stays, an error is logged.
        with open(cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n"
                    "-----END CERTIFICATE-----\n")
        reload_and_wait(srv, "error event=tls_reload")
        assert served_fingerprint(srv) == second
        # A certificate that does not match the key: the same.
        other_cert, _ = make_pair(keydir, "third.test", "other-")
        os.replace(other_cert, cert)
        reload_and_wait(srv, "error event=tls_reload")
        assert served_fingerprint(srv) == second
        assert "key does not match" in srv.stderr_text()
        srv.check_alive()
    finally:
        shutil.rmtree(keydir, ignore_errors=True)


def test_key_helper_does_not_follow_a_planted_link(server_factory, victim):
    """The helper reads as root: a link the postel user plants over the
    default key must not make it read (and hand over) a root-only file."""
    srv = server_factory()
    first = served_fingerprint(srv)
    os.chmod(victim.path, 0o600)
    victim.before = victim.state()
    key = os.path.join(srv.dir, "tls", "key.pem")
    os.unlink(key)
    plant(key, victim.path)
    reload_and_wait(srv, "error event=tls_reload")
    assert "symbolic link" in srv.stderr_text()
    assert served_fingerprint(srv) == first
    victim.assert_untouched()
