"""Packaging (issue 13): `make install` honours DESTDIR and PREFIX and
installs the binary, the manual pages, the systemd unit (with sysusers.d and
tmpfiles.d files), an example configuration it never overwrites, and the
fail2ban and logrotate examples; `systemd-analyze verify` accepts the unit;
both manual pages render without a warning (groff -ww, mandoc -T lint) and
name every command and configuration key; and the server starts, serves,
reloads and stops under exactly the unit's capability bounding set with
no_new_privs, telling systemd READY=1 and STOPPING=1 (Type=notify)."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from conftest import POSTEL_BIN, REPO, Server, serve_argv

UNIT_IN = os.path.join(REPO, "contrib", "systemd", "postel.service.in")
MAN8 = os.path.join(REPO, "docs", "man", "postel.8")
MAN5 = os.path.join(REPO, "docs", "man", "postel.conf.5")


def make_install(*args):
    r = subprocess.run(["make", "-C", REPO, "install"] + list(args),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_make_install_into_destdir(tmp_path):
    dest = tmp_path / "stage"
    make_install("DESTDIR=%s" % dest, "PREFIX=/usr")
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*")
                   if p.is_file())
    assert files == [
        "etc/postel/postel.conf",
        "usr/lib/systemd/system/postel.service",
        "usr/lib/sysusers.d/postel.conf",
        "usr/lib/tmpfiles.d/postel.conf",
        "usr/sbin/postel",
        "usr/share/doc/postel/examples/fail2ban/filter.d/postel.conf",
        "usr/share/doc/postel/examples/fail2ban/jail.d/postel.conf",
        "usr/share/doc/postel/examples/logrotate.postel",
        "usr/share/man/man5/postel.conf.5",
        "usr/share/man/man8/postel.8",
    ]
    assert os.stat(dest / "usr/sbin/postel").st_mode & 0o777 == 0o755
    assert os.stat(dest / "usr/share/man/man8/postel.8").st_mode & 0o777 \
        == 0o644
    unit = (dest / "usr/lib/systemd/system/postel.service").read_text()
    assert "ExecStart=/usr/sbin/postel --config /etc/postel/postel.conf " \
        "serve\n" in unit
    assert "@" not in re.sub(r"(?m)^#.*$", "", unit).replace("@system", "")
    r = subprocess.run([str(dest / "usr/sbin/postel"), "version"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("postel "), r
    # The example config never replaces the administrator's.
    (dest / "etc/postel/postel.conf").write_text("hostname = mine\n")
    make_install("DESTDIR=%s" % dest, "PREFIX=/usr")
    assert (dest / "etc/postel/postel.conf").read_text() == \
        "hostname = mine\n"
    # The example configuration is one the server reads.
    srv = Server()
    try:
        r = subprocess.run([POSTEL_BIN, "--config", os.path.join(
            REPO, "contrib", "postel.conf"), "--data", srv.dir, "domain",
            "list"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    finally:
        srv.cleanup()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze missing (apt-get install systemd)")
def test_systemd_analyze_verify(tmp_path):
    # A real PREFIX install, so the ExecStart binary and the man pages of
    # Documentation= exist where the unit says.
    prefix = tmp_path / "prefix"
    make_install("PREFIX=%s" % prefix, "SYSCONFDIR=%s/etc" % prefix)
    unit = prefix / "lib/systemd/system/postel.service"
    assert "ExecStart=%s/sbin/postel " % prefix in unit.read_text()
    r = subprocess.run(["systemd-analyze", "verify", str(unit)],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ,
                                MANPATH=str(prefix / "share/man")))
    assert r.returncode == 0 and r.stdout + r.stderr == "", \
        r.stdout + r.stderr


@pytest.mark.parametrize("page", [MAN8, MAN5])
def test_man_pages_render_without_warnings(page):
    r = subprocess.run(["groff", "-ww", "-man", "-z", page],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    if shutil.which("mandoc"):
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "style", page],
                           capture_output=True, text=True, timeout=60)
        assert r.stdout + r.stderr == "", r.stdout + r.stderr
    r = subprocess.run(["man", "-l", page], capture_output=True,
                       timeout=60, env=dict(os.environ, MANPAGER="cat",
                                            PAGER="cat", MANWIDTH="80"))
    assert r.returncode == 0 and b"NAME" in r.stdout and r.stderr == b"", \
        r.stderr


def test_man_conf_page_is_generated_from_config_md():
    r = subprocess.run([sys.executable, os.path.join(
        REPO, "scripts", "gen-man-conf.py")], capture_output=True,
        text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    with open(MAN5) as f:
        assert f.read() == r.stdout, \
            "run: python3 scripts/gen-man-conf.py > docs/man/postel.conf.5"


def test_man_pages_name_every_command_and_key():
    with open(os.path.join(REPO, "src", "server", "config_file.c")) as f:
        keys = re.findall(r'^\s*(?:K\w+\(|\{ )"([a-z0-9_]+)"', f.read(),
                          re.M)
    assert "log" in keys and "listen" in keys and len(keys) > 50
    man5 = subprocess.run(["man", "-l", MAN5], capture_output=True,
                          text=True, timeout=60,
                          env=dict(os.environ, MANPAGER="cat",
                                   MANWIDTH="200")).stdout
    man5 = re.sub(r"\u2010\n\s*", "", man5)
    with open(os.path.join(REPO, "docs", "CONFIG.md")) as f:
        config_md = f.read()
    for k in keys:
        assert "`%s`" % k in config_md, k
        assert re.search(r"\b%s\b" % k, man5), k
    usage = subprocess.run([POSTEL_BIN, "--help"], capture_output=True,
                           text=True, timeout=30).stdout
    with open(MAN8) as f:
        man8 = f.read().replace("\\-", "-")
    words = set(re.findall(r"[a-z][a-z-]+[a-z]", usage))
    words -= {"usage", "postel", "where", "would", "go", "exit",
              "routable", "not", "mail", "for"}
    for w in sorted(words):
        assert w in man8, w
    for proto in ("smtp", "submission", "submissions", "pop3", "pop3s",
                  "imap", "imaps"):
        assert "\n.BR %s" % proto in man8 or "\n.BR %s ," % proto in man8


def unit_capabilities():
    with open(UNIT_IN) as f:
        text = f.read()
    caps = re.search(r"^CapabilityBoundingSet=(.*)$", text, re.M).group(1)
    assert re.search(r"^NoNewPrivileges=yes$", text, re.M)
    assert re.search(r"^Type=notify$", text, re.M)
    return ["+" + c.lower()[4:] for c in caps.split()]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv (util-linux)")
def test_serves_under_the_units_capabilities_and_notifies():
    srv = Server()
    # In the data dir's parent: the server sends after dropping to postel.
    notify = os.path.join(srv.dir, "notify.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(notify)
    os.chmod(notify, 0o666)
    rx.settimeout(20)
    try:
        srv.provision()
        argv = ["setpriv", "--bounding-set",
                "-all," + ",".join(unit_capabilities()),
                "--no-new-privs"] + serve_argv(srv)
        with open(srv.stdout_path, "ab") as out, \
                open(srv.stderr_path, "ab") as err:
            srv.proc = subprocess.Popen(
                argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                env=dict(os.environ, NOTIFY_SOCKET=notify))
        try:
            assert rx.recv(256) == b"READY=1"
        except socket.timeout:
            raise AssertionError(srv.stderr_tail())
        # The first start made the certificate as root, inside the
        # service user's directory, under the bounding set.
        assert os.path.exists(srv.cert_path)
        m = srv.imaps("alice@example.test")
        m.logout()
        srv.proc.send_signal(signal.SIGHUP)   # the key helper rereads
        assert srv.wait_log(lambda l: "event=tls_reload cert=" in l)
        srv.proc.send_signal(signal.SIGTERM)
        assert rx.recv(256) == b"STOPPING=1"
        assert srv.proc.wait(20) == 0, srv.stderr_tail()
        srv.proc = None
        srv.check_sanitizer()
    finally:
        rx.close()
        srv.cleanup()
