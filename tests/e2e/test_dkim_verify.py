"""DKIM verification (RFC 6376, 8301, 8463) with `postel dkim verify`:
messages signed by dkimpy (an independent implementation), the keys served
by a test DNS server on loopback and looked up through Postel's resolver.

Good signatures pass (rsa-sha256 and ed25519-sha256, simple and relaxed);
a changed body or signed header fails; rsa-sha1 and RSA keys under 1024
bits never pass; content appended after an l= length is reported and not
passed; a missing key is a permerror, an unreachable one a temperror."""

import subprocess

import pytest

from conftest import POSTEL_BIN, assert_no_sanitizer
from dkimutil import dkimpy_sign, ed25519_key, rsa_key, txt_strings

DOMAIN = "signer.test"
VERIFY_TIMEOUT = 60


@pytest.fixture(scope="module")
def keys():
    return {"rsa": rsa_key(2048), "ed": ed25519_key(),
            "small": rsa_key(512)}


@pytest.fixture
def env(dns_server, keys, tmp_path):
    zones = {
        "rsa._domainkey." + DOMAIN: {"TXT": [txt_strings(keys["rsa"][1])]},
        "ed._domainkey." + DOMAIN: {"TXT": [txt_strings(keys["ed"][1])]},
        "small._domainkey." + DOMAIN: {"TXT": [txt_strings(keys["small"][1])]},
        "revoked._domainkey." + DOMAIN: {"TXT": ["v=DKIM1; k=rsa; p="]},
        "broken._domainkey." + DOMAIN: {"TXT": ["v=DKIM1; k=rsa; p="]},
    }
    dns = dns_server(zones, host="127.0.53.2")
    dns.behave("broken._domainkey." + DOMAIN, "servfail")
    conf = tmp_path / "postel.conf"
    conf.write_text("resolver = %s\ndnssec_trust_anchor = none\n"
                    % dns.resolver)
    return str(conf), keys


def verify(conf, msg):
    r = subprocess.run([POSTEL_BIN, "--config", conf, "--data", "/tmp",
                        "dkim", "verify"], input=msg, capture_output=True,
                       timeout=VERIFY_TIMEOUT)
    assert_no_sanitizer(r.stderr.decode(), "dkim verify")
    return r.returncode, r.stdout.decode()


def message(token, body=None):
    return ("From: Alice <alice@%s>\r\nTo: bob@example.test\r\n"
            "Subject: %s\r\nDate: Mon, 07 Dec 2026 06:00:00 +0000\r\n"
            "Message-ID: <%s@%s>\r\n\r\n%s" %
            (DOMAIN, token, token, DOMAIN,
             body or "Hello  there \t\r\n\r\nsecond  paragraph\r\n\r\n\r\n")
            ).encode()


def signed(keys, which, token="t", alg=None, canon=(b"relaxed", b"relaxed"),
           length=False, body=None, selector=None):
    msg = message(token, body)
    alg = alg or (b"ed25519-sha256" if which == "ed" else b"rsa-sha256")
    return dkimpy_sign(msg, selector or which, DOMAIN, keys[which][0],
                       alg=alg, canon=canon, length=length) + msg


@pytest.mark.parametrize("which", ["rsa", "ed"])
@pytest.mark.parametrize("canon", [(b"relaxed", b"relaxed"),
                                   (b"simple", b"simple"),
                                   (b"relaxed", b"simple"),
                                   (b"simple", b"relaxed")])
def test_dkimpy_signatures_pass(env, which, canon):
    conf, keys = env
    rc, out = verify(conf, signed(keys, which, canon=canon))
    assert rc == 0, out
    assert out.startswith("dkim=pass header.d=%s header.s=%s " %
                          (DOMAIN, which)), out
    assert ("ed25519-sha256" if which == "ed" else "rsa-sha256") in out


def test_both_signatures_reported(env):
    conf, keys = env
    msg = message("two")
    sig_ed = dkimpy_sign(msg, "ed", DOMAIN, keys["ed"][0],
                         alg=b"ed25519-sha256")
    sig_rsa = dkimpy_sign(msg, "rsa", DOMAIN, keys["rsa"][0])
    rc, out = verify(conf, sig_ed + sig_rsa + msg)
    lines = out.splitlines()
    assert rc == 0 and len(lines) == 2, out
    assert all(l.startswith("dkim=pass") for l in lines), out


@pytest.mark.parametrize("which", ["rsa", "ed"])
def test_changed_body_fails(env, which):
    conf, keys = env
    msg = signed(keys, which).replace(b"second  paragraph",
                                      b"second  paragraph!")
    rc, out = verify(conf, msg)
    assert rc == 1 and out.startswith("dkim=fail"), out
    assert "body hash" in out


@pytest.mark.parametrize("which", ["rsa", "ed"])
def test_changed_signed_header_fails(env, which):
    conf, keys = env
    msg = signed(keys, which, token="orig").replace(b"Subject: orig",
                                                    b"Subject: forged")
    rc, out = verify(conf, msg)
    assert rc == 1 and out.startswith("dkim=fail"), out
    assert "signature did not verify" in out


def test_added_from_fails(env):
    """dkimpy signs From once more than present (over-signing, RFC 6376
    §8.15): a second From added later breaks the signature."""
    conf, keys = env
    msg = signed(keys, "rsa")
    msg = msg.replace(b"To: bob", b"From: mallory@evil.test\r\nTo: bob")
    rc, out = verify(conf, msg)
    assert rc == 1 and out.startswith("dkim=fail"), out


def test_relaxed_survives_rewrapping(env):
    """Relaxed canonicalisation: whitespace changes in headers and at line
    ends do not matter."""
    conf, keys = env
    msg = signed(keys, "ed", token="wrap")
    msg = msg.replace(b"Subject: wrap", b"Subject:   wrap  ")
    msg = msg.replace(b"second  paragraph\r\n", b"second paragraph  \r\n")
    rc, out = verify(conf, msg)
    assert rc == 0 and out.startswith("dkim=pass"), out


def test_rsa_sha1_never_passes(env):
    conf, keys = env
    rc, out = verify(conf, signed(keys, "rsa", alg=b"rsa-sha1"))
    assert rc == 1 and out.startswith("dkim=permerror"), out
    assert "rsa-sha1" in out and "RFC 8301" in out


def test_small_rsa_key_never_passes(env):
    conf, keys = env
    rc, out = verify(conf, signed(keys, "small"))
    assert rc == 1 and out.startswith("dkim=permerror"), out
    assert "512 bits" in out


def test_length_limit_reports_appended_content(env):
    conf, keys = env
    msg = signed(keys, "rsa", length=True, body="Signed text.\r\n")
    rc, out = verify(conf, msg)
    assert rc == 0 and out.startswith("dkim=pass"), out
    appended = b"--\r\nBuy now at http://evil.test/\r\n"
    rc, out = verify(conf, msg + appended)
    assert rc == 1 and out.startswith("dkim=neutral"), out
    assert "leaves %d octets of the body unsigned" % len(appended) in out


def test_missing_and_revoked_keys(env):
    conf, keys = env
    rc, out = verify(conf, signed(keys, "rsa", selector="absent"))
    assert rc == 1 and out.startswith("dkim=permerror"), out
    assert "no key record" in out
    rc, out = verify(conf, signed(keys, "rsa", selector="revoked"))
    assert rc == 1 and out.startswith("dkim=permerror"), out
    assert "revoked" in out


def test_key_lookup_failure_is_temporary(env):
    conf, keys = env
    rc, out = verify(conf, signed(keys, "rsa", selector="broken"))
    assert rc == 1 and out.startswith("dkim=temperror"), out


def test_key_type_must_match(env):
    """An Ed25519 signature against an RSA key record is refused."""
    conf, keys = env
    msg = message("mismatch")
    sig = dkimpy_sign(msg, "rsa", DOMAIN, keys["ed"][0],
                      alg=b"ed25519-sha256")
    rc, out = verify(conf, sig + msg)
    assert rc == 1 and out.startswith("dkim=permerror"), out


def test_unsigned_and_garbage(env):
    conf, _ = env
    rc, out = verify(conf, message("plain"))
    assert rc == 1 and out.startswith("dkim=none"), out
    bad = b"DKIM-Signature: v=1; a=rsa-sha256; d=x.test; b=;;\r\n" + \
        message("bad")
    rc, out = verify(conf, bad)
    assert rc == 1 and out.startswith("dkim=permerror"), out
