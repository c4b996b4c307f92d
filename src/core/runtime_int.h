/*
 * The registry behind struct server's reg (runtime.h), shared by
 * runtime.c and conn.c and nobody else.
 */
#ifndef POSTEL_RUNTIME_INT_H
#define POSTEL_RUNTIME_INT_H

#include <stdint.h>

#include "runtime.h"

struct conn_linger;

#define RUNTIME_IP_BUCKETS 4096
#define RUNTIME_LOCK_BUCKETS 256

struct runtime_ip_count {
	char ip[64];
	unsigned n;
	struct runtime_ip_count *next;
};

struct runtime_lock {
	int64_t mailbox_id;
	struct runtime_lock *next;
};

struct runtime_reg {
	struct conn *conns;          /* every live connection */
	unsigned n_conns;
	struct runtime_ip_count *ips[RUNTIME_IP_BUCKETS]; /* by address group */
	struct runtime_lock *locks[RUNTIME_LOCK_BUCKETS];
	unsigned busy;               /* durable jobs in flight */
	struct server_watch *watches; /* server_watch_add */
	struct ssl_ctx_st *tls_client_ctx; /* server_tls_client_ctx */
	struct session *sessions;    /* live sessions (session.c) */
	unsigned n_sessions;
	struct conn_linger *lingers; /* closed, draining input (conn_linger.c) */
	unsigned n_lingers;
};

#endif
