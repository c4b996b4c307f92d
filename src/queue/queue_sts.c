/*
 * MTA-STS in the queue (RFC 8461 §4, §5): the glue between a destination
 * (queue_dest.c) and the policy lookups (mta_sts.c). The lookup runs
 * beside the MX lookup whenever the route is looked up; until both are
 * done the destination waits. Then:
 *   enforce  only MX hosts matching the policy's mx patterns are tried,
 *            with TLS and a certificate verified for the MX name
 *            (tls_policy verify for that connection); none matching, or
 *            no verified TLS: deferred, never sent in clear (§5);
 *   testing  delivery as before; what enforce would have refused is
 *            recorded as a failure (§5, for TLS-RPT);
 *   none     nothing.
 * Each connection's result is one "sts_result" log line with the RFC
 * 8460 §4.3 result type. DANE (RFC 7672) takes precedence where it
 * applies (§2 of RFC 8461): its code leaves d->sts NULL for such a
 * destination.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "../core/log.h"
#include "../core/runtime.h"
#include "mta_sts.h"
#include "queue_int.h"
#include "tlsrpt.h"

/* One result: the log line, and a count for TLS-RPT when the domain
 * publishes a rua. */
static void
sts_note(const struct qdest *d, const char *mx, enum mta_sts_result r,
	 const char *why)
{
	log_info(NULL, "sts_result", " dest=%s mode=%s mx=%s result=%s%s%s",
		 log_qs(d->key), d->sts->policy.mode == MTA_STS_ENFORCE
		 ? "enforce" : d->sts->policy.mode == MTA_STS_TESTING
		 ? "testing" : "none", log_qs(mx), r == MTA_STS_OK ? "success"
		 : mta_sts_result_name(r), why != NULL ? " why=" : "",
		 why != NULL ? log_qs(why) : "");
	tlsrpt_count(d->q->tlsrpt, d->key, d->sts, d->rua, mx, r);
}

/* RFC 8460 §3: the domain's reporting addresses. */
static void
rpt_cb(void *arg, const struct dns_answer *a)
{
	struct qdest *d = arg;
	char text[1024], rua[TLSRPT_RUA_MAX];
	int n, found = 0;

	d->rptq = NULL;
	free(d->rua);
	d->rua = NULL;
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++) {
		n = dns_txt_text(a->rdata[i], a->len[i], text, sizeof(text));
		/* §3: more than one TLSRPTv1 record: none is used. */
		if (n >= 0 && tlsrpt_txt_parse(text, (size_t)n, rua,
					       sizeof(rua)) != 0)
			found += found == 0 && rua[0] != '\0' ? 1 : 2;
	}
	if (found == 1)
		d->rua = strdup(rua);
	if (d->sts != NULL && d->sts->fetch_fail != MTA_STS_OK)
		sts_note(d, "", d->sts->fetch_fail, d->sts->why);
	queue_dest_pump(d);
}

static void
sts_cb(void *arg, const struct mta_sts_answer *a)
{
	struct qdest *d = arg;
	char name[300];

	d->stsq = NULL;
	free(d->sts);
	d->sts = NULL;
	if (a->policy.mode != MTA_STS_NONE ||
	    a->fetch_fail != MTA_STS_OK) {
		d->sts = malloc(sizeof(*d->sts));
		if (d->sts != NULL)
			*d->sts = *a;
	}
	/* Results are reported only for a policy (or a policy that could
	 * not be had): the reporting address is needed only then. */
	if (d->sts != NULL && d->q->srv->dns != NULL) {
		snprintf(name, sizeof(name), "_smtp._tls.%s", d->key);
		d->rptq = dns_lookup(d->q->srv->dns, name, 16, rpt_cb, d);
	}
	if (d->rptq == NULL && d->sts != NULL &&
	    a->fetch_fail != MTA_STS_OK)
		sts_note(d, "", a->fetch_fail, a->why);
	queue_dest_pump(d);
}

void
queue_sts_start(struct qdest *d)
{
	struct queue *q = d->q;

	/* The relayhost is our own choice, not a recipient domain. */
	if (d->key[0] == '\0' || d->stsq != NULL || q->sts == NULL)
		return;
	d->stsq = mta_sts_lookup(q->sts, d->key, sts_cb, d);
}

void
queue_sts_cancel(struct qdest *d)
{
	mta_sts_cancel(d->stsq);
	d->stsq = NULL;
	if (d->rptq != NULL) {
		dns_cancel(d->rptq);
		d->rptq = NULL;
	}
}

static enum mta_sts_mode
sts_mode(const struct qdest *d)
{
	/* RFC 8461 §2: DANE wins when both exist; the DANE policy
	 * (tls_policy.c) then decides alone. */
	if (d->tls_policy.mode == TLS_POLICY_DANE)
		return MTA_STS_NONE;
	return d->sts != NULL ? d->sts->policy.mode : MTA_STS_NONE;
}

bool
queue_sts_host_ok(const struct qdest *d, const struct dns_mx_host *h)
{
	return sts_mode(d) != MTA_STS_ENFORCE ||
	       mta_sts_mx_match(&d->sts->policy, h->name);
}

enum config_tls_mode
queue_sts_tls(const struct qdest *d, enum config_tls_mode mode)
{
	return sts_mode(d) == MTA_STS_ENFORCE ? CONFIG_TLS_VERIFY : mode;
}

int
queue_sts_route_check(struct qdest *d)
{
	if (sts_mode(d) != MTA_STS_ENFORCE || d->route == NULL ||
	    d->route_err.code != 0)
		return 0;
	for (size_t i = 0; i < d->route->n_hosts; i++)
		if (queue_sts_host_ok(d, &d->route->hosts[i]))
			return 0;
	/* RFC 8461 §5: no MX matches: a temporary failure, so the mail
	 * waits for the policy or the MX records to be put right. */
	queue_reply_set(&d->route_err, 451, "4.7.5", "No MX host of %s "
			"matches its MTA-STS policy (mode enforce)", d->key);
	sts_note(d, d->route->hosts[0].name, MTA_STS_VALIDATION_FAILURE,
		 "no MX matches the policy");
	return -1;
}

/* RFC 8460 §4.3.2.1: the certificate failures by OpenSSL's reason. */
static enum mta_sts_result
cert_result(long vr)
{
	switch (vr) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return MTA_STS_CERT_HOST_MISMATCH;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return MTA_STS_CERT_EXPIRED;
	default:
		return MTA_STS_CERT_NOT_TRUSTED;
	}
}

void
queue_sts_result(const struct qdest *d, const struct dns_mx_host *h,
		 const struct smtpc *c, bool ok)
{
	long vr = smtpc_tls_verify(c);
	enum mta_sts_result r = MTA_STS_OK;

	if (sts_mode(d) == MTA_STS_NONE)
		return;
	if (vr >= 0 && vr != X509_V_OK)
		r = cert_result(vr);
	else if (smtpc_is_tls(c) && vr < 0)
		r = MTA_STS_VALIDATION_FAILURE; /* the handshake failed */
	else if (!smtpc_is_tls(c) && (ok || (smtpc_error(c)->code / 100 == 4
		 && strcmp(smtpc_error(c)->status, "4.7.4") == 0)))
		r = MTA_STS_STARTTLS_NOT_SUPPORTED;
	else if (!ok)
		return; /* no TLS step was reached: nothing to report */
	else if (!mta_sts_mx_match(&d->sts->policy, h->name))
		r = MTA_STS_VALIDATION_FAILURE; /* testing: MX not listed */
	sts_note(d, h->name, r, NULL);
}
