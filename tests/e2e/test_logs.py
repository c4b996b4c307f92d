"""Logs an administrator and fail2ban rely on (issue 13, "Logs"):

- every failed login, on every protocol and port (SMTP AUTH on 25, 587 and
  465; IMAP LOGIN and AUTHENTICATE on 143 and 993; POP3 USER/PASS and AUTH
  on 110 and 995), malformed, foreign-authzid and blocked ones included,
  is one `warn ... event=login_fail proto=P ip=A user=U ...` line, made by
  real clients (smtplib, imaplib, poplib) from distinct loopback
  addresses; Debian's fail2ban-regex, with the filter we ship
  (contrib/fail2ban/filter.d/postel.conf), finds exactly those failures
  with the right address, and fail2ban accepts the jail example;
- the accept line names the Message-ID, and there is one deliver line per
  stored copy, naming the recipient address and the mailbox;
- `log = FILE` is reopened on SIGUSR1 and SIGHUP (logrotate renames the
  file, then signals), and `log = syslog:SOCKET` sends RFC 3164 datagrams
  of facility mail that the same filter reads as syslog lines.
"""

import base64
import contextlib
import imaplib
import os
import poplib
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile

import pytest

from conftest import REPO, give_to_service_user, launch, simple_message

ALICE = "alice@example.test"
BOB = "bob@example.test"
FILTER = os.path.join(REPO, "contrib", "fail2ban", "filter.d", "postel.conf")
JAIL = os.path.join(REPO, "contrib", "fail2ban", "jail.d", "postel.conf")
FAIL2BAN_REGEX = shutil.which("fail2ban-regex")
# Immediate answers; no per-address block unless a test asks for one.
QUICK = {"auth_fail_delay_ms": "0", "auth_block_failures": "0",
         "max_auth_failures": "10"}

needs_fail2ban = pytest.mark.skipif(
    FAIL2BAN_REGEX is None,
    reason="fail2ban-regex missing (scripts/setup.sh installs fail2ban)")


@contextlib.contextmanager
def own_server(config=None):
    """A server this test stops itself (to read its last lines)."""
    srv = launch(config)
    try:
        yield srv
    finally:
        srv.cleanup()


@contextlib.contextmanager
def source_address(src):
    """Makes the stdlib clients connect from loopback address src:
    imaplib and poplib call socket.create_connection without one."""
    orig = socket.create_connection

    def create(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT,
               source_address=None, **kw):
        return orig(address, timeout, (src, 0), **kw)

    socket.create_connection = create
    try:
        yield
    finally:
        socket.create_connection = orig


def plain_b64(authz, user, password):
    return base64.b64encode(
        ("%s\0%s\0%s" % (authz, user, password)).encode()).decode()


# -- failed logins, one function per protocol and port ----------------------

def smtp_fail(srv, proto, src, user):
    """smtplib tries PLAIN, then LOGIN: two failures."""
    host, port = srv.addr(proto)
    kw = dict(timeout=10, local_hostname="client.test",
              source_address=(src, 0))
    if proto == "submissions":
        s = smtplib.SMTP_SSL(host, port, context=srv.ssl_context(), **kw)
    else:
        s = smtplib.SMTP(host, port, **kw)
    try:
        s.ehlo()
        if proto != "submissions":
            s.starttls(context=srv.ssl_context())
            s.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login(user, "wrong-password")
    finally:
        s.quit()
    return 2


def imap_fail(srv, proto, src, user):
    """LOGIN, AUTHENTICATE PLAIN, and a malformed AUTHENTICATE: three."""
    host, port = srv.addr(proto)
    with source_address(src):
        if proto == "imaps":
            m = imaplib.IMAP4_SSL(host, port, ssl_context=srv.ssl_context(),
                                  timeout=10)
        else:
            m = imaplib.IMAP4(host, port, timeout=10)
            m.starttls(ssl_context=srv.ssl_context())
    try:
        with pytest.raises(imaplib.IMAP4.error):
            m.login(user, "wrong-password")
        with pytest.raises(imaplib.IMAP4.error):
            m.authenticate("PLAIN", lambda _: "\0%s\0nope" % user)
        with pytest.raises(imaplib.IMAP4.error):
            m.authenticate("PLAIN", lambda _: b"\xff\x00")  # no NULs: bad
    finally:
        m.logout()
    return 3


def pop3_fail(srv, proto, src, user):
    """USER/PASS, AUTH PLAIN and AUTH PLAIN with a foreign authzid."""
    host, port = srv.addr(proto)
    with source_address(src):
        if proto == "pop3s":
            p = poplib.POP3_SSL(host, port, context=srv.ssl_context(),
                                timeout=10)
        else:
            p = poplib.POP3(host, port, timeout=10)
            p.stls(context=srv.ssl_context())
    try:
        p.user(user)
        with pytest.raises(poplib.error_proto):
            p.pass_("wrong-password")
        with pytest.raises(poplib.error_proto):
            p._shortcmd("AUTH PLAIN " + plain_b64("", user, "nope"))
        with pytest.raises(poplib.error_proto):
            p._shortcmd("AUTH PLAIN " + plain_b64(BOB, user, "nope"))
    finally:
        p.quit()
    return 3


CLIENTS = [  # (proto, source address, client)
    ("smtp", "127.0.0.21", smtp_fail),
    ("submission", "127.0.0.22", smtp_fail),
    ("submissions", "127.0.0.23", smtp_fail),
    ("imap", "127.0.0.24", imap_fail),
    ("imaps", "127.0.0.25", imap_fail),
    ("pop3", "127.0.0.26", pop3_fail),
    ("pop3s", "127.0.0.27", pop3_fail),
]

LOGIN_FAIL = re.compile(
    r"^\S+Z warn sess=[0-9a-f]{16} event=login_fail proto=(\S+) ip=(\S+) "
    r"user=(\S+|\"(?:[^\"\\]|\\.)*\") mech=(\S+) reason=(\S+) failures=\d+$")


def login_fails(text):
    """(proto, ip, user, mech, reason) of every login_fail line."""
    out = []
    for line in text.splitlines():
        if "event=login_fail" in line:
            m = LOGIN_FAIL.match(line)
            assert m, "login_fail line out of format: %r" % line
            out.append(m.groups())
    return out


def fail2ban_config_dir(tmp):
    """A config dir holding our filter beside Debian's common.conf, which
    it includes (as it will in /etc/fail2ban/filter.d)."""
    fdir = os.path.join(tmp, "filter.d")
    os.makedirs(fdir, exist_ok=True)
    shutil.copy("/etc/fail2ban/filter.d/common.conf", fdir)
    shutil.copy(FILTER, fdir)
    return os.path.join(fdir, "postel.conf")


def fail2ban_hits(log, tmp):
    """[(ip, proto, user)] of every failure fail2ban-regex finds in the log
    file (or line) with our filter, in order."""
    flt = fail2ban_config_dir(tmp)
    r = subprocess.run([FAIL2BAN_REGEX, "--raw", "-o",
                        "<ip>|<F-PROTO>|<F-USER>", log, flt],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, TZ="Europe/Berlin"))
    assert r.returncode == 0, r.stdout + r.stderr
    return [tuple(l.split("|", 2)) for l in r.stdout.splitlines()
            if l.count("|") >= 2]


@needs_fail2ban
def test_failed_logins_every_protocol_one_format_fail2ban(tmp_path):
    with own_server(QUICK) as srv:
        expect = {}
        for proto, src, fail in CLIENTS:
            expect[(proto, src)] = fail(srv, proto, src, ALICE)
        srv.stop_checked()
        fails = login_fails(srv.stderr_text())
        got = {}
        for proto, ip, user, mech, reason in fails:
            got[(proto, ip)] = got.get((proto, ip), 0) + 1
        assert got == expect, fails
        reasons = {(f[0], f[4]) for f in fails}
        assert ("imaps", "malformed") in reasons
        assert ("pop3", "authzid") in reasons
        assert ("submission", "credentials") in reasons
        mechs = {(f[0], f[3]) for f in fails}
        assert {("smtp", "PLAIN"), ("smtp", "LOGIN"), ("imap", "LOGIN"),
                ("imap", "PLAIN"), ("pop3s", "USER"),
                ("pop3s", "PLAIN")} <= mechs
        # Every line with a user names the one tried (the malformed SASL
        # message had none).
        assert {f[2] for f in fails} == {ALICE, '""'}

        hits = fail2ban_hits(srv.stderr_path, str(tmp_path))
        want = sorted((ip, proto) for (proto, ip), n in expect.items()
                      for _ in range(n))
        assert sorted((ip, proto) for ip, proto, _ in hits) == want


@needs_fail2ban
def test_blocked_address_counts_and_user_text_cannot_name_a_host(
        server_factory, tmp_path):
    # Two failures block the address; the third login, with the right
    # password, is refused as blocked and logged as a failure too.
    srv = server_factory(config=dict(QUICK, auth_block_failures="2",
                                     auth_block_time="600"))
    run_blocked_logins(srv)
    assert srv.wait_log(lambda l: "reason=blocked" in l)
    fails = login_fails(srv.stderr_text())
    assert [f[4] for f in fails] == ["credentials", "credentials",
                                     "blocked"], fails
    assert fails[1][2] == '"x ip=10.9.9.9 proto=imap"'
    hits = fail2ban_hits(srv.stderr_path, str(tmp_path))
    assert [(ip, proto) for ip, proto, _ in hits] == \
        [("127.0.0.31", "imaps")] * 3


def run_blocked_logins(srv):
    host, port = srv.addr("imaps")
    with source_address("127.0.0.31"):
        m = imaplib.IMAP4_SSL(host, port, ssl_context=srv.ssl_context(),
                              timeout=10)
    try:
        # imaplib quotes the password only.
        for user in (ALICE, '"x ip=10.9.9.9 proto=imap"'):
            with pytest.raises(imaplib.IMAP4.error):
                m.login(user, "wrong-password")
        with pytest.raises(imaplib.IMAP4.error):
            m.login(ALICE, srv.users[ALICE])
    finally:
        m.logout()


@needs_fail2ban
def test_server_side_refusals_are_not_the_clients_fault(tmp_path):
    # A full hashing queue or a failing store is logged like any failed
    # login but never counts toward a ban.
    lines = []
    for reason in ("busy", "unavailable", "credentials", "blocked"):
        lines.append("2026-11-23T08:00:00.123Z warn sess=0123456789abcdef "
                     "event=login_fail proto=imaps ip=192.0.2.7 "
                     "user=alice@example.org mech=LOGIN reason=%s "
                     "failures=1" % reason)
    # Our own client text quoted inside another line is no login_fail.
    lines.append('2026-11-23T08:00:00.123Z info sess=0123456789abcdef '
                 'event=helo name="x warn sess=0 event=login_fail '
                 'proto=smtp ip=10.9.9.9 user=x mech=P reason=credentials '
                 'failures=1"')
    log = tmp_path / "synthetic.log"
    log.write_text("\n".join(lines) + "\n")
    hits = fail2ban_hits(str(log), str(tmp_path))
    assert [ip for ip, _, _ in hits] == ["192.0.2.7"] * 2


@needs_fail2ban
def test_jail_example_is_accepted_by_fail2ban(tmp_path):
    # fail2ban-client -d parses the whole configuration and prints the
    # jail it would start: our jail and filter beside Debian's defaults.
    conf = tmp_path / "fail2ban"
    shutil.copytree("/etc/fail2ban", conf, symlinks=True)
    for name in os.listdir(conf / "jail.d"):
        os.unlink(conf / "jail.d" / name)   # Debian's sshd jail
    shutil.copy(FILTER, conf / "filter.d")
    shutil.copy(JAIL, conf / "jail.d")
    logdir = tmp_path / "log"
    logdir.mkdir()
    (logdir / "postel.log").write_text("")
    jail = (conf / "jail.d" / "postel.conf").read_text().replace(
        "/var/log/postel/postel.log", str(logdir / "postel.log"))
    (conf / "jail.d" / "postel.conf").write_text(jail)
    r = subprocess.run(["fail2ban-client", "-c", str(conf), "-d"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "['add', 'postel', 'auto']" in r.stdout, r.stdout
    assert "event=login_fail" in r.stdout
    assert str(logdir / "postel.log") in r.stdout


def test_accept_names_message_id_and_one_deliver_line_per_copy(
        server_factory):
    srv = server_factory()
    srv.cli("alias", "add", "team@example.test", ALICE, BOB, check=True)
    msg = simple_message("logtok1")   # Message-ID: <logtok1@remote.test>
    reply = srv.send([ALICE, "team@example.test"], msg)
    qid = reply.split("queued as", 1)[1].split()[0]
    accept = srv.wait_log(lambda l: "event=accept" in l and
                          "msg=%s" % qid in l)
    assert len(accept) == 1, accept
    assert "message_id=<logtok1@remote.test>" in accept[0]
    assert "rcpts=2" in accept[0]
    delivers = srv.wait_log(lambda l: "event=deliver" in l and
                            "msg=%s" % qid in l, at_least=3, timeout=1)
    # Alice is reached twice (directly and through the alias) but holds
    # one copy; Bob one: two lines.
    assert len(delivers) == 2, delivers
    assert any("rcpt=%s" % ALICE in l for l in delivers)
    assert any("rcpt=team@example.test" in l for l in delivers)
    assert all("mailbox=INBOX" in l for l in delivers)


def session_lines(srv, marker, timeout=10.0):
    """The info event=session line of the session whose lines contain
    marker (waits for it, bounded)."""
    first = srv.wait_log(lambda l: marker in l and "sess=" in l,
                         timeout=timeout)
    assert first, marker
    sess = re.search(r"sess=([0-9a-f]{16})", first[0]).group(1)
    return srv.wait_log(lambda l: "sess=%s event=session " % sess in l,
                        timeout=timeout)


def test_one_session_line_per_connection(server_factory):
    """At info a connection is one line, at its end, whatever the
    protocol: who, from where, why it ended, and (SMTP) how many messages
    it left; nothing at the connection's start."""
    srv = server_factory()
    with srv.smtp() as c:
        c.ehlo("sessline.test")
        for i in range(2):
            c.sendmail("sessline@remote.test", [ALICE],
                       simple_message("sessline%d" % i))
    lines = session_lines(srv, "from=sessline@remote.test")
    assert len(lines) == 1, lines
    line = lines[0]
    assert " info " in line, line
    for field in ("proto=smtp", "ip=127.0.0.1", "reason=quit", "tls=no",
                  "helo=sessline.test", "messages=2", 'user=""'):
        assert field in line, (field, line)
    m = srv.imaps(ALICE)
    m.select("INBOX")
    m.logout()
    imap = srv.wait_log(lambda l: "event=session" in l and
                        "proto=imaps" in l)
    assert len(imap) == 1, imap
    assert "tls=yes" in imap[0] and "user=%s" % ALICE in imap[0], imap[0]
    p = srv.pop3s(BOB)
    p.quit()
    pop = srv.wait_log(lambda l: "event=session" in l and
                       "proto=pop3s" in l)
    assert len(pop) == 1, pop
    assert "user=%s" % BOB in pop[0] and "state=transaction" in pop[0], \
        pop[0]
    # Three connections, three session lines, no connect line at info.
    assert not srv.wait_log(lambda l: " event=connect " in l, timeout=0.5)


def test_message_without_message_id_and_folded_one(server_factory):
    srv = server_factory()
    srv.send(ALICE, b"Subject: none\r\n\r\nbody\r\n")
    srv.send(ALICE, b"Subject: folded\r\nMessage-Id:\r\n"
                    b"  <folded.1@remote.test>\r\n\r\nbody\r\n")
    lines = srv.wait_log(lambda l: "event=accept" in l, at_least=2)
    assert 'message_id=""' in lines[0]
    assert "message_id=<folded.1@remote.test>" in lines[1]


def log_dir_for_service_user():
    """A directory the server (dropping to `postel` as root) may create
    its log file in."""
    d = tempfile.mkdtemp(prefix="postel-logdir-")
    os.chmod(d, 0o755)
    give_to_service_user(d)
    return d


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_in(srv, path, needle, timeout=10.0):
    import time
    deadline = time.monotonic() + timeout
    while needle not in read(path):
        assert time.monotonic() < deadline, (needle, read(path))
        srv.check_alive()
        time.sleep(0.05)


def imaps_fail_as(srv, user):
    host, port = srv.addr("imaps")
    m = imaplib.IMAP4_SSL(host, port, ssl_context=srv.ssl_context(),
                          timeout=10)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            m.login(user, "wrong-password")
    finally:
        m.logout()


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGHUP])
def test_log_file_reopened_after_rename(sig):
    d = log_dir_for_service_user()
    path = os.path.join(d, "postel.log")
    try:
        with own_server(dict(QUICK, log=path)) as srv:
            reopen_after_rename(srv, path, sig)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def reopen_after_rename(srv, path, sig):
    """logrotate: rename, signal, and new lines land in a new file."""
    imaps_fail_as(srv, "before@example.test")
    wait_in(srv, path, "user=before@example.test")
    # Lines go to the file, not to stderr.
    assert "event=login_fail" not in srv.stderr_text()
    os.rename(path, path + ".1")            # what logrotate does
    imaps_fail_as(srv, "between@example.test")
    wait_in(srv, path + ".1", "user=between@example.test")
    srv.proc.send_signal(sig)
    wait_in(srv, path, "event=log_reopen")
    imaps_fail_as(srv, "after@example.test")
    wait_in(srv, path, "user=after@example.test")
    old, new = read(path + ".1"), read(path)
    assert "after@example.test" not in old
    assert "before@example.test" not in new
    assert "between@example.test" not in new
    if os.geteuid() == 0:   # made by the service user, after the drop
        import pwd
        assert os.stat(path).st_uid == pwd.getpwnam("postel").pw_uid
    srv.stop_checked()
    assert "event=stop" in read(path)


def test_log_file_unwritable_stops_the_start(tmp_path):
    from conftest import Server
    srv = Server(config={"log": "/nonexistent-dir/postel.log"})
    try:
        srv.provision()
        with pytest.raises(AssertionError) as e:
            srv.start()
        assert "cannot open log file /nonexistent-dir/postel.log" in \
            str(e.value)
    finally:
        srv.cleanup()


@needs_fail2ban
def test_syslog_datagrams_read_by_the_filter(tmp_path):
    d = log_dir_for_service_user()
    sock_path = os.path.join(d, "log.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        rx.bind(sock_path)
        os.chmod(sock_path, 0o666)   # like /dev/log
        rx.settimeout(10)
        with own_server(dict(QUICK, log="syslog:" + sock_path)) as srv:
            imaps_fail_as(srv, ALICE)
            got = []
            while not any(b"event=login_fail" in g for g in got):
                assert len(got) < 100, got
                got.append(rx.recv(4096))
            srv.stop_checked()
            assert "event=login_fail" not in srv.stderr_text()
        line = [g for g in got if b"event=login_fail" in g][0].decode()
        # RFC 3164: <PRI>TIMESTAMP TAG: MSG; mail.warning is 2*8+4.
        m = re.match(r"^<20>(\w{3} [ \d]\d \d\d:\d\d:\d\d) postel\[(\d+)\]: "
                     r"(warn sess=\S+ event=login_fail proto=imaps "
                     r"ip=127\.0\.0\.1 user=\S+ .*)$", line)
        assert m, line
        # As rsyslog writes it to /var/log/mail.log.
        log = tmp_path / "mail.log"
        log.write_text("%s mail postel[%s]: %s\n" % m.groups())
        hits = fail2ban_hits(str(log), str(tmp_path))
        assert hits == [("127.0.0.1", "imaps", ALICE)]
    finally:
        rx.close()
        shutil.rmtree(d, ignore_errors=True)
