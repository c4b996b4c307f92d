"""A bounded run of the shared-mailbox stress (tests/e2e/imapstress.py):
5 sessions of one user for 10 s on two mailboxes (SELECT, FETCH with
bodies, STORE of keywords, EXPUNGE, APPEND, COPY, IDLE), every reply
checked against each session's model of its mailbox. The 20 x 60 s run
and its result are in docs/BENCHMARKS.md."""

import argparse

import imapstress


def test_stress_shared_mailboxes_has_no_errors(server):
    host, port = server.addr("imaps")
    args = argparse.Namespace(host=host, port=port,
                              user="alice@example.test",
                              password=server.users["alice@example.test"],
                              clients=5, seconds=10.0, seed=7)
    n, line, sh = imapstress.run(args)
    assert n == 0, (line, sh.errors)
    # Every kind of command ran.
    for op in ("SELECT", "FETCH", "STORE", "EXPUNGE", "APPEND", "COPY",
               "IDLE"):
        assert sh.counts.get(op, 0) > 0, line
    server.check_sanitizer()
