/*
 * postel route DOMAIN | postel route --host HOST
 *
 * Shows where Postel would deliver mail for DOMAIN, with the resolver the
 * server uses (the config's resolver and dnssec_trust_anchor): the MX
 * hosts in the order they would be tried (RFC 5321 §5.1: by preference,
 * equal preferences shuffled on every run) with their IPv6 then IPv4
 * addresses, the implicit MX, a null MX (RFC 7505), NXDOMAIN, a temporary
 * failure with its reason, and whether the answers were DNSSEC-secure.
 * --host resolves one host the way relayhost is resolved.
 *
 * Output (one line each):
 *   route DOMAIN: N hosts[ (implicit MX: no MX records)]
 *     MX PREF NAME[ (cname CANON)]: ADDR ADDR ...[ secure]
 *     MX PREF NAME: no address (REASON)
 *   dnssec: MX secure|not secure
 *   tls: dane|opportunistic|none[ (tls_policy MODE)]
 *     TLSA _25._tcp.HOST: N records, M usable (dane)|none usable
 *       (TLS required, unverified)|lookup failed: WHY
 * or "route DOMAIN: null MX: domain accepts no mail",
 * "route DOMAIN: NXDOMAIN: ...", "route DOMAIN: temporary failure: WHY",
 * "route DOMAIN: no usable host: WHY".
 * Exit status: 0 when mail could be routed (at least one address), 1 when
 * not (any of the failures above), 2 on a usage error.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "../dns/dns.h"
#include "../queue/tls_policy.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_ROUTE_SYNOPSIS "route DOMAIN | route --host HOST"

struct cli_route {
	struct event_base *base;
	const struct config *cfg;
	struct dns *dns;
	const char *domain;
	bool host;
	int rc;
	bool done;
	/* DANE (RFC 7672): the TLSA lookups after the route. */
	struct dns_mx_result *route;
	struct tls_policy tls;
};

static void
cli_route_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)ss)->sin6_addr, buf,
			  (socklen_t)len);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
			  buf, (socklen_t)len);
}

static const char *
cli_route_status(enum dns_status st)
{
	switch (st) {
	case DNS_OK: return "ok";
	case DNS_NXDOMAIN: return "NXDOMAIN";
	case DNS_NODATA: return "no A/AAAA records";
	case DNS_NULLMX: return "null MX";
	case DNS_TEMPFAIL: return "temporary failure";
	}
	return "?";
}

static void
cli_route_host(const struct dns_mx_host *h)
{
	char addr[INET6_ADDRSTRLEN];

	printf("  MX %u %s", h->pref, h->name);
	if (h->canonname[0] != '\0')
		printf(" (cname %s)", h->canonname);
	if (h->n_addrs == 0) {
		printf(": no address (%s)\n",
		       cli_route_status(h->addr_status));
		return;
	}
	printf(":");
	for (size_t i = 0; i < h->n_addrs; i++) {
		cli_route_addr(&h->addrs[i], addr, sizeof(addr));
		printf(" %s", addr);
	}
	printf("%s\n", h->secure ? " secure" : "");
}

/* The TLS policy the queue would apply (tls_policy.h), per host. */
static void
cli_route_tls_cb(void *arg)
{
	struct cli_route *c = arg;
	const struct tls_policy *p = &c->tls;
	enum config_tls_mode m = p->base;

	c->done = true;
	event_base_loopbreak(c->base);
	printf("tls: %s", tls_policy_mode_name(p->mode));
	if (m != CONFIG_TLS_MAY)
		printf(" (tls_policy %s)", m == CONFIG_TLS_NONE ? "none"
		       : m == CONFIG_TLS_ENCRYPT ? "encrypt" : "verify");
	printf("\n");
	for (size_t i = 0; i < p->n_hosts; i++) {
		const struct tls_policy_host *h = &p->hosts[i];

		if (h->st == TLS_HOST_DANE)
			printf("  TLSA _25._tcp.%s: %zu record%s, %zu usable "
			       "(dane)\n", h->name, h->n_tlsa,
			       h->n_tlsa == 1 ? "" : "s", h->dane->n);
		else if (h->st == TLS_HOST_UNUSABLE)
			printf("  TLSA _25._tcp.%s: %zu record%s, none usable "
			       "(TLS required, unverified)\n", h->name,
			       h->n_tlsa, h->n_tlsa == 1 ? "" : "s");
		else if (h->st == TLS_HOST_FAIL)
			printf("  TLSA _25._tcp.%s: lookup failed: %s "
			       "(delivery waits)\n", h->name, h->why);
	}
}

static void
cli_route_cb(void *arg, const struct dns_mx_result *r)
{
	struct cli_route *c = arg;

	c->rc = r->status == DNS_OK ? CLI_EXIT_OK : CLI_EXIT_ERR;
	if (r->status != DNS_OK || c->host ||
	    (c->route = malloc(sizeof(*c->route))) == NULL) {
		c->done = true;
		event_base_loopbreak(c->base);
	}
	switch (r->status) {
	case DNS_NXDOMAIN:
		printf("route %s: NXDOMAIN: %s\n", c->domain, r->why);
		return;
	case DNS_NULLMX:
		printf("route %s: null MX: domain accepts no mail\n",
		       c->domain);
		return;
	case DNS_TEMPFAIL:
		printf("route %s: temporary failure: %s\n", c->domain,
		       r->why);
		return;
	case DNS_NODATA:
		printf("route %s: no usable host: %s\n", c->domain, r->why);
		break;
	case DNS_OK:
		printf("route %s: %zu host%s%s\n", c->domain, r->n_hosts,
		       r->n_hosts == 1 ? "" : "s",
		       r->implicit ? " (implicit MX: no MX records)" : "");
		break;
	}
	for (size_t i = 0; i < r->n_hosts; i++)
		cli_route_host(&r->hosts[i]);
	printf("dnssec: MX %s\n", r->mx_secure ? "secure" : "not secure");
	if (c->done)
		return;
	*c->route = *r;
	if (tls_policy_start(&c->tls, c->dns, c->route,
			     tls_policy_configured(c->cfg, c->domain),
			     cli_route_tls_cb, c) == 1)
		cli_route_tls_cb(c);
}

static int
cli_route_run(const struct config *cfg, const char *name, bool host)
{
	struct cli_route c = { .domain = name, .rc = CLI_EXIT_ERR,
			       .cfg = cfg, .host = host };
	struct dns *d = NULL;
	struct dns_query *q;
	char err[512];

	c.base = event_base_new();
	if (c.base == NULL) {
		cli_err("out of memory");
		return CLI_EXIT_ERR;
	}
	d = dns_new(c.base, cfg, err, sizeof(err));
	if (d == NULL) {
		cli_err("%s", err);
		event_base_free(c.base);
		return CLI_EXIT_ERR;
	}
	c.dns = d;
	q = host ? dns_host(d, name, cli_route_cb, &c)
		 : dns_mx(d, name, cli_route_cb, &c);
	if (q == NULL) {
		cli_err("cannot look up '%s' (name too long?)", name);
	} else {
		/* Bounded: every query has a deadline (dns.h). */
		while (!c.done && event_base_dispatch(c.base) == 0)
			;
	}
	tls_policy_clear(&c.tls);
	free(c.route);
	dns_free(&d);
	event_base_free(c.base);
	return c.rc;
}

int
cli_route(const struct config *cfg, int argc, char **argv)
{
	bool host = false;
	const char *name = NULL;

	if (cli_wants_help(argc, argv)) {
		printf("usage: postel %s\n", CLI_ROUTE_SYNOPSIS);
		return CLI_EXIT_OK;
	}
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--host") == 0 && !host)
			host = true;
		else if (name == NULL && argv[i][0] != '-')
			name = argv[i];
		else
			return cli_usage(CLI_ROUTE_SYNOPSIS);
	}
	if (name == NULL)
		return cli_usage(CLI_ROUTE_SYNOPSIS);
	return cli_route_run(cfg, name, host);
}
