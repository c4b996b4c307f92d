"""The queue against a scripted remote server (smtppeer.py, aiosmtpd) for
the awkward cases: greylisting (4xx then success), 5xx at RCPT and after
DATA, 452 for some recipients, a disconnect in the middle of DATA, and the
success notices of RFC 3461 (relayed when the next hop has no DSN, passed
on when it has). Each test looks at what users see: the message at the
peer, the DSN in the sender's INBOX over IMAP, the log line, the queue
CLI."""

from conftest import unique
from queueutil import (ALICE, dsns, log_field, message, mx_zone,
                       outbound_config, peer_tokens, peers_fixture,
                       queue_cli, queue_gone, remote_lines, submit,
                       wait_dsn, wait_for, wait_recorded)

peer_factory = peers_fixture()


def prepare(dns_server, server_factory, peer_factory, peer=None, **cfg):
    p = peer_factory(**(peer or {}))
    dns = dns_server(mx_zone("peer.test", p.host))
    srv = server_factory(config=outbound_config(dns, **cfg))
    return srv, p


def delivered(peer, token, count=1):
    return wait_for(lambda: peer_tokens(peer).count(token) >= count,
                    what="%s at the peer" % token)


def test_greylisting_then_delivered(dns_server, server_factory,
                                    peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory, peer={
        "rcpt_replies": {"grey@peer.test": ["451 4.7.1 greylisted, come "
                                            "back later",
                                            "250 2.1.5 ok"]}},
        retry_min=3, retry_max=3)
    token = unique("grey")
    qid = submit(srv, ["grey@peer.test"], message(token))
    first = wait_for(lambda: remote_lines(srv, qid, "deferred"),
                     what="the deferral")[0]
    assert log_field(first, "attempt") == "1"
    assert log_field(first, "dsn") == "4.7.1"
    assert "greylisted" in log_field(first, "reply")
    # Between the attempts the queue shows the recipient pending with
    # its last reply.
    show = wait_recorded(srv, qid, 1)
    assert "grey@peer.test" in show and "greylisted" in show
    assert "state: pending" in show
    line = wait_for(lambda: remote_lines(srv, qid, "sent"),
                    what="the second attempt")[0]
    assert log_field(line, "attempt") == "2"
    assert log_field(line, "relay") == "mx.peer.test[%s]:25" % peer.host
    delivered(peer, token)
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")
    assert peer_tokens(peer).count(token) == 1
    assert dsns(srv) == []


def test_rcpt_refused_bounces_that_recipient(dns_server, server_factory,
                                            peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory, peer={
        "rcpt_replies": {"nobody@peer.test": ["550 5.1.1 no such user"]}})
    token = unique("r550")
    qid = submit(srv, ["good@peer.test", "nobody@peer.test"],
                 message(token))
    delivered(peer, token)
    tx = [t for t in peer.transactions() if t.data is not None][0]
    assert tx.accepted == ["good@peer.test"]
    d = wait_dsn(srv, match=b"nobody@peer.test")[0]
    assert d.action("nobody@peer.test") == "failed"
    assert d.status("nobody@peer.test") == "5.1.1"
    assert "good@peer.test" not in d.rcpts
    assert "no such user" in d.rcpts["nobody@peer.test"].get(
        "diagnostic-code", "")
    bounced = remote_lines(srv, qid, "bounced")
    assert [log_field(l, "to") for l in bounced] == ["nobody@peer.test"]
    assert [log_field(l, "to") for l in remote_lines(srv, qid, "sent")] \
        == ["good@peer.test"]
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")


def test_data_refused_bounces_every_recipient(dns_server, server_factory,
                                             peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory, peer={
        "data_replies": ["554 5.6.0 content rejected"]})
    token = unique("d554")
    qid = submit(srv, ["a@peer.test", "b@peer.test"], message(token))
    d = wait_dsn(srv, match=b"b@peer.test")[0]
    for who in ("a@peer.test", "b@peer.test"):
        assert d.action(who) == "failed"
        assert d.status(who) == "5.6.0"
    # The failure report carries the message back (RET default: full).
    assert d.returned is not None and token.encode() in d.raw
    assert len(remote_lines(srv, qid, "bounced")) == 2


def test_452_recipients_go_in_the_next_transaction(dns_server,
                                                   server_factory,
                                                   peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory, peer={
        "rcpt_replies": {"c@peer.test": ["452 4.5.3 too many recipients",
                                         "250 2.1.5 ok"]}},
        retry_min=3600)
    token = unique("r452")
    rcpts = ["a@peer.test", "b@peer.test", "c@peer.test"]
    qid = submit(srv, rcpts, message(token))
    delivered(peer, token, 2)
    txs = [t for t in peer.transactions() if t.data is not None]
    assert sorted(txs[0].accepted) == ["a@peer.test", "b@peer.test"]
    assert txs[1].accepted == ["c@peer.test"]
    sent = wait_for(lambda: (lambda l: l if len(l) == 3 else None)(
        remote_lines(srv, qid, "sent")), what="three sent lines")
    assert sorted(log_field(l, "to") for l in sent) == rcpts
    assert remote_lines(srv, qid, "deferred") == []


def test_disconnect_mid_data_is_retried_once(dns_server, server_factory,
                                            peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory,
                      peer={"drop_mid_data": 20}, retry_min=3600)
    token = unique("drop")
    qid = submit(srv, ["x@peer.test"], message(token))
    line = wait_for(lambda: remote_lines(srv, qid, "deferred"),
                    what="the deferral")[0]
    assert log_field(line, "dsn").startswith("4.")
    assert peer.messages() == []
    wait_recorded(srv, qid, 1)
    peer.cfg.drop_mid_data = 0
    queue_cli(srv, "flush", qid)
    delivered(peer, token)
    sent = wait_for(lambda: remote_lines(srv, qid, "sent"), what="sent")
    assert log_field(sent[0], "attempt") == "2"
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")
    assert peer_tokens(peer).count(token) == 1


def test_notify_success_relayed_without_remote_dsn(dns_server,
                                                   server_factory,
                                                   peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory,
                      peer={"dsn": False})
    token = unique("relayed")
    qid = submit(srv, ["s@peer.test"], message(token),
                 rcpt_options={"s@peer.test": ["NOTIFY=SUCCESS,FAILURE"]})
    delivered(peer, token)
    tx = [t for t in peer.transactions() if t.data is not None][0]
    assert "NOTIFY" not in tx.rcpt_params("s@peer.test")
    d = wait_dsn(srv, match=b"s@peer.test")[0]
    assert d.action("s@peer.test") == "relayed"
    assert d.status("s@peer.test").startswith("2.")
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")


def test_notify_success_passed_on_to_a_dsn_peer(dns_server, server_factory,
                                                peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory,
                      peer={"dsn": True})
    token = unique("passon")
    qid = submit(srv, ["s@peer.test"], message(token),
                 mail_options=["RET=HDRS", "ENVID=env-" + token],
                 rcpt_options={"s@peer.test": ["NOTIFY=SUCCESS"]})
    delivered(peer, token)
    tx = [t for t in peer.transactions() if t.data is not None][0]
    assert tx.rcpt_params("s@peer.test").get("NOTIFY") == "SUCCESS"
    assert tx.params().get("RET") == "HDRS"
    assert tx.params().get("ENVID") == "env-" + token
    # The next hop reports success itself: nothing owed here.
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")
    assert dsns(srv) == []


def test_notify_success_local_delivery(server_factory):
    srv = server_factory()
    token = unique("localok")
    qid = submit(srv, ["bob@example.test"], message(token),
                 rcpt_options={"bob@example.test": ["NOTIFY=SUCCESS"]})
    d = wait_dsn(srv, match=b"bob@example.test")[0]
    assert d.action("bob@example.test") == "delivered"
    assert d.status("bob@example.test").startswith("2.")
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")


def test_notify_never_means_no_bounce(dns_server, server_factory,
                                      peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory, peer={
        "rcpt_replies": {"n@peer.test": ["550 5.1.1 no such user"]}})
    token = unique("never")
    qid = submit(srv, ["n@peer.test"], message(token),
                 rcpt_options={"n@peer.test": ["NOTIFY=NEVER"]})
    wait_for(lambda: remote_lines(srv, qid, "bounced"), what="bounced")
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")
    assert dsns(srv) == []


def test_8bit_to_a_peer_without_8bitmime_is_converted(dns_server,
                                                      server_factory,
                                                      peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory,
                        peer={"eightbitmime": False})
    token = unique("eight")
    text = "Grüße aus Köln, %s\r\n" % token
    qid = submit(srv, ["e@peer.test"], message(token, body=text).replace(
        b"Date:", b"MIME-Version: 1.0\r\nContent-Type: text/plain; "
        b"charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nDate:", 1),
        mail_options=["BODY=8BITMIME"])
    delivered(peer, token)
    data = [m for m in peer.messages() if token.encode() in m][0]
    assert max(data) < 0x80
    assert b"quoted-printable" in data.lower()
    import email
    got = email.message_from_bytes(data)
    assert got.get_payload(decode=True).decode("utf-8") == text
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")


def test_smtputf8_to_a_peer_without_it_bounces_5_6_7(dns_server,
                                                     server_factory,
                                                     peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory,
                        peer={"smtputf8": False})
    token = unique("utf8")
    qid = submit(srv, ["jörg@peer.test"], message(token),
                 mail_options=["SMTPUTF8"])
    d = wait_dsn(srv, match=token.encode())[0]
    (addr,) = d.rcpts.keys()
    assert d.rcpts[addr]["action"].lower() == "failed"
    assert d.rcpts[addr]["status"] == "5.6.7"
    assert peer.messages() == []
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")
