/*
 * The top layer's part of the server state, shared by server.c and
 * listener.c and nobody else (the runtime's part: runtime_int.h).
 */
#ifndef POSTEL_SERVER_INT_H
#define POSTEL_SERVER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/iprate.h"

struct conn;
struct proto_entry;
struct evconnlistener;
struct event;
struct sweep_thread;
struct keyhelper;
struct tls_tickets;
struct control;
struct iprate;
struct acme;

struct server_listener {
	struct server *srv;
	struct evconnlistener *evl;
	const struct proto_entry *protos; /* the table, by enum proto */
	int proto; /* enum proto */
};

struct server_priv {
	struct server_listener listeners[32];
	size_t n_listeners;
	struct iprate *iprate;       /* max_connection_rate_per_ip buckets */
	struct iprate_prefix rate_exempt[IPRATE_PREFIX_MAX];
	int n_rate_exempt;           /* parsed from connection_rate_exempt */
	bool rate_exempt_parsed;
	struct event *sig_term, *sig_int, *sig_hup, *sig_usr1, *drain_timer;
	int drain_ticks;
	int lock_fd;                 /* DATA_DIR/serve.lock, flock'ed */
	struct sweep_thread *sweep;  /* orphan files of earlier runs */
	struct keyhelper *keys;      /* root helper for SIGHUP; NULL: not root */
	struct tls_tickets *tickets; /* session-ticket key ring */
	struct control *control;     /* DATA_DIR/control (control.h) */
	struct acme *acme;           /* the ACME thread (acme.h); NULL: off */
};

#endif
