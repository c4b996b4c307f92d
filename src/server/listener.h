/*
 * Listening sockets: bind (before privileges are dropped), accept, enforce
 * the total and per-address connection limits, and hand each connection to
 * its protocol.
 */
#ifndef POSTEL_LISTENER_H
#include <stddef.h>
#define POSTEL_LISTENER_H

struct server;
struct proto_entry;

/* Binds every configured listener and prints "postel: listening ..." for
 * each; a connection accepted on a listener of protocol P is handed to
 * protos[P].start (protocols.h: the table, indexed by enum proto). 0 or -1
 * with err. */
int listener_bind_all(struct server *srv, const struct proto_entry *protos,
		      char *err, size_t errlen);
/* Stops accepting (SIGTERM). */
void listener_disable_all(struct server *srv);
void listener_free_all(struct server *srv);

#endif
