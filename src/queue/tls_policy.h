/*
 * Outbound transport security per destination: which TLS a connection to
 * each MX host must have, and the result, so that it can be logged and
 * later reported (TLS-RPT, RFC 8460). Today: DANE (RFC 7672) from TLSA
 * records looked up when the MX host and its addresses are DNSSEC-secure,
 * else opportunistic TLS (or the configured tls_policy). MTA-STS (RFC
 * 8461) fills the same struct in the same way.
 *
 * The TLSA record parser (tls_tlsa_parse) is pure and fuzzed; the rest
 * runs on the loop thread.
 */
#ifndef POSTEL_TLS_POLICY_H
#define POSTEL_TLS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/config.h"
#include "../dns/dns.h"

struct ssl_st;
struct smtpc_reply;
struct smtpc_target;

/* RFC 6698 §2.1 rdata: usage, selector, matching type, data. */
#define TLS_TLSA_HEAD 3
/* Full certificates (matching type 0) beyond this are not taken: a
 * published certificate is a few KB at most. */
#define TLS_TLSA_DATA_MAX 8192
/* Records kept per host (more are ignored: DNS_ANSWER_MAX bounds it). */
#define TLS_TLSA_MAX DNS_ANSWER_MAX

/* RFC 7218 names: the usages (PKIX-TA 0, PKIX-EE 1, DANE-TA 2, DANE-EE
 * 3), selectors (Cert 0, SPKI 1), matching types (Full 0, SHA2-256 1,
 * SHA2-512 2). */
enum tls_tlsa_usage {
	TLS_TLSA_PKIX_TA = 0,
	TLS_TLSA_PKIX_EE = 1,
	TLS_TLSA_DANE_TA = 2,
	TLS_TLSA_DANE_EE = 3,
};

/* One TLSA record as parsed: data points into the rdata. */
struct tls_tlsa {
	uint8_t usage, selector, mtype;
	const unsigned char *data;
	size_t len;
};

/* rdata (wire) -> record. 0, or -1 when malformed (shorter than the
 * head, no data, or data over TLS_TLSA_DATA_MAX). Pure. */
int tls_tlsa_parse(const unsigned char *rdata, size_t len,
		   struct tls_tlsa *out);
/* RFC 7672 §3.1: only DANE-TA(2) and DANE-EE(3) are used for SMTP (PKIX
 * usages are "unusable"); known selector and matching type, and a digest
 * of the right length (RFC 6698 §2.1.3). */
bool tls_tlsa_usable(const struct tls_tlsa *r);

/* A host's usable TLSA records, one block that is copied whole (offsets,
 * no pointers), so a connection keeps its own copy. */
struct tls_dane_rr {
	uint8_t usage, selector, mtype;
	uint32_t off, len;       /* data at (unsigned char *)dane + off */
};
struct tls_dane {
	size_t size;             /* of the whole block */
	char base[256];          /* TLSA base domain: the MX host name */
	size_t n;
	struct tls_dane_rr rr[];
};

/* The usable records among n rdata (tls_tlsa_parse + tls_tlsa_usable);
 * *n_seen_r: records that parsed at all. NULL with *n_seen_r == 0: none
 * parsed; NULL otherwise: none usable, or out of memory (*oom_r).
 * Returned memory is the caller's (free). */
struct tls_dane *tls_dane_new(const char *base,
			      const unsigned char *const *rdata,
			      const size_t *len, size_t n, size_t *n_seen_r,
			      bool *oom_r);
struct tls_dane *tls_dane_dup(const struct tls_dane *d);
/* Arms DANE on ssl before its handshake (SNI = base name): OpenSSL's
 * DANE verification (SSL_dane_enable, SSL_dane_tlsa_add), DANE-EE
 * without name checks (RFC 7672 §3.1.1). 0, or -1 when none could be
 * added. */
int tls_dane_apply(struct ssl_st *ssl, const struct tls_dane *d);
/* After the handshake: true when the peer matched a TLSA record. *why_r
 * says why not (static text). */
bool tls_dane_verified(struct ssl_st *ssl, const char **why_r);

/* ---- Policy per destination ---------------------------------------- */

enum tls_policy_mode {
	TLS_POLICY_NONE = 0,     /* plaintext: tls_policy none */
	TLS_POLICY_OPPORTUNISTIC,/* STARTTLS when offered, no verification */
	TLS_POLICY_DANE,         /* RFC 7672: verified TLS or nothing */
	TLS_POLICY_MTA_STS,      /* RFC 8461 (enforce) */
};

/* What a host's TLSA lookup said. */
enum tls_host_state {
	TLS_HOST_PLAIN = 0,      /* no DANE: the destination's mode */
	TLS_HOST_DANE,           /* usable TLSA: DANE required */
	TLS_HOST_UNUSABLE,       /* TLSA, none usable: TLS required, not
				  * verified (RFC 7672 §2.2) */
	TLS_HOST_FAIL,           /* lookup failed (bogus, SERVFAIL): the
				  * host is not used now (RFC 7672 §2.2) */
};

/* RFC 8460 §4.3 result types, and success. */
enum tls_result {
	TLS_RESULT_NONE = 0,     /* nothing to report (plaintext policy) */
	TLS_RESULT_OK,
	TLS_RESULT_STARTTLS_NOT_SUPPORTED,
	TLS_RESULT_VALIDATION_FAILURE, /* handshake or DANE match failed */
	TLS_RESULT_TLSA_INVALID,
	TLS_RESULT_DNSSEC_INVALID,
	TLS_RESULT_CERT_NOT_TRUSTED,
};
const char *tls_result_name(enum tls_result r);
const char *tls_policy_mode_name(enum tls_policy_mode m);

struct tls_policy_host {
	enum tls_host_state st;
	char name[256];          /* TLSA base domain: the MX host, or where
				  * its CNAMEs lead (RFC 7672 §2.2.2) */
	char alias[256];         /* the MX name, still to try when the
				  * expanded name has no TLSA; "" */
	struct tls_dane *dane;   /* TLS_HOST_DANE */
	size_t n_tlsa;           /* records found (usable or not) */
	char why[160];           /* TLS_HOST_FAIL: the lookup's failure */
	struct dns_query *q;     /* lookup in flight */
	struct tls_policy *p;
};

typedef void (*tls_policy_cb)(void *arg);

struct tls_policy {
	enum tls_policy_mode mode;     /* of the destination (DANE when a
					* host has TLSA) */
	enum config_tls_mode base;     /* tls_policy's mode for the domain */
	size_t n_hosts;
	struct tls_policy_host hosts[DNS_MX_HOSTS_MAX];
	unsigned pending;
	struct dns *dns;
	tls_policy_cb cb;
	void *cb_arg;
};

/* The tls_policy mode configured for domain (CONFIG_TLS_MAY when none). */
enum config_tls_mode tls_policy_configured(const struct config *cfg,
					   const char *domain);
/* Looks up the TLSA records of every host of route that may have them
 * (RFC 7672 §2.2: the MX RRset, or the implicit MX host, and the host's
 * addresses DNSSEC-secure). base: the configured mode for the domain
 * (none: no lookup). 1 done at once, 0 pending (cb(arg) from the loop
 * when all are in). Clears what p held. */
int tls_policy_start(struct tls_policy *p, struct dns *dns,
		     const struct dns_mx_result *route,
		     enum config_tls_mode base, tls_policy_cb cb, void *arg);
/* Cancels lookups, frees records; p may be started again. */
void tls_policy_clear(struct tls_policy *p);
bool tls_policy_pending(const struct tls_policy *p);
/* Sets t->tls and t->dane for host i. */
void tls_policy_target(const struct tls_policy *p, size_t i,
		       struct smtpc_target *t);
/* Host i may not be used now (its TLSA lookup failed): why_r filled
 * with the deferral (4.7.5). */
bool tls_policy_host_blocked(const struct tls_policy *p, size_t i,
			     struct smtpc_reply *why_r);
/* One result line (event=tls_result) for the domain's policy: the hook
 * TLS-RPT's collection reads. */
void tls_policy_report(const char *domain, const struct tls_policy *p,
		       const char *mx, const char *peer,
		       enum tls_result r, const char *why);

#endif
