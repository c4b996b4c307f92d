/*
 * Mail routing (dns.h, "Mail routing"): RFC 5321 §5.1 and RFC 7505.
 *
 *   MX lookup of the domain
 *     NXDOMAIN                 -> DNS_NXDOMAIN (permanent)
 *     SERVFAIL, timeout, bogus -> DNS_TEMPFAIL
 *     every target "."         -> DNS_NULLMX (RFC 7505 §3: "MX 0 .")
 *     no MX (NODATA)           -> the implicit MX: the domain itself,
 *                                 pref 0, implicit = true (§5.1)
 *     MX records               -> hosts sorted by preference, equal ones
 *                                 shuffled (§5.1: "randomize"), at most
 *                                 DNS_MX_HOSTS_MAX (the lowest kept)
 *   then the AAAA and A lookups of every host, all in parallel; a host
 *   keeps its IPv6 then IPv4 addresses, or none with addr_status telling
 *   why. A target that is an IP address (not allowed by §5.1, which wants
 *   a domain name) or not a host name is kept without a lookup, as
 *   DNS_NXDOMAIN. The result is DNS_OK when at least one host has an
 *   address, else DNS_NODATA with why.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#include "../util/str.h"
#include "dns_int.h"

#define DNS_T_A 1
#define DNS_T_MX 15
#define DNS_T_AAAA 28

struct dns_mx_rec {
	unsigned pref;
	uint32_t shuffle;
	char host[256];
};

/* ---- Results ------------------------------------------------------- */

static void
dns_mx_fail(struct dns_query *q, enum dns_status st, const char *what,
	    const char *why)
{
	q->mx.status = st;
	q->mx.n_hosts = 0;
	snprintf(q->mx.why, sizeof(q->mx.why), "%s: %s", what, why);
	dns_query_deliver(q);
}

static enum dns_status
dns_mx_host_status(const struct dns_host_addrs *h)
{
	if (h->n6 + h->n4 > 0)
		return DNS_OK;
	if (h->st6 == DNS_TEMPFAIL || h->st4 == DNS_TEMPFAIL)
		return DNS_TEMPFAIL;
	if (h->st6 == DNS_NXDOMAIN || h->st4 == DNS_NXDOMAIN)
		return DNS_NXDOMAIN;
	return DNS_NODATA;
}

/* IPv6 then IPv4 into h's addrs; each family keeps at least half the
 * room when the other has addresses, so neither crowds the other out. */
static void
dns_mx_host_fill(struct dns_mx_host *h, const struct dns_host_addrs *a)
{
	size_t half = DNS_ADDRS_PER_HOST / 2;
	size_t n6 = a->n6, n4 = a->n4;

	if (n6 + n4 > DNS_ADDRS_PER_HOST) {
		if (n6 > half && n4 >= half)
			n6 = half;
		else if (n6 > half)
			n6 = DNS_ADDRS_PER_HOST - n4;
		n4 = DNS_ADDRS_PER_HOST - n6 < n4 ? DNS_ADDRS_PER_HOST - n6
						  : n4;
	}
	h->n_addrs = 0;
	for (size_t i = 0; i < n6; i++) {
		struct sockaddr_in6 *s6 =
			(struct sockaddr_in6 *)&h->addrs[h->n_addrs++];

		memset(s6, 0, sizeof(*s6));
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = a->a6[i];
	}
	for (size_t i = 0; i < n4; i++) {
		struct sockaddr_in *s4 =
			(struct sockaddr_in *)&h->addrs[h->n_addrs++];

		memset(s4, 0, sizeof(*s4));
		s4->sin_family = AF_INET;
		s4->sin_addr = a->a4[i];
	}
	h->addr_status = dns_mx_host_status(a);
	h->secure = a->sec6 && a->sec4;
}

static const char *
dns_status_word(enum dns_status st)
{
	switch (st) {
	case DNS_OK: return "ok";
	case DNS_NXDOMAIN: return "NXDOMAIN";
	case DNS_NODATA: return "no address records";
	case DNS_NULLMX: return "null MX";
	case DNS_TEMPFAIL: return "temporary failure";
	}
	return "?";
}

/* Every lookup is in: the hosts' addresses and the overall status. */
static void
dns_mx_finish(struct dns_query *q)
{
	struct dns_mx_result *m = &q->mx;
	size_t usable = 0, o = 0;

	for (size_t i = 0; i < m->n_hosts; i++) {
		dns_mx_host_fill(&m->hosts[i], &q->addrs[i]);
		if (m->hosts[i].n_addrs > 0)
			usable++;
	}
	if (usable > 0) {
		m->status = DNS_OK;
		m->why[0] = '\0';
		dns_query_deliver(q);
		return;
	}
	/* The first hosts' reasons, as many as fit. */
	m->status = m->n_hosts == 1 && q->kind == DNS_KIND_HOST ?
		m->hosts[0].addr_status : DNS_NODATA;
	o = (size_t)snprintf(m->why, sizeof(m->why), "no %s has an address:",
			     m->implicit ? "host" : "MX host");
	for (size_t i = 0; i < m->n_hosts && o < sizeof(m->why); i++)
		o += (size_t)snprintf(m->why + o, sizeof(m->why) - o,
				      " %s (%s)", m->hosts[i].name,
				      dns_status_word(m->hosts[i].addr_status));
	dns_query_deliver(q);
}

/* ---- Address lookups ---------------------------------------------- */

static void
dns_mx_addrs_take(struct dns_host_addrs *h, int rrtype,
		  const struct dns_answer *a)
{
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++) {
		if (rrtype == DNS_T_AAAA && a->len[i] == 16 &&
		    h->n6 < DNS_ADDRS_PER_HOST)
			memcpy(&h->a6[h->n6++], a->rdata[i], 16);
		else if (rrtype == DNS_T_A && a->len[i] == 4 &&
			 h->n4 < DNS_ADDRS_PER_HOST)
			memcpy(&h->a4[h->n4++], a->rdata[i], 4);
	}
	if (rrtype == DNS_T_AAAA) {
		h->st6 = a->status;
		h->sec6 = a->secure;
		h->done6 = true;
	} else {
		h->st4 = a->status;
		h->sec4 = a->secure;
		h->done4 = true;
	}
}

/* Starts the AAAA and A lookups of every host that has a usable name
 * (subs 1.. : 2 per host); a host that has none is marked now. Finishes
 * from the loop when nothing was started. 0 or -1. */
static int
dns_mx_addrs_start(struct dns_query *q)
{
	for (size_t i = 0; i < q->mx.n_hosts; i++) {
		struct dns_mx_host *h = &q->mx.hosts[i];
		struct dns_host_addrs *a = &q->addrs[i];
		size_t s6 = 1 + 2 * i, s4 = 2 + 2 * i;

		if (h->addr_status == DNS_NXDOMAIN) {
			a->st6 = a->st4 = DNS_NXDOMAIN;
			a->done6 = a->done4 = true;
			continue;
		}
		q->subs[s6].host = q->subs[s4].host = i;
		if (dns_sub_start(q, s6, h->name, DNS_T_AAAA) < 0) {
			a->st6 = DNS_TEMPFAIL;
			a->done6 = true;
		}
		if (dns_sub_start(q, s4, h->name, DNS_T_A) < 0) {
			a->st4 = DNS_TEMPFAIL;
			a->done4 = true;
		}
	}
	if (q->pending == 0) {
		/* Nothing to wait for: finished from the loop, never from
		 * the frame of dns_host. */
		q->defer_finish = true;
		return dns_query_defer(q);
	}
	/* The address stage gets a full deadline of its own. */
	return dns_query_arm(q);
}

/* ---- The MX answer ------------------------------------------------- */

static int
dns_mx_rec_cmp(const void *x, const void *y)
{
	const struct dns_mx_rec *a = x, *b = y;

	if (a->pref != b->pref)
		return a->pref < b->pref ? -1 : 1;
	if (a->shuffle != b->shuffle)
		return a->shuffle < b->shuffle ? -1 : 1;
	return 0;
}

/* Whether host is an IPv4 or IPv6 address written as a name. */
static bool
dns_is_ip(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	       inet_pton(AF_INET6, host, buf) == 1;
}

/* Adds one host (name, pref) unless the name is there already (with an
 * equal or lower preference, as the records are sorted). */
static void
dns_mx_add_host(struct dns_query *q, const char *name, unsigned pref)
{
	struct dns_mx_result *m = &q->mx;
	struct dns_mx_host *h;

	for (size_t i = 0; i < m->n_hosts; i++)
		if (strcmp(m->hosts[i].name, name) == 0)
			return;
	if (m->n_hosts >= DNS_MX_HOSTS_MAX)
		return;
	h = &m->hosts[m->n_hosts++];
	memset(h, 0, sizeof(*h));
	str_lcpy(h->name, name, sizeof(h->name));
	h->pref = pref;
	h->addr_status = DNS_NODATA;
	/* §5.1 wants a domain name: an address or a name that is not a
	 * host name is not looked up. */
	if (dns_is_ip(name) || !dns_name_ok(name))
		h->addr_status = DNS_NXDOMAIN;
}

/* Keeps r among the DNS_MX_RECORDS_MAX lowest (preference, shuffle)
 * seen so far in recs[0..*n). */
static void
dns_mx_keep(struct dns_mx_rec *recs, size_t *n, const struct dns_mx_rec *r)
{
	size_t worst = 0;

	if (*n < DNS_MX_RECORDS_MAX) {
		recs[(*n)++] = *r;
		return;
	}
	for (size_t i = 1; i < *n; i++)
		if (dns_mx_rec_cmp(&recs[i], &recs[worst]) > 0)
			worst = i;
	if (dns_mx_rec_cmp(r, &recs[worst]) < 0)
		recs[worst] = *r;
}

/* Parses the MX records of ub (every one: a DNS message of at most 64 KiB
 * bounds them, and the answer's order may be rotated, so the lowest
 * preferences can be anywhere), keeps the lowest, sorts them and adds
 * their hosts; -1 when none parsed. */
static int
dns_mx_records(struct dns_query *q, const struct ub_result *ub,
	       size_t *nullmx_r)
{
	struct dns_mx_rec recs[DNS_MX_RECORDS_MAX], r;
	size_t n = 0;

	*nullmx_r = 0;
	for (size_t i = 0; ub->data[i] != NULL; i++) {
		if (ub->len[i] < 0 ||
		    dns_wire_mx((const unsigned char *)ub->data[i],
				(size_t)ub->len[i], &r.pref, r.host,
				sizeof(r.host)) < 0)
			continue;
		if (r.host[0] == '\0') {
			(*nullmx_r)++;
			continue;
		}
		r.shuffle = arc4random();
		dns_mx_keep(recs, &n, &r);
	}
	if (n == 0)
		return -1;
	qsort(recs, n, sizeof(recs[0]), dns_mx_rec_cmp);
	for (size_t i = 0; i < n; i++)
		dns_mx_add_host(q, recs[i].host, recs[i].pref);
	return 0;
}

static void
dns_mx_answer(struct dns_query *q, const struct dns_answer *a,
	      const struct ub_result *ub)
{
	size_t nullmx = 0;

	q->mx.mx_secure = a->secure;
	if (a->status == DNS_NXDOMAIN) {
		dns_mx_fail(q, DNS_NXDOMAIN, q->name, "no such domain "
			    "(NXDOMAIN)");
		return;
	}
	if (a->status == DNS_TEMPFAIL) {
		dns_mx_fail(q, DNS_TEMPFAIL, "MX lookup", a->why);
		return;
	}
	if (a->status == DNS_NODATA) {
		/* §5.1: no MX, the domain is its own implicit MX. */
		q->mx.implicit = true;
		dns_mx_add_host(q, q->name, 0);
		if (dns_mx_addrs_start(q) < 0)
			dns_mx_timeout(q);
		return;
	}
	if (ub == NULL || dns_mx_records(q, ub, &nullmx) < 0) {
		if (nullmx > 0)
			dns_mx_fail(q, DNS_NULLMX, q->name, "null MX: the "
				    "domain accepts no mail (RFC 7505)");
		else
			dns_mx_fail(q, DNS_TEMPFAIL, "MX lookup",
				    "malformed MX records");
		return;
	}
	if (dns_mx_addrs_start(q) < 0)
		dns_mx_timeout(q);
}

void
dns_mx_sub_done(struct dns_query *q, struct dns_sub *s,
		const struct dns_answer *a, const struct ub_result *ub)
{
	if (s == &q->subs[0]) {
		dns_mx_answer(q, a, ub);
		return;
	}
	dns_mx_addrs_take(&q->addrs[s->host], s->rrtype, a);
	/* CNAMEs followed by libunbound: note where the host led. */
	if (a->canonname[0] != '\0')
		str_lcpy(q->mx.hosts[s->host].canonname, a->canonname,
			 sizeof(q->mx.hosts[s->host].canonname));
	if (q->pending == 0)
		dns_mx_finish(q);
}

void
dns_mx_deferred(struct dns_query *q)
{
	if (q->defer_finish)
		dns_mx_finish(q);
	else
		dns_query_deliver(q);
}

void
dns_mx_timeout(struct dns_query *q)
{
	if (q->subs[0].active) {
		dns_mx_fail(q, DNS_TEMPFAIL, "MX lookup", "timed out");
		return;
	}
	dns_subs_cancel(q);
	for (size_t i = 0; i < q->mx.n_hosts; i++) {
		struct dns_host_addrs *a = &q->addrs[i];

		if (!a->done6)
			a->st6 = DNS_TEMPFAIL;
		if (!a->done4)
			a->st4 = DNS_TEMPFAIL;
		a->done6 = a->done4 = true;
	}
	dns_mx_finish(q);
}

/* ---- Entry points -------------------------------------------------- */

struct dns_query *
dns_mx(struct dns *d, const char *domain, dns_mx_cb cb, void *arg)
{
	struct dns_query *q;

	if (strlen(domain) > 254)
		return NULL;
	q = dns_query_new(d, DNS_KIND_MX, domain);
	if (q == NULL)
		return NULL;
	q->mx_cb = cb;
	q->arg = arg;
	if (!dns_name_ok(q->name)) {
		/* Not a name DNS could hold for mail: answered later, as
		 * every answer is. */
		q->mx.status = DNS_NXDOMAIN;
		snprintf(q->mx.why, sizeof(q->mx.why), "not a domain name");
		if (dns_query_defer(q) < 0) {
			dns_cancel(q);
			return NULL;
		}
		return q;
	}
	if (dns_query_arm(q) < 0 || dns_sub_start(q, 0, q->name,
						  DNS_T_MX) < 0) {
		dns_cancel(q);
		return NULL;
	}
	return q;
}

/* A numeric host: its one address, no lookup. 0, or -1 when not one. */
static int
dns_host_numeric(struct dns_query *q, const char *host)
{
	struct dns_mx_host *h = &q->mx.hosts[0];
	char ip[64];
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
		str_lcpy(ip, host + 1, n - 1 < sizeof(ip) ? n - 1 : sizeof(ip));
	else
		str_lcpy(ip, host, sizeof(ip));
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&h->addrs[0];
	struct sockaddr_in *s4 = (struct sockaddr_in *)&h->addrs[0];
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else
		return -1;
	str_lcpy(h->name, ip, sizeof(h->name));
	h->n_addrs = 1;
	h->addr_status = DNS_OK;
	q->mx.n_hosts = 1;
	q->mx.status = DNS_OK;
	return 0;
}

struct dns_query *
dns_host(struct dns *d, const char *host, dns_mx_cb cb, void *arg)
{
	struct dns_query *q;

	if (strlen(host) > 254)
		return NULL;
	q = dns_query_new(d, DNS_KIND_HOST, host);
	if (q == NULL)
		return NULL;
	q->mx_cb = cb;
	q->arg = arg;
	q->mx.implicit = true;
	if (dns_host_numeric(q, host) == 0) {
		if (dns_query_defer(q) < 0) {
			dns_cancel(q);
			return NULL;
		}
		return q;
	}
	dns_mx_add_host(q, q->name, 0);
	if (dns_mx_addrs_start(q) < 0) {
		dns_cancel(q);
		return NULL;
	}
	return q;
}
