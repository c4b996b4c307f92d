"""The HTTP endpoint (listen = http / https): Thunderbird autoconfig,
Outlook autodiscover, the MTA-STS policy, /metrics and /health, fetched
with curl over http and https (trusting only the server's self-signed
certificate), checked the way their consumers read them (xml.etree as
Thunderbird's and Outlook's parsers see the elements, RFC 8461 §3.2 for
the policy, Debian's promtool and a real prometheus for /metrics), plus
hostile input on a raw socket."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import json
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from conftest import (PROTOS, SOCK_TIMEOUT, free_ports, launch, finish,
                      simple_message, unique)

DEADLINE = 2  # http_request_deadline for the module's server
SERVER_CONFIG = {
    "mta_sts_mode": "enforce",
    "mta_sts_mx": "mx2.mail.test, *.backup.test",
    "mta_sts_max_age": "86400",
    "http_request_deadline": str(DEADLINE),
    "http_timeout": "10",
    # Remote mail stays queued (pending) for the queue gauges.
    "queue_delivery": "no",
}


def _listen(extra=("http", "https")):
    protos = PROTOS + tuple(extra)
    ports = free_ports(len(protos))
    return {p: ("127.0.0.1", port) for p, port in zip(protos, ports)}


@pytest.fixture(scope="module")
def web():
    srv = launch(SERVER_CONFIG, listen=_listen())
    yield srv
    finish(srv)


def curl(srv, path, proto="http", method=None, host=None, data=None,
         headers=(), extra=()):
    """(status, headers dict (lower-case names), body bytes) via curl."""
    port = srv.ports[proto]
    url = "%s://127.0.0.1:%d%s" % (proto, port, path)
    argv = ["curl", "-sS", "--path-as-is", "--max-time", "10",
            "--cacert", srv.cert_path]
    # HEAD: -I prints the header section (and no body) on stdout.
    argv += ["-I"] if method == "HEAD" else ["-D", "-"]
    if method and method != "HEAD":
        argv += ["-X", method]
    if host:
        argv += ["-H", "Host: %s" % host]
    for h in headers:
        argv += ["-H", h]
    if data is not None:
        argv += ["--data-binary", data]
    argv += list(extra) + [url]
    r = subprocess.run(argv, capture_output=True, timeout=20)
    assert r.returncode == 0, (argv, r.stderr)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


# ---- /health ----------------------------------------------------------

@pytest.mark.parametrize("proto", ["http", "https"])
def test_health(web, proto):
    status, hdrs, body = curl(web, "/health", proto)
    assert status == 200
    assert body == b"ok\n"
    assert hdrs["content-type"].startswith("text/plain")
    status, hdrs, body = curl(web, "/health", proto, method="HEAD")
    assert status == 200 and body == b""
    assert hdrs["content-length"] == "3"


# ---- Thunderbird autoconfig --------------------------------------------

def _autoconfig_servers(body):
    """What Thunderbird reads from clientConfig 1.1: emailProvider/domain,
    incomingServer and outgoingServer with hostname, port, socketType,
    authentication, username (in document order = preference)."""
    root = ET.fromstring(body)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    prov = root.find("emailProvider")
    assert prov is not None
    doms = [d.text for d in prov.findall("domain")]
    out = []
    for tag in ("incomingServer", "outgoingServer"):
        for s in prov.findall(tag):
            out.append((tag, s.get("type"), s.findtext("hostname"),
                        int(s.findtext("port")), s.findtext("socketType"),
                        s.findtext("authentication"),
                        s.findtext("username")))
    return prov.get("id"), doms, out


@pytest.mark.parametrize("proto", ["http", "https"])
def test_autoconfig_by_address(web, proto):
    status, hdrs, body = curl(
        web, "/mail/config-v1.1.xml?emailaddress=alice%40Example.TEST",
        proto)
    assert status == 200, body
    assert hdrs["content-type"].startswith("text/xml")
    pid, doms, servers = _autoconfig_servers(body)
    assert pid == "example.test" and doms == ["example.test"]
    want = [
        ("incomingServer", "imap", "mail.test", web.ports["imaps"], "SSL"),
        ("incomingServer", "imap", "mail.test", web.ports["imap"],
         "STARTTLS"),
        ("incomingServer", "pop3", "mail.test", web.ports["pop3s"], "SSL"),
        ("incomingServer", "pop3", "mail.test", web.ports["pop3"],
         "STARTTLS"),
        ("outgoingServer", "smtp", "mail.test", web.ports["submissions"],
         "SSL"),
        ("outgoingServer", "smtp", "mail.test", web.ports["submission"],
         "STARTTLS"),
    ]
    assert [s[:5] for s in servers] == want
    for s in servers:
        assert s[5] == "password-cleartext"
        assert s[6] == "%EMAILADDRESS%"


@pytest.mark.parametrize("proto", ["http", "https"])
def test_autoconfig_by_host(web, proto):
    """Thunderbird's first try: http://autoconfig.DOMAIN/mail/config-
    v1.1.xml, and the .well-known path on the domain."""
    for path in ("/mail/config-v1.1.xml",
                 "/.well-known/autoconfig/mail/config-v1.1.xml"):
        status, _, body = curl(web, path, proto,
                               host="autoconfig.example.test")
        assert status == 200, (path, body)
        assert _autoconfig_servers(body)[0] == "example.test"


def test_autoconfig_unknown_domain(web):
    status, _, _ = curl(
        web, "/mail/config-v1.1.xml?emailaddress=a%40elsewhere.test")
    assert status == 404
    status, _, _ = curl(web, "/mail/config-v1.1.xml",
                        host="autoconfig.elsewhere.test")
    assert status == 404
    status, _, _ = curl(web, "/mail/config-v1.1.xml", host="example.test")
    assert status == 404
    status, _, _ = curl(
        web, "/mail/config-v1.1.xml?emailaddress=%3Cscript%3E%40x.test")
    assert status == 400


# ---- Outlook autodiscover -----------------------------------------------

AUTODISCOVER_REQ = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>%s</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
"""
NS = {"a": "http://schemas.microsoft.com/exchange/autodiscover/"
           "responseschema/2006",
      "o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/"
           "responseschema/2006a"}


@pytest.mark.parametrize("path,proto", [
    ("/autodiscover/autodiscover.xml", "https"),
    ("/Autodiscover/Autodiscover.xml", "http")])
def test_autodiscover(web, path, proto):
    status, hdrs, body = curl(web, path, proto, method="POST",
                              data=AUTODISCOVER_REQ % "bob@example.test",
                              headers=["Content-Type: text/xml"])
    assert status == 200, body
    root = ET.fromstring(body)
    acct = root.find("o:Response/o:Account", NS)
    assert acct.findtext("o:AccountType", namespaces=NS) == "email"
    assert acct.findtext("o:Action", namespaces=NS) == "settings"
    protos = [(p.findtext("o:Type", namespaces=NS),
               p.findtext("o:Server", namespaces=NS),
               int(p.findtext("o:Port", namespaces=NS)),
               p.findtext("o:LoginName", namespaces=NS),
               p.findtext("o:SSL", namespaces=NS),
               p.findtext("o:Encryption", namespaces=NS))
              for p in acct.findall("o:Protocol", NS)]
    assert ("IMAP", "mail.test", web.ports["imaps"], "bob@example.test",
            "on", None) == protos[0]
    assert ("SMTP", "mail.test", web.ports["submission"],
            "bob@example.test", None, "TLS") in protos
    assert ("POP3", "mail.test", web.ports["pop3s"], "bob@example.test",
            "on", None) in protos


def test_autodiscover_refusals(web):
    path = "/autodiscover/autodiscover.xml"
    status, hdrs, _ = curl(web, path)
    assert status == 405 and hdrs["allow"] == "POST"
    status, _, _ = curl(web, path, method="POST",
                        data=AUTODISCOVER_REQ % "x@elsewhere.test")
    assert status == 404
    status, _, _ = curl(web, path, method="POST", data="<Autodiscover/>")
    assert status == 400
    status, _, _ = curl(web, path, method="POST",
                        data=AUTODISCOVER_REQ % "<b>@example.test")
    assert status == 400


# ---- MTA-STS (RFC 8461) -------------------------------------------------

def parse_sts_policy(body):
    """RFC 8461 §3.2: key/value pairs, one per CRLF-ended line; version
    first and STSv1; mode enforce|testing|none; one or more mx (host
    names, '*.' wildcards allowed) unless mode none; max_age a number of
    seconds up to 31557600."""
    text = body.decode("ascii")
    assert text.endswith("\r\n")
    lines = text[:-2].split("\r\n")
    pairs = []
    for line in lines:
        m = re.fullmatch(r"([A-Za-z0-9_]+):[ \t]*([\x21-\x7e]+)[ \t]*",
                         line)
        assert m, repr(line)
        pairs.append((m.group(1), m.group(2)))
    assert pairs[0] == ("version", "STSv1")
    d = {}
    for k, v in pairs:
        d.setdefault(k, []).append(v)
    assert d["mode"][0] in ("enforce", "testing", "none")
    for mx in d.get("mx", []):
        assert re.fullmatch(r"(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*", mx), mx
    age = int(d["max_age"][0])
    assert 0 <= age <= 31557600
    return d


def test_mta_sts_policy(web):
    status, hdrs, body = curl(web, "/.well-known/mta-sts.txt", "https",
                              host="mta-sts.example.test")
    assert status == 200
    assert hdrs["content-type"].startswith("text/plain")
    d = parse_sts_policy(body)
    assert d["mode"] == ["enforce"]
    assert d["mx"] == ["mail.test", "mx2.mail.test", "*.backup.test"]
    assert d["max_age"] == ["86400"]
    # Host names are case-insensitive; a port in Host is ignored.
    status, _, body2 = curl(web, "/.well-known/mta-sts.txt", "http",
                            host="MTA-STS.Example.Test:443")
    assert status == 200 and body2 == body


def test_mta_sts_default_mode(server_factory):
    srv = server_factory(listen=_listen(("https",)))
    status, _, body = curl(srv, "/.well-known/mta-sts.txt", "https",
                           host="mta-sts.example.test")
    assert status == 200
    d = parse_sts_policy(body)
    assert d["mode"] == ["testing"]
    assert d["max_age"] == ["604800"]
    assert d["mx"] == ["mail.test"]


def test_mta_sts_not_hosted(web):
    for host in ("mta-sts.elsewhere.test", "example.test", "mta-sts.",
                 "[::1]"):
        status, _, _ = curl(web, "/.well-known/mta-sts.txt", host=host)
        assert status in (400, 404), host


# ---- /metrics -----------------------------------------------------------

def scrape(srv, **kw):
    status, hdrs, body = curl(srv, "/metrics", **kw)
    assert status == 200, body
    assert hdrs["content-type"].startswith("text/plain; version=0.0.4")
    return body.decode()


def metric(text, name, labels=None, default=None):
    want = "" if not labels else "{%s}" % ",".join(
        '%s="%s"' % kv for kv in labels.items())
    for line in text.splitlines():
        if line.startswith(name + want + " "):
            return float(line.split()[-1])
    if default is not None:
        return default
    raise AssertionError("%s%s not in metrics" % (name, want))


@pytest.mark.parametrize("proto", ["http", "https"])
def test_metrics_promtool(web, proto):
    if shutil.which("promtool") is None:
        pytest.fail("promtool missing (Debian package prometheus; "
                    "scripts/setup.sh)")
    text = scrape(web, proto=proto)
    r = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr


def test_metrics_count_events(web):
    before = scrape(web)
    web.send("alice@example.test", simple_message(unique("m")))
    import imaplib
    host, port = web.addr("imaps")
    m = imaplib.IMAP4_SSL(host, port, ssl_context=web.ssl_context(),
                          timeout=SOCK_TIMEOUT)
    with pytest.raises(imaplib.IMAP4.error):
        m.login("alice@example.test", "wrong-password")
    m.logout()
    c = web.smtp()
    c.ehlo("x")
    c.mail("a@remote.test")
    code, _ = c.rcpt("nobody@example.test")
    assert code == 550
    c.quit()
    after = scrape(web)

    def delta(name, labels=None):
        # A rejection series appears with its first rejection.
        return (metric(after, name, labels) -
                metric(before, name, labels, default=0))

    assert delta("postel_messages_accepted_total") == 1
    assert delta("postel_messages_stored_total") == 1
    assert delta("postel_login_failures_total",
                 {"protocol": "imaps", "reason": "credentials"}) == 1
    assert delta("postel_connections_accepted_total",
                 {"protocol": "smtp"}) == 2
    assert delta("postel_smtp_rejections_total",
                 {"code": "550", "status": "5.1.1"}) == 1
    assert delta("postel_commit_batch_jobs_count") >= 1
    assert metric(after, "postel_sessions_open", {"protocol": "http"}) >= 1
    assert metric(after, "postel_worker_queue_depth", {"pool": "store"}) >= 0
    assert metric(after, "postel_queue_messages") >= 0
    assert delta("postel_http_requests_total") >= 1


def test_metrics_queue_gauges(web):
    """The queue size by state comes from the store (counted at most
    every few seconds): a message to a remote recipient, held by
    queue_delivery = no, shows up as pending."""
    base = metric(scrape(web), "postel_queue_recipients",
                  {"state": "pending"}, default=0)
    msg = (b"From: alice@example.test\r\nTo: someone@remote.test\r\n"
           b"Subject: queued\r\nMessage-ID: <%s@example.test>\r\n\r\n"
           b"hello\r\n" % unique("q").encode())
    web.send("someone@remote.test", msg, sender="alice@example.test",
             proto="submission")
    deadline = time.monotonic() + 20
    while True:
        text = scrape(web)
        n = metric(text, "postel_queue_recipients", {"state": "pending"},
                   default=0)
        if n >= base + 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert n == base + 1
    assert metric(text, "postel_queue_messages") >= 1


def test_metrics_restricted(server_factory):
    srv = server_factory(config={"metrics_allow": "127.0.0.1",
                                 "metrics_token": "t0k3n-s3cret"},
                         listen=_listen(("http",)))
    status, _, _ = curl(srv, "/metrics")
    assert status == 403
    status, _, _ = curl(srv, "/metrics",
                        headers=["Authorization: Bearer wrong"])
    assert status == 403
    text = scrape(srv, headers=["Authorization: Bearer t0k3n-s3cret"])
    assert "postel_messages_accepted_total" in text
    # Right token, address outside metrics_allow.
    status, _, _ = curl(srv, "/metrics",
                        headers=["Authorization: Bearer t0k3n-s3cret"],
                        extra=["--interface", "127.0.0.2"])
    assert status == 403
    # /health is for load balancers: not restricted.
    status, _, _ = curl(srv, "/health", extra=["--interface", "127.0.0.2"])
    assert status == 200


def _get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read().decode())


def test_prometheus_scrapes(web):
    """A real prometheus (Debian's) scrapes /metrics on loopback: up is 1
    and the accepted-messages counter it stores is the one we count."""
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus missing (Debian package prometheus; "
                    "scripts/setup.sh)")
    web.send("bob@example.test", simple_message(unique("p")))
    want = metric(scrape(web), "postel_messages_accepted_total")
    tmp = tempfile.mkdtemp(prefix="postel-prom-")
    port = free_ports(1)[0]
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: postel\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                % web.ports["http"])
    log = open(os.path.join(tmp, "log"), "wb")
    p = subprocess.Popen(["prometheus", "--config.file=" + cfg,
                          "--storage.tsdb.path=" + os.path.join(tmp, "db"),
                          "--web.listen-address=127.0.0.1:%d" % port],
                         stdout=log, stderr=log)
    base = "http://127.0.0.1:%d/api/v1/query?query=" % port
    try:
        deadline = time.monotonic() + 60
        up = acc = None
        while time.monotonic() < deadline:
            time.sleep(0.5)
            assert p.poll() is None, open(log.name).read()[-3000:]
            try:
                r = _get_json(base + "up")
                res = r["data"]["result"]
                up = float(res[0]["value"][1]) if res else None
                r = _get_json(base + "postel_messages_accepted_total")
                res = r["data"]["result"]
                acc = float(res[0]["value"][1]) if res else None
            except OSError:
                continue
            if up == 1 and acc is not None and acc >= want:
                break
        assert up == 1, open(log.name).read()[-3000:]
        assert acc == want >= 1
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- hostile input (raw socket) -----------------------------------------

def raw(srv, data, read_until_close=True, proto="http"):
    s = socket.create_connection(srv.addr(proto), timeout=SOCK_TIMEOUT)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
            if not read_until_close and b"\r\n\r\n" in out:
                break
        return out
    finally:
        s.close()


def statuses(data):
    return [int(m) for m in re.findall(rb"^HTTP/1\.1 (\d{3}) ", data,
                                       re.M)]


@pytest.mark.parametrize("req,want", [
    (b"PUT /health HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET /health HTTP/1.1\r\n\r\n", 400),
    (b"GET /health HTTP/1.1\nHost: x\n\n", 400),
    (b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\n\r\n",
     411),
    (b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n", 501),
    (b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 10000000\r\n\r\n", 413),
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 +
     b"\r\n\r\n", 431),
    (b"GET /health HTTP/1.1\r\nHost: x\r\n" +
     b"".join(b"X-%d: y\r\n" % i for i in range(100)) + b"\r\n", 431),
])
def test_refusals(web, req, want):
    out = raw(web, req)
    assert statuses(out) == [want], out[:300]
    assert b"Connection: close" in out
    if want == 405:
        assert b"Allow: GET, HEAD, POST" in out


@pytest.mark.parametrize("path", [
    "/", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/.well-known/", "/.well-known/../health", "/mail/",
    "/health/", "/metrics/../health", "//health", "/HEALTH",
    "/etc/passwd", "/.well-known/autoconfig/mail/",
])
def test_only_known_paths(web, path):
    status, _, body = curl(web, path)
    assert status == 404, path
    assert b"passwd" not in body and b"root:" not in body


def test_pipelined(web):
    reqs = (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: %d\r\n\r\n%s"
            b"HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            % (len(AUTODISCOVER_REQ % "alice@example.test"),
               (AUTODISCOVER_REQ % "alice@example.test").encode()))
    out = raw(web, reqs)
    assert statuses(out) == [200, 404, 200, 200], out
    assert out.count(b"<LoginName>alice@example.test</LoginName>") >= 1
    assert out.endswith(b"\r\n\r\n")  # HEAD: no body, then closed


def test_keepalive_bounded(web):
    n = 105
    out = raw(web, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * n)
    got = statuses(out)
    # The 100th answer says Connection: close; the rest is never read.
    assert got == [200] * 100, len(got)
    assert out.count(b"Connection: close") == 1


def test_slow_client(web):
    """A request dribbled a byte at a time is cut at the deadline with
    408, however steadily the bytes come."""
    s = socket.create_connection(web.addr("http"), timeout=SOCK_TIMEOUT)
    t0 = time.monotonic()
    got = b""
    try:
        for c in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 100:
            if time.monotonic() - t0 > DEADLINE + 8:
                break
            try:
                s.sendall(bytes([c]))
            except (BrokenPipeError, ConnectionResetError):
                break
            s.settimeout(0.3)
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                # Our next byte reached a socket the server had closed.
                break
            got += chunk
            # A client that has its answer stops sending.
            if chunk == b"" or b"\r\n\r\n" in got:
                break
        s.settimeout(SOCK_TIMEOUT)
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    elapsed = time.monotonic() - t0
    assert statuses(got) == [408], got
    assert elapsed < DEADLINE + 6, elapsed
    status, _, _ = curl(web, "/health")
    assert status == 200


def test_tls_garbage_and_plaintext(web):
    """Plain HTTP bytes on the https port get no answer in clear and
    the server stays up."""
    out = raw(web, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
              proto="https")
    assert b"HTTP/1.1 200" not in out
    status, _, _ = curl(web, "/health", "https")
    assert status == 200


def test_expect_continue(web):
    """RFC 9110 §10.1.1: a client that sends Expect: 100-continue gets
    the interim 100 before it sends the body."""
    body = (AUTODISCOVER_REQ % "alice@example.test").encode()
    s = socket.create_connection(web.addr("http"), timeout=SOCK_TIMEOUT)
    try:
        s.sendall(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\n"
                  b"Host: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            assert chunk, got
            got += chunk
        assert got == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(body)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    finally:
        s.close()
    assert statuses(got) == [100, 200], got[:300]


def test_client_leaves_mid_lookup(web):
    """Clients that hang up while their domain lookup runs on a worker:
    the late answer finds no connection (ASan checks at shutdown)."""
    req = (b"GET /mail/config-v1.1.xml?emailaddress=a%40example.test "
           b"HTTP/1.1\r\nHost: x\r\n\r\n")
    for _ in range(40):
        s = socket.create_connection(web.addr("http"), timeout=SOCK_TIMEOUT)
        s.sendall(req * 3)
        s.close()
    status, _, _ = curl(web, "/health")
    assert status == 200
    assert web.alive()


def test_large_body_then_keepalive(web):
    """A body near LIMIT_HTTP_BODY (64 KiB) is read whole and answered;
    the connection then serves the next request."""
    body = (AUTODISCOVER_REQ % "alice@example.test").replace(
        "<Request>", "<Request><!--%s-->" % ("x" * 60000)).encode()
    out = raw(web, b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\n"
              b"Host: x\r\nContent-Length: %d\r\n\r\n%s"
              b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
              % (len(body), body))
    assert statuses(out) == [200, 200], out[:300]
    assert b"<LoginName>alice@example.test</LoginName>" in out


def test_refusal_reaches_a_client_still_sending(web):
    """A body over the limit is refused with 413 while the client is still
    uploading it; the client, reading only after it has sent a good part
    of it, gets the 413 and an orderly close rather than a connection
    reset (the server drains what keeps coming instead of closing on
    unread input)."""
    s = socket.create_connection(web.addr("http"), timeout=SOCK_TIMEOUT)
    try:
        s.sendall(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\n"
                  b"Host: x\r\nContent-Type: text/xml\r\n"
                  b"Content-Length: 1000000\r\n\r\n")
        time.sleep(0.3)  # the server has answered and closed its side
        chunk = b"<x/>" * 4096
        sent_all = True
        for _ in range(16):  # 256 KB at most, bounded
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                sent_all = False
                break
        got = b""
        reset = False
        try:
            while True:
                data = s.recv(4096)
                if not data:
                    break
                got += data
        except ConnectionResetError:
            reset = True
    finally:
        s.close()
    assert statuses(got) == [413], got
    # An orderly end, not a reset: over a slow link a reset would have
    # destroyed the 413 still in flight.
    assert not reset and sent_all


def test_refusal_reaches_curl_uploading(web, tmp_path):
    """curl uploading a body over the limit reports the 413, not a send
    failure."""
    body = tmp_path / "big.xml"
    body.write_bytes(b"<x/>" * 50000)  # 200 KB
    url = "http://%s:%d/autodiscover/autodiscover.xml" % web.addr("http")
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
         "-H", "Expect:", "-H", "Content-Type: text/xml",
         "--data-binary", "@%s" % body, url],
        capture_output=True, timeout=30)
    assert out.stdout == b"413", (out.stdout, out.stderr)
    status, _, _ = curl(web, "/health")
    assert status == 200
