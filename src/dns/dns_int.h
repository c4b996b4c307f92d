/*
 * Inside the resolver: the query object shared by dns.c (context, fd
 * watch, raw lookups, cancellation) and dns_mx.c (mail routing).
 */
#ifndef POSTEL_DNS_INT_H
#define POSTEL_DNS_INT_H

#include <netinet/in.h>

#include "dns.h"

struct event;
struct ub_ctx;
struct ub_result;

/* Every query ends within this time even when libunbound has not given
 * up yet (it is set up to give a dead server up sooner, see dns.c): the
 * caller then sees DNS_TEMPFAIL "timed out". For a mail route the MX
 * stage and the address stage each get this much. */
#define DNS_QUERY_TIMEOUT_MS 8000

/* MX records kept from one answer, the lowest preferences (then
 * duplicates dropped and DNS_MX_HOSTS_MAX hosts kept). */
#define DNS_MX_RECORDS_MAX 64

/* One libunbound request of a query: the MX lookup, or the AAAA or A
 * lookup of one host. */
struct dns_sub {
	struct dns_query *q;
	int async_id;            /* libunbound's id; valid when active */
	bool active;
	int rrtype;
	size_t host;             /* index in mx.hosts (address lookups) */
};

enum dns_kind { DNS_KIND_LOOKUP, DNS_KIND_MX, DNS_KIND_HOST };

/* Addresses of one host as the two lookups bring them. */
struct dns_host_addrs {
	struct in6_addr a6[DNS_ADDRS_PER_HOST];
	struct in_addr a4[DNS_ADDRS_PER_HOST];
	size_t n6, n4;
	enum dns_status st6, st4;
	bool sec6, sec4;
	bool done6, done4;
};

struct dns_query {
	struct dns *d;
	struct dns_query *prev, *next;   /* d's list of live queries */
	enum dns_kind kind;
	dns_answer_cb answer_cb;
	dns_mx_cb mx_cb;
	void *arg;
	struct event *defer;     /* completion that is ready at the start */
	struct event *timer;     /* DNS_QUERY_TIMEOUT_MS deadline */
	size_t pending;          /* active subs */
	bool delivering;         /* inside the caller's callback */
	bool cancelled;          /* dns_cancel during delivery */
	bool defer_finish;       /* the deferred event computes the end */
	char name[256];          /* asked name, lower-case, no final dot */
	int rrtype;              /* DNS_KIND_LOOKUP */
	/* DNS_KIND_LOOKUP answered from the cache: delivered by the defer
	 * event; cached_data holds its rdata. */
	struct dns_answer *cached;
	unsigned char *cached_data;
	struct dns_sub subs[1 + 2 * DNS_MX_HOSTS_MAX];
	struct dns_mx_result mx; /* DNS_KIND_MX, DNS_KIND_HOST */
	struct dns_host_addrs addrs[DNS_MX_HOSTS_MAX];
};

/* dns.c */
/* Starts sub i of q for (name, rrtype); 0 or -1 (why in q's result). */
int dns_sub_start(struct dns_query *q, size_t i, const char *name,
		  int rrtype);
/* Cancels q's active subs. */
void dns_subs_cancel(struct dns_query *q);
/* A new query linked into d; NULL without memory. */
struct dns_query *dns_query_new(struct dns *d, enum dns_kind kind,
				const char *name);
/* Arms q's deadline; 0 or -1. */
int dns_query_arm(struct dns_query *q);
/* Completes q from the loop soon (never from the caller's frame); 0 or
 * -1. */
int dns_query_defer(struct dns_query *q);
/* Runs the caller's callback then frees q. */
void dns_query_deliver(struct dns_query *q);
/* An answer of libunbound as a dns_answer (rdata borrowed from r). */
void dns_answer_fill(struct dns_answer *a, int err,
		     const struct ub_result *r, const char *qname);

/* dns_cache.c: dns_lookup's answers kept on the loop for their TTL. */
struct dns_cache;
struct dns_cache *dns_cache_new(void);
void dns_cache_free(struct dns_cache **cp);
/* Keeps a (a copy; temporary failures and zero TTLs are not kept). */
void dns_cache_put(struct dns_cache *c, const char *name, int rrtype,
		   const struct dns_answer *a);
/* A kept answer into *a, its rdata in the returned buffer (the caller's
 * to free), or NULL. */
unsigned char *dns_cache_get(struct dns_cache *c, const char *name,
			     int rrtype, struct dns_answer *a);

/* dns_mx.c: a sub of an MX or host query finished (a: its answer; r:
 * libunbound's, for every MX record beyond DNS_ANSWER_MAX; may be NULL). */
void dns_mx_sub_done(struct dns_query *q, struct dns_sub *s,
		     const struct dns_answer *a, const struct ub_result *r);
/* The deferred event fired (dns_query_defer). */
void dns_mx_deferred(struct dns_query *q);
/* The deadline passed: finish with what is there. */
void dns_mx_timeout(struct dns_query *q);

/* dns_wire.c: pure parsers of libunbound's rdata (fuzzed). */
/* A wire-format domain name (uncompressed, as libunbound returns rdata)
 * at p[0..len) to text: lower-case, no final dot ("" for the root),
 * bytes outside letters, digits, '-' and '_' as \DDD (RFC 1035 §5.1).
 * Returns the wire length used, or -1 (malformed or name > outlen-1). */
int dns_wire_name(const unsigned char *p, size_t len, char *out,
		  size_t outlen);
/* MX rdata (RFC 1035 §3.3.9): 0 or -1. */
int dns_wire_mx(const unsigned char *p, size_t len, unsigned *pref_r,
		char *host, size_t hostlen);
/* Whether a host name is usable for a lookup (letters, digits, '-', '_'
 * and dots only, labels 1..63, total <= 253). */
bool dns_name_ok(const char *name);

#endif
