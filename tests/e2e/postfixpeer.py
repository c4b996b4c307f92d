"""Debian's Postfix as a real remote MX for end-to-end tests.

PostfixPeer runs one private Postfix instance (its own config directory,
queue directory and data directory under a temporary directory, `postfix -c
DIR`) listening on a given loopback address and port (127.0.x.y:25 by
default), accepting mail for one test domain into Maildirs through Postfix's
virtual(8) delivery agent:

    peer = PostfixPeer("127.0.0.42", domain="remote.test",
                       users=("bob", "carol"))
    peer.start()
    ...  # deliver to bob@remote.test through 127.0.0.42:25
    msgs = peer.wait_messages("bob", count=1)   # [bytes of each message]
    peer.stop()

What it is set up to be:
- A receiving MX only. Mail for the test domain goes into
  DIR/mail/<domain>/<user>/ (Maildir); a recipient that is not in `users`
  is refused at RCPT with 550 5.1.1 (Postfix's own recipient check), unless
  catch_all=True (then everything lands in DIR/mail/<domain>/_all/).
- Loopback only, no DNS: every other destination goes to Postfix's error(8)
  transport (bounces it makes are never sent anywhere), host lookups use
  /etc/hosts (smtp_host_lookup = native, smtp_dns_support_level =
  disabled), the client's name is not looked up.
- STARTTLS offered (smtpd_tls_security_level = may) with a self-signed test
  certificate for mx.<domain>; SMTPUTF8 on; EHLO keywords can be hidden
  (discard_ehlo=("8bitmime", "dsn")) for the awkward-server cases; a
  message_size_limit can be set.
- Its log goes to DIR/maillog (maillog_file, through postlogd): log_text()
  and wait_log(pattern).

The module also offers the pytest fixture `postfix_peer_factory` (import it
into a test module to use it): make(addr, **kw) -> a started PostfixPeer,
stopped at teardown.

The system's own Postfix configuration (/etc/postfix, used by the
benchmark's peers/start-postfix.sh on 127.0.0.1:2525) is not touched; the
instance runs as root-started master with the stock `postfix` user, and
`postfix -c DIR stop` ends it.
"""

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
# The uid/gid virtual(8) writes the Maildirs as (virtual_minimum_uid is
# 100; nobody is always there).
MAIL_UID = 65534
MAIL_GID = 65534

# master.cf: the services a receiving MX needs, none chrooted (the queue
# directory is a fresh temporary one, without the files a chroot needs).
MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixPeer:
    def __init__(self, addr, port=25, domain="remote.test",
                 users=("bob",), catch_all=False, discard_ehlo=(),
                 message_size_limit=None, extra=None):
        if not addr.startswith("127."):
            raise ValueError("PostfixPeer listens on loopback only")
        self.addr = addr
        self.port = port
        self.domain = domain
        self.users = tuple(users)
        self.catch_all = catch_all
        self.discard_ehlo = tuple(discard_ehlo)
        self.message_size_limit = message_size_limit
        self.extra = dict(extra or {})
        self.dir = tempfile.mkdtemp(prefix="postfixpeer-")
        # The postfix user must reach the queue and the Maildirs.
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.mail = os.path.join(self.dir, "mail")
        self.maillog = os.path.join(self.dir, "maillog")
        self.started = False

    # --- configuration ------------------------------------------------

    def _main_cf(self):
        hostname = "mx." + self.domain
        conf = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "myhostname": hostname,
            "mydomain": self.domain,
            "myorigin": "$myhostname",
            "mydestination": "",
            # Postfix insists that inet_interfaces be configured on an
            # interface (127.0.0.1 is, 127.0.x.y is only routed): the
            # listener is bound to addr:port in master.cf instead.
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_recipient_restrictions":
                "permit_mynetworks, reject_unauth_destination",
            "smtpd_peername_lookup": "no",
            # Mail arrives as sent: no header added or rewritten for
            # clients on loopback (Postfix treats them as local by
            # default and adds Date, Message-ID...).
            "local_header_rewrite_clients": "",
            "always_add_missing_headers": "no",
            "smtp_host_lookup": "native",
            "smtp_dns_support_level": "disabled",
            "relayhost": "",
            # Nothing leaves this instance: a bounce it makes for a
            # sender elsewhere fails at once instead of going out.
            "default_transport": "error:outbound mail disabled in tests",
            "relay_transport": "error:outbound mail disabled in tests",
            "virtual_mailbox_domains": self.domain,
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "texthash:" +
                os.path.join(self.conf, "vmailbox"),
            "virtual_uid_maps": "static:%d" % MAIL_UID,
            "virtual_gid_maps": "static:%d" % MAIL_GID,
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "smtpd_tls_security_level": "may",
            "smtpd_tls_cert_file": os.path.join(self.conf, "cert.pem"),
            "smtpd_tls_key_file": os.path.join(self.conf, "key.pem"),
            "smtpd_tls_loglevel": "1",
            "smtputf8_enable": "yes",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.dir,
            "syslog_name": "postfixpeer",
            "smtpd_banner": "$myhostname ESMTP Postfix (test peer)",
            # No waiting between tries of its own: tests are short.
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
        }
        if self.discard_ehlo:
            conf["smtpd_discard_ehlo_keywords"] = ", ".join(self.discard_ehlo)
        if self.message_size_limit is not None:
            conf["message_size_limit"] = str(self.message_size_limit)
        conf.update(self.extra)
        return "".join("%s = %s\n" % kv for kv in conf.items())

    def _vmailbox(self):
        lines = ["%s@%s %s/%s/\n" % (u, self.domain, self.domain, u)
                 for u in self.users]
        if self.catch_all:
            lines.append("@%s %s/_all/\n" % (self.domain, self.domain))
        return "".join(lines)

    def _cert(self):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-subj", "/CN=mx." + self.domain, "-days", "2",
             "-keyout", os.path.join(self.conf, "key.pem"),
             "-out", os.path.join(self.conf, "cert.pem")],
            check=True, capture_output=True, timeout=60)
        os.chmod(os.path.join(self.conf, "key.pem"), 0o600)

    def _write(self):
        os.makedirs(self.conf)
        os.makedirs(self.queue)
        os.makedirs(self.data)
        os.makedirs(os.path.join(self.mail, self.domain))
        for d in (self.mail, os.path.join(self.mail, self.domain)):
            os.chown(d, MAIL_UID, MAIL_GID)
        listen = "%s:%d" % (self.addr, self.port)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(self._main_cf())
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen=listen))
        with open(os.path.join(self.conf, "vmailbox"), "w") as f:
            f.write(self._vmailbox())
        self._cert()
        # The data directory belongs to the postfix user (tlsmgr's
        # cache, master.lock); "postfix start" fixes the queue's owners.
        shutil.chown(self.data, "postfix", "postfix")

    # --- life cycle -----------------------------------------------------

    def _postfix(self, *args, timeout=60):
        return subprocess.run([POSTFIX, "-c", self.conf, *args],
                              capture_output=True, text=True,
                              timeout=timeout)

    def start(self):
        """Writes the instance and starts it; returns once it answers
        EHLO on its address."""
        self._write()
        res = self._postfix("check")
        if res.returncode != 0:
            raise RuntimeError("postfix check failed: %s%s" %
                               (res.stdout, res.stderr))
        res = self._postfix("start")
        if res.returncode != 0:
            raise RuntimeError("postfix start failed: %s%s\n%s" %
                               (res.stdout, res.stderr, self.log_text()))
        self.started = True
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.addr, self.port),
                                              timeout=2) as s:
                    if s.recv(512).startswith(b"220"):
                        return
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise RuntimeError("postfix peer on %s:%d not ready (%s)\n%s" %
                           (self.addr, self.port, last, self.log_text()))

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        """postfix -c DIR stop, then waits for the master to be gone
        (postfix abort if it lingers)."""
        if not self.started:
            return
        pid = self.master_pid()
        self._postfix("stop")
        deadline = time.monotonic() + STOP_TIMEOUT
        while pid is not None and time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            if pid is not None and _alive(pid):
                self._postfix("abort")
        self.started = False

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- what it received -------------------------------------------------

    def maildir(self, user):
        name = "_all" if user is None else user
        return os.path.join(self.mail, self.domain, name)

    def messages(self, user):
        """The messages in user's Maildir (None: the catch-all), oldest
        first, as bytes (Postfix adds Return-Path, Delivered-To and its
        Received line at the top)."""
        files = glob.glob(os.path.join(self.maildir(user), "new", "*"))
        files += glob.glob(os.path.join(self.maildir(user), "cur", "*"))
        files.sort(key=lambda p: (os.stat(p).st_mtime, p))
        out = []
        for p in files:
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def wait_messages(self, user, count=1, timeout=30.0):
        """Waits until user's Maildir holds at least count messages and
        returns them all."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages(user)
            if len(msgs) >= count or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if len(msgs) < count:
            raise AssertionError(
                "%d of %d messages for %s at the postfix peer after %.0fs"
                "\n%s" % (len(msgs), count, user, timeout,
                          self.log_text()[-4000:]))
        return msgs

    def log_text(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=30.0):
        """The first maillog line matching the regular expression."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_text().splitlines():
                if rx.search(line):
                    return line
            if time.monotonic() >= deadline:
                raise AssertionError("no log line matching %r\n%s" %
                                     (pattern, self.log_text()[-4000:]))
            time.sleep(0.1)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


TRACE_FIELDS = (b"return-path:", b"x-original-to:", b"delivered-to:",
                b"received:", b"authentication-results:")


def strip_trace(msg):
    """The message without the header fields Postfix put on top
    (Return-Path, X-Original-To, Delivered-To, Received), to compare with
    what was sent. Postfix writes Maildir files with LF line ends; they
    are turned back into CRLF."""
    lines = msg.replace(b"\r\n", b"\n").split(b"\n")
    i = 0
    while i < len(lines) and lines[i].lower().startswith(TRACE_FIELDS):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\r\n".join(lines[i:])


@pytest.fixture
def postfix_peer_factory():
    """make(addr, port=25, **kw) -> a started PostfixPeer, stopped and
    removed after the test."""
    if not os.access(POSTFIX, os.X_OK):
        pytest.fail("Debian's postfix is not installed (scripts/setup.sh)")
    peers = []

    def make(addr, port=25, **kw):
        peer = PostfixPeer(addr, port, **kw)
        peers.append(peer)
        return peer.start()

    yield make
    for p in peers:
        p.cleanup()
