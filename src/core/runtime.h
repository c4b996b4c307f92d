/*
 * The runtime half of the one server context: what the layers above core
 * (store users, auth, the protocols) need from "the server" -- the
 * configuration values, the loop, the worker pools, the commit thread, the
 * TLS context, POP3 mailbox locks, busy counters, change notification and
 * the registry of live connections. The top layer (src/server/) fills it
 * and owns what only start-up and shutdown use (struct server_priv).
 * Passed explicitly to everything that needs it.
 */
#ifndef POSTEL_RUNTIME_H
#define POSTEL_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct loop;
struct workers;
struct auth_cache;
struct throttle;
struct commit;
struct conn;
struct ssl_ctx_st;
struct challenges;
struct server_priv;
struct runtime_reg;
struct dkim_keyring;
struct dns;
struct queue;

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
	struct ssl_ctx_st *tls_ctx; /* replaced on SIGHUP and by ACME */
	/* ACME challenge answers, HTTP-01 and TLS-ALPN-01 (core/challenge.h);
	 * NULL when acme = no. */
	struct challenges *challenges;
	struct runtime_reg *reg;    /* connections, locks, counters, watches */
	struct server_priv *priv;   /* top layer's: listeners, signals */
	/* The in-loop resolver (src/dns/dns.h) and the outbound queue
	 * (src/queue/queue.h), made by the top layer; NULL in tools. The
	 * protocols reach the queue only through server_queue_kick(). */
	struct dns *dns;
	struct queue *queue;
	/* DKIM signing keys (mailauth/dkim.h): loaded at start, replaced on
	 * SIGHUP; take a reference with dkim_keyring_get(&srv->dkim). */
	struct dkim_keyring *dkim;
	/* SRS (mailauth/srs.h): the secret of DATA_DIR/srs.secret, read at
	 * start; srs_ready false when srs = no or it could not be read. */
	uint8_t srs_secret[32];
	bool srs_ready;
	void (*queue_kick_fn)(struct queue *q, bool notices);
	bool draining;              /* SIGTERM: finishing in-flight work */
};

/* Loop thread: queue rows were just committed (a submission to a remote
 * recipient, a forward, a notice asked for): the queue looks at once
 * instead of at its next timer. notices: some row owes a notice (a
 * local delivery with NOTIFY=SUCCESS), so the notice scan runs too.
 * Nothing when no queue runs. */
void server_queue_kick(struct server *srv, bool notices);

/* srv->reg: made before the first connection, freed after the last. 0 or
 * -1 (out of memory). */
int runtime_init(struct server *srv);
void runtime_free(struct server *srv);

/* The outbound TLS client context (tls_client_ctx_new), made on first
 * use and kept until runtime_free. NULL when it cannot be made. Loop
 * thread. */
struct ssl_ctx_st *server_tls_client_ctx(struct server *srv);

/* POP3 exclusive access to a mailbox (RFC 1939 §8: the maildrop is locked
 * for the session). true when the lock was taken. */
bool server_mailbox_lock(struct server *srv, int64_t mailbox_id);
void server_mailbox_unlock(struct server *srv, int64_t mailbox_id);

/* Durable work in flight (a delivery, a POP3 expunge): SIGTERM waits until
 * every begin has its end before closing connections. */
void server_busy_begin(struct server *srv);
void server_busy_end(struct server *srv);
unsigned runtime_busy(const struct server *srv);

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

/* The registry of live connections, kept by conn.c: the total and the
 * count per address group (IPv4 /32, IPv6 /64: iprate_group), which the
 * listener checks against the connection limits. */
void runtime_conn_added(struct server *srv, struct conn *c);
void runtime_conn_removed(struct server *srv, struct conn *c);
unsigned runtime_conn_count(const struct server *srv);
unsigned runtime_conn_count_group(const struct server *srv,
				  const char *group);

#endif
