"""REQUIRETLS (RFC 8689): offered in EHLO only over TLS (ports 25, 587,
465), the MAIL parameter refused in clear, kept with the queued message,
and honoured by the outbound client: the message goes only to a peer
whose certificate verified (here PKIX against `tls_ca_file`, the peer's
own certificate made by openssl) and that offers REQUIRETLS, which gets
the parameter on; otherwise it is returned to the sender (DSN, 5.7.10 or
5.7.30) without ever reaching the peer; DANE (test_dane.py's signed
zone) verifies as well. Clients: Python's smtplib; the peer: smtppeer.py
(aiosmtpd).
"""

from conftest import unique
from queueutil import (dsns, log_field, message, mx_zone, outbound_config,
                       peer_tokens, peers_fixture, remote_lines, submit,
                       tmp_file, wait_dsn, wait_for)

from test_dane import MX, dane_setup, signer  # noqa: F401 (fixture)

peer_factory = peers_fixture()


def test_offered_only_over_tls(server):
    for proto in ("smtp", "submission", "submissions"):
        s = server.smtp(proto)
        try:
            s.ehlo()
            if proto != "submissions":
                assert not s.has_extn("requiretls"), proto
                s.starttls(context=server.ssl_context())
                s.ehlo()
            assert s.has_extn("requiretls"), proto
        finally:
            s.quit()


def test_mail_parameter_refused_in_clear(server):
    s = server.smtp("smtp")
    try:
        s.ehlo()
        code, reply = s.docmd("MAIL FROM:<x@far.test> REQUIRETLS")
        assert code == 530, reply
        assert b"5.7.10" in reply
        s.starttls(context=server.ssl_context())
        s.ehlo()
        code, reply = s.docmd("MAIL FROM:<x@far.test> REQUIRETLS")
        assert code == 250, reply
        s.docmd("RSET")
    finally:
        s.quit()


def prepare(dns_server, server_factory, peer_factory, peer, trust=True):
    """A sender whose tls_ca_file holds the peer's certificate (trust)."""
    p = peer_factory(**peer)
    dns = dns_server(mx_zone("peer.test", p.host))
    srv = server_factory(config=outbound_config(dns))
    if trust and p.cert_path:
        with open(p.cert_path) as f:
            ca = tmp_file(srv, "peer-ca.pem", f.read())
        srv.config["tls_ca_file"] = ca
        srv.stop_checked()
        srv._write_config()
        srv.start()
    return srv, p


def test_delivered_to_verified_peer_with_requiretls(dns_server,
                                                    server_factory,
                                                    peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory,
                        {"tls": "cert", "cn": "mx.peer.test",
                         "requiretls": True})
    token = unique("rtls")
    qid = submit(srv, ["bob@peer.test"], message(token, to="bob@peer.test"),
                 mail_options=["REQUIRETLS"])
    wait_for(lambda: token in peer_tokens(peer), what="the delivery")
    tx = [t for t in peer.transactions() if t.data is not None][0]
    assert tx.params().get("REQUIRETLS") is True, tx.mail_params
    sess = [s for s in peer.sessions if "MAIL" in s.verbs()]
    assert sess and all(s.tls for s in sess)
    line = wait_for(lambda: remote_lines(srv, qid, "sent"), what="sent")[0]
    assert log_field(line, "to") == "bob@peer.test"
    assert dsns(srv) == []


def bounced(srv, peer, qid, status):
    d = wait_dsn(srv, match=b"bob@peer.test")[0]
    assert d.action("bob@peer.test") == "failed"
    assert d.status("bob@peer.test") == status
    assert "REQUIRETLS" in d.rcpts["bob@peer.test"].get(
        "diagnostic-code", "")
    # RFC 8689 §4.3: only the header of the message comes back.
    assert d.returned is not None
    assert d.returned.get_content_type() in ("text/rfc822-headers",
                                             "message/global-headers")
    line = remote_lines(srv, qid, "bounced")[0]
    assert log_field(line, "dsn") == status
    # Never handed over: no MAIL reached the peer.
    assert peer.transactions() == []


def test_bounced_when_peer_has_no_tls(dns_server, server_factory,
                                      peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory, {})
    token = unique("rtls-plain")
    qid = submit(srv, ["bob@peer.test"], message(token, to="bob@peer.test"),
                 mail_options=["REQUIRETLS"])
    bounced(srv, peer, qid, "5.7.10")
    # A message without REQUIRETLS still goes there in clear.
    token2 = unique("plain")
    submit(srv, ["bob@peer.test"], message(token2, to="bob@peer.test"))
    wait_for(lambda: token2 in peer_tokens(peer), what="the plain one")


def test_bounced_when_certificate_not_verified(dns_server, server_factory,
                                               peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory,
                        {"tls": "cert", "requiretls": True}, trust=False)
    token = unique("rtls-unverified")
    qid = submit(srv, ["bob@peer.test"], message(token, to="bob@peer.test"),
                 mail_options=["REQUIRETLS"])
    bounced(srv, peer, qid, "5.7.10")


def test_bounced_when_peer_lacks_requiretls(dns_server, server_factory,
                                            peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory,
                        {"tls": "cert", "cn": "mx.peer.test"})
    token = unique("rtls-noext")
    qid = submit(srv, ["bob@peer.test"], message(token, to="bob@peer.test"),
                 mail_options=["REQUIRETLS"])
    bounced(srv, peer, qid, "5.7.30")


def test_bad_tls_ca_file_stops_start(server_factory, tmp_path):
    srv = server_factory()
    missing = str(tmp_path / "no-such-ca.pem")
    srv.config["tls_ca_file"] = missing
    srv.stop_checked()
    srv._write_config()
    from conftest import try_serve
    started, err, rc = try_serve(srv, 10)
    assert not started and rc != 0
    assert "tls_ca_file" in err and missing in err, err
    # Restore a config the fixture can start and stop cleanly.
    del srv.config["tls_ca_file"]
    srv._write_config()
    srv.start()


def test_delivered_to_dane_verified_peer(dns_server, server_factory,
                                         peer_factory, signer):
    """No tls_ca_file: the peer's self-signed certificate verifies only
    through DANE (a signed zone with its TLSA 3 1 1 record), which is
    enough for REQUIRETLS."""
    srv, peer, _ = dane_setup(dns_server, server_factory, peer_factory,
                              signer, peer={"tls": "cert", "cn": MX,
                                            "requiretls": True})
    token = unique("rtls-dane")
    submit(srv, ["bob@dane.test"], message(token, to="bob@dane.test"),
           mail_options=["REQUIRETLS"])
    wait_for(lambda: token in peer_tokens(peer), what="the delivery")
    tx = [t for t in peer.transactions() if t.data is not None][0]
    assert tx.params().get("REQUIRETLS") is True, tx.mail_params
    assert dsns(srv) == []


def test_kept_with_the_queued_message(dns_server, server_factory):
    """The requirement is stored with the message (queue_msgs.flags) and
    shown by `postel queue show`; so is "TLS-Required: No"."""
    dns = dns_server(mx_zone("peer.test", "127.0.0.1"))
    srv = server_factory(config=outbound_config(dns, queue_delivery="no"))
    qid = submit(srv, ["bob@peer.test"],
                 message(unique("keep"), to="bob@peer.test"),
                 mail_options=["REQUIRETLS"])
    qid2 = submit(srv, ["bob@peer.test"], message(
        unique("keep2"), to="bob@peer.test", extra="TLS-Required: No\r\n"))
    show = srv.cli("queue", "show", qid)
    assert show.returncode == 0, show.stderr
    flags = [l for l in show.stdout.splitlines() if l.startswith("flags:")]
    assert flags and "REQUIRETLS" in flags[0].split(), show.stdout
    show = srv.cli("queue", "show", qid2).stdout
    flags = [l for l in show.splitlines() if l.startswith("flags:")]
    assert flags and "TLS-REQUIRED-NO" in flags[0].split(), show
    assert "REQUIRETLS" not in flags[0].split()
