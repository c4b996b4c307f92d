"""The outbound queue end to end: a message submitted to another
server's user reaches that user's INBOX, byte for byte apart from the
trace header fields each hop adds (RFC 5321 §4.4), through the MX that the
test DNS server names. The remote end is another Postel instance, or
Debian's Postfix as a real MX."""

import postfixpeer
from conftest import unique
from postfixpeer import postfix_peer_factory  # noqa: F401 (fixture)
from queueutil import (ALICE, imap_all, wait_dsn, listen_smtp_on, message, mx_zone,
                       new_ip, outbound_config, queue_gone, remote_lines,
                       log_field, strip_trace, submit, wait_for, wait_inbox)

BOB_REMOTE = "bob@remote.test"


def remote_postel(server_factory, ip):
    return server_factory(config={"hostname": "mx.remote.test"},
                          users={BOB_REMOTE: "bob-Remote-9"},
                          domains=["remote.test"],
                          listen=listen_smtp_on(ip))


def test_submission_reaches_another_postel(dns_server, server_factory):
    ip = new_ip()
    dns = dns_server(mx_zone("remote.test", ip))
    remote = remote_postel(server_factory, ip)
    local = server_factory(config=outbound_config(dns))
    token = unique("p2p")
    msg = message(token, to=BOB_REMOTE)
    # One local and one remote recipient: one 250, both delivered.
    qid = submit(local, [BOB_REMOTE, "bob@example.test"], msg)
    got = wait_inbox(remote, BOB_REMOTE, 1, token.encode())
    assert strip_trace(got[0]) == msg
    here = wait_inbox(local, "bob@example.test", 1, token.encode())
    assert strip_trace(here[0]) == msg
    line = wait_for(lambda: remote_lines(local, qid, "sent"),
                    what="the sent log line")[0]
    assert log_field(line, "to") == BOB_REMOTE
    assert log_field(line, "relay") == "mx.remote.test[%s]:25" % ip
    assert log_field(line, "attempt") == "1"
    assert log_field(line, "dsn").startswith("2.")
    assert log_field(line, "delay") is not None
    # Nothing is owed any more: the message leaves the queue.
    wait_for(lambda: queue_gone(local, qid), what="the queue to empty")
    assert len(imap_all(remote, BOB_REMOTE)) == 1


def test_several_messages_share_connections(dns_server, server_factory):
    ip = new_ip()
    dns = dns_server(mx_zone("remote.test", ip))
    remote = remote_postel(server_factory, ip)
    local = server_factory(config=outbound_config(dns))
    tokens = [unique("many") for _ in range(12)]
    for t in tokens:
        submit(local, [BOB_REMOTE], message(t, to=BOB_REMOTE))
    got = wait_inbox(remote, BOB_REMOTE, len(tokens))
    subjects = sorted(t for t in tokens for m in got
                      if ("Subject: %s\r\n" % t).encode() in m)
    assert subjects == sorted(tokens)


def test_postfix_as_the_remote_mx(dns_server, server_factory,
                                  postfix_peer_factory):
    ip = new_ip()
    dns = dns_server(mx_zone("remote.test", ip))
    mx = postfix_peer_factory(ip, domain="remote.test", users=("bob",))
    local = server_factory(config=outbound_config(dns))
    token = unique("postfix")
    msg = message(token, to=BOB_REMOTE)
    qid = submit(local, [BOB_REMOTE, "nobody@remote.test"], msg)
    got = mx.wait_messages("bob", 1)
    assert postfixpeer.strip_trace(got[0]) == msg
    # Postfix refuses the unknown user at RCPT: the sender gets the DSN.
    d = wait_dsn(local, match=b"nobody@remote.test")[0]
    assert d.action("nobody@remote.test") == "failed"
    assert d.status("nobody@remote.test").startswith("5.1.")
    assert BOB_REMOTE not in d.rcpts
    sent = remote_lines(local, qid, "sent")
    assert [log_field(l, "to") for l in sent] == [BOB_REMOTE]
    wait_for(lambda: queue_gone(local, qid), what="the queue to empty")
