/*
 * DMARC (RFC 7489): the policy record parser (dmarc_parse.c, pure), the
 * organisational domain through the Public Suffix List (libpsl), identifier
 * alignment, the policy lookup over the in-loop resolver and the verdict
 * from the SPF and DKIM results (dmarc.c).
 */
#ifndef POSTEL_DMARC_H
#define POSTEL_DMARC_H

#include <stdbool.h>
#include <stddef.h>

struct dns;

#define DMARC_RECORD_MAX 2048      /* the text of a policy record */
#define DMARC_DOMAIN_MAX 253

/* ---- The record (RFC 7489 §6.3), pure ------------------------------ */

enum dmarc_policy {
	DMARC_POLICY_NONE = 0,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};
const char *dmarc_policy_name(enum dmarc_policy p);

struct dmarc_record {
	enum dmarc_policy p;       /* for the domain itself */
	enum dmarc_policy sp;      /* for subdomains (p when sp= is absent) */
	bool adkim_strict;         /* adkim=s */
	bool aspf_strict;          /* aspf=s */
	unsigned pct;              /* 0..100, 100 when absent */
	bool has_rua;              /* reports are asked for */
};

/* Parses the text of a TXT record (p[0..n), not NUL-terminated).
 * 1: a DMARC record, *r filled; 0: not a DMARC record (v=DMARC1 is not
 * its first tag: other TXT records at the name are ignored, §6.6.3);
 * -1: a DMARC record that cannot be used (bad tag list, p= missing or
 * invalid without a usable rua=), *why_r a static text. Optional tags
 * with bad values take their defaults (§6.3). */
int dmarc_record_parse(const char *p, size_t n, struct dmarc_record *r,
		       const char **why_r);

/* ---- Domains ------------------------------------------------------- */

/* The organisational domain of name (RFC 7489 §3.2: the public suffix
 * plus one label), lower-case into out. 0, or -1 when name is itself a
 * public suffix or does not fit (out then holds name, lower-case). The
 * list is libpsl's (the system's publicsuffix data, else the built-in
 * one), loaded once; thread-safe. */
int dmarc_org_domain(const char *name, char *out, size_t cap);
/* Loads that list now (serve calls it before it takes mail, so the first
 * lookup does not read a file on the loop); later calls do nothing. */
void dmarc_psl_preload(void);

/* RFC 7489 §3.1: a (an authenticated domain) is aligned with from
 * (the From: domain): equal without case when strict, else equal
 * organisational domains. */
bool dmarc_aligned(const char *a, const char *from, bool strict);

/* ---- The verdict (§6.6.2) ------------------------------------------- */

enum dmarc_result {
	DMARC_RESULT_NONE = 0,     /* no policy published */
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,    /* the policy lookup failed for now, or
				    * nothing passed and an aligned
				    * identifier had a temporary error */
	DMARC_RESULT_PERMERROR,    /* unusable record, no From: domain */
};
const char *dmarc_result_name(enum dmarc_result r);

/* One authenticated identifier: a DKIM signature's d= that passed, or
 * the SPF-checked MAIL FROM domain with its pass. */
struct dmarc_auth {
	const char *domain;
	bool pass;
	bool temp;                 /* temperror: it might pass later */
};

struct dmarc_verdict {
	enum dmarc_result result;
	/* What the policy asks for this message (p or sp, after pct);
	 * DMARC_POLICY_NONE unless result is FAIL. */
	enum dmarc_policy action;
	enum dmarc_policy policy;  /* p or sp as published */
	bool sampled_out;          /* pct= spared the message */
	bool by_dkim, by_spf;      /* which aligned identifier passed */
	/* TEMPERROR from an aligned identifier (not the policy lookup):
	 * policy is what a failure would get; the caller may defer. */
	bool temp;
};

/* Decides from the record found (rec NULL: none was published) for the
 * From: domain from, whose policy was published at org (sp= applies when
 * from is not org), the DKIM identifiers dkim[0..n_dkim) and SPF's.
 * roll: a number in [0, 100) drawn per message for pct=. */
void dmarc_decide(const struct dmarc_record *rec, const char *from,
		  const char *policy_domain, const struct dmarc_auth *dkim,
		  size_t n_dkim, const struct dmarc_auth *spf, unsigned roll,
		  struct dmarc_verdict *v);

/* ---- The policy lookup (§6.6.3) over the in-loop resolver ---------- */

struct dmarc_policy_answer {
	enum dmarc_result result;  /* NONE, TEMPERROR, PERMERROR, or PASS
				    * meaning "a record was found" */
	struct dmarc_record rec;
	char domain[DMARC_DOMAIN_MAX + 1]; /* where it was found */
	const char *why;           /* static text for logs, or NULL */
};
typedef void (*dmarc_lookup_cb)(void *arg, const struct dmarc_policy_answer *a);
struct dmarc_lookup;
/* Looks for the policy of from_domain: _dmarc.FROM, then, when FROM is
 * not its organisational domain and nothing usable is there,
 * _dmarc.ORG. cb runs later from the loop, exactly once unless
 * cancelled. NULL when it cannot start (out of memory): cb not called.
 * Loop thread only. */
struct dmarc_lookup *dmarc_lookup_start(struct dns *d, const char *from_domain,
					dmarc_lookup_cb cb, void *arg);
/* cb will not run; *lp becomes NULL. NULL: nothing. */
void dmarc_lookup_cancel(struct dmarc_lookup **lp);

#endif
