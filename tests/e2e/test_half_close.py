"""A client may send its commands and shut down its side of the
connection (a half-close, e.g. `printf ... | nc -N`): every command sent
before gets its reply, also those that wait for the store (SMTP's RCPT
lookup and DATA commit), and then the server closes. An unfinished command
at the end closes without a reply. The mechanism is the connection layer's,
shared by the three protocols."""

import re
import socket
import ssl
import time

import pytest

from conftest import simple_message, unique

USERS = {"hc@example.test": "half-Secret-1"}
SERVER_USERS = USERS


def send_and_half_close(server, proto, data):
    """Sends data, shuts down writing, returns everything read until the
    server closes (bounded: 20 s)."""
    host, port = server.addr(proto)
    s = socket.create_connection((host, port), timeout=20)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    out, deadline = b"", time.monotonic() + 20
    while time.monotonic() < deadline:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out


def tls_send_and_half_close(server, proto, data, notify=True):
    """The same over implicit TLS: the commands, then TLS close_notify
    (RFC 8446 section 6.1) and a TCP half-close, then everything the server
    sends until it closes (bounded: 15 s). A memory-BIO TLS object keeps
    the socket's two directions apart."""
    host, port = server.addr(proto)
    s = socket.create_connection((host, port), timeout=15)
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = server.ssl_context().wrap_bio(inc, outg,
                                        server_hostname="localhost")
    deadline = time.monotonic() + 15

    def pump_in():
        d = s.recv(65536)
        if d:
            inc.write(d)
        else:
            inc.write_eof()
        return d

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            s.sendall(outg.read())
            assert time.monotonic() < deadline and pump_in(), "handshake"
    s.sendall(outg.read())
    tls.write(data)
    if notify:
        try:
            tls.unwrap()        # queues our close_notify
        except ssl.SSLWantReadError:
            pass
    s.sendall(outg.read())
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:             # the server may be done and gone already
        pass
    out = b""
    while time.monotonic() < deadline:
        try:
            out += tls.read(65536)
            continue
        except ssl.SSLWantReadError:
            pass
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ssl.SSLError):
            break
        if not pump_in():
            try:
                out += tls.read(65536)
            except ssl.SSLError:
                pass
            break
    s.close()
    return out


# Over TLS, libevent stops writing at the end of the client's stream and
# re-arms only when output is added to an empty buffer: before the fix in
# conn_event_cb, a reply queued behind a second job was never sent and the
# session hung (found by these tests).
BIG_LINES = 60000   # ~3.5 MB: FETCH and SEARCH over it are worker jobs


def big_message(tok):
    return simple_message(tok, body="".join(
        "line %06d of a message big enough to keep a worker busy\r\n" % i
        for i in range(BIG_LINES)))


def test_smtp_pipelined_then_half_close(server):
    tok = unique("hc")
    body = simple_message(tok).replace(b"\r\n.", b"\r\n..")
    out = send_and_half_close(
        server, "smtp",
        b"EHLO client.test\r\nMAIL FROM:<s@remote.test>\r\n"
        b"RCPT TO:<hc@example.test>\r\nDATA\r\n" + body + b"\r\n.\r\nQUIT\r\n")
    assert b"250 2.0.0 Ok: queued as" in out, out
    assert out.endswith(b"221 2.0.0 Bye\r\n"), out
    got = server.wait_messages("hc@example.test", 1)
    assert sum(tok.encode() in m for m in got) == 1


def test_imap_half_close_answers_then_closes(server):
    out = send_and_half_close(
        server, "imap", b"a CAPABILITY\r\nb NOOP\r\nc LOGOUT\r\n")
    for tag in (b"a", b"b", b"c"):
        assert b"\r\n" + tag + b" OK" in out, (tag, out)
    assert b"* BYE" in out


def test_smtp_tls_half_close_after_jobs(server):
    """submissions: AUTH (a hash job), RCPT (a lookup job) and DATA (a
    commit) pipelined, then the half-close: every reply, then the close."""
    import base64
    user = "hc@example.test"
    tok = unique("hctls")
    cred = base64.b64encode(b"\0" + user.encode() + b"\0" +
                            USERS[user].encode())
    out = tls_send_and_half_close(
        server, "submissions",
        b"EHLO c.test\r\nAUTH PLAIN " + cred + b"\r\n"
        b"MAIL FROM:<hc@example.test>\r\nRCPT TO:<hc@example.test>\r\n"
        b"DATA\r\n" + simple_message(tok).replace(
            b"From: sender@remote.test", b"From: hc@example.test") +
        b".\r\nQUIT\r\n")
    assert b"235 2.7.0" in out, out
    assert b"250 2.0.0 Ok: queued as" in out, out
    assert out.endswith(b"221 2.0.0 Bye\r\n"), out
    got = server.wait_messages(user, 1, tok.encode())
    assert len(got) == 1


def test_imap_half_close_during_fetch_and_search(server):
    """The half-close reaches the server while FETCH and SEARCH jobs run
    on the workers: every command still gets its reply, in order."""
    user = "hc@example.test"
    tok = unique("hcbig")
    big = big_message(tok)
    server.send(user, big)
    m = server.imaps(user)
    m.select("INBOX")
    typ, data = m.search(None, "SUBJECT", tok)
    n = int(data[0].split()[-1])
    m.logout()
    out = tls_send_and_half_close(
        server, "imaps",
        b"a LOGIN %s %s\r\nb SELECT INBOX\r\n"
        b"c FETCH %d BODY.PEEK[]\r\nd SEARCH TEXT no-such-word-anywhere\r\n"
        b"e UID SEARCH BODY \"line 059999\"\r\nf LOGOUT\r\n"
        % (user.encode(), USERS[user].encode(), n))
    pos = 0
    for tag in (b"a", b"b", b"c", b"d", b"e", b"f"):
        i = out.find(b"\r\n" + tag + b" OK", pos)
        assert i >= 0, (tag, out[:300], out[-300:])
        pos = i + 1
    lit = re.search(rb"\* %d FETCH \(BODY\[\] \{(\d+)\}\r\n" % n, out)
    assert lit, out[:300]
    start = lit.end()
    body = out[start:start + int(lit.group(1))]
    assert body.endswith(big[-200:]) and tok.encode() in body, len(body)
    assert b"* SEARCH\r\n" in out, out[-400:]
    assert re.search(rb"\* SEARCH \d+\r\n", out), out[-400:]
    assert b"* BYE" in out


def test_pop3_half_close_during_retr_and_quit(server):
    """RETR of a big message and QUIT's deletion (a store commit) both
    still answered after the client's half-close; the DELE took effect."""
    user = "hc@example.test"
    tok = unique("hcpop")
    server.send(user, big_message(tok))
    p = server.pop3s(user)
    count = p.stat()[0]
    p.quit()
    out = tls_send_and_half_close(
        server, "pop3s",
        b"USER %s\r\nPASS %s\r\nSTAT\r\nRETR %d\r\nDELE %d\r\nQUIT\r\n"
        % (user.encode(), USERS[user].encode(), count, count))
    assert out.startswith(b"+OK"), out[:200]
    # greeting, USER, PASS, STAT, RETR, DELE, QUIT
    assert out.count(b"\r\n+OK") + 1 == 7, (out[:300], out[-300:])
    assert tok.encode() in out
    assert out.endswith(b"\r\n"), out[-100:]
    p = server.pop3s(user)
    try:
        assert p.stat()[0] == count - 1
        for i in range(1, count):
            assert tok.encode() not in b"\r\n".join(p.retr(i)[1])
    finally:
        p.quit()


def test_pop3_unfinished_command_then_half_close(server):
    out = send_and_half_close(server, "pop3", b"CAPA\r\nNOOP")
    assert out.startswith(b"+OK") and b"\r\n.\r\n" in out, out
    assert out.count(b"+OK") == 2, out  # greeting, CAPA; not the NOOP
