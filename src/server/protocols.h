/*
 * The protocol table: one row per kind of listener, which the top layer
 * hands to the listener (listener_bind_all). A new protocol is a row here
 * and its start function; nothing below this layer knows the list.
 */
#ifndef POSTEL_PROTOCOLS_H
#define POSTEL_PROTOCOLS_H

#include <stdbool.h>

#include "../core/config.h"

struct server;
struct conn;

struct proto_entry {
	const char *name;      /* in the config, --listen and the logs */
	int port_root;         /* default port when started as root */
	int port_user;         /* ... and unprivileged */
	bool implicit_tls;     /* TLS from the first byte (RFC 8314) */
	/* The reply when a connection limit refuses a client before its
	 * greeting, %s the reason; NULL: just close (TLS ports). */
	const char *refuse_fmt;
	/* Takes the new connection over (the session frees both). */
	void (*start)(struct server *srv, struct conn *c, enum proto proto,
		      bool implicit_tls);
	/* Not among the default listeners: on only when a listen line names
	 * it (HTTP: a web server often owns ports 80 and 443 already). */
	bool opt_in;
};

/* Indexed by enum proto. */
extern const struct proto_entry protocols[PROTO_COUNT];

#endif
