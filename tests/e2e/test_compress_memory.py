"""Memory under a decompression bomb (untested before): after IMAP
COMPRESS=DEFLATE (RFC 4978) a client sends 2 MB of deflate data that
inflates to 2 GiB of one overlong line. The server inflates only while the
session's input is under its mark (ARCHITECTURE.md, "compress input
marks"), so its peak resident set, read from /proc/PID/status after
clearing it, grows by a bounded amount; and the connection is still
handled: the overlong line is refused and the next command answered.

ASan's quarantine keeps freed blocks resident (256 MB by default), which
would hide the bound, so the server runs with a small one here."""

import os
import socket
import zlib

import pytest

from conftest import SOCK_TIMEOUT

USER = "bomb@example.test"
SERVER_USERS = {USER: "bomb-Secret-1"}
BOMB_MIB = 2048
SEARCH_MSGS = 4
SEARCH_MSG_LINES = 200000  # ~8.6 MB each
SEARCH_KEYS = 24  # each a pass over every message: a longer job
# Two input marks (256 KB each), the bufferevent's, zlib's window, the
# session's line buffer: a few MB; 64 MB leaves room for allocator slack
# and is far below what inflating without the mark costs (each read of up
# to 256 KB compressed becomes up to 256 MB here).
RSS_GROWTH_MAX_KB = 64 * 1024


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in status" % key)


class Z:
    """A minimal IMAP-over-TLS client able to switch to raw DEFLATE."""

    def __init__(self, server):
        host, port = server.addr("imaps")
        s = socket.create_connection((host, port), timeout=SOCK_TIMEOUT)
        self.sock = server.ssl_context().wrap_socket(
            s, server_hostname="localhost")
        self.buf = b""
        self.comp = self.decomp = None
        # Inflates what we send, as the server does: checks the bomb.
        self.shadow = None

    def send(self, data):
        if self.comp is not None:
            data = (self.comp.compress(data) +
                    self.comp.flush(zlib.Z_SYNC_FLUSH))
            if self.shadow is not None:
                self.shadow.decompress(data)
        self.sock.sendall(data)

    def line(self):
        for _ in range(100000):
            if b"\r\n" in self.buf:
                i = self.buf.index(b"\r\n") + 2
                out, self.buf = self.buf[:i], self.buf[i:]
                return out
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("closed; have %r" % self.buf[-200:])
            if self.decomp is not None:
                data = self.decomp.decompress(data)
            self.buf += data
        raise AssertionError("no line")

    def response(self, tag, limit=1000):
        lines = []
        for _ in range(limit):
            ln = self.line()
            lines.append(ln)
            if ln.startswith(tag.encode() + b" "):
                return lines
        raise AssertionError("no tagged reply: %r" % lines[-5:])


def bomb_blocks(c):
    """(prefix, block): raw deflate data, continuing c's stream, whose
    prefix inflates to 4 MiB of b"a" and then any number of copies of block
    each to 1 MiB more. With a sync flush per MiB, the compressor's output
    repeats once its window is all b"a", so the same bytes can be sent again
    and again (checked against a copy of the inflater of what was sent)."""
    mib = b"a" * (1 << 20)
    outs = [c.comp.compress(mib) + c.comp.flush(zlib.Z_SYNC_FLUSH)
            for _ in range(5)]
    assert outs[3] == outs[4]
    d = c.shadow.copy()
    prefix = b"".join(outs[:4])
    assert d.decompress(prefix) == mib * 4
    assert d.decompress(outs[4] * 3) == mib * 3
    return prefix, outs[4]


@pytest.fixture
def small_quarantine(monkeypatch):
    opts = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS",
                       (opts + ":" if opts else "") +
                       "quarantine_size_mb=8:thread_local_quarantine_size_kb=64")


def test_compress_bomb_memory_bounded(server_factory, small_quarantine):
    srv = server_factory(users=dict(SERVER_USERS))
    pid = srv.proc.pid
    c = Z(srv)
    assert c.line().startswith(b"* OK")
    c.send(b"a1 LOGIN %s %s\r\n" % (USER.encode(),
                                      SERVER_USERS[USER].encode()))
    assert c.response("a1")[-1].startswith(b"a1 OK")
    # Mail for the SEARCH below to read through.
    for i in range(SEARCH_MSGS):
        msg = (b"Subject: search fodder %d\r\n\r\n" % i +
               b"".join(b"line %07d of some text to search through\r\n"
                        % j for j in range(SEARCH_MSG_LINES)))
        c.send(b"p%d APPEND INBOX {%d+}\r\n" % (i, len(msg)) + msg +
               b"\r\n")
        assert c.response("p%d" % i)[-1].startswith(b"p%d OK" % i)
    c.send(b"a2 COMPRESS DEFLATE\r\n")
    assert c.response("a2")[-1].startswith(b"a2 OK")
    c.comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    c.decomp = zlib.decompressobj(wbits=-15)
    c.shadow = zlib.decompressobj(wbits=-15)
    c.send(b"a3 SELECT INBOX\r\n")
    assert c.response("a3")[-1].startswith(b"a3 OK")

    # Reset the peak ("5" clears VmHWM, proc(5)), then the bomb.
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")
    base_kb = status_kb(pid, "VmRSS")
    # A SEARCH job runs first: meanwhile the session takes no input, so
    # only the mark stops inflating what keeps arriving.
    keys = b"BODY never-there-0"
    for k in range(1, SEARCH_KEYS):
        keys = b"OR BODY never-there-%d %s" % (k, keys)
    c.send(b"s1 SEARCH " + keys + b"\r\na4 NOOP ")
    prefix, block = bomb_blocks(c)
    c.shadow = None  # it does not follow the copies sent below
    c.sock.sendall(prefix)
    sent = 4
    batch = block * 64
    while sent < BOMB_MIB:
        c.sock.sendall(batch)
        sent += 64
    c.send(b"\r\na5 NOOP\r\n")
    s1 = c.response("s1")
    r = c.response("a5")
    peak_kb = status_kb(pid, "VmHWM")
    print("compress bomb: %d MiB inflated, VmRSS before %d kB, VmHWM "
          "during %d kB" % (BOMB_MIB, base_kb, peak_kb))
    # Handled: the 2 GiB line refused, the next command answered.
    assert s1[-1].startswith(b"s1 OK"), s1
    assert r[-1].startswith(b"a5 OK"), r[-3:]
    assert any(b" BAD" in l or l.startswith(b"* BAD") for l in r[:-1]), r
    assert peak_kb - base_kb < RSS_GROWTH_MAX_KB, (base_kb, peak_kb)
    c.send(b"a6 LOGOUT\r\n")
    assert c.response("a6")[-1].startswith(b"a6 OK")
    c.sock.close()
    srv.check_alive()
