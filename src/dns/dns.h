/*
 * The in-loop resolver: libunbound's asynchronous API with its file
 * descriptor watched by the loop (ub_fd / ub_process), so a lookup never
 * blocks the loop thread. DNSSEC validation against the configured trust
 * anchor (dnssec_trust_anchor; "none" turns it off); answers are cached
 * by libunbound for their TTL. Forwarding to cfg->resolvers when set,
 * else to /etc/resolv.conf's servers, else full recursion from the root
 * hints.
 *
 * Loop thread only. Callbacks always run later from the loop (never from
 * inside the call that started the query).
 */
#ifndef POSTEL_DNS_H
#define POSTEL_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct config;
struct event_base;
struct dns;
struct dns_query;

enum dns_status {
	DNS_OK = 0,       /* an answer (for MX: hosts filled) */
	DNS_NXDOMAIN,     /* the name does not exist: permanent */
	DNS_NODATA,       /* the name exists, no record of the type */
	DNS_NULLMX,       /* RFC 7505 "MX 0 ." : the domain takes no mail */
	DNS_TEMPFAIL,     /* SERVFAIL, timeout, bogus DNSSEC: try later */
};

/* 0 or -1 (err: why). */
struct dns *dns_new(struct event_base *base, const struct config *cfg,
		    char *err, size_t errlen);
/* Cancels every query in flight (their callbacks never run). */
void dns_free(struct dns **dp);

/* ---- Raw lookups (TXT for SPF/DKIM/DMARC, TLSA for DANE later) ---- */

#define DNS_ANSWER_MAX 32

struct dns_answer {
	enum dns_status status;
	bool secure;             /* DNSSEC-validated */
	int rcode;               /* DNS RCODE */
	uint32_t ttl;
	size_t n;                /* records */
	const unsigned char *rdata[DNS_ANSWER_MAX]; /* wire rdata */
	size_t len[DNS_ANSWER_MAX];
	char canonname[256];     /* after CNAMEs, "" when none */
	char why[128];           /* for logs when not DNS_OK */
};
/* a is valid only during the call. */
typedef void (*dns_answer_cb)(void *arg, const struct dns_answer *a);
/* rrtype: 1 A, 28 AAAA, 15 MX, 16 TXT, 52 TLSA ... NULL when the query
 * cannot be started (out of memory, name too long): cb not called. */
struct dns_query *dns_lookup(struct dns *d, const char *name, int rrtype,
			     dns_answer_cb cb, void *arg);
/* The callback of q will not run; q is gone. */
void dns_cancel(struct dns_query *q);

/* The text of a TXT record's rdata: its character-strings joined with
 * nothing between (as SPF and DKIM read them), NUL-terminated in out.
 * The text may hold NUL octets; the return value is its length. -1 when
 * the rdata is malformed or the text does not fit. */
int dns_txt_text(const unsigned char *rdata, size_t len, char *out,
		 size_t outlen);

/* The domain name of a PTR (or CNAME, NS) record's rdata, lower-case,
 * without the final dot ("" for the root). -1 when malformed. */
int dns_ptr_name(const unsigned char *rdata, size_t len, char *out,
		 size_t outlen);

/* ---- Mail routing (RFC 5321 §5.1, RFC 7505) ------------------------ */

#define DNS_MX_HOSTS_MAX 16
#define DNS_ADDRS_PER_HOST 8

struct dns_mx_host {
	char name[256];          /* MX target, lower-case, no final dot */
	char canonname[256];     /* after CNAMEs, "" when none */
	unsigned pref;
	bool secure;             /* its A/AAAA answers were DNSSEC-secure */
	enum dns_status addr_status; /* of its address lookups */
	size_t n_addrs;
	/* IPv6 first then IPv4, each family in the order DNS gave; port 0. */
	struct sockaddr_storage addrs[DNS_ADDRS_PER_HOST];
};

struct dns_mx_result {
	/* DNS_OK: hosts[0..n_hosts) to try in order (at least one with an
	 * address); DNS_NXDOMAIN / DNS_NULLMX: permanent; DNS_TEMPFAIL;
	 * DNS_NODATA: MX hosts found but none has an address (temporary for
	 * the caller unless every lookup said NXDOMAIN). */
	enum dns_status status;
	bool implicit;           /* no MX: the domain's own A/AAAA */
	bool mx_secure;          /* the MX RRset was DNSSEC-secure */
	char why[160];           /* for the log and DSN when not DNS_OK */
	size_t n_hosts;
	/* Sorted by preference; hosts of equal preference shuffled (RFC
	 * 5321 §5.1); CNAMEs followed. */
	struct dns_mx_host hosts[DNS_MX_HOSTS_MAX];
};
typedef void (*dns_mx_cb)(void *arg, const struct dns_mx_result *r);
/* Resolves domain (ASCII or A-label) to its mail exchangers with their
 * addresses. NULL when it cannot start (cb not called). Cancel with
 * dns_cancel. */
struct dns_query *dns_mx(struct dns *d, const char *domain, dns_mx_cb cb,
			 void *arg);

/* Resolves a host name (relayhost) to addresses: a dns_mx_result with
 * one host, pref 0, implicit = true. */
struct dns_query *dns_host(struct dns *d, const char *host, dns_mx_cb cb,
			   void *arg);

#endif
