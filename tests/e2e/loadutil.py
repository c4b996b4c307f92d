"""Helpers shared by the load and crash tests: messages that carry their own
Message-ID and a checksum of their body, and a parser that checks them."""

import hashlib
import re
import uuid

MSGID_RE = re.compile(rb"^Message-ID: <([^>]+)>\r$", re.M)
SUM_RE = re.compile(rb"\r\nX-Body-Sum: ([0-9a-f]{64})\r\n$")


def make_message(tag, lines=8):
    """(message-id, message bytes) with a body checksum as its last line."""
    mid = "%s-%s@load.test" % (tag, uuid.uuid4().hex)
    body = b"".join(b"line %d of %s: %s\r\n" % (i, mid.encode(),
                                                 uuid.uuid4().hex.encode())
                    for i in range(lines))
    digest = hashlib.sha256(body).hexdigest().encode()
    msg = (b"From: load@remote.test\r\nTo: rcpt@example.test\r\n"
           b"Subject: load " + mid.encode() + b"\r\n"
           b"Message-ID: <" + mid.encode() + b">\r\n\r\n" +
           body + b"X-Body-Sum: " + digest + b"\r\n")
    return mid, msg


def parse_message(raw):
    """(message-id or None, body-checksum-ok) for a fetched message."""
    m = MSGID_RE.search(raw)
    mid = m.group(1).decode() if m else None
    parts = raw.split(b"\r\n\r\n", 1)
    if len(parts) != 2:
        return mid, False
    body = parts[1]
    s = SUM_RE.search(body)
    if not s:
        return mid, False
    content = body[:s.start() + 2]
    return mid, hashlib.sha256(content).hexdigest().encode() == s.group(1)
