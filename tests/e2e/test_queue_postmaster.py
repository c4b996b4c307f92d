"""A notice that cannot be delivered goes to the postmaster once, and
stops there (RFC 3461 §6.2: never a DSN about a DSN to its null sender).

Mail from a remote sender to an alias that forwards outside fails at the
next hop; its DSN, queued back to the remote sender with the null sender,
is refused as well; that failure is reported to postmaster@HOSTNAME, here a
local mailbox, and nothing more happens."""

from conftest import unique
from queueutil import (dsns, log_lines, message, mx_zone, outbound_config,
                       peers_fixture, queue_cli, wait_dsn, wait_for)

peer_factory = peers_fixture()
POSTMASTER = "postmaster@mail.test"


def test_failed_dsn_goes_to_the_postmaster_once(dns_server, server_factory,
                                                 peer_factory):
    peer = peer_factory(rcpt_replies={
        "gone@peer.test": ["550 5.1.1 gone"],
        "s@peer.test": ["550 5.1.1 no bounces here"]})
    dns = dns_server(mx_zone("peer.test", peer.host))
    users = {"alice@example.test": "alice-Secret-1",
             POSTMASTER: "postmaster-Secret-3"}
    srv = server_factory(config=outbound_config(dns), users=users,
                         domains=["example.test", "mail.test"])
    srv.cli("alias", "add", "fwd@example.test", "gone@peer.test",
            check=True)
    token = unique("pm")
    srv.send(["fwd@example.test"], message(token, sender="s@peer.test"),
             sender="s@peer.test")
    d = wait_dsn(srv, user=POSTMASTER, match=b"s@peer.test")[0]
    assert d.action("s@peer.test") == "failed"
    assert d.status("s@peer.test") == "5.1.1"
    # The DSN to s@peer.test was tried (and refused) once, then stops.
    def settled():
        out = queue_cli(srv, "list").stdout
        return out if "gone@peer.test" not in out and \
            "s@peer.test" not in out else None
    wait_for(settled, what="the queue to empty")
    tried = [t for t in peer.transactions()
             if any(r[0] == "s@peer.test" for r in t.rcpts)]
    assert len(tried) == 1 and tried[0].mail_from == ""
    assert len(dsns(srv, POSTMASTER)) == 1
    assert dsns(srv, "alice@example.test") == []
    assert len(log_lines(srv, "dsn")) == 2
