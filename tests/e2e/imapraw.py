"""A line-level IMAP client for tests that must see exact untagged responses
(VANISHED, MODSEQ, ESEARCH, CLOSED) that imaplib folds away. Literals in
replies are read whole and kept in the line as {N} followed by the bytes."""

import itertools
import re

from rawclient import RawClient

_LIT = re.compile(rb"\{(\d+)\}\r\n$")


class Imap:
    def __init__(self, server, user=None, password=None):
        host, port = server.addr("imaps")
        self.c = RawClient(host, port, tls_ctx=server.ssl_context())
        g = self.c.read_line()
        assert g.startswith(b"* OK"), g
        self.tags = itertools.count(1)
        if user is not None:
            self.ok("LOGIN %s %s" % (user, password or server.users[user]))

    def read_response(self):
        """One response line with any literals inlined, as str."""
        out = b""
        while True:
            ln = self.c.read_line()
            assert ln, "connection closed after %r" % out
            out += ln
            m = _LIT.search(ln)
            if not m:
                return out.decode("utf-8", "replace").rstrip("\r\n")
            n = int(m.group(1))
            while len(self.c.buf) < n:
                self.c._fill(__import__("time").monotonic() + 10)
            out += self.c.buf[:n]
            self.c.buf = self.c.buf[n:]

    def cmd(self, text):
        """(status, untagged lines, tagged line)."""
        tag = "t%d" % next(self.tags)
        self.c.line("%s %s" % (tag, text))
        lines = []
        while True:
            ln = self.read_response()
            if ln.startswith(tag + " "):
                return ln.split(" ", 2)[1], lines, ln
            lines.append(ln)

    def ok(self, text):
        st, lines, tagged = self.cmd(text)
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
