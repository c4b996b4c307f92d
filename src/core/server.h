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
struct auth_cache;
struct throttle;
struct commit;
struct store;
struct ssl_ctx_st;

struct server {
	struct config cfg;
	struct loop *loop;
	struct workers *workers;    /* lookups, password hashing, reads */
	struct workers *io_workers; /* writing + fdatasync of message files */
	struct workers *auth_workers; /* password hashing only (bounded) */
	struct workers *auth_lookup_workers; /* login lookup + cache check */
	struct auth_cache *auth_cache; /* verified logins; NULL: disabled */
	struct throttle *auth_throttle; /* failed logins; loop thread only */
	struct commit *commit;
	struct ssl_ctx_st *tls_ctx; /* replaced on SIGHUP */
	struct server_priv *priv;   /* listeners, locks, counters */
	bool draining;              /* SIGTERM: finishing in-flight work */
};

/* POP3 exclusive access to a mailbox (RFC 1939 §8: the maildrop is locked
 * for the session). true when the lock was taken. */
bool server_mailbox_lock(struct server *srv, int64_t mailbox_id);
void server_mailbox_unlock(struct server *srv, int64_t mailbox_id);

/* Durable work in flight (a delivery, a POP3 expunge): SIGTERM waits until
 * every begin has its end before closing connections. */
void server_busy_begin(struct server *srv);
void server_busy_end(struct server *srv);

/* Change notification between sessions of one process (RFC 9051 §7:
 * other sessions learn of new mail, flag changes and expunges). A session
 * that wants to hear about an account registers a watch; whoever commits a
 * change to that account's mail calls server_notify_account() on the loop
 * thread, after the change is durable. */
typedef void (*server_watch_cb)(void *ctx, int64_t account_id);
struct server_watch {
	int64_t account_id;
	server_watch_cb cb;
	void *ctx;
	struct server_watch *prev, *next; /* private */
};
void server_watch_add(struct server *srv, struct server_watch *w);
void server_watch_remove(struct server *srv, struct server_watch *w);
/* Calls every watch of the account (a watch may remove itself). */
void server_notify_account(struct server *srv, int64_t account_id);

int server_run(struct server *srv);

#endif
