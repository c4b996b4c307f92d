"""A scripted remote SMTP server for the outbound tests (python3-aiosmtpd).

The tests set how it behaves and then look at what it received:

    peer = SmtpPeer(pipelining=True, dsn=True, size=10_000_000,
                    tls="cert", rcpt_replies={"x@b.test": ["452 4.2.2 full"]})
    peer.start()              # 127.0.0.1 (or host=...), a free port
    ... drive a client at (peer.host, peer.port) ...
    tx = peer.transactions()[0]
    tx.mail_from, tx.mail_params, tx.rcpts, tx.data
    peer.stop()

Behaviour (constructor keywords, all optional; also settable on peer.cfg
before a connection comes):
  pipelining, eightbitmime, smtputf8, dsn, chunking  extensions to offer
      (default: all but CHUNKING, which aiosmtpd cannot take)
  size            SIZE limit announced and enforced (default 32 MiB;
                  0: no SIZE at all)
  tls             None: no STARTTLS; "cert": a self-signed test certificate
                  (peer.cert_path) for STARTTLS
  cn              the certificate's name (CN and DNS SAN; default
                  "mx.peer.test")
  cert_files      (chain PEM, key PEM) to use instead of a self-signed
                  certificate (a chain signed by a test CA)
  requiretls      offer REQUIRETLS (RFC 8689) after STARTTLS and take the
                  MAIL parameter
  auth            {"user": "password"}: AUTH PLAIN/LOGIN offered (after TLS
                  when tls is set)
  auth_mechs      the mechanisms to offer (default ["PLAIN", "LOGIN"])
  starttls_reply  a refusal for STARTTLS instead of the handshake (e.g.
                  "454 4.7.0 TLS not available now")
  greeting        a whole greeting line instead of "220 ..." (e.g. "554
                  5.7.1 go away"); the peer then closes
  ehlo_reply      a reply for EHLO instead of the extension list (e.g. "502
                  5.5.1 no EHLO") to make the client fall back to HELO
  mail_replies    list of replies to MAIL, used in turn (the last repeats)
  rcpt_replies    {addr: [reply, ...]} per recipient, used in turn (the last
                  repeats): greylisting is ["451 4.7.1 greylisted",
                  "250 2.1.5 ok"]
  data_replies    list of replies after the end of data, used in turn
  delays          {"EHLO"|"MAIL"|"RCPT"|"DATA"|"DATA_END"|...: seconds} to
                  wait before that reply (a slow server)
  drop_mid_data   after the 354, read this many octets of message, then
                  drop the connection (0: off)
It records every session (peer.sessions): the commands in order as they
arrived (verb and raw argument, original case), whether TLS was on, and each
transaction with its envelope, parameters and message octets (dot-stuffing
removed, exactly as received).
"""

import asyncio
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

DSN_MAIL = ("RET", "ENVID")
DSN_RCPT = ("NOTIFY", "ORCPT")


def free_port(host):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def make_cert(directory, cn="mx.peer.test"):
    """A self-signed certificate and key in directory; returns both paths."""
    cert = os.path.join(directory, "peer-cert.pem")
    key = os.path.join(directory, "peer-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=DNS:" + cn],
                   check=True, capture_output=True, timeout=30)
    return cert, key


class Transaction:
    def __init__(self, mail_from, mail_params):
        self.mail_from = mail_from          # address without <>
        self.mail_params = mail_params      # raw text after the address
        self.rcpts = []                     # [(addr, raw params, reply)]
        self.accepted = []                  # addresses answered 2xx
        self.data = None                    # bytes, or None: no data
        self.data_reply = None

    def params(self):
        """MAIL parameters as {KEY: value or True}."""
        return parse_params(self.mail_params)

    def rcpt_params(self, addr):
        for a, p, _ in self.rcpts:
            if a == addr:
                return parse_params(p)
        return None

    def __repr__(self):
        return "<tx from=%r rcpts=%r data=%s>" % (
            self.mail_from, [r[0] for r in self.rcpts],
            None if self.data is None else len(self.data))


def parse_params(raw):
    out = {}
    for word in (raw or "").split():
        k, eq, v = word.partition("=")
        out[k.upper()] = v if eq else True
    return out


class Session:
    def __init__(self):
        self.commands = []      # [(VERB, raw arg or None)]
        # Octets already waiting behind each command when it was read:
        # > 0 after MAIL means the client pipelined (RFC 2920).
        self.waiting = []       # [(VERB, octets)]
        self.tls = False
        self.transactions = []
        self.closed = False

    def verbs(self):
        return [c[0] for c in self.commands]


def split_addr(arg, keyword):
    """'FROM:<a@b> SIZE=1' -> ('a@b', 'SIZE=1') (original case)."""
    rest = arg[len(keyword):].strip() if arg.upper().startswith(keyword) \
        else arg
    if rest.startswith("<"):
        end = rest.find(">")
        if end >= 0:
            return rest[1:end], rest[end + 1:].strip()
    addr, _, params = rest.partition(" ")
    return addr, params.strip()


class PeerConfig:
    def __init__(self, **kw):
        self.pipelining = kw.pop("pipelining", True)
        self.eightbitmime = kw.pop("eightbitmime", True)
        self.smtputf8 = kw.pop("smtputf8", True)
        self.dsn = kw.pop("dsn", True)
        self.size = kw.pop("size", 32 * 1024 * 1024)
        self.tls = kw.pop("tls", None)
        self.cn = kw.pop("cn", "mx.peer.test")
        self.cert_files = kw.pop("cert_files", None)
        self.requiretls = kw.pop("requiretls", False)
        self.auth = kw.pop("auth", None)
        self.auth_mechs = list(kw.pop("auth_mechs", ["PLAIN", "LOGIN"]))
        self.starttls_reply = kw.pop("starttls_reply", None)
        self.greeting = kw.pop("greeting", None)
        self.ehlo_reply = kw.pop("ehlo_reply", None)
        self.mail_replies = list(kw.pop("mail_replies", []))
        self.rcpt_replies = dict(kw.pop("rcpt_replies", {}))
        self.data_replies = list(kw.pop("data_replies", []))
        self.delays = dict(kw.pop("delays", {}))
        self.drop_mid_data = kw.pop("drop_mid_data", 0)
        if kw:
            raise TypeError("unknown peer options: %s" % sorted(kw))


def next_reply(seq, default):
    """The next scripted reply: each is used once, the last repeats."""
    if not seq:
        return default
    return seq.pop(0) if len(seq) > 1 else seq[0]


class PeerSMTP(SMTP):
    """aiosmtpd's server with the scripted behaviour and the recording."""

    def __init__(self, peer, *args, **kwargs):
        self.peer = peer
        self.rec = Session()
        with peer.lock:
            peer.sessions.append(self.rec)
        super().__init__(*args, **kwargs)

    def connection_lost(self, exc):
        self.rec.closed = True
        super().connection_lost(exc)

    async def _delay(self, what):
        d = self.peer.cfg.delays.get(what)
        if d:
            await asyncio.sleep(d)

    def _note(self, verb, arg):
        buffered = getattr(self._reader, "_buffer", b"")
        with self.peer.lock:
            self.rec.commands.append((verb, arg))
            self.rec.waiting.append((verb, len(buffered)))

    async def _handle_client(self):
        if self.peer.cfg.greeting:
            await self.push(self.peer.cfg.greeting)
            self.transport.close()
            return
        await super()._handle_client()

    async def smtp_EHLO(self, arg):
        self._note("EHLO", arg)
        await self._delay("EHLO")
        await super().smtp_EHLO(arg)

    async def smtp_HELO(self, arg):
        self._note("HELO", arg)
        await super().smtp_HELO(arg)

    async def smtp_STARTTLS(self, arg):
        self._note("STARTTLS", arg)
        if self.peer.cfg.starttls_reply:
            await self.push(self.peer.cfg.starttls_reply)
            return
        await super().smtp_STARTTLS(arg)
        self.rec.tls = self._tls_protocol is not None

    async def smtp_AUTH(self, arg):
        self._note("AUTH", (arg or "").split(" ")[0])
        await super().smtp_AUTH(arg)

    async def smtp_NOOP(self, arg):
        self._note("NOOP", arg)
        await super().smtp_NOOP(arg)

    async def smtp_RSET(self, arg):
        self._note("RSET", arg)
        await super().smtp_RSET(arg)

    async def smtp_QUIT(self, arg):
        self._note("QUIT", arg)
        await super().smtp_QUIT(arg)

    def _getparams(self, params):
        # aiosmtpd knows no DSN parameters (RFC 3461): take them when DSN
        # is offered; the raw text is recorded by smtp_MAIL/RCPT.
        if self.peer.cfg.dsn:
            params = [p for p in params
                      if p.split("=")[0] not in DSN_MAIL + DSN_RCPT]
        if self.peer.cfg.requiretls and self._tls_protocol is not None:
            params = [p for p in params if p.upper() != "REQUIRETLS"]
        return super()._getparams(params)

    async def smtp_MAIL(self, arg):
        self._note("MAIL", arg)
        await self._delay("MAIL")
        if arg and self.session.extended_smtp is not None:
            addr, params = split_addr(arg, "FROM:")
            self._pending_tx = Transaction(addr, params)
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        self._note("RCPT", arg)
        await self._delay("RCPT")
        self._last_rcpt = split_addr(arg or "", "TO:")
        await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg):
        self._note("DATA", arg)
        await self._delay("DATA")
        n = self.peer.cfg.drop_mid_data
        if n and self.envelope.rcpt_tos:
            await self.push("354 go ahead")
            try:
                await asyncio.wait_for(self._reader.readexactly(n), 10)
            except Exception:
                pass
            self.transport.abort()
            return
        await super().smtp_DATA(arg)


class PeerHandler:
    def __init__(self, peer):
        self.peer = peer

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        cfg = self.peer.cfg
        session.host_name = hostname
        if cfg.ehlo_reply:
            session.extended_smtp = False
            return [cfg.ehlo_reply]
        ext = [r[4:] for r in responses[1:-1]]
        if not cfg.eightbitmime:
            ext = [e for e in ext if e != "8BITMIME"]
        if not cfg.smtputf8:
            ext = [e for e in ext if e != "SMTPUTF8"]
        if cfg.pipelining:
            ext.append("PIPELINING")
        if cfg.dsn:
            ext.append("DSN")
        ext.append("ENHANCEDSTATUSCODES")
        if not cfg.auth:
            ext = [e for e in ext if not e.startswith("AUTH")]
        if cfg.requiretls and server._tls_protocol is not None:
            ext.append("REQUIRETLS")
        lines = [responses[0][4:]] + ext
        return ["250-" + x for x in lines[:-1]] + ["250 " + lines[-1]]

    async def handle_MAIL(self, server, session, envelope, address, options):
        reply = next_reply(self.peer.cfg.mail_replies, "250 2.1.0 ok")
        tx = getattr(server, "_pending_tx", None)
        if tx is not None:
            server._pending_tx = None
            if reply.startswith("2"):
                with self.peer.lock:
                    server.rec.transactions.append(tx)
        if reply.startswith("2"):
            envelope.mail_from = address
            envelope.mail_options.extend(options)
        return reply

    async def handle_RCPT(self, server, session, envelope, address, options):
        addr, params = getattr(server, "_last_rcpt", (address, ""))
        seq = self.peer.cfg.rcpt_replies.get(addr)
        reply = next_reply(seq, "250 2.1.5 ok") if seq is not None \
            else "250 2.1.5 ok"
        if server.rec.transactions:
            tx = server.rec.transactions[-1]
            with self.peer.lock:
                tx.rcpts.append((addr, params, reply))
                if reply.startswith("2"):
                    tx.accepted.append(addr)
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
        return reply

    async def handle_DATA(self, server, session, envelope):
        await server._delay("DATA_END")
        reply = next_reply(self.peer.cfg.data_replies, "250 2.0.0 queued")
        if server.rec.transactions:
            tx = server.rec.transactions[-1]
            with self.peer.lock:
                tx.data = bytes(envelope.original_content)
                tx.data_reply = reply
        return reply


class PeerController(Controller):
    def __init__(self, peer, **kw):
        self.peer = peer
        super().__init__(PeerHandler(peer), **kw)

    def factory(self):
        return PeerSMTP(self.peer, self.handler, **self.SMTP_kwargs)


class SmtpPeer:
    def __init__(self, host="127.0.0.1", port=None, **kw):
        self.host = host
        self.port = port or free_port(host)
        self.cfg = PeerConfig(**kw)
        self.lock = threading.Lock()
        self.sessions = []
        self.dir = tempfile.mkdtemp(prefix="smtppeer-")
        self.cert_path = self.key_path = None
        self.controller = None

    def _tls_context(self):
        if not self.cfg.tls:
            return None
        if self.cfg.cert_files:
            self.cert_path, self.key_path = self.cfg.cert_files
        else:
            self.cert_path, self.key_path = make_cert(self.dir, self.cfg.cn)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_path, self.key_path)
        return ctx

    def _authenticator(self, server, session, envelope, mechanism, data):
        creds = self.cfg.auth or {}
        if isinstance(data, LoginPassword):
            user = data.login.decode()
            ok = creds.get(user) == data.password.decode()
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)

    def start(self):
        kw = dict(hostname=self.host, port=self.port,
                  server_hostname="mx.peer.test",
                  data_size_limit=self.cfg.size or None,
                  enable_SMTPUTF8=True, decode_data=False,
                  tls_context=self._tls_context(), require_starttls=False,
                  auth_required=False, auth_require_tls=bool(self.cfg.tls),
                  ready_timeout=10)
        if self.cfg.auth:
            kw["authenticator"] = self._authenticator
            kw["auth_exclude_mechanism"] = [
                m for m in ("PLAIN", "LOGIN") if m not in self.cfg.auth_mechs]
        self.controller = PeerController(self, **kw)
        self.controller.start()
        # The controller's readiness probe is a session of its own.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with self.lock:
                if self.sessions:
                    self.sessions.clear()
                    break
            time.sleep(0.01)
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def transactions(self):
        """Every transaction that got past MAIL, over all sessions."""
        with self.lock:
            return [t for s in self.sessions for t in s.transactions]

    def messages(self):
        """The message octets of every transaction that ended its data."""
        return [t.data for t in self.transactions() if t.data is not None]

    def wait_sessions_closed(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(s.closed for s in self.sessions):
                    return True
            time.sleep(0.02)
        return False
