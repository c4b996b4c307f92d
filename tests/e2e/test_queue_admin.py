"""`postel queue hold|release|flush|delete|bounce` against a running
server: the server notices each change within a second (it polls the
queue's serial), as the administrator expects."""

import time

from conftest import unique
from queueutil import (dsns, log_field, message, mx_zone, outbound_config,
                       peer_tokens, peers_fixture, queue_cli, queue_gone,
                       remote_lines, submit, wait_dsn, wait_for,
                       wait_recorded)

peer_factory = peers_fixture()


def deferred_once(dns_server, server_factory, peer_factory):
    """A server whose message to the peer was deferred once and waits an
    hour for its next attempt."""
    p = peer_factory(rcpt_replies={"h@peer.test": ["451 4.7.1 later"]})
    dns = dns_server(mx_zone("peer.test", p.host))
    srv = server_factory(config=outbound_config(dns, retry_min=3600,
                                                retry_max=3600))
    token = unique("admin")
    qid = submit(srv, ["h@peer.test"], message(token))
    wait_for(lambda: remote_lines(srv, qid, "deferred"), what="deferral")
    wait_recorded(srv, qid, 1)
    return srv, p, qid, token


def attempts(srv, qid):
    return len(remote_lines(srv, qid))


def test_hold_release_flush(dns_server, server_factory, peer_factory):
    srv, peer, qid, token = deferred_once(dns_server, server_factory,
                                          peer_factory)
    queue_cli(srv, "hold", qid)
    assert qid in queue_cli(srv, "list", "--held").stdout
    queue_cli(srv, "flush", qid)
    # Held: a flush does not make it go (bounded look: the server polls
    # every second).
    time.sleep(2.5)
    assert attempts(srv, qid) == 1
    queue_cli(srv, "release", qid)
    assert qid not in queue_cli(srv, "list", "--held").stdout
    peer.cfg.rcpt_replies = {}
    queue_cli(srv, "flush", qid)
    line = wait_for(lambda: remote_lines(srv, qid, "sent"),
                    timeout=5, what="the flushed attempt")[0]
    assert log_field(line, "attempt") == "2"
    wait_for(lambda: token in peer_tokens(peer), what="delivery")
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")


def test_flush_by_domain(dns_server, server_factory, peer_factory):
    srv, peer, qid, token = deferred_once(dns_server, server_factory,
                                          peer_factory)
    peer.cfg.rcpt_replies = {}
    queue_cli(srv, "flush", "--domain", "peer.test")
    wait_for(lambda: remote_lines(srv, qid, "sent"), timeout=5,
             what="the flushed attempt")


def test_delete_stops_everything(dns_server, server_factory, peer_factory):
    srv, peer, qid, token = deferred_once(dns_server, server_factory,
                                          peer_factory)
    queue_cli(srv, "delete", qid)
    assert queue_gone(srv, qid)
    assert qid not in queue_cli(srv, "list").stdout
    peer.cfg.rcpt_replies = {}
    queue_cli(srv, "flush", check=False)
    time.sleep(2.5)
    assert attempts(srv, qid) == 1
    assert peer.messages() == []
    assert dsns(srv) == []


def test_bounce_sends_a_dsn_now(dns_server, server_factory, peer_factory):
    srv, peer, qid, token = deferred_once(dns_server, server_factory,
                                          peer_factory)
    queue_cli(srv, "bounce", qid)
    d = wait_dsn(srv, match=b"h@peer.test", timeout=5)[0]
    assert d.action("h@peer.test") == "failed"
    assert d.status("h@peer.test") == "5.0.0"
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")
    assert peer.messages() == []
