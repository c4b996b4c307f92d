"""postel --help, COMMAND --help and --version: what an administrator
types first (issue 13)."""

import subprocess

import pytest

from conftest import POSTEL_BIN

COMMANDS = ["serve", "domain", "user", "alias", "queue", "route"]


def run(*args):
    return subprocess.run([POSTEL_BIN] + list(args), capture_output=True,
                          text=True, timeout=30)


def test_version():
    for flag in ("--version", "version"):
        r = run(flag)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("postel "), r.stdout
        assert r.stdout.split()[1][0].isdigit()


def test_help_lists_every_command_and_protocol():
    r = run("--help")
    assert r.returncode == 0, r.stderr
    for c in COMMANDS:
        assert "\n  %s " % c in r.stdout, (c, r.stdout)
    protos = r.stdout.split("PROTO:")[1].split()
    assert protos == ["smtp", "submission", "submissions", "pop3",
                      "pop3s", "imap", "imaps", "http", "https"]
    # No command at all: the same text on stderr, status 2.
    r = run()
    assert r.returncode == 2 and "usage: postel" in r.stderr


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help(cmd):
    r = run(cmd, "--help")
    assert r.returncode == 0, (cmd, r.stderr)
    assert r.stdout.startswith("usage: postel"), (cmd, r.stdout)
    assert cmd in r.stdout
