"""Admin commands: postel domain|user|alias, against a running server."""

import poplib

import pytest

from conftest import simple_message, unique


def snapshot(server):
    out = []
    for args in (("domain", "list"), ("user", "list"), ("alias", "list")):
        r = server.cli(*args)
        assert r.returncode == 0, (args, r.stderr)
        out.append(r.stdout)
    return out


def assert_error(r, codes=(1,)):
    assert r.returncode in codes, (r.returncode, r.stdout, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("postel: "), r.stderr


def lines(r):
    assert r.returncode == 0, r.stderr
    return [l for l in r.stdout.splitlines() if l.strip()]


def test_domain_add_list_del(server):
    assert "example.test" in lines(server.cli("domain", "list"))
    server.cli("domain", "add", "zz-other.test", check=True)
    server.cli("domain", "add", "aa-other.test", check=True)
    got = lines(server.cli("domain", "list"))
    assert "zz-other.test" in got and "aa-other.test" in got
    assert got == sorted(got)
    server.cli("domain", "del", "zz-other.test", check=True)
    server.cli("domain", "del", "aa-other.test", check=True)
    got = lines(server.cli("domain", "list"))
    assert "zz-other.test" not in got and "aa-other.test" not in got


def test_user_add_list_del(server):
    r = server.cli("user", "add", "ulist@example.test", "--password-stdin",
                   password="pw-ulist-123")
    assert r.returncode == 0, r.stderr
    got = lines(server.cli("user", "list"))
    assert "ulist@example.test" in got and "alice@example.test" in got
    assert got == sorted(got)
    assert "ulist@example.test" in lines(server.cli("user", "list",
                                                    "example.test"))
    server.cli("user", "del", "ulist@example.test", check=True)
    assert "ulist@example.test" not in lines(server.cli("user", "list"))


def test_user_list_filters_by_domain(server):
    server.cli("domain", "add", "filter.test", check=True)
    server.cli("user", "add", "f@filter.test", "--password-stdin",
               password="pw-filter-1", check=True)
    got = lines(server.cli("user", "list", "filter.test"))
    assert got == ["f@filter.test"]
    assert "f@filter.test" not in lines(server.cli("user", "list",
                                                   "example.test"))


def test_data_option_after_subcommand(server):
    import subprocess
    from conftest import POSTEL_BIN
    r = subprocess.run([POSTEL_BIN, "domain", "list", "--data", server.dir,
                        "--config", server.config_path],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "example.test" in r.stdout.split()


@pytest.mark.parametrize("args", [
    ("domain", "add", "example.test"),               # duplicate
    ("domain", "del", "nowhere.test"),               # missing
    ("user", "add", "alice@example.test", "--password-stdin"),  # dup
    ("user", "add", "x@unknown-domain.test", "--password-stdin"),
    ("user", "del", "nobody@example.test"),          # missing
    ("user", "passwd", "nobody@example.test", "--password-stdin"),
    ("alias", "del", "no-such-alias@example.test"),  # missing
    ("alias", "add", "al@unknown-domain.test", "alice@example.test"),
])
def test_errors_one_line_and_nothing_changed(server, args):
    before = snapshot(server)
    r = server.cli(*args, password="pw-whatever-1")
    assert_error(r)
    assert snapshot(server) == before


@pytest.mark.parametrize("addr", ["noatsign", "a@", "@example.test",
                                  "a b@example.test", "a@@example.test",
                                  "<a@example.test>"])
def test_malformed_address_rejected(server, addr):
    before = snapshot(server)
    r = server.cli("user", "add", addr, "--password-stdin",
                   password="pw-malformed-1")
    assert_error(r, codes=(1, 2))
    assert snapshot(server) == before


def test_malformed_domain_rejected(server):
    before = snapshot(server)
    for bad in ("bad domain.test", "", "a..b", "-x.test"):
        r = server.cli("domain", "add", bad)
        assert_error(r, codes=(1, 2))
    assert snapshot(server) == before


def test_usage_error_exit_2(server):
    r = server.cli("domain", "frobnicate")
    assert r.returncode == 2, (r.returncode, r.stderr)
    r = server.cli("user")
    assert r.returncode == 2, (r.returncode, r.stderr)


def test_password_stdin_and_passwd(server):
    user = "pwuser@example.test"
    server.cli("user", "add", user, "--password-stdin",
               password="first-Pass-1", check=True)
    p = server.pop3s(user, "first-Pass-1")
    p.quit()
    server.cli("user", "passwd", user, "--password-stdin",
               password="second-Pass-2", check=True)
    with pytest.raises(poplib.error_proto) as e:
        server.pop3s(user, "first-Pass-1")
    assert b"[AUTH]" in e.value.args[0]
    p = server.pop3s(user, "second-Pass-2")
    p.quit()


def test_add_user_while_running_then_deliver(server):
    user = "late@example.test"
    token = unique("late")
    # Unknown before the add...
    s = server.smtp()
    s.ehlo()
    s.mail("x@remote.test")
    code, _ = s.rcpt(user)
    assert code == 550
    s.quit()
    # ...delivered after it, with no restart.
    server.add_user(user, "late-Pass-1")
    server.send(user, simple_message(token))
    msgs = server.wait_messages(user, 1, token.encode())
    assert len(msgs) == 1


def test_user_del_stops_delivery(server):
    user = "gone@example.test"
    server.add_user(user, "gone-Pass-1")
    server.cli("user", "del", user, check=True)
    s = server.smtp()
    s.ehlo()
    s.mail("x@remote.test")
    code, _ = s.rcpt(user)
    s.quit()
    assert code == 550


def test_alias_fanout(server):
    token = unique("fan")
    server.cli("alias", "add", "team@example.test", "alice@example.test",
               "bob@example.test", check=True)
    listing = lines(server.cli("alias", "list"))
    assert any("team@example.test" in l and "alice@example.test" in l
               for l in listing) or (
        any("team@example.test" in l for l in listing)
        and any("bob@example.test" in l for l in listing)), listing
    server.send("team@example.test", simple_message(token))
    for u in ("alice@example.test", "bob@example.test"):
        msgs = server.wait_messages(u, 1, token.encode())
        assert len(msgs) == 1, u
    # Removing one target leaves the other.
    server.cli("alias", "del", "team@example.test", "bob@example.test",
               check=True)
    token2 = unique("fan2")
    server.send("team@example.test", simple_message(token2))
    assert len(server.wait_messages("alice@example.test", 1,
                                    token2.encode())) == 1
    assert server.wait_messages("bob@example.test", 1, token2.encode(),
                                timeout=1) == []
    server.cli("alias", "del", "team@example.test", check=True)
    s = server.smtp()
    s.ehlo()
    s.mail("x@remote.test")
    code, _ = s.rcpt("team@example.test")
    s.quit()
    assert code == 550


def test_catch_all(server):
    server.cli("domain", "add", "catch.test", check=True)
    server.cli("alias", "add", "@catch.test", "bob@example.test", check=True)
    token = unique("catch")
    server.send("anything-at-all@catch.test", simple_message(token))
    assert len(server.wait_messages("bob@example.test", 1,
                                    token.encode())) == 1


def test_plus_tag_delivery(server):
    token = unique("tag")
    server.send("alice+lists@example.test", simple_message(token))
    msgs = server.wait_messages("alice@example.test", 1, token.encode())
    assert len(msgs) == 1


# -- sender grants (submission sender identity) ---------------------

def test_sender_grants_add_list_del(server):
    server.cli("user", "add", "grant@example.test", "--password-stdin",
               password="pw-grant-1", check=True)
    assert lines(server.cli("user", "senders", "grant@example.test")) == []
    server.cli("user", "allow-sender", "grant@example.test",
               "Boss@Example.NET", check=True)
    server.cli("user", "allow-sender", "grant@example.test",
               "@Granted.Test", check=True)
    # Stored lower-case, listed sorted.
    assert lines(server.cli("user", "senders", "grant@example.test")) == [
        "@granted.test", "boss@example.net"]
    r = server.cli("user", "allow-sender", "grant@example.test",
                   "boss@example.net")
    assert_error(r)
    assert "grant already exists" in r.stderr
    server.cli("user", "deny-sender", "grant@example.test",
               "BOSS@example.net", check=True)
    r = server.cli("user", "deny-sender", "grant@example.test",
                   "boss@example.net")
    assert_error(r)
    assert "no such grant" in r.stderr
    assert lines(server.cli("user", "senders", "grant@example.test")) == [
        "@granted.test"]
    # Deleting the user deletes its grants: a new account with the same
    # address starts with none.
    server.cli("user", "del", "grant@example.test", check=True)
    server.cli("user", "add", "grant@example.test", "--password-stdin",
               password="pw-grant-2", check=True)
    assert lines(server.cli("user", "senders", "grant@example.test")) == []
    server.cli("user", "del", "grant@example.test", check=True)


@pytest.mark.parametrize("args,code", [
    (("user", "allow-sender", "nobody@example.test", "a@b.test"), 1),
    (("user", "senders", "nobody@example.test"), 1),
    (("user", "allow-sender", "alice@example.test", "noat"), 1),
    (("user", "allow-sender", "alice@example.test", "a b@x.test"), 1),
    (("user", "allow-sender", "alice@example.test", "a@"), 1),
    (("user", "allow-sender", "alice@example.test", "a@@x.test"), 1),
    (("user", "allow-sender", "alice@example.test"), 2),
    (("user", "deny-sender", "alice@example.test"), 2),
    (("user", "senders"), 2),
    (("user", "allow-sender", "alice@example.test", "a@x.test", "b"), 2),
])
def test_sender_grant_errors(server, args, code):
    before = lines(server.cli("user", "senders", "alice@example.test"))
    assert_error(server.cli(*args), codes=(code,))
    assert lines(server.cli("user", "senders", "alice@example.test")) == \
        before


def rcpt_codes(server, rcpts):
    s = server.smtp()
    s.ehlo()
    s.mail("x@remote.test")
    codes = [s.rcpt(r)[0] for r in rcpts]
    s.quit()
    return codes


def test_rcpt_answers_follow_cli_changes_at_once(server):
    """Recipients just accepted (the server keeps such answers) are
    refused on the very next RCPT once the CLI removed or changed them."""
    user, user2 = "kept@example.test", "kept2@example.test"
    server.add_user(user, "kept-Pass-1")
    server.add_user(user2, "kept-Pass-2")
    server.cli("alias", "add", "keptlist@example.test", user, check=True)
    rcpts = [user, user2, "keptlist@example.test"]
    assert rcpt_codes(server, rcpts) == [250, 250, 250]
    assert rcpt_codes(server, rcpts) == [250, 250, 250]
    server.cli("alias", "del", "keptlist@example.test", user, check=True)
    assert rcpt_codes(server, rcpts) == [250, 250, 550]
    server.cli("user", "del", user, check=True)
    assert rcpt_codes(server, [user, user2]) == [550, 250]
    # A quota set now applies to the next RCPT: the mailbox is over it.
    token = unique("kept")
    server.send(user2, simple_message(token, body=("y" * 70 + "\r\n") * 120))
    assert server.wait_messages(user2, 1, token.encode())
    server.cli("user", "quota", user2, "4K", check=True)
    assert rcpt_codes(server, [user2]) == [552]
