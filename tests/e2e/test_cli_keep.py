"""`postel user del ADDRESS --keep DIR [--mbox]`: the mailboxes are copied,
on disk, before the account goes, in forms other mail software reads
(checked with Python's mailbox module, the way mutt or Dovecot would read
them)."""

import imaplib
import mailbox
import os
import shutil
import tempfile

import pytest

from conftest import unique


@pytest.fixture
def keep_root():
    """A directory the service user can write (the CLI drops to it when
    run as root, as the server does): the copy belongs to it."""
    d = tempfile.mkdtemp(prefix="postel-keep-")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def make_user(server):
    user = unique("keep") + "@example.test"
    server.cli("user", "add", user, "--password-stdin",
               password="pw-keep-1234", check=True)
    return user, "pw-keep-1234"


def fill(server, user, pw, token):
    """Two INBOX messages (one seen and flagged, one with a "From " body
    line) and one in Work/Sub."""
    bodies = [("From: a@remote.test\r\nSubject: %s one\r\n\r\n"
               "first line\r\nFrom here on, quoted in mbox\r\n" % token),
              ("From: b@remote.test\r\nSubject: %s two\r\n\r\n"
               "second\r\n" % token)]
    host, port = server.addr("imaps")
    m = imaplib.IMAP4_SSL(host, port, ssl_context=server.ssl_context())
    m.login(user, pw)
    for b in bodies:
        m.append("INBOX", None, None, b.encode())
    m.create("Work/Sub")
    m.append("Work/Sub", "(\\Answered)", None,
             ("Subject: %s three\r\n\r\nthree\r\n" % token).encode())
    m.select("INBOX")
    m.store("1", "+FLAGS", "(\\Seen \\Flagged)")
    m.logout()
    return [b.replace("\r\n", "\n") for b in bodies]


def users(server):
    return server.cli("user", "list").stdout.split()


def test_keep_maildir(server, keep_root):
    user, pw = make_user(server)
    token = unique("km")
    bodies = fill(server, user, pw, token)
    dest = os.path.join(keep_root, "kept")
    r = server.cli("user", "del", user, "--keep", dest, check=True)
    assert r.stdout.startswith("kept 3 messages of "), r.stdout
    assert user not in users(server)
    inbox = mailbox.Maildir(dest, create=False)
    got = {m["Subject"]: m for m in inbox}
    assert set(got) == {"%s one" % token, "%s two" % token}
    one = got["%s one" % token]
    assert set(one.get_flags()) == {"S", "F"}
    assert one.get_subdir() == "cur"
    assert got["%s two" % token].get_flags() == ""
    # The content is the message with LF line ends.
    assert one.as_bytes().replace(b"\r\n", b"\n").endswith(
        bodies[0].split("\n\n", 1)[1].encode())
    sub = inbox.get_folder("Work.Sub")
    subs = list(sub)
    assert len(subs) == 1 and subs[0].get_flags() == "R"
    assert all(b"\r" not in open(os.path.join(dest, "cur", f), "rb").read()
               for f in os.listdir(os.path.join(dest, "cur")))


def test_keep_mbox(server, keep_root):
    user, pw = make_user(server)
    token = unique("kb")
    fill(server, user, pw, token)
    dest = os.path.join(keep_root, "kept")
    server.cli("user", "del", user, "--keep", dest, "--mbox", check=True)
    box = mailbox.mbox(os.path.join(dest, "INBOX.mbox"), create=False)
    msgs = {m["Subject"]: m for m in box}
    assert set(msgs) == {"%s one" % token, "%s two" % token}
    one = msgs["%s one" % token]
    assert "R" in one.get_flags() and "F" in one.get_flags()
    # mboxrd: the body's "From " line is quoted, so it did not split the
    # message.
    assert b"\n>From here on" in one.as_bytes()
    sub = mailbox.mbox(os.path.join(dest, "Work.Sub.mbox"), create=False)
    assert [m["Subject"] for m in sub] == ["%s three" % token]
    assert "A" in list(sub)[0].get_flags()


def test_keep_failure_deletes_nothing(server, tmp_path):
    user, pw = make_user(server)
    fill(server, user, pw, unique("kf"))
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    r = server.cli("user", "del", user, "--keep", str(blocker / "x"))
    assert r.returncode != 0
    assert user in users(server)
    r = server.cli("user", "del", user, "--mbox")
    assert r.returncode == 2
    assert user in users(server)
