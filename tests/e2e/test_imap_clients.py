"""Real IMAP clients against Postel: mbsync (isync) two-way Maildir sync and
fetchmail over IMAPS (keep / no keep, MDA and SMTP forwarding), plus
regression tests for the server bugs these clients revealed.

The clients come from scripts/setup.sh (isync, fetchmail); a test is skipped
when its client is not installed. Every subprocess is bounded by a timeout.
"""

import email
import os
import re
import shutil
import stat
import subprocess
import tempfile

import pytest

from conftest import simple_message, unique

USERS = {"c%d@example.test" % i: "client-Secret-%d" % i for i in range(1, 9)}
SERVER_USERS = USERS
CLIENT_TIMEOUT = 120
MBSYNC = shutil.which("mbsync")
FETCHMAIL = shutil.which("fetchmail")

BIG_BODY = "".join("line %05d of a largish body. -- .dot\r\n" % i
                   for i in range(8000))


def user(n):
    return "c%d@example.test" % n


def run(argv, env=None, timeout=CLIENT_TIMEOUT, ok=(0,)):
    r = subprocess.run(argv, capture_output=True, text=True, env=env,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    assert r.returncode in ok, "%s -> %d\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(argv), r.returncode, r.stdout[-6000:], r.stderr[-6000:])
    return r


@pytest.fixture
def tmpdir_c():
    d = tempfile.mkdtemp(prefix="postel-clients-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


# -- server-side view over imaplib ----------------------------------------

def server_state(server, u, folders):
    """{folder: {subject: (frozenset(flags), full message bytes)}}."""
    m = server.imaps(u)
    out = {}
    try:
        for f in folders:
            typ, _ = m.select('"%s"' % f, readonly=True)
            if typ != "OK":
                continue
            box = {}
            typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
            assert typ == "OK", data
            for d in data:
                if not isinstance(d, tuple):
                    continue
                flags = imaplib_flags(d[0])
                subj = email.message_from_bytes(d[1])["Subject"]
                box[subj] = (flags, d[1])
            out[f] = box
    finally:
        m.logout()
    return out


def imaplib_flags(head):
    import imaplib
    return frozenset(f.decode() for f in imaplib.ParseFlags(head))


def server_folders(server, u):
    m = server.imaps(u)
    try:
        typ, data = m.list()
        assert typ == "OK"
        return sorted(l.rsplit(b' "/" ', 1)[1].strip(b'"').decode()
                      for l in data)
    finally:
        m.logout()


# -- mbsync -----------------------------------------------------------------

def mbsync_conf(server, d, u, starttls=False):
    maildir = os.path.join(d, "mail")
    os.makedirs(maildir, exist_ok=True)
    # sync state outside the Maildir, so removing a folder keeps its state
    state = os.path.join(d, "state")
    os.makedirs(state, exist_ok=True)
    conf = os.path.join(d, "mbsyncrc")
    with open(conf, "w") as f:
        f.write("""IMAPAccount postel
Host 127.0.0.1
Port %d
User %s
Pass %s
SSLType %s
CertificateFile %s
Timeout 30
%s
IMAPStore remote
Account postel

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel postel
Far :remote:
Near :local:
Patterns *
Sync All
Create Both
Remove Both
Expunge Both
SyncState %s/
""" % (server.ports["imap" if starttls else "imaps"], u, server.users[u],
            "STARTTLS" if starttls else "IMAPS", server.cert_path,
            "AuthMechs LOGIN\n" if starttls else "", maildir, maildir, state))
    return conf, maildir


def mbsync(conf):
    return run([MBSYNC, "-V", "-c", conf, "-a"])


def maildir_state(maildir):
    """{folder: {subject: (flags string, path)}} of a Maildir++ tree made
    with SubFolders Verbatim."""
    out = {}
    for root, dirs, files in os.walk(maildir):
        sub = os.path.basename(root)
        if sub not in ("cur", "new"):
            continue
        folder = os.path.relpath(os.path.dirname(root), maildir)
        box = out.setdefault(folder, {})
        for fn in files:
            p = os.path.join(root, fn)
            flags = fn.split(":2,", 1)[1] if ":2," in fn else ""
            with open(p, "rb") as fh:
                subj = email.message_from_bytes(fh.read())["Subject"]
            box[subj] = (flags, p)
    # folders without messages still exist as directories
    for root, dirs, files in os.walk(maildir):
        if "cur" in dirs:
            out.setdefault(os.path.relpath(root, maildir), {})
    return out


def maildir_files(maildir):
    return sorted(os.path.relpath(os.path.join(r, f), maildir)
                  for r, _, fs in os.walk(maildir) for f in fs)


def lf(b):
    return b.replace(b"\r\n", b"\n")


def no_tuid(b):
    """Drops the X-TUID header mbsync adds to messages it propagates."""
    return re.sub(rb"(?m)^X-TUID: [^\r\n]*\r?\n", b"", b, count=1)


def seed(server, u):
    """Three SMTP deliveries to INBOX, two APPENDs into Work and into the
    nested Projects/2026. Returns {folder: [subjects]}."""
    layout = {"INBOX": [], "Work": [], "Projects/2026": []}
    for i in range(3):
        s = unique("inbox%d" % i)
        body = BIG_BODY if i == 2 else "hello %d\r\n.\r\nFrom me\r\n" % i
        server.send(u, simple_message(s, body=body))
        layout["INBOX"].append(s)
    server.wait_messages(u, 3)
    m = server.imaps(u)
    try:
        for f in ("Work", "Projects/2026"):
            assert m.create('"%s"' % f)[0] == "OK"
            for i in range(2):
                s = unique(f.replace("/", "-") + str(i))
                typ, data = m.append('"%s"' % f, None, None,
                                     simple_message(s))
                assert typ == "OK", data
                layout[f].append(s)
    finally:
        m.logout()
    return layout


def set_flags(path, flags):
    """Renames a Maildir message into cur/ with the given flags."""
    d, fn = os.path.split(path)
    base = fn.split(":2,", 1)[0]
    new = os.path.join(os.path.dirname(d), "cur", base + ":2," + flags)
    os.rename(path, new)
    return new


@pytest.mark.skipif(MBSYNC is None, reason="mbsync (isync) not installed")
def test_mbsync_two_way(server, tmpdir_c):
    u = user(1)
    layout = seed(server, u)
    conf, maildir = mbsync_conf(server, tmpdir_c, u)

    # 1. pull: every message lands in the right local folder, intact
    mbsync(conf)
    local = maildir_state(maildir)
    remote = server_state(server, u, list(layout))
    for f, subjects in layout.items():
        assert sorted(local.get(f, {})) == sorted(subjects), (f, local)
        for s in subjects:
            with open(local[f][s][1], "rb") as fh:
                assert no_tuid(fh.read()) == lf(remote[f][s][1]), (f, s)
    for f in ("Drafts", "Sent", "Trash", "Junk", "Archive"):
        assert f in local, local.keys()

    # 2. local changes
    inbox = local["INBOX"]
    s_flag, s_del, _ = layout["INBOX"]
    set_flags(inbox[s_flag][1], "FS")
    set_flags(inbox[s_del][1], "ST")
    s_move = layout["Work"][0]
    src = local["Work"][s_move][1]
    dst = os.path.join(maildir, "Projects", "2026", "cur",
                       "moved.%s:2,S" % s_move)
    os.rename(src, dst)
    new_dir = os.path.join(maildir, "Local")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(new_dir, sub))
    s_new = unique("localnew")
    with open(os.path.join(new_dir, "new", "local1"), "wb") as fh:
        fh.write(lf(simple_message(s_new, body="made here\r\n")))

    # 3. push
    mbsync(conf)
    remote = server_state(server, u,
                          list(layout) + ["Local"])
    assert "Local" in server_folders(server, u)
    assert set(remote["INBOX"]) == {layout["INBOX"][0], layout["INBOX"][2]}
    assert remote["INBOX"][s_flag][0] == {"\\Seen", "\\Flagged"}
    assert remote["INBOX"][layout["INBOX"][2]][0] == frozenset()
    assert set(remote["Work"]) == {layout["Work"][1]}
    assert set(remote["Projects/2026"]) == set(layout["Projects/2026"]) | \
        {s_move}
    assert remote["Projects/2026"][s_move][0] == {"\\Seen"}
    assert set(remote["Local"]) == {s_new}
    assert no_tuid(remote["Local"][s_new][1]) == simple_message(
        s_new, body="made here\r\n")

    # 4. a third sync changes nothing on either side
    files = maildir_files(maildir)
    mbsync(conf)
    assert maildir_files(maildir) == files
    assert server_state(server, u, list(layout) + ["Local"]) == remote


@pytest.mark.skipif(MBSYNC is None, reason="mbsync (isync) not installed")
def test_mbsync_pulls_server_changes(server, tmpdir_c):
    """Changes made on the server (flags, expunge, MOVE, new mail, a new
    folder) reach the Maildir on the next sync."""
    u = user(2)
    layout = seed(server, u)
    conf, maildir = mbsync_conf(server, tmpdir_c, u)
    mbsync(conf)
    m = server.imaps(u)
    try:
        m.select("INBOX")
        assert m.store("1", "+FLAGS", "(\\Answered \\Draft)")[0] == "OK"
        assert m.store("2", "+FLAGS", "(\\Deleted)")[0] == "OK"
        assert m.expunge()[0] == "OK"
        m.select('"Projects/2026"')
        typ, data = m._simple_command("MOVE", "1", '"Work"')
        assert typ == "OK", data
        assert m.create("Fresh")[0] == "OK"
        s_fresh = unique("fresh")
        assert m.append("Fresh", "(\\Seen)", None,
                        simple_message(s_fresh))[0] == "OK"
    finally:
        m.logout()
    s_late = unique("late")
    server.send(u, simple_message(s_late))
    server.wait_messages(u, 3, match=s_late.encode())
    mbsync(conf)
    local = maildir_state(maildir)
    ib = layout["INBOX"]
    assert set(local["INBOX"]) == {ib[0], ib[2], s_late}
    assert set(local["INBOX"][ib[0]][0]) == set("DR")
    assert set(local["Work"]) == set(layout["Work"]) | \
        {layout["Projects/2026"][0]}
    assert set(local["Projects/2026"]) == {layout["Projects/2026"][1]}
    assert local["Fresh"][s_fresh][0] == "S"
    files = maildir_files(maildir)
    mbsync(conf)
    assert maildir_files(maildir) == files


# -- fetchmail ----------------------------------------------------------------

MDA_SCRIPT = """#!/bin/sh
# one file per delivered message
umask 077
cat > "%s/msg.$$.$(date +%%s%%N)"
"""


def fetchmail_rc(server, d, u, opts, deliver, folder=None, proto="imaps",
                 tls='ssl sslcertfile "%s" sslcertck sslcommonname "mail.test"',
                 timeout=30):
    """Writes d/fetchmailrc polling u over PROTO's port (tls: the rc's TLS
    words, %s = the certificate); returns (rc path, environment)."""
    rc = os.path.join(d, "fetchmailrc")
    with open(rc, "w") as f:
        f.write('set no syslog\n'
                'poll 127.0.0.1 protocol IMAP port %d timeout %d\n'
                '  user "%s" there with password "%s" is root here\n'
                '  %s\n  %s\n  %s\n'
                % (server.ports[proto], timeout, u, server.users[u],
                   tls % server.cert_path, opts, deliver))
        if folder:
            f.write('  folder "%s"\n' % folder)
    os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
    return rc, dict(os.environ, FETCHMAILHOME=d, HOME=d)


def fetchmail_run(server, d, u, opts, deliver, folder=None):
    """Polls u over IMAPS with fetchmail once; returns the
    CompletedProcess (status 0 = mail, 1 = none)."""
    rc, env = fetchmail_rc(server, d, u, opts, deliver, folder)
    return run([FETCHMAIL, "-v", "-N", "-f", rc], env=env, ok=(0, 1))


def mda_setup(d):
    out = os.path.join(d, "out")
    os.makedirs(out)
    script = os.path.join(d, "mda.sh")
    with open(script, "w") as f:
        f.write(MDA_SCRIPT % out)
    os.chmod(script, 0o700)
    return out, 'mda "%s"' % script


def delivered(out):
    msgs = {}
    for fn in os.listdir(out):
        with open(os.path.join(out, fn), "rb") as fh:
            raw = fh.read()
        # fetchmail keeps our final-delivery lines (Return-Path,
        # Delivered-To) on top and puts its Received: below them: drop
        # that one only
        top = b""
        while raw.startswith((b"Return-Path: ", b"Delivered-To: ")):
            line, raw = raw.split(b"\n", 1)
            top += line + b"\n"
        assert raw.startswith(b"Received: "), raw[:200]
        head, rest = raw.split(b"\n", 1)
        while rest.startswith((b"\t", b" ")):
            rest = rest.split(b"\n", 1)[1]
        subj = email.message_from_bytes(rest)["Subject"]
        msgs[subj] = top + rest
    return msgs


@pytest.mark.skipif(FETCHMAIL is None, reason="fetchmail not installed")
def test_fetchmail_keep(server, tmpdir_c):
    u = user(3)
    subs = []
    for i in range(3):
        s = unique("fm%d" % i)
        server.send(u, simple_message(s, body=BIG_BODY if i == 1 else
                                      "short %d\r\n.\r\n..x\r\n" % i))
        subs.append(s)
    server.wait_messages(u, 3)
    before = server_state(server, u, ["INBOX"])["INBOX"]
    out, mda = mda_setup(tmpdir_c)
    r = fetchmail_run(server, tmpdir_c, u, "keep fetchall", mda)
    assert r.returncode == 0, r.stderr
    got = delivered(out)
    assert set(got) == set(subs)
    for s in subs:
        assert got[s] == lf(before[s][1]), s
    after = server_state(server, u, ["INBOX"])["INBOX"]
    assert set(after) == set(subs)
    for s in subs:
        assert "\\Seen" in after[s][0]
        assert after[s][1] == before[s][1]
    # a second run without fetchall finds nothing new (all \Seen)
    shutil.rmtree(out)
    os.makedirs(out)
    r = fetchmail_run(server, tmpdir_c, u, "keep", mda)
    assert r.returncode == 1, r.stdout + r.stderr
    assert os.listdir(out) == []


@pytest.mark.skipif(FETCHMAIL is None, reason="fetchmail not installed")
def test_fetchmail_no_keep(server, tmpdir_c):
    u = user(4)
    subs = []
    for i in range(4):
        s = unique("nk%d" % i)
        server.send(u, simple_message(s, body="gone %d\r\n" % i))
        subs.append(s)
    server.wait_messages(u, 4)
    before = server_state(server, u, ["INBOX"])["INBOX"]
    out, mda = mda_setup(tmpdir_c)
    r = fetchmail_run(server, tmpdir_c, u, "no keep", mda)
    assert r.returncode == 0, r.stderr
    got = delivered(out)
    assert set(got) == set(subs)
    for s in subs:
        assert got[s] == lf(before[s][1])
    assert server_state(server, u, ["INBOX"])["INBOX"] == {}
    assert server.fetch_all(u) == []


@pytest.mark.skipif(FETCHMAIL is None, reason="fetchmail not installed")
def test_fetchmail_folder_to_smtp(server, tmpdir_c):
    """fetchmail reads a non-INBOX folder and forwards over our own SMTP
    port to another local user."""
    u, dest = user(5), user(6)
    m = server.imaps(u)
    subs = []
    try:
        assert m.create("Lists")[0] == "OK"
        for i in range(2):
            s = unique("fwd%d" % i)
            assert m.append("Lists", None, None,
                            simple_message(s, body="fwd %d\r\n" % i))[0] \
                == "OK"
            subs.append(s)
    finally:
        m.logout()
    r = fetchmail_run(server, tmpdir_c, u, "no keep",
                      'smtphost "127.0.0.1/%d" smtpname "%s"'
                      % (server.ports["smtp"], dest), folder="Lists")
    assert r.returncode == 0, r.stdout + r.stderr
    msgs = server.wait_messages(dest, 2)
    assert sorted(email.message_from_bytes(x)["Subject"] for x in msgs) \
        == sorted(subs)
    assert server_state(server, u, ["Lists"])["Lists"] == {}


# -- regressions for bugs the clients found ----------------------------------

def test_fetch_rfc822_header_and_text(server):
    """RFC 9051 §6.4.5: RFC822.HEADER = BODY.PEEK[HEADER] (no \\Seen),
    RFC822.TEXT = BODY[TEXT] (sets \\Seen). Both returned the whole message
    before (seen with fetchmail)."""
    u = user(7)
    s = unique("r822")
    msg = simple_message(s, body="the text\r\n")
    server.send(u, msg)
    server.wait_messages(u, 1)
    m = server.imaps(u)
    try:
        m.select("INBOX")
        typ, data = m.fetch("1", "(RFC822.HEADER)")
        assert typ == "OK"
        head = data[0][1]
        assert head.endswith(b"\r\n\r\n") and b"the text" not in head, data
        assert head == m.fetch("1", "(BODY.PEEK[HEADER])")[1][0][1]
        assert b"RFC822.HEADER {" in data[0][0]
        typ, data = m.fetch("1", "(FLAGS)")
        assert b"\\Seen" not in data[0], data
        typ, data = m.fetch("1", "(RFC822.TEXT)")
        assert data[0][1] == b"the text\r\n", data
        assert b"RFC822.TEXT {" in data[0][0]
        typ, data = m.fetch("1", "(FLAGS)")
        flat = b"".join(x if isinstance(x, bytes) else x[0] for x in data)
        assert b"\\Seen" in flat, data
    finally:
        m.logout()


@pytest.mark.skipif(FETCHMAIL is None, reason="fetchmail not installed")
def test_fetchmail_starttls_plain_port(server, tmpdir_c):
    """On the plain port fetchmail must upgrade with STARTTLS (the
    greeting says LOGINDISABLED) before it logs in."""
    u = user(8)
    s = unique("stls")
    server.send(u, simple_message(s, body="over starttls\r\n"))
    server.wait_messages(u, 1)
    out, mda = mda_setup(tmpdir_c)
    rc, env = fetchmail_rc(server, tmpdir_c, u, "keep", mda, proto="imap",
                           tls='sslproto "TLS1.2+" sslcertfile "%s" sslcertck'
                               ' sslcommonname "mail.test"')
    r = run([FETCHMAIL, "-v", "-N", "-f", rc], env=env)
    log = r.stdout + r.stderr
    assert "STARTTLS" in log, log
    assert set(delivered(out)) == {s}


@pytest.mark.skipif(MBSYNC is None, reason="mbsync (isync) not installed")
def test_mbsync_big_8bit_and_folder_removal(server, tmpdir_c):
    """A 2 MB and an 8-bit UTF-8 message made locally are uploaded intact;
    a folder removed on one side is removed on the other (Remove Both)."""
    u = "c9@example.test"
    server.add_user(u, "client-Secret-9")
    m = server.imaps(u)
    try:
        for f in ("Old", "Gone"):
            assert m.create(f)[0] == "OK"
    finally:
        m.logout()
    conf, maildir = mbsync_conf(server, tmpdir_c, u)
    mbsync(conf)
    assert {"Old", "Gone"} <= set(maildir_state(maildir))
    s_big, s_utf = unique("big"), unique("utf8")
    big = simple_message(s_big, body="x" * 998 + "\r\n" +
                         ("y" * 76 + "\r\n") * 27000)
    utf = ("From: Zoë <zoe@remote.test>\r\nTo: c9@example.test\r\n"
           "Subject: %s\r\nMessage-ID: <%s@remote.test>\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n"
           "Grüße aus Köln — ça va ? 日本語\r\n" % (s_utf, s_utf)).encode()
    for name, data in (("big1", big), ("utf1", utf)):
        with open(os.path.join(maildir, "INBOX", "new", name), "wb") as fh:
            fh.write(lf(data))
    shutil.rmtree(os.path.join(maildir, "Old"))
    r = mbsync(conf)
    remote = server_state(server, u, ["INBOX"])["INBOX"]
    assert no_tuid(remote[s_big][1]) == big
    assert no_tuid(remote[s_utf][1]) == utf
    assert "Old" not in server_folders(server, u), r.stdout + r.stderr
    m = server.imaps(u)
    try:
        assert m.delete("Gone")[0] == "OK"
    finally:
        m.logout()
    mbsync(conf)
    assert "Gone" not in maildir_state(maildir)
    files = maildir_files(maildir)
    mbsync(conf)
    assert maildir_files(maildir) == files


@pytest.mark.skipif(FETCHMAIL is None, reason="fetchmail not installed")
def test_fetchmail_idle(server, tmpdir_c):
    """fetchmail in IDLE mode picks up a message delivered while it
    waits: the IDLE session sees the new EXISTS."""
    import time
    u = "c10@example.test"
    server.add_user(u, "client-Secret-10")
    s1 = unique("idle1")
    server.send(u, simple_message(s1))
    server.wait_messages(u, 1)
    out, mda = mda_setup(tmpdir_c)
    rc, env = fetchmail_rc(server, tmpdir_c, u, "idle no keep", mda,
                           timeout=60)
    log = open(os.path.join(tmpdir_c, "log"), "w+")
    p = subprocess.Popen([FETCHMAIL, "-v", "-N", "-d", "5", "-f", rc],
                         env=env, stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    try:
        def wait_for(subjects, what):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if set(delivered(out)) >= subjects:
                    return
                time.sleep(0.2)
            log.seek(0)
            pytest.fail("%s never delivered:\n%s" % (what, log.read()))
        wait_for({s1}, "first message")
        # Wait until the server has answered IDLE with its continuation
        # (RFC 2177): from then on a delivery must be announced. fetchmail
        # -v logs what it reads ("IMAP< + idling").
        deadline = time.monotonic() + 30
        while True:
            log.seek(0)
            if re.search(r"IMAP< \+ idling", log.read()):
                break
            assert time.monotonic() < deadline, "fetchmail never idled"
            time.sleep(0.1)
        s2 = unique("idle2")
        server.send(u, simple_message(s2))
        wait_for({s1, s2}, "message delivered during IDLE")
        log.seek(0)
        text = log.read()
        assert re.search(r"IMAP> A\d+ IDLE", text), text
        after = re.split(r"IMAP< \+ idling", text, maxsplit=1)[1]
        assert re.search(r"IMAP< \* \d+ EXISTS", after), text
    finally:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        log.close()


@pytest.mark.skipif(MBSYNC is None, reason="mbsync (isync) not installed")
def test_mbsync_starttls_login(server, tmpdir_c):
    """mbsync on the plain port: STARTTLS, then the LOGIN command."""
    u = "c11@example.test"
    server.add_user(u, "client-Secret-11")
    s = unique("stls")
    server.send(u, simple_message(s))
    server.wait_messages(u, 1)
    conf, maildir = mbsync_conf(server, tmpdir_c, u, starttls=True)
    r = run([MBSYNC, "-D", "-c", conf, "-a"])
    assert re.search(r">>> \d+ STARTTLS", r.stdout + r.stderr)
    assert re.search(r">>> \d+ LOGIN ", r.stdout + r.stderr)
    assert set(maildir_state(maildir)["INBOX"]) == {s}
