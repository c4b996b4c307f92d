/*
 * Where a destination's mail goes: the relayhost, or the recipient
 * domain's mail exchangers (RFC 5321 §5.1, through dns.h), with the TLS
 * mode of the domain's policy. A route that reaches this server is a
 * loop (RFC 5321 §5.1: hosts as preferred as, or less preferred than,
 * ourselves are dropped; none left is an error, 5.4.6). Also the
 * dead-host cache: an address that failed is skipped for retry_min, so a
 * dead domain costs one connection attempt per round, not one per
 * recipient.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "../core/runtime.h"
#include "../core/safepath.h"
#include "queue_int.h"

#define QUEUE_SMTP_PORT 25
#define QUEUE_AUTH_FILE_MAX 4096

void
queue_reply_set(struct smtpc_reply *r, int code, const char *status,
		const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	snprintf(r->status, sizeof(r->status), "%s", status);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* ---- Addresses ------------------------------------------------------ */

static int
addr_port(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)a)->sin_port);
	if (a->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
	return 0;
}

static void
addr_set_port(struct sockaddr_storage *a, int port)
{
	if (a->ss_family == AF_INET)
		((struct sockaddr_in *)a)->sin_port = htons((uint16_t)port);
	else if (a->ss_family == AF_INET6)
		((struct sockaddr_in6 *)a)->sin6_port = htons((uint16_t)port);
}

static bool
addr_same_ip(const struct sockaddr_storage *a,
	     const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr,
			      16) == 0;
	return false;
}

static bool
addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return addr_same_ip(a, b) && addr_port(a) == addr_port(b);
}

/* Numeric address text to a sockaddr (port 0); 0 or -1. */
static int
addr_parse(const char *text, struct sockaddr_storage *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text,
		      &((struct sockaddr_in *)a)->sin_addr) == 1) {
		a->ss_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text,
		      &((struct sockaddr_in6 *)a)->sin6_addr) == 1) {
		a->ss_family = AF_INET6;
		return 0;
	}
	return -1;
}

static bool
addr_is_any(const struct sockaddr_storage *a)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &any6,
		      16) == 0;
}

/* An address of this host (for a wildcard listener). */
static bool
addr_is_interface(const struct sockaddr_storage *a)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (a->ss_family == AF_INET &&
	    (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) ==
		    127)
		return true;
	if (getifaddrs(&ifs) < 0)
		return false;
	for (i = ifs; i != NULL && !found; i = i->ifa_next) {
		struct sockaddr_storage s = { 0 };

		if (i->ifa_addr == NULL ||
		    (i->ifa_addr->sa_family != AF_INET &&
		     i->ifa_addr->sa_family != AF_INET6))
			continue;
		memcpy(&s, i->ifa_addr,
		       i->ifa_addr->sa_family == AF_INET
			       ? sizeof(struct sockaddr_in)
			       : sizeof(struct sockaddr_in6));
		found = addr_same_ip(&s, a);
	}
	freeifaddrs(ifs);
	return found;
}

/* Is a (with its port) where this server takes SMTP? */
static bool
addr_is_ours(const struct queue *q, const struct sockaddr_storage *a)
{
	for (size_t i = 0; i < q->n_local; i++)
		if (addr_same(&q->local[i], a))
			return true;
	if (addr_port(a) != QUEUE_SMTP_PORT)
		return false;
	if ((a->ss_family == AF_INET && q->any4) ||
	    (a->ss_family == AF_INET6 && q->any6))
		return addr_is_interface(a);
	return false;
}

/* ---- Start-up: relayhost, credentials, our addresses ---------------- */

static int
relay_parse(struct queue *q, const char *spec, char *err, size_t errlen)
{
	const char *host = spec, *end, *colon;
	size_t hlen;
	long port = QUEUE_SMTP_PORT;

	if (spec[0] == '[') {
		end = strchr(spec, ']');
		if (end == NULL)
			goto bad;
		host = spec + 1;
		hlen = (size_t)(end - host);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (colon == NULL && end[1] != '\0')
			goto bad;
	} else {
		colon = strrchr(spec, ':');
		hlen = colon ? (size_t)(colon - spec) : strlen(spec);
	}
	if (colon != NULL) {
		char *e;
		port = strtol(colon + 1, &e, 10);
		if (*e != '\0' || port < 1 || port > 65535)
			goto bad;
	}
	if (hlen == 0 || hlen >= sizeof(q->relay_host))
		goto bad;
	memcpy(q->relay_host, host, hlen);
	q->relay_host[hlen] = '\0';
	q->relay_port = (int)port;
	return 0;
bad:
	snprintf(err, errlen, "relayhost: expected HOST[:PORT], got %s", spec);
	return -1;
}

/* relayhost_auth_file: one line "user password". */
static int
relay_auth_read(struct queue *q, const char *path, char *err, size_t errlen)
{
	char *buf = NULL, *line, *sp, *end;
	size_t len = 0, llen;
	int rc = -1;

	if (safepath_read(path, QUEUE_AUTH_FILE_MAX, &buf, &len, err,
			  errlen) < 0)
		return -1;
	line = strndup(buf, len);
	safepath_free_buf(buf, len);
	if (line == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	llen = strlen(line);
	end = line + strcspn(line, "\r\n");
	*end = '\0';
	sp = strchr(line, ' ');
	if (sp == NULL || sp == line || sp[1] == '\0') {
		snprintf(err, errlen, "%s: expected one line \"user password\"",
			 path);
		goto out;
	}
	*sp = '\0';
	q->auth_user = strdup(line);
	q->auth_pass = strdup(sp + 1);
	if (q->auth_user == NULL || q->auth_pass == NULL)
		snprintf(err, errlen, "out of memory");
	else
		rc = 0;
out:
	explicit_bzero(line, llen);
	free(line);
	return rc;
}

int
queue_route_init(struct queue *q, char *err, size_t errlen)
{
	const struct config *cfg = &q->srv->cfg;

	if (cfg->relayhost[0] != '\0' &&
	    relay_parse(q, cfg->relayhost, err, errlen) < 0)
		return -1;
	if (cfg->relayhost_auth_file[0] != '\0' &&
	    relay_auth_read(q, cfg->relayhost_auth_file, err, errlen) < 0)
		return -1;
	/* tls_ca_file is read now, so a bad one stops the start. */
	if (cfg->tls_ca_file[0] != '\0' &&
	    server_tls_client_ctx(q->srv) == NULL) {
		snprintf(err, errlen, "tls_ca_file %s: cannot be loaded",
			 cfg->tls_ca_file);
		return -1;
	}
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const struct config_listen *l = &cfg->listeners[i];
		struct sockaddr_storage a;

		if (l->proto != PROTO_SMTP || addr_parse(l->addr, &a) < 0 ||
		    q->n_local >= CONFIG_MAX_LISTENERS)
			continue;
		if (addr_is_any(&a) && l->port == QUEUE_SMTP_PORT) {
			if (a.ss_family == AF_INET)
				q->any4 = true;
			else
				q->any6 = true;
			continue;
		}
		addr_set_port(&a, l->port);
		q->local[q->n_local++] = a;
	}
	return 0;
}

/* ---- The dead-host cache -------------------------------------------- */

bool
queue_dead_get(struct queue *q, const struct sockaddr_storage *a,
	       int64_t now, struct smtpc_reply *why_r)
{
	for (size_t i = 0; i < QUEUE_DEAD_MAX; i++)
		if (q->dead[i].until > now && addr_same(&q->dead[i].addr, a)) {
			if (why_r != NULL)
				*why_r = q->dead[i].why;
			return true;
		}
	return false;
}

void
queue_dead_add(struct queue *q, const struct sockaddr_storage *a,
	       int64_t now, const struct smtpc_reply *why)
{
	size_t slot = 0;
	int ttl = q->srv->cfg.retry_min > 0 ? q->srv->cfg.retry_min : 1;

	/* The same address, else a free slot, else the soonest to expire. */
	for (size_t i = 0; i < QUEUE_DEAD_MAX; i++) {
		if (addr_same(&q->dead[i].addr, a) || q->dead[i].until <= now) {
			slot = i;
			if (addr_same(&q->dead[i].addr, a))
				break;
			continue;
		}
		if (q->dead[i].until < q->dead[slot].until &&
		    q->dead[slot].until > now)
			slot = i;
	}
	q->dead[slot].addr = *a;
	q->dead[slot].until = now + ttl;
	q->dead[slot].why = *why;
}

/* ---- Routes ---------------------------------------------------------- */

static bool
host_is_ours(const struct queue *q, const struct dns_mx_host *h)
{
	if (strcasecmp(h->name, q->srv->cfg.hostname) == 0)
		return true;
	for (size_t i = 0; i < h->n_addrs; i++)
		if (addr_is_ours(q, &h->addrs[i]))
			return true;
	return false;
}

/* RFC 5321 §5.1: "If the SMTP client finds itself among the MX
 * records, ... it MUST discard [those] with preference equal to or
 * greater than its own". */
bool
queue_route_drop_self(const struct queue *q, struct dns_mx_result *r)
{
	size_t keep = r->n_hosts;

	for (size_t i = 0; i < r->n_hosts; i++)
		if (host_is_ours(q, &r->hosts[i])) {
			unsigned pref = r->hosts[i].pref;
			keep = i;
			/* Sorted by preference: stop before the first
			 * host as preferred as we are. */
			while (keep > 0 && r->hosts[keep - 1].pref >= pref)
				keep--;
			break;
		}
	r->n_hosts = keep;
	return keep == 0;
}

/* No host of the route has an address, and no lookup failed only for
 * now: the MX hosts do not exist, or the domain (the implicit MX) has no
 * address: nothing to retry (RFC 3463 X.4.4, unable to route). */
static bool
route_no_address(const struct dns_mx_result *r)
{
	if (r->status != DNS_NODATA || r->n_hosts == 0)
		return false;
	for (size_t i = 0; i < r->n_hosts; i++)
		if (r->hosts[i].addr_status == DNS_TEMPFAIL ||
		    r->hosts[i].addr_status == DNS_OK)
			return false;
	return true;
}

static void
route_fail(struct qdest *d, const struct dns_mx_result *r)
{
	const char *what = d->key[0] ? d->key : d->q->relay_host;
	bool relay = d->key[0] == '\0';

	/* A relayhost that cannot be found is the site's problem: try
	 * again later rather than bounce everything. */
	if (r->status == DNS_NXDOMAIN && !relay)
		queue_reply_set(&d->route_err, 550, "5.1.2",
				"Host or domain name not found: %s (%s)", what,
				r->why);
	else if (r->status == DNS_NULLMX && !relay)
		queue_reply_set(&d->route_err, 556, "5.1.10",
				"Domain %s does not accept mail (null MX, "
				"RFC 7505)", what);
	else if (route_no_address(r) && !relay)
		queue_reply_set(&d->route_err, 550, "5.4.4",
				"No mail exchanger of %s has an address (%s)",
				what, r->why);
	else
		queue_reply_set(&d->route_err, 451, "4.4.3",
				"DNS lookup for %s failed: %s", what,
				r->why[0] ? r->why : "temporary failure");
}

static void
route_set(struct qdest *d, const struct dns_mx_result *r)
{
	struct queue *q = d->q;
	int port = d->key[0] ? QUEUE_SMTP_PORT : q->relay_port;
	size_t len;

	memset(&d->route_err, 0, sizeof(d->route_err));
	d->route_until = queue_now() + QUEUE_ROUTE_TTL;
	if (r->status != DNS_OK) {
		route_fail(d, r);
		return;
	}
	/* Only the hosts there are (a full result is about 20 KB; most
	 * domains have one or two hosts), so thousands of destinations in
	 * flight stay small. */
	len = offsetof(struct dns_mx_result, hosts) +
	      r->n_hosts * sizeof(r->hosts[0]);
	free(d->route);
	if ((d->route = malloc(len)) == NULL) {
		queue_reply_set(&d->route_err, 451, "4.3.0", "Out of memory");
		return;
	}
	memcpy(d->route, r, len);
	for (size_t i = 0; i < d->route->n_hosts; i++)
		for (size_t k = 0; k < d->route->hosts[i].n_addrs; k++)
			addr_set_port(&d->route->hosts[i].addrs[k], port);
	if (queue_route_drop_self(q, d->route))
		queue_reply_set(&d->route_err, 554, "5.4.6",
				"Mail for %s loops back to myself",
				d->key[0] ? d->key : q->relay_host);
}

static void
route_tls_cb(void *arg)
{
	struct qdest *d = arg;
	const struct tls_policy *p = &d->tls_policy;

	for (size_t i = 0; i < p->n_hosts; i++) {
		const struct tls_policy_host *h = &p->hosts[i];

		if (h->st == TLS_HOST_PLAIN)
			continue;
		log_info(NULL, "tls_policy", " dest=%s mx=%s policy=%s "
			 "tlsa=%zu%s%s", log_qs(d->key), log_qs(h->name),
			 h->st == TLS_HOST_DANE ? "dane"
			 : h->st == TLS_HOST_UNUSABLE ? "dane-unusable"
			 : "dane-lookup-failed", h->n_tlsa,
			 h->why[0] ? " why=" : "",
			 h->why[0] ? log_qs(h->why) : "");
		/* RFC 8460 §4.3.2: no valid TLSA answer is a result too. */
		if (h->st == TLS_HOST_FAIL)
			tls_policy_report(d->key, p, h->name, "",
					  TLS_RESULT_DNSSEC_INVALID, h->why);
	}
	queue_dest_pump(d);
}

static void
route_cb(void *arg, const struct dns_mx_result *r)
{
	struct qdest *d = arg;

	d->dq = NULL;
	route_set(d, r);
	/* A failed refresh leaves the route as it was, or without a usable
	 * host: its TLS policy stays with it, so a connection failing over
	 * meanwhile still gets DANE. */
	if (d->route_err.code != 0)
		log_info(NULL, "route", " dest=%s status=%s reason=%s",
			 log_qs(d->key[0] ? d->key : d->q->relay_host),
			 d->route_err.status, log_qs(d->route_err.text));
	/* RFC 7672 §2.2: DANE for a domain's MX hosts (not the relayhost,
	 * not messages that asked to go without: RFC 8689 §3). */
	else if (d->key[0] != '\0' && !d->relaxed &&
		 tls_policy_start(&d->tls_policy, d->q->srv->dns, d->route,
				  d->tls, route_tls_cb, d) == 0)
		return;
	queue_dest_pump(d);
}

/* The relayhost given as an address literal needs no lookup. */
static bool
route_literal(struct qdest *d)
{
	struct dns_mx_result *r;

	if (d->key[0] != '\0')
		return false;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return false;
	if (addr_parse(d->q->relay_host, &r->hosts[0].addrs[0]) < 0) {
		free(r);
		return false;
	}
	r->status = DNS_OK;
	r->implicit = true;
	r->n_hosts = 1;
	r->hosts[0].n_addrs = 1;
	snprintf(r->hosts[0].name, sizeof(r->hosts[0].name), "%s",
		 d->q->relay_host);
	route_set(d, r);
	free(r);
	return true;
}

int
queue_route_start(struct qdest *d)
{
	struct queue *q = d->q;
	const char *name = d->key[0] ? d->key : q->relay_host;

	d->tls = tls_policy_configured(&q->srv->cfg, name);
	if (d->key[0] == '\0' && d->tls < CONFIG_TLS_ENCRYPT)
		d->tls = CONFIG_TLS_ENCRYPT; /* relayhost: TLS required */
	if (route_literal(d))
		return 1;
	if (q->srv->dns != NULL)
		d->dq = d->key[0] ? dns_mx(q->srv->dns, name, route_cb, d)
				  : dns_host(q->srv->dns, name, route_cb, d);
	if (d->dq == NULL) {
		queue_reply_set(&d->route_err, 451, "4.3.0",
				"Cannot start the DNS lookup of %s", name);
		d->route_until = queue_now() + 1;
		return 1;
	}
	return 0;
}

void
queue_route_cancel(struct qdest *d)
{
	if (d->dq != NULL) {
		dns_cancel(d->dq);
		d->dq = NULL;
	}
	tls_policy_clear(&d->tls_policy);
}
