/*
 * The HTTP/1.1 endpoint (listen = http / https): client autoconfiguration
 * (Thunderbird autoconfig, Outlook autodiscover), the MTA-STS policy
 * (RFC 8461), /metrics (Prometheus) and /health, on the same loop and
 * connection layer as the mail protocols. The entry point for the
 * listener; the rest is internal to src/http (http_int.h).
 */
#ifndef POSTEL_HTTP_SESSION_H
#define POSTEL_HTTP_SESSION_H

#include <stdbool.h>

struct server;
struct conn;

/* Called by the listener after conn_new(): takes the connection over; the
 * session frees itself after the connection closes and every pending job
 * has reported back. */
void http_session_start(struct server *srv, struct conn *conn,
			bool implicit_tls);

#endif
