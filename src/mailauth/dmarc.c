/*
 * DMARC (RFC 7489): organisational domains through libpsl, alignment
 * (§3.1), the verdict (§6.6.2, pct §6.6.4) and the policy lookup (§6.6.3)
 * over the in-loop resolver.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "../dns/dns.h"
#include "dmarc.h"

#define DMARC_TXT 16

const char *
dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = { "none", "pass", "fail",
		"temperror", "permerror" };

	return (unsigned)r < sizeof(names) / sizeof(*names) ? names[r]
							    : "none";
}

/* ---- organisational domains ---------------------------------------- */

static const psl_ctx_t *dmarc_psl;
static pthread_once_t dmarc_psl_once = PTHREAD_ONCE_INIT;

/* The system's list (Debian's publicsuffix, kept current by the
 * package), else the one built into libpsl. Loaded once and never
 * freed: it lives as long as the process. */
static void
dmarc_psl_load(void)
{
	psl_ctx_t *p = psl_latest(NULL);

	dmarc_psl = p != NULL ? p : psl_builtin();
}

void
dmarc_psl_preload(void)
{
	pthread_once(&dmarc_psl_once, dmarc_psl_load);
}

static void
lower_copy(const char *in, char *out, size_t cap)
{
	size_t i = 0;

	for (; in[i] != '\0' && i + 1 < cap; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

int
dmarc_org_domain(const char *name, char *out, size_t cap)
{
	char low[DMARC_DOMAIN_MAX + 2];
	const char *reg;
	size_t len = strlen(name);

	if (cap == 0)
		return -1;
	lower_copy(name, out, cap);
	if (len == 0 || len >= sizeof(low) || len >= cap)
		return -1;
	lower_copy(name, low, sizeof(low));
	if (low[len - 1] == '.')
		low[len - 1] = '\0';
	pthread_once(&dmarc_psl_once, dmarc_psl_load);
	reg = dmarc_psl != NULL ? psl_registrable_domain(dmarc_psl, low)
				: NULL;
	if (reg == NULL)
		return -1;
	/* reg points into low (a suffix of it). */
	snprintf(out, cap, "%s", reg);
	return 0;
}

bool
dmarc_aligned(const char *a, const char *from, bool strict)
{
	char oa[DMARC_DOMAIN_MAX + 1], of[DMARC_DOMAIN_MAX + 1];

	if (a == NULL || a[0] == '\0' || from == NULL || from[0] == '\0')
		return false;
	if (strcasecmp(a, from) == 0)
		return true;
	if (strict)
		return false;
	/* A name that is itself a public suffix has no organisational
	 * domain and aligns with nothing but itself. */
	if (dmarc_org_domain(a, oa, sizeof(oa)) < 0 ||
	    dmarc_org_domain(from, of, sizeof(of)) < 0)
		return false;
	return strcmp(oa, of) == 0;
}

/* ---- the verdict ---------------------------------------------------- */

void
dmarc_decide(const struct dmarc_record *rec, const char *from,
	     const char *policy_domain, const struct dmarc_auth *dkim,
	     size_t n_dkim, const struct dmarc_auth *spf, unsigned roll,
	     struct dmarc_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (rec == NULL) {
		v->result = DMARC_RESULT_NONE;
		return;
	}
	for (size_t i = 0; i < n_dkim && !v->by_dkim; i++)
		v->by_dkim = dkim[i].pass &&
			     dmarc_aligned(dkim[i].domain, from,
					   rec->adkim_strict);
	v->by_spf = spf != NULL && spf->pass &&
		    dmarc_aligned(spf->domain, from, rec->aspf_strict);
	/* §6.3 sp=: the policy for subdomains of the domain that published
	 * it (found at the organisational domain, not at From's own). */
	v->policy = strcasecmp(from, policy_domain) == 0 ? rec->p : rec->sp;
	if (v->by_dkim || v->by_spf) {
		v->result = DMARC_RESULT_PASS;
		return;
	}
	/* An aligned identifier that could not be checked now (its key or
	 * SPF record lookup failed) might pass later: not a failure. */
	for (size_t i = 0; i < n_dkim && !v->temp; i++)
		v->temp = dkim[i].temp && dmarc_aligned(dkim[i].domain, from,
							 rec->adkim_strict);
	if (spf != NULL && spf->temp &&
	    dmarc_aligned(spf->domain, from, rec->aspf_strict))
		v->temp = true;
	if (v->temp) {
		v->result = DMARC_RESULT_TEMPERROR;
		return;
	}
	v->result = DMARC_RESULT_FAIL;
	v->action = v->policy;
	/* §6.6.4 / pct=: a message outside the sample gets the next milder
	 * policy (reject -> quarantine, quarantine -> none). */
	if (roll >= rec->pct && v->action != DMARC_POLICY_NONE) {
		v->sampled_out = true;
		v->action = v->action == DMARC_POLICY_REJECT
				    ? DMARC_POLICY_QUARANTINE
				    : DMARC_POLICY_NONE;
	}
}

/* ---- the policy lookup ----------------------------------------------- */

struct dmarc_lookup {
	struct dns *d;
	struct dns_query *q;
	dmarc_lookup_cb cb;
	void *arg;
	char from[DMARC_DOMAIN_MAX + 1];
	char org[DMARC_DOMAIN_MAX + 1];
	bool at_org;                   /* the second query */
	struct dmarc_policy_answer ans;
};

static int dmarc_query(struct dmarc_lookup *l, const char *domain);

/* The records of one answer: 1 one DMARC record (ans filled), 0 none
 * (or several: §6.6.3 says no policy then), -1 a broken one. */
static int
dmarc_records(struct dmarc_lookup *l, const struct dns_answer *a)
{
	char *txt = malloc(DMARC_RECORD_MAX + 1);
	int found = 0, bad = 0;
	struct dmarc_record rec;
	const char *why = NULL;

	if (txt == NULL)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		int n = dns_txt_text(a->rdata[i], a->len[i], txt,
				     DMARC_RECORD_MAX + 1);
		int rc = n < 0 ? 0 : dmarc_record_parse(txt, (size_t)n, &rec,
							 &why);

		if (rc == 1 && found++ == 0)
			l->ans.rec = rec;
		else if (rc < 0 && bad++ == 0)
			l->ans.why = why;
	}
	free(txt);
	if (found + bad > 1) {
		l->ans.why = "several DMARC records";
		return 0;
	}
	return found == 1 ? 1 : bad == 1 ? -1 : 0;
}

static void
dmarc_finish(struct dmarc_lookup *l)
{
	dmarc_lookup_cb cb = l->cb;
	void *arg = l->arg;
	struct dmarc_policy_answer ans = l->ans;

	free(l);
	cb(arg, &ans);
}

static void
dmarc_answer_cb(void *arg, const struct dns_answer *a)
{
	struct dmarc_lookup *l = arg;
	int rc;

	l->q = NULL;
	if (a->status == DNS_TEMPFAIL) {
		l->ans.result = DMARC_RESULT_TEMPERROR;
		l->ans.why = "policy lookup failed, try later";
		dmarc_finish(l);
		return;
	}
	rc = a->status == DNS_OK ? dmarc_records(l, a) : 0;
	if (rc != 0) {
		l->ans.result = rc > 0 ? DMARC_RESULT_PASS
				       : DMARC_RESULT_PERMERROR;
		snprintf(l->ans.domain, sizeof(l->ans.domain), "%s",
			 l->at_org ? l->org : l->from);
		dmarc_finish(l);
		return;
	}
	/* Nothing at the From: domain: its organisational domain's. */
	if (!l->at_org && l->org[0] != '\0' && strcmp(l->org, l->from) != 0) {
		l->at_org = true;
		if (dmarc_query(l, l->org) == 0)
			return;
		l->ans.result = DMARC_RESULT_TEMPERROR;
		l->ans.why = "out of memory";
	} else {
		l->ans.result = DMARC_RESULT_NONE;
	}
	dmarc_finish(l);
}

static int
dmarc_query(struct dmarc_lookup *l, const char *domain)
{
	char name[DMARC_DOMAIN_MAX + 8];

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	l->q = dns_lookup(l->d, name, DMARC_TXT, dmarc_answer_cb, l);
	return l->q != NULL ? 0 : -1;
}

struct dmarc_lookup *
dmarc_lookup_start(struct dns *d, const char *from_domain, dmarc_lookup_cb cb,
		   void *arg)
{
	struct dmarc_lookup *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->d = d;
	l->cb = cb;
	l->arg = arg;
	lower_copy(from_domain, l->from, sizeof(l->from));
	if (dmarc_org_domain(l->from, l->org, sizeof(l->org)) < 0)
		l->org[0] = '\0';
	if (dmarc_query(l, l->from) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void
dmarc_lookup_cancel(struct dmarc_lookup **lp)
{
	struct dmarc_lookup *l = *lp;

	if (l == NULL)
		return;
	if (l->q != NULL)
		dns_cancel(l->q);
	free(l);
	*lp = NULL;
}
