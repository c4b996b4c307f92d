/*
 * DANE for SMTP (RFC 7672) and the per-destination TLS policy
 * (tls_policy.h). The TLSA lookup runs once per route (with it, every
 * QUEUE_ROUTE_TTL seconds), for each MX host whose name came from a
 * DNSSEC-secure MX answer and whose addresses are secure; each host's
 * records travel with the connection to it (smtpc), where OpenSSL's DANE
 * code checks the peer's chain against them.
 */
#include "tls_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "../core/log.h"
#include "smtpc.h"

/* RFC 6698 §1.3 (RFC 7671 §2): the port and transport of SMTP. */
#define TLS_TLSA_PREFIX "_25._tcp."
/* RR type TLSA (RFC 6698 §7.1). */
#define TLS_RRTYPE_TLSA 52

/* ---- TLSA records ---------------------------------------------------- */

int
tls_tlsa_parse(const unsigned char *rdata, size_t len, struct tls_tlsa *out)
{
	if (rdata == NULL || len <= TLS_TLSA_HEAD ||
	    len - TLS_TLSA_HEAD > TLS_TLSA_DATA_MAX)
		return -1;
	out->usage = rdata[0];
	out->selector = rdata[1];
	out->mtype = rdata[2];
	out->data = rdata + TLS_TLSA_HEAD;
	out->len = len - TLS_TLSA_HEAD;
	return 0;
}

bool
tls_tlsa_usable(const struct tls_tlsa *r)
{
	if (r->usage != TLS_TLSA_DANE_TA && r->usage != TLS_TLSA_DANE_EE)
		return false;
	if (r->selector > 1)
		return false;
	switch (r->mtype) {
	case 0:
		return r->len > 0;
	case 1:
		return r->len == 32;
	case 2:
		return r->len == 64;
	default:
		return false;
	}
}

struct tls_dane *
tls_dane_new(const char *base, const unsigned char *const *rdata,
	     const size_t *len, size_t n, size_t *n_seen_r, bool *oom_r)
{
	struct tls_tlsa rr[TLS_TLSA_MAX];
	size_t used = 0, data = 0, size;
	struct tls_dane *d;
	uint32_t off;

	*n_seen_r = 0;
	*oom_r = false;
	for (size_t i = 0; i < n && i < TLS_TLSA_MAX; i++) {
		if (tls_tlsa_parse(rdata[i], len[i], &rr[used]) < 0)
			continue;
		(*n_seen_r)++;
		if (!tls_tlsa_usable(&rr[used]))
			continue;
		data += rr[used].len;
		used++;
	}
	if (used == 0)
		return NULL;
	size = sizeof(*d) + used * sizeof(d->rr[0]) + data;
	if ((d = calloc(1, size)) == NULL) {
		*oom_r = true;
		return NULL;
	}
	d->size = size;
	snprintf(d->base, sizeof(d->base), "%s", base);
	d->n = used;
	off = (uint32_t)(sizeof(*d) + used * sizeof(d->rr[0]));
	for (size_t i = 0; i < used; i++) {
		d->rr[i].usage = rr[i].usage;
		d->rr[i].selector = rr[i].selector;
		d->rr[i].mtype = rr[i].mtype;
		d->rr[i].off = off;
		d->rr[i].len = (uint32_t)rr[i].len;
		memcpy((unsigned char *)d + off, rr[i].data, rr[i].len);
		off += (uint32_t)rr[i].len;
	}
	return d;
}

struct tls_dane *
tls_dane_dup(const struct tls_dane *d)
{
	struct tls_dane *c;

	if (d == NULL || (c = malloc(d->size)) == NULL)
		return NULL;
	memcpy(c, d, d->size);
	return c;
}

int
tls_dane_apply(SSL *ssl, const struct tls_dane *d)
{
	int added = 0;

	/* SSL_dane_enable makes the base domain the SNI name and the
	 * reference identifier of DANE-TA(2) chains (RFC 7672 §3.2.3). */
	if (SSL_dane_enable(ssl, d->base) <= 0) {
		ERR_clear_error();
		return -1;
	}
	/* RFC 7672 §3.1.1: DANE-EE(3) binds the key, not a name. */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < d->n; i++) {
		const struct tls_dane_rr *r = &d->rr[i];

		/* 0: unusable to OpenSSL (e.g. an unknown digest); a record
		 * we could not add is skipped like any unusable one. */
		if (SSL_dane_tlsa_add(ssl, r->usage, r->selector, r->mtype,
				      (const unsigned char *)d + r->off,
				      r->len) > 0)
			added++;
	}
	ERR_clear_error();
	return added > 0 ? 0 : -1;
}

bool
tls_dane_verified(SSL *ssl, const char **why_r)
{
	long vr = SSL_get_verify_result(ssl);

	if (SSL_get0_peer_certificate(ssl) == NULL) {
		*why_r = "no certificate";
		return false;
	}
	if (vr != X509_V_OK) {
		*why_r = X509_verify_cert_error_string(vr);
		return false;
	}
	/* OK without a matching record would be a PKIX success, which
	 * DANE does not accept (RFC 7672 §3.1.3). */
	if (SSL_get0_dane_authority(ssl, NULL, NULL) < 0) {
		*why_r = "no TLSA record matched";
		return false;
	}
	*why_r = "";
	return true;
}

/* ---- Names for logs and reports -------------------------------------- */

const char *
tls_result_name(enum tls_result r)
{
	switch (r) {
	case TLS_RESULT_NONE: return "none";
	case TLS_RESULT_OK: return "success";
	case TLS_RESULT_STARTTLS_NOT_SUPPORTED:
		return "starttls-not-supported";
	case TLS_RESULT_VALIDATION_FAILURE: return "validation-failure";
	case TLS_RESULT_TLSA_INVALID: return "tlsa-invalid";
	case TLS_RESULT_DNSSEC_INVALID: return "dnssec-invalid";
	case TLS_RESULT_CERT_NOT_TRUSTED: return "certificate-not-trusted";
	}
	return "?";
}

const char *
tls_policy_mode_name(enum tls_policy_mode m)
{
	switch (m) {
	case TLS_POLICY_NONE: return "none";
	case TLS_POLICY_OPPORTUNISTIC: return "opportunistic";
	case TLS_POLICY_DANE: return "dane";
	case TLS_POLICY_MTA_STS: return "mta-sts";
	}
	return "?";
}

/* ---- Policy per destination ------------------------------------------ */

enum config_tls_mode
tls_policy_configured(const struct config *cfg, const char *domain)
{
	for (size_t i = 0; i < cfg->n_tls_policies; i++)
		if (strcasecmp(cfg->tls_policies[i].domain, domain) == 0)
			return cfg->tls_policies[i].mode;
	return CONFIG_TLS_MAY;
}

void
tls_policy_clear(struct tls_policy *p)
{
	for (size_t i = 0; i < p->n_hosts; i++) {
		struct tls_policy_host *h = &p->hosts[i];

		if (h->q != NULL)
			dns_cancel(h->q);
		free(h->dane);
	}
	memset(p, 0, sizeof(*p));
}

bool
tls_policy_pending(const struct tls_policy *p)
{
	return p->pending > 0;
}

static void
tls_policy_mode_set(struct tls_policy *p)
{
	p->mode = p->base == CONFIG_TLS_NONE ? TLS_POLICY_NONE
					     : TLS_POLICY_OPPORTUNISTIC;
	for (size_t i = 0; i < p->n_hosts; i++)
		if (p->hosts[i].st != TLS_HOST_PLAIN)
			p->mode = TLS_POLICY_DANE;
}

static int tls_host_lookup(struct tls_policy_host *h);

/* RFC 7672 §2.2: a secure answer with records is DANE (or, when none is
 * usable, mandatory unauthenticated TLS); a secure denial or an insecure
 * answer is no DANE; a failed lookup (bogus, SERVFAIL) leaves the host
 * unusable, as an attacker may have caused it. */
static void
tls_host_answer_cb(void *arg, const struct dns_answer *a)
{
	struct tls_policy_host *h = arg;
	struct tls_policy *p = h->p;
	size_t seen = 0;
	bool oom = false;

	h->q = NULL;
	/* RFC 7672 §2.2.2: none at the expanded name: the MX name's. */
	if ((a->status == DNS_NXDOMAIN || a->status == DNS_NODATA) &&
	    a->secure && h->alias[0] != '\0') {
		snprintf(h->name, sizeof(h->name), "%s", h->alias);
		h->alias[0] = '\0';
		if (tls_host_lookup(h) == 0)
			return;
		a = NULL;
	}
	if (a == NULL) {
		h->st = TLS_HOST_FAIL;
		snprintf(h->why, sizeof(h->why), "cannot look up "
			 TLS_TLSA_PREFIX "%s", h->name);
	} else if (a->status == DNS_TEMPFAIL) {
		h->st = TLS_HOST_FAIL;
		snprintf(h->why, sizeof(h->why), "%s", a->why);
	} else if (a->status == DNS_OK && a->secure) {
		h->dane = tls_dane_new(h->name, a->rdata, a->len, a->n, &seen,
				       &oom);
		h->n_tlsa = a->n;
		h->st = h->dane != NULL ? TLS_HOST_DANE : TLS_HOST_UNUSABLE;
		if (oom) {
			h->st = TLS_HOST_FAIL;
			snprintf(h->why, sizeof(h->why), "out of memory");
		} else {
			h->why[0] = '\0';
		}
	} else {
		h->st = TLS_HOST_PLAIN;
		h->why[0] = '\0';
	}
	tls_policy_mode_set(p);
	if (--p->pending == 0 && p->cb != NULL)
		p->cb(p->cb_arg);
}

/* RFC 7672 §2.2.2: when the MX name is an alias (securely, as the
 * host's answers are), the expanded name is tried first, then the MX
 * name itself. */
static void
tls_host_base(struct tls_policy_host *h, const struct dns_mx_host *mx)
{
	size_t n = strlen(mx->canonname);

	while (n > 0 && mx->canonname[n - 1] == '.')
		n--;
	h->alias[0] = '\0';
	if (n == 0 || n >= sizeof(h->name) ||
	    (strlen(mx->name) == n &&
	     strncasecmp(mx->name, mx->canonname, n) == 0)) {
		snprintf(h->name, sizeof(h->name), "%s", mx->name);
		return;
	}
	memcpy(h->name, mx->canonname, n);
	h->name[n] = '\0';
	snprintf(h->alias, sizeof(h->alias), "%s", mx->name);
}

/* Starts the TLSA lookup of h->name: 0, or -1 when it cannot start. */
static int
tls_host_lookup(struct tls_policy_host *h)
{
	char name[sizeof(TLS_TLSA_PREFIX) + 256];

	snprintf(name, sizeof(name), TLS_TLSA_PREFIX "%s", h->name);
	h->q = dns_lookup(h->p->dns, name, TLS_RRTYPE_TLSA,
			  tls_host_answer_cb, h);
	return h->q != NULL ? 0 : -1;
}

int
tls_policy_start(struct tls_policy *p, struct dns *dns,
		 const struct dns_mx_result *route, enum config_tls_mode base,
		 tls_policy_cb cb, void *arg)
{
	tls_policy_clear(p);
	p->dns = dns;
	p->base = base;
	p->cb = cb;
	p->cb_arg = arg;
	p->n_hosts = route->n_hosts;
	tls_policy_mode_set(p);
	if (base == CONFIG_TLS_NONE || dns == NULL || !route->mx_secure)
		return 1;
	for (size_t i = 0; i < route->n_hosts; i++) {
		const struct dns_mx_host *mx = &route->hosts[i];
		struct tls_policy_host *h = &p->hosts[i];

		h->p = p;
		if (!mx->secure || mx->n_addrs == 0)
			continue;
		tls_host_base(h, mx);
		/* Until the answer, a connection that fails over to this
		 * host (the route is already new) must not go without. */
		h->st = TLS_HOST_FAIL;
		if (tls_host_lookup(h) < 0) {
			snprintf(h->why, sizeof(h->why), "cannot look up "
				 TLS_TLSA_PREFIX "%s", h->name);
			continue;
		}
		snprintf(h->why, sizeof(h->why), "not finished");
		p->pending++;
	}
	tls_policy_mode_set(p);
	return p->pending > 0 ? 0 : 1;
}

void
tls_policy_target(const struct tls_policy *p, size_t i,
		  struct smtpc_target *t)
{
	const struct tls_policy_host *h = i < p->n_hosts ? &p->hosts[i]
							  : NULL;

	t->dane = NULL;
	if (h == NULL || p->base == CONFIG_TLS_NONE)
		return;
	if (h->st == TLS_HOST_DANE) {
		/* RFC 7672 §2.2: authenticated TLS or no delivery. */
		t->tls = CONFIG_TLS_VERIFY;
		t->dane = h->dane;
	} else if (h->st == TLS_HOST_UNUSABLE && t->tls < CONFIG_TLS_ENCRYPT) {
		t->tls = CONFIG_TLS_ENCRYPT;
	}
}

bool
tls_policy_host_blocked(const struct tls_policy *p, size_t i,
			struct smtpc_reply *why_r)
{
	const struct tls_policy_host *h = i < p->n_hosts ? &p->hosts[i]
							  : NULL;

	if (h == NULL || h->st != TLS_HOST_FAIL)
		return false;
	if (why_r != NULL) {
		why_r->code = 451;
		snprintf(why_r->status, sizeof(why_r->status), "4.7.5");
		snprintf(why_r->text, sizeof(why_r->text),
			 "TLSA lookup for %s%s failed: %s", TLS_TLSA_PREFIX,
			 h->name, h->why);
	}
	return true;
}

void
tls_policy_report(const char *domain, const struct tls_policy *p,
		  const char *mx, const char *peer, enum tls_result r,
		  const char *why)
{
	/* No policy worked out (the relayhost, TLS-Required: No): none
	 * to report on. */
	if (r == TLS_RESULT_NONE || p->n_hosts == 0)
		return;
	log_info(NULL, "tls_result", " dest=%s policy=%s mx=%s peer=%s "
		 "result=%s%s%s", log_qs(domain),
		 tls_policy_mode_name(p->mode), log_qs(mx), log_qs(peer),
		 tls_result_name(r), why != NULL && why[0] ? " why=" : "",
		 why != NULL && why[0] ? log_qs(why) : "");
}
