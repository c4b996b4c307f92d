"""TLS-RPT (RFC 8460), end to end: a domain publishes an MTA-STS policy
(stsutil.py's HTTPS server with a test CA) and a _smtp._tls record whose
rua is a mailbox at a second scripted SMTP peer. Postel delivers to the
domain, counts each session's result, and `postel tlsrpt send --all`
queues the aggregate report, which arrives at the reporting peer: the
test gunzips the attachment and reads the JSON as a report consumer
would (Python's email, gzip and json, none of it Postel's code).
"""

import base64
import email
import email.policy
import gzip
import json

import pytest

from conftest import unique
from queueutil import (message, new_ip, outbound_config, peer_tokens,
                       submit, wait_for)
from smtppeer import SmtpPeer
from stsutil import Behaviour, CAPeer, PolicyServer, StsCA, policy, txt0

DOMAIN = "rpt.test"
MX = "mx.rpt.test"
RUA_DOMAIN = "reports.test"
RUA = "tls-reports@" + RUA_DOMAIN
HOSTNAME = "mail.test"  # conftest.py's hostname


@pytest.fixture(scope="module")
def ca():
    return StsCA()


def start(ca, dns_server, server_factory, made, mode, mx_in_policy,
          peer_tls):
    ip, rua_ip, web_ip = new_ip(), new_ip(), new_ip()
    if peer_tls == "ca":
        peer = CAPeer(ca.leaf(MX), host=ip, port=25, tls="cert").start()
    else:
        peer = SmtpPeer(host=ip, port=25, tls=peer_tls).start()
    made.append(peer)
    rua_peer = SmtpPeer(host=rua_ip, port=25).start()
    made.append(rua_peer)
    web = PolicyServer(web_ip, *ca.leaf("mta-sts." + DOMAIN))
    made.append(web)
    web.hosts["mta-sts." + DOMAIN] = Behaviour(policy(mode, mx_in_policy))
    dns = dns_server({
        DOMAIN: {"MX": [(10, MX)]}, MX: {"A": [ip]},
        "_mta-sts." + DOMAIN: {"TXT": [txt0("_mta-sts." + DOMAIN,
                                            "v=STSv1; id=r1")]},
        "mta-sts." + DOMAIN: {"A": [web_ip]},
        "_smtp._tls." + DOMAIN: {"TXT": [
            "v=TLSRPTv1; rua=mailto:%s,https://reports.example/x" % RUA]},
        RUA_DOMAIN: {"MX": [(10, "mx." + RUA_DOMAIN)]},
        "mx." + RUA_DOMAIN: {"A": [rua_ip]},
    })
    srv = server_factory(config=outbound_config(
        dns, tls_ca_file=ca.cert, mta_sts_fetch_port=web.port,
        mta_sts_fetch_timeout=5))
    return srv, peer, rua_peer


@pytest.fixture
def made():
    objs = []
    yield objs
    for o in objs:
        o.stop()


def report_of(rua_peer):
    """(message, report JSON) of the one report the peer received."""
    msgs = wait_for(lambda: rua_peer.messages(), what="the report")
    assert len(msgs) == 1
    msg = email.message_from_bytes(msgs[0], policy=email.policy.default)
    parts = [p for p in msg.walk()
             if p.get_content_type() == "application/tlsrpt+gzip"]
    assert len(parts) == 1
    raw = base64.b64decode(parts[0].get_payload())
    return msg, json.loads(gzip.decompress(raw)), parts[0]


def send_reports(srv):
    # The counts reach the store within a second of the session.
    def sent():
        r = srv.cli("tlsrpt", "send", "--all")
        assert r.returncode == 0, (r.stdout, r.stderr)
        return "queued 1 report(s)" in r.stdout
    wait_for(sent, timeout=10, what="a report to send", step=0.5)


def test_testing_mode_failure_reported(ca, dns_server, server_factory,
                                       made):
    srv, peer, rua_peer = start(ca, dns_server, server_factory, made,
                                "testing", MX, peer_tls=None)
    tokens = [unique("rpt%d" % i) for i in range(2)]
    for t in tokens:
        submit(srv, ["bob@" + DOMAIN], message(t))
    wait_for(lambda: all(t in peer_tokens(peer) for t in tokens),
             what="both messages at the peer")
    send_reports(srv)
    msg, rep, part = report_of(rua_peer)
    # RFC 8460 §5.3: the message.
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "tlsrpt"
    assert msg["TLS-Report-Domain"] == DOMAIN
    assert msg["TLS-Report-Submitter"] == HOSTNAME
    assert msg["Subject"].startswith("Report Domain: %s Submitter: %s "
                                     "Report-ID: <" % (DOMAIN,
                                                       HOSTNAME))
    assert part.get_filename().startswith("%s!%s!" % (HOSTNAME,
                                                      DOMAIN))
    assert part.get_filename().endswith(".json.gz")
    # RFC 8460 §4.4: the report.
    assert rep["organization-name"] == HOSTNAME
    assert rep["date-range"]["start-datetime"].endswith("T00:00:00Z")
    assert rep["date-range"]["end-datetime"].endswith("T23:59:59Z")
    assert rep["report-id"] in msg["Subject"]
    (pol,) = rep["policies"]
    assert pol["policy"]["policy-type"] == "sts"
    assert pol["policy"]["policy-domain"] == DOMAIN
    assert "mode: testing" in pol["policy"]["policy-string"]
    assert pol["policy"]["mx-host"] == [MX]
    assert pol["summary"]["total-successful-session-count"] == 0
    assert pol["summary"]["total-failure-session-count"] >= 1
    (fail,) = pol["failure-details"]
    assert fail["result-type"] == "starttls-not-supported"
    assert fail["receiving-mx-hostname"] == MX
    assert fail["failed-session-count"] == \
        pol["summary"]["total-failure-session-count"]
    # Reported once: the counts are gone with the report.
    r = srv.cli("tlsrpt", "send", "--all")
    assert r.returncode == 0 and "queued 0 report(s)" in r.stdout


def test_enforce_success_reported(ca, dns_server, server_factory, made):
    srv, peer, rua_peer = start(ca, dns_server, server_factory, made,
                                "enforce", MX, peer_tls="ca")
    token = unique("rptok")
    submit(srv, ["bob@" + DOMAIN], message(token))
    wait_for(lambda: token in peer_tokens(peer), what="the message")
    send_reports(srv)
    _, rep, _ = report_of(rua_peer)
    (pol,) = rep["policies"]
    assert "mode: enforce" in pol["policy"]["policy-string"]
    assert pol["summary"]["total-successful-session-count"] >= 1
    assert pol["summary"]["total-failure-session-count"] == 0
    assert pol["failure-details"] == []


def test_report_cli_usage(server):
    r = server.cli("tlsrpt", "--help")
    assert r.returncode == 0 and "tlsrpt send" in r.stdout
    r = server.cli("tlsrpt", "bogus")
    assert r.returncode == 2
    # Nothing counted: nothing queued.
    r = server.cli("tlsrpt", "send")
    assert r.returncode == 0 and "queued 0 report(s)" in r.stdout


def test_yesterdays_counts_reported_by_the_server_itself(ca, dns_server,
                                                         server_factory,
                                                         made):
    # Counts of a finished UTC day are reported without the CLI: here
    # yesterday's, put in the store while the server is stopped (as a
    # server running over midnight leaves them); at its start the server
    # queues and sends the report.
    import sqlite3
    import time
    srv, peer, rua_peer = start(ca, dns_server, server_factory, made,
                                "testing", MX, peer_tls=None)
    srv.stop_checked()
    yesterday = (int(time.time()) // 86400 - 1) * 86400
    db = sqlite3.connect(srv.dir + "/postel.db")
    db.execute("INSERT INTO tlsrpt_results VALUES (?, ?, ?, ?, ?, ?, ?, "
               "?)", (yesterday, DOMAIN, MX, "certificate-expired", 5,
                      "sts", "version: STSv1\nmode: testing\nmx: " + MX +
                      "\nmax_age: 86400", RUA))
    db.commit()
    db.close()
    srv.start()
    _, rep, _ = report_of(rua_peer)
    assert rep["date-range"]["start-datetime"] == time.strftime(
        "%Y-%m-%dT00:00:00Z", time.gmtime(yesterday))
    (pol,) = rep["policies"]
    assert pol["summary"]["total-failure-session-count"] == 5
    assert pol["failure-details"][0]["result-type"] == \
        "certificate-expired"
