"""Users change their own password (issue 13, safe account
administration): POST /account/password on the HTTPS listener with the
current credentials as HTTP Basic and new_password in the form body,
allowed only with user_password_change = yes. Driven with curl; the
outcome checked by logging in over IMAP (imaplib) and POP3 (poplib)."""

import imaplib
import poplib
import subprocess

import pytest

from conftest import PROTOS, free_ports, launch, finish

USER = "carol@example.test"
OLD = "carol-Old-pass-1"


def _listen():
    protos = PROTOS + ("http", "https")
    ports = free_ports(len(protos))
    return {p: ("127.0.0.1", port) for p, port in zip(protos, ports)}


@pytest.fixture
def web():
    srv = launch({"user_password_change": "yes",
                  "auth_block_failures": "0"},
                 users={USER: OLD, "dave@example.test": "dave-Pass-22"},
                 listen=_listen())
    yield srv
    finish(srv)


def change(srv, user, old, new, proto="https", extra=()):
    """(status, body) of curl's POST."""
    port = srv.ports[proto]
    argv = ["curl", "-sS", "--max-time", "20", "--cacert", srv.cert_path,
            "-o", "-", "-w", "\n%{http_code}",
            "%s://127.0.0.1:%d/account/password" % (proto, port)]
    if user is not None:
        argv += ["-u", "%s:%s" % (user, old)]
    if new is not None:
        argv += ["--data-urlencode", "new_password=%s" % new]
    else:
        argv += ["--data", "other=1"]
    argv += list(extra)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


def imap_login(srv, user, password):
    host, port = srv.addr("imaps")
    with imaplib.IMAP4_SSL(host, port, ssl_context=srv.ssl_context(),
                           timeout=10) as m:
        try:
            m.login(user, password)
            return True
        except imaplib.IMAP4.error:
            return False


def test_user_changes_own_password(web):
    assert imap_login(web, USER, OLD)  # also fills the login cache
    new = "carol-New pass+&=2"
    code, body = change(web, USER, OLD, new)
    assert (code, body.strip()) == (200, "password changed")
    # The old password stops at once (cache included), the new one works
    # on every protocol.
    assert not imap_login(web, USER, OLD)
    assert imap_login(web, USER, new)
    host, port = web.addr("pop3s")
    p = poplib.POP3_SSL(host, port, context=web.ssl_context(), timeout=10)
    p.user(USER)
    assert p.pass_(new).startswith(b"+OK")
    p.quit()
    assert web.wait_log(lambda l: "event=password_change" in l and
                        USER in l)
    # The other user is untouched.
    assert imap_login(web, "dave@example.test", "dave-Pass-22")


def test_wrong_password_is_refused_and_logged(web):
    code, _ = change(web, USER, "not-the-password", "whatever-123")
    assert code == 401
    r = subprocess.run(
        ["curl", "-sS", "-D", "-", "-o", "/dev/null", "--cacert",
         web.cert_path, "--data-urlencode", "new_password=x" * 3,
         "https://127.0.0.1:%d/account/password" % web.ports["https"]],
        capture_output=True, text=True, timeout=30)
    assert "WWW-Authenticate: Basic realm=\"postel\"" in r.stdout
    lines = web.wait_log(lambda l: "event=login_fail" in l and
                         "proto=https" in l and "mech=basic" in l)
    assert lines and USER in lines[0]
    assert imap_login(web, USER, OLD)
    # An unknown user: the same answer.
    assert change(web, "nobody@example.test", "x" * 9, "y" * 9)[0] == 401


def test_plain_http_short_and_missing_are_refused(web):
    code, body = change(web, USER, OLD, "long-enough-1", proto="http")
    assert code == 403 and "https" in body
    code, body = change(web, USER, OLD, "short")
    assert code == 400 and "too short" in body
    code, _ = change(web, USER, OLD, None)
    assert code == 400
    code, _ = change(web, None, None, "long-enough-1")
    assert code == 401
    # GET is not a way in.
    r = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
         "--cacert", web.cert_path,
         "https://127.0.0.1:%d/account/password" % web.ports["https"]],
        capture_output=True, text=True, timeout=30)
    assert r.stdout == "405"
    assert imap_login(web, USER, OLD)


def test_off_by_default(server_factory):
    srv = server_factory(users={USER: OLD}, listen=_listen())
    code, _ = change(srv, USER, OLD, "long-enough-1")
    assert code == 404
    r = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
         "--cacert", srv.cert_path,
         "https://127.0.0.1:%d/account/password" % srv.ports["https"]],
        capture_output=True, text=True, timeout=30)
    assert r.stdout == "404"
    assert imap_login(srv, USER, OLD)
