"""Recipient harvesting: refused recipients (550 5.1.1 unknown
user, 554 5.7.1 relay denied) count as errors of the SMTP session; after
smtp_max_bad_rcpts every RCPT is answered after a delay, and at
smtp_bad_rcpt_limit the session ends with 421 4.7.0 and is closed. Valid
recipients are unaffected, and another session delivers as usual meanwhile.
"""

from conftest import simple_message, unique
from rawclient import Closed, RawClient

SERVER_CONFIG = {
    "smtp_max_bad_rcpts": 2,
    "smtp_bad_rcpt_limit": 6,
    "smtp_bad_rcpt_delay_ms": 200,
}
LIMIT = 6


def open_session(server):
    host, port = server.addr("smtp")
    c = RawClient(host, port)
    code, _ = c.reply()
    assert code == 220
    c.ehlo()
    assert c.cmd("MAIL FROM:<h@remote.test>")[0] == 250
    return c


def test_unknown_recipients_end_the_session_with_421(server):
    c = open_session(server)
    other = server.smtp()
    try:
        codes = []
        for i in range(LIMIT - 1):
            if i == 2:
                # A relay attempt counts as well.
                codes.append(c.cmd("RCPT TO:<x%d@elsewhere.test>" % i)[0])
            else:
                codes.append(c.cmd("RCPT TO:<nobody%d@example.test>" % i)[0])
            # A valid recipient in between is still accepted (slowly).
            if i == 3:
                assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        assert codes == [550, 550, 554, 550, 550], codes
        # Meanwhile another session delivers as usual.
        token = unique("harvest")
        other.ehlo()
        other.mail("s@remote.test")
        assert other.rcpt("bob@example.test")[0] == 250
        assert other.data(simple_message(token))[0] == 250
        # The limit: the refusal, then 421 and the connection closes.
        code, lines = c.cmd("RCPT TO:<last@example.test>")
        assert code == 550, (code, lines)
        code, lines = c.reply()
        assert code == 421 and lines[0].startswith("4.7.0"), (code, lines)
        assert c.closed()
    finally:
        try:
            other.quit()
        except Exception:
            pass
    assert server.wait_messages("bob@example.test", 1, token.encode())
    assert server.wait_log(lambda l: "event=rcpt_limit" in l)


def test_pipelined_harvest_is_cut_off(server):
    # Pipelined RCPTs: the replies arrive in order, the session ends at the
    # limit and nothing after the 421 is answered.
    c = open_session(server)
    c.send("".join("RCPT TO:<p%d@example.test>\r\n" % i
                   for i in range(LIMIT + 4)))
    codes = []
    try:
        for _ in range(LIMIT + 4):
            codes.append(c.reply()[0])
    except Closed:
        pass
    assert codes == [550] * LIMIT + [421], codes


def test_valid_recipients_do_not_count(server):
    c = open_session(server)
    for _ in range(LIMIT + 2):
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221


def test_client_leaving_during_the_delay(server):
    # The delayed RCPT's timer outlives the connection: the server frees
    # the session only after it fired (ASan would see a use after free).
    for _ in range(3):
        c = open_session(server)
        for i in range(2):
            assert c.cmd("RCPT TO:<gone%d@example.test>" % i)[0] == 550
        c.send("RCPT TO:<gone@example.test>\r\nRCPT TO:<bob@example.test>\r\n")
        c.sock.close()
    # The server carries on.
    c = open_session(server)
    assert c.cmd("RCPT TO:<bob@example.test>")[0] == 250
    assert c.cmd("QUIT")[0] == 221
