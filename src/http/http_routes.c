/*
 * The HTTP path table and its handlers: nothing but these paths is served
 * (404 for the rest; no files, no directory listing). A handler that
 * needs the store (is the domain hosted? does the store answer?) runs the
 * query on a worker (http_session_job) and answers from its callback.
 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../core/challenge.h"
#include "../core/conn.h"
#include "../core/iprate.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/runtime.h"
#include "../store/store.h"
#include "../store/store_queue.h"
#include "http_int.h"

/* A path compared without regard to case (Outlook asks for both
 * /autodiscover/autodiscover.xml and /Autodiscover/Autodiscover.xml). */
#define HTTP_ROUTE_NOCASE (1u << 0)
/* The path is a prefix: the rest is the handler's (a token). */
#define HTTP_ROUTE_PREFIX (1u << 1)

struct http_route {
	const char *path;
	unsigned methods; /* bits 1 << enum http_method */
	unsigned flags;
	void (*handler)(struct http_session *s);
	const char *allow; /* the Allow field of its 405 */
};

#define M_GET ((1u << HTTP_METHOD_GET) | (1u << HTTP_METHOD_HEAD))
#define M_POST (1u << HTTP_METHOD_POST)

/* ---- helpers ---- */

/* The request's Host without port and trailing dot, lower-cased, into
 * out; false when absent or not a host name. */
static bool
http_host(const struct http_session *s, char *out, size_t outcap)
{
	const char *h = s->req.host;
	size_t n = s->req.host_len;
	const char *colon;

	if (h == NULL || n == 0 || h[0] == '[')
		return false;
	colon = memchr(h, ':', n);
	if (colon != NULL)
		n = (size_t)(colon - h);
	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n >= outcap || !http_domain_ok(h, n))
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)((h[i] >= 'A' && h[i] <= 'Z') ? h[i] + 32 : h[i]);
	out[n] = '\0';
	return true;
}

/* The domain after prefix ("mta-sts.", "autoconfig.") in the Host into
 * s->domain; false when the Host does not start so. */
static bool
http_host_domain(struct http_session *s, const char *prefix)
{
	char host[LIMIT_DOMAIN + 1];
	size_t pl = strlen(prefix);

	if (!http_host(s, host, sizeof(host)) || strlen(host) <= pl ||
	    strncmp(host, prefix, pl) != 0)
		return false;
	memmove(s->domain, host + pl, strlen(host + pl) + 1);
	return true;
}

static void
http_lower(char *p)
{
	for (; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
}

/* Worker: is s->domain hosted? 1, 0, -1 (store error). */
static void
http_job_hosted(void *arg)
{
	struct http_session *s = arg;
	struct store *st = store_thread_handle(&s->base.srv->cfg);

	s->job_result = st != NULL ? store_domain_exists(st, s->domain) : -1;
}

/* 200 with the document in out, or 404 / 503 from the lookup. */
static bool
http_hosted_or_refuse(struct http_session *s)
{
	if (s->job_result == 1)
		return true;
	http_respond_status(s, s->job_result == 0 ? 404 : 503);
	return false;
}

static void
http_send_evbuffer(struct http_session *s, const char *ctype,
		   struct evbuffer *out, const char *extra)
{
	size_t n = evbuffer_get_length(out);
	const void *p = n > 0 ? (const void *)evbuffer_pullup(out, (ev_ssize_t)n)
			      : (const void *)"";

	http_respond(s, 200, ctype, p, n, extra);
}

/* ---- /health ---- */

static void
http_job_ping(void *arg)
{
	struct http_session *s = arg;
	struct store *st = store_thread_handle(&s->base.srv->cfg);

	/* A read the store must answer; the name cannot be hosted. */
	s->job_result = st != NULL ? store_domain_exists(st, "health.invalid")
				   : -1;
}

static void
http_health_next(struct http_session *s)
{
	static const char ok[] = "ok\n", bad[] = "store unavailable\n";

	if (s->job_result < 0 || s->base.srv->draining)
		http_respond(s, 503, "text/plain; charset=utf-8", bad,
			     sizeof(bad) - 1, "Cache-Control: no-store\r\n");
	else
		http_respond(s, 200, "text/plain; charset=utf-8", ok,
			     sizeof(ok) - 1, "Cache-Control: no-store\r\n");
}

static void
http_health(struct http_session *s)
{
	static const char draining[] = "shutting down\n";

	if (s->base.srv->draining) {
		http_respond(s, 503, "text/plain; charset=utf-8", draining,
			     sizeof(draining) - 1, "Cache-Control: no-store\r\n");
		return;
	}
	http_session_job(s, http_job_ping, http_health_next);
}

/* ---- /metrics ---- */

/* Constant time over the token's length: the comparison must not tell a
 * guesser how many leading octets were right. */
static bool
http_token_eq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	unsigned char d = alen != blen;

	for (size_t i = 0; i < blen; i++)
		d |= (unsigned char)(b[i] ^ (i < alen ? a[i] : 0));
	return d == 0;
}

static bool
http_metrics_allowed(struct http_session *s)
{
	const struct config *cfg = &s->base.srv->cfg;
	struct iprate_prefix pfx[IPRATE_PREFIX_MAX];
	int n = iprate_parse_prefixes(cfg->metrics_allow, pfx,
				      IPRATE_PREFIX_MAX);
	const char *a = s->req.authorization;
	size_t alen = s->req.authorization_len;

	if (n <= 0 || !iprate_in_prefixes(conn_peer(s->base.conn), pfx, n))
		return false;
	if (cfg->metrics_token[0] == '\0')
		return true;
	/* RFC 6750 §2.1: "Bearer" (any case) SP token. */
	if (a == NULL || alen < 7 || strncasecmp(a, "Bearer ", 7) != 0)
		return false;
	return http_token_eq(a + 7, alen - 7, cfg->metrics_token);
}

/* Worker: recipients of the queue by state (pending, held, sent,
 * failed) and messages; job_result -1 when the store failed. */
static void
http_job_queue(void *arg)
{
	struct http_session *s = arg;
	struct store *st = store_thread_handle(&s->base.srv->cfg);
	struct store_queue_entry *e = NULL;
	size_t n = 0;
	const char *err = NULL;

	memset(s->job_counts, 0, sizeof(s->job_counts));
	s->job_result = -1;
	if (st == NULL ||
	    store_queue_list(st, NULL, false, &e, &n, &err) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < e[i].n_rcpts; k++) {
			enum store_queue_state q = e[i].rcpts[k].state;

			if (q == STORE_QUEUE_PENDING && e[i].msg.held)
				s->job_counts[1]++;
			else if (q == STORE_QUEUE_PENDING)
				s->job_counts[0]++;
			else if (q == STORE_QUEUE_SENT)
				s->job_counts[2]++;
			else
				s->job_counts[3]++;
		}
	s->job_counts[4] = n;
	store_queue_entries_free(e, n);
	s->job_result = 0;
}

static void
http_metrics_send(struct http_session *s)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL) {
		http_respond_status(s, 503);
		return;
	}
	metrics_render(s->base.srv, out);
	http_send_evbuffer(s, "text/plain; version=0.0.4; charset=utf-8", out,
			   "Cache-Control: no-store\r\n");
	evbuffer_free(out);
}

static void
http_metrics_next(struct http_session *s)
{
	if (s->job_result == 0)
		metrics_queue_set(s->job_counts, time(NULL));
	http_metrics_send(s);
}

static void
http_metrics(struct http_session *s)
{
	if (!http_metrics_allowed(s)) {
		log_warn(s->base.id, "http_forbidden", " ip=%s path=/metrics",
			 log_qs(conn_peer(s->base.conn)));
		http_respond_status(s, 403);
		return;
	}
	if (metrics_queue_fresh(time(NULL), LIMIT_HTTP_METRICS_CACHE_MS)) {
		http_metrics_send(s);
		return;
	}
	http_session_job(s, http_job_queue, http_metrics_next);
}

/* ---- autoconfig, autodiscover, MTA-STS ---- */

static void
http_autoconfig_next(struct http_session *s)
{
	struct evbuffer *out;

	if (!http_hosted_or_refuse(s))
		return;
	if ((out = evbuffer_new()) == NULL) {
		http_respond_status(s, 503);
		return;
	}
	http_mailconf_autoconfig(s->base.srv, s->domain, out);
	http_send_evbuffer(s, "text/xml; charset=utf-8", out, NULL);
	evbuffer_free(out);
}

/* Thunderbird: ?emailaddress=user@domain, or the domain from the Host
 * autoconfig.DOMAIN (its first lookup, before any address is known). */
static void
http_autoconfig(struct http_session *s)
{
	char addr[LIMIT_ADDRESS + 1];
	const char *dom;
	int r = http_query_param(s->req.query, s->req.query_len,
				 "emailaddress", addr, sizeof(addr));

	if (r < 0 || (r == 1 && !http_address_ok(addr, &dom))) {
		http_respond_status(s, 400);
		return;
	}
	if (r == 1) {
		snprintf(s->domain, sizeof(s->domain), "%s", dom);
		http_lower(s->domain);
	} else if (!http_host_domain(s, "autoconfig.")) {
		http_respond_status(s, 404);
		return;
	}
	http_session_job(s, http_job_hosted, http_autoconfig_next);
}

static void
http_autodiscover_next(struct http_session *s)
{
	struct evbuffer *out;

	if (!http_hosted_or_refuse(s))
		return;
	if ((out = evbuffer_new()) == NULL) {
		http_respond_status(s, 503);
		return;
	}
	http_mailconf_autodiscover(s->base.srv, s->address, out);
	http_send_evbuffer(s, "text/xml; charset=utf-8", out, NULL);
	evbuffer_free(out);
}

/* Outlook POSTs <Autodiscover><Request><EMailAddress>... */
static void
http_autodiscover(struct http_session *s)
{
	const char *body = s->req_buf + s->req.head_len;
	const char *dom;

	if (http_xml_element(body, (size_t)s->req.content_length,
			     "EMailAddress", s->address,
			     sizeof(s->address)) != 1 ||
	    !http_address_ok(s->address, &dom)) {
		http_respond_status(s, 400);
		return;
	}
	snprintf(s->domain, sizeof(s->domain), "%s", dom);
	http_lower(s->domain);
	http_session_job(s, http_job_hosted, http_autodiscover_next);
}

static void
http_mta_sts_next(struct http_session *s)
{
	struct evbuffer *out;

	if (!http_hosted_or_refuse(s))
		return;
	if ((out = evbuffer_new()) == NULL) {
		http_respond_status(s, 503);
		return;
	}
	http_mailconf_mta_sts(s->base.srv, out);
	http_send_evbuffer(s, "text/plain; charset=utf-8", out, NULL);
	evbuffer_free(out);
}

/* RFC 8461 §3.3: fetched from https://mta-sts.DOMAIN/.well-known/... */
static void
http_mta_sts(struct http_session *s)
{
	if (!http_host_domain(s, "mta-sts.")) {
		http_respond_status(s, 404);
		return;
	}
	http_session_job(s, http_job_hosted, http_mta_sts_next);
}

/* ---- ACME HTTP-01 (RFC 8555 §8.3) ---- */

#define HTTP_ACME_PREFIX "/.well-known/acme-challenge/"

/* The key authorization of a token the ACME client published; 404 for
 * any other (on any Host: the CA asks for each name it validates). */
static void
http_acme_challenge(struct http_session *s)
{
	size_t pl = sizeof(HTTP_ACME_PREFIX) - 1;
	char keyauth[CHALLENGE_KEYAUTH_MAX + 1];

	if (!challenges_get(s->base.srv->challenges, s->req.path + pl,
			    s->req.path_len - pl, keyauth, sizeof(keyauth))) {
		http_respond_status(s, 404);
		return;
	}
	http_respond(s, 200, "application/octet-stream", keyauth,
		     strlen(keyauth), "Cache-Control: no-store\r\n");
}

static const struct http_route http_routes[] = {
	{ "/health", M_GET, 0, http_health, "GET, HEAD" },
	{ "/metrics", M_GET, 0, http_metrics, "GET, HEAD" },
	{ "/mail/config-v1.1.xml", M_GET, 0, http_autoconfig, "GET, HEAD" },
	{ "/.well-known/autoconfig/mail/config-v1.1.xml", M_GET, 0,
	  http_autoconfig, "GET, HEAD" },
	{ "/autodiscover/autodiscover.xml", M_POST, HTTP_ROUTE_NOCASE,
	  http_autodiscover, "POST" },
	{ "/.well-known/mta-sts.txt", M_GET, 0, http_mta_sts, "GET, HEAD" },
	{ HTTP_ACME_PREFIX, M_GET, HTTP_ROUTE_PREFIX, http_acme_challenge,
	  "GET, HEAD" },
	/* Every method reaches the handler: when the feature is off the
	 * path does not exist (404), whatever the method. */
	{ "/account/password", M_GET | M_POST, 0, http_account_password,
	  "POST" },
};

void
http_routes_dispatch(struct http_session *s)
{
	const struct http_request *rq = &s->req;

	for (size_t i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]);
	     i++) {
		const struct http_route *r = &http_routes[i];
		size_t n = strlen(r->path);

		if ((r->flags & HTTP_ROUTE_PREFIX) ? rq->path_len <= n
						   : n != rq->path_len)
			continue;
		if (((r->flags & HTTP_ROUTE_NOCASE)
			     ? strncasecmp(rq->path, r->path, n)
			     : strncmp(rq->path, r->path, n)) != 0)
			continue;
		if (!(r->methods & (1u << rq->method))) {
			char allow[64];

			snprintf(allow, sizeof(allow), "Allow: %s\r\n",
				 r->allow);
			http_respond(s, 405, "text/plain; charset=utf-8",
				     "405 Method Not Allowed\r\n", 24, allow);
			return;
		}
		r->handler(s);
		return;
	}
	http_respond_status(s, 404);
}
