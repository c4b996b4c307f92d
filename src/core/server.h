/*
 * The one server context: configuration, loop, workers, the commit thread,
 * TLS, listeners and per-process tables (POP3 mailbox locks, connection
 * counts). Passed explicitly to everything that needs it.
 */
#ifndef POSTEL_SERVER_H
#define POSTEL_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct loop;
struct workers;
struct commit;
struct store;
struct ssl_ctx_st;

struct server {
	struct config cfg;
	struct loop *loop;
	struct workers *workers;    /* lookups, password hashing, reads */
	struct workers *io_workers; /* writing + fdatasync of message files */
	struct commit *commit;
	struct ssl_ctx_st *tls_ctx; /* replaced on SIGHUP */
	struct server_priv *priv;   /* listeners, locks, counters */
	bool draining;              /* SIGTERM: finishing in-flight work */
};

/* The store handle of the calling worker thread, opened on first use; NULL
 * (logged) when it cannot be opened. Never call on the loop thread. */
struct store *server_thread_store(struct server *srv);

/* POP3 exclusive access to a mailbox (RFC 1939 §8: the maildrop is locked
 * for the session). true when the lock was taken. */
bool server_mailbox_lock(struct server *srv, int64_t mailbox_id);
void server_mailbox_unlock(struct server *srv, int64_t mailbox_id);

/* Durable work in flight (a delivery, a POP3 expunge): SIGTERM waits until
 * every begin has its end before closing connections. */
void server_busy_begin(struct server *srv);
void server_busy_end(struct server *srv);

int server_run(struct server *srv);

#endif
