"""relayhost: every remote message goes to one smarthost, over TLS (always
required there) with AUTH from relayhost_auth_file, whatever the recipient
domain's MX says."""

from conftest import unique
from queueutil import (log_field, message, outbound_config, peer_tokens,
                       peers_fixture, queue_gone, remote_lines, submit,
                       tmp_file, wait_for)

peer_factory = peers_fixture()


def test_relayhost_with_auth_over_tls(dns_server, server_factory,
                                      peer_factory):
    relay = peer_factory(tls="cert", auth={"relayuser": "relay-Pass-1"})
    # The recipient domains have no MX at all: only the relayhost matters.
    dns = dns_server({"relay.test": {"A": [relay.host]}})
    srv = server_factory(config=outbound_config(dns))
    auth = tmp_file(srv, "relay.auth", "relayuser relay-Pass-1\n")
    srv.config.update({"relayhost": "relay.test:25",
                       "relayhost_auth_file": auth})
    srv.stop_checked()
    srv._write_config()
    srv.start()
    token = unique("relay")
    qid = submit(srv, ["a@far.test", "b@elsewhere.test"], message(token))
    wait_for(lambda: peer_tokens(relay).count(token) >= 1,
             what="the message at the relayhost")
    txs = [t for t in relay.transactions() if t.data is not None]
    assert sorted(a for t in txs for a in t.accepted) == \
        ["a@far.test", "b@elsewhere.test"]
    sess = [s for s in relay.sessions if "MAIL" in s.verbs()]
    assert sess and all(s.tls for s in sess)
    assert all("AUTH" in s.verbs() for s in sess)
    lines = wait_for(lambda: (lambda l: l if len(l) == 2 else None)(
        remote_lines(srv, qid, "sent")), what="two sent lines")
    assert {log_field(l, "relay") for l in lines} == \
        {"relay.test[%s]:25" % relay.host}
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")


def test_relayhost_without_tls_defers(dns_server, server_factory,
                                      peer_factory):
    relay = peer_factory(tls=None)
    dns = dns_server({})
    srv = server_factory(config=outbound_config(
        dns, relayhost="[%s]" % relay.host, retry_min=3600))
    qid = submit(srv, ["a@far.test"], message(unique("notls")))
    line = wait_for(lambda: remote_lines(srv, qid, "deferred"),
                    what="the deferral")[0]
    assert log_field(line, "dsn").startswith("4.7.")
    assert relay.messages() == []
