"""`postel alias add` refuses what cannot work (a source that is a user, a
hosted target that reaches nobody, a loop) and `postel user del` removes
the aliases that reached only the deleted user, so mail to them bounces
instead of silently reaching a catch-all (issue 13)."""

import pytest

from conftest import simple_message, unique
from test_cli import assert_error, lines, snapshot


def add_user(server, addr):
    server.cli("user", "add", addr, "--password-stdin",
               password="pw-" + addr.split("@")[0], check=True)


def aliases(server):
    return lines(server.cli("alias", "list"))


@pytest.mark.parametrize("source,target,why", [
    ("alice@example.test", "bob@example.test", "source is a user"),
    ("x-nobody@example.test", "no-such-user@example.test",
     "target does not exist"),
])
def test_alias_add_refusals(server, source, target, why):
    before = snapshot(server)
    r = server.cli("alias", "add", source, target)
    assert_error(r)
    assert why in r.stderr, r.stderr
    assert snapshot(server) == before


def test_alias_loop_refused(server):
    a, b = unique("loopa") + "@example.test", unique("loopb") + "@example.test"
    server.cli("alias", "add", a, "alice@example.test", check=True)
    server.cli("alias", "add", b, a, check=True)
    before = snapshot(server)
    r = server.cli("alias", "add", a, b)
    assert_error(r)
    assert "loop" in r.stderr, r.stderr
    assert snapshot(server) == before
    # All targets or none: one bad target keeps the good one out too.
    c = unique("loopc") + "@example.test"
    r = server.cli("alias", "add", c, "bob@example.test",
                   "ghost-" + unique("g") + "@example.test")
    assert_error(r)
    assert not any(l.startswith(c + " ") for l in aliases(server))


def test_alias_to_catch_all_domain_is_not_existence(server):
    # A catch-all would take mail for the missing target silently.
    server.cli("domain", "add", "catchsafe.test", check=True)
    server.cli("alias", "add", "@catchsafe.test", "bob@example.test",
               check=True)
    r = server.cli("alias", "add", unique("cs") + "@example.test",
                   "ghost@catchsafe.test")
    assert_error(r)
    assert "target does not exist" in r.stderr


def test_external_target_accepted(server):
    src = unique("fwd") + "@example.test"
    server.cli("alias", "add", src, "someone@elsewhere.test", check=True)
    assert src + " someone@elsewhere.test" in aliases(server)


def test_user_del_removes_aliases_that_reached_only_it(server):
    server.cli("domain", "add", "deltest.test", check=True)
    user = "gone@deltest.test"
    add_user(server, user)
    solo, both = "solo@deltest.test", "both@deltest.test"
    chain = "chain@deltest.test"
    server.cli("alias", "add", solo, user, check=True)
    server.cli("alias", "add", both, user, "bob@example.test", check=True)
    server.cli("alias", "add", chain, solo, check=True)
    server.cli("alias", "add", "@deltest.test", "alice@example.test",
               check=True)
    r = server.cli("user", "del", user, check=True)
    out = r.stdout
    assert "removed alias %s -> %s" % (solo, user) in out, out
    assert "removed alias %s -> %s" % (both, user) in out, out
    assert "removed alias %s -> %s" % (chain, solo) in out, out
    left = aliases(server)
    assert "%s bob@example.test" % both in left
    assert not any(l.startswith(solo + " ") or l.startswith(chain + " ")
                   for l in left), left
    # The catch-all stays; it still reaches someone.
    assert "@deltest.test alice@example.test" in left
    # Mail to the kept alias still arrives where it can.
    token = unique("keptalias")
    server.send(both, simple_message(token))
    assert server.wait_messages("bob@example.test", 1, token.encode())
