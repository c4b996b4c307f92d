"""The Received header of an authenticated submission says "with ESMTPSA"
(RFC 3848, RFC 4954 section 7) and never names the login or carries the
password: like Postfix by default, the authenticated identity is left out
for the sender's privacy (docs/ARCHITECTURE.md)."""

from conftest import simple_message, unique

ALICE = "alice@example.test"
BOB = "bob@example.test"


def received_block(msg):
    lines = msg.split(b"\r\n")
    out = []
    # Return-Path and Delivered-To (final delivery) come first.
    while lines and lines[0].startswith((b"Return-Path: ",
                                         b"Delivered-To: ")):
        lines = lines[1:]
    for ln in lines:
        if ln.startswith(b"Received:") or (out and ln[:1] in (b" ", b"\t")):
            out.append(ln)
        else:
            break
    return b"\r\n".join(out)


def test_received_authenticated_no_identity(server):
    token = unique("rcvd")
    s = server.smtp_auth("submission", ALICE)
    try:
        # Alice's own address in MAIL FROM and From: (submission checks
        # that the sender is the account's).
        msg = simple_message(token).replace(b"From: sender@remote.test",
                                            b"From: " + ALICE.encode())
        s.sendmail(ALICE, [BOB], msg)
    finally:
        s.quit()
    msgs = server.wait_messages(BOB, 1, match=token.encode())
    assert len(msgs) == 1
    rcvd = received_block(msgs[0])
    assert b"with ESMTPSA id " in rcvd, rcvd
    assert b"alice" not in rcvd.lower(), rcvd
    assert server.users[ALICE].encode() not in msgs[0]
    assert b"for <bob@example.test>" in rcvd, rcvd


def test_received_unauthenticated(server):
    token = unique("rcvd25")
    server.send([ALICE], simple_message(token))
    msgs = server.wait_messages(ALICE, 1, match=token.encode())
    rcvd = received_block(msgs[0])
    assert b"with ESMTP id " in rcvd, rcvd
    assert b"from client.test (127.0.0.1)" in rcvd, rcvd
