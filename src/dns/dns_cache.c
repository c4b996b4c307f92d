/*
 * The answers of dns_lookup kept on the loop for their TTL (at most
 * DNS_CACHE_TTL_MAX), so a name asked again soon (a sender's SPF record
 * for every message it sends, a DKIM key) costs no round trip through
 * libunbound's thread: the answer is copied out of the cache and
 * delivered from a zero timer like any other. libunbound keeps its own
 * cache behind this one. Loop thread only.
 *
 * A direct-mapped table of DNS_CACHE_SLOTS (a newer answer for the same
 * slot replaces the older one); answers, NXDOMAIN and NODATA are kept
 * (negative ones at most DNS_CACHE_NEG_TTL_MAX), temporary failures
 * never, nor answers over DNS_CACHE_DATA_MAX octets.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/str.h"
#include "dns_int.h"

#define DNS_CACHE_SLOTS 256
#define DNS_CACHE_TTL_MAX 300
#define DNS_CACHE_NEG_TTL_MAX 60
#define DNS_CACHE_DATA_MAX 4096

struct dns_cache_slot {
	char name[256];
	int rrtype;
	time_t expires;             /* monotonic seconds; 0: empty */
	enum dns_status status;
	bool secure;
	int rcode;
	uint32_t ttl;
	size_t n;
	uint16_t len[DNS_ANSWER_MAX];
	unsigned char *data;        /* the rdata one after the other, then
				     * canonname (NUL-terminated) */
};

struct dns_cache {
	struct dns_cache_slot slots[DNS_CACHE_SLOTS];
};

static time_t
dns_cache_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1; /* never 0 */
}

static struct dns_cache_slot *
dns_cache_slot(struct dns_cache *c, const char *name, int rrtype)
{
	uint32_t h = 2166136261u ^ (uint32_t)rrtype;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &c->slots[h % DNS_CACHE_SLOTS];
}

struct dns_cache *
dns_cache_new(void)
{
	return calloc(1, sizeof(struct dns_cache));
}

void
dns_cache_free(struct dns_cache **cp)
{
	struct dns_cache *c = *cp;

	if (c == NULL)
		return;
	for (size_t i = 0; i < DNS_CACHE_SLOTS; i++)
		free(c->slots[i].data);
	free(c);
	*cp = NULL;
}

void
dns_cache_put(struct dns_cache *c, const char *name, int rrtype,
	      const struct dns_answer *a)
{
	struct dns_cache_slot *s;
	size_t total = strlen(a->canonname) + 1, off = 0;
	uint32_t ttl = a->ttl;
	unsigned char *data;

	if (c == NULL || a->ttl == 0 || (a->status != DNS_OK &&
	    a->status != DNS_NXDOMAIN && a->status != DNS_NODATA))
		return;
	if (a->status != DNS_OK && ttl > DNS_CACHE_NEG_TTL_MAX)
		ttl = DNS_CACHE_NEG_TTL_MAX;
	if (ttl > DNS_CACHE_TTL_MAX)
		ttl = DNS_CACHE_TTL_MAX;
	for (size_t i = 0; i < a->n; i++)
		total += a->len[i];
	if (total > DNS_CACHE_DATA_MAX || (data = malloc(total)) == NULL)
		return;
	s = dns_cache_slot(c, name, rrtype);
	free(s->data);
	memset(s, 0, sizeof(*s));
	str_lcpy(s->name, name, sizeof(s->name));
	s->rrtype = rrtype;
	s->status = a->status;
	s->secure = a->secure;
	s->rcode = a->rcode;
	s->ttl = a->ttl;
	s->n = a->n;
	for (size_t i = 0; i < a->n; i++) {
		memcpy(data + off, a->rdata[i], a->len[i]);
		s->len[i] = (uint16_t)a->len[i];
		off += a->len[i];
	}
	memcpy(data + off, a->canonname, strlen(a->canonname) + 1);
	s->data = data;
	s->expires = dns_cache_now() + (time_t)ttl;
}

unsigned char *
dns_cache_get(struct dns_cache *c, const char *name, int rrtype,
	      struct dns_answer *a)
{
	struct dns_cache_slot *s;
	unsigned char *copy;
	size_t total = 0;

	if (c == NULL)
		return NULL;
	s = dns_cache_slot(c, name, rrtype);
	if (s->expires == 0 || s->rrtype != rrtype ||
	    strcmp(s->name, name) != 0)
		return NULL;
	if (s->expires <= dns_cache_now()) {
		free(s->data);
		memset(s, 0, sizeof(*s));
		return NULL;
	}
	for (size_t i = 0; i < s->n; i++)
		total += s->len[i];
	total += strlen((const char *)s->data + total) + 1;
	copy = malloc(total);
	if (copy == NULL)
		return NULL;
	memcpy(copy, s->data, total);
	memset(a, 0, sizeof(*a));
	a->status = s->status;
	a->secure = s->secure;
	a->rcode = s->rcode;
	a->ttl = s->ttl;
	a->n = s->n;
	total = 0;
	for (size_t i = 0; i < s->n; i++) {
		a->rdata[i] = copy + total;
		a->len[i] = s->len[i];
		total += s->len[i];
	}
	str_lcpy(a->canonname, (const char *)copy + total,
		 sizeof(a->canonname));
	if (a->status == DNS_NXDOMAIN)
		str_lcpy(a->why, "NXDOMAIN (cached)", sizeof(a->why));
	else if (a->status == DNS_NODATA)
		str_lcpy(a->why, "no record of that type (cached)",
			 sizeof(a->why));
	return copy;
}
