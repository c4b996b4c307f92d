"""DKIM results and DMARC on port 25 (RFC 6376, RFC 7489, RFC 8601), seen
by a user: the Authentication-Results field of the delivered message, the
reply to DATA, and the mailbox the message lands in.

Messages are signed by dkimpy (Debian python3-dkim, written by others);
the keys, SPF and DMARC records are served by a loopback DNS server
(dnslib) that the real postel's resolver points at. example.test is the
hosted domain (its own p=reject record is in the test DNS, as `postel dns`
tells an administrator to publish).
"""

import re
import smtplib
import time

import pytest

from conftest import unique
from dkimutil import dkimpy_sign, rsa_key, txt_strings

ALICE = "alice@example.test"

SIGNER = "signer.test"        # DKIM key + p=reject
SPFOK = "spfok.test"          # SPF for loopback + p=reject
STRICT = "strict.test"        # p=reject; aspf=s
QUAR = "quar.test"            # p=quarantine
PCT0 = "pct0.test"            # p=quarantine; pct=0
PARENT = "parent.test"        # p=none; sp=reject
UK = "example.co.uk"          # p=reject at the organisational domain


@pytest.fixture(scope="module")
def key():
    return rsa_key(2048)


def zones(key):
    loop_spf = "v=spf1 ip4:127.0.0.0/8 -all"
    return {
        "sel._domainkey." + SIGNER: {"TXT": [txt_strings(key[1])]},
        "sel._domainkey." + UK: {"TXT": [txt_strings(key[1])]},
        "_dmarc." + SIGNER: {"TXT": ["v=DMARC1; p=reject"]},
        SPFOK: {"TXT": [loop_spf]},
        "bounce." + SPFOK: {"TXT": [loop_spf]},
        "_dmarc." + SPFOK: {"TXT": ["v=spf1 -all",
                                    "v=DMARC1; p=reject; "
                                    "rua=mailto:d@spfok.test"]},
        "bounce." + STRICT: {"TXT": [loop_spf]},
        "_dmarc." + STRICT: {"TXT": ["v=DMARC1; p=reject; aspf=s"]},
        "_dmarc." + QUAR: {"TXT": ["v=DMARC1; p=quarantine"]},
        "_dmarc." + PCT0: {"TXT": ["v=DMARC1; p=quarantine; pct=0"]},
        "_dmarc." + PARENT: {"TXT": ["v=DMARC1; p=none; sp=reject"]},
        "_dmarc." + UK: {"TXT": ["v=DMARC1; p=reject"]},
        "_dmarc.example.test": {"TXT": ["v=DMARC1; p=reject"]},
        "slow._domainkey." + SIGNER: {"TXT": [txt_strings(key[1])]},
        "broken._domainkey." + SIGNER: {"TXT": [txt_strings(key[1])]},
    }


@pytest.fixture
def dns(dns_server, key):
    d = dns_server(zones(key))
    d.behave("slow._domainkey." + SIGNER, "timeout")
    d.behave("broken._domainkey." + SIGNER, "servfail")
    return d


def start(server_factory, dns, **extra):
    cfg = {"resolver": dns.resolver, "dnssec_trust_anchor": "none"}
    cfg.update(extra)
    return server_factory(config=cfg)


@pytest.fixture
def srv(dns, server_factory):
    return start(server_factory, dns)


def message(token, from_addr, body=None):
    return ("From: Someone <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Date: Mon, 07 Dec 2026 06:00:00 +0000\r\n"
            "Message-ID: <%s@example.net>\r\n\r\n%s" %
            (from_addr, ALICE, token, token,
             body or "Hello %s\r\n\r\nsecond  paragraph\r\n" % token)
            ).encode()


def signed(key, token, from_addr, domain=SIGNER):
    msg = message(token, from_addr)
    return dkimpy_sign(msg, "sel", domain, key[0]) + msg


def send(srv, body, sender="bounce@other.test"):
    """(code, text) of the reply to the end of DATA."""
    s = srv.smtp()
    try:
        s.ehlo()
        s.mail(sender)
        code, msg = s.rcpt(ALICE)
        assert code == 250, msg
        code, msg = s.data(body)
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass
    return code, msg.decode()


def authres(msg):
    """The Authentication-Results fields of msg, unfolded."""
    head = msg.split(b"\r\n\r\n", 1)[0]
    head = re.sub(rb"\r\n[ \t]+", b" ", head).decode()
    return [ln for ln in head.split("\r\n")
            if ln.lower().startswith("authentication-results:")]


def delivered(srv, token):
    msgs = srv.wait_messages(ALICE, 1, match=token.encode())
    assert len(msgs) == 1, "not in INBOX: " + token
    ar = authres(msgs[0])
    assert len(ar) == 1, ar
    return ar[0]


def mailbox_has(srv, box, token):
    """Whether a message containing token is in box (over IMAP)."""
    m = srv.imaps(ALICE)
    try:
        typ, _ = m.select(box, readonly=True)
        if typ != "OK":
            return False
        typ, data = m.search(None, "TEXT", token)
        return typ == "OK" and data[0].split() != []
    finally:
        m.logout()


def inbox_count(srv, token):
    return len([m for m in srv.fetch_all(ALICE) if token.encode() in m])


# ---- DKIM in the Authentication-Results field --------------------------

def test_dkim_pass_and_dmarc_pass_by_aligned_dkim(srv, key):
    token = unique("dkimpass")
    body = signed(key, token, "alice@" + SIGNER)
    code, _ = send(srv, body)
    assert code == 250
    ar = delivered(srv, token)
    m = re.search(r"dkim=pass header\.d=signer\.test header\.s=sel "
                  r"header\.b=\"?([^\";\s]+)", ar)
    assert m, ar
    # RFC 6008: header.b is a prefix of the signature's b= value.
    b = re.search(rb"b=([A-Za-z0-9+/=\s]+)", body.split(b"bh=")[1])
    assert re.sub(rb"\s", b"", b.group(1)).decode().startswith(
        m.group(1)), (ar, body[:400])
    assert "dmarc=pass (p=reject dkim=aligned) header.from=signer.test" \
        in ar, ar
    assert "spf=none smtp.mailfrom=bounce@other.test" in ar, ar


def test_modified_message_fails_dkim_and_is_rejected(srv, key):
    token = unique("dkimfail")
    body = signed(key, token, "alice@" + SIGNER).replace(b"second",
                                                         b"SECOND")
    code, text = send(srv, body)
    assert code == 550 and "5.7.1" in text, (code, text)
    assert inbox_count(srv, token) == 0
    assert not mailbox_has(srv, "Junk", token)
    srv.wait_log(lambda ln: "event=dkim" in ln and "result=fail" in ln
                 and "body hash" in ln)


def test_dkim_fail_reported_when_not_enforced(dns, server_factory, key):
    srv = start(server_factory, dns, dmarc_enforce="no")
    token = unique("notenforced")
    body = signed(key, token, "alice@" + SIGNER).replace(b"second",
                                                         b"SECOND")
    code, _ = send(srv, body)
    assert code == 250
    ar = delivered(srv, token)
    assert re.search(r"dkim=fail \(body hash mismatch.*\) "
                     r"header\.d=signer\.test header\.s=sel", ar), ar
    assert "dmarc=fail (p=reject) header.from=signer.test" in ar, ar


def test_key_lookup_failure_defers(srv, key):
    """An aligned signature whose key cannot be fetched now might pass
    later: p=reject is neither applied nor ignored, the sender retries."""
    token = unique("tempfail")
    msg = message(token, "alice@" + SIGNER)
    code, text = send(srv, dkimpy_sign(msg, "broken", SIGNER, key[0]) + msg)
    assert (code, text.split()[0]) == (451, "4.7.1"), (code, text)
    assert inbox_count(srv, token) == 0
    srv.wait_log(lambda ln: "event=dkim" in ln and "result=temperror" in ln)


def test_unsigned_message_dkim_none(srv):
    token = unique("unsigned")
    code, _ = send(srv, message(token, "x@nodmarc.test"))
    assert code == 250
    ar = delivered(srv, token)
    assert "dkim=none" in ar, ar
    assert "dmarc=none header.from=nodmarc.test" in ar, ar


# ---- DMARC by SPF, alignment modes ----------------------------------------

def test_dmarc_pass_by_aligned_spf(srv):
    token = unique("spfaligned")
    # Relaxed: MAIL FROM bounce.spfok.test aligns with From: spfok.test;
    # the other TXT record at _dmarc (an SPF one) is ignored.
    code, _ = send(srv, message(token, "news@" + SPFOK),
                   sender="b@bounce." + SPFOK)
    assert code == 250
    ar = delivered(srv, token)
    assert "spf=pass smtp.mailfrom=b@bounce.spfok.test" in ar, ar
    assert "dmarc=pass (p=reject spf=aligned) header.from=spfok.test" \
        in ar, ar


def test_strict_spf_alignment_fails(srv):
    token = unique("strict")
    code, text = send(srv, message(token, "news@" + STRICT),
                      sender="b@bounce." + STRICT)
    assert code == 550, text
    assert inbox_count(srv, token) == 0


# ---- acting on the policy ------------------------------------------------

def test_forged_hosted_domain_rejected(srv):
    """A message from outside claiming our own hosted domain in From:
    fails given our p=reject record and is not stored."""
    token = unique("forged")
    code, text = send(srv, message(token, "ceo@example.test"),
                      sender="attacker@evil.test")
    assert (code, text.split()[0]) == (550, "5.7.1"), text
    assert inbox_count(srv, token) == 0
    assert not mailbox_has(srv, "Junk", token)
    srv.wait_log(lambda ln: "event=dmarc" in ln and "result=fail" in ln
                 and "action=reject" in ln)


def test_quarantine_goes_to_junk(srv):
    token = unique("quar")
    code, _ = send(srv, message(token, "x@" + QUAR))
    assert code == 250
    srv.wait_log(lambda ln: "event=deliver" in ln and "mailbox=Junk" in ln)
    assert mailbox_has(srv, "Junk", token)
    assert inbox_count(srv, token) == 0


def test_quarantine_creates_missing_junk(srv):
    m = srv.imaps(ALICE)
    try:
        typ, _ = m.delete("Junk")
        assert typ == "OK"
    finally:
        m.logout()
    token = unique("quarnew")
    code, _ = send(srv, message(token, "x@" + QUAR))
    assert code == 250
    srv.wait_log(lambda ln: "event=deliver" in ln and "mailbox=Junk" in ln)
    assert mailbox_has(srv, "Junk", token)
    m = srv.imaps(ALICE)
    try:
        typ, data = m.list('""', "Junk")
        assert typ == "OK" and b"\\Junk" in data[0], data
    finally:
        m.logout()


def test_pct0_quarantine_delivered_to_inbox(srv):
    token = unique("pct0")
    code, _ = send(srv, message(token, "x@" + PCT0))
    assert code == 250
    ar = delivered(srv, token)
    assert "dmarc=fail (p=quarantine pct=sampled-out) header.from=pct0.test" \
        in ar, ar
    assert not mailbox_has(srv, "Junk", token)


def test_enforce_no_delivers_with_fail(dns, server_factory):
    srv = start(server_factory, dns, dmarc_enforce="no")
    token = unique("report")
    code, _ = send(srv, message(token, "ceo@example.test"),
                   sender="attacker@evil.test")
    assert code == 250
    ar = delivered(srv, token)
    assert "dmarc=fail (p=reject) header.from=example.test" in ar, ar


def test_dmarc_off(dns, server_factory):
    srv = start(server_factory, dns, dmarc="no")
    token = unique("off")
    code, _ = send(srv, message(token, "ceo@example.test"),
                   sender="attacker@evil.test")
    assert code == 250
    ar = delivered(srv, token)
    assert "dmarc=" not in ar and "dkim=" not in ar, ar
    assert "spf=none" in ar, ar


# ---- sp= and the organisational domain (PSL) -----------------------------

def test_subdomain_gets_sp(srv):
    token = unique("sub")
    code, text = send(srv, message(token, "x@mail.sub." + PARENT))
    assert code == 550, text
    # The organisational domain itself has p=none: reported, delivered.
    token = unique("parent")
    code, _ = send(srv, message(token, "x@" + PARENT))
    assert code == 250
    ar = delivered(srv, token)
    assert "dmarc=fail (p=none) header.from=parent.test" in ar, ar


def test_org_domain_through_psl(srv, key, dns):
    # a.b.example.co.uk has no record; its organisational domain (the
    # PSL knows co.uk is a public suffix) has p=reject.
    token = unique("psl")
    code, text = send(srv, message(token, "x@a.b." + UK))
    assert code == 550, text
    assert dns.seen("_dmarc.a.b." + UK, "TXT") >= 1
    assert dns.seen("_dmarc." + UK, "TXT") >= 1
    assert dns.seen("_dmarc.b." + UK, "TXT") == 0
    assert dns.seen("_dmarc.co.uk", "TXT") == 0
    # A d=example.co.uk signature aligns (relaxed) with From:
    # a.b.example.co.uk.
    token = unique("pslpass")
    code, _ = send(srv, signed(key, token, "x@a.b." + UK, domain=UK))
    assert code == 250
    ar = delivered(srv, token)
    assert "dkim=pass header.d=example.co.uk" in ar, ar
    assert "dmarc=pass (p=reject dkim=aligned) header.from=a.b.example.co.uk" \
        in ar, ar


def test_large_signed_message(srv, key):
    """A body past the spool's memory is hashed as it arrives."""
    token = unique("bigsigned")
    big = "".join("line %06d %s\r\n" % (i, "b" * 60) for i in range(4000))
    msg = message(token, "alice@" + SIGNER, body=big)
    body = dkimpy_sign(msg, "sel", SIGNER, key[0]) + msg
    code, _ = send(srv, body)
    assert code == 250
    ar = delivered(srv, token)
    assert "dkim=pass header.d=signer.test" in ar, ar
    assert "dmarc=pass" in ar, ar


def test_header_section_too_large_refused(srv):
    """A From: past the 64 KB of header section the session keeps could
    not be checked: such a message is refused, not let through."""
    token = unique("bighead")
    junk = b"".join(b"X-Junk-%d: %s\r\n" % (i, b"j" * 60)
                    for i in range(1500))
    raw = (b"Subject: " + token.encode() + b"\r\n" + junk +
           b"From: ceo@example.test\r\n\r\nbody\r\n")
    code, text = send(srv, raw, sender="attacker@evil.test")
    assert code == 550, text
    assert inbox_count(srv, token) == 0


def test_client_leaves_while_key_lookup_waits(srv, key):
    """The end of DATA waits for a DKIM key whose DNS server is silent;
    the client leaves: nothing is delivered, the server stays well (ASan,
    checked when the fixture stops it)."""
    token = unique("leave")
    msg = message(token, "alice@" + SIGNER)
    body = dkimpy_sign(msg, "slow", SIGNER, key[0]) + msg
    s = srv.smtp()
    s.ehlo()
    s.mail("bounce@other.test")
    s.rcpt(ALICE)
    s.putcmd("DATA")
    assert s.getreply()[0] == 354
    s.send(body + b".\r\n")
    s.close()
    time.sleep(0.3)
    token2 = unique("afterleave")
    code, _ = send(srv, message(token2, "x@nodmarc.test"))
    assert code == 250
    delivered(srv, token2)


def test_bdat_chunks_verified(srv, key):
    """BDAT (RFC 3030) chunks cut the header section and the body at odd
    places: the signature still verifies; a changed chunk fails."""
    import rawclient
    for change, want in ((False, 250), (True, 550)):
        token = unique("bdat")
        msg = signed(key, token, "alice@" + SIGNER)
        if change:
            msg = msg.replace(b"second", b"SECOND")
        cuts = [0, 7, len(msg) // 3, len(msg) // 3 + 1, len(msg) - 5,
                len(msg)]
        c = rawclient.connect(srv)
        try:
            c.ehlo()
            assert c.cmd("MAIL FROM:<bounce@other.test>")[0] == 250
            assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
            for i in range(len(cuts) - 1):
                part = msg[cuts[i]:cuts[i + 1]]
                last = i == len(cuts) - 2
                c.send(b"BDAT %d%s\r\n" % (len(part),
                                           b" LAST" if last else b"")
                       + part)
                code, lines = c.reply()
                assert code == (want if last else 250), (code, lines)
            c.cmd("QUIT")
        finally:
            c.close()
        if not change:
            ar = delivered(srv, token)
            assert "dkim=pass header.d=signer.test" in ar, ar
        else:
            assert inbox_count(srv, token) == 0


def test_many_signatures_all_reported(srv, key):
    """Every signature gets its result, up to DKIM_SIGS_MAX (8); the
    field stays within what the spool inserts."""
    token = unique("many")
    msg = message(token, "alice@" + SIGNER)
    sigs = b""
    for i in range(8):
        sigs = dkimpy_sign(sigs + msg, "nokey%d" % i, SIGNER, key[0]) + sigs
    body = dkimpy_sign(sigs + msg, "sel", SIGNER, key[0]) + sigs + msg
    code, _ = send(srv, body)
    assert code == 250
    ar = delivered(srv, token)
    results = re.findall(r"; dkim=(\w+)", ar)
    assert results == ["pass"] + ["permerror"] * 7, ar
    assert ar.count("no key record published") == 7, ar
    assert "dmarc=pass" in ar, ar


def test_clients_leave_right_after_the_dot(srv, key):
    """Clients that leave as soon as their signed message is sent (the
    checks may still be on a worker): the server stays well (ASan,
    checked when the fixture stops it) and goes on accepting mail."""
    import rawclient
    for i in range(20):
        token = unique("gone%d" % i)
        c = rawclient.connect(srv)
        try:
            c.ehlo()
            c.line("MAIL FROM:<bounce@other.test>")
            c.line("RCPT TO:<%s>" % ALICE)
            c.line("DATA")
            for _ in range(3):
                c.reply()
            c.send(signed(key, token, "alice@" + SIGNER) + b".\r\n")
        finally:
            c.close()
    token = unique("stillwell")
    code, _ = send(srv, signed(key, token, "alice@" + SIGNER))
    assert code == 250
    assert "dkim=pass" in delivered(srv, token)


def test_two_from_fields_refused(dns, server_factory, srv):
    """Of two From: fields (RFC 5322 allows one) a reader may be shown
    the forged one: refused when enforced, permerror when only reported."""
    token = unique("twofrom")
    raw = ("From: x@nodmarc.test\r\nFrom: ceo@example.test\r\n"
           "Subject: %s\r\n\r\nbody\r\n" % token).encode()
    code, text = send(srv, raw, sender="attacker@evil.test")
    assert code == 550, text
    assert inbox_count(srv, token) == 0
    other = start(server_factory, dns, dmarc_enforce="no")
    code, _ = send(other, raw, sender="attacker@evil.test")
    assert code == 250
    ar = delivered(other, token)
    assert "dmarc=permerror (several From: fields)" in ar, ar


def test_empty_and_headerless_messages(srv):
    """An empty message and one without a header section: no From: to
    judge (permerror), delivered (ASan/UBSan watch the empty buffers)."""
    import rawclient
    for i, raw in enumerate((b"", b"just a line without a colon\r\n")):
        c = rawclient.connect(srv)
        try:
            c.ehlo()
            assert c.cmd("MAIL FROM:<bounce@other.test>")[0] == 250
            assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
            assert c.cmd("DATA")[0] == 354
            c.send(raw + b".\r\n")
            code, lines = c.reply()
            assert code == 250, (i, code, lines)
            c.cmd("QUIT")
        finally:
            c.close()
    srv.wait_log(lambda ln: "event=dmarc" in ln and "result=permerror" in ln,
                 at_least=2)
