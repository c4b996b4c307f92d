"""Storage quotas (RFC 9208 QUOTA, SMTP 552 5.2.2, the CLI) and
the minimum free disk space below which nothing new is accepted."""

import re
import threading

from conftest import simple_message, unique
from imapraw import Imap
from rawclient import RawClient

KB = 1024


def new_user(server, quota=None):
    addr = "%s@example.test" % unique("q")
    server.add_user(addr, "Quota-Secret-7")
    if quota is not None:
        server.cli("user", "quota", addr, quota, check=True)
    return addr


def show(server, addr):
    r = server.cli("user", "show", addr, check=True)
    return dict(l.split(": ", 1) for l in r.stdout.splitlines())


def message(token, size):
    head = ("Subject: %s\r\n\r\n" % token).encode()
    body = (b"q" * 70 + b"\r\n") * (max(size - len(head), 72) // 72)
    return head + body


def append(im, box, data):
    """(status, tagged line) of APPEND box {len}."""
    tag = "ap%d" % next(im.tags)
    im.c.send(b"%s APPEND %s {%d}\r\n" % (tag.encode(), box.encode(),
                                           len(data)))
    ln = im.c.read_line()
    assert ln.startswith(b"+"), ln
    im.c.send(data + b"\r\n")
    while True:
        ln = im.read_response()
        if ln.startswith(tag + " "):
            return ln.split(" ", 2)[1], ln


def status(im, box):
    _, lines, _ = im.cmd("STATUS %s (MESSAGES SIZE)" % box)
    m = re.search(r"MESSAGES (\d+) SIZE (\d+)", " ".join(lines))
    return int(m.group(1)), int(m.group(2))


def quota_lines(im, box="INBOX"):
    st, lines, tagged = im.cmd("GETQUOTAROOT %s" % box)
    assert st == "OK", tagged
    return lines


# ---- CLI -------------------------------------------------------------------

def test_cli_quota_set_and_show(server):
    addr = new_user(server)
    shown = show(server, addr)
    # user show says more (mailboxes, aliases, sessions: test_control.py).
    assert {k: shown[k] for k in ("address", "quota", "usage")} == {
        "address": addr, "quota": "unlimited (default)", "usage": "0"}
    server.cli("user", "quota", addr, "10M", check=True)
    assert show(server, addr)["quota"] == str(10 * 1024 * 1024)
    server.cli("user", "quota", addr, "512k", check=True)
    assert show(server, addr)["quota"] == "524288"
    server.cli("user", "quota", addr, "unlimited", check=True)
    assert show(server, addr)["quota"] == "unlimited"
    server.cli("user", "quota", addr, "default", check=True)
    assert show(server, addr)["quota"] == "unlimited (default)"
    for bad in ("10X", "-1", "", "1.5G", "99999999999T"):
        r = server.cli("user", "quota", addr, bad)
        assert r.returncode != 0 and "invalid quota" in r.stderr, (bad, r)
    r = server.cli("user", "quota", "nobody@example.test", "1M")
    assert r.returncode != 0 and "no such user" in r.stderr, r
    r = server.cli("user", "show", "nobody@example.test")
    assert r.returncode != 0 and "no such user" in r.stderr, r
    # Usage follows deliveries.
    token = unique("use")
    server.send([addr], simple_message(token))
    assert server.wait_messages(addr, 1, token.encode())
    assert int(show(server, addr)["usage"]) > 0


# ---- IMAP QUOTA ------------------------------------------------------------

def test_getquota_values_after_deliveries(server):
    addr = new_user(server, "100K")
    for i in range(3):
        server.send([addr], message(unique("d%d" % i), 5000))
    assert len(server.wait_messages(addr, 3)) == 3
    im = Imap(server, addr)
    try:
        caps = " ".join(im.ok("CAPABILITY"))
        assert " QUOTA " in caps + " " and "QUOTA=RES-STORAGE" in caps
        msgs, size = status(im, "INBOX")
        assert msgs == 3
        used = (size + KB - 1) // KB
        lines = quota_lines(im)
        assert '* QUOTAROOT "INBOX" ""' in lines, lines
        assert '* QUOTA "" (STORAGE %d 100)' % used in lines, lines
        st, lines, _ = im.cmd('GETQUOTA ""')
        assert st == "OK" and lines == ['* QUOTA "" (STORAGE %d 100)' % used]
        # Every mailbox has the root "".
        assert '* QUOTAROOT "Sent" ""' in quota_lines(im, "Sent")
        st, _, tagged = im.cmd("GETQUOTAROOT NoSuchBox")
        assert st == "NO", tagged
        st, _, tagged = im.cmd('GETQUOTA "other"')
        assert st == "NO", tagged
        st, _, tagged = im.cmd('SETQUOTA "" (STORAGE 1000000)')
        assert st == "NO" and "[NOPERM]" in tagged, tagged
        assert '* QUOTA "" (STORAGE %d 100)' % used in quota_lines(im)
    finally:
        im.close()


def test_getquotaroot_unlimited_account_has_no_root(server):
    addr = new_user(server)
    im = Imap(server, addr)
    try:
        assert quota_lines(im) == ['* QUOTAROOT "INBOX"']
        st, _, tagged = im.cmd('GETQUOTA ""')
        assert st == "NO", tagged
    finally:
        im.close()


def test_overquota_append_copy_move_leave_mailboxes_unchanged(server):
    addr = new_user(server, "20K")
    im = Imap(server, addr)
    try:
        st, ln = append(im, "INBOX", message(unique("a"), 12 * KB))
        assert st == "OK", ln
        before = status(im, "INBOX")
        st, ln = append(im, "INBOX", message(unique("b"), 12 * KB))
        assert st == "NO" and "[OVERQUOTA]" in ln, ln
        assert status(im, "INBOX") == before
        im.ok("SELECT INBOX")
        st, _, ln = im.cmd("COPY 1 Archive")
        assert st == "NO" and "[OVERQUOTA]" in ln, ln
        assert status(im, "Archive") == (0, 0)
        st, _, ln = im.cmd("UID COPY 1:* Archive")
        assert st == "NO" and "[OVERQUOTA]" in ln, ln
        assert status(im, "Archive") == (0, 0)
        assert status(im, "INBOX") == before
        # A MOVE inside the account leaves the usage as it was (RFC 9208:
        # the quota root's usage does not grow), so it is allowed even
        # when full: moving to Trash is how a full account makes room.
        server.cli("user", "quota", addr, "1K", check=True)
        im.ok("MOVE 1 Trash")
        assert status(im, "Trash") == before
        assert status(im, "INBOX") == (0, 0)
        im.ok("SELECT Trash")
        st, _, ln = im.cmd("COPY 1 INBOX")
        assert st == "NO" and "[OVERQUOTA]" in ln, ln
        im.ok("STORE 1 +FLAGS (\\Deleted)")
        im.ok("EXPUNGE")
        assert show(server, addr)["usage"] == "0"
    finally:
        im.close()


def test_concurrent_appends_cannot_both_pass(server):
    """Each message fits alone, both together do not: the check runs in
    the group commit, one job after the other."""
    addr = new_user(server, "30K")
    results = {}

    def one(i):
        im = Imap(server, addr)
        try:
            results[i] = append(im, "INBOX", message(unique("c%d" % i),
                                                     18 * KB))
        finally:
            im.close()

    for _ in range(3):
        results.clear()
        ts = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        sts = sorted(r[0] for r in results.values())
        assert len(sts) == 2
        # Empty account: exactly one fits. Full: none.
        assert sts.count("OK") <= 1, results
        assert all("[OVERQUOTA]" in r[1] for r in results.values()
                   if r[0] == "NO"), results
        assert int(show(server, addr)["usage"]) <= 30 * KB


# ---- SMTP ------------------------------------------------------------------

def smtp_rcpts(server, rcpts, size=None, body=None):
    host, port = server.addr("smtp")
    c = RawClient(host, port)
    try:
        assert c.reply()[0] == 220
        c.ehlo()
        mail = "MAIL FROM:<s@remote.test>"
        if size is not None:
            mail += " SIZE=%d" % size
        assert c.cmd(mail)[0] == 250
        codes = [c.cmd("RCPT TO:<%s>" % r) for r in rcpts]
        data = None
        if body is not None and any(code == 250 for code, _ in codes):
            assert c.cmd("DATA")[0] == 354
            c.send(body + b"\r\n.\r\n")
            data = c.reply()
        c.cmd("QUIT")
        return codes, data
    finally:
        c.close()


def test_smtp_full_mailbox_552_other_recipient_delivered(server):
    full = new_user(server, "4K")
    other = new_user(server)
    # Empty: accepted; the delivery may pass the limit by this message.
    token = unique("fill")
    server.send([full], message(token, 6 * KB))
    assert server.wait_messages(full, 1, token.encode())
    token = unique("two")
    codes, data = smtp_rcpts(server, [full, other],
                             body=simple_message(token))
    assert codes[0][0] == 552 and "5.2.2" in codes[0][1][0], codes
    assert "Mailbox full" in codes[0][1][0], codes
    assert codes[1][0] == 250, codes
    assert data[0] == 250, data
    assert server.wait_messages(other, 1, token.encode())
    assert len(server.fetch_all(full)) == 1


def test_smtp_declared_size_counts(server):
    addr = new_user(server, "10K")
    codes, _ = smtp_rcpts(server, [addr], size=20 * KB)
    assert codes[0][0] == 552 and "5.2.2" in codes[0][1][0], codes
    codes, _ = smtp_rcpts(server, [addr], size=5 * KB)
    assert codes[0][0] == 250, codes


# ---- min_free_disk ---------------------------------------------------------

def test_min_free_disk_refuses_new_mail_reads_still_work(server_factory):
    srv = server_factory()
    user = "alice@example.test"
    token = unique("pre")
    srv.send([user], simple_message(token))
    assert srv.wait_messages(user, 1, token.encode())
    srv.stop_checked()
    # More than any disk has: the check trips without filling one.
    srv.config["min_free_disk"] = "1000000G"
    srv._write_config()
    srv.start()
    host, port = srv.addr("smtp")
    c = RawClient(host, port)
    try:
        assert c.reply()[0] == 220
        c.ehlo()
        code, lines = c.cmd("MAIL FROM:<s@remote.test>")
        assert code == 452 and lines[0].startswith("4.3.1"), (code, lines)
        assert "Insufficient system storage" in lines[0]
    finally:
        c.close()
    im = Imap(srv, user)
    try:
        st, ln = append(im, "INBOX", simple_message(unique("x")))
        assert st == "NO" and "[UNAVAILABLE]" in ln, ln
        im.ok("SELECT INBOX")
        st, _, ln = im.cmd("COPY 1 Archive")
        assert st == "NO" and "[UNAVAILABLE]" in ln, ln
        # Reads and deletions go on.
        lines = im.ok("FETCH 1 BODY.PEEK[]")
        assert token in " ".join(lines)
        im.ok("STORE 1 +FLAGS (\\Deleted)")
        im.ok("EXPUNGE")
        assert status(im, "INBOX")[0] == 0
    finally:
        im.close()
    assert srv.fetch_all(user) == []
