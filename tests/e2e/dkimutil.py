"""DKIM test helpers: keys and signatures made by dkimpy (Debian
python3-dkim, an implementation written by others), and the key records
Postel asks us to publish (`postel dns`), read back for dkimpy."""

import base64
import re
import subprocess

import dkim


def rsa_key(bits=2048):
    """(private PEM for dkimpy, DKIM TXT text) of a new RSA key."""
    pem = subprocess.run(["openssl", "genrsa", "-traditional", str(bits)],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"],
                         input=pem, check=True,
                         capture_output=True).stdout
    return pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def ed25519_key():
    """(private key for dkimpy: base64 seed, DKIM TXT text)."""
    import nacl.encoding
    import nacl.signing
    sk = nacl.signing.SigningKey.generate()
    seed = base64.b64encode(bytes(sk))
    pub = base64.b64encode(bytes(sk.verify_key)).decode()
    return seed, "v=DKIM1; k=ed25519; p=" + pub


def txt_strings(text):
    """A TXT record's text as character-strings of at most 255 octets."""
    return [text[i:i + 255] for i in range(0, len(text), 255)] or [""]


def dkimpy_sign(msg, selector, domain, key, alg=b"rsa-sha256",
                canon=(b"relaxed", b"relaxed"), length=False,
                headers=None):
    """The DKIM-Signature field dkimpy makes for msg (bytes)."""
    return dkim.sign(msg, selector.encode(), domain.encode(), key,
                     signature_algorithm=alg, canonicalize=canon,
                     length=length, include_headers=headers)


def published_records(dns_output):
    """{owner without final dot: TXT text} of the _domainkey records in
    `postel dns` output (the RSA key spans several quoted strings)."""
    recs = {}
    for m in re.finditer(r'^(\S+)\._domainkey\.(\S+)\.\s+IN TXT\s+'
                         r'(\(.*?\)|"[^"]*")', dns_output, re.M | re.S):
        owner = "%s._domainkey.%s" % (m.group(1), m.group(2))
        recs[owner] = "".join(re.findall(r'"([^"]*)"', m.group(3)))
    return recs


def dkimpy_results(msg, records):
    """[(d, s, a, ok)] for every DKIM-Signature of msg, checked by
    dkimpy with the given key records (its dnsfunc hook)."""
    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        t = records.get(n.rstrip("."))
        return t.encode() if t is not None else None

    d = dkim.DKIM(msg)
    out = []
    sigs = [v for (k, v) in d.headers if k.lower() == b"dkim-signature"]
    for i, raw in enumerate(sigs):
        tags = dict((k.strip(), v.strip()) for k, v in
                    (t.split(b"=", 1) for t in
                     re.sub(rb"\s+", b"", raw).split(b";") if b"=" in t))
        ok = dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc)
        out.append((tags[b"d"].decode(), tags[b"s"].decode(),
                    tags[b"a"].decode(), ok))
    return out
