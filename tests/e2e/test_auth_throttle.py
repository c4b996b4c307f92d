"""Login abuse: failed logins are counted per client address and
per account across connections and protocols (SMTP AUTH, IMAP, POP3), the
failure answer is delayed more as the count grows, and an address with too
many failures is blocked for a while (`event=auth_block`): even the right
password is then refused at once with a temporary failure (SMTP 454 4.7.0,
IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]). A well-behaved client on
another address is not affected, an account attacked from many addresses is
never locked, and the hashing queue is bounded (a full queue answers a
temporary failure) while a login with a remembered password still succeeds.

Clients bind a source address in 127.0.0.0/8 so that several "client
addresses" reach the server on 127.0.0.1 (Linux routes all of 127/8 to lo).
No test asserts a duration; the delay test asserts only which of two answers
comes first.
"""

import base64
import socket
import threading
import time

from conftest import SOCK_TIMEOUT
from rawclient import RawClient

ALICE = "alice@example.test"
ALICE_PW = "alice-Secret-1"
BOB = "bob@example.test"
BOB_PW = "bob-Secret-2"


class SrcClient(RawClient):
    """RawClient over implicit TLS from a chosen loopback source address."""

    def __init__(self, server, proto, src, timeout=SOCK_TIMEOUT):
        self.timeout = timeout
        host, port = server.addr(proto)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.bind((src, 0))
        sock.connect((host, port))
        self.buf = b""
        self.eof = False
        self.sock = server.ssl_context().wrap_socket(
            sock, server_hostname="mail.test")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def plain_b64(user, password):
    return base64.b64encode(
        ("\0%s\0%s" % (user, password)).encode()).decode()


# -- one login per protocol; each returns the reply the client saw --------

def smtp_login(server, src, user, password):
    """(code, text) of AUTH PLAIN on submissions from src."""
    c = SrcClient(server, "submissions", src)
    try:
        code, _ = c.reply()
        assert code == 220
        c.ehlo()
        code, lines = c.cmd("AUTH PLAIN " + plain_b64(user, password))
        return code, " ".join(lines)
    finally:
        c.close()


def imap_login(server, src, user, password, tag="a1"):
    """The tagged reply line of LOGIN on imaps from src."""
    c = SrcClient(server, "imaps", src)
    try:
        assert c.pop_line().startswith("* OK")
        c.line('%s LOGIN "%s" "%s"' % (tag, user, password))
        return imap_tagged(c, tag)
    finally:
        c.close()


def imap_tagged(c, tag):
    for _ in range(50):
        line = c.pop_line()
        if line.startswith(tag + " "):
            return line
    raise AssertionError("no tagged reply")


def pop3_login(server, src, user, password):
    """The reply line to PASS on pop3s from src."""
    c = SrcClient(server, "pop3s", src)
    try:
        assert c.pop_line().startswith("+OK")
        assert c.pop_cmd("USER " + user).startswith("+OK")
        return c.pop_cmd("PASS " + password)
    finally:
        c.close()


BLOCK_CONFIG = {
    "auth_fail_delay_ms": 0,
    "auth_block_failures": 4,
    "auth_block_time": 600,
    "max_auth_failures": 10,
}


def test_failures_on_all_protocols_block_the_address(server_factory):
    srv = server_factory(config=BLOCK_CONFIG)
    bad, good = "127.0.0.3", "127.0.0.2"
    # alice logs in once, so the verified-login cache knows her password.
    assert imap_login(srv, good, ALICE, ALICE_PW).startswith("a1 OK")
    # Four failures from one address, spread over the three protocols.
    assert "[AUTHENTICATIONFAILED]" in imap_login(srv, bad, ALICE, "x1")
    assert "[AUTHENTICATIONFAILED]" in imap_login(srv, bad, BOB, "x2")
    assert pop3_login(srv, bad, ALICE, "x3").startswith("-ERR [AUTH]")
    code, _ = smtp_login(srv, bad, ALICE, "x4")
    assert code == 535
    assert srv.wait_log(lambda l: "event=auth_block" in l and bad in l)
    # Now even the right password is refused from there, on every
    # protocol, with a temporary failure; a remembered password too (it
    # would let a blocked guesser go on at cache speed).
    code, text = smtp_login(srv, bad, ALICE, ALICE_PW)
    assert code == 454, text
    assert text.startswith("4.7.0"), text
    line = imap_login(srv, bad, ALICE, ALICE_PW)
    assert line.startswith("a1 NO [UNAVAILABLE]"), line
    assert pop3_login(srv, bad, BOB, BOB_PW).startswith("-ERR [SYS/TEMP]")
    # Another address logs in to the same accounts as usual.
    assert smtp_login(srv, good, ALICE, ALICE_PW)[0] == 235
    assert imap_login(srv, good, ALICE, ALICE_PW).startswith("a1 OK")
    assert pop3_login(srv, good, BOB, BOB_PW).startswith("+OK")


def test_blocked_client_is_cut_off_and_others_work_in_parallel(
        server_factory):
    srv = server_factory(config=dict(BLOCK_CONFIG, max_auth_failures=6))
    bad, good = "127.0.0.4", "127.0.0.5"
    results, errors = [], []
    stop = threading.Event()

    def well_behaved():
        try:
            deadline = time.monotonic() + 60
            while not stop.is_set() and time.monotonic() < deadline:
                results.append(imap_login(srv, good, BOB, BOB_PW))
        except Exception as e:  # reported below
            errors.append(repr(e))

    t = threading.Thread(target=well_behaved)
    t.start()
    try:
        # One connection guessing on and on: four failures block the
        # address, then the session gets NO [UNAVAILABLE] and is cut off
        # at max_auth_failures (6: the refusals count too).
        c = SrcClient(srv, "imaps", bad)
        assert c.pop_line().startswith("* OK")
        replies = []
        for i in range(10):
            try:
                c.line('g%d LOGIN "%s" "guess%d"' % (i, ALICE, i))
                replies.append(imap_tagged(c, "g%d" % i))
            except Exception:
                break
        c.close()
        assert replies[0].startswith("g0 NO [AUTHENTICATIONFAILED]")
        assert any("[UNAVAILABLE]" in r for r in replies), replies
        assert len(replies) < 10, replies
    finally:
        stop.set()
        t.join(70)
    assert not errors, errors
    assert results and all(r.startswith("a1 OK") for r in results), results


def test_account_attacked_from_many_addresses_is_not_locked(server_factory):
    # Per account, failures only make the answer slower, never a block:
    # otherwise anyone could lock a user out (ARCHITECTURE.md).
    srv = server_factory(config=BLOCK_CONFIG)
    for i in range(12):
        src = "127.0.1.%d" % (i // 3 + 1)  # 3 failures each: no block
        assert "[AUTHENTICATIONFAILED]" in imap_login(srv, src, BOB, "n%d" % i)
    # A block is logged when the failure is counted, before the NO is
    # sent: every NO above has come, so there is no window to wait for.
    assert "event=auth_block" not in srv.stderr_text()
    assert imap_login(srv, "127.0.1.9", BOB, BOB_PW).startswith("a1 OK")
    assert smtp_login(srv, "127.0.1.9", BOB, BOB_PW)[0] == 235


def test_failure_delay_grows_with_the_address_count(server_factory):
    # Ordering only: a first failure from a fresh address is answered
    # before a failure from an address that already failed five times on
    # other connections (the delay is auth_fail_delay_ms times the count).
    srv = server_factory(config={"auth_fail_delay_ms": 500,
                                 "auth_block_failures": 100,
                                 "max_auth_failures": 10,
                                 "log_level": "debug"})
    noisy, fresh = "127.0.0.6", "127.0.0.7"
    threads = [threading.Thread(target=imap_login,
                                args=(srv, noisy, "nobody%d@example.test" % i,
                                      "x"))
               for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    order = []

    def attempt(src, user):
        line = imap_login(srv, src, user, "wrong")
        assert "[AUTHENTICATIONFAILED]" in line
        order.append(src)

    def hashed():
        return srv.stderr_text().count("event=auth_verify via=hash")
    n = hashed()
    t1 = threading.Thread(target=attempt, args=(noisy, "x1@example.test"))
    t1.start()
    # The noisy LOGIN is in the server (its hash queued) before the fresh
    # one is sent: debug event auth_verify.
    deadline = time.monotonic() + 10
    while hashed() <= n:
        assert time.monotonic() < deadline, srv.stderr_tail()
        time.sleep(0.05)
    t2 = threading.Thread(target=attempt, args=(fresh, "x2@example.test"))
    t2.start()
    t1.join(30)
    t2.join(30)
    assert order == [fresh, noisy], order


def test_full_hash_queue_refuses_at_once_but_cached_login_succeeds(
        server_factory):
    srv = server_factory(config={"auth_fail_delay_ms": 0,
                                 "auth_block_failures": 0,
                                 "auth_queue_max": 1})
    good = "127.0.0.8"
    # Remember alice's password (one full hash).
    assert imap_login(srv, good, ALICE, ALICE_PW).startswith("a1 OK")
    clients = []
    try:
        for i in range(40):
            c = SrcClient(srv, "imaps", "127.0.2.%d" % (i % 4 + 1))
            assert c.pop_line().startswith("* OK")
            clients.append(c)
        # Everyone asks at once; two threads hash, one job may wait.
        for i, c in enumerate(clients):
            c.send('f LOGIN "%s" "wrong%d"\r\n' % (BOB, i))
        # While that backlog is there, the remembered login goes through.
        ok = imap_login(srv, good, ALICE, ALICE_PW)
        replies = [imap_tagged(c, "f") for c in clients]
    finally:
        for c in clients:
            c.close()
    assert ok.startswith("a1 OK"), ok
    busy = [r for r in replies if r.startswith("f NO [UNAVAILABLE]")]
    failed = [r for r in replies if "[AUTHENTICATIONFAILED]" in r]
    assert busy, replies
    assert len(busy) + len(failed) == len(replies), replies
    assert srv.wait_log(lambda l: "event=auth_busy" in l)
