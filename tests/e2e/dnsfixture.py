"""The `dns_server` pytest fixture (made available to every e2e test by one
import line in conftest.py).

    def test_x(dns_server, server_factory):
        dns = dns_server({"example.test": {"MX": [(10, "mx.example.test")]},
                          "mx.example.test": {"A": ["127.0.0.2"]}})
        srv = server_factory(config={"resolver": dns.resolver,
                                     "dnssec_trust_anchor": "none"})

dns_server(zones, host="127.0.0.1", port=0) starts a DNSServer
(tests/e2e/dnsserver.py) and returns it; every one made is stopped after
the test.
"""

import pytest

from dnsserver import DNSServer


@pytest.fixture
def dns_server():
    made = []

    def make(zones=None, host="127.0.0.1", port=0):
        srv = DNSServer(zones, host=host, port=port).start()
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.stop()
