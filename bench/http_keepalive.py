#!/usr/bin/python3
"""Sequential keep-alive requests against a running HTTP endpoint:
one client, each request answered before the next (latency-bound).

Usage: bench/http_keepalive.py PORT [PATH...]
(the domain example.test hosted; default paths /health,
/mail/config-v1.1.xml and /metrics)."""
import socket
import sys
import time


def run(port, path, n_conn=20, per=100):
    req = (b"GET %s HTTP/1.1\r\nHost: autoconfig.example.test\r\n\r\n"
           % path.encode())
    t0 = time.monotonic()
    total = 0
    for _ in range(n_conn):
        s = socket.create_connection(("127.0.0.1", port))
        f = s.makefile("rb")
        for _ in range(per):
            s.sendall(req)
            line = f.readline()
            assert b" 200 " in line, line
            clen = 0
            while True:
                h = f.readline()
                if h == b"\r\n":
                    break
                if h.lower().startswith(b"content-length:"):
                    clen = int(h.split(b":")[1])
            f.read(clen)
            total += 1
        s.close()
    dt = time.monotonic() - t0
    print("%s: %d requests in %.2fs = %.0f req/s" % (path, total, dt,
                                                     total / dt))


if __name__ == "__main__":
    port = int(sys.argv[1])
    for p in sys.argv[2:] or ["/health", "/mail/config-v1.1.xml",
                              "/metrics"]:
        run(port, p)
