"""Final delivery adds Return-Path (RFC 5321 §4.4, "<>" for the null
sender) and, for a message with one local recipient, Delivered-To; both
seen through IMAP FETCH and POP3 RETR with sizes that match the bytes.
A message with several local recipients keeps one shared file: Return-Path
only. What the outbound queue relays carries neither."""

import re

from conftest import unique
from queueutil import (mx_zone, outbound_config, peers_fixture, submit,
                       wait_for)

ALICE = "alice@example.test"
BOB = "bob@example.test"

peer_factory = peers_fixture()


def imap_message(server, user, token):
    m = server.imaps(user)
    try:
        m.select("INBOX", readonly=True)
        typ, data = m.search(None, "SUBJECT", token)
        num = data[0].split()[-1]
        typ, data = m.fetch(num, "(RFC822.SIZE BODY.PEEK[] "
                                 "BODY.PEEK[HEADER.FIELDS (RETURN-PATH)])")
        size = int(re.search(rb"RFC822\.SIZE (\d+)", data[0][0]).group(1))
        whole = data[0][1]
        field = data[1][1]
        # A partial FETCH counts from the start of the file too.
        typ, part = m.fetch(num, "(BODY.PEEK[]<0.13>)")
        return size, whole, field, part[0][1]
    finally:
        m.logout()


def pop3_message(server, user, token):
    p = server.pop3s(user)
    try:
        for line in p.list()[1]:
            num, size = line.split()
            lines = p.retr(int(num))[1]
            msg = b"".join(l + b"\r\n" for l in lines)
            if token.encode() in msg:
                return int(size), msg
    finally:
        p.quit()
    raise AssertionError("no message %s over POP3" % token)


def body(token):
    return ("From: x@remote.test\r\nTo: y@example.test\r\nSubject: %s\r\n"
            "\r\nhello\r\n" % token).encode()


def test_one_recipient_gets_return_path_and_delivered_to(server):
    token = unique("rp")
    server.send(ALICE, body(token), sender="Sender@Remote.test")
    server.wait_messages(ALICE, 1, match=token.encode())
    size, whole, field, part = imap_message(server, ALICE, token)
    assert whole.startswith(b"Return-Path: <Sender@Remote.test>\r\n"
                            b"Delivered-To: alice@example.test\r\n"
                            b"Received: from "), whole[:200]
    assert size == len(whole)
    assert field == b"Return-Path: <Sender@Remote.test>\r\n\r\n"
    assert part == b"Return-Path: "
    psize, pmsg = pop3_message(server, ALICE, token)
    assert pmsg == whole and psize == size


def test_null_sender_and_plus_address(server):
    token = unique("null")
    server.send("alice+lists@example.test", body(token), sender="")
    server.wait_messages(ALICE, 1, match=token.encode())
    size, whole, _, _ = imap_message(server, ALICE, token)
    assert whole.startswith(b"Return-Path: <>\r\n"
                            b"Delivered-To: alice+lists@example.test\r\n")
    assert size == len(whole)


def test_several_local_recipients_share_one_file(server):
    token = unique("multi")
    server.send([ALICE, BOB], body(token))
    for user in (ALICE, BOB):
        server.wait_messages(user, 1, match=token.encode())
        size, whole, _, _ = imap_message(server, user, token)
        assert whole.startswith(b"Return-Path: <sender@remote.test>\r\n"
                                b"Received: from "), whole[:200]
        assert b"Delivered-To:" not in whole
        assert size == len(whole)
        psize, pmsg = pop3_message(server, user, token)
        assert pmsg == whole and psize == size


def test_relayed_copy_has_neither(dns_server, server_factory,
                                  peer_factory):
    peer = peer_factory()
    dns = dns_server(mx_zone("peer.test", peer.host))
    srv = server_factory(config=outbound_config(dns))
    token = unique("relay")
    # One local and one remote recipient: one file for both.
    submit(srv, [BOB, "far@peer.test"],
           body(token).replace(b"x@remote.test", ALICE.encode()))
    local = srv.wait_messages(BOB, 1, match=token.encode())[0]
    assert local.startswith(b"Return-Path: <alice@example.test>\r\n"
                            b"Delivered-To: bob@example.test\r\n")
    tx = wait_for(lambda: [t for t in peer.transactions()
                           if t.data is not None and
                           token.encode() in t.data],
                  what="the relayed copy")[0]
    assert tx.data.startswith(b"Received: from "), tx.data[:200]
    assert b"Return-Path" not in tx.data
    assert b"Delivered-To" not in tx.data
    # The same octets as the local copy from its Received on.
    assert tx.data.rstrip(b"\r\n") in local
