/*
 * DKIM verification (RFC 6376) and DMARC (RFC 7489) of a message received
 * on port 25. Nothing here waits: the body of every signature is hashed
 * as the octets arrive (the header section is the session's capture,
 * tx->hdr), the DMARC policy is looked up over the in-loop resolver as
 * soon as the header section is complete (its answer usually arrives
 * before the body ends), the keys once the body hashes are known (a body
 * that does not match needs no key). The signature checks (a public-key
 * operation each: tens of microseconds, more for a large RSA key, and up
 * to DKIM_SIGS_MAX of them) run on a worker, never on the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../mailauth/authres.h"
#include "../mailauth/dkim.h"
#include "../util/str.h"
#include "smtp_dmarc.h"
#include "smtp_int.h"

/* The signature checks on a worker. It owns the verification (and the
 * header copy it points into) while it runs; d is NULL once the
 * transaction is gone, and the job then frees everything itself. */
struct smtp_dkim_job {
	struct smtp_dmarc *d;
	struct dkim_verify *v;
	char *hdr;
};

struct smtp_dmarc {
	struct smtp_session *s;
	void (*ready)(void *arg);
	void *ready_arg;
	/* DKIM: begun once the header section is complete. */
	struct dkim_verify *v;
	char *hdr;            /* the header section v reads (a copy) */
	struct dkim_lookup *lk;
	struct smtp_dkim_job *job; /* checks running on a worker */
	bool begun;           /* the header section was seen complete */
	bool ended;           /* smtp_dmarc_data ran */
	uint64_t body_off;    /* message offset of the body */
	/* DMARC */
	char from[DMARC_DOMAIN_MAX + 1]; /* the From: domain, "" when none */
	bool multi_from;      /* several From: fields */
	struct dmarc_lookup *dl;
	bool policy_known;
	struct dmarc_policy_answer pol;
	bool decided;
	struct dmarc_verdict verdict;
	char dmarc_reason[96];
};

struct smtp_dmarc *
smtp_dmarc_new(struct smtp_session *s, void (*ready)(void *arg), void *arg)
{
	struct smtp_dmarc *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->s = s;
	d->ready = ready;
	d->ready_arg = arg;
	return d;
}

void
smtp_dmarc_free(struct smtp_dmarc **dp)
{
	struct smtp_dmarc *d = *dp;

	if (d == NULL)
		return;
	dkim_lookup_cancel(&d->lk);
	dmarc_lookup_cancel(&d->dl);
	if (d->job != NULL)
		d->job->d = NULL; /* the job frees what it holds */
	dkim_verify_free(&d->v);
	free(d->hdr);
	free(d);
	*dp = NULL;
}

bool
smtp_dmarc_pending(const struct smtp_dmarc *d)
{
	return d != NULL && (d->lk != NULL || d->dl != NULL || d->job != NULL);
}

static void
dmarc_policy_cb(void *arg, const struct dmarc_policy_answer *a)
{
	struct smtp_dmarc *d = arg;

	d->dl = NULL;
	d->pol = *a;
	d->policy_known = true;
	if (!smtp_dmarc_pending(d))
		d->ready(d->ready_arg);
}

/* RFC 5322 §3.6 allows one From: field; with two, a reader may be shown
 * either, so neither can be judged (RFC 7489 §6.6.1). */
static bool
several_from(const char *h, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		size_t k = i;
		const char *nl;

		while (k < len && k - i < 8 && h[k] != ':' && h[k] != '\n')
			k++;
		/* "From" with optional WSP before the colon (obs-optional) */
		while (k > i && (h[k - 1] == ' ' || h[k - 1] == '\t'))
			k--;
		if (k - i == 4 && str_ieq(h + i, 4, "from") && ++n > 1)
			return true;
		if ((nl = memchr(h + i, '\n', len - i)) == NULL)
			break;
		i = (size_t)(nl - h);
	}
	return false;
}

/* The header section is complete (or all there is): the signatures are
 * parsed and their body hashes started; the policy lookup begins. */
static void
dmarc_begin(struct smtp_dmarc *d)
{
	const struct smtp_tx *tx = d->s->tx;
	struct dns *dns = d->s->base.srv->dns;

	d->begun = true;
	d->body_off = tx->hdr.len;
	if (tx->hdr_cut)
		return; /* decided at the end: too large to check */
	/* A copy: the checks run on a worker that may outlive the
	 * transaction (and its tx->hdr). */
	d->hdr = malloc(tx->hdr.len + 1);
	if (d->hdr != NULL) {
		if (tx->hdr.len > 0) /* an empty message has no buffer */
			memcpy(d->hdr, tx->hdr.data, tx->hdr.len);
		d->v = dkim_verify_begin(d->hdr, tx->hdr.len, time(NULL));
	}
	if (d->v != NULL)
		dkim_verify_defer_keys(d->v);
	if (dkim_from_domain((const char *)tx->hdr.data, tx->hdr.len, d->from,
			     sizeof(d->from)) < 0) {
		d->from[0] = '\0';
		d->multi_from = several_from((const char *)tx->hdr.data,
					     tx->hdr.len);
		return;
	}
	if (dns != NULL)
		d->dl = dmarc_lookup_start(dns, d->from, dmarc_policy_cb, d);
	if (d->dl == NULL) {
		d->policy_known = true;
		d->pol.result = DMARC_RESULT_TEMPERROR;
		d->pol.why = dns == NULL ? "no resolver"
					 : "policy lookup could not start";
	}
}

void
smtp_dmarc_scan(struct smtp_dmarc *d, uint64_t off, const char *p, size_t n)
{
	if (d == NULL || d->ended)
		return;
	if (!d->begun) {
		if (!d->s->tx->hdr_done)
			return;
		dmarc_begin(d);
	}
	if (d->v == NULL || off + n <= d->body_off)
		return;
	if (off < d->body_off) {
		p += d->body_off - off;
		n -= (size_t)(d->body_off - off);
	}
	dkim_verify_body(d->v, p, n);
}

static void
dkim_job_work(void *arg)
{
	struct smtp_dkim_job *job = arg;

	dkim_verify_check_keys(job->v);
}

/* Loop: the checks are done. */
static void
dkim_job_done(void *arg)
{
	struct smtp_dkim_job *job = arg;
	struct smtp_dmarc *d = job->d;

	if (d == NULL) {
		dkim_verify_free(&job->v);
		free(job->hdr);
		free(job);
		return;
	}
	d->v = job->v;
	d->hdr = job->hdr;
	d->job = NULL;
	free(job);
	if (!smtp_dmarc_pending(d))
		d->ready(d->ready_arg);
}

/* Every key answer is in: the checks go to a worker. */
static void
dkim_keys_cb(void *arg, struct dkim_verify *v)
{
	struct smtp_dmarc *d = arg;
	struct workers *w = d->s->base.srv->workers;
	/* An RSA-2048 check costs less here than the trip to a worker and
	 * back. */
	bool here = w == NULL || dkim_verify_cheap(v);
	struct smtp_dkim_job *job = here ? NULL : malloc(sizeof(*job));

	d->lk = NULL;
	if (job == NULL) {
		dkim_verify_check_keys(v); /* cheap, or no memory: here */
	} else {
		*job = (struct smtp_dkim_job){ d, d->v, d->hdr };
		d->v = NULL;
		d->hdr = NULL;
		d->job = job;
		/* The client waits for its reply to the end of DATA. */
		workers_submit_urgent(w, dkim_job_work, dkim_job_done, job);
	}
	if (!smtp_dmarc_pending(d))
		d->ready(d->ready_arg);
}

void
smtp_dmarc_data(struct smtp_dmarc *d)
{
	if (d == NULL || d->ended)
		return;
	/* A message without an empty line is all header section. */
	if (!d->begun)
		dmarc_begin(d);
	d->ended = true;
	if (d->v == NULL)
		return;
	dkim_verify_end(d->v);
	if (dkim_lookup_start(d->s->base.srv->dns, d->v, dkim_keys_cb, d,
			      &d->lk) == 0)
		return;
	/* Nothing was looked up (no key needed, no resolver, no memory):
	 * what is kept are failures, decided here without crypto. */
	for (size_t i = 0; i < dkim_verify_count(d->v); i++)
		dkim_verify_key(d->v, i, false, true, NULL, 0);
	dkim_verify_check_keys(d->v);
}

/* ---- the results ----------------------------------------------------- */

static void
dkim_log(const struct smtp_dmarc *d, const struct dkim_result *r)
{
	log_info(d->s->base.id, "dkim", " msg=%s result=%s d=%s s=%s a=%s "
		 "why=%s", d->s->tx->msgid, dkim_status_name(r->status),
		 log_qs(r->domain), log_qs(r->selector),
		 r->alg[0] ? r->alg : "-", log_qs(r->why));
}

static size_t
dkim_items(struct smtp_dmarc *d, struct authres_item *items, size_t cap)
{
	size_t n = d->v != NULL ? dkim_verify_count(d->v) : 0, k = 0;

	if (d->s->tx->hdr_cut && cap > 0) {
		items[0] = (struct authres_item){ "dkim", "permerror",
			"header section too large to check", { { 0 } } };
		return 1;
	}
	if (n == 0 && cap > 0) {
		items[0] = (struct authres_item){ "dkim", "none", NULL,
						  { { 0 } } };
		return 1;
	}
	for (size_t i = 0; i < n && k < cap; i++) {
		const struct dkim_result *r = dkim_verify_result(d->v, i);
		struct authres_item *it = &items[k++];

		dkim_log(d, r);
		it->method = "dkim";
		it->result = dkim_status_name(r->status);
		it->reason = r->status == DKIM_PASS ? NULL : r->why;
		/* RFC 8601 §2.7.1 header.d/header.s, RFC 6008 header.b (a
		 * prefix telling the signatures apart). */
		it->props[0] = (struct authres_prop){ "header.d", r->domain };
		it->props[1] = (struct authres_prop){ "header.s", r->selector };
		it->props[2] = (struct authres_prop){ "header.b", r->b };
		it->props[3] = (struct authres_prop){ NULL, NULL };
		if (r->domain[0] == '\0')
			it->props[0].name = NULL; /* unparsable signature */
	}
	return k;
}

/* The verdict from the policy found and the DKIM and SPF results. */
static void
dmarc_judge(struct smtp_dmarc *d, const struct smtp_dmarc_spf *spf)
{
	struct dmarc_auth dk[DKIM_SIGS_MAX];
	size_t n = 0;
	struct dmarc_auth sp = { spf->domain, spf->pass, spf->temp };

	if (d->s->tx->hdr_cut || d->from[0] == '\0') {
		/* §6.6.1: no single From: domain, nothing to align with. */
		d->verdict.result = DMARC_RESULT_PERMERROR;
		snprintf(d->dmarc_reason, sizeof(d->dmarc_reason), "%s",
			 d->s->tx->hdr_cut ? "header section too large"
			 : d->multi_from ? "several From: fields"
					 : "no single From: domain");
		return;
	}
	if (d->pol.result != DMARC_RESULT_PASS) {
		d->verdict.result = d->pol.result;
		if (d->pol.why != NULL)
			snprintf(d->dmarc_reason, sizeof(d->dmarc_reason),
				 "%s", d->pol.why);
		return;
	}
	for (size_t i = 0; d->v != NULL && i < dkim_verify_count(d->v); i++) {
		const struct dkim_result *r = dkim_verify_result(d->v, i);

		/* RFC 7489 §4.2: a signature that verified (a key in
		 * testing mode t=y still counts, §6.6.2 leaves it open). */
		dk[n].domain = r->domain;
		dk[n].temp = r->status == DKIM_TEMPERROR;
		dk[n++].pass = r->status == DKIM_PASS;
	}
	dmarc_decide(&d->pol.rec, d->from, d->pol.domain, dk, n, &sp,
		     arc4random_uniform(100), &d->verdict);
	snprintf(d->dmarc_reason, sizeof(d->dmarc_reason), "p=%s%s%s",
		 dmarc_policy_name(d->verdict.policy),
		 d->verdict.result == DMARC_RESULT_PASS
			 ? (d->verdict.by_dkim ? " dkim=aligned"
					       : " spf=aligned")
			 : "",
		 d->verdict.sampled_out ? " pct=sampled-out" : "");
	if (d->verdict.temp)
		snprintf(d->dmarc_reason, sizeof(d->dmarc_reason), "p=%s, an "
			 "aligned identifier could not be checked now",
			 dmarc_policy_name(d->verdict.policy));
}

static void
dmarc_log(const struct smtp_dmarc *d)
{
	log_info(d->s->base.id, "dmarc", " msg=%s result=%s from=%s "
		 "policy_domain=%s policy=%s action=%s why=%s",
		 d->s->tx->msgid, dmarc_result_name(d->verdict.result),
		 log_qs(d->from), log_qs(d->pol.domain),
		 dmarc_policy_name(d->verdict.policy),
		 dmarc_policy_name(d->verdict.action),
		 log_qs(d->dmarc_reason));
}

size_t
smtp_dmarc_items(struct smtp_dmarc *d, const struct smtp_dmarc_spf *spf,
		 struct authres_item *items, size_t cap)
{
	size_t k;

	if (d == NULL || cap < 2)
		return 0;
	k = dkim_items(d, items, cap - 1);
	if (!d->decided) {
		dmarc_judge(d, spf);
		d->decided = true;
		dmarc_log(d);
	}
	items[k++] = (struct authres_item){
		"dmarc", dmarc_result_name(d->verdict.result),
		d->dmarc_reason[0] ? d->dmarc_reason : NULL,
		{ { "header.from", d->from[0] ? d->from : NULL } } };
	return k;
}

bool
smtp_dmarc_defer(const struct smtp_dmarc *d)
{
	return d != NULL && d->decided && d->verdict.temp &&
	       d->verdict.policy != DMARC_POLICY_NONE;
}

enum dmarc_policy
smtp_dmarc_action(const struct smtp_dmarc *d)
{
	if (d == NULL || !d->decided)
		return DMARC_POLICY_NONE;
	/* A header section we could not read hides its From: (a forged
	 * one could sit beyond the 64 KB kept), and of two From: fields a
	 * reader may see the forged one: refused like a reject. */
	if (d->s->tx->hdr_cut || d->multi_from)
		return DMARC_POLICY_REJECT;
	return d->verdict.action;
}
