/*
 * The in-loop resolver (dns.h): one libunbound context in asynchronous
 * thread mode. libunbound resolves on a thread of its own and signals
 * answers on a pipe, ub_fd(), which a libevent event on the loop watches;
 * ub_process() then runs our callbacks on the loop thread. So no lookup
 * ever blocks the loop, and the thread needs no privilege (dns_new runs
 * after the drop; the trust anchor and root hints are read then, so they
 * must be readable by the service user, as Debian's are). Starting or
 * cancelling a query writes a small message to libunbound's thread over
 * a pipe; that thread drains it at once, so the write only waits when
 * hundreds of queries are started in one go.
 *
 * Where queries go (docs/CONFIG.md, resolver):
 *   - resolver = ADDR:PORT lines: forward everything there;
 *   - else /etc/resolv.conf's nameserver lines;
 *   - else full recursion from the root hints (dns-root-data).
 * A dead server is given up within a few seconds: libunbound's own retries
 * are bounded by the options in dns_ctx_tune, and every query also has
 * a deadline of its own (DNS_QUERY_TIMEOUT_MS).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unbound.h>
#include <unistd.h>

#include "../core/config.h"
#include "../util/str.h"
#include "dns_int.h"

#define DNS_RESOLV_CONF "/etc/resolv.conf"
#define DNS_ROOT_HINTS "/usr/share/dns/root.hints"

struct dns {
	struct event_base *base;
	struct ub_ctx *ctx;
	struct event *ev;            /* ub_fd readable */
	struct dns_query *queries;   /* live queries */
	struct dns_cache *cache;     /* dns_lookup's answers (dns_cache.c) */
};

/* ---- Context ------------------------------------------------------- */

/* Whether resolv.conf names at least one server (libunbound would fall
 * back to 127.0.0.1 otherwise; we want recursion then). */
static bool
dns_resolvconf_has_server(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(DNS_RESOLV_CONF, "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		const char *p = line + strspn(line, " \t");

		found = strncmp(p, "nameserver", 10) == 0 &&
			(p[10] == ' ' || p[10] == '\t');
	}
	fclose(f);
	return found;
}

/* Options that bound how long libunbound tries a server that does not
 * answer (unbound.conf(5)): it starts at a 376 ms timeout and doubles;
 * at most 3 sends per server for one query and a 2 s cap on a server's
 * timeout keep a silent server's query under ~5 s; infra-keep-probing
 * retries a server marked down instead of failing at once for
 * infra-host-ttl. A failed option is ignored: the per-query deadline still
 * holds. */
static void
dns_ctx_tune(struct ub_ctx *ctx)
{
	static const char *const opts[][2] = {
		{ "outbound-msg-retry:", "3" },
		{ "infra-cache-max-rtt:", "2000" },
		{ "infra-keep-probing:", "yes" },
		{ "infra-host-ttl:", "60" },
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		(void)ub_ctx_set_option(ctx, opts[i][0], opts[i][1]);
}

static int
dns_ctx_servers(struct ub_ctx *ctx, const struct config *cfg, char *err,
		size_t errlen)
{
	int r = 0;

	for (size_t i = 0; i < cfg->n_resolvers && r == 0; i++) {
		r = ub_ctx_set_fwd(ctx, cfg->resolvers[i]);
		if (r != 0)
			snprintf(err, errlen, "resolver %s: %s",
				 cfg->resolvers[i], ub_strerror(r));
	}
	if (cfg->n_resolvers > 0) {
		/* libunbound answers the special-use "test." itself (RFC
		 * 6761 §6.2 asks that only "by default"): a resolver the
		 * admin names gets those queries, so a lab or test DNS can
		 * serve them ("nodefault" does not undo the default zone in
		 * libunbound 1.17; "transparent" does). */
		/* The root zone proves "test." absent, so names there are
		 * not validated from the root anchor (a test DNS may still
		 * be given an anchor of its own for a zone below). */
		/* The same for the reverse zones of private (RFC 1918, RFC
		 * 4193) and documentation networks (RFC 5737, RFC 3849):
		 * the resolver named may know their PTR records, which SPF's
		 * ptr mechanism and %{p} look up. */
		static const char *const pass[] = {
			"test.", "2.0.192.in-addr.arpa.",
			"100.51.198.in-addr.arpa.", "113.0.203.in-addr.arpa.",
			"8.b.d.0.1.0.0.2.ip6.arpa.",
		};
		char zone[64];

		(void)ub_ctx_set_option(ctx, "unblock-lan-zones:", "yes");
		(void)ub_ctx_set_option(ctx, "insecure-lan-zones:", "yes");
		for (size_t i = 0; r == 0 && i < sizeof(pass) / sizeof(pass[0]);
		     i++) {
			snprintf(zone, sizeof(zone), "%s transparent", pass[i]);
			if (ub_ctx_set_option(ctx, "local-zone:", zone) != 0 ||
			    ub_ctx_set_option(ctx, "domain-insecure:",
					      pass[i]) != 0) {
				snprintf(err, errlen, "resolver: cannot pass "
					 "%s", pass[i]);
				r = -1;
			}
		}
		return r == 0 ? 0 : -1;
	}
	if (dns_resolvconf_has_server()) {
		r = ub_ctx_resolvconf(ctx, DNS_RESOLV_CONF);
		if (r != 0)
			snprintf(err, errlen, "%s: %s", DNS_RESOLV_CONF,
				 ub_strerror(r));
		return r == 0 ? 0 : -1;
	}
	/* Full recursion: libunbound's built-in root hints unless Debian's
	 * (kept current by dns-root-data) are there. */
	if (access(DNS_ROOT_HINTS, R_OK) == 0)
		(void)ub_ctx_set_option(ctx, "root-hints:", DNS_ROOT_HINTS);
	return 0;
}

static int
dns_ctx_anchor(struct ub_ctx *ctx, const char *ta, char *err,
	       size_t errlen)
{
	FILE *f;
	int r;

	if (strcmp(ta, "none") == 0) {
		/* No validator at all: answers are never "secure", and
		 * nothing is "bogus". */
		r = ub_ctx_set_option(ctx, "module-config:", "iterator");
		if (r != 0)
			snprintf(err, errlen, "dnssec_trust_anchor none: %s",
				 ub_strerror(r));
		return r == 0 ? 0 : -1;
	}
	/* libunbound reads the file only when it starts: check it opens
	 * now so a wrong path is a start-up error that names it. */
	f = fopen(ta, "r");
	if (f == NULL) {
		snprintf(err, errlen, "dnssec_trust_anchor %s: %s%s", ta,
			 strerror(errno),
			 strcmp(ta, CONFIG_DNSSEC_TRUST_ANCHOR_DEFAULT) == 0 ?
			 " (install dns-root-data, or set dnssec_trust_anchor"
			 " = none)" : "");
		return -1;
	}
	fclose(f);
	r = ub_ctx_add_ta_file(ctx, ta);
	if (r != 0) {
		snprintf(err, errlen, "dnssec_trust_anchor %s: %s", ta,
			 ub_strerror(r));
		return -1;
	}
	return 0;
}

/* Makes libunbound load its configuration now (trust anchor included)
 * rather than at the first query, so a bad anchor file fails dns_new:
 * adding a local zone finalizes the context. "invalid." is reserved
 * (RFC 6761 §6.4) and already answered locally by libunbound. */
static int
dns_ctx_finalize(struct ub_ctx *ctx, const char *ta, char *err,
		 size_t errlen)
{
	int r = ub_ctx_zone_add(ctx, "invalid.", "static");

	if (r != 0) {
		snprintf(err, errlen, "resolver start (dnssec_trust_anchor "
			 "%s): %s", ta, ub_strerror(r));
		return -1;
	}
	return 0;
}

static void
dns_fd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	/* Runs the callbacks of every answer that has arrived. */
	(void)ub_process(d->ctx);
}

static struct ub_ctx *
dns_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	struct ub_ctx *ctx = ub_ctx_create();
	int r;

	if (ctx == NULL) {
		snprintf(err, errlen, "resolver: cannot create context");
		return NULL;
	}
	r = ub_ctx_async(ctx, 1);
	if (r != 0) {
		snprintf(err, errlen, "resolver: %s", ub_strerror(r));
		goto fail;
	}
	dns_ctx_tune(ctx);
	if (dns_ctx_servers(ctx, cfg, err, errlen) < 0 ||
	    dns_ctx_anchor(ctx, cfg->dnssec_trust_anchor, err, errlen) < 0 ||
	    dns_ctx_finalize(ctx, cfg->dnssec_trust_anchor, err, errlen) < 0)
		goto fail;
	return ctx;
fail:
	ub_ctx_delete(ctx);
	return NULL;
}

struct dns *
dns_new(struct event_base *base, const struct config *cfg, char *err,
	size_t errlen)
{
	struct dns *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		snprintf(err, errlen, "resolver: out of memory");
		return NULL;
	}
	d->base = base;
	d->ctx = dns_ctx_new(cfg, err, errlen);
	if (d->ctx == NULL) {
		free(d);
		return NULL;
	}
	/* Without memory for it, lookups only skip the cache. */
	d->cache = dns_cache_new();
	d->ev = event_new(base, ub_fd(d->ctx), EV_READ | EV_PERSIST,
			  dns_fd_cb, d);
	if (d->ev == NULL || event_add(d->ev, NULL) < 0) {
		snprintf(err, errlen, "resolver: cannot watch its socket");
		dns_free(&d);
		return NULL;
	}
	return d;
}

static void dns_query_free(struct dns_query *q);

void
dns_free(struct dns **dp)
{
	struct dns *d = *dp;

	if (d == NULL)
		return;
	while (d->queries != NULL)
		dns_query_free(d->queries);
	if (d->ev != NULL)
		event_free(d->ev);
	/* Stops and joins libunbound's thread. */
	if (d->ctx != NULL)
		ub_ctx_delete(d->ctx);
	dns_cache_free(&d->cache);
	free(d);
	*dp = NULL;
}

/* ---- Queries ------------------------------------------------------- */

static void dns_timer_cb(evutil_socket_t fd, short what, void *arg);
static void dns_defer_cb(evutil_socket_t fd, short what, void *arg);

struct dns_query *
dns_query_new(struct dns *d, enum dns_kind kind, const char *name)
{
	struct dns_query *q;

	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->d = d;
	q->kind = kind;
	str_lcpy(q->name, name, sizeof(q->name));
	str_lower(q->name);
	/* One final dot is the root's: the same name. */
	size_t n = strlen(q->name);
	if (n > 1 && q->name[n - 1] == '.')
		q->name[n - 1] = '\0';
	for (size_t i = 0; i < sizeof(q->subs) / sizeof(q->subs[0]); i++)
		q->subs[i].q = q;
	q->timer = evtimer_new(d->base, dns_timer_cb, q);
	q->defer = evtimer_new(d->base, dns_defer_cb, q);
	if (q->timer == NULL || q->defer == NULL) {
		if (q->timer != NULL)
			event_free(q->timer);
		if (q->defer != NULL)
			event_free(q->defer);
		free(q);
		return NULL;
	}
	q->next = d->queries;
	if (d->queries != NULL)
		d->queries->prev = q;
	d->queries = q;
	return q;
}

int
dns_query_arm(struct dns_query *q)
{
	struct timeval tv = { DNS_QUERY_TIMEOUT_MS / 1000,
			      (DNS_QUERY_TIMEOUT_MS % 1000) * 1000 };

	return evtimer_add(q->timer, &tv);
}

int
dns_query_defer(struct dns_query *q)
{
	struct timeval zero = { 0, 0 };

	return evtimer_add(q->defer, &zero);
}

static void
dns_query_free(struct dns_query *q)
{
	struct dns *d = q->d;

	dns_subs_cancel(q);
	event_free(q->timer);
	event_free(q->defer);
	free(q->cached);
	free(q->cached_data);
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		d->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	free(q);
}

void
dns_subs_cancel(struct dns_query *q)
{
	for (size_t i = 0; i < sizeof(q->subs) / sizeof(q->subs[0]); i++) {
		struct dns_sub *s = &q->subs[i];

		if (!s->active)
			continue;
		/* Its callback will not run: libunbound drops the answer
		 * if it arrives later. */
		(void)ub_cancel(q->d->ctx, s->async_id);
		s->active = false;
		q->pending--;
	}
}

void
dns_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	if (q->delivering) {
		/* Inside its own callback: freed when that returns. */
		q->cancelled = true;
		return;
	}
	dns_query_free(q);
}

/* ---- libunbound answers ------------------------------------------- */

static bool
dns_same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void
dns_answer_status(struct dns_answer *a, int err, const struct ub_result *r)
{
	if (err != 0 || r == NULL) {
		a->status = DNS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "resolver: %s",
			 ub_strerror(err != 0 ? err : UB_NOMEM));
	} else if (r->bogus) {
		/* RFC 4035 §5.5: a failed validation is a server failure. */
		a->status = DNS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "DNSSEC bogus: %s",
			 r->why_bogus != NULL ? r->why_bogus : "?");
	} else if (r->rcode == 3) {
		a->status = DNS_NXDOMAIN;
		snprintf(a->why, sizeof(a->why), "NXDOMAIN");
	} else if (r->rcode != 0) {
		a->status = DNS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "%s",
			 r->rcode == 2 ? "SERVFAIL (or no answer)" :
			 r->rcode == 5 ? "REFUSED" : "server error");
	} else if (!r->havedata) {
		a->status = DNS_NODATA;
		snprintf(a->why, sizeof(a->why), "no record of that type");
	} else {
		a->status = DNS_OK;
	}
}

void
dns_answer_fill(struct dns_answer *a, int err, const struct ub_result *r,
		const char *qname)
{
	memset(a, 0, sizeof(*a));
	dns_answer_status(a, err, r);
	if (err != 0 || r == NULL)
		return;
	a->rcode = r->rcode;
	a->secure = r->secure != 0 && !r->bogus;
	a->ttl = r->ttl > 0 ? (uint32_t)r->ttl : 0;
	if (r->canonname != NULL && !dns_same_name(r->canonname, qname)) {
		str_lcpy(a->canonname, r->canonname, sizeof(a->canonname));
		str_lower(a->canonname);
		size_t n = strlen(a->canonname);
		if (n > 1 && a->canonname[n - 1] == '.')
			a->canonname[n - 1] = '\0';
	}
	if (a->status != DNS_OK)
		return;
	for (size_t i = 0; r->data[i] != NULL && a->n < DNS_ANSWER_MAX; i++) {
		a->rdata[a->n] = (const unsigned char *)r->data[i];
		a->len[a->n] = (size_t)r->len[i];
		a->n++;
	}
}

static void
dns_ub_cb(void *mydata, int err, struct ub_result *r)
{
	struct dns_sub *s = mydata;
	struct dns_query *q = s->q;
	struct dns_answer a;

	s->active = false;
	q->pending--;
	/* The name this sub asked (a host's, for address lookups), to
	 * tell whether CNAMEs led elsewhere. */
	dns_answer_fill(&a, err, r, q->kind == DNS_KIND_LOOKUP ||
			s == &q->subs[0] ? q->name : q->mx.hosts[s->host].name);
	if (q->kind == DNS_KIND_LOOKUP) {
		dns_cache_put(q->d->cache, q->name, q->rrtype, &a);
		q->delivering = true;
		q->answer_cb(q->arg, &a);
		q->delivering = false;
		dns_query_free(q);
	} else {
		dns_mx_sub_done(q, s, &a, err == 0 ? r : NULL);
	}
	if (r != NULL)
		ub_resolve_free(r);
}

int
dns_sub_start(struct dns_query *q, size_t i, const char *name, int rrtype)
{
	struct dns_sub *s = &q->subs[i];
	int r;

	s->rrtype = rrtype;
	r = ub_resolve_async(q->d->ctx, name, rrtype, 1 /* IN */, s,
			     dns_ub_cb, &s->async_id);
	if (r != 0)
		return -1;
	s->active = true;
	q->pending++;
	return 0;
}

/* ---- Completion ---------------------------------------------------- */

void
dns_query_deliver(struct dns_query *q)
{
	dns_subs_cancel(q);
	q->delivering = true;
	q->mx_cb(q->arg, &q->mx);
	q->delivering = false;
	dns_query_free(q);
}

static void
dns_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	if (q->kind == DNS_KIND_LOOKUP) {
		struct dns_answer a;

		if (q->cached != NULL) {
			q->delivering = true;
			q->answer_cb(q->arg, q->cached);
			q->delivering = false;
			dns_query_free(q);
			return;
		}
		memset(&a, 0, sizeof(a));
		a.status = DNS_TEMPFAIL;
		snprintf(a.why, sizeof(a.why), "resolver: cannot start query");
		q->delivering = true;
		q->answer_cb(q->arg, &a);
		q->delivering = false;
		dns_query_free(q);
		return;
	}
	dns_mx_deferred(q);
}

static void
dns_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	if (q->kind == DNS_KIND_LOOKUP) {
		struct dns_answer a;

		dns_subs_cancel(q);
		memset(&a, 0, sizeof(a));
		a.status = DNS_TEMPFAIL;
		snprintf(a.why, sizeof(a.why), "timed out");
		q->delivering = true;
		q->answer_cb(q->arg, &a);
		q->delivering = false;
		dns_query_free(q);
		return;
	}
	dns_mx_timeout(q);
}

struct dns_query *
dns_lookup(struct dns *d, const char *name, int rrtype, dns_answer_cb cb,
	   void *arg)
{
	struct dns_query *q;

	if (strlen(name) > 254 || rrtype <= 0 || rrtype > 65535)
		return NULL;
	q = dns_query_new(d, DNS_KIND_LOOKUP, name);
	if (q == NULL)
		return NULL;
	q->answer_cb = cb;
	q->arg = arg;
	q->rrtype = rrtype;
	/* A kept answer: no round trip through libunbound's thread. */
	q->cached = malloc(sizeof(*q->cached));
	if (q->cached != NULL) {
		q->cached_data = dns_cache_get(d->cache, q->name, rrtype,
					       q->cached);
		if (q->cached_data == NULL) {
			free(q->cached);
			q->cached = NULL;
		} else if (dns_query_defer(q) == 0) {
			return q;
		} else {
			dns_query_free(q);
			return NULL;
		}
	}
	if (dns_query_arm(q) < 0 || dns_sub_start(q, 0, q->name, rrtype) < 0) {
		dns_query_free(q);
		return NULL;
	}
	return q;
}
