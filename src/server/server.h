/*
 * The server's lifecycle (the top layer): bind, load TLS, drop
 * privileges, start the worker pools and the commit thread, run the loop.
 * struct server itself is defined by the runtime layer (runtime.h), so
 * the layers below reach what they need without including this.
 */
#ifndef POSTEL_SERVER_H
#define POSTEL_SERVER_H

#include "../core/runtime.h"

int server_run(struct server *srv);

#endif
