"""A small authoritative DNS server for the end-to-end tests (dnslib).

It answers from a Python dict on UDP and TCP on one loopback address and
port, so a test can point Postel's `resolver = ADDR:PORT` at it and no
query ever leaves the machine.

    zones = {
        "example.test": {
            "MX": [(10, "mx1.example.test"), (20, "mx2.example.test")],
            "TXT": ["v=spf1 -all"],
        },
        "mx1.example.test": {"A": ["127.0.0.2"], "AAAA": ["::1"]},
        "alias.example.test": {"CNAME": "mx1.example.test"},
        "nullmx.test": {"MX": [(0, ".")]},              # RFC 7505
        "_25._tcp.mx1.example.test": {"TLSA": [(3, 1, 1, "ab12...")]},
        "raw.test": {"TYPE65400": [b"\\x01\\x02"]},     # any type, raw rdata
    }
    with DNSServer(zones) as dns:              # host="127.0.0.1", port=free
        cfg = {"resolver": dns.resolver, "dnssec_trust_anchor": "none"}
        dns.behave("broken.test", "servfail")  # or "timeout", "refused",
                                               # "nxdomain"; qtype= to limit
        ...
        dns.queries          # [(name, "MX", "udp"), ...] in arrival order
        dns.seen("mx1.example.test", "A")  -> count

Names are case-insensitive, without the final dot. A name absent from the
dict is NXDOMAIN (unless a behaviour says otherwise); a present name without
the asked type is NODATA (NOERROR, empty answer, SOA in authority). CNAMEs
are followed inside the dict (at most 8) and the whole chain is returned,
the way a recursive resolver answers. Values:
  A / AAAA: address strings;  MX: (pref, host);  CNAME: a name (one);
  TXT: str or list of str (character-strings);  TLSA: (usage, selector,
  mtype, hex);  NS / PTR: names;  any other "TYPE" known to dnslib: zone-file
  rdata text;  "TYPEnnn": raw rdata bytes.
load_zone(text) adds a zone file's records as they are, RRSIGs included
(a zone signed with ldns-signzone: see tests/e2e/test_dns_route.py).
Every test DNS server is a loopback one: host must be in 127.0.0.0/8 or ::1.
The fixture `dns_server` (tests/e2e/dnsfixture.py) makes one per call and
stops them after the test.
"""

import ipaddress
import socket
import struct
import threading

from dnslib import (AAAA, CNAME, DNSLabel, DNSRecord, MX, NS, PTR, QTYPE,
                    RCODE, RD, RR, SOA, TLSA, TXT, A)

TTL = 60
CNAME_HOPS_MAX = 8
TCP_MSG_MAX = 65535
BEHAVIOURS = ("servfail", "timeout", "refused", "nxdomain")


def _norm(name):
    return str(name).rstrip(".").lower()


def _rdata(rtype, value):
    """dnslib rdata for one value of the dict."""
    if rtype == "A":
        return A(value)
    if rtype == "AAAA":
        return AAAA(value)
    if rtype == "MX":
        pref, host = value
        return MX(host if host != "." else DNSLabel([]), pref)
    if rtype == "CNAME":
        return CNAME(value)
    if rtype == "NS":
        return NS(value)
    if rtype == "PTR":
        return PTR(value)
    if rtype == "TXT":
        parts = [value] if isinstance(value, (str, bytes)) else list(value)
        return TXT([p.encode() if isinstance(p, str) else p for p in parts])
    if rtype == "TLSA":
        usage, selector, mtype, hexdata = value
        return TLSA(usage, selector, mtype, bytes.fromhex(hexdata))
    if rtype.startswith("TYPE") and isinstance(value, bytes):
        return RD(value)
    # Other dnslib types from zone-file text.
    rr = RR.fromZone("x. 60 IN %s %s" % (rtype, value))[0]
    return rr.rdata


def _qtype_num(rtype):
    if rtype.startswith("TYPE") and rtype[4:].isdigit():
        return int(rtype[4:])
    return getattr(QTYPE, rtype)


class DNSServer:
    """Authoritative test server; see the module docstring."""

    def __init__(self, zones=None, host="127.0.0.1", port=0):
        ip = ipaddress.ip_address(host)
        assert ip.is_loopback, "test DNS servers are loopback only"
        self.host = host
        self.family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        self.zones = {}
        self.behaviours = {}  # (name, qtype or None) -> behaviour
        self.queries = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self.udp = self.tcp = None
        for name, types in (zones or {}).items():
            self.set(name, types)
        self._bind(port)

    # -- set-up --------------------------------------------------------
    def _bind(self, port):
        """UDP and TCP on the same port: the given one, or a free one
        (a few tries, as a free UDP port may be taken for TCP)."""
        for _ in range(1 if port else 20):
            u = socket.socket(self.family, socket.SOCK_DGRAM)
            t = socket.socket(self.family, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                u.bind((self.host, port))
                t.bind((self.host, u.getsockname()[1]))
                t.listen(16)
            except OSError:
                u.close()
                t.close()
                if port:
                    raise
                continue
            self.udp, self.tcp = u, t
            self.port = u.getsockname()[1]
            return
        raise OSError("no free port for UDP and TCP on %s" % self.host)

    @property
    def resolver(self):
        """The value for Postel's `resolver =` key."""
        if self.family == socket.AF_INET6:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)

    def set(self, name, types):
        """Replaces name's records: {"A": [...], "MX": [...], ...}."""
        with self._lock:
            self.zones[_norm(name)] = dict(types)

    def remove(self, name):
        with self._lock:
            self.zones.pop(_norm(name), None)

    def behave(self, name, behaviour, qtype=None):
        """Makes queries for name (of qtype, or any) fail: "servfail",
        "refused", "nxdomain", or "timeout" (no answer at all); None
        restores normal answers."""
        assert behaviour is None or behaviour in BEHAVIOURS, behaviour
        with self._lock:
            key = (_norm(name), qtype)
            if behaviour is None:
                self.behaviours.pop(key, None)
            else:
                self.behaviours[key] = behaviour

    def seen(self, name, qtype=None):
        """How many queries for name (of qtype) arrived."""
        with self._lock:
            return sum(1 for n, t, _ in self.queries
                       if n == _norm(name) and (qtype is None or t == qtype))

    def clear_log(self):
        with self._lock:
            self.queries.clear()

    # -- answers -------------------------------------------------------
    def _behaviour(self, name, qtype):
        b = self.behaviours.get((name, qtype))
        return b if b is not None else self.behaviours.get((name, None))

    def _add_rrset(self, reply, owner, rtype, values):
        for v in values if isinstance(values, list) else [values]:
            if isinstance(v, RR):
                reply.add_answer(v)
                continue
            reply.add_answer(RR(owner, _qtype_num(rtype), rdata=_rdata(
                rtype, v), ttl=TTL))
        # The signatures of a zone loaded with load_zone.
        for sig in self.zones.get(_norm(owner), {}).get("RRSIG:" + rtype,
                                                        []):
            reply.add_answer(sig)

    def load_zone(self, text):
        """Adds the records of zone-file text, e.g. a zone signed by
        ldns-signzone: each RRSIG is served with the RRset it covers
        (kept under "RRSIG:TYPE", e.g. zones[name]["RRSIG:MX"], where a
        test may tamper with one). A NODATA answer for a name of the zone
        carries its NSEC proof; NXDOMAIN carries none (it is bogus)."""
        with self._lock:
            for rr in RR.fromZone(text):
                name = _norm(rr.rname)
                rtype = str(QTYPE.get(rr.rtype))
                if rtype == "RRSIG":
                    rtype = "RRSIG:" + str(QTYPE.get(rr.rdata.covered))
                self.zones.setdefault(name, {}).setdefault(
                    rtype, []).append(rr)

    def _soa(self, reply, name):
        reply.add_auth(RR(name, QTYPE.SOA, ttl=TTL, rdata=SOA(
            "ns.test", "hostmaster.test", (1, 3600, 600, 86400, TTL))))

    def answer(self, data, proto):
        """The reply bytes for one query, or None for no answer."""
        try:
            req = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - garbage in: no answer
            return None
        qname = _norm(req.q.qname)
        qtype = str(QTYPE.get(req.q.qtype))
        if qtype.isdigit() or not qtype.isalnum():
            qtype = "TYPE%d" % req.q.qtype
        reply = req.reply()
        reply.header.ra = 1
        with self._lock:
            self.queries.append((qname, qtype, proto))
            b = self._behaviour(qname, qtype)
            if b == "timeout":
                return None
            if b is not None:
                reply.header.rcode = {"servfail": RCODE.SERVFAIL,
                                      "refused": RCODE.REFUSED,
                                      "nxdomain": RCODE.NXDOMAIN}[b]
                return reply.pack()
            self._fill(reply, qname, qtype)
        return reply.pack()

    def _fill(self, reply, qname, qtype):
        name = qname
        for _ in range(CNAME_HOPS_MAX):
            rrs = self.zones.get(name)
            if rrs is None:
                if name == qname:
                    reply.header.rcode = RCODE.NXDOMAIN
                self._soa(reply, name)
                return
            if "CNAME" in rrs and qtype != "CNAME":
                self._add_rrset(reply, name, "CNAME", rrs["CNAME"])
                name = _norm(rrs["CNAME"])
                continue
            if qtype in rrs:
                self._add_rrset(reply, name, qtype, rrs[qtype])
            elif qtype == "ANY":
                for t, v in rrs.items():
                    self._add_rrset(reply, name, t, v)
            elif "NSEC" in rrs:
                self._signed_nodata(reply, name, rrs)
            else:
                self._soa(reply, name)
            return

    def _signed_nodata(self, reply, name, rrs):
        """NODATA in a zone loaded signed: the zone's SOA and the name's
        NSEC, each with its RRSIG, so a validator finds the denial
        secure (RFC 4035 §3.1.3.1)."""
        labels = name.split(".")
        for i in range(len(labels)):
            apex = ".".join(labels[i:])
            zone = self.zones.get(apex, {})
            if "SOA" in zone:
                for rr in zone["SOA"] + zone.get("RRSIG:SOA", []):
                    reply.add_auth(rr)
                break
        for rr in rrs["NSEC"] + rrs.get("RRSIG:NSEC", []):
            reply.add_auth(rr)

    # -- serving -------------------------------------------------------
    def _serve_udp(self):
        self.udp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, peer = self.udp.recvfrom(TCP_MSG_MAX)
            except socket.timeout:
                continue
            except OSError:
                return
            out = self.answer(data, "udp")
            if out is None:
                continue
            if len(out) > self._udp_limit(data):
                out = self._truncated(data)
            try:
                self.udp.sendto(out, peer)
            except OSError:
                pass

    @staticmethod
    def _udp_limit(data):
        """The largest UDP answer the client takes: its EDNS payload size
        (RFC 6891 §6.2.3), else 512 (RFC 1035 §4.2.1); larger answers go
        out truncated (TC) so the client asks again over TCP."""
        try:
            for r in DNSRecord.parse(data).ar:
                if r.rtype == QTYPE.OPT:
                    return max(512, r.rclass)
        except Exception:  # noqa: BLE001
            pass
        return 512

    @staticmethod
    def _truncated(data):
        reply = DNSRecord.parse(data).reply()
        reply.header.tc = 1
        return reply.pack()

    def _serve_tcp(self):
        self.tcp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            th = threading.Thread(target=self._tcp_conn, args=(conn,),
                                  daemon=True)
            th.start()

    def _tcp_conn(self, conn):
        conn.settimeout(5)
        try:
            with conn:
                while not self._stop.is_set():
                    hdr = self._recv(conn, 2)
                    if hdr is None:
                        return
                    data = self._recv(conn, struct.unpack("!H", hdr)[0])
                    if data is None:
                        return
                    out = self.answer(data, "tcp")
                    if out is None:
                        continue
                    conn.sendall(struct.pack("!H", len(out)) + out)
        except OSError:
            pass

    @staticmethod
    def _recv(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def start(self):
        for fn in (self._serve_udp, self._serve_tcp):
            th = threading.Thread(target=fn, daemon=True)
            th.start()
            self._threads.append(th)
        return self

    def stop(self):
        self._stop.set()
        for th in self._threads:
            th.join(5)
        for s in (self.udp, self.tcp):
            if s is not None:
                s.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
