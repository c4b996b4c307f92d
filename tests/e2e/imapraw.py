"""A line-level IMAP client for tests that must see exact untagged responses
(VANISHED, MODSEQ, ESEARCH, CLOSED) that imaplib folds away. Literals in
replies are read whole and kept in the line as {N} followed by the bytes."""

import itertools
import re

from conftest import simple_message, unique
from rawclient import RawClient

_LIT = re.compile(rb"\{(\d+)\}\r\n$")


class Imap:
    """binary=True: replies (lines, tagged line) are bytes, exactly as
    sent minus the final CRLF, for tests that compare message bytes."""

    def __init__(self, server, user=None, password=None, binary=False):
        host, port = server.addr("imaps")
        self.c = RawClient(host, port, tls_ctx=server.ssl_context())
        self.binary = binary
        g = self.c.read_line()
        assert g.startswith(b"* OK"), g
        self.tags = itertools.count(1)
        if user is not None:
            self.ok("LOGIN %s %s" % (user, password or server.users[user]))

    def _read_raw(self):
        """One response line with any literals inlined, CRLF included."""
        out = b""
        while True:
            ln = self.c.read_line()
            assert ln, "connection closed after %r" % out
            out += ln
            m = _LIT.search(ln)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.c.buf) < n:
                self.c._fill(__import__("time").monotonic() + 10)
            out += self.c.buf[:n]
            self.c.buf = self.c.buf[n:]

    def read_response(self):
        """One response line with any literals inlined: str, or bytes in
        binary mode."""
        out = self._read_raw()
        if self.binary:
            return out[:-2]
        return out.decode("utf-8", "replace").rstrip("\r\n")

    def cmd(self, text, literal=None):
        """(status, untagged lines, tagged line). text is str or bytes;
        a literal is sent as a non-synchronising one (RFC 7888) after it."""
        tag = "t%d" % next(self.tags)
        data = text.encode() if isinstance(text, str) else text
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.c.line(tag.encode() + b" " + data)
        prefix = tag + " " if not self.binary else tag.encode() + b" "
        lines = []
        while True:
            ln = self.read_response()
            if ln.startswith(prefix):
                st = ln.split(prefix[-1:], 2)[1]
                return (st.decode() if self.binary else st), lines, ln
            lines.append(ln)

    def ok(self, text, literal=None):
        st, lines, tagged = self.cmd(text, literal)
        assert st == "OK", (text, lines, tagged)
        return lines

    def close(self):
        try:
            self.cmd("LOGOUT")
        except Exception:
            pass
        self.c.close()


def starting(lines, prefix):
    return [l for l in lines if l.startswith(prefix)]


def code_value(lines, code):
    """The value of an untagged OK [CODE value] response."""
    for l in lines:
        m = re.match(r"\* OK \[%s ([^\]]*)\]" % code, l)
        if m:
            return m.group(1)
    return None


def fill_box(server, user, count, tag):
    """Delivers count messages (subjects unique tag0, tag1, ...) to user
    and waits until they are stored; returns user."""
    for i in range(count):
        server.send(user, simple_message(unique("%s%d" % (tag, i))))
    server.wait_messages(user, count)
    return user
