"""`postel metadata`: the administrator sets the server's /shared METADATA
entries (RFC 5464 §3.2.1.1), which IMAP clients read and cannot change."""

from imapraw import Imap

USERS = {"md1@example.test": "md-Secret-1"}
SERVER_USERS = USERS


def test_admin_entries_reach_imap_clients(server):
    r = server.cli("metadata", "set", "/shared/admin",
                   "mailto:postmaster@example.test")
    assert r.returncode == 0, r.stderr
    # Names are case-insensitive and kept in lower case, as over IMAP.
    r = server.cli("metadata", "set", "/Shared/Comment", "Postel test box")
    assert r.returncode == 0, r.stderr
    r = server.cli("metadata", "list")
    assert r.stdout.splitlines() == [
        "/shared/admin mailto:postmaster@example.test",
        "/shared/comment Postel test box"], r.stdout
    r = server.cli("metadata", "get", "/shared/admin")
    assert r.stdout == "mailto:postmaster@example.test\n"

    # The running server answers with them at once.
    c = Imap(server, "md1@example.test")
    lines = c.ok('GETMETADATA "" (/shared/admin /shared/comment)')
    assert lines == ['* METADATA "" (/shared/admin '
                     '"mailto:postmaster@example.test" /shared/comment '
                     '"Postel test box")'], lines
    # Still the administrator's: a client cannot change them.
    st, _, _ = c.cmd('SETMETADATA "" (/shared/admin "mailto:me@evil.test")')
    assert st == "NO"

    r = server.cli("metadata", "del", "/shared/comment")
    assert r.returncode == 0, r.stderr
    lines = c.ok('GETMETADATA "" (/shared/admin /shared/comment)')
    assert lines == ['* METADATA "" (/shared/admin '
                     '"mailto:postmaster@example.test")'], lines
    r = server.cli("metadata", "get", "/shared/comment")
    assert r.returncode == 1 and "no such entry" in r.stderr


def test_bad_names_and_usage(server):
    before = server.cli("metadata", "list").stdout
    for name in ("/private/comment", "/shared", "/shared/a//b",
                 "/shared/x*", "comment", "/shared/x/"):
        r = server.cli("metadata", "set", name, "v")
        assert r.returncode == 2, (name, r.stderr)
        assert "invalid entry name" in r.stderr
    assert server.cli("metadata", "list").stdout == before
    r = server.cli("metadata", "set", "/shared/x")
    assert r.returncode == 2 and "usage" in r.stderr
    r = server.cli("metadata", "set", "/shared/x", "v" * 40000)
    assert r.returncode == 2 and "too long" in r.stderr
    r = server.cli("metadata", "--help")
    assert r.returncode == 0 and "metadata set NAME VALUE" in r.stdout
