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
#include <stdlib.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "../core/log.h"
#include "mta_sts.h"
#include "queue_int.h"

static void
sts_cb(void *arg, const struct mta_sts_answer *a)
{
	struct qdest *d = arg;

	d->stsq = NULL;
	free(d->sts);
	d->sts = NULL;
	if (a->policy.mode != MTA_STS_NONE ||
	    a->fetch_fail != MTA_STS_OK) {
		d->sts = malloc(sizeof(*d->sts));
		if (d->sts != NULL)
			*d->sts = *a;
	}
	if (a->fetch_fail != MTA_STS_OK)
		log_info(NULL, "sts_result", " dest=%s result=%s why=%s",
			 log_qs(d->key), mta_sts_result_name(a->fetch_fail),
			 log_qs(a->why));
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
}

static enum mta_sts_mode
sts_mode(const struct qdest *d)
{
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
	log_info(NULL, "sts_result", " dest=%s mx=%s result=%s",
		 log_qs(d->key), log_qs(d->route->hosts[0].name),
		 mta_sts_result_name(MTA_STS_VALIDATION_FAILURE));
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
	log_info(NULL, "sts_result", " dest=%s mode=%s mx=%s result=%s",
		 log_qs(d->key), sts_mode(d) == MTA_STS_ENFORCE ? "enforce"
		 : "testing", log_qs(h->name), r == MTA_STS_OK ? "success"
		 : mta_sts_result_name(r));
}
