"""Routing failures seen by the sender: a domain that does not exist
(NXDOMAIN, 5.1.2), one that takes no mail (null MX, RFC 7505: 5.1.10), and
an MX that is this very server (a loop, RFC 5321 §5.1: 5.4.6) bounce at
once, with a DSN in the sender's INBOX; a resolver failure defers."""

from conftest import unique
from queueutil import (ALICE, dsns, listen_smtp_on, log_field, message,
                       new_ip, outbound_config, queue_cli, queue_gone,
                       remote_lines, submit, wait_for)


def dsn_statuses(srv, want):
    """{recipient: (action, status)} over every DSN, once all of want
    are covered."""
    def got():
        seen = {}
        for d in dsns(srv):
            for addr in d.rcpts:
                seen[addr] = (d.action(addr), d.status(addr))
        return seen if all(w in seen for w in want) else None
    return wait_for(got, 20, "DSNs for %s" % sorted(want), step=0.2)


def test_nxdomain_and_null_mx_bounce_at_once(dns_server, server_factory):
    dns = dns_server({"nullmx.test": {"MX": [(0, ".")]}})
    srv = server_factory(config=outbound_config(dns, retry_min=3600))
    token = unique("route")
    qid = submit(srv, ["u@nullmx.test", "u@nowhere.test"],
                 message(token))
    seen = dsn_statuses(srv, ["u@nullmx.test", "u@nowhere.test"])
    assert seen["u@nullmx.test"] == ("failed", "5.1.10")
    assert seen["u@nowhere.test"] == ("failed", "5.1.2")
    lines = remote_lines(srv, qid, "bounced")
    assert {log_field(l, "dsn") for l in lines} == {"5.1.10", "5.1.2"}
    assert all(log_field(l, "relay") == "none" for l in lines)
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")


def test_mx_pointing_here_is_a_loop(dns_server, server_factory):
    ip = new_ip()
    dns = dns_server({"loop.test": {"MX": [(10, "mx.loop.test")]},
                      "mx.loop.test": {"A": [ip]}})
    srv = server_factory(config=outbound_config(dns, retry_min=3600),
                         listen=listen_smtp_on(ip))
    qid = submit(srv, ["u@loop.test"], message(unique("loop")))
    seen = dsn_statuses(srv, ["u@loop.test"])
    assert seen["u@loop.test"] == ("failed", "5.4.6")
    assert remote_lines(srv, qid, "bounced")


def test_resolver_failure_defers(dns_server, server_factory):
    dns = dns_server({"broken.test": {"MX": [(10, "mx.broken.test")]}})
    dns.behave("broken.test", "servfail")
    srv = server_factory(config=outbound_config(dns, retry_min=3600))
    qid = submit(srv, ["u@broken.test"], message(unique("tmp")))
    line = wait_for(lambda: remote_lines(srv, qid, "deferred"),
                    what="a deferral")[0]
    assert log_field(line, "dsn") == "4.4.3"
    out = queue_cli(srv, "show", qid).stdout
    assert "u@broken.test" in out
    assert dsns(srv) == []


def test_mx_hosts_without_address_bounce_5_4_4(dns_server, server_factory):
    dns = dns_server({"ghost.test": {"MX": [(10, "mx.nowhere.test")]},
                      "bare.test": {"TXT": ["v=spf1 -all"]}})
    srv = server_factory(config=outbound_config(dns, retry_min=3600))
    qid = submit(srv, ["u@ghost.test", "u@bare.test"],
                 message(unique("noaddr")))
    seen = dsn_statuses(srv, ["u@ghost.test", "u@bare.test"])
    # An MX host that does not exist, and a domain without MX or address
    # (no implicit MX): nothing to retry.
    assert seen["u@ghost.test"] == ("failed", "5.4.4")
    assert seen["u@bare.test"] == ("failed", "5.4.4")
    wait_for(lambda: queue_gone(srv, qid), what="the queue to empty")
