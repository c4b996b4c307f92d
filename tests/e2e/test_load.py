"""Many parallel senders: every accepted message is delivered exactly once,
and still there after a restart."""

import collections
import smtplib
import threading
import time

from loadutil import make_message, parse_message

SENDERS = 50
PER_SENDER = 4
RCPTS = ["alice@example.test", "bob@example.test"]
DEADLINE = 60.0


def by_id(srv, user):
    ids = collections.Counter()
    bad = []
    for raw in srv.fetch_all(user):
        mid, ok = parse_message(raw)
        ids[mid] += 1
        if not ok:
            bad.append(mid)
    return ids, bad


def test_parallel_senders(server_factory):
    srv = server_factory()
    host, port = srv.addr("smtp")
    sent = {u: [] for u in RCPTS}
    errors = []
    lock = threading.Lock()

    def sender(n):
        try:
            s = smtplib.SMTP(host, port, timeout=30,
                             local_hostname="sender%d.test" % n)
            s.ehlo()
            for i in range(PER_SENDER):
                rcpt = RCPTS[(n + i) % len(RCPTS)]
                mid, msg = make_message("s%d-%d" % (n, i))
                s.sendmail("load%d@remote.test" % n, [rcpt], msg)
                with lock:
                    sent[rcpt].append(mid)
            s.quit()
        except Exception as e:          # reported below, not swallowed
            with lock:
                errors.append("sender %d: %r" % (n, e))

    threads = [threading.Thread(target=sender, args=(n,), daemon=True)
               for n in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    assert not any(t.is_alive() for t in threads), "senders hung"
    assert not errors, errors
    assert sum(len(v) for v in sent.values()) == SENDERS * PER_SENDER

    for attempt in ("before restart", "after restart"):
        for user in RCPTS:
            # Delivery may trail the 250 a little: poll, bounded.
            deadline = time.monotonic() + 20
            while True:
                ids, bad = by_id(srv, user)
                if (sum(ids.values()) >= len(sent[user])
                        or time.monotonic() > deadline):
                    break
                time.sleep(0.2)
            assert not bad, (attempt, user, bad)
            missing = [m for m in sent[user] if ids[m] == 0]
            dups = [m for m, c in ids.items() if c > 1]
            assert not missing, (attempt, user, len(missing), missing[:5])
            assert not dups, (attempt, user, dups[:5])
            assert sum(ids.values()) == len(sent[user]), (attempt, user)
        if attempt == "before restart":
            srv.restart()
