"""DANE for outbound SMTP (RFC 7672): the recipient domain's zone is signed
with ldns-signzone (Debian's ldnsutils, code we did not write) and served
by the test DNS server, its DS is the sender's dnssec_trust_anchor, and
the MX is a scripted peer (smtppeer.py, aiosmtpd) with a certificate
made by openssl; the TLSA records are made by ldns-dane from it. A
matching TLSA record (3 1 1: SHA-256 of the peer's public key) means delivery over verified TLS; a mismatching one, a peer
without STARTTLS, or a bogus TLSA answer means the mail waits (never
plaintext, never an unverified peer) and the log says why; a zone that is
not signed means opportunistic TLS as before.
"""

import hashlib
import os
import shutil
import subprocess

import pytest

from conftest import unique
from queueutil import (log_field, log_lines, message, outbound_config,
                       peer_tokens, peers_fixture, remote_lines, submit,
                       tmp_file, wait_for, wait_recorded)

peer_factory = peers_fixture()

DOMAIN = "dane.test"
MX = "mx.dane.test"

ZONE = """$ORIGIN dane.test.
$TTL 60
@ IN SOA ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 60
@ IN NS ns.dane.test.
@ IN MX 10 mx.dane.test.
mx IN A {ip}
ns IN A 127.0.0.1
{tlsa}
"""


def tlsa_of(cert_path, usage="3", selector="1", mtype="1"):
    """The TLSA rdata ("3 1 1 HEX") for a certificate, made by ldns-dane
    (ldnsutils: an implementation we did not write) from the file."""
    # -n: no name check here (the CA's certificate names no host).
    out = subprocess.run(["ldns-dane", "-n", "-c", cert_path, "create", MX,
                          "25", usage, selector, mtype], check=True,
                         text=True, capture_output=True, timeout=30).stdout
    fields = out.split()
    assert fields[2:4] == ["IN", "TLSA"], out
    return " ".join(fields[4:8])


def spki_sha256(cert_path):
    """3 1 1 data: SHA-256 of the SubjectPublicKeyInfo (RFC 6698 §2.1),
    by ldns-dane."""
    return tlsa_of(cert_path).split()[3]


@pytest.fixture
def signer(tmp_path):
    """sign(zone_text, origin) -> (signed zone text, DS file text)."""
    for tool in ("ldns-keygen", "ldns-signzone", "ldns-dane"):
        if shutil.which(tool) is None:
            pytest.skip("%s missing (apt-get install ldnsutils)" % tool)

    def run(*argv):
        return subprocess.run(argv, cwd=tmp_path, check=True, text=True,
                              capture_output=True, timeout=60).stdout.strip()

    def sign(text, origin=DOMAIN):
        zone = tmp_path / (origin + ".zone")
        zone.write_text(text)
        ksk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", origin)
        zsk = run("ldns-keygen", "-a", "ECDSAP256SHA256", origin)
        run("ldns-signzone", str(zone), ksk, zsk)
        return ((tmp_path / (origin + ".zone.signed")).read_text(),
                (tmp_path / (ksk + ".ds")).read_text())
    return sign


def sender(server_factory, dns, anchor_text, **cfg):
    """A Postel that resolves through dns with anchor_text (a DS) as its
    trust anchor (a file the service user can read)."""
    srv = server_factory(config=outbound_config(dns, **cfg))
    anchor = tmp_file(srv, "anchor.ds", anchor_text)
    srv.config["dnssec_trust_anchor"] = anchor
    srv.stop_checked()
    srv._write_config()
    srv.start()
    return srv


def dane_setup(dns_server, server_factory, peer_factory, signer,
               tlsa=None, peer=None, zone=ZONE, owner="_25._tcp.mx", **cfg):
    """The peer as mx.dane.test, dane.test signed with a TLSA record for
    it at owner (tlsa: "3 1 1 HEX"; default: the peer's key)."""
    p = peer_factory(**(peer if peer is not None
                        else {"tls": "cert", "cn": MX}))
    if tlsa is None:
        tlsa = "3 1 1 " + spki_sha256(p.cert_path)
    signed, ds = signer(zone.format(
        ip=p.host, tlsa="%s IN TLSA %s" % (owner, tlsa)))
    dns = dns_server()
    dns.load_zone(signed)
    return sender(server_factory, dns, ds, **cfg), p, dns


def dane_lines(srv):
    return log_lines(srv, "dane")


def send_over_tls(srv, peer, prefix, to="bob@dane.test"):
    """Submits a message to `to`, waits for it at the peer and checks that
    every session that carried mail was over TLS; returns the queue id."""
    token = unique(prefix)
    qid = submit(srv, [to], message(token, to=to))
    wait_for(lambda: token in peer_tokens(peer), what="the delivery")
    sess = [s for s in peer.sessions if "MAIL" in s.verbs()]
    assert sess and all(s.tls for s in sess)
    return qid


def send_deferred(srv, prefix, dsn, reason):
    """Submits a message to bob@dane.test and waits for its deferral
    with status dsn and reason in the reply; returns the queue id."""
    qid = submit(srv, ["bob@dane.test"],
                 message(unique(prefix), to="bob@dane.test"))
    line = wait_for(lambda: remote_lines(srv, qid, "deferred"),
                    what="the deferral")[0]
    assert log_field(line, "dsn") == dsn, line
    assert reason in log_field(line, "reply"), line
    return qid


def test_matching_tlsa_delivers_over_verified_tls(dns_server,
                                                  server_factory,
                                                  peer_factory, signer):
    srv, peer, _ = dane_setup(dns_server, server_factory, peer_factory,
                              signer)
    r = srv.cli("route", DOMAIN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "dnssec: MX secure" in r.stdout
    assert "tls: dane" in r.stdout
    assert "TLSA _25._tcp.mx.dane.test: 1 record, 1 usable (dane)" \
        in r.stdout
    qid = send_over_tls(srv, peer, "dane")
    # The sender's log: DANE verified, and the result for TLS-RPT.
    line = wait_for(lambda: dane_lines(srv), what="event=dane")[0]
    assert log_field(line, "dane") == "verified", line
    res = [l for l in log_lines(srv, "tls_result")
           if log_field(l, "result") == "success"]
    assert res and log_field(res[0], "policy") == "dane"
    sent = wait_for(lambda: remote_lines(srv, qid, "sent"), what="sent")
    assert log_field(sent[0], "relay") == "%s[%s]:25" % (MX, peer.host)


def test_mismatching_tlsa_defers_never_plaintext(dns_server,
                                                 server_factory,
                                                 peer_factory, signer):
    wrong = hashlib.sha256(b"not the peer's key").hexdigest()
    srv, peer, _ = dane_setup(dns_server, server_factory, peer_factory,
                              signer, tlsa="3 1 1 " + wrong)
    qid = send_deferred(srv, "mismatch", "4.7.5", "DANE verification")
    d = wait_for(lambda: dane_lines(srv), what="event=dane")[0]
    assert log_field(d, "dane") == "failed"
    assert "TLSA" in log_field(d, "why"), d
    show = wait_recorded(srv, qid, 1)
    assert "state: pending" in show
    # The peer saw a TLS handshake at most: never MAIL, never the data.
    assert peer.transactions() == []
    for s in peer.sessions:
        assert "MAIL" not in s.verbs() and "DATA" not in s.verbs()
    res = [l for l in log_lines(srv, "tls_result")
           if log_field(l, "result") == "validation-failure"]
    assert res, srv.stderr_text()[-3000:]


@pytest.mark.parametrize("peer_opts", [
    {}, {"tls": "cert", "starttls_reply": "454 4.7.0 TLS not available"}],
    ids=["no-starttls", "starttls-refused"])
def test_peer_without_starttls_defers(dns_server, server_factory,
                                      peer_factory, signer, peer_opts):
    tlsa = "3 1 1 " + hashlib.sha256(b"some key").hexdigest()
    srv, peer, _ = dane_setup(dns_server, server_factory, peer_factory,
                              signer, tlsa=tlsa, peer=peer_opts)
    send_deferred(srv, "nostarttls", "4.7.4",
                  "STARTTLS refused" if peer_opts else "TLS is required")
    assert peer.transactions() == []
    res = [l for l in log_lines(srv, "tls_result")
           if log_field(l, "result") == "starttls-not-supported"]
    assert res


def test_bogus_tlsa_answer_defers(dns_server, server_factory, peer_factory,
                                  signer):
    srv, peer, dns = dane_setup(dns_server, server_factory, peer_factory,
                                signer)
    sig = dns.zones["_25._tcp.mx.dane.test"]["RRSIG:TLSA"][0].rdata
    sig.sig = bytes([sig.sig[0] ^ 0xff]) + sig.sig[1:]
    r = srv.cli("route", DOMAIN)
    assert "lookup failed" in r.stdout, r.stdout
    send_deferred(srv, "bogus", "4.7.5", "TLSA lookup")
    res = [l for l in log_lines(srv, "tls_result")
           if log_field(l, "result") == "dnssec-invalid"]
    assert res and "DNSSEC bogus" in log_field(res[0], "why"), res
    assert peer.sessions == [] or peer.transactions() == []


def test_unsigned_zone_is_opportunistic(dns_server, server_factory,
                                        peer_factory, signer):
    """plain.test is not signed (an anchor exists for dane.test only):
    its TLSA record, wrong as it is, is not used; TLS as available."""
    peer = peer_factory(tls="cert", cn="mx.plain.test")
    _, ds = signer(ZONE.format(ip="127.0.0.1", tlsa=""))
    wrong = hashlib.sha256(b"x").hexdigest()
    dns = dns_server({
        "plain.test": {"MX": [(10, "mx.plain.test")]},
        "mx.plain.test": {"A": [peer.host]},
        "_25._tcp.mx.plain.test": {"TLSA": [(3, 1, 1, wrong)]},
    })
    srv = sender(server_factory, dns, ds)
    r = srv.cli("route", "plain.test")
    assert "dnssec: MX not secure" in r.stdout
    assert "tls: opportunistic" in r.stdout
    send_over_tls(srv, peer, "plain", to="bob@plain.test")
    assert dane_lines(srv) == []
    assert dns.seen("_25._tcp.mx.plain.test", "TLSA") == 0


def test_tls_required_no_goes_without_dane(dns_server, server_factory,
                                           peer_factory, signer):
    """RFC 8689 §3: a message with "TLS-Required: No" is not held back by
    the domain's DANE policy (here a TLSA record that does not match);
    one without it, sent at the same time, waits."""
    wrong = hashlib.sha256(b"not the peer's key").hexdigest()
    srv, peer, _ = dane_setup(dns_server, server_factory, peer_factory,
                              signer, tlsa="3 1 1 " + wrong)
    relaxed, strict = unique("relaxed"), unique("strict")
    submit(srv, ["bob@dane.test"], message(
        relaxed, to="bob@dane.test", extra="TLS-Required: No\r\n"))
    qid = submit(srv, ["bob@dane.test"],
                 message(strict, to="bob@dane.test"))
    wait_for(lambda: relaxed in peer_tokens(peer), what="the delivery")
    wait_for(lambda: remote_lines(srv, qid, "deferred"), what="deferral")
    assert strict not in peer_tokens(peer)
    # Still over TLS when the peer offers it (opportunistic).
    sess = [s for s in peer.sessions if "MAIL" in s.verbs()]
    assert sess and all(s.tls for s in sess)


def make_ca_chain(directory, name):
    """A test CA and a certificate for name signed by it (openssl);
    returns (CA cert path, chain path (leaf then CA), key path)."""
    def ossl(*argv):
        subprocess.run(("openssl",) + argv, cwd=directory, check=True,
                       capture_output=True, timeout=60)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
         "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test DANE CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
         "-subj", "/CN=" + name)
    ext = os.path.join(directory, "leaf.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\n" % name)
    ossl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey",
         "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "2",
         "-extfile", ext)
    chain = os.path.join(directory, "chain.pem")
    with open(chain, "w") as f:
        for part in ("leaf.pem", "ca.pem"):
            with open(os.path.join(directory, part)) as g:
                f.write(g.read())
    return (os.path.join(directory, "ca.pem"), chain,
            os.path.join(directory, "leaf.key"))


def cert_sha256(cert_path):
    """2 0 1 data: SHA-256 of the whole certificate, by ldns-dane."""
    return tlsa_of(cert_path, "2", "0", "1").split()[3]


@pytest.mark.parametrize("name,ok", [(MX, True), ("other.dane.test", False)])
def test_dane_ta_chain(dns_server, server_factory, peer_factory, signer,
                       tmp_path, name, ok):
    """DANE-TA(2): a TLSA record for the issuing CA; the server's
    certificate must chain to it and name the MX host (RFC 7672
    §3.2.3): one for another name waits."""
    ca, chain, key = make_ca_chain(str(tmp_path), name)
    srv, peer, _ = dane_setup(
        dns_server, server_factory, peer_factory, signer,
        tlsa="2 0 1 " + cert_sha256(ca),
        peer={"tls": "cert", "cert_files": (chain, key)})
    if ok:
        token = unique("danta")
        submit(srv, ["bob@dane.test"], message(token, to="bob@dane.test"))
        wait_for(lambda: token in peer_tokens(peer), what="the delivery")
        line = wait_for(lambda: dane_lines(srv), what="event=dane")[0]
        assert log_field(line, "dane") == "verified", line
        return
    send_deferred(srv, "danta", "4.7.5", "DANE verification")
    d = wait_for(lambda: dane_lines(srv), what="event=dane")[0]
    assert log_field(d, "dane") == "failed", d
    assert peer.transactions() == []


CNAME_ZONE = """$ORIGIN dane.test.
$TTL 60
@ IN SOA ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 60
@ IN NS ns.dane.test.
@ IN MX 10 mx.dane.test.
mx IN CNAME host.dane.test.
host IN A {ip}
ns IN A 127.0.0.1
{tlsa}
"""


@pytest.mark.parametrize("owner", ["_25._tcp.host", "_25._tcp.mx"])
def test_mx_alias_tlsa_base(dns_server, server_factory, peer_factory,
                            signer, owner):
    """RFC 7672 §2.2.2: an MX name that is a (secure) CNAME: the TLSA
    records of the name it leads to, else those of the MX name."""
    srv, peer, _ = dane_setup(dns_server, server_factory, peer_factory,
                              signer, zone=CNAME_ZONE, owner=owner)
    base = owner[len("_25._tcp."):] + ".dane.test"
    r = srv.cli("route", DOMAIN)
    assert "TLSA _25._tcp.%s: 1 record, 1 usable (dane)" % base \
        in r.stdout, r.stdout
    token = unique("alias")
    submit(srv, ["bob@dane.test"], message(token, to="bob@dane.test"))
    wait_for(lambda: token in peer_tokens(peer), what="the delivery")
    line = wait_for(lambda: dane_lines(srv), what="event=dane")[0]
    assert log_field(line, "dane") == "verified", line


def test_only_pkix_usages_mean_tls_without_verification(
        dns_server, server_factory, peer_factory, signer):
    """RFC 7672 §3.1: PKIX-EE(1) is unusable for SMTP; a TLSA RRset with
    no usable record still says the server has TLS: required, not
    verified (§2.2). The peer's self-signed certificate is accepted."""
    srv, peer, _ = dane_setup(dns_server, server_factory, peer_factory,
                              signer, tlsa="1 1 1 " + hashlib.sha256(
                                  b"x").hexdigest())
    r = srv.cli("route", DOMAIN)
    assert "TLSA _25._tcp.mx.dane.test: 1 record, none usable" in r.stdout
    send_over_tls(srv, peer, "pkix")
    assert dane_lines(srv) == []


def test_mx_host_in_unsigned_zone_is_not_dane(dns_server, server_factory,
                                              peer_factory, signer):
    """RFC 7672 §2.2.1: a secure MX answer naming a host whose addresses
    are not secure (an unsigned zone): no DANE for it, whatever TLSA
    records that zone has."""
    peer = peer_factory(tls="cert", cn="mx.plain.test")
    zone = ZONE.replace("@ IN MX 10 mx.dane.test.",
                        "@ IN MX 10 mx.plain.test.")
    signed, ds = signer(zone.format(ip="127.0.0.1", tlsa=""))
    dns = dns_server({
        "mx.plain.test": {"A": [peer.host]},
        "_25._tcp.mx.plain.test": {"TLSA": [
            (3, 1, 1, hashlib.sha256(b"x").hexdigest())]},
    })
    dns.load_zone(signed)
    srv = sender(server_factory, dns, ds)
    r = srv.cli("route", DOMAIN)
    assert "dnssec: MX secure" in r.stdout, r.stdout
    assert "tls: opportunistic" in r.stdout, r.stdout
    token = unique("unsignedhost")
    submit(srv, ["bob@dane.test"], message(token, to="bob@dane.test"))
    wait_for(lambda: token in peer_tokens(peer), what="the delivery")
    assert dane_lines(srv) == []
    assert dns.seen("_25._tcp.mx.plain.test", "TLSA") == 0
