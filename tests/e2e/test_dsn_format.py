"""The DSN builder's output read by an independent parser (Python's email
package), as a sender's mail client would: RFC 3464 multipart/report with
report-type=delivery-status, the human part, the per-message and
per-recipient delivery-status fields, and the returned message intact.

The DSN is built by tests/tools/dsn_tool.c (dsn_build, no server needed;
`make build/asan/tools/dsn_tool`, which `make e2e` builds too).
"""

import email
import email.policy
import email.utils
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TOOL = os.environ.get("DSN_TOOL",
                      os.path.join(REPO, "build", "asan", "tools", "dsn_tool"))

ORIG = (b"From: Alice <alice@example.test>\r\n"
        b"To: bob@remote.test, carol@remote.test\r\n"
        b"Subject: quarterly numbers\r\n"
        b"Message-ID: <q3.2023@example.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"\r\n"
        b"Hello Bob,\r\n"
        b"\r\n"
        b"the numbers are attached in spirit.\r\n"
        b"-- \r\n"
        b"Alice\r\n")

FAILED = ("bob@remote.test|rfc822;bob@remote.test|failed|5.1.1|"
          "mx.remote.test[127.0.0.5]|550 5.1.1 <bob@remote.test>: Recipient "
          "address rejected: User unknown in local recipient table|"
          "1700003000|0")
DELAYED = ("carol@remote.test||delayed|4.4.1||connect to mx.remote.test"
           "[127.0.0.6]:25: Connection refused|1700003000|1700400000")


@pytest.fixture(scope="module")
def tool():
    if not os.path.exists(TOOL):
        subprocess.run(["make", "-s", "-C", REPO, "build/asan/tools/dsn_tool"],
                       check=True, timeout=600)
    return TOOL


def build(tool, tmp_path, rcpts, orig=ORIG, *args):
    path = tmp_path / "orig.eml"
    path.write_bytes(orig)
    argv = [tool, "--orig", str(path), "--host", "mx.example.test",
            "--to", "alice@example.test", "--qid", "0123456789AB",
            "--arrival", "1700000000", "--now", "1700003600", *args]
    for r in rcpts:
        argv += ["--rcpt", r]
    res = subprocess.run(argv, capture_output=True, timeout=60, check=True)
    return res.stdout


def check_lines(raw):
    """CRLF line ends only, no line longer than 998 octets (RFC 5322)."""
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def report_parts(msg):
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert len(parts) == 3
    return parts


def test_failure_returns_whole_message(tool, tmp_path):
    raw = build(tool, tmp_path, [FAILED, DELAYED], ORIG, "--envid", "ENV-7")
    check_lines(raw)
    assert all(b < 0x80 for b in raw)
    msg = parse(raw)
    assert msg["From"] == '"Mail Delivery System" <postmaster@mx.example.test>'
    assert msg["To"] == "<alice@example.test>"
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["In-Reply-To"] == "<q3.2023@example.test>"
    assert msg["References"] == "<q3.2023@example.test>"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith(
        "@mx.example.test>")
    assert email.utils.parsedate_to_datetime(msg["Date"]).timestamp() == \
        1700003600
    assert not msg.defects

    human, status, returned = report_parts(msg)
    assert human.get_content_type() == "text/plain"
    text = human.get_payload(decode=True).decode("ascii")
    assert "<bob@remote.test>" in text and "User unknown" in text
    assert "<carol@remote.test>" in text and "Connection refused" in text
    assert "could not be delivered" in text and "still trying" in text

    # RFC 3464 §2.1: per-message fields, then one block per recipient.
    assert status.get_content_type() == "message/delivery-status"
    blocks = status.get_payload()
    assert len(blocks) == 3
    per_msg, bob, carol = blocks
    assert per_msg["Reporting-MTA"] == "dns; mx.example.test"
    assert per_msg["Original-Envelope-Id"] == "ENV-7"
    assert email.utils.parsedate_to_datetime(
        per_msg["Arrival-Date"]).timestamp() == 1700000000
    assert bob["Original-Recipient"] == "rfc822;bob@remote.test"
    assert bob["Final-Recipient"] == "rfc822; bob@remote.test"
    assert bob["Action"] == "failed"
    assert bob["Status"] == "5.1.1"
    assert bob["Remote-MTA"] == "dns; mx.remote.test"
    diag = " ".join(bob["Diagnostic-Code"].split())
    assert diag == ("smtp; 550 5.1.1 <bob@remote.test>: Recipient address "
                    "rejected: User unknown in local recipient table")
    assert email.utils.parsedate_to_datetime(
        bob["Last-Attempt-Date"]).timestamp() == 1700003000
    assert bob["Will-Retry-Until"] is None
    assert carol["Original-Recipient"] is None
    assert carol["Final-Recipient"] == "rfc822; carol@remote.test"
    assert carol["Action"] == "delayed"
    assert carol["Status"] == "4.4.1"
    assert carol["Diagnostic-Code"].startswith("X-Postel; connect to")
    assert email.utils.parsedate_to_datetime(
        carol["Will-Retry-Until"]).timestamp() == 1700400000

    # The returned message is the original, octet for octet.
    assert returned.get_content_type() == "message/rfc822"
    inner = returned.get_payload(0)
    assert inner["Subject"] == "quarterly numbers"
    assert inner["Message-ID"] == "<q3.2023@example.test>"
    boundary = msg.get_boundary().encode()
    third = raw.split(b"--" + boundary)[3]
    body = third.split(b"\r\n\r\n", 1)[1]
    assert body == ORIG + b"\r\n"   # the CRLF before the delimiter


def test_ret_hdrs_returns_header_only(tool, tmp_path):
    raw = build(tool, tmp_path, [FAILED], ORIG, "--ret", "hdrs")
    check_lines(raw)
    msg = parse(raw)
    _, _, returned = report_parts(msg)
    assert returned.get_content_type() == "text/rfc822-headers"
    hdr = returned.get_payload(decode=True)
    assert hdr == ORIG.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    assert b"the numbers" not in raw
    headers = email.message_from_bytes(hdr)
    assert headers["Subject"] == "quarterly numbers"


def test_delay_notice_returns_headers(tool, tmp_path):
    raw = build(tool, tmp_path, [DELAYED], ORIG, "--ret", "full")
    check_lines(raw)
    msg = parse(raw)
    assert msg["Subject"] == "Delayed Mail (still being retried)"
    _, status, returned = report_parts(msg)
    blocks = status.get_payload()
    assert [b["Action"] for b in blocks[1:]] == ["delayed"]
    assert returned.get_content_type() == "text/rfc822-headers"


def test_success_notice(tool, tmp_path):
    ok = ("bob@remote.test|rfc822;bob@remote.test|delivered|2.0.0|"
          "mx.remote.test[127.0.0.5]|250 2.0.0 Ok: queued as 4XyZ|"
          "1700003000|0")
    raw = build(tool, tmp_path, [ok])
    msg = parse(raw)
    assert msg["Subject"] == "Successful Mail Delivery Report"
    _, status, returned = report_parts(msg)
    assert status.get_payload()[1]["Action"] == "delivered"
    assert status.get_payload()[1]["Status"] == "2.0.0"
    assert returned.get_content_type() == "text/rfc822-headers"


def test_too_large_is_cut_to_header(tool, tmp_path):
    big = ORIG + b"x" * 200 + b"\r\n"
    raw = build(tool, tmp_path, [FAILED], big, "--max", "100")
    msg = parse(raw)
    human, _, returned = report_parts(msg)
    assert returned.get_content_type() == "text/rfc822-headers"
    assert "too large" in human.get_payload(decode=True).decode()
    assert b"x" * 200 not in raw


def test_smtputf8_uses_global_types(tool, tmp_path):
    orig = ("From: Jörg <jörg@example.test>\r\nSubject: Grüße\r\n\r\n"
            "Käse\r\n").encode()
    rcpt = ("bøb@remote.test|utf-8;bøb@remote.test|failed|5.1.1|"
            "mx.remote.test[127.0.0.5]|550 5.1.1 unknown|1700003000|0")
    raw = build(tool, tmp_path, [rcpt], orig, "--smtputf8")
    check_lines(raw)
    msg = email.message_from_bytes(raw, policy=email.policy.SMTPUTF8)
    human, status, returned = report_parts(msg)
    assert human.get_content_charset() == "utf-8"
    assert "bøb@remote.test" in human.get_content()
    assert status.get_content_type() == "message/global-delivery-status"
    # RFC 6533 §6: the same field syntax, UTF-8 allowed; read the
    # blocks with the same parser.
    boundary = msg.get_boundary().encode()
    second = raw.split(b"--" + boundary)[2].decode("utf-8")
    body = second.split("\r\n\r\n", 1)[1]
    blocks = [email.message_from_string(b, policy=email.policy.SMTPUTF8)
              for b in body.split("\r\n\r\n") if b.strip()]
    assert blocks[0]["Reporting-MTA"] == "dns; mx.example.test"
    assert blocks[1]["Final-Recipient"] == "utf-8; bøb@remote.test"
    assert blocks[1]["Original-Recipient"] == "utf-8;bøb@remote.test"
    assert blocks[1]["Action"] == "failed"
    assert returned.get_content_type() == "message/global"
    third = raw.split(b"--" + boundary)[3]
    assert third.split(b"\r\n\r\n", 1)[1] == orig + b"\r\n"


def test_values_cannot_inject_headers(tool, tmp_path):
    evil = ("bob@remote.test\r\nBcc: evil@example.test|rfc822;x\nBcc: e@x|"
            "failed|5.1.1|mx\r\nBcc: y|550 no\r\nBcc: z|0|0")
    raw = build(tool, tmp_path, [evil], ORIG, "--envid", "e\r\nBcc: w",
                "--to", "alice@example.test\r\nBcc: v")
    check_lines(raw)
    msg = parse(raw)
    assert msg["Bcc"] is None
    _, status, _ = report_parts(msg)
    for block in status.get_payload():
        assert block["Bcc"] is None
