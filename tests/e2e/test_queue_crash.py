"""Durability of the queue: a `kill -9` while transactions are in flight
loses nothing (after the restart every message is delivered; only a
transaction in flight at the crash may arrive twice, docs/ARCHITECTURE.md
"Outbound queue"), and a restart with a large queue delivers each message
exactly once."""

import os
import shutil
import subprocess
import tempfile
import threading
import time

from conftest import unique
from queueutil import (ALICE, message, mx_zone, new_ip, outbound_config,
                       peer_tokens, peers_fixture, queue_cli, submit,
                       wait_for)

peer_factory = peers_fixture()
RESTART_MSGS = int(os.environ.get("POSTEL_QUEUE_RESTART_MSGS", "10000"))


def test_kill9_while_delivering(dns_server, server_factory, peer_factory):
    peer = peer_factory(delays={"DATA_END": 3})
    dns = dns_server(mx_zone("peer.test", peer.host))
    srv = server_factory(config=outbound_config(dns))
    tokens = [unique("k9") for _ in range(8)]
    for t in tokens:
        submit(srv, ["k@peer.test"], message(t))

    def in_flight():
        with peer.lock:
            return [s for s in peer.sessions
                    if not s.closed and s.verbs()[-1:] == ["DATA"]]
    cut = len(wait_for(in_flight, what="a transaction at its end of data"))
    srv.kill9()
    peer.cfg.delays = {}
    srv.start()
    # The leases the killed process held are freed at once, not in an
    # hour.
    assert srv.wait_log(lambda l: "event=queue_leases freed=" in l)
    wait_for(lambda: all(t in peer_tokens(peer) for t in tokens),
             timeout=40, what="every message after the restart")
    counts = [peer_tokens(peer).count(t) for t in tokens]
    assert all(1 <= c <= 2 for c in counts), counts
    # A duplicate only for a transaction that was in flight at the crash.
    assert sum(c - 1 for c in counts) <= cut, (counts, cut)
    wait_for(lambda: queue_cli(srv, "list").stdout.count("k@peer.test")
             == 0, what="the queue to empty")


def submit_many(srv, n, rcpt, prefix, threads=8):
    """n messages over `threads` authenticated connections; returns the
    tokens."""
    tokens = ["%s-%06d" % (prefix, i) for i in range(n)]
    errors = []

    def worker(part):
        s = srv.smtp_auth("submission")
        try:
            for t in part:
                s.sendmail(ALICE, [rcpt], message(t))
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            try:
                s.quit()
            except Exception:
                pass
    ts = [threading.Thread(target=worker, args=(tokens[i::threads],))
          for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(600)
    assert not errors, errors[:3]
    return tokens


class Sink:
    """Postfix's smtp-sink on ip:25, each message dumped to a file."""

    def __init__(self, ip):
        self.dir = tempfile.mkdtemp(prefix="sink-")
        os.chmod(self.dir, 0o777)
        argv = ["smtp-sink", "-u", "nobody", "-d",
                os.path.join(self.dir, "m."), "%s:25" % ip, "256"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def count(self):
        return len(os.listdir(self.dir))

    def subjects(self):
        out = []
        for name in os.listdir(self.dir):
            with open(os.path.join(self.dir, name), "rb") as f:
                for line in f:
                    if line.startswith(b"Subject: "):
                        out.append(line[9:].strip().decode())
                        break
        return out

    def stop(self):
        self.proc.kill()
        self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def test_restart_with_a_large_queue_delivers_each_once(dns_server,
                                                       server_factory):
    ip = new_ip()
    dns = dns_server(mx_zone("sink.test", ip))
    # While nothing listens there, every round ends at the dead-host
    # cache: the messages wait in the queue, retried every 5 s.
    srv = server_factory(config=outbound_config(
        dns, retry_min=5, retry_max=5, queue_lifetime=86400))
    tokens = submit_many(srv, RESTART_MSGS, "z@sink.test", unique("big"))
    srv.kill9()
    sink = Sink(ip)
    try:
        time.sleep(0.5)
        srv.start()
        wait_for(lambda: sink.count() >= RESTART_MSGS, timeout=240,
                 step=1, what="%d messages at the sink" % RESTART_MSGS)
        time.sleep(1)
        got = sink.subjects()
        assert len(got) == RESTART_MSGS
        assert sorted(got) == sorted(tokens)
    finally:
        sink.stop()


def test_sigterm_lets_the_transaction_in_flight_finish(dns_server,
                                                      server_factory,
                                                      peer_factory):
    peer = peer_factory(delays={"DATA_END": 2})
    dns = dns_server(mx_zone("peer.test", peer.host))
    srv = server_factory(config=outbound_config(dns))
    token = unique("term")
    submit(srv, ["t@peer.test"], message(token))
    wait_for(lambda: any(s.verbs()[-1:] == ["DATA"] for s in peer.sessions),
             what="the transaction at its end of data")
    # SIGTERM waits for the remote reply and commits it, then exits 0.
    srv.stop_checked()
    assert peer_tokens(peer).count(token) == 1
    assert srv.wait_log(lambda l: "event=remote " in l and
                        "status=sent" in l)
    # Nothing is left to send again after the restart.
    srv.start()
    out = queue_cli(srv, "list").stdout
    assert "t@peer.test" not in out, out
    assert peer_tokens(peer).count(token) == 1
