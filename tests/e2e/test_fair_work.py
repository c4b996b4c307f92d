"""Fair work sharing: an SMTP recipient lookup never waits for an
IMAP SEARCH of a large mailbox to finish. With a single worker thread
(worker_threads = 1) a SEARCH that ran as one job would hold the only
worker, so a RCPT sent while it runs would be answered after it; the search
runs in slices and lookups take the urgent lane, so the RCPT is answered
while the SEARCH is still going. The test observes only the order of the
two replies."""

import select
import threading
import time

from conftest import unique
from imapraw import Imap
from rawclient import connect
from waitutil import server_unread

ALICE = "alice@example.test"
N_MSGS = 48
BODY_LINES = 20000   # about 1.2 MB per message, ~60 MB in all


def big_message(token):
    line = b"filler text that no search will match, line %06d\r\n"
    body = b"".join(line % i for i in range(BODY_LINES))
    return (b"From: big@remote.test\r\nTo: alice@example.test\r\n"
            b"Subject: " + token.encode() + b"\r\n\r\n" + body)


def deliver(server, count, errors):
    try:
        c = connect(server, "smtp")
        c.ehlo()
        for _ in range(count):
            assert c.cmd("MAIL FROM:<big@remote.test>")[0] == 250
            assert c.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
            assert c.cmd("DATA")[0] == 354
            c.send(big_message(unique("big")) + b"\r\n.\r\n")
            assert c.reply(timeout=60)[0] == 250
        c.cmd("QUIT")
        c.close()
    except Exception as e:  # reported by the main thread
        errors.append(e)


def test_rcpt_not_behind_search(server_factory):
    srv = server_factory(config={"worker_threads": "1",
                                 "max_message_size": "4194304"})
    errors = []
    threads = [threading.Thread(target=deliver,
                                args=(srv, N_MSGS // 4, errors))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors

    im = Imap(srv, ALICE)
    lines = im.ok("SELECT INBOX")
    assert any(l.startswith("* %d EXISTS" % N_MSGS) for l in lines), lines

    smtp = connect(srv, "smtp")
    smtp.ehlo()
    assert smtp.cmd("MAIL FROM:<quick@remote.test>")[0] == 250

    # The SEARCH reads every message file (TEXT); then, while it runs,
    # a recipient lookup is asked for.
    im.c.line("s1 SEARCH TEXT needle-%s" % unique("n"))
    # The server has read the SEARCH (so it is dispatched) before the RCPT.
    server_unread(srv, "imaps", im.c.sock)
    smtp.line("RCPT TO:<%s>" % ALICE)

    order = []
    socks = {im.c.sock: "imap", smtp.sock: "smtp"}
    deadline = time.monotonic() + 120
    imap_buf = b""
    while len(order) < 2 and time.monotonic() < deadline:
        # TLS may hold decrypted bytes that select() cannot see.
        ready = [s for s in socks if getattr(s, "pending", lambda: 0)()]
        if not ready:
            ready, _, _ = select.select(list(socks), [], [], 1.0)
        for s in ready:
            name = socks[s]
            if name == "smtp":
                code, _ = smtp.reply()
                assert code == 250
                order.append("smtp")
                del socks[s]
            else:
                imap_buf += s.recv(65536)
                if b"\r\ns1 " in b"\r\n" + imap_buf:
                    assert b"s1 OK" in imap_buf, imap_buf
                    order.append("imap")
                    del socks[s]
    assert order == ["smtp", "imap"], order
    smtp.cmd("QUIT")
    smtp.close()
    im.c.close()
