"""Per-connection login limits on IMAP and POP3
(test_auth_throttle.py covers the per-address block and the delay
growing across connections for IMAP): a connection is cut after
`max_auth_failures` failed logins (IMAP: the NO, then * BYE; POP3: the
-ERR [AUTH]), not before; and the failure answer is delayed more as the
connection's own count grows.

The delay tests assert only which of two answers comes first; the
per-address block is switched off (auth_block_failures = 0) so only the
per-connection limit acts."""

import base64
import socket
import threading
import time

from conftest import SOCK_TIMEOUT
from rawclient import Closed, RawClient

import pytest

ALICE = "alice@example.test"
LIMIT_CONFIG = {"max_auth_failures": "3",
                "auth_fail_delay_ms": "0",
                "auth_block_failures": "0"}


def tls_from(server, proto, src):
    """A RawClient over implicit TLS from loopback address src."""
    host, port = server.addr(proto)
    c = RawClient.__new__(RawClient)
    c.timeout = SOCK_TIMEOUT
    c.buf = b""
    c.eof = False
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(SOCK_TIMEOUT)
    sock.bind((src, 0))
    sock.connect((host, port))
    c.sock = server.ssl_context().wrap_socket(sock,
                                              server_hostname="localhost")
    return c


def imap_tagged(c, tag, limit=50):
    """(untagged lines, the tagged line) of tag's reply."""
    seen = []
    for _ in range(limit):
        ln = c.pop_line()
        if ln.startswith(tag + " "):
            return seen, ln
        seen.append(ln)
    raise AssertionError("no tagged reply for %s: %r" % (tag, seen))


def plain(user, password):
    return base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()


def limit_closed(srv, c):
    """The server closed c at the third failure and logged the limit."""
    assert c.closed()
    c.close()
    assert srv.wait_log(lambda l: "event=auth_limit" in l and
                        "failures=3" in l)


def test_imap_cut_after_max_auth_failures(server_factory):
    srv = server_factory(config=LIMIT_CONFIG)
    c = tls_from(srv, "imaps", "127.0.0.41")
    assert c.pop_line().startswith("* OK")
    # Failures 1 and 2 (LOGIN and AUTHENTICATE count alike): answered NO,
    # the connection goes on.
    c.line('a1 LOGIN "%s" "wrong1"' % ALICE)
    seen, t = imap_tagged(c, "a1")
    assert t.startswith("a1 NO [AUTHENTICATIONFAILED]"), t
    c.line("a2 AUTHENTICATE PLAIN " + plain(ALICE, "wrong2"))
    seen, t = imap_tagged(c, "a2")
    assert t.startswith("a2 NO [AUTHENTICATIONFAILED]"), t
    assert not any("BYE" in l for l in seen), seen
    c.line("a3 NOOP")
    assert imap_tagged(c, "a3")[1].startswith("a3 OK")
    # Failure 3 = max_auth_failures: the NO, then BYE, then the close.
    c.line('a4 LOGIN "%s" "wrong3"' % ALICE)
    seen, t = imap_tagged(c, "a4")
    assert t.startswith("a4 NO [AUTHENTICATIONFAILED]"), t
    ln = c.pop_line()
    assert ln.startswith("* BYE"), ln
    limit_closed(srv, c)
    # The limit is per connection: a new one logs in with the password.
    c = tls_from(srv, "imaps", "127.0.0.41")
    assert c.pop_line().startswith("* OK")
    c.line('b1 LOGIN "%s" "%s"' % (ALICE, srv.users[ALICE]))
    assert imap_tagged(c, "b1")[1].startswith("b1 OK")
    c.close()


def test_pop3_cut_after_max_auth_failures(server_factory):
    srv = server_factory(config=LIMIT_CONFIG)
    c = tls_from(srv, "pop3s", "127.0.0.42")
    assert c.pop_line().startswith("+OK")
    for i in (1, 2):
        if i == 2:
            c.line("AUTH PLAIN " + plain(ALICE, "wrong2"))
            r = c.pop_line()
        else:
            assert c.pop_cmd("USER " + ALICE).startswith("+OK")
            r = c.pop_cmd("PASS wrong%d" % i)
        assert r.startswith("-ERR [AUTH]"), r
    # Still talking after two failures.
    assert c.pop_cmd("CAPA").startswith("+OK")
    c.pop_multi()
    assert c.pop_cmd("USER " + ALICE).startswith("+OK")
    r = c.pop_cmd("PASS wrong3")
    assert r.startswith("-ERR [AUTH]"), r
    limit_closed(srv, c)
    c = tls_from(srv, "pop3s", "127.0.0.42")
    assert c.pop_line().startswith("+OK")
    assert c.pop_cmd("USER " + ALICE).startswith("+OK")
    assert c.pop_cmd("PASS " + srv.users[ALICE]).startswith("+OK")
    assert c.pop_cmd("QUIT").startswith("+OK")
    c.close()


# -- the growing delay, per connection -------------------------------------

def imap_fail(c, tag, user):
    """Sends a failing LOGIN; returns a function that reads its answer."""
    c.line('%s LOGIN "%s" "wrong"' % (tag, user))

    def answer():
        return imap_tagged(c, tag)[1]
    return answer


def pop3_fail(c, tag, user):
    c.line("AUTH PLAIN " + plain(user, "wrong-" + tag))

    def answer():
        return c.pop_line()
    return answer


FAIL = {"imaps": (imap_fail, "NO [AUTHENTICATIONFAILED]"),
        "pop3s": (pop3_fail, "-ERR [AUTH]")}


@pytest.mark.parametrize("proto", ["imaps", "pop3s"])
def test_failure_delay_grows_within_a_connection(server_factory, proto):
    # Ordering only. A connection with three failures behind it sends its
    # fourth; just after, a fresh connection (another address, another
    # account) sends its first. With the delay growing by count (4 x 400
    # ms against 1 x 400 ms) the fresh one is answered first; with a flat
    # delay the noisy one, which asked first, would be.
    srv = server_factory(config={"auth_fail_delay_ms": "400",
                                 "auth_block_failures": "0",
                                 "max_auth_failures": "10"})
    fail, expect = FAIL[proto]
    noisy = tls_from(srv, proto, "127.0.0.43")
    fresh = tls_from(srv, proto, "127.0.0.44")
    try:
        for c in (noisy, fresh):
            c.pop_line()
        for i in range(3):
            r = fail(noisy, "n%d" % i, "noisy@example.test")()
            assert expect in r, r
        order, errors = [], []

        def wait(name, answer):
            try:
                r = answer()
                assert expect in r, r
                order.append(name)
            except Exception as e:  # reported below
                errors.append(repr(e))

        t1 = threading.Thread(target=wait, args=(
            "noisy", fail(noisy, "n3", "noisy@example.test")))
        t1.start()
        time.sleep(0.2)  # so a flat delay would answer noisy first
        t2 = threading.Thread(target=wait, args=(
            "fresh", fail(fresh, "f0", "fresh@example.test")))
        t2.start()
        t1.join(30)
        t2.join(30)
        assert not errors, errors
        assert order == ["fresh", "noisy"], order
    finally:
        noisy.close()
        fresh.close()


# -- one log event for a failed login --------------------------------------

def smtp_fail(c, tag, user):
    c.line("EHLO client.test")
    for _ in range(50):
        if c.pop_line().startswith("250 "):
            break
    c.line("AUTH PLAIN " + plain(user, "wrong-" + tag))

    def answer():
        return c.pop_line()
    return answer


@pytest.mark.parametrize("proto,expect,mech", [
    ("submissions", "535 5.7.8", "PLAIN"),
    ("imaps", "NO [AUTHENTICATIONFAILED]", "LOGIN"),
    ("pop3s", "-ERR [AUTH]", "PLAIN")])
def test_failed_login_one_event_name(server_factory, proto, expect, mech):
    # The same event, fields and user in all three protocols, so one
    # grep of the log finds every failed login.
    srv = server_factory(config=LIMIT_CONFIG)
    fail = {"submissions": smtp_fail, "imaps": imap_fail,
            "pop3s": pop3_fail}[proto]
    c = tls_from(srv, proto, "127.0.0.45")
    try:
        c.pop_line()
        r = fail(c, "x1", ALICE)()
        assert expect in r, r
    finally:
        c.close()
    assert srv.wait_log(lambda l: "event=login_fail" in l and
                        ALICE in l and
                        "mech=%s" % mech in l and "failures=1" in l)
