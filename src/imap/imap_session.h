/*
 * IMAP server session (RFC 9051 IMAP4rev2, RFC 3501 IMAP4rev1): the entry
 * point for the listener. Everything else of the session is internal to
 * src/imap (imap_int.h).
 */
#ifndef POSTEL_IMAP_SESSION_H
#define POSTEL_IMAP_SESSION_H

#include <stdbool.h>

struct server;
struct conn;

/* Called by the listener after conn_new(). Installs the conn handler and
 * sends the greeting (RFC 9051 §7.1.1 OK, or PREAUTH never); the session
 * frees itself after the conn closes and every pending job reported. */
void imap_session_start(struct server *srv, struct conn *conn,
			bool implicit_tls);

#endif
