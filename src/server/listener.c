/* Listening sockets and connection limits. */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/listener.h>

#include "../core/conn.h"
#include "../core/iprate.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/loop.h"
#include "protocols.h"
#include "server.h"
#include "server_int.h"

static void
peer_ip(const struct sockaddr *sa, char *out, size_t outlen)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		/* Show v4-mapped clients as plain IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out,
				  (socklen_t)outlen);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, out,
				  (socklen_t)outlen);
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, out, (socklen_t)outlen);
	}
}

/* Refuses a connection over a limit with the protocol's own words when the
 * protocol speaks first in plaintext (refuse_fmt); TLS ports are just
 * closed. */
static void
refuse(int fd, const struct proto_entry *pe, const char *why)
{
	char msg[160];

	msg[0] = '\0';
	if (pe->refuse_fmt != NULL)
		snprintf(msg, sizeof(msg), pe->refuse_fmt, why);
	if (msg[0] != '\0') {
		ssize_t w = send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)w;
	}
	close(fd);
}

/* max_connection_rate_per_ip: one token per new connection from the
 * client's address group. true when it may connect. */
static bool
rate_ok(struct server *srv, const char *ip)
{
	struct server_priv *p = srv->priv;
	uint8_t key[IPRATE_KEY_LEN];
	struct timespec ts;

	if (srv->cfg.max_connection_rate_per_ip <= 0 ||
	    iprate_key(ip, key) < 0)
		return true;
	if (!p->rate_exempt_parsed) {
		int n = iprate_parse_prefixes(srv->cfg.connection_rate_exempt,
					      p->rate_exempt, IPRATE_PREFIX_MAX);
		p->n_rate_exempt = n > 0 ? n : 0; /* checked at config load */
		p->rate_exempt_parsed = true;
	}
	if (iprate_in_prefixes(ip, p->rate_exempt, p->n_rate_exempt))
		return true;
	if (p->iprate == NULL && (p->iprate = iprate_new()) == NULL)
		return true; /* out of memory: the other limits still hold */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return iprate_take(p->iprate, key,
			   (unsigned)srv->cfg.max_connection_rate_per_ip,
			   (double)ts.tv_sec + ts.tv_nsec / 1e9);
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
	  struct sockaddr *sa, int salen, void *arg)
{
	struct server_listener *sl = arg;
	struct server *srv = sl->srv;
	char ip[64], group[64];
	const struct proto_entry *pe = &sl->protos[sl->proto];
	bool tls = pe->implicit_tls;

	peer_ip(sa, ip, sizeof(ip));
	/* Replies are small and each ends a round trip: Nagle's algorithm
	 * would hold them back against the client's delayed ACK (~40 ms). */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (srv->draining) {
		close(fd);
		return;
	}
	iprate_group(ip, group, sizeof(group));
	if (runtime_conn_count(srv) >= srv->cfg.max_connections ||
	    runtime_conn_count_group(srv, group) >=
	    srv->cfg.max_connections_per_ip) {
		log_warn(NULL, "refuse", " proto=%s ip=%s reason=limit",
			 pe->name, ip);
		metrics_conn_refused(sl->proto, false);
		refuse(fd, pe, "Too many connections");
		return;
	}
	if (!rate_ok(srv, ip)) {
		log_warn(NULL, "refuse", " proto=%s ip=%s reason=rate",
			 pe->name, ip);
		metrics_conn_refused(sl->proto, true);
		refuse(fd, pe, "Too many connections from your address");
		return;
	}
	struct conn *c = conn_new(srv, fd, ip, tls);
	if (c == NULL) {
		log_error(NULL, "accept", " ip=%s reason=oom", ip);
		return;
	}
	conn_set_proto(c, pe->name);
	metrics_conn_accepted(sl->proto);
	/* At info a connection is one line, event=session at its end. */
	log_debug(conn_id(c), "connect", " proto=%s ip=%s",
		  pe->name, ip);
	pe->start(srv, c, (enum proto)sl->proto, tls);
}

static int
make_sockaddr(const struct config_listen *l, struct sockaddr_storage *ss,
	      socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(l->addr, ':') != NULL) {
		struct sockaddr_in6 *s6 = (void *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)l->port);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, l->addr, &s6->sin6_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in *s4 = (void *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)l->port);
	*len = sizeof(*s4);
	return inet_pton(AF_INET, l->addr, &s4->sin_addr) == 1 ? 0 : -1;
}

int
listener_bind_all(struct server *srv, const struct proto_entry *protos,
		  char *err, size_t errlen)
{
	struct server_priv *p = srv->priv;
	struct event_base *base = loop_base(srv->loop);

	for (size_t i = 0; i < srv->cfg.n_listeners; i++) {
		const struct config_listen *l = &srv->cfg.listeners[i];
		struct server_listener *sl = &p->listeners[p->n_listeners];
		struct sockaddr_storage ss;
		socklen_t len;

		if (make_sockaddr(l, &ss, &len) < 0) {
			snprintf(err, errlen, "bad address %s", l->addr);
			return -1;
		}
		sl->srv = srv;
		sl->protos = protos;
		sl->proto = l->proto;
		sl->evl = evconnlistener_new_bind(base, accept_cb, sl,
			LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
			LEV_OPT_CLOSE_ON_EXEC, 1024, (struct sockaddr *)&ss,
			(int)len);
		if (sl->evl == NULL) {
			snprintf(err, errlen, "cannot listen on %s %s%s%s:%d: %s",
				 protos[l->proto].name,
				 strchr(l->addr, ':') ? "[" : "", l->addr,
				 strchr(l->addr, ':') ? "]" : "", l->port,
				 strerror(errno));
			return -1;
		}
		p->n_listeners++;
		printf("postel: listening %s %s%s%s:%d\n",
		       protos[l->proto].name,
		       strchr(l->addr, ':') ? "[" : "", l->addr,
		       strchr(l->addr, ':') ? "]" : "", l->port);
	}
	fflush(stdout);
	return 0;
}

void
listener_disable_all(struct server *srv)
{
	for (size_t i = 0; i < srv->priv->n_listeners; i++)
		evconnlistener_disable(srv->priv->listeners[i].evl);
}

void
listener_free_all(struct server *srv)
{
	struct server_priv *p = srv->priv;

	for (size_t i = 0; i < p->n_listeners; i++)
		evconnlistener_free(p->listeners[i].evl);
	p->n_listeners = 0;
	iprate_free(&p->iprate);
}
