"""A raw-bytes client for hostile-input tests: exact bytes out, reply lines in,
timeouts on every read, optional TLS upgrade in place.

Unlike smtplib/poplib it never fixes anything up, so a test controls every
byte on the wire (bare LF, NUL, pipelining, data sent before a handshake).
"""

import socket
import ssl
import time

DEFAULT_TIMEOUT = 10.0
MAX_REPLY_LINES = 200


class Closed(Exception):
    """The peer closed the connection while a reply was expected."""


def recv_some(sock):
    """Up to 64 KiB from sock; b"" when the peer closed or reset (TLS
    close_notify or not)."""
    try:
        return sock.recv(65536)
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError):
        return b""


class RawClient:
    def __init__(self, host, port, timeout=DEFAULT_TIMEOUT, tls_ctx=None,
                 server_hostname="localhost"):
        self.timeout = timeout
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b""
        self.eof = False
        if tls_ctx is not None:
            self.sock = tls_ctx.wrap_socket(self.sock,
                                            server_hostname=server_hostname)

    # -- output --------------------------------------------------------------
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self, text):
        """Sends text + CRLF."""
        if isinstance(text, str):
            text = text.encode()
        self.send(text + b"\r\n")

    # -- input ---------------------------------------------------------------
    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("read timed out")
        self.sock.settimeout(remaining)
        data = recv_some(self.sock)
        if not data:
            self.eof = True
        self.buf += data
        return data

    def read_line(self, timeout=None):
        """One line including its LF; b"" at EOF. Raises socket.timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\n" not in self.buf:
            if self.eof or not self._fill(deadline):
                out, self.buf = self.buf, b""
                return out
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def closed(self, timeout=5.0):
        """True when the peer closes within timeout (data before the close
        is discarded)."""
        deadline = time.monotonic() + timeout
        try:
            while not self.eof:
                self.buf = b""
                self._fill(deadline)
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True
        return True

    def pending(self, wait=0.3):
        """Whatever the server sends within `wait` seconds (may be b"")."""
        deadline = time.monotonic() + wait
        try:
            while not self.eof:
                self._fill(deadline)
        except (socket.timeout, TimeoutError):
            pass
        out, self.buf = self.buf, b""
        return out

    # -- SMTP ----------------------------------------------------------------
    def reply(self, timeout=None):
        """One SMTP reply: (code, [text lines]); raises Closed at EOF."""
        lines = []
        for _ in range(MAX_REPLY_LINES):
            raw = self.read_line(timeout)
            if not raw:
                raise Closed("EOF; reply so far %r" % lines)
            text = raw.rstrip(b"\r\n").decode("utf-8", "replace")
            lines.append(text[4:])
            if len(text) < 4 or text[3] != "-":
                code = int(text[:3]) if text[:3].isdigit() else -1
                return code, lines
        raise AssertionError("reply longer than %d lines" % MAX_REPLY_LINES)

    def cmd(self, text, timeout=None):
        self.line(text)
        return self.reply(timeout)

    def starttls(self, ctx, server_hostname="localhost"):
        """Upgrades the socket in place. Anything the server had sent
        before the handshake (it should be nothing) is returned."""
        leftover, self.buf = self.buf, b""
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        return leftover

    def ehlo(self, name="client.test"):
        code, lines = self.cmd("EHLO " + name)
        assert code == 250, (code, lines)
        return [l.upper() for l in lines[1:]]

    # -- POP3 ----------------------------------------------------------------
    def pop_line(self, timeout=None):
        raw = self.read_line(timeout)
        if not raw:
            raise Closed("EOF waiting for POP3 status")
        return raw.rstrip(b"\r\n").decode("utf-8", "replace")

    def pop_cmd(self, text, timeout=None):
        self.line(text)
        return self.pop_line(timeout)

    def pop_multi(self, timeout=None, max_lines=1000000):
        """The body of a multi-line POP3 response, dot-unstuffed, line ends
        kept exactly as received (RFC 1939 section 3)."""
        out = []
        for _ in range(max_lines):
            ln = self.read_line(timeout)
            if not ln:
                raise Closed("EOF inside multi-line response")
            if ln == b".\r\n":
                return b"".join(out)
            out.append(ln[1:] if ln.startswith(b".") else ln)
        raise AssertionError("multi-line response over %d lines" % max_lines)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def raw_from(server, proto, src="127.0.0.1", timeout=DEFAULT_TIMEOUT):
    """A RawClient to server's proto port from loopback address src (TLS
    already on the implicit-TLS ports)."""
    host, port = server.addr(proto)
    c = RawClient.__new__(RawClient)
    c.timeout = timeout
    c.buf = b""
    c.eof = False
    c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.sock.settimeout(timeout)
    c.sock.bind((src, 0))
    c.sock.connect((host, port))
    if proto in ("imaps", "pop3s", "submissions"):
        c.sock = server.ssl_context().wrap_socket(
            c.sock, server_hostname="localhost")
    return c


def connect(server, proto="smtp", greet=True, **kw):
    """A RawClient to server's proto port (TLS already for the implicit-TLS
    ports), greeting read and checked."""
    host, port = server.addr(proto)
    ctx = server.ssl_context() if proto in ("submissions", "pop3s") else None
    c = RawClient(host, port, tls_ctx=ctx, **kw)
    if greet:
        if proto.startswith("pop3"):
            g = c.pop_line()
            assert g.startswith("+OK"), g
        else:
            code, lines = c.reply()
            assert code == 220, (code, lines)
    return c


def dot_stuff(text):
    """Dot-stuffs CRLF text for DATA (RFC 5321 section 4.5.2)."""
    out = []
    for ln in text.split(b"\r\n"):
        out.append(b"." + ln if ln.startswith(b".") else ln)
    return b"\r\n".join(out)


def pop3_fetch_raw(server, user, password=None):
    """Every message of user over POP3S exactly as sent on the wire (after
    dot-unstuffing), so bare CR/LF or long lines are visible."""
    c = connect(server, "pop3s")
    try:
        r = c.pop_cmd("USER " + user)
        assert r.startswith("+OK"), r
        r = c.pop_cmd("PASS " + (password or server.users[user]))
        assert r.startswith("+OK"), r
        r = c.pop_cmd("STAT")
        assert r.startswith("+OK"), r
        msgs = []
        for i in range(1, int(r.split()[1]) + 1):
            r = c.pop_cmd("RETR %d" % i)
            assert r.startswith("+OK"), r
            msgs.append(c.pop_multi())
        c.pop_cmd("QUIT")
        return msgs
    finally:
        c.close()


def strip_received(msg):
    """The message without the header fields the server adds on top: the
    Return-Path and Delivered-To lines of final delivery, its Received: and,
    on port 25, its Authentication-Results: (RFC 8601)."""
    lines = msg.split(b"\r\n")
    i = 0
    while i < len(lines) and lines[i].startswith((b"Return-Path: ",
                                                  b"Delivered-To: ")):
        i += 1
    while i < len(lines) and lines[i].startswith(
            (b"Received:", b"Authentication-Results:")):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\r\n".join(lines[i:])
