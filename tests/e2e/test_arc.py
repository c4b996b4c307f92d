"""ARC (RFC 8617): chains sealed by dkimpy (Debian python3-dkim, written by
others) verified by Postel on port 25, the result in our one
Authentication-Results field; and the seal Postel adds when an alias
forwards a message elsewhere, verified by dkimpy's arc_verify at the next
hop (a scripted peer on loopback).

The sealers' keys are served by the test DNS server; ours are the ones
`postel dns` tells the administrator to publish."""

import re
import signal
import time

import dkim
import pytest

from conftest import unique
from dkimutil import published_records, rsa_key, txt_strings
from queueutil import mx_zone, outbound_config, peers_fixture, wait_for

peer_factory = peers_fixture()
BOB = "bob@example.test"


@pytest.fixture(scope="module")
def keys():
    """Two sealers' RSA keys: (pem, TXT text)."""
    return {"lists.test": rsa_key(), "relay.test": rsa_key()}


def zones(keys):
    z = {}
    for dom, (_, txt) in keys.items():
        z["arc._domainkey." + dom] = {"TXT": [txt_strings(txt)]}
    return z


def original(token, sender="author@orig.test"):
    return ("From: %s\r\nTo: list@lists.test\r\nSubject: %s\r\n"
            "Message-ID: <%s@orig.test>\r\n"
            "Date: Mon, 07 Dec 2026 06:00:00 +0000\r\n\r\n"
            "hello %s\r\nsecond line\r\n" % (sender, token, token, token)
            ).encode()


def seal(msg, keys, dom, arc_result=b"pass"):
    """msg with an A-R field of dom and dom's ARC set on top (dkimpy,
    which takes cv= from the arc= result of that field)."""
    arc = b" arc=%s;" % arc_result if b"ARC-Seal:" in msg else b""
    msg = (b"Authentication-Results: %s;%s spf=pass "
           b"smtp.mailfrom=author@orig.test\r\n" % (dom.encode(), arc)) + msg
    pem = keys[dom][0]
    return b"".join(dkim.arc_sign(msg, b"arc", dom.encode(), pem,
                                  dom.encode())) + msg


def authres(msg):
    head = re.sub(rb"\r\n[ \t]+", b" ", msg.split(b"\r\n\r\n", 1)[0])
    return [ln.decode() for ln in head.split(b"\r\n")
            if ln.lower().startswith(b"authentication-results: mail.test")]


def arc_item(ar):
    """The arc= result in one of our A-R fields (not dmarc=), or None."""
    m = re.search(r"(?:^|[;\s])arc=(\w+)", ar)
    return m.group(1) if m else None


@pytest.fixture
def srv(dns_server, server_factory, keys):
    dns = dns_server(zones(keys))
    return server_factory(config={"resolver": dns.resolver,
                                  "dnssec_trust_anchor": "none"})


def deliver(srv, body, token):
    srv.send(BOB, body, sender="list-bounces@lists.test")
    return srv.wait_messages(BOB, 1, match=token.encode())[-1]


def test_one_set_passes(srv, keys):
    token = unique("arc1")
    msg = deliver(srv, seal(original(token), keys, "lists.test"), token)
    ar = authres(msg)
    assert len(ar) == 1 and arc_item(ar[0]) == "pass", ar
    assert "spf=none smtp.mailfrom=list-bounces@lists.test" in ar[0]


def test_two_sets_pass(srv, keys):
    token = unique("arc2")
    body = seal(seal(original(token), keys, "lists.test"), keys,
                "relay.test")
    assert body.count(b"ARC-Seal: i=2;") == 1
    msg = deliver(srv, body, token)
    assert arc_item(authres(msg)[0]) == "pass", authres(msg)


def test_changed_body_fails(srv, keys):
    token = unique("arcbody")
    body = seal(original(token), keys, "lists.test")
    msg = deliver(srv, body.replace(b"second line", b"2nd line"), token)
    assert arc_item(authres(msg)[0]) == "fail", authres(msg)


def test_changed_seal_set_fails(srv, keys):
    """The AAR of instance 1 changed: the seal no longer verifies."""
    token = unique("arcaar")
    body = seal(original(token), keys, "lists.test")
    body = body.replace(b"ARC-Authentication-Results: i=1; lists.test; "
                        b"spf=pass", b"ARC-Authentication-Results: i=1; "
                        b"lists.test; spf=fail")
    msg = deliver(srv, body, token)
    assert arc_item(authres(msg)[0]) == "fail", authres(msg)


def test_seal_saying_fail_fails(srv, keys):
    """A sealer that found the chain failed (cv=fail, all signatures
    good): the chain stays failed (RFC 8617 §5.2 step 2)."""
    token = unique("arccvfail")
    body = seal(seal(original(token), keys, "lists.test"), keys,
                "relay.test", arc_result=b"fail")
    assert b"cv=fail" in body
    msg = deliver(srv, body, token)
    assert arc_item(authres(msg)[0]) == "fail", authres(msg)


def test_three_sets_pass(srv, keys):
    token = unique("arc3")
    body = seal(seal(seal(original(token), keys, "lists.test"), keys,
                     "relay.test"), keys, "lists.test")
    assert body.count(b"ARC-Seal: i=3;") == 1
    msg = deliver(srv, body, token)
    assert arc_item(authres(msg)[0]) == "pass", authres(msg)


def test_broken_structure_fails(srv, keys):
    token = unique("arcgap")
    body = seal(seal(original(token), keys, "lists.test"), keys,
                "relay.test")
    # Instance 1's seal removed: instance 2 has no set under it.
    body = re.sub(rb"ARC-Seal: i=1;.*?\r\n(?=[^ \t])", b"", body,
                  flags=re.S)
    msg = deliver(srv, body, token)
    assert arc_item(authres(msg)[0]) == "fail", authres(msg)


def test_no_chain_no_arc_item(srv):
    token = unique("arcnone")
    msg = deliver(srv, original(token), token)
    assert arc_item(authres(msg)[0]) is None, authres(msg)


def test_missing_key_fails(dns_server, server_factory, keys):
    dns = dns_server({})
    srv = server_factory(config={"resolver": dns.resolver,
                                 "dnssec_trust_anchor": "none"})
    token = unique("arckey")
    msg = deliver(srv, seal(original(token), keys, "lists.test"), token)
    assert arc_item(authres(msg)[0]) == "fail", authres(msg)


def test_slow_key_fails_and_client_may_leave(dns_server, server_factory,
                                             keys):
    """A key server that never answers: the end of DATA waits, then the
    chain fails (ARC has no temperror); a client that leaves while its
    message waits frees everything (ASan) and the server goes on."""
    dns = dns_server(zones(keys))
    dns.behave("arc._domainkey.lists.test", "timeout", qtype="TXT")
    srv = server_factory(config={"resolver": dns.resolver,
                                 "dnssec_trust_anchor": "none"})
    token = unique("arcslow")
    msg = deliver(srv, seal(original(token), keys, "lists.test"), token)
    assert arc_item(authres(msg)[0]) == "fail", authres(msg)
    token = unique("arcleave")
    s = srv.smtp()
    s.ehlo("client.test")
    s.mail("list-bounces@lists.test")
    s.rcpt(BOB)
    s.putcmd("DATA")
    assert s.getreply()[0] == 354
    s.send(seal(original(token), keys, "lists.test") + b".\r\n")
    s.close()
    time.sleep(0.2)
    token = unique("arcafter")
    msg = deliver(srv, original(token), token)
    assert arc_item(authres(msg)[0]) is None, authres(msg)


def test_trusted_sealer_overrides_dmarc_reject(dns_server, server_factory,
                                               keys):
    """A list changes a message whose From: domain says p=reject: DMARC
    fails (no aligned DKIM or SPF) and the message is refused, unless the
    list's passing chain comes from a sealer we trust
    (arc_trusted_sealers): then it is judged by the chain and delivered.
    A chain from a sealer not on the list changes nothing."""
    z = zones(keys)
    z["_dmarc.orig.test"] = {"TXT": ["v=DMARC1; p=reject"]}
    dns = dns_server(z)
    body = lambda t: seal(original(t), keys, "lists.test")
    plain = server_factory(config={"resolver": dns.resolver,
                                   "dnssec_trust_anchor": "none"})
    s = plain.smtp()
    try:
        s.ehlo("client.test")
        s.mail("list-bounces@lists.test")
        s.rcpt(BOB)
        code, text = s.data(body(unique("arcrej")))
        assert code == 550 and b"DMARC" in text, (code, text)
    finally:
        s.quit()
    for trusted, ok in (("relay.test lists.test", True),
                        ("relay.test", False)):
        srv = server_factory(config={"resolver": dns.resolver,
                                     "dnssec_trust_anchor": "none",
                                     "arc_trusted_sealers": trusted})
        token = unique("arctrust")
        s = srv.smtp()
        try:
            s.ehlo("client.test")
            s.mail("list-bounces@lists.test")
            s.rcpt(BOB)
            code, _ = s.data(body(token))
        finally:
            s.quit()
        assert (code == 250) == ok, (trusted, code)
        if ok:
            msg = srv.wait_messages(BOB, 1, match=token.encode())[-1]
            ar = authres(msg)[0]
            assert arc_item(ar) == "pass" and "dmarc=fail" in ar, ar
            assert "event=dmarc_override" in srv.stderr_text()


# ---- sealing a forward ------------------------------------------------


def forwarder(dns_server, server_factory, peer_factory, keys, **cfg):
    peer = peer_factory()
    z = mx_zone("peer.test", peer.host)
    z.update(zones(keys))
    dns = dns_server(z)
    srv = server_factory(config=outbound_config(dns, **cfg))
    srv.cli("dkim", "generate", "example.test", check=True)
    srv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "event=dkim_keys domains=1" in srv.stderr_text(),
             what="keys loaded")
    srv.cli("alias", "add", "fwd@example.test", "r@peer.test", check=True)
    recs = published_records(srv.cli("dns", "example.test",
                                     check=True).stdout)
    for dom, (_, txt) in keys.items():
        recs["arc._domainkey." + dom] = txt
    return srv, peer, recs


def at_peer(peer, token):
    def got():
        for m in peer.messages():
            if token.encode() in m:
                return m
        return None
    return wait_for(got, what="the forward at the peer")


def arc_verify(msg, recs):
    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        t = recs.get(n.rstrip("."))
        return t.encode() if t is not None else None
    return dkim.arc_verify(msg, dnsfunc=dnsfunc)


def test_forward_sealed_without_chain(dns_server, server_factory,
                                      peer_factory, keys):
    srv, peer, recs = forwarder(dns_server, server_factory, peer_factory,
                                keys)
    token = unique("fwd1")
    srv.send("fwd@example.test", original(token),
             sender="author@orig.test")
    msg = at_peer(peer, token)
    assert msg.startswith(b"ARC-Seal: i=1; a=rsa-sha256;"), msg[:300]
    assert b"cv=none" in msg.split(b"\r\n\r\n")[0]
    cv, results, why = arc_verify(msg, recs)
    assert cv == b"pass", (cv, results, why)
    aar = [r for r in results if r["instance"] == 1][0]["aar-value"]
    assert aar.startswith(b"i=1; mail.test;"), aar
    assert b"spf=none" in aar


def test_forward_extends_a_passing_chain(dns_server, server_factory,
                                         peer_factory, keys):
    srv, peer, recs = forwarder(dns_server, server_factory, peer_factory,
                                keys)
    token = unique("fwd2")
    srv.send("fwd@example.test", seal(original(token), keys, "lists.test"),
             sender="list-bounces@lists.test")
    msg = at_peer(peer, token)
    head = msg.split(b"\r\n\r\n")[0]
    assert b"ARC-Seal: i=2;" in head and b"cv=pass" in head
    cv, results, why = arc_verify(msg, recs)
    assert cv == b"pass", (cv, results, why)
    assert sorted(r["instance"] for r in results) == [1, 2]
    aar = [r for r in results if r["instance"] == 2][0]["aar-value"]
    assert arc_item(aar.decode()) == "pass", aar


def test_forward_of_failed_chain_says_fail(dns_server, server_factory,
                                           peer_factory, keys):
    srv, peer, recs = forwarder(dns_server, server_factory, peer_factory,
                                keys)
    token = unique("fwd3")
    body = seal(original(token), keys, "lists.test")
    srv.send("fwd@example.test", body.replace(b"second", b"2nd"),
             sender="list-bounces@lists.test")
    msg = at_peer(peer, token)
    head = msg.split(b"\r\n\r\n")[0]
    assert b"ARC-Seal: i=2;" in head and b"cv=fail" in head
    # dkimpy does not pass it either (it stops at instance 1's body hash).
    cv, _, _ = arc_verify(msg, recs)
    assert cv != b"pass"


def test_arc_off(dns_server, server_factory, peer_factory, keys):
    srv, peer, _ = forwarder(dns_server, server_factory, peer_factory,
                             keys, arc="no")
    token = unique("fwdoff")
    srv.send("fwd@example.test", seal(original(token), keys, "lists.test"),
             sender="list-bounces@lists.test")
    msg = at_peer(peer, token)
    assert b"ARC-Seal: i=2" not in msg
    assert all(arc_item(ar) is None for ar in authres(msg)), authres(msg)
