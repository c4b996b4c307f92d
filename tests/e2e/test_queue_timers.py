"""The queue's clocks, shortened by the time knobs: a message that cannot
be delivered within queue_lifetime bounces with 4.4.7 (RFC 3463: delivery
time expired), and the sender hears of a delay once after delay_warning
(RFC 3464 Action: delayed) while retries go on."""

import time

from conftest import unique
from queueutil import (dsns, log_field, message, mx_zone, outbound_config,
                       peers_fixture, queue_cli, queue_gone, remote_lines,
                       submit, wait_dsn, wait_for)

peer_factory = peers_fixture()
TEMPFAIL = {"rcpt_replies": {"t@peer.test": ["451 4.3.2 try again later"]}}


def prepare(dns_server, server_factory, peer_factory, **cfg):
    p = peer_factory(**TEMPFAIL)
    dns = dns_server(mx_zone("peer.test", p.host))
    return server_factory(config=outbound_config(dns, **cfg)), p


def test_expiry_bounces_with_4_4_7(dns_server, server_factory,
                                   peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory,
                      queue_lifetime=3, retry_min=1, retry_max=1,
                      delay_warning=0)
    token = unique("expire")
    qid = submit(srv, ["t@peer.test"], message(token))
    d = wait_dsn(srv, match=b"t@peer.test", timeout=30)[0]
    assert d.action("t@peer.test") == "failed"
    assert d.status("t@peer.test") == "4.4.7"
    assert "try again later" in d.rcpts["t@peer.test"].get(
        "diagnostic-code", "")
    lines = remote_lines(srv, qid)
    assert len(lines) >= 2
    assert all(log_field(l, "status") == "deferred" for l in lines[:-1])
    assert log_field(lines[-1], "status") == "bounced"
    assert log_field(lines[-1], "dsn") == "4.4.7"
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")
    assert peer.messages() == []


def test_delay_warning_once(dns_server, server_factory, peer_factory):
    srv, peer = prepare(dns_server, server_factory, peer_factory,
                      queue_lifetime=3600, retry_min=1, retry_max=1,
                      delay_warning=2)
    token = unique("delay")
    qid = submit(srv, ["t@peer.test"], message(token))
    d = wait_dsn(srv, match=b"t@peer.test", timeout=30)[0]
    assert d.action("t@peer.test") == "delayed"
    assert d.status("t@peer.test").startswith("4.")
    # Retries go on; no second warning.
    n = len(remote_lines(srv, qid))
    wait_for(lambda: len(remote_lines(srv, qid)) >= n + 2,
             what="more attempts")
    assert len(dsns(srv)) == 1
    assert not queue_gone(srv, qid)
    queue_cli(srv, "delete", qid)
