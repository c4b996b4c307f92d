"""DKIM signing of what our users send, and of our DSNs (RFC 6376, 8463):
keys made with `postel dkim generate`, loaded on SIGHUP, one Ed25519 and
one RSA-2048 signature made when the message is queued and sent before it
by the queue. What the next hop (a scriptable peer on loopback) receives
is checked by dkimpy, an independent implementation, with the key records
that `postel dns` tells the administrator to publish.

Also: key files readable only by root and the service user, rotation
(new selectors sign, old ones stay published until removed), and the
records of `postel dns`."""

import grp
import os
import re
import signal
import stat
import subprocess

import pytest

from conftest import POSTEL_BIN, assert_no_sanitizer, unique
from dkimutil import dkimpy_results, published_records, txt_strings
from queueutil import (message, mx_zone, outbound_config, peer_tokens,
                       peers_fixture, queue_gone, submit, wait_for)

peer_factory = peers_fixture()
DOMAIN = "example.test"     # conftest's hosted domain (alice, bob)
HOST_DOMAIN = "mail.test"   # conftest's hostname: the DSNs' From domain


def keys_loaded(srv, domains):
    pat = "event=dkim_keys domains=%d" % domains
    wait_for(lambda: pat in srv.stderr_text(), what="keys loaded")


def prepare(dns_server, server_factory, peer_factory, domains=(DOMAIN,)):
    peer = peer_factory()
    dns = dns_server(mx_zone("peer.test", peer.host))
    srv = server_factory(config=outbound_config(dns))
    for d in domains:
        srv.cli("dkim", "generate", d, check=True)
    srv.proc.send_signal(signal.SIGHUP)
    keys_loaded(srv, len(domains))
    return srv, peer, dns


def received(peer, token):
    wait_for(lambda: token in peer_tokens(peer), what="%s at the peer" % token)
    return [m for m in peer.messages() if token.encode() in m][0]


def check_signed(srv, msg, domain):
    """Both signatures of msg verify with dkimpy; returns the results."""
    recs = published_records(srv.cli("dns", domain, check=True).stdout)
    res = dkimpy_results(msg, recs)
    assert sorted(a for _, _, a, _ in res) == ["ed25519-sha256",
                                               "rsa-sha256"], res
    assert all(d == domain and ok for d, _, _, ok in res), res
    return res


def test_submission_signed_twice_and_verified_by_dkimpy(
        dns_server, server_factory, peer_factory):
    srv, peer, _ = prepare(dns_server, server_factory, peer_factory)
    token = unique("signed")
    extra = "Cc: carol@peer.test\r\nList-Id: <talk.example.test>\r\n"
    qid = submit(srv, ["r@peer.test"], message(token, to="r@peer.test",
                                                 extra=extra))
    msg = received(peer, token)
    res = check_signed(srv, msg, DOMAIN)
    selectors = sorted(s for _, s, _, _ in res)
    assert selectors[0].endswith("-ed") and selectors[1].endswith("-rsa")
    # The signatures come first, before our Received field, and name the
    # present fields with From, Subject and Date once more (over-signed).
    head = msg.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"DKIM-Signature: v=1; a=ed25519-sha256;")
    h = re.search(rb"h=([^;]*);", re.sub(rb"\s+", b"", head)).group(1)
    names = h.split(b":")
    assert names.count(b"from") == 2 and names.count(b"subject") == 2
    assert names.count(b"date") == 2
    assert b"cc" in names and b"list-id" in names and b"l=" not in head
    assert b"c=relaxed/relaxed" in head
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")


def test_large_message_signed(dns_server, server_factory, peer_factory):
    """A message larger than the spool's buffer is written by io workers
    and signed there, from the complete file."""
    srv, peer, _ = prepare(dns_server, server_factory, peer_factory)
    token = unique("large")
    body = "".join("line %06d of a long message body  \r\n" % i
                   for i in range(40000))
    submit(srv, ["r@peer.test"], message(token, to="r@peer.test",
                                           body=body))
    msg = received(peer, token)
    assert len(msg) > 1000000
    check_signed(srv, msg, DOMAIN)


def test_our_verifier_agrees(dns_server, server_factory, peer_factory):
    """The received message verifies with `postel dkim verify` too, the
    published records served by the test DNS server."""
    srv, peer, dns = prepare(dns_server, server_factory, peer_factory)
    token = unique("ours")
    submit(srv, ["r@peer.test"], message(token, to="r@peer.test"))
    msg = received(peer, token)
    for owner, text in published_records(
            srv.cli("dns", DOMAIN, check=True).stdout).items():
        dns.set(owner, {"TXT": [txt_strings(text)]})
    r = subprocess.run([POSTEL_BIN, "--config", srv.config_path, "--data",
                        srv.dir, "dkim", "verify"], input=msg,
                       capture_output=True, timeout=60)
    assert_no_sanitizer(r.stderr.decode(), "dkim verify")
    out = r.stdout.decode().splitlines()
    assert r.returncode == 0 and len(out) == 2, out
    assert all(l.startswith("dkim=pass header.d=%s " % DOMAIN)
               for l in out), out
    # Changed in transit: both fail.
    r = subprocess.run([POSTEL_BIN, "--config", srv.config_path, "--data",
                        srv.dir, "dkim", "verify"],
                       input=msg.replace(b"second line", b"2nd line"),
                       capture_output=True, timeout=60)
    assert r.returncode == 1
    assert r.stdout.decode().count("dkim=fail") == 2, r.stdout


def test_dsn_is_signed(dns_server, server_factory, peer_factory):
    """A success notice to a remote sender is queued with the signatures
    of our host name's domain (the DSN's From)."""
    srv, peer, _ = prepare(dns_server, server_factory, peer_factory,
                           domains=(DOMAIN, HOST_DOMAIN))
    token = unique("dsn")
    s = srv.smtp("smtp")
    try:
        assert s.ehlo()[0] == 250
        assert s.mail("sender@peer.test")[0] == 250
        assert s.rcpt("bob@example.test", ["NOTIFY=SUCCESS"])[0] == 250
        code, _ = s.data(message(token, sender="sender@peer.test",
                                 to="bob@example.test"))
        assert code == 250
    finally:
        s.quit()
    def dsn():
        for m in peer.messages():
            if b"multipart/report" in m and token.encode() in m:
                return m
        return None
    notice = wait_for(dsn, what="the DSN at the peer")
    check_signed(srv, notice, HOST_DOMAIN)


def test_unsigned_without_keys(dns_server, server_factory, peer_factory):
    """No keys for the From: domain: the message goes out unsigned."""
    peer = peer_factory()
    dns = dns_server(mx_zone("peer.test", peer.host))
    srv = server_factory(config=outbound_config(dns))
    token = unique("plain")
    submit(srv, ["r@peer.test"], message(token, to="r@peer.test"))
    assert b"DKIM-Signature" not in received(peer, token)


def test_key_files_and_rotation(server_factory):
    srv = server_factory()
    # Keys only for a hosted domain or the host name (DSNs' From:).
    r = srv.cli("dkim", "generate", "elsewhere.test")
    assert r.returncode == 1 and "not a hosted domain" in r.stderr
    assert not os.path.exists(os.path.join(srv.dir, "dkim",
                                           "elsewhere.test"))
    assert srv.cli("dkim", "generate", DOMAIN).returncode == 0
    r = srv.cli("dkim", "generate", DOMAIN)
    assert r.returncode == 1 and "rotate" in r.stderr
    keydir = os.path.join(srv.dir, "dkim", DOMAIN)
    pems = sorted(f for f in os.listdir(keydir) if f.endswith(".pem"))
    assert len(pems) == 2
    for f in pems + ["active"]:
        st = os.stat(os.path.join(keydir, f))
        assert stat.S_IMODE(st.st_mode) & 0o007 == 0, f
        if os.geteuid() == 0:
            assert stat.S_IMODE(st.st_mode) == 0o640, f
            assert st.st_uid == 0
            assert st.st_gid == grp.getgrnam("postel").gr_gid
    listed = srv.cli("dkim", "list", check=True).stdout.splitlines()
    assert len(listed) == 2 and all(" active " in l for l in listed)
    old = sorted(l.split()[1] for l in listed)
    assert srv.cli("dkim", "rotate", DOMAIN).returncode == 0
    listed = srv.cli("dkim", "list", DOMAIN, check=True).stdout.splitlines()
    assert len(listed) == 4
    assert sorted(l.split()[1] for l in listed if " old " in l) == old
    # The old ones stay published until removed; the active one cannot be.
    recs = published_records(srv.cli("dns", DOMAIN, check=True).stdout)
    assert len(recs) == 4
    assert srv.cli("dkim", "remove", DOMAIN, old[0]).returncode == 0
    active = [l.split()[1] for l in listed if " active " in l][0]
    r = srv.cli("dkim", "remove", DOMAIN, active)
    assert r.returncode == 1 and "active" in r.stderr
    assert len(published_records(
        srv.cli("dns", DOMAIN, check=True).stdout)) == 3


def test_dns_records(server_factory):
    srv = server_factory()
    srv.cli("dkim", "generate", DOMAIN, check=True)
    out = srv.cli("dns", DOMAIN, check=True).stdout
    lines = [l for l in out.splitlines() if l and not l.startswith(";")]
    text = "\n".join(lines)
    assert re.search(r"^example\.test\.\s+IN MX 10 mail\.test\.$", text, re.M)
    assert '"v=spf1 mx -all"' in text
    assert re.search(r'^_dmarc\.example\.test\.\s+IN TXT "v=DMARC1; '
                     r'p=quarantine; rua=mailto:postmaster@example\.test"',
                     text, re.M)
    assert re.search(r'^_mta-sts\.example\.test\.\s+IN TXT "v=STSv1; '
                     r'id=\d{14}"', text, re.M)
    assert re.search(r"^mta-sts\.example\.test\.\s+IN CNAME mail\.test\.",
                     text, re.M)
    assert re.search(r'^_smtp\._tls\.example\.test\.\s+IN TXT '
                     r'"v=TLSRPTv1; rua=mailto:postmaster@example\.test"',
                     text, re.M)
    for svc in ("_submission", "_submissions", "_imaps", "_imap", "_pop3s"):
        assert re.search(r"^%s\._tcp\.example\.test\.\s+IN SRV \d+ \d+ \d+ "
                         % svc, text, re.M), svc
    assert re.search(r"^autoconfig\.example\.test\.\s+IN CNAME", text, re.M)
    recs = published_records(out)
    assert len(recs) == 2
    # Every character-string at most 255 octets (RFC 1035 §3.3).
    assert all(len(s) <= 255 for s in re.findall(r'"([^"]*)"', out))
    rsa = [t for t in recs.values() if "k=rsa" in t][0]
    assert len(rsa) > 255
    # Zone-file syntax a real tool reads: ldns-read-zone parses it.
    zone = "$ORIGIN example.test.\n$TTL 3600\n" \
        "@ IN SOA ns.example.test. hostmaster.example.test. 1 2 3 4 5\n" + out
    path = os.path.join(srv.dir, "zone")
    with open(path, "w") as f:
        f.write(zone)
    r = subprocess.run(["ldns-read-zone", path], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("TXT") >= 6
