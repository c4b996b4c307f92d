#!/usr/bin/python3
"""idle_wake: how soon an IMAP client in IDLE (RFC 2177) hears of a message
delivered over SMTP. One IMAPS session (with --compress, COMPRESS=DEFLATE,
RFC 4978) idles in INBOX; ROUNDS times an SMTP client delivers a message and
the script times, on a monotonic clock, SMTP "DATA" -> 250 (deliver) and
250 -> "* N EXISTS" on the idling session (wake). Prints p50/p99/max of
each, and the command. A figure, never a pass/fail: the e2e tests
(test_imap_message.py, test_imap_compress.py) check only that the EXISTS
comes. Bounded: at most --rounds (<= 10000) deliveries, 10 s per read.

  /usr/bin/python3 bench/idle_wake.py [--rounds 200] [--compress]
          [--bin build/postel]
"""

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_ROUNDS = 10000


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--compress", action="store_true")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "postel"))
    args = ap.parse_args()
    rounds = max(1, min(args.rounds, MAX_ROUNDS))
    os.environ["POSTEL_BIN"] = os.path.abspath(args.bin)
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    from conftest import finish, launch, simple_message, unique
    from test_imap_compress import ZClient

    user = "alice@example.test"
    srv = launch({"log_level": "warn"})
    try:
        c = ZClient(srv, "imaps")
        r = c.cmd("a1", "LOGIN %s %s" % (user, srv.users[user]))
        assert r[-1].startswith(b"a1 OK"), r
        if args.compress:
            c.compress("a2")
        assert c.cmd("a3", "SELECT INBOX")[-1].startswith(b"a3 OK")
        c.send(b"a4 IDLE\r\n")
        assert c.line().startswith(b"+ ")
        c.sock.settimeout(10)
        smtp = srv.smtp()
        smtp.ehlo()
        deliver, wake = [], []
        for i in range(rounds):
            body = simple_message(unique("wake"))
            smtp.mail("sender@remote.test")
            smtp.rcpt(user)
            t0 = time.monotonic()
            code, _ = smtp.data(body)
            t1 = time.monotonic()
            assert code == 250, code
            line = c.line()
            t2 = time.monotonic()
            assert line == b"* %d EXISTS\r\n" % (i + 1), line
            deliver.append((t1 - t0) * 1e3)
            wake.append((t2 - t1) * 1e3)
        smtp.quit()
        c.send(b"DONE\r\n")
        c.response("a4")
        c.close()
    finally:
        finish(srv)
    print("idle_wake rounds=%d compress=%s bin=%s" %
          (rounds, "yes" if args.compress else "no", args.bin))
    for name, xs in (("deliver (DATA -> 250)", deliver),
                     ("wake (250 -> EXISTS)", wake)):
        print("  %-22s p50 %.2f ms  p99 %.2f ms  max %.2f ms  mean %.2f ms"
              % (name, statistics.median(xs), pct(xs, 99), max(xs),
                 statistics.mean(xs)))
    print("command: /usr/bin/python3 bench/idle_wake.py --rounds %d%s"
          % (rounds, " --compress" if args.compress else ""))


if __name__ == "__main__":
    main()
