"""IMAP COMPRESS=DEFLATE (RFC 4978): the whole session after COMPRESS runs
through raw DEFLATE (Python's zlib with wbits=-15) over STARTTLS and over
implicit TLS: SELECT, a large FETCH back byte for byte, IDLE woken by an SMTP
delivery, LOGOUT; a second COMPRESS is refused; corrupt deflate data and a
decompression bomb are survived."""

import os
import random
import socket
import time
import zlib

import pytest

from conftest import simple_message, unique
from rawclient import recv_some

USERS = {"z%d@example.test" % i: "zip-Secret-%d" % i for i in range(1, 9)}
SERVER_USERS = USERS


class ZClient:
    """A line-oriented IMAP client that can switch to raw DEFLATE."""

    def __init__(self, server, proto):
        host, port = server.addr("imaps" if proto == "imaps" else "imap")
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buf = b""
        self.comp = self.decomp = None
        self.wire_in = self.wire_out = 0
        if proto == "imaps":
            self.sock = server.ssl_context().wrap_socket(
                self.sock, server_hostname="localhost")
        assert self.line().startswith(b"* OK")
        if proto == "starttls":
            assert self.cmd("t0", "STARTTLS")[-1].startswith(b"t0 OK")
            assert self.buf == b""
            self.sock = server.ssl_context().wrap_socket(
                self.sock, server_hostname="localhost")

    def send(self, data):
        if self.comp is not None:
            data = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        self.wire_out += len(data)
        self.sock.sendall(data)

    def _fill(self):
        data = recv_some(self.sock)
        if not data:
            raise EOFError("server closed; have %r" % self.buf[-200:])
        self.wire_in += len(data)
        if self.decomp is not None:
            data = self.decomp.decompress(data)
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, tag):
        """Lines up to the tagged one; a literal is appended to its line."""
        lines = []
        while True:
            l = self.line()
            if l.endswith(b"}\r\n") and b"{" in l:
                n = int(l[l.rindex(b"{") + 1:-3])
                l = l + self.read(n) + self.line()
            lines.append(l)
            if l.startswith(tag.encode() + b" "):
                return lines

    def cmd(self, tag, text):
        self.send(("%s %s\r\n" % (tag, text)).encode())
        return self.response(tag)

    def compress(self, tag="z1"):
        r = self.cmd(tag, "COMPRESS DEFLATE")
        assert r[-1] == tag.encode() + b" OK DEFLATE active\r\n", r
        # RFC 4978 §3: nothing follows the OK uncompressed.
        assert self.buf == b""
        self.comp = zlib.compressobj(wbits=-15)
        self.decomp = zlib.decompressobj(wbits=-15)

    def closed(self, timeout=10):
        self.sock.settimeout(timeout)
        try:
            while True:
                self.buf = b""
                self._fill()
        except (EOFError, OSError, zlib.error):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def login(c, user):
    r = c.cmd("a1", "LOGIN %s %s" % (user, USERS[user]))
    assert r[-1].startswith(b"a1 OK"), r
    return r


def big_body(nbytes):
    """Text lines, partly random (so not everything compresses away)."""
    rnd = random.Random(4978)
    lines, size = [], 0
    words = ["mail", "deflate", "postel", "window", "block", "IMAP"]
    while size < nbytes:
        if rnd.random() < 0.3:
            l = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789+/")
                        for _ in range(76))
        else:
            l = " ".join(rnd.choice(words) for _ in range(12))
        lines.append(l)
        size += len(l) + 2
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("proto,n", [("starttls", 1), ("imaps", 2)])
def test_compressed_session(server, proto, n):
    user = "z%d@example.test" % n
    body = big_body(1500 * 1024)
    tok = unique("big")
    server.send(user, simple_message(tok, body=body))
    assert server.wait_messages(user, 1, match=tok.encode())
    c = ZClient(server, proto)
    caps = login(c, user)[-1]
    assert b"COMPRESS=DEFLATE" in caps
    r = c.cmd("a2", "COMPRESS FOO")
    assert r[-1].startswith(b"a2 BAD"), r
    c.compress("a3")

    r = c.cmd("a4", "CAPABILITY")
    assert r[-1].startswith(b"a4 OK")
    assert b"IMAP4rev2" in r[0] and b"COMPRESS=DEFLATE" not in r[0]
    r = c.cmd("a5", "COMPRESS DEFLATE")
    assert r[-1].startswith(b"a5 NO [COMPRESSIONACTIVE]"), r
    r = c.cmd("a6", "SELECT INBOX")
    assert r[-1].startswith(b"a6 OK") and b"* 1 EXISTS\r\n" in r
    in_before = c.wire_in
    r = c.cmd("a7", "FETCH 1 (BODY.PEEK[TEXT])")
    assert r[-1].startswith(b"a7 OK"), r[-1]
    head = r[0]
    assert b"BODY[TEXT] {%d}\r\n" % len(body) in head
    got = head[head.index(b"}\r\n") + 3:head.index(b"}\r\n") + 3 + len(body)]
    assert got == body.encode()
    # The wire really carried less than the text.
    assert c.wire_in - in_before < len(body) * 0.8

    r = c.cmd("a8", "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert tok.encode() in b"".join(r)

    c.send(b"a9 IDLE\r\n")
    assert c.line().startswith(b"+ ")
    # How soon the EXISTS comes is measured by bench/idle_wake.py
    # (--compress).
    server.send(user, simple_message(unique("idle")))
    line = c.line()
    assert line == b"* 2 EXISTS\r\n", line
    c.send(b"DONE\r\n")
    r = c.response("a9")
    assert r[-1].startswith(b"a9 OK"), r

    r = c.cmd("b1", "LOGOUT")
    assert r[0].startswith(b"* BYE") and r[-1].startswith(b"b1 OK"), r
    assert c.closed()
    c.close()
    server.check_alive()


def test_compress_needs_login(server):
    c = ZClient(server, "imaps")
    r = c.cmd("a1", "COMPRESS DEFLATE")
    assert r[-1].startswith(b"a1 BAD"), r
    r = c.cmd("a2", "CAPABILITY")
    assert b"COMPRESS=DEFLATE" not in r[0]
    c.close()


def test_compress_pipelined_command(server):
    """Bytes the client sent right after COMPRESS are already deflated."""
    user = "z3@example.test"
    c = ZClient(server, "imaps")
    login(c, user)
    comp = zlib.compressobj(wbits=-15)
    c.sock.sendall(b"a2 COMPRESS DEFLATE\r\n" +
                   comp.compress(b"a3 NOOP\r\n") + comp.flush(zlib.Z_SYNC_FLUSH))
    assert c.line() == b"a2 OK DEFLATE active\r\n"
    c.decomp = zlib.decompressobj(wbits=-15)
    c.comp = comp
    # The reply to a3 may have come in the same read as the OK.
    c.buf = c.decomp.decompress(c.buf)
    r = c.response("a3")
    assert r[-1].startswith(b"a3 OK"), r
    r = c.cmd("a4", "NOOP")
    assert r[-1].startswith(b"a4 OK"), r
    c.close()


def test_compress_garbage_closes(server):
    user = "z4@example.test"
    for junk in (bytes(range(256)) * 8, os.urandom(4096), b"\xff" * 64):
        c = ZClient(server, "imaps")
        login(c, user)
        c.compress()
        c.comp = None  # raw bytes from here on
        try:
            c.sock.sendall(junk)
        except OSError:
            pass
        assert c.closed()
        c.close()
    server.check_alive()
    # The server still serves compressed sessions.
    c = ZClient(server, "imaps")
    login(c, user)
    c.compress()
    assert c.cmd("a2", "NOOP")[-1].startswith(b"a2 OK")
    c.close()


def test_compress_bomb_bounded(server):
    """64 MiB of one byte deflate to ~64 KiB: the server inflates only as
    fast as the session consumes, refuses the overlong line and goes on."""
    user = "z5@example.test"
    c = ZClient(server, "imaps")
    login(c, user)
    c.compress()
    chunk = b"a" * (1024 * 1024)
    for _ in range(64):
        c.sock.sendall(c.comp.compress(chunk))
    c.send(b"\r\na2 NOOP\r\n")
    r = c.response("a2")
    assert r[-1].startswith(b"a2 OK"), r
    assert any(b"BAD" in l for l in r[:-1]), r
    c.close()
    server.check_alive()


def test_compress_append_large(server):
    """A large APPEND literal flows in compressed (inflated in bounded
    steps as the session consumes it) and comes back intact."""
    user = "z6@example.test"
    msg = simple_message(unique("app"), body=big_body(3 * 1024 * 1024))
    c = ZClient(server, "imaps")
    login(c, user)
    c.compress()
    c.send(b"a2 APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    r = c.response("a2")
    assert r[-1].startswith(b"a2 OK"), r
    r = c.cmd("a3", "EXAMINE INBOX")
    assert r[-1].startswith(b"a3 OK")
    r = c.cmd("a4", "FETCH 1 BODY.PEEK[]")
    assert r[-1].startswith(b"a4 OK"), r[-1]
    assert msg in r[0]
    r = c.cmd("a5", "LOGOUT")
    assert r[-1].startswith(b"a5 OK")
    c.close()
