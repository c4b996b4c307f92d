/*
 * ACME certificates (RFC 8555) for the host name and the mta-sts. and
 * autoconfig. names of hosted domains: a thread of its own obtains and
 * renews them over HTTP-01 (answered by the HTTP endpoint from
 * srv->challenges) and the loop swaps in the new context, no restart.
 * Account key and certificate live in DATA_DIR/acme (0600).
 */
#ifndef POSTEL_ACME_H
#define POSTEL_ACME_H

#include <stddef.h>

struct acme;
struct server;
struct ssl_ctx_st;

/* When cfg.acme: makes srv->challenges and DATA_DIR/acme, starts the
 * thread (first check at once). 0 (also when off) or -1 with err (no
 * http listener, out of memory). After the privilege drop. */
int acme_start(struct server *srv, struct acme **ap, char *err,
	       size_t errlen);
/* Stops the thread (a request in flight is cut) and frees it. */
void acme_stop(struct acme **ap);
/* The stored ACME certificate and key as a server context (the one SNI
 * falls back to), NULL when acme is off, there is none yet or it does not
 * load (logged). Start-up and SIGHUP. */
struct ssl_ctx_st *acme_ctx_load(struct server *srv);

#endif
