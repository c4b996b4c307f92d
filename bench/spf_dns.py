"""The benchmark's DNS server (loopback): the SPF record of the senders'
domain (bench.test) and the load generators' HELO names, so Postel's SPF
checks on port 25 look them up as they would in production; libunbound
caches the answers (TTL 3600 here), so only the first message of a run
asks. BENCH_DNS_EXTRA names a JSON file of more names in the same form
(bench/dkim_msgs.py writes one). Started by bench/lib.sh (dns_start);
prints the resolver
(ADDR:PORT) on its first line; on SIGTERM writes the number of queries
it answered to the file given as argv[1].
"""

import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
import dnsserver  # noqa: E402

dnsserver.TTL = 3600
ZONES = {
    "bench.test": {"TXT": ["v=spf1 ip4:127.0.0.0/8 -all"],
                   "MX": [(10, "mail.bench.test")]},
    "load.bench.test": {"A": ["127.0.0.1"],
                        "TXT": ["v=spf1 a -all"]},
}


def main():
    done = threading.Event()
    if os.environ.get("BENCH_DNS_EXTRA"):
        with open(os.environ["BENCH_DNS_EXTRA"]) as f:
            ZONES.update(json.load(f))
    srv = dnsserver.DNSServer(ZONES).start()
    print(srv.resolver, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait(24 * 3600)
    with open(sys.argv[1], "w") as f:
        f.write("%d\n" % len(srv.queries))
    srv.stop()


if __name__ == "__main__":
    main()
