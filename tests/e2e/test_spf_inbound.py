"""SPF on received mail and the Authentication-Results field (RFC 7208,
RFC 8601), seen in the delivered message.

A loopback DNS server (dnslib) serves the senders' SPF records; the
server's resolver points at it. Every message received on port 25 gets
one Authentication-Results field with our host name (mail.test) right
after our Received field; incoming ones that claim mail.test are
removed, others are kept; SPF fail is recorded, not refused (DMARC will
decide); submission gets no SPF check and no field.
"""

import re
import time

import pytest

from conftest import unique

ALICE = "alice@example.test"
BOB = "bob@example.test"
ZONES = {
    "pass.test": {"TXT": ["v=spf1 ip4:127.0.0.0/8 -all"]},
    "fail.test": {"TXT": ["v=spf1 ip4:192.0.2.1 -all"]},
    "soft.test": {"TXT": ["v=spf1 ~all", "unrelated text"]},
    "client.test": {"TXT": ["v=spf1 a -all"], "A": ["127.0.0.1"]},
    "slow.test": {"TXT": ["v=spf1 +all"]},
}


@pytest.fixture
def dns(dns_server):
    d = dns_server(ZONES)
    d.behave("slow.test", "timeout", qtype="TXT")
    return d


@pytest.fixture
def srv(dns, server_factory):
    # SPF alone: DKIM and DMARC join the field in tests/e2e/test_dmarc.py.
    return server_factory(config={"resolver": dns.resolver,
                                  "dnssec_trust_anchor": "none",
                                  "dmarc": "no"})


def message(token, extra=b""):
    return (b"From: someone@pass.test\r\n" + extra +
            b"Subject: " + token.encode() + b"\r\n\r\nbody " +
            token.encode() + b"\r\n")


def header(msg):
    return msg.split(b"\r\n\r\n", 1)[0]


def authres(msg):
    """The Authentication-Results fields of msg, unfolded, in order."""
    head = re.sub(rb"\r\n[ \t]+", b" ", header(msg)).decode()
    return [ln for ln in head.split("\r\n")
            if ln.lower().startswith("authentication-results:")]


def deliver(srv, sender, token, body=None, proto="smtp", rcpt=ALICE):
    body = body if body is not None else message(token)
    if proto == "smtp":
        srv.send(rcpt, body, sender=sender)
    else:
        s = srv.smtp_auth(proto, ALICE)
        try:
            s.sendmail(sender, [rcpt], body)
        finally:
            s.quit()
    return srv.wait_messages(rcpt, 1, match=token.encode())[-1]


def test_pass_and_helo_in_one_field_after_received(srv):
    token = unique("spfpass")
    msg = deliver(srv, "user@pass.test", token)
    lines = msg.split(b"\r\n")
    # Final delivery's Return-Path/Delivered-To, our Received, then ours.
    first = [i for i, ln in enumerate(lines)
             if ln.startswith(b"Authentication-Results:")]
    assert len(first) == 1, msg[:600]
    assert lines[first[0] - 1].startswith(b"\t"), msg[:600]
    i = 0
    while lines[i].startswith((b"Return-Path: ", b"Delivered-To: ")):
        i += 1
    assert lines[i].startswith(b"Received: "), msg[:200]
    ar = authres(msg)
    assert ar == ["Authentication-Results: mail.test; "
                  "spf=pass smtp.mailfrom=user@pass.test; "
                  "spf=pass smtp.helo=client.test"], ar


def test_fail_is_recorded_not_refused(srv):
    token = unique("spffail")
    msg = deliver(srv, "user@fail.test", token)
    assert "spf=fail smtp.mailfrom=user@fail.test" in authres(msg)[0]
    token = unique("spfsoft")
    msg = deliver(srv, "user@soft.test", token)
    assert "spf=softfail smtp.mailfrom=user@soft.test" in authres(msg)[0]
    token = unique("spfnone")
    msg = deliver(srv, "user@nospf.test", token)
    assert "spf=none smtp.mailfrom=user@nospf.test" in authres(msg)[0]


def test_null_sender_checks_helo(srv):
    token = unique("spfnull")
    msg = deliver(srv, "<>", token)
    assert authres(msg) == ["Authentication-Results: mail.test; "
                            "spf=pass smtp.helo=client.test"]


def test_forged_results_removed_others_kept(srv):
    token = unique("spfforge")
    extra = (b"Authentication-Results: mail.test; spf=pass "
             b"smtp.mailfrom=forged@pass.test\r\n"
             b"Authentication-Results: other.example;\r\n"
             b"\tspf=fail smtp.mailfrom=x@y.example\r\n"
             b"authentication-results: (comment) \"MAIL.TEST\";\r\n"
             b" dkim=pass header.d=forged.test\r\n")
    msg = deliver(srv, "user@fail.test", token, message(token, extra))
    ar = authres(msg)
    assert len(ar) == 2, ar
    assert "spf=fail smtp.mailfrom=user@fail.test" in ar[0]
    assert ar[1].startswith("Authentication-Results: other.example;")
    assert b"forged" not in msg
    assert b"Subject: " + token.encode() in msg


def test_large_message_edited_on_disk(srv):
    """A message past the spool's memory (64 KB) is copied once with the
    field inserted and the forgery cut; every body octet arrives."""
    token = unique("spfbig")
    # 300 KB of body and a header section far past the 64 KB the
    # session keeps, with the forgery at its end.
    junk = b"".join(b"X-Junk-%d: %s\r\n" % (i, b"j" * 60)
                    for i in range(1500))
    forged = b"Authentication-Results: mail.test; spf=pass\r\n"
    body = b"".join(b"line %06d %s\r\n" % (i, b"b" * 50)
                    for i in range(5000))
    raw = (b"From: someone@pass.test\r\n" + junk + forged +
           b"Subject: " + token.encode() + b"\r\n\r\n" + body)
    msg = deliver(srv, "user@pass.test", token, raw)
    ar = authres(msg)
    assert ar == ["Authentication-Results: mail.test; "
                  "spf=pass smtp.mailfrom=user@pass.test; "
                  "spf=pass smtp.helo=client.test"], ar
    assert msg.endswith(body), len(msg)
    assert junk in msg


def test_submission_not_checked(srv):
    token = unique("spfsub")
    extra = b"Authentication-Results: mail.test; spf=pass\r\n"
    msg = deliver(srv, ALICE, token,
                  message(token, extra).replace(b"someone@pass.test",
                                                ALICE.encode()),
                  proto="submission", rcpt=BOB)
    assert authres(msg) == []


def test_answers_come_from_the_cache(srv, dns):
    for i in range(3):
        deliver(srv, "user%d@pass.test" % i, unique("spfcache"))
    assert dns.seen("pass.test", "TXT") == 1
    assert dns.seen("client.test", "TXT") == 1


def test_spf_off(dns, server_factory):
    srv = server_factory(config={"resolver": dns.resolver,
                                 "dnssec_trust_anchor": "none",
                                 "spf": "no", "dmarc": "no"})
    token = unique("spfoff")
    msg = deliver(srv, "user@pass.test", token)
    assert authres(msg) == ["Authentication-Results: mail.test; none"]
    assert dns.seen("pass.test") == 0


def test_slow_dns_waits_then_temperror(srv):
    """The end of DATA waits for a lookup in flight; a silent DNS server
    ends in temperror (the message is still delivered)."""
    token = unique("spfslow")
    msg = deliver(srv, "user@slow.test", token)
    assert "spf=temperror smtp.mailfrom=user@slow.test" in authres(msg)[0]


def test_client_leaves_while_waiting(srv):
    """A client that goes away while the end of its message waits for
    SPF: nothing is delivered and the server stays well (ASan)."""
    token = unique("spfleave")
    s = srv.smtp()
    s.ehlo()
    s.mail("user@slow.test")
    s.rcpt(ALICE)
    s.putcmd("DATA")
    assert s.getreply()[0] == 354
    s.send(message(token) + b".\r\n")
    s.close()
    time.sleep(0.2)
    # The server still answers, and the message arrived or was dropped
    # without harm; a new session works.
    token2 = unique("spfafter")
    deliver(srv, "user@pass.test", token2)
