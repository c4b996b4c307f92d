"""MTA-STS for outbound mail (RFC 8461), end to end: the policy comes from
a local HTTPS server with a certificate of a test CA (stsutil.py), the
_mta-sts TXT record and every address from the test DNS server, and the
remote MX is a scripted SMTP peer (aiosmtpd) on port 25 of a loopback
address of its own. What is asserted is what a user or administrator
sees: the message at the peer (over TLS or not at all), the queue's log
lines and `postel queue show`, the requests the policy server got.
"""

import tempfile

import pytest

from conftest import unique
from queueutil import (log_field, log_lines, message, new_ip,
                       outbound_config, peer_tokens, remote_lines, submit,
                       wait_for)
from smtppeer import SmtpPeer, make_cert
from stsutil import (Behaviour, CAPeer, PolicyServer, StsCA, policy,
                     txt0)

DOMAIN = "sts.test"
MX = "mx.sts.test"
POLICY_HOST = "mta-sts.sts.test"
# Every fetch is bounded by mta_sts_fetch_timeout; the slow server waits
# longer than that. Generous: the handshake with the policy server counts,
# and an ASan build on a loaded machine can take seconds for it.
FETCH_TIMEOUT = 5
SLOW_DELAY = 12


@pytest.fixture(scope="module")
def ca():
    return StsCA()


@pytest.fixture
def rig(ca, dns_server, server_factory):
    """(make, parts): make(peer_kw, policy_behaviours, txt) starts the
    peer, the policy server and Postel."""
    made = []

    class Rig:
        def start(self, mode_policy, peer_tls="ca", txt="v=STSv1; id=1",
                  domain=DOMAIN, extra_hosts=None, web_self_signed=False,
                  **cfg):
            mx = "mx." + domain
            ip = new_ip()
            if peer_tls == "ca":
                self.peer = CAPeer(ca.leaf(mx), host=ip, port=25,
                                   tls="cert").start()
            else:
                self.peer = SmtpPeer(host=ip, port=25,
                                     tls=peer_tls).start()
            made.append(self.peer)
            web_ip = new_ip()
            hosts = ["mta-sts." + domain] + list(extra_hosts or [])
            if web_self_signed:
                self.web = PolicyServer(web_ip, *make_cert(
                    tempfile.mkdtemp(prefix="stsself-"), cn=hosts[0]))
            else:
                self.web = PolicyServer(web_ip, *ca.leaf(*hosts))
            made.append(self.web)
            if mode_policy is not None:
                self.web.hosts["mta-sts." + domain] = (
                    mode_policy if isinstance(mode_policy, Behaviour)
                    else Behaviour(mode_policy))
            zones = {domain: {"MX": [(10, mx)]}, mx: {"A": [ip]},
                     "_mta-sts." + domain: {"TXT": [txt0(
                         "_mta-sts." + domain, txt)]},
                     "mta-sts." + domain: {"A": [web_ip]}}
            for h in extra_hosts or []:
                zones[h] = {"A": [web_ip]}
            self.dns = dns_server(zones)
            conf = outbound_config(self.dns, tls_ca_file=ca.cert,
                                   mta_sts_fetch_port=self.web.port,
                                   mta_sts_fetch_timeout=FETCH_TIMEOUT)
            conf.update(cfg)
            self.srv = server_factory(config=conf)
            return self

    yield Rig()
    for m in made:
        m.stop()


def sts_lines(srv, result=None):
    return [l for l in log_lines(srv, "sts_result")
            if result is None or log_field(l, "result") == result]


def delivered(peer, token):
    return wait_for(lambda: token in peer_tokens(peer),
                    what="%s at the peer" % token)


def tls_of(peer, token):
    """Was the session that carried token under TLS?"""
    for s in peer.sessions:
        for t in s.transactions:
            if t.data is not None and token.encode() in t.data:
                return s.tls
    return None


def test_enforce_matching_mx_delivered_over_verified_tls(rig):
    r = rig.start(policy("enforce", MX))
    token = unique("stsok")
    qid = submit(r.srv, ["bob@" + DOMAIN], message(token))
    delivered(r.peer, token)
    assert tls_of(r.peer, token) is True
    sent = wait_for(lambda: remote_lines(r.srv, qid, "sent"),
                    what="the sent line")
    assert log_field(sent[0], "relay") == "%s[%s]:25" % (MX, r.peer.host)
    ok = wait_for(lambda: sts_lines(r.srv, "success"), what="sts success")
    assert log_field(ok[0], "mode") == "enforce"
    assert log_field(ok[0], "mx") == MX
    assert r.web.fetches(POLICY_HOST) == 1
    assert r.web.requests[0] == (POLICY_HOST, "/.well-known/mta-sts.txt")


def test_enforce_mismatching_mx_deferred_never_delivered(rig):
    r = rig.start(policy("enforce", "other.sts.test", "*.elsewhere.test"))
    token = unique("stsmx")
    qid = submit(r.srv, ["bob@" + DOMAIN], message(token))
    line = wait_for(lambda: remote_lines(r.srv, qid, "deferred"),
                    what="the deferral")[0]
    assert log_field(line, "dsn") == "4.7.5"
    assert "MTA-STS" in log_field(line, "reply")
    assert sts_lines(r.srv, "validation-failure")
    # Nobody connected to the MX at all, in clear or otherwise.
    assert r.peer.sessions == []
    show = r.srv.cli("queue", "show", qid)
    assert show.returncode == 0 and "MTA-STS" in show.stdout


def test_enforce_untrusted_certificate_deferred_never_plaintext(rig):
    # The peer's certificate is self-signed, not from the test CA.
    r = rig.start(policy("enforce", MX), peer_tls="cert")
    token = unique("stscert")
    qid = submit(r.srv, ["bob@" + DOMAIN], message(token))
    line = wait_for(lambda: remote_lines(r.srv, qid, "deferred"),
                    what="the deferral")[0]
    assert log_field(line, "dsn") == "4.7.5"
    assert wait_for(lambda: sts_lines(r.srv, "certificate-not-trusted"),
                    what="the certificate failure")
    assert token not in peer_tokens(r.peer)
    # The connection went no further than STARTTLS: no MAIL in clear.
    for s in r.peer.sessions:
        assert "MAIL" not in s.verbs()


def test_enforce_without_starttls_deferred(rig):
    r = rig.start(policy("enforce", MX), peer_tls=None)
    token = unique("stsnotls")
    qid = submit(r.srv, ["bob@" + DOMAIN], message(token))
    wait_for(lambda: remote_lines(r.srv, qid, "deferred"),
             what="the deferral")
    assert wait_for(lambda: sts_lines(r.srv, "starttls-not-supported"),
                    what="the STARTTLS failure")
    assert token not in peer_tokens(r.peer)


def test_testing_mode_delivers_and_records_the_failure(rig):
    # testing: the MX is not in the policy and has no STARTTLS; the mail
    # goes as before, the failure is recorded.
    r = rig.start(policy("testing", "other.sts.test"), peer_tls=None)
    token = unique("ststest")
    submit(r.srv, ["bob@" + DOMAIN], message(token))
    delivered(r.peer, token)
    assert tls_of(r.peer, token) is False
    line = wait_for(lambda: sts_lines(r.srv, "starttls-not-supported"),
                    what="the recorded failure")[0]
    assert log_field(line, "mode") == "testing"


def test_policy_cached_across_restart_and_refetched_on_new_id(rig):
    r = rig.start(policy("enforce", MX))
    t1 = unique("stsc1")
    submit(r.srv, ["bob@" + DOMAIN], message(t1))
    delivered(r.peer, t1)
    assert r.web.fetches(POLICY_HOST) == 1
    # A restart forgets every route and DNS answer, not the policy: the
    # TXT id is the same, so no second fetch.
    r.srv.restart()
    t2 = unique("stsc2")
    submit(r.srv, ["bob@" + DOMAIN], message(t2))
    delivered(r.peer, t2)
    assert r.web.fetches(POLICY_HOST) == 1
    # A new id: fetched again (now with a policy that has no mx of ours,
    # so the next message waits).
    r.dns.set("_mta-sts." + DOMAIN,
              {"TXT": [txt0("_mta-sts." + DOMAIN, "v=STSv1; id=2")]})
    r.web.hosts[POLICY_HOST] = Behaviour(policy("enforce", "x.sts.test"))
    r.srv.restart()
    t3 = unique("stsc3")
    qid = submit(r.srv, ["bob@" + DOMAIN], message(t3))
    wait_for(lambda: remote_lines(r.srv, qid, "deferred"),
             what="the deferral under the new policy")
    assert r.web.fetches(POLICY_HOST) == 2
    assert t3 not in peer_tokens(r.peer)


@pytest.mark.parametrize("name,behaviour,result", [
    ("redirect", Behaviour("", status=301, headers={
        "Location": "https://mta-sts.sts.test/other"}),
     "sts-policy-fetch-error"),
    ("notfound", Behaviour("", status=404), "sts-policy-fetch-error"),
    ("oversize", Behaviour(policy("enforce", "x.sts.test") +
                           "x-pad: " + "a" * 70000 + "\r\n"),
     "sts-policy-fetch-error"),
    ("slow", Behaviour(policy("enforce", "x.sts.test"), delay=SLOW_DELAY),
     "sts-policy-fetch-error"),
    ("html", Behaviour(policy("enforce", "x.sts.test"), ctype="text/html"),
     "sts-policy-invalid"),
    ("garbage", Behaviour("<html>hello</html>"), "sts-policy-invalid"),
])
def test_fetch_errors_leave_no_policy(rig, name, behaviour, result):
    # Each policy would refuse the MX; since none can be had, the mail
    # goes as without a policy (RFC 8461 §5), and the error is recorded.
    r = rig.start(behaviour)
    token = unique("stsf" + name)
    submit(r.srv, ["bob@" + DOMAIN], message(token))
    delivered(r.peer, token)
    line = wait_for(lambda: sts_lines(r.srv, result),
                    what="the %s result" % result)[0]
    assert log_field(line, "dest") == DOMAIN
    assert r.web.fetches(POLICY_HOST) == 1
    r.srv.check_alive()


def test_no_txt_record_no_fetch(rig):
    r = rig.start(policy("enforce", "x.sts.test"))
    r.dns.remove("_mta-sts." + DOMAIN)
    token = unique("stsnone")
    submit(r.srv, ["bob@" + DOMAIN], message(token))
    delivered(r.peer, token)
    assert r.web.fetches(POLICY_HOST) == 0
    assert sts_lines(r.srv) == []



def test_policy_server_certificate_not_trusted(rig):
    # The policy server's certificate is self-signed: RFC 8461 §3.3 wants
    # a valid one, so there is no policy (sts-webpki-invalid) and the
    # mail goes as without one.
    r = rig.start(policy("enforce", "x.sts.test"), web_self_signed=True)
    token = unique("stsself")
    submit(r.srv, ["bob@" + DOMAIN], message(token))
    delivered(r.peer, token)
    line = wait_for(lambda: sts_lines(r.srv, "sts-webpki-invalid"),
                    what="the certificate failure")[0]
    assert "certificate" in log_field(line, "why")
    # The TLS handshake failed before any request was made.
    assert r.web.fetches(POLICY_HOST) == 0
