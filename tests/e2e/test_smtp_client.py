"""The outbound SMTP client (src/queue/smtpc.c) against a scripted remote
server (smtppeer.py), driven by tests/tools/smtpc_probe: what the remote
server receives (envelope, parameters, message octets) and the result the
client reports for every recipient.
"""

import email
import email.policy
import json
import os
import subprocess

import pytest

from conftest import REPO, assert_no_sanitizer, free_ports
from smtppeer import SmtpPeer

PROBE = os.environ.get("SMTPC_PROBE",
                       os.path.join(REPO, "build", "asan", "tools",
                                    "smtpc_probe"))
MSG = (b"From: a@client.test\r\nTo: b@peer.test\r\nSubject: hello\r\n"
       b"Message-ID: <1@client.test>\r\n\r\nHello there.\r\n")


@pytest.fixture(scope="module", autouse=True)
def _probe_present():
    if not os.path.exists(PROBE):
        pytest.skip("no %s (make asan)" % PROBE)


@pytest.fixture
def peers():
    made = []

    def make(**kw):
        p = SmtpPeer(**kw).start()
        made.append(p)
        return p
    yield make
    for p in made:
        p.stop()


def msgfile(tmp_path, data, name="msg.eml"):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def probe(peer_or_addr, msg, rcpts, tls="may", extra=(), env=None,
          timeout=120, host="mx.peer.test"):
    if isinstance(peer_or_addr, tuple):
        addr, port = peer_or_addr
    else:
        addr, port = peer_or_addr.host, peer_or_addr.port
    argv = [PROBE, "--addr", addr, "--port", str(port), "--host", host,
            "--tls", tls, "--from", "a@client.test", "--msg", msg,
            "--timeout", "10", "--connect-timeout", "5"]
    for r in rcpts:
        argv += ["--rcpt", r]
    argv += list(extra)
    run_env = dict(os.environ)
    run_env.update(env or {})
    # The CA store stays the system's unless a test says otherwise.
    proc = subprocess.run(argv, capture_output=True, timeout=timeout,
                          env=run_env)
    err = proc.stderr.decode(errors="replace")
    assert_no_sanitizer(err, "smtpc_probe")
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    return events, err


def results(events, tx=0):
    return {e["addr"]: e for e in events
            if e["event"] == "rcpt" and e["tx"] == tx}


def txs(events):
    return [e for e in events if e["event"] == "tx"]


def ready(events):
    return [e for e in events if e["event"] == "ready"][0]


# ---- the ordinary case ------------------------------------------------

def test_pipelined_transaction_with_dsn(peers, tmp_path):
    peer = peers()
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test:success+failure:rfc822;b+x=@peer.test",
                            "c@peer.test:never"],
                  extra=["--envid", "id 1=2", "--ret", "hdrs"])
    r = ready(ev)
    assert r["ok"] and "PIPELINING" in r["ext"] and "DSN" in r["ext"]
    res = results(ev)
    assert res["b@peer.test"]["code"] == 250
    assert res["c@peer.test"]["code"] == 250
    t = txs(ev)[0]
    assert t["ok"] and t["code"] == 250 and t["status"] == "2.0.0"
    assert peer.wait_sessions_closed()
    [s] = peer.sessions
    assert s.verbs() == ["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"]
    assert s.commands[0][1] == "client.test"
    # RFC 2920: MAIL, both RCPTs and DATA arrived in one go.
    assert [(v, n > 0) for v, n in s.waiting[1:4]] == [
        ("MAIL", True), ("RCPT", True), ("RCPT", True)]
    [tx] = peer.transactions()
    assert tx.mail_from == "a@client.test"
    p = tx.params()
    assert p["SIZE"] == str(len(MSG))
    assert p["RET"] == "HDRS"
    assert p["ENVID"] == "id+201+3D2"       # xtext, RFC 3461 §4
    assert "BODY" not in p and "SMTPUTF8" not in p
    assert tx.rcpt_params("b@peer.test") == {
        "NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;b+2Bx+3D@peer.test"}
    assert tx.rcpt_params("c@peer.test") == {"NOTIFY": "NEVER"}
    assert tx.data == MSG


def test_no_pipelining_no_dsn(peers, tmp_path):
    peer = peers(pipelining=False, dsn=False)
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test:success:rfc822;b@peer.test"],
                  extra=["--envid", "x", "--ret", "full"])
    assert "PIPELINING" not in ready(ev)["ext"]
    assert txs(ev)[0]["code"] == 250
    peer.wait_sessions_closed()
    # Without PIPELINING each command waits for the previous reply.
    assert all(n == 0 for v, n in peer.sessions[0].waiting
               if v in ("MAIL", "RCPT"))
    [tx] = peer.transactions()
    # RFC 3461 §4: no DSN parameters to a server without DSN.
    assert set(tx.params()) == {"SIZE"}
    assert tx.rcpt_params("b@peer.test") == {}
    assert tx.data == MSG


def test_recipient_replies_each_their_own(peers, tmp_path):
    peer = peers(rcpt_replies={"full@peer.test": ["452 4.2.2 mailbox full"],
                               "gone@peer.test": ["550 5.1.1 no such user"]})
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["ok@peer.test", "full@peer.test",
                            "gone@peer.test", "ok2@peer.test"])
    res = results(ev)
    assert (res["ok@peer.test"]["code"], res["ok@peer.test"]["status"]) == \
        (250, "2.0.0")
    assert (res["full@peer.test"]["code"],
            res["full@peer.test"]["status"]) == (452, "4.2.2")
    assert res["full@peer.test"]["text"] == "452 4.2.2 mailbox full"
    assert (res["gone@peer.test"]["code"],
            res["gone@peer.test"]["status"]) == (550, "5.1.1")
    assert res["ok2@peer.test"]["code"] == 250
    [tx] = peer.transactions()
    assert tx.accepted == ["ok@peer.test", "ok2@peer.test"]
    assert tx.data == MSG


def test_all_refused_then_rset_before_next(peers, tmp_path):
    peer = peers(rcpt_replies={"x@peer.test": ["550 5.1.1 no",
                                               "250 2.1.5 ok"]})
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["x@peer.test"], extra=["--repeat", "2"])
    assert results(ev, 0)["x@peer.test"]["code"] == 550
    assert txs(ev)[0]["ok"] and txs(ev)[0]["code"] == 550
    assert results(ev, 1)["x@peer.test"]["code"] == 250
    peer.wait_sessions_closed()
    [s] = peer.sessions
    assert s.verbs() == ["EHLO", "MAIL", "RCPT", "DATA", "RSET", "MAIL",
                         "RCPT", "DATA", "QUIT"]
    assert peer.messages() == [MSG]


@pytest.mark.parametrize("reply,code,status", [
    ("451 4.3.0 try again later", 451, "4.3.0"),
    ("554 5.7.1 looks like spam", 554, "5.7.1"),
    ("250 queued as 12", 250, "2.0.0"),
])
def test_reply_after_data(peers, tmp_path, reply, code, status):
    peer = peers(data_replies=[reply],
                 rcpt_replies={"no@peer.test": ["550 5.1.1 no"]})
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test", "no@peer.test"])
    res = results(ev)
    assert (res["b@peer.test"]["code"], res["b@peer.test"]["status"]) == \
        (code, status)
    assert res["b@peer.test"]["text"] == reply
    assert res["no@peer.test"]["code"] == 550
    assert txs(ev)[0]["code"] == code


def test_greylisting_then_accepted(peers, tmp_path):
    peer = peers(rcpt_replies={"b@peer.test": ["451 4.7.1 greylisted",
                                               "250 2.1.5 ok"]})
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"], extra=["--repeat", "2"])
    assert results(ev, 0)["b@peer.test"]["status"] == "4.7.1"
    assert results(ev, 1)["b@peer.test"]["code"] == 250
    assert peer.messages() == [MSG]


def test_mail_refused(peers, tmp_path):
    peer = peers(mail_replies=["553 5.7.1 sender refused"])
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test", "c@peer.test"])
    for r in results(ev).values():
        assert (r["code"], r["status"]) == (553, "5.7.1")
    assert txs(ev)[0]["code"] == 553
    assert peer.messages() == []


# ---- the session ------------------------------------------------------

@pytest.mark.parametrize("greeting,code,status", [
    ("554 5.7.1 no service for you", 554, "5.7.1"),
    ("421 mx.peer.test busy, try later", 421, "4.0.0"),
])
def test_greeting_refusal_is_the_answer(peers, tmp_path, greeting, code,
                                        status):
    peer = peers(greeting=greeting)
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"])
    r = ready(ev)
    assert not r["ok"]
    assert (r["code"], r["status"], r["text"]) == (code, status, greeting)
    assert peer.transactions() == []


@pytest.mark.parametrize("host", ["127.0.3.7", "::1"])
def test_other_loopback_addresses(peers, tmp_path, host):
    peer = peers(host=host)
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"])
    assert ready(ev)["peer"] == "mx.peer.test[%s]:%d" % (host, peer.port)
    assert results(ev)["b@peer.test"]["code"] == 250
    assert peer.messages() == [MSG]


def test_connect_timeout(tmp_path):
    import socket
    # A listener whose accept queue is full drops new SYNs: the connect
    # neither succeeds nor fails (loopback only).
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    fillers = []
    try:
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(lst.getsockname())
            fillers.append(s)
        m = msgfile(tmp_path, MSG)
        ev, _ = probe(lst.getsockname(), m, ["b@peer.test"],
                      extra=["--connect-timeout", "1"])
    finally:
        for s in fillers:
            s.close()
        lst.close()
    r = ready(ev)
    assert (r["code"], r["status"]) == (421, "4.4.1")
    assert "timed out" in r["text"]


def test_helo_when_ehlo_refused(peers, tmp_path):
    peer = peers(ehlo_reply="502 5.5.1 EHLO not implemented")
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test:success:rfc822;b@peer.test"])
    assert ready(ev)["ext"] == []
    assert txs(ev)[0]["code"] == 250
    peer.wait_sessions_closed()
    assert peer.sessions[0].verbs()[:3] == ["EHLO", "HELO", "MAIL"]
    [tx] = peer.transactions()
    assert tx.params() == {} and tx.rcpt_params("b@peer.test") == {}
    assert tx.data == MSG


def test_two_transactions_one_connection(peers, tmp_path):
    peer = peers()
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"], extra=["--repeat", "2"])
    assert [t["code"] for t in txs(ev)] == [250, 250]
    assert txs(ev)[1]["count"] == 2
    peer.wait_sessions_closed()
    assert len(peer.sessions) == 1
    assert peer.sessions[0].verbs().count("MAIL") == 2
    assert "RSET" not in peer.sessions[0].verbs()
    assert peer.messages() == [MSG, MSG]


def test_connection_refused(tmp_path):
    [port] = free_ports(1)
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(("127.0.0.1", port), m, ["b@peer.test"])
    r = ready(ev)
    assert not r["ok"]
    assert (r["code"], r["status"]) == (421, "4.4.1")
    assert "refused" in r["text"].lower()
    assert "mx.peer.test[127.0.0.1]:%d" % port in r["text"]


# ---- failures during the transaction ------------------------------------

def test_disconnect_mid_data(peers, tmp_path):
    peer = peers(drop_mid_data=1000)
    data = MSG + b"x" * 76 + b"\r\n"
    m = msgfile(tmp_path, data * 4000)
    ev, _ = probe(peer, m, ["b@peer.test", "c@peer.test"])
    for r in results(ev).values():
        assert (r["code"], r["status"]) == (421, "4.4.2")
        assert "lost connection with mx.peer.test[127.0.0.1]" in r["text"]
        assert "data" in r["text"]
    assert not txs(ev)[0]["ok"]
    assert peer.messages() == []


def test_slow_server_times_out(peers, tmp_path):
    peer = peers(delays={"DATA_END": 4})
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"], extra=["--timeout", "1"])
    r = results(ev)["b@peer.test"]
    assert (r["code"], r["status"]) == (421, "4.4.2")
    assert "timed out" in r["text"]


def test_slow_server_within_timeout(peers, tmp_path):
    peer = peers(delays={"EHLO": 1, "RCPT": 1, "DATA_END": 1})
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"], extra=["--timeout", "5"])
    assert results(ev)["b@peer.test"]["code"] == 250


def test_caller_leaves_mid_transaction(peers, tmp_path):
    # The caller frees the client while it waits for the end-of-data
    # reply: no callback follows, nothing leaks (ASan), the server sees
    # the connection go.
    peer = peers(delays={"DATA_END": 3})
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"], extra=["--free-after", "700"])
    assert [e["event"] for e in ev] == ["ready", "freed"]
    assert peer.wait_sessions_closed()


def test_caller_leaves_mid_body(peers, tmp_path):
    peer = peers(delays={"DATA": 0.3})
    m = msgfile(tmp_path, (MSG + b"z" * 998 + b"\r\n") * 20000)
    ev, _ = probe(peer, m, ["b@peer.test"], extra=["--free-after", "400"])
    assert ev[-1]["event"] == "freed"
    assert peer.wait_sessions_closed()


def raw_server(script):
    """A one-connection server that sends script's byte strings, each
    after reading one line, and then closes: for malformed replies."""
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def run():
        conn, _ = srv.accept()
        conn.settimeout(10)
        f = conn.makefile("rb")
        try:
            conn.sendall(script[0])
            for chunk in script[1:]:
                f.readline()
                conn.sendall(chunk)
            f.readline()
        except OSError:
            pass
        conn.close()
        srv.close()
    threading.Thread(target=run, daemon=True).start()
    return ("127.0.0.1", srv.getsockname()[1])


@pytest.mark.parametrize("script", [
    [b"220-hello\r\n221 mixed codes\r\n"],
    [b"220 hi\r\n", b"250-x\r\n" * 200],
    [b"220 hi\r\n", b"250 " + b"a" * 5000 + b"\r\n"],
    [b"22 short\r\n"],
])
def test_malformed_replies(tmp_path, script):
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(raw_server(script), m, ["b@peer.test"])
    r = ready(ev)
    assert not r["ok"]
    assert (r["code"], r["status"]) == (421, "4.5.0")
    assert "malformed reply" in r["text"]


# ---- refused before sending ---------------------------------------------

def test_size_over_server_limit(peers, tmp_path):
    peer = peers(size=1000)
    m = msgfile(tmp_path, MSG + b"y" * 2000 + b"\r\n")
    ev, _ = probe(peer, m, ["b@peer.test"])
    assert ready(ev)["size"] == 1000
    r = results(ev)["b@peer.test"]
    assert (r["code"], r["status"]) == (552, "5.3.4")
    assert txs(ev)[0]["ok"]
    peer.wait_sessions_closed()
    assert "MAIL" not in peer.sessions[0].verbs()


def test_smtputf8_needed_but_absent(peers, tmp_path):
    peer = peers(smtputf8=False)
    m = msgfile(tmp_path, "To: José <josé@peer.test>\r\n\r\nhi\r\n"
                .encode())
    ev, _ = probe(peer, m, ["b@peer.test"], extra=["--smtputf8", "--8bit"])
    r = results(ev)["b@peer.test"]
    assert (r["code"], r["status"]) == (553, "5.6.7")
    peer.wait_sessions_closed()
    assert "MAIL" not in peer.sessions[0].verbs()


def test_smtputf8_passed_on(peers, tmp_path):
    peer = peers()
    data = "To: José <josé@peer.test>\r\n\r\nhi\r\n".encode()
    m = msgfile(tmp_path, data)
    ev, _ = probe(peer, m, ["b@peer.test"], extra=["--smtputf8", "--8bit"])
    assert results(ev)["b@peer.test"]["code"] == 250
    [tx] = peer.transactions()
    assert tx.params()["SMTPUTF8"] is True
    assert tx.params()["BODY"] == "8BITMIME"
    assert tx.data == data


# ---- the message ----------------------------------------------------------

EIGHTBIT = ("From: a@client.test\r\nTo: b@peer.test\r\nSubject: caf\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
            "Grüße aus Köln, ça va ? — 😀\r\n.leading dot\r\n").encode()


def test_8bit_passed_on_with_8bitmime(peers, tmp_path):
    peer = peers()
    m = msgfile(tmp_path, EIGHTBIT)
    ev, _ = probe(peer, m, ["b@peer.test"], extra=["--8bit"])
    assert results(ev)["b@peer.test"]["code"] == 250
    [tx] = peer.transactions()
    assert tx.params()["BODY"] == "8BITMIME"
    assert tx.data == EIGHTBIT


def test_8bit_downgraded_without_8bitmime(peers, tmp_path):
    peer = peers(eightbitmime=False)
    m = msgfile(tmp_path, EIGHTBIT)
    ev, _ = probe(peer, m, ["b@peer.test"], extra=["--8bit"])
    r = results(ev)["b@peer.test"]
    assert r["code"] == 250, r
    [tx] = peer.transactions()
    assert "BODY" not in tx.params()
    assert all(b < 0x80 for b in tx.data)
    msg = email.message_from_bytes(tx.data, policy=email.policy.default)
    assert msg["Content-Transfer-Encoding"].lower() == "quoted-printable"
    orig = email.message_from_bytes(EIGHTBIT, policy=email.policy.default)
    assert msg.get_content() == orig.get_content()
    assert msg["Subject"] == "caf"


def test_8bit_that_cannot_be_downgraded(peers, tmp_path):
    peer = peers(eightbitmime=False)
    # RFC 6152 §3: 8-bit octets in a header cannot be made 7-bit.
    m = msgfile(tmp_path, "Subject: Grüße\r\n\r\nhi\r\n".encode())
    ev, _ = probe(peer, m, ["b@peer.test"], extra=["--8bit"])
    r = results(ev)["b@peer.test"]
    assert (r["code"], r["status"]) == (554, "5.6.3")
    assert txs(ev)[0]["ok"]
    peer.wait_sessions_closed()
    assert "MAIL" not in peer.sessions[0].verbs()


def test_dot_stuffing_round_trip(peers, tmp_path):
    peer = peers()
    data = (b"Subject: dots\r\n\r\n.\r\n..\r\n.x\r\n x.\r\n...\r\n"
            b".\r\n.\r\nend\r\n.")
    m = msgfile(tmp_path, data + b"\r\n")
    ev, _ = probe(peer, m, ["b@peer.test"])
    assert results(ev)["b@peer.test"]["code"] == 250
    assert peer.messages() == [data + b"\r\n"]


def test_message_without_final_newline(peers, tmp_path):
    peer = peers()
    m = msgfile(tmp_path, b"Subject: x\r\n\r\nno newline at the end")
    ev, _ = probe(peer, m, ["b@peer.test"])
    assert results(ev)["b@peer.test"]["code"] == 250
    assert peer.messages() == [b"Subject: x\r\n\r\nno newline at the end\r\n"]


def test_five_megabytes(peers, tmp_path):
    peer = peers(size=20_000_000)
    line = b"0123456789abcdefghijklmnopqrstuvwxyz.ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    body = b"".join(b"%s%06d\r\n" % (b"." if i % 7 == 0 else b"", i) + line
                    + b"\r\n" for i in range(5 * 1024 * 1024 // 70))
    data = MSG + body
    assert len(data) > 5_000_000
    m = msgfile(tmp_path, data)
    ev, _ = probe(peer, m, ["b@peer.test"])
    assert results(ev)["b@peer.test"]["code"] == 250
    [tx] = peer.transactions()
    assert tx.params()["SIZE"] == str(len(data))
    assert tx.data == data


# ---- TLS ---------------------------------------------------------------

def test_starttls_opportunistic(peers, tmp_path):
    peer = peers(tls="cert")
    m = msgfile(tmp_path, MSG)
    ev, err = probe(peer, m, ["b@peer.test"])
    r = ready(ev)
    assert r["ok"] and r["tls"] and not r["verified"]
    assert r["tls_info"].startswith("TLSv1.")
    assert "STARTTLS" not in r["ext"]
    assert results(ev)["b@peer.test"]["code"] == 250
    peer.wait_sessions_closed()
    s = peer.sessions[0]
    assert s.tls
    assert s.verbs()[:4] == ["EHLO", "STARTTLS", "EHLO", "MAIL"]
    assert peer.messages() == [MSG]
    assert "event=smtpc_tls" in err and "verified=no" in err


def test_plaintext_when_not_offered(peers, tmp_path):
    peer = peers()
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"])
    assert not ready(ev)["tls"]
    assert results(ev)["b@peer.test"]["code"] == 250


def test_tls_none_ignores_starttls(peers, tmp_path):
    peer = peers(tls="cert")
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"], tls="none")
    assert not ready(ev)["tls"]
    assert results(ev)["b@peer.test"]["code"] == 250
    peer.wait_sessions_closed()
    assert "STARTTLS" not in peer.sessions[0].verbs()


def test_encrypt_required_but_not_offered(peers, tmp_path):
    peer = peers()
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"], tls="encrypt")
    r = ready(ev)
    assert not r["ok"]
    assert r["code"] == 421 and r["status"].startswith("4.7.")
    assert "TLS" in r["text"]
    assert peer.transactions() == []


def test_encrypt_with_any_certificate(peers, tmp_path):
    peer = peers(tls="cert")
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"], tls="encrypt")
    assert ready(ev)["tls"]
    assert results(ev)["b@peer.test"]["code"] == 250


def test_verify_fails_on_self_signed(peers, tmp_path):
    peer = peers(tls="cert")
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"], tls="verify")
    r = ready(ev)
    assert not r["ok"]
    assert (r["code"], r["status"]) == (421, "4.7.5")
    assert "not verified" in r["text"]
    assert peer.transactions() == []


def test_verify_with_trusted_certificate(peers, tmp_path):
    peer = peers(tls="cert")
    m = msgfile(tmp_path, MSG)
    env = {"SSL_CERT_FILE": peer.cert_path, "SSL_CERT_DIR": str(tmp_path)}
    ev, _ = probe(peer, m, ["b@peer.test"], tls="verify", env=env)
    r = ready(ev)
    assert r["ok"] and r["tls"] and r["verified"], r
    assert results(ev)["b@peer.test"]["code"] == 250
    # The same certificate for another name does not verify.
    ev, _ = probe(peer, m, ["b@peer.test"], tls="verify", env=env,
                  host="other.peer.test")
    assert ready(ev)["status"] == "4.7.5"


def test_auth_over_tls(peers, tmp_path):
    peer = peers(tls="cert", auth={"relay": "s3cret"})
    m = msgfile(tmp_path, MSG)
    ev, err = probe(peer, m, ["b@peer.test"], tls="encrypt",
                    extra=["--auth", "relay:s3cret"])
    assert ready(ev)["ok"], ready(ev)
    assert results(ev)["b@peer.test"]["code"] == 250
    peer.wait_sessions_closed()
    assert ("AUTH", "PLAIN") in peer.sessions[0].commands
    assert "s3cret" not in err
    ev, _ = probe(peer, m, ["b@peer.test"], tls="encrypt",
                  extra=["--auth", "relay:wrong"])
    r = ready(ev)
    assert not r["ok"] and (r["code"], r["status"]) == (421, "4.7.0")


def test_auth_login_when_only_login(peers, tmp_path):
    peer = peers(tls="cert", auth={"relay": "s3cret"}, auth_mechs=["LOGIN"])
    m = msgfile(tmp_path, MSG)
    ev, err = probe(peer, m, ["b@peer.test"], tls="encrypt",
                    extra=["--auth", "relay:s3cret"])
    assert ready(ev)["ok"], ready(ev)
    assert results(ev)["b@peer.test"]["code"] == 250
    peer.wait_sessions_closed()
    assert ("AUTH", "LOGIN") in peer.sessions[0].commands
    assert "s3cret" not in err


def test_starttls_refused(peers, tmp_path):
    # may: the refusal leaves the session in plain text (RFC 3207 §4);
    # encrypt: a temporary failure.
    peer = peers(tls="cert", starttls_reply="454 4.7.0 TLS not available")
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"])
    assert ready(ev)["ok"] and not ready(ev)["tls"]
    assert results(ev)["b@peer.test"]["code"] == 250
    ev, _ = probe(peer, m, ["b@peer.test"], tls="encrypt")
    r = ready(ev)
    assert not r["ok"] and (r["code"], r["status"]) == (421, "4.7.4")
    assert "454 4.7.0 TLS not available" in r["text"]


def test_auth_never_without_tls(peers, tmp_path):
    peer = peers(auth={"relay": "s3cret"})
    m = msgfile(tmp_path, MSG)
    ev, _ = probe(peer, m, ["b@peer.test"],
                  extra=["--auth", "relay:s3cret"])
    r = ready(ev)
    assert not r["ok"] and r["status"].startswith("4.7.")
    peer.wait_sessions_closed()
    assert "AUTH" not in peer.sessions[0].verbs()
