"""Shared fixtures for Postel's end-to-end tests.

Every test talks to a real `postel serve` process on loopback ports with a
temporary data directory (made with tempfile.mkdtemp in /tmp, because when the
tests run as root the server drops to the "postel" user and must be able to
reach the directory).

Fixtures:
  server          a server shared by one test module; the module may set
                  SERVER_CONFIG = {key: value} to add config keys.
  server_factory  make(config={...}, users={...}) -> a fresh Server for one
                  test (torn down after it).
  dns_server      make(zones) -> a test DNS server (tests/e2e/dnsserver.py)
Every server is stopped with SIGTERM at teardown; a non-zero exit status or
a sanitizer report in its stderr fails the test.
"""

import os
import poplib
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dnsfixture import dns_server  # noqa: E402,F401 - the fixture
REPO = os.path.dirname(os.path.dirname(HERE))
POSTEL_BIN = os.environ.get("POSTEL_BIN", os.path.join(REPO, "build", "postel"))

PROTOS = ("smtp", "submission", "submissions", "pop3", "pop3s", "imap",
          "imaps")
DOMAIN = "example.test"
USERS = {
    "alice@example.test": "alice-Secret-1",
    "bob@example.test": "bob-Secret-2",
}
BASE_CONFIG = {
    "hostname": "mail.test",
    "log_level": "info",
}
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0
SOCK_TIMEOUT = 10.0
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:",
           "ERROR: LeakSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


def free_ports(n, host="127.0.0.1"):
    """Returns n distinct free TCP ports on host (bound then released)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def give_to_service_user(path):
    """As root, chowns path to the service user, as an administrator does
    for a data directory made beforehand: postel only hands over a
    directory it creates itself and refuses an existing one owned by
    someone else."""
    if os.geteuid() != 0:
        return
    import pwd
    pw = pwd.getpwnam("postel")
    os.chown(path, pw.pw_uid, pw.pw_gid)


def unique(prefix="t"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


class Server:
    """One postel data directory plus (at most) one running process."""

    def __init__(self, config=None, users=None, listen=None, domains=None):
        self.dir = tempfile.mkdtemp(prefix="postel-test-")
        os.chmod(self.dir, 0o755)
        give_to_service_user(self.dir)
        self.config_path = os.path.join(self.dir, "postel.conf")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.host = "127.0.0.1"
        self.config = dict(BASE_CONFIG)
        self.config.update(config or {})
        self.users = dict(USERS if users is None else users)
        self.domains = list(domains or [DOMAIN])
        if listen is None:
            ports = free_ports(len(PROTOS))
            listen = {p: ("127.0.0.1", port)
                  for p, port in zip(PROTOS, ports)}
        self.listen = listen
        self.ports = {p: a[1] for p, a in listen.items()}
        self.proc = None
        self.kills = 0
        self._write_config()
        self._ctx = None

    # -- set-up --------------------------------------------------------
    def _write_config(self):
        with open(self.config_path, "w") as f:
            f.write("# written by tests/e2e/conftest.py\n")
            for k, v in self.config.items():
                f.write("%s = %s\n" % (k, v))
        os.chmod(self.config_path, 0o644)

    def cli(self, *args, password=None, stdin=None, check=False,
        timeout=30):
        """Runs `postel --data D --config F ARGS...`; CompletedProcess
        with text stdout/stderr."""
        argv = [POSTEL_BIN, "--data", self.dir, "--config",
            self.config_path] + list(args)
        if password is not None:
            stdin = password + "\n"
        r = subprocess.run(argv, input=stdin if stdin is not None else "",
                   capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("%s -> %d\nstdout: %s\nstderr: %s" %
                         (" ".join(args), r.returncode,
                          r.stdout, r.stderr))
        assert_no_sanitizer(r.stderr, "cli " + " ".join(args))
        return r

    def add_user(self, addr, password):
        self.cli("user", "add", addr, "--password-stdin",
             password=password, check=True)
        self.users[addr] = password

    def provision(self):
        for d in self.domains:
            self.cli("domain", "add", d, check=True)
        for addr, pw in self.users.items():
            self.cli("user", "add", addr, "--password-stdin",
                 password=pw, check=True)

    # -- process control -------------------------------------------------
    def start(self):
        assert self.proc is None
        argv = [POSTEL_BIN, "--data", self.dir, "--config",
            self.config_path, "serve"]
        for proto, (addr, port) in self.listen.items():
            a = "[%s]" % addr if ":" in addr else addr
            argv += ["--listen", "%s=%s:%d" % (proto, a, port)]
        out = open(self.stdout_path, "ab")
        err = open(self.stderr_path, "ab")
        self._ready_mark = os.path.getsize(self.stdout_path)
        try:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL)
        finally:
            out.close()
            err.close()
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            with open(self.stdout_path, "rb") as f:
                f.seek(self._ready_mark)
                if b"postel: ready" in f.read():
                    return
            if self.proc.poll() is not None:
                raise AssertionError(
                    "postel serve exited %d before ready:\n%s"
                    % (self.proc.returncode, self.stderr_tail()))
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait(5)
        self.proc = None
        raise AssertionError("postel serve not ready in %.0fs:\n%s" %
                     (READY_TIMEOUT, self.stderr_tail()))

    def stop(self):
        """SIGTERM; returns the exit status (None if not running)."""
        if self.proc is None:
            return None
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            return p.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
            return "hung after SIGTERM (killed)"

    def stop_checked(self):
        rc = self.stop()
        assert rc == 0, "postel serve exit status %r\n%s" % (
            rc, self.stderr_tail())
        self.check_sanitizer()

    def restart(self):
        self.stop_checked()
        self.start()

    def kill9(self):
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None
        self.kills += 1

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        assert self.alive(), "server died (status %r):\n%s" % (
            self.proc and self.proc.returncode, self.stderr_tail())
        self.check_sanitizer()

    # -- logs --------------------------------------------------------------
    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stderr_tail(self, n=60):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def check_sanitizer(self):
        assert_no_sanitizer(self.stderr_text(), "postel serve")

    def wait_log(self, pred, timeout=10.0, at_least=1):
        """Waits (bounded) for at_least stderr lines satisfying pred (the
        log spans restarts of the server); returns the matching lines."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [l for l in self.stderr_text().splitlines()
                 if pred(l)]
            if len(lines) >= at_least or time.monotonic() > deadline:
                return lines
            time.sleep(0.1)

    def cleanup(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- clients -----------------------------------------------------------
    @property
    def cert_path(self):
        return os.path.join(self.dir, "tls", "cert.pem")

    def ssl_context(self):
        """Client context trusting only the server's self-signed cert."""
        ctx = ssl.create_default_context(cafile=self.cert_path)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def addr(self, proto):
        return self.listen[proto]

    def smtp(self, proto="smtp", **kw):
        import smtplib
        host, port = self.listen[proto]
        kw.setdefault("timeout", SOCK_TIMEOUT)
        kw.setdefault("local_hostname", "client.test")
        if proto == "submissions":
            return smtplib.SMTP_SSL(host, port,
                        context=self.ssl_context(), **kw)
        return smtplib.SMTP(host, port, **kw)

    def smtp_auth(self, proto="submission", user="alice@example.test",
              password=None):
        """A logged-in smtplib session on submission(s)."""
        s = self.smtp(proto)
        s.ehlo()
        if proto != "submissions":
            s.starttls(context=self.ssl_context())
            s.ehlo()
        s.login(user, password or self.users[user])
        return s

    def pop3s(self, user=None, password=None):
        host, port = self.listen["pop3s"]
        p = poplib.POP3_SSL(host, port, context=self.ssl_context(),
                    timeout=SOCK_TIMEOUT)
        if user is not None:
            try:
                p.user(user)
                p.pass_(password if password is not None
                        else self.users[user])
            except BaseException:
                p.close()
                raise
        return p

    def imap(self):
        """An imaplib connection on the plain IMAP port (not logged in)."""
        import imaplib
        host, port = self.listen["imap"]
        return imaplib.IMAP4(host, port, timeout=SOCK_TIMEOUT)

    def imaps(self, user=None, password=None):
        """An imaplib IMAP4_SSL connection, logged in when user is given."""
        import imaplib
        host, port = self.listen["imaps"]
        m = imaplib.IMAP4_SSL(host, port, ssl_context=self.ssl_context(),
                              timeout=SOCK_TIMEOUT)
        if user is not None:
            try:
                m.login(user, password if password is not None
                        else self.users[user])
            except BaseException:
                m.shutdown()
                raise
        return m

    def fetch_all(self, user, password=None, delete=False):
        """All messages of user over POP3S, as bytes with CRLF line
        ends (dot-stuffing undone by poplib)."""
        p = self.pop3s(user, password)
        try:
            count, _ = p.stat()
            msgs = []
            for i in range(1, count + 1):
                _, lines, _ = p.retr(i)
                msgs.append(b"".join(l + b"\r\n" for l in lines))
                if delete:
                    p.dele(i)
        finally:
            p.quit()
        return msgs

    def wait_messages(self, user, count, match=None, timeout=10.0,
              password=None):
        """Polls (bounded) until user has at least count messages
        containing match (bytes; None = all); returns those messages."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.fetch_all(user, password)
            if match is not None:
                msgs = [m for m in msgs if match in m]
            if len(msgs) >= count or time.monotonic() > deadline:
                return msgs
            time.sleep(0.2)

    def send(self, rcpts, body, sender="sender@remote.test", proto="smtp",
         **kw):
        """Sends one message via smtplib; returns the reply to DATA."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        if isinstance(body, str):
            body = body.encode()
        s = self.smtp(proto) if proto == "smtp" else self.smtp_auth(proto)
        try:
            s.ehlo()
            s.mail(sender, kw.get("mail_options", []))
            for r in rcpts:
                code, msg = s.rcpt(r)
                assert code == 250, (r, code, msg)
            code, msg = s.data(body)
            assert code == 250, (code, msg)
        finally:
            try:
                s.quit()
            except Exception:
                pass
        return msg.decode("utf-8", "replace")


def assert_no_sanitizer(text, what):
    for mark in SANITIZER_MARKS:
        assert mark not in text, "%s: sanitizer report:\n%s" % (
            what, text[-6000:])


def simple_message(token, subject=None, body="hello\r\n"):
    return ("From: sender@remote.test\r\nTo: someone@example.test\r\n"
        "Subject: %s\r\nMessage-ID: <%s@remote.test>\r\n\r\n%s" %
        (subject or token, token, body)).encode()


def queued_id(reply):
    """The id from a '2.0.0 Ok: queued as <id>' DATA reply text."""
    text = reply if isinstance(reply, str) else reply.decode()
    assert "queued as" in text, text
    return text.split("queued as", 1)[1].strip().split()[0].strip("<>")


def launch(config=None, users=None, listen=None, domains=None):
    srv = Server(config, users, listen, domains)
    try:
        srv.provision()
        srv.start()
    except BaseException:
        srv.cleanup()
        raise
    return srv


def finish(srv):
    try:
        srv.stop_checked()
    finally:
        srv.cleanup()


@pytest.fixture(scope="session", autouse=True)
def _binary_present():
    if not os.access(POSTEL_BIN, os.X_OK):
        pytest.fail("postel binary not found: %s (build it, or set "
                "POSTEL_BIN)" % POSTEL_BIN)


@pytest.fixture(scope="module")
def _module_server(request):
    cfg = getattr(request.module, "SERVER_CONFIG", {})
    users = dict(USERS)
    users.update(getattr(request.module, "SERVER_USERS", {}))
    srv = launch(cfg, users)
    yield srv
    finish(srv)


@pytest.fixture
def server(_module_server):
    """The module's shared server; checked alive after each test."""
    if not _module_server.alive():
        pytest.fail("shared server is not running:\n" +
                _module_server.stderr_tail())
    yield _module_server
    _module_server.check_alive()


@pytest.fixture
def server_factory():
    made = []

    def make(config=None, users=None, listen=None, domains=None):
        srv = launch(config, users, listen, domains)
        made.append(srv)
        return srv

    yield make
    errors = []
    for srv in made:
        try:
            finish(srv)
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)


def serve_argv(srv):
    """The argv of `postel serve` on srv's data dir, config and ports."""
    argv = [POSTEL_BIN, "--data", srv.dir, "--config", srv.config_path,
            "serve"]
    for proto, (addr, port) in srv.listen.items():
        argv += ["--listen", "%s=%s:%d" % (proto, addr, port)]
    return argv


def try_serve(srv, timeout):
    """Runs `postel serve` expecting it to refuse to start. Returns
    (started, stderr, exit status); a server that does become ready
    within timeout is killed."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    p = subprocess.Popen(serve_argv(srv), stdout=out, stderr=err,
                         stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    started = False
    while p.poll() is None and time.monotonic() < deadline:
        out.seek(0)
        if b"postel: ready" in out.read():
            started = True
            break
        time.sleep(0.05)
    if p.poll() is None:
        p.kill()
        started = True
    rc = p.wait(10)
    err.seek(0)
    text = err.read().decode("utf-8", "replace")
    assert_no_sanitizer(text, "postel serve")
    return started, text, rc
