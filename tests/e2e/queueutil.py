"""Helpers for the outbound queue's end-to-end tests (test_queue_*.py).

Every address is on loopback: Postel instances that must take mail on port
25 listen on their own 127.x.y.z (the tests run as root), the test DNS
server (dnsserver.py) maps the test domains to those addresses, and the
sending instance's `resolver =` points at it.
"""

import email
import email.policy
import imaplib
import itertools
import os
import random
import re
import socket
import time

from conftest import PROTOS, free_ports

ALICE = "alice@example.test"

# Distinct loopback addresses per test process: a listener's port 25 on
# an address of its own never collides with another test's.
_ips = itertools.count(1)
_net = random.randint(16, 239)


def new_ip():
    n = next(_ips)
    return "127.%d.%d.%d" % (_net, 1 + n // 250, 1 + n % 250)


def port25_free(ip):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, 25))
            return True
        except OSError:
            return False


def listen_smtp_on(ip):
    """A listen dict: SMTP on ip:25, the rest on free 127.0.0.1 ports."""
    ports = free_ports(len(PROTOS))
    listen = {p: ("127.0.0.1", port) for p, port in zip(PROTOS, ports)}
    listen["smtp"] = (ip, 25)
    return listen


def outbound_config(dns, **extra):
    """The sending side: our DNS server, no DNSSEC, short timers."""
    cfg = {
        "resolver": dns.resolver,
        "dnssec_trust_anchor": "none",
        "retry_min": 1,
        "retry_max": 2,
        "smtp_client_connect_timeout": 5,
        "smtp_client_timeout": 20,
    }
    cfg.update(extra)
    return cfg


def mx_zone(domain, ip, host=None):
    """Zone entries: domain MX 10 host, host A ip."""
    host = host or "mx." + domain
    return {domain: {"MX": [(10, host)]}, host: {"A": [ip]}}


def message(token, sender=ALICE, to="someone@remote.test", body=None,
            extra=""):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.test>\r\n"
            "Date: Mon, 07 Dec 2026 06:00:00 +0000\r\n%s\r\n%s" %
            (sender, to, token, token, extra,
             body or "hello %s\r\nsecond line\r\n" % token)).encode()


def submit(srv, rcpts, msg, sender=ALICE, mail_options=(),
           rcpt_options=None):
    """Submits over 587 as sender; rcpt_options: {addr: [opts]}. Returns
    the queue id (the DATA reply's id)."""
    s = srv.smtp_auth("submission", user=sender)
    try:
        code, reply = s.mail(sender, list(mail_options))
        assert code == 250, (code, reply)
        for r in rcpts:
            opts = (rcpt_options or {}).get(r, [])
            code, reply = s.rcpt(r, opts)
            assert code == 250, (r, code, reply)
        code, reply = s.data(msg)
        assert code == 250, (code, reply)
    finally:
        try:
            s.quit()
        except Exception:
            pass
    text = reply.decode("utf-8", "replace")
    assert "queued as" in text, text
    return text.split("queued as", 1)[1].strip().split()[0].strip("<>")


def wait_for(pred, timeout=20.0, what="condition", step=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(step)


def imap_all(srv, user):
    """Every message of user's INBOX over IMAPS, as bytes."""
    m = srv.imaps(user)
    try:
        typ, data = m.select("INBOX")
        assert typ == "OK", data
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
        assert typ == "OK", data
        return [d[1] for d in data if isinstance(d, tuple)]
    finally:
        m.logout()


def wait_inbox(srv, user, count, match=None, timeout=20.0):
    def got():
        msgs = imap_all(srv, user)
        if match is not None:
            msgs = [x for x in msgs if match in x]
        return msgs if len(msgs) >= count else None
    return wait_for(got, timeout, "%d message(s) for %s" % (count, user),
                    step=0.2)


def strip_trace(msg):
    """The message without its trace header fields (Received,
    Return-Path: RFC 5321 §4.4, Delivered-To) and Authentication-Results
    (RFC 8601), which each hop adds."""
    head, sep, body = msg.partition(b"\r\n\r\n")
    out, skip = [], False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not skip:
                out.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        skip = name in (b"received", b"return-path", b"delivered-to",
                        b"authentication-results")
        if not skip:
            out.append(line)
    return b"\r\n".join(out) + sep + body


def log_lines(srv, event, qid=None):
    pat = "event=%s " % event
    return [l for l in srv.stderr_text().splitlines()
            if pat in l and (qid is None or "msg=%s " % qid in l)]


def remote_lines(srv, qid=None, status=None):
    return [l for l in log_lines(srv, "remote", qid)
            if status is None or "status=%s " % status in l]


def log_field(line, key):
    m = re.search(r'(?:^| )%s=("(?:[^"\\]|\\.)*"|\S+)' % re.escape(key),
                  line)
    return m.group(1).strip('"') if m else None


class Dsn:
    """A DSN as the sender sees it: per-recipient fields by address."""

    def __init__(self, raw):
        self.raw = raw
        self.msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        self.per_msg = {}
        self.rcpts = {}
        self.returned = None
        for part in self.msg.walk():
            ct = part.get_content_type()
            if ct in ("message/delivery-status",
                      "message/global-delivery-status"):
                self._status(part)
            elif ct in ("message/rfc822", "text/rfc822-headers",
                        "message/global", "message/global-headers"):
                self.returned = part

    def _status(self, part):
        # message/delivery-status parses into blocks, but the global
        # type (RFC 6533) into one message: read the text again.
        payload = part.get_payload()
        if not isinstance(payload, str):
            payload = "\n\n".join(b.as_string() for b in payload)
        blocks = [email.message_from_string(b) for b in
                  re.split(r"\r?\n[ \t]*\r?\n", payload.strip())
                  if b.strip()]
        if not blocks:
            return
        self.per_msg = {k.lower(): v for k, v in blocks[0].items()}
        for b in blocks[1:]:
            fields = {k.lower(): v.strip() for k, v in b.items()}
            final = fields.get("final-recipient", "")
            addr = final.split(";", 1)[-1].strip()
            self.rcpts[addr.lower()] = fields

    def status(self, addr):
        return self.rcpts[addr.lower()]["status"]

    def action(self, addr):
        return self.rcpts[addr.lower()]["action"].lower()


def is_dsn(raw):
    return (b"report-type=delivery-status" in raw or
            b"report-type=\"delivery-status\"" in raw)


def wait_dsn(srv, user=ALICE, count=1, match=None, timeout=20.0):
    """The DSNs in user's INBOX (at least count, containing match)."""
    def got():
        msgs = [x for x in imap_all(srv, user) if is_dsn(x)]
        if match is not None:
            msgs = [x for x in msgs if match in x]
        return msgs if len(msgs) >= count else None
    return [Dsn(x) for x in wait_for(got, timeout, "DSN for %s" % user,
                                     step=0.2)]


def dsns(srv, user=ALICE):
    return [Dsn(x) for x in imap_all(srv, user) if is_dsn(x)]


def queue_cli(srv, *args, check=True):
    r = srv.cli("queue", *args)
    if check:
        assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return r


def queue_gone(srv, qid):
    r = srv.cli("queue", "show", qid)
    return r.returncode != 0


def tmp_file(srv, name, text, mode=0o640):
    """A file root owns with the service user's group (as an
    administrator installs a secret only root and postel may read)."""
    path = os.path.join(srv.dir, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    if os.geteuid() == 0:
        import grp
        os.chown(path, 0, grp.getgrnam("postel").gr_gid)
    return path


def peers_fixture():
    """Builds the `peer_factory` fixture body: make(**SmtpPeer options)
    -> a scripted peer on a loopback address of its own, port 25."""
    import pytest
    from smtppeer import SmtpPeer

    @pytest.fixture
    def peer_factory():
        made = []

        def make(**kw):
            ip = new_ip()
            p = SmtpPeer(host=ip, port=25, **kw).start()
            made.append(p)
            return p

        yield make
        for p in made:
            p.stop()

    return peer_factory


def peer_tokens(peer):
    """Subject tokens of every message the peer took, in order."""
    out = []
    for data in peer.messages():
        m = re.search(rb"^Subject: (\S+)", data, re.M)
        out.append(m.group(1).decode() if m else None)
    return out


def wait_recorded(srv, qid, attempts, timeout=10.0):
    """Waits until `queue show` has the recipient's attempts committed
    (the log line comes before the commit); returns the output."""
    want = "attempts: %d\n" % attempts

    def got():
        r = srv.cli("queue", "show", qid)
        return r.stdout if r.returncode == 0 and want in r.stdout else None
    return wait_for(got, timeout, "%s with %d attempt(s)" % (qid, attempts))
