"""kill -9 in the middle of a sending load, then restart on the same data:
every message that got 250 is there exactly once; anything else present is
complete (its body checksum matches)."""

import collections
import smtplib
import threading
import time

from loadutil import make_message, parse_message

USER = "alice@example.test"
SENDERS = 8
MAX_PER_SENDER = 60
KILL_AFTER_ACKS = 40
MAX_WAIT = 20.0


def test_kill9_during_load(server_factory):
    srv = server_factory()
    host, port = srv.addr("smtp")
    acked, attempted = set(), set()
    lock = threading.Lock()
    stop = threading.Event()
    killed = threading.Event()      # set just before the SIGKILL
    errors = []                     # (sender, error) before the kill

    def sender(n):
        try:
            s = smtplib.SMTP(host, port, timeout=10,
                             local_hostname="crash%d.test" % n)
            s.ehlo()
            for i in range(MAX_PER_SENDER):
                if stop.is_set():
                    break
                mid, msg = make_message("c%d-%d" % (n, i), lines=20)
                with lock:
                    attempted.add(mid)
                s.sendmail("crash@remote.test", [USER], msg)
                with lock:
                    acked.add(mid)
        except Exception as e:
            # Only a failure the kill explains is expected: a connection
            # error after the kill was decided. Anything before it (a
            # refused or temporarily failed message, a bad reply) is a
            # bug, as is any other kind of error at any time.
            expected = (killed.is_set() and
                        isinstance(e, (OSError, smtplib.SMTPException)))
            if not expected:
                with lock:
                    errors.append((n, repr(e)))

    threads = [threading.Thread(target=sender, args=(n,), daemon=True)
               for n in range(SENDERS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + MAX_WAIT
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= KILL_AFTER_ACKS:
                break
        time.sleep(0.01)
    killed.set()
    srv.kill9()
    stop.set()
    for t in threads:
        t.join(15)
    assert not any(t.is_alive() for t in threads), "senders hung"
    with lock:
        acked_now = set(acked)
        assert not errors, "senders failed before the kill: %s" % errors
    assert acked_now, "no message was accepted before the kill"

    srv.start()
    srv.wait_messages(USER, len(acked_now), timeout=20)
    ids = collections.Counter()
    for raw in srv.fetch_all(USER):
        mid, ok = parse_message(raw)
        assert ok, "incomplete or corrupt message %s" % mid
        assert mid in attempted, "unknown message %s" % mid
        ids[mid] += 1
    missing = acked_now - set(ids)
    dups = [m for m, c in ids.items() if c > 1]
    assert not missing, "%d acknowledged messages lost, e.g. %s" % (
        len(missing), sorted(missing)[:3])
    assert not dups, "duplicates: %s" % dups[:5]

    # The server keeps working after recovery.
    mid, msg = make_message("after")
    s = smtplib.SMTP(host, port, timeout=10, local_hostname="after.test")
    s.sendmail("a@remote.test", [USER], msg)
    s.quit()
    assert srv.wait_messages(USER, 1, mid.encode())
