"""Verified-login cache (auth_cache_ttl): repeated logins keep working, a
password changed with `postel user passwd` while the server runs takes
effect at once (the old one is refused, the new one accepted), a wrong
password is refused right after a good login, and auth_cache_ttl = 0 turns
the cache off without changing what a client sees."""

import imaplib
import time

import pytest

from conftest import Server, unique

# Failed logins are answered after a delay; these tests fail on purpose.
SERVER_CONFIG = {"auth_fail_delay_ms": 0}


def imap_login(server, user, password):
    """True when IMAP LOGIN over TLS succeeds, False when it is refused."""
    try:
        m = server.imaps(user, password)
    except imaplib.IMAP4.error:
        return False
    try:
        typ, _ = m.noop()
        assert typ == "OK"
    except BaseException:
        m.shutdown()
        raise
    m.logout()
    return True


def new_user(server, password):
    user = "%s@example.test" % unique("ac")
    server.add_user(user, password)
    return user


def passwd(server, user, password):
    server.cli("user", "passwd", user, "--password-stdin",
               password=password, check=True)


def check_passwd_change(server):
    user = new_user(server, "old-Secret-1")
    assert imap_login(server, user, "old-Secret-1")
    assert imap_login(server, user, "old-Secret-1")
    passwd(server, user, "new-Secret-2")
    # No waiting: the stored hash changed, so the remembered login is void.
    assert not imap_login(server, user, "old-Secret-1")
    assert imap_login(server, user, "new-Secret-2")
    assert imap_login(server, user, "new-Secret-2")
    assert not imap_login(server, user, "old-Secret-1")
    # Setting the same password again rehashes it (new salt): still fine.
    passwd(server, user, "new-Secret-2")
    assert imap_login(server, user, "new-Secret-2")


def test_repeated_login_then_passwd(server):
    check_passwd_change(server)


def test_wrong_password_right_after_success(server):
    user = new_user(server, "right-Secret-3")
    assert imap_login(server, user, "right-Secret-3")
    assert not imap_login(server, user, "right-Secret-4")
    assert not imap_login(server, user, "right-Secret-3 ")
    assert not imap_login(server, user, "")
    assert imap_login(server, user, "right-Secret-3")
    assert not imap_login(server, user, "RIGHT-SECRET-3")


def test_other_users_password_does_not_hit(server):
    a = new_user(server, "shared-Secret-5")
    b = new_user(server, "other-Secret-6")
    assert imap_login(server, a, "shared-Secret-5")
    assert not imap_login(server, b, "shared-Secret-5")
    assert imap_login(server, b, "other-Secret-6")


def test_deleted_user_refused_at_once(server):
    user = new_user(server, "gone-Secret-7")
    assert imap_login(server, user, "gone-Secret-7")
    server.cli("user", "del", user, check=True)
    assert not imap_login(server, user, "gone-Secret-7")


def test_pop3_and_submission_repeat(server):
    user = new_user(server, "multi-Secret-8")
    for _ in range(2):
        p = server.pop3s(user, "multi-Secret-8")
        p.quit()
        s = server.smtp_auth("submissions", user, "multi-Secret-8")
        s.quit()
    assert imap_login(server, user, "multi-Secret-8")


def login_via(server, user, password):
    """Logs in over IMAPS (must succeed) and returns how the server
    verified the password: "cache" or "hash", from its debug event
    `event=auth_verify via=...` (logged before the reply is sent)."""
    def count(via):
        return server.stderr_text().count("event=auth_verify via=" + via)
    before = (count("cache"), count("hash"))
    assert imap_login(server, user, password)
    after = (count("cache"), count("hash"))
    assert after[0] + after[1] == before[0] + before[1] + 1, (before, after)
    return "cache" if after[0] > before[0] else "hash"


def test_cache_hit_is_observable(server_factory):
    """The control for the two tests below: with the cache on (default
    TTL), the second login is answered from the cache."""
    srv = server_factory(config={"auth_fail_delay_ms": 0,
                                 "log_level": "debug"})
    alice = "alice@example.test"
    assert login_via(srv, alice, srv.users[alice]) == "hash"
    assert login_via(srv, alice, srv.users[alice]) == "cache"
    assert login_via(srv, alice, srv.users[alice]) == "cache"


def test_cache_disabled(server_factory):
    srv = server_factory(config={"auth_cache_ttl": 0,
                                 "auth_fail_delay_ms": 0,
                                 "log_level": "debug"})
    alice = "alice@example.test"
    # Off: every login pays the hash, none is answered from memory.
    for _ in range(3):
        assert login_via(srv, alice, srv.users[alice]) == "hash"
    check_passwd_change(srv)
    assert "event=auth_verify via=cache" not in srv.stderr_text()


def test_short_ttl(server_factory):
    srv = server_factory(config={"auth_cache_ttl": 1,
                                 "auth_fail_delay_ms": 0,
                                 "log_level": "debug"})
    alice = "alice@example.test"
    assert login_via(srv, alice, srv.users[alice]) == "hash"
    assert login_via(srv, alice, srv.users[alice]) == "cache"
    # The entry expires after the TTL: keep logging in (bounded) until a
    # login is hashed again. With the TTL ignored (the default is far
    # longer than the bound) this never happens.
    deadline = time.monotonic() + 15
    via = "cache"
    while via == "cache":
        assert time.monotonic() < deadline, "cache entry never expired"
        time.sleep(0.2)
        via = login_via(srv, alice, srv.users[alice])
    # Re-verified, it is remembered again.
    assert login_via(srv, alice, srv.users[alice]) == "cache"
    check_passwd_change(srv)


@pytest.mark.parametrize("value", ["86401", "-1", "abc", ""])
def test_bad_ttl_refused(value):
    srv = Server(config={"auth_cache_ttl": value})
    try:
        r = srv.cli("domain", "add", "example.test")
        assert r.returncode != 0
        assert "auth_cache_ttl" in r.stderr
    finally:
        srv.cleanup()
