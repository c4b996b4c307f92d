"""Messages for bench/dkim_ingest.sh: one 4 KB message written twice,
unsigned and signed by dkimpy (Debian python3-dkim) for bench.test with a
new RSA-2048 key, plus the DNS records that verify it (the key, and a
DMARC record so the policy lookup runs too) as JSON for bench/spf_dns.py
(BENCH_DNS_EXTRA).

usage: dkim_msgs.py OUTDIR LENGTH
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
import dkimutil  # noqa: E402

SELECTOR = "bench2026"
DOMAIN = "bench.test"


def message(length):
    head = ("From: Sender <sender@bench.test>\r\n"
            "To: u1@bench.test\r\n"
            "Subject: ingest benchmark, DKIM\r\n"
            "Date: Mon, 07 Dec 2026 12:00:00 +0000\r\n"
            "Message-ID: <dkim-bench@bench.test>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    body = ""
    while len(head) + len(body) + 80 < length:
        body += "x" * 78 + "\r\n"
    return (head + body).encode()


def main():
    out, length = sys.argv[1], int(sys.argv[2])
    key, txt = dkimutil.rsa_key(2048)
    msg = message(length)
    sig = dkimutil.dkimpy_sign(msg, SELECTOR, DOMAIN, key)
    with open(os.path.join(out, "plain.eml"), "wb") as f:
        f.write(msg)
    with open(os.path.join(out, "signed.eml"), "wb") as f:
        f.write(sig + msg)
    zones = {
        "%s._domainkey.%s" % (SELECTOR, DOMAIN):
            {"TXT": [dkimutil.txt_strings(txt)]},
        "_dmarc.%s" % DOMAIN:
            {"TXT": ["v=DMARC1; p=none"]},
    }
    with open(os.path.join(out, "dns-extra.json"), "w") as f:
        json.dump(zones, f)


if __name__ == "__main__":
    main()
