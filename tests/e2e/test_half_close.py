"""A client may send its commands and shut down its side of the
connection (a half-close, e.g. `printf ... | nc -N`): every command sent
before gets its reply, also those that wait for the store (SMTP's RCPT
lookup and DATA commit), and then the server closes. An unfinished command
at the end closes without a reply. The mechanism is the connection layer's,
shared by the three protocols."""

import socket
import time

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


def test_pop3_unfinished_command_then_half_close(server):
    out = send_and_half_close(server, "pop3", b"CAPA\r\nNOOP")
    assert out.startswith(b"+OK") and b"\r\n.\r\n" in out, out
    assert out.count(b"+OK") == 2, out  # greeting, CAPA; not the NOOP
