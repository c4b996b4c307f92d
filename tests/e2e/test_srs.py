"""SRS (the Sender Rewriting Scheme, forms of libsrs2/postsrsd) for mail an
alias forwards elsewhere: the next hop (a scripted peer on loopback) sees
an SRS0 envelope sender of the alias's domain; a bounce sent back to that
address on port 25 reaches the original sender (relayed to its MX, the
peer again); forged and expired SRS addresses are refused with 550 5.1.1.

The hash is computed here from the secret file in the data directory
(HMAC-SHA256, as srs.h documents), so the test checks the format
independently of our code."""

import base64
import hashlib
import hmac
import os
import re
import stat
import time

import pytest

from conftest import unique
from queueutil import mx_zone, outbound_config, peers_fixture, wait_for

peer_factory = peers_fixture()
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def forwarder(dns_server, server_factory, peer_factory, **cfg):
    peer = peer_factory()
    z = {}
    for dom in ("peer.test", "orig.test", "other.test"):
        z.update(mx_zone(dom, peer.host))
    dns = dns_server(z)
    srv = server_factory(config=outbound_config(dns, **cfg))
    srv.cli("alias", "add", "fwd@example.test", "r@peer.test", check=True)
    return srv, peer


def secret(srv):
    path = os.path.join(srv.dir, "srs.secret")
    return bytes.fromhex(open(path).read().strip())


def srs_hash(key, *fields):
    data = b"".join(f.lower().encode() + b"\0" for f in fields)
    mac = hmac.new(key, data, hashlib.sha256).digest()
    bits = int.from_bytes(mac[:4], "big")
    return "".join(B32[(bits >> (27 - 5 * i)) & 31] for i in range(6))


def day_stamp(days_ago=0):
    d = (int(time.time()) // 86400 - days_ago) % 1024
    return B32[d >> 5] + B32[d & 31]


def message(token, sender):
    return ("From: %s\r\nTo: fwd@example.test\r\nSubject: %s\r\n\r\n"
            "hello %s\r\n" % (sender, token, token)).encode()


def peer_tx(peer, token):
    def got():
        for t in peer.transactions():
            if t.data is not None and token.encode() in t.data:
                return t
        return None
    return wait_for(got, what="%s at the peer" % token)


def smtp_rcpt(srv, sender, rcpt, body=None):
    """(RCPT reply code, text, DATA reply) over port 25."""
    s = srv.smtp("smtp")
    try:
        s.ehlo("client.test")
        assert s.mail(sender)[0] == 250
        code, text = s.rcpt(rcpt)
        data = s.data(body) if code == 250 and body is not None else None
        return code, text.decode(), data
    finally:
        s.quit()


def test_forward_gets_srs0_and_bounce_goes_back(dns_server, server_factory,
                                                peer_factory):
    srv, peer = forwarder(dns_server, server_factory, peer_factory)
    token = unique("srs")
    srv.send("fwd@example.test", message(token, "author@orig.test"),
             sender="author@orig.test")
    tx = peer_tx(peer, token)
    m = re.fullmatch(r"SRS0=([A-Z2-7]{6})=([A-Z2-7]{2})=orig\.test="
                     r"author@example\.test", tx.mail_from)
    assert m, tx.mail_from
    assert m.group(2) == day_stamp()
    key = secret(srv)
    assert m.group(1) == srs_hash(key, m.group(2), "orig.test", "author")
    # The secret: generated once, the service user's alone.
    st = os.stat(os.path.join(srv.dir, "srs.secret"))
    assert stat.S_IMODE(st.st_mode) == 0o600
    # A bounce to the SRS address (any case: hops may change it) goes
    # back to the original sender, with the null sender.
    btoken = unique("bounce")
    code, text, data = smtp_rcpt(srv, "<>", tx.mail_from.lower(),
                                 message(btoken, "MAILER-DAEMON@peer.test"))
    assert code == 250, text
    assert data[0] == 250
    back = peer_tx(peer, btoken)
    assert back.mail_from == ""
    assert [r[0] for r in back.rcpts] == ["author@orig.test"]


def test_forged_and_expired_refused(dns_server, server_factory,
                                    peer_factory):
    srv, peer = forwarder(dns_server, server_factory, peer_factory)
    # The secret exists from the start.
    key = secret(srv)
    forged = "SRS0=AAAAAA=%s=orig.test=author@example.test" % day_stamp()
    if srs_hash(key, day_stamp(), "orig.test", "author") == "AAAAAA":
        pytest.skip("one chance in a billion")
    code, text, _ = smtp_rcpt(srv, "<>", forged)
    assert code == 550 and text.startswith("5.1.1"), (code, text)
    assert "hash" in text
    old = day_stamp(30)
    expired = "SRS0=%s=%s=orig.test=author@example.test" % (
        srs_hash(key, old, "orig.test", "author"), old)
    code, text, _ = smtp_rcpt(srv, "<>", expired)
    assert code == 550 and text.startswith("5.1.1") and "expired" in text
    # Still inside the window: accepted.
    recent = day_stamp(20)
    ok = "SRS0=%s=%s=orig.test=author@example.test" % (
        srs_hash(key, recent, "orig.test", "author"), recent)
    code, text, _ = smtp_rcpt(srv, "<>", ok)
    assert code == 250, text
    # Another domain's SRS address is not ours: relay denied as before.
    code, _, _ = smtp_rcpt(srv, "<>", "SRS0=AAAAAA=AA=a.test=b@far.test")
    assert code == 554


def test_srs1_for_an_srs0_sender(dns_server, server_factory, peer_factory):
    srv, peer = forwarder(dns_server, server_factory, peer_factory)
    token = unique("srs1")
    first = "SRS0=HHHH=TT=orig.test=author@other.test"
    srv.send("fwd@example.test", message(token, "author@orig.test"),
             sender=first)
    tx = peer_tx(peer, token)
    m = re.fullmatch(r"SRS1=([A-Z2-7]{6})=other\.test==HHHH=TT=orig\.test="
                     r"author@example\.test", tx.mail_from)
    assert m, tx.mail_from
    assert m.group(1) == srs_hash(secret(srv), "other.test",
                                  "=HHHH=TT=orig.test=author")
    # Its bounce goes to the first forwarder's SRS0 address.
    btoken = unique("bounce1")
    code, text, data = smtp_rcpt(srv, "<>", tx.mail_from,
                                 message(btoken, "MAILER-DAEMON@peer.test"))
    assert code == 250 and data[0] == 250, text
    back = peer_tx(peer, btoken)
    assert [r[0] for r in back.rcpts] == [first]


def test_hosted_sender_kept(dns_server, server_factory, peer_factory):
    srv, peer = forwarder(dns_server, server_factory, peer_factory)
    token = unique("hosted")
    srv.send("fwd@example.test", message(token, "bob@example.test"),
             sender="bob@example.test")
    assert peer_tx(peer, token).mail_from == "bob@example.test"


def test_srs_domain_and_off(dns_server, server_factory, peer_factory):
    srv, peer = forwarder(dns_server, server_factory, peer_factory,
                      srs_domain="srs.example.net")
    token = unique("srsdom")
    srv.send("fwd@example.test", message(token, "author@orig.test"),
             sender="author@orig.test")
    frm = peer_tx(peer, token).mail_from
    assert frm.startswith("SRS0=") and frm.endswith("@srs.example.net")
    # srs_domain need not be hosted: its bounces are still ours.
    btoken = unique("bouncedom")
    code, text, _ = smtp_rcpt(srv, "<>", frm,
                              message(btoken, "MAILER-DAEMON@peer.test"))
    assert code == 250, text
    assert [r[0] for r in peer_tx(peer, btoken).rcpts] == [
        "author@orig.test"]

    srv2, peer2 = forwarder(dns_server, server_factory, peer_factory, srs="no")
    token = unique("srsoff")
    srv2.send("fwd@example.test", message(token, "author@orig.test"),
              sender="author@orig.test")
    assert peer_tx(peer2, token).mail_from == "author@orig.test"
    # With SRS off an SRS address is just an unknown user.
    key = secret(srv)  # srv2 made none: srs = no
    addr = "SRS0=%s=%s=orig.test=author@example.test" % (
        srs_hash(key, day_stamp(), "orig.test", "author"), day_stamp())
    code, text, _ = smtp_rcpt(srv2, "<>", addr)
    assert code == 550 and "User unknown" in text, (code, text)


def test_failed_forward_notice_reaches_original_sender(
        dns_server, server_factory, peer_factory):
    """The next hop refuses the forward: our DSN, owed to the queued
    sender (our SRS address), goes to the sender it stands for."""
    peer = peer_factory(rcpt_replies={"r@peer.test": ["550 5.1.1 gone"]})
    z = {}
    for dom in ("peer.test", "orig.test"):
        z.update(mx_zone(dom, peer.host))
    srv = server_factory(config=outbound_config(dns_server(z)))
    srv.cli("alias", "add", "fwd@example.test", "r@peer.test", check=True)
    token = unique("srsdsn")
    srv.send("fwd@example.test", message(token, "author@orig.test"),
             sender="author@orig.test")

    def dsn():
        for t in peer.transactions():
            if (t.data is not None and b"multipart/report" in t.data and
                    token.encode() in t.data):
                return t
        return None
    t = wait_for(dsn, what="the DSN at the peer")
    assert t.mail_from == ""
    assert [r[0] for r in t.rcpts] == ["author@orig.test"]
    assert b"r@peer.test" in t.data
