"""The Postfix test peer (postfixpeer.py) is a working remote MX: it takes
a message from Python's smtplib over STARTTLS into the recipient's Maildir,
refuses an unknown recipient with 550 5.1.1, and hides EHLO keywords when
asked. The scheduler's tests use it as the real remote MX."""

import smtplib
import ssl

from postfixpeer import postfix_peer_factory, strip_trace  # noqa: F401

PEER_ADDR = "127.0.0.61"


def test_peer_receives_from_smtplib(postfix_peer_factory):  # noqa: F811
    peer = postfix_peer_factory(PEER_ADDR, domain="remote.test",
                                users=("bob", "carol"))
    body = (b"From: alice@example.test\r\n"
            b"To: bob@remote.test\r\n"
            b"Subject: through the peer\r\n"
            b"Message-ID: <peer-1@example.test>\r\n"
            b"\r\n"
            b"Hello Bob, caf\xc3\xa9.\r\n")
    with smtplib.SMTP(PEER_ADDR, 25, timeout=30) as s:
        s.ehlo("client.example.test")
        assert s.has_extn("starttls")
        assert s.has_extn("8bitmime")
        assert s.has_extn("smtputf8")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s.starttls(context=ctx)
        s.ehlo("client.example.test")
        refused = s.sendmail("alice@example.test",
                             ["bob@remote.test", "nobody@remote.test"],
                             body, mail_options=["BODY=8BITMIME"])
        assert refused["nobody@remote.test"][0] == 550
        assert b"5.1.1" in refused["nobody@remote.test"][1]
    msgs = peer.wait_messages("bob", count=1)
    assert len(msgs) == 1
    assert strip_trace(msgs[0]) == body
    assert b"Delivered-To: bob@remote.test" in msgs[0]
    assert peer.messages("carol") == []
    peer.wait_log(r"status=sent \(delivered to maildir\)")
    assert "TLS connection established" in peer.log_text()


def test_peer_hides_ehlo_keywords(postfix_peer_factory):  # noqa: F811
    postfix_peer_factory(PEER_ADDR, port=2526, catch_all=True,
                         discard_ehlo=("8bitmime", "dsn"))
    with smtplib.SMTP(PEER_ADDR, 2526, timeout=30) as s:
        s.ehlo("client.example.test")
        assert not s.has_extn("8bitmime")
        assert not s.has_extn("dsn")
        assert s.has_extn("starttls")
