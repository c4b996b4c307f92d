#!/usr/bin/python3
"""RCPT latency while an IMAP SEARCH TEXT reads a large mailbox (fair
work sharing). Usage:

    bench/fair_work.py [POSTEL_BIN...]   (default build/postel)

For each binary and worker_threads in (1, 4): a fresh server, 48 messages
of ~1.2 MB (~60 MB) delivered to alice, then RUNS times: SEARCH TEXT for
a word in no message, and 50 ms later a RCPT on a waiting SMTP session.
Prints the median and max RCPT latency and the median SEARCH time. Uses the
e2e fixtures (tests/e2e/conftest.py) to start the server; every wait is
bounded."""

import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))

import conftest  # noqa: E402
from imapraw import Imap  # noqa: E402
from rawclient import connect  # noqa: E402
from test_fair_work import ALICE, N_MSGS, deliver  # noqa: E402

RUNS = 7


def one(binary, threads):
    conftest.POSTEL_BIN = binary
    srv = conftest.launch({"worker_threads": str(threads),
                           "max_message_size": "4194304"})
    try:
        errors = []
        deliver(srv, N_MSGS, errors)
        assert not errors, errors
        im = Imap(srv, ALICE)
        im.ok("SELECT INBOX")
        smtp = connect(srv, "smtp")
        smtp.ehlo()
        rcpt, search = [], []
        for i in range(RUNS):
            assert smtp.cmd("MAIL FROM:<q@remote.test>")[0] == 250
            t0 = time.monotonic()
            im.c.line("s%d SEARCH TEXT nothing-matches-%d" % (i, i))
            time.sleep(0.05)
            t1 = time.monotonic()
            code, _ = smtp.cmd("RCPT TO:<%s>" % ALICE, timeout=120)
            rcpt.append(time.monotonic() - t1)
            assert code == 250
            while True:
                ln = im.read_response()
                if ln.startswith("s%d " % i):
                    break
            search.append(time.monotonic() - t0)
            assert smtp.cmd("RSET")[0] == 250
        smtp.close()
        im.c.close()
        return rcpt, search
    finally:
        conftest.finish(srv)


def main():
    bins = sys.argv[1:] or [os.path.join(HERE, "..", "build", "postel")]
    for b in bins:
        for threads in (1, 4):
            rcpt, search = one(b, threads)
            print("%-40s worker_threads=%d  RCPT median %6.1f ms  max %6.1f "
                  "ms  SEARCH median %6.1f ms" %
                  (b[-40:], threads, statistics.median(rcpt) * 1000,
                   max(rcpt) * 1000, statistics.median(search) * 1000))


if __name__ == "__main__":
    main()
