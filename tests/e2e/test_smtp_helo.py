"""HELO/EHLO arguments: a domain per RFC 5321 section 4.1.2 or an
address literal, ASCII only (RFC 6531 section 3.7.1); anything else gets
501 5.5.2 and the session stays in its state (a MAIL is still refused)."""

import pytest

from rawclient import connect


@pytest.mark.parametrize("arg", [
    "localhost", "x", "client.example.test", "client.example.test.",
    "[127.0.0.1]", "[IPv6:::1]", "xn--bcher-kva.example", "DESKTOP-AB12_X",
])
def test_helo_accepts_domains_and_literals(server, arg):
    c = connect(server)
    assert c.cmd("EHLO " + arg)[0] == 250
    assert c.cmd("HELO " + arg)[0] == 250
    assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
    c.cmd("QUIT")
    c.close()


@pytest.mark.parametrize("arg", [
    b"a..example", b".example", b"-a.example", b"a-.example",
    b"a" * 64 + b".example", (b"a" * 60 + b".") * 5 + b"example",
    b"[1.2.3]", b"[IPv6:zz::]", b"[127.0.0.1", b"a_b<c>", b"a,b",
    b"b\xc3\xbccher.example", b"\xff\xfe",
])
def test_helo_refuses_bad_names(server, arg):
    c = connect(server)
    for verb in (b"EHLO ", b"HELO "):
        code, lines = c.cmd(verb + arg)
        assert code == 501 and lines[0].startswith("5.5.2"), \
            (verb + arg, code, lines)
    # Not greeted: a transaction cannot start.
    assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 503
    assert c.cmd("EHLO good.example")[0] == 250
    c.cmd("QUIT")
    c.close()
