/*
 * Server state shared by the core modules (server.c, listener.c, conn.c)
 * and nobody else.
 */
#ifndef POSTEL_SERVER_PRIV_H
#define POSTEL_SERVER_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "iprate.h"

struct conn;
struct evconnlistener;
struct event;
struct sweep_thread;
struct keyhelper;
struct tls_tickets;
struct iprate;

#define SERVER_IP_BUCKETS 4096
#define SERVER_LOCK_BUCKETS 256

struct server_ip_count {
	char ip[64];
	unsigned n;
	struct server_ip_count *next;
};

struct server_lock {
	int64_t mailbox_id;
	struct server_lock *next;
};

struct server_listener {
	struct server *srv;
	struct evconnlistener *evl;
	int proto; /* enum proto */
};

struct server_priv {
	struct server_listener listeners[32];
	size_t n_listeners;
	struct conn *conns;          /* every live connection */
	unsigned n_conns;
	struct server_ip_count *ips[SERVER_IP_BUCKETS]; /* by address group */
	struct iprate *iprate;       /* max_connection_rate_per_ip buckets */
	struct iprate_prefix rate_exempt[IPRATE_PREFIX_MAX];
	int n_rate_exempt;           /* parsed from connection_rate_exempt */
	bool rate_exempt_parsed;
	struct server_lock *locks[SERVER_LOCK_BUCKETS];
	unsigned busy;               /* durable jobs in flight */
	struct server_watch *watches; /* server_watch_add */
	struct event *sig_term, *sig_int, *sig_hup, *drain_timer;
	int drain_ticks;
	int lock_fd;                 /* DATA_DIR/serve.lock, flock'ed */
	struct sweep_thread *sweep;  /* orphan files of earlier runs */
	struct keyhelper *keys;      /* root helper for SIGHUP; NULL: not root */
	struct tls_tickets *tickets; /* session-ticket key ring */
};

#endif
