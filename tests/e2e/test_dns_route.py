"""Mail routing through the resolver (src/dns/), seen with `postel route`.

Every test serves its own zone from tests/e2e/dnsserver.py on loopback and
points `resolver =` at it with `dnssec_trust_anchor = none`: what `route`
prints is what the outbound queue would try (RFC 5321 §5.1, RFC 7505).
"""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import POSTEL_BIN, Server, assert_no_sanitizer, try_serve

# Runs of `route` that must show both orders of two equal-preference MX
# hosts: the chance of one order every time is 2 * 0.5**40.
SHUFFLE_RUNS = 40
# `route` against a silent server must end (the resolver gives up in a few
# seconds, dns.h); this is only the bound of the test, not a speed check.
ROUTE_TIMEOUT = 60
START_FAIL_TIMEOUT = 20
DNS_HOST = "127.0.53.1"
MANY_MX = 100  # more than DNS_MX_RECORDS_MAX (64) too
DNS_MX_HOSTS_MAX = 16  # src/dns/dns.h

ZONES = {
    "pref.test": {"MX": [(20, "mx20.pref.test"), (5, "mx5.pref.test"),
                         (10, "mx10.pref.test")]},
    "mx5.pref.test": {"A": ["127.0.0.5"]},
    "mx10.pref.test": {"A": ["127.0.0.10"]},
    "mx20.pref.test": {"A": ["127.0.0.20"]},
    "equal.test": {"MX": [(10, "a.equal.test"), (10, "b.equal.test")]},
    "a.equal.test": {"A": ["127.0.1.1"]},
    "b.equal.test": {"A": ["127.0.1.2"]},
    "implicit.test": {"A": ["127.0.2.1"], "AAAA": ["::1"]},
    "nullmx.test": {"MX": [(0, ".")]},
    "cname.test": {"MX": [(10, "alias.cname.test")]},
    "alias.cname.test": {"CNAME": "real.cname.test"},
    "real.cname.test": {"A": ["127.0.3.1"]},
    "dual.test": {"MX": [(10, "mx.dual.test")]},
    "mx.dual.test": {"A": ["127.0.4.1", "127.0.4.2"],
                     "AAAA": ["::1", "fd00::25"]},
    "broken.test": {"MX": [(10, "mx.broken.test")]},
    "silent.test": {"MX": [(10, "mx.silent.test")]},
    "dangling.test": {"MX": [(10, "nowhere.dangling.test"),
                             (20, "mx.dangling.test")]},
    "mx.dangling.test": {"A": ["127.0.5.1"]},
    "noaddr.test": {"MX": [(10, "nowhere.noaddr.test")]},
    "literal.test": {"MX": [(10, "127.0.0.1")]},
    # More MX records than fit a plain UDP answer (the resolver goes on
    # over TCP), the lowest preferences last.
    "many.test": {"MX": [(p, "mx%d.many.test" % p)
                         for p in range(MANY_MX, 0, -1)]},
    "mx1.many.test": {"A": ["127.0.6.1"]},
    "empty.test": {"TXT": ["no mail here"]},
    "half.test": {"MX": [(10, "sick.half.test"), (20, "ok.half.test")]},
    "sick.half.test": {"A": ["127.0.7.1"]},
    "ok.half.test": {"A": ["127.0.7.2"]},
}


@pytest.fixture
def dns(dns_server):
    d = dns_server(ZONES, host=DNS_HOST)
    d.behave("broken.test", "servfail")
    d.behave("silent.test", "timeout")
    d.behave("sick.half.test", "servfail")
    return d


@pytest.fixture
def conf(dns, tmp_path):
    path = tmp_path / "postel.conf"
    path.write_text("resolver = %s\ndnssec_trust_anchor = none\n"
                    % dns.resolver)
    return str(path)


def route(conf, *args):
    r = subprocess.run([POSTEL_BIN, "--config", conf, "--data", "/tmp",
                        "route"] + list(args), capture_output=True,
                       text=True, timeout=ROUTE_TIMEOUT)
    assert_no_sanitizer(r.stderr, "route")
    return r


def hosts(out):
    """[(pref, name, [addrs] or None)] in the order printed."""
    res = []
    for line in out.splitlines():
        m = re.match(r"  MX (\d+) (\S+)(?: \(cname (\S+)\))?: (.*)$", line)
        if not m:
            continue
        rest = m.group(4)
        addrs = None if rest.startswith("no address") else \
            [a for a in rest.split() if a != "secure"]
        res.append((int(m.group(1)), m.group(2), addrs))
    return res


def test_preference_order(conf):
    r = route(conf, "pref.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [(p, n) for p, n, _ in hosts(r.stdout)] == [
        (5, "mx5.pref.test"), (10, "mx10.pref.test"),
        (20, "mx20.pref.test")]
    assert hosts(r.stdout)[0][2] == ["127.0.0.5"]
    assert "dnssec: MX not secure" in r.stdout


def test_equal_preferences_are_shuffled(conf):
    seen = set()
    for _ in range(SHUFFLE_RUNS):
        r = route(conf, "equal.test")
        assert r.returncode == 0, r.stdout + r.stderr
        seen.add(tuple(n for _, n, _ in hosts(r.stdout)))
        if len(seen) == 2:
            break
    assert seen == {("a.equal.test", "b.equal.test"),
                    ("b.equal.test", "a.equal.test")}


def test_implicit_mx(conf, dns):
    r = route(conf, "implicit.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "(implicit MX" in r.stdout
    assert hosts(r.stdout) == [(0, "implicit.test", ["::1", "127.0.2.1"])]
    assert dns.seen("implicit.test", "MX") >= 1


def test_null_mx(conf, dns):
    r = route(conf, "nullmx.test")
    assert r.returncode == 1
    assert "null MX: domain accepts no mail" in r.stdout
    # No address lookup for a domain that takes no mail (RFC 7505 §3).
    assert dns.seen("nullmx.test", "A") == 0


def test_nxdomain(conf):
    r = route(conf, "nosuch.test")
    assert r.returncode == 1
    assert "NXDOMAIN" in r.stdout


def test_cname_to_host(conf):
    r = route(conf, "cname.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "MX 10 alias.cname.test (cname real.cname.test): 127.0.3.1" \
        in r.stdout


def test_ipv6_then_ipv4(conf):
    r = route(conf, "dual.test")
    assert r.returncode == 0, r.stdout + r.stderr
    (_, _, addrs), = hosts(r.stdout)
    # Each family in the order DNS gave it (which may rotate).
    assert sorted(addrs[:2]) == ["::1", "fd00::25"]
    assert sorted(addrs[2:]) == ["127.0.4.1", "127.0.4.2"]


def test_servfail_is_temporary(conf):
    r = route(conf, "broken.test")
    assert r.returncode == 1
    assert "temporary failure" in r.stdout
    assert "SERVFAIL" in r.stdout


def test_silent_server_is_temporary(conf, dns):
    r = route(conf, "silent.test")
    assert r.returncode == 1
    assert "temporary failure" in r.stdout
    assert dns.seen("silent.test", "MX") >= 1


def test_unresolvable_mx_host_is_kept_and_skipped(conf):
    r = route(conf, "dangling.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert hosts(r.stdout) == [
        (10, "nowhere.dangling.test", None),
        (20, "mx.dangling.test", ["127.0.5.1"])]
    assert "MX 10 nowhere.dangling.test: no address (NXDOMAIN)" \
        in r.stdout


def test_many_mx_keeps_the_lowest_preferences(conf, dns):
    r = route(conf, "many.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [(p, n) for p, n, _ in hosts(r.stdout)] == [
        (p, "mx%d.many.test" % p) for p in range(1, DNS_MX_HOSTS_MAX + 1)]
    assert hosts(r.stdout)[0][2] == ["127.0.6.1"]
    assert ("many.test", "MX", "tcp") in dns.queries


def test_no_mx_and_no_address(conf):
    # RFC 5321 §5.1: neither MX nor address records: nowhere to go.
    r = route(conf, "empty.test")
    assert r.returncode == 1
    assert "no usable host" in r.stdout
    assert "MX 0 empty.test: no address (no A/AAAA records)" in r.stdout


def test_mx_host_lookup_failure_is_kept_as_temporary(conf):
    r = route(conf, "half.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "MX 10 sick.half.test: no address (temporary failure)" \
        in r.stdout
    assert hosts(r.stdout)[1] == (20, "ok.half.test", ["127.0.7.2"])


def test_no_mx_host_with_an_address(conf):
    r = route(conf, "noaddr.test")
    assert r.returncode == 1
    assert "no usable host" in r.stdout


def test_ip_literal_mx_is_not_used(conf, dns):
    r = route(conf, "literal.test")
    assert r.returncode == 1
    assert "no usable host" in r.stdout
    assert dns.seen("127.0.0.1") == 0


def test_host_lookup_and_numeric_host(conf, dns):
    r = route(conf, "--host", "mx10.pref.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert hosts(r.stdout) == [(0, "mx10.pref.test", ["127.0.0.10"])]
    dns.clear_log()
    r = route(conf, "--host", "127.0.0.7")
    assert r.returncode == 0, r.stdout + r.stderr
    assert hosts(r.stdout) == [(0, "127.0.0.7", ["127.0.0.7"])]
    assert dns.queries == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch user")
def test_resolver_works_as_the_service_user(dns):
    # serve makes the resolver after dropping to `user`: libunbound's
    # thread and sockets need no privilege, and the default trust anchor
    # is readable by the service user.
    d = tempfile.mkdtemp(prefix="postel-route-")
    try:
        os.chmod(d, 0o755)
        conf = os.path.join(d, "postel.conf")
        with open(conf, "w") as f:
            f.write("resolver = %s\n" % dns.resolver)
        os.chmod(conf, 0o644)
        r = subprocess.run(["setpriv", "--reuid=postel", "--regid=postel",
                            "--clear-groups", POSTEL_BIN, "--config", conf,
                            "--data", d, "route", "dual.test"],
                           capture_output=True, text=True,
                           timeout=ROUTE_TIMEOUT)
        assert_no_sanitizer(r.stderr, "route as postel")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "MX 10 mx.dual.test:" in r.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_usage(conf):
    assert route(conf).returncode == 2


def test_bad_trust_anchor_refused_at_start(dns):
    srv = Server(config={"resolver": dns.resolver})
    try:
        missing = os.path.join(srv.dir, "no-such-root.key")
        srv.config["dnssec_trust_anchor"] = missing
        srv._write_config()
        started, err, rc = try_serve(srv, START_FAIL_TIMEOUT)
        assert not started, err
        assert rc != 0
        assert "dnssec_trust_anchor" in err and missing in err, err
    finally:
        srv.cleanup()


def test_server_runs_with_resolver(server_factory, dns):
    # The resolver starts after the privilege drop and stops cleanly
    # (the teardown checks the exit status and sanitizer output).
    srv = server_factory(config={"resolver": dns.resolver,
                                 "dnssec_trust_anchor": "none"})
    srv.check_alive()


# ---- DNSSEC: a zone signed with ldns-signzone, its DS as the anchor ----

SIGNED_ZONE = """$ORIGIN secure.test.
$TTL 60
@ IN SOA ns.secure.test. hostmaster.secure.test. 1 3600 600 86400 60
@ IN NS ns.secure.test.
@ IN MX 10 mx.secure.test.
mx IN A 127.0.0.30
mx IN AAAA ::1
ns IN A 127.0.0.1
"""


@pytest.fixture
def signed(dns_server, tmp_path):
    """(DNS server with secure.test signed, config path with its DS as
    the trust anchor)."""
    for tool in ("ldns-keygen", "ldns-signzone"):
        if shutil.which(tool) is None:
            pytest.skip("%s missing (apt-get install ldnsutils)" % tool)
    zone = tmp_path / "secure.test.zone"
    zone.write_text(SIGNED_ZONE)

    def run(*argv):
        return subprocess.run(argv, cwd=tmp_path, check=True, text=True,
                              capture_output=True, timeout=60).stdout.strip()

    ksk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "secure.test")
    zsk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "secure.test")
    run("ldns-signzone", str(zone), ksk, zsk)
    d = dns_server()
    d.load_zone((tmp_path / "secure.test.zone.signed").read_text())
    conf = tmp_path / "postel.conf"
    conf.write_text("resolver = %s\ndnssec_trust_anchor = %s\n"
                    % (d.resolver, tmp_path / (ksk + ".ds")))
    return d, str(conf)


def test_dnssec_secure(signed):
    _, conf = signed
    r = route(conf, "secure.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "  MX 10 mx.secure.test: ::1 127.0.0.30 secure" in r.stdout
    assert "dnssec: MX secure" in r.stdout


def test_dnssec_bogus_is_temporary(signed):
    d, conf = signed
    sig = d.zones["secure.test"]["RRSIG:MX"][0].rdata
    sig.sig = bytes([sig.sig[0] ^ 0xff]) + sig.sig[1:]
    r = route(conf, "secure.test")
    assert r.returncode == 1
    assert "temporary failure" in r.stdout
    assert "DNSSEC bogus" in r.stdout
