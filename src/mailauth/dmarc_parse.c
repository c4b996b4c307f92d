/*
 * The DMARC policy record (RFC 7489 §6.3, §6.4): a DKIM-style tag list
 * (RFC 6376 §3.2, the same parser as DKIM's) whose first tag is
 * v=DMARC1. Pure: text in, struct out.
 */
#include <string.h>
#include <strings.h>

#include "dkim_int.h"
#include "dmarc.h"

#define DMARC_TAGS_MAX 24

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? "reject"
	       : p == DMARC_POLICY_QUARANTINE ? "quarantine" : "none";
}

/* RFC 7489 §6.4: tag names are ABNF strings, so without case (DKIM's
 * are case-sensitive, RFC 6376 §3.2). */
static bool
tag_is(const struct dkim_tag *t, const char *name)
{
	return t->name_len == strlen(name) &&
	       strncasecmp(t->name, name, t->name_len) == 0;
}

/* p= / sp=: 0, or -1 when the value is not one of the three. */
static int
policy_value(const struct dkim_tag *t, enum dmarc_policy *p)
{
	if (dkim_val_is(t, "none"))
		*p = DMARC_POLICY_NONE;
	else if (dkim_val_is(t, "quarantine"))
		*p = DMARC_POLICY_QUARANTINE;
	else if (dkim_val_is(t, "reject"))
		*p = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

/* pct=: 0..100 digits only; anything else keeps the default (§6.3:
 * "syntax errors in the remainder of the record SHOULD be discarded"). */
static void
pct_value(const struct dkim_tag *t, unsigned *pct)
{
	unsigned v = 0;

	if (t->value_len == 0 || t->value_len > 3)
		return;
	for (size_t i = 0; i < t->value_len; i++) {
		if (t->value[i] < '0' || t->value[i] > '9')
			return;
		v = v * 10 + (unsigned)(t->value[i] - '0');
	}
	if (v <= 100)
		*pct = v;
}

/* §6.3 rua: a comma-separated list of URIs; "syntactically valid" is
 * read loosely as "one holds a scheme", which is all §6.6.3 asks of it. */
static bool
rua_usable(const struct dkim_tag *t)
{
	return t->value_len > 0 && memchr(t->value, ':', t->value_len) != NULL;
}

int
dmarc_record_parse(const char *p, size_t n, struct dmarc_record *r,
		   const char **why_r)
{
	struct dkim_tag tags[DMARC_TAGS_MAX];
	size_t nt = 0;
	bool has_p = false, p_bad = false, sp_set = false;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	*why_r = NULL;
	/* §6.6.3: only records that start with "v=DMARC1" count; the
	 * version is compared exactly (§6.3 ABNF %x44.4d.41.52.43.31). */
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n < 2 || p[0] != 'v')
		return 0;
	if (dkim_tags_parse(p, n, tags, DMARC_TAGS_MAX, &nt, why_r) < 0 ||
	    nt == 0) {
		/* v=DMARC1 with a broken rest is a broken DMARC record;
		 * anything else is another TXT record. */
		if (n >= 8 && memcmp(p, "v=DMARC1", 8) == 0) {
			*why_r = "bad tag list";
			return -1;
		}
		return 0;
	}
	if (!tag_is(&tags[0], "v") || tags[0].value_len != 6 ||
	    memcmp(tags[0].value, "DMARC1", 6) != 0)
		return 0;
	for (size_t i = 1; i < nt; i++) {
		const struct dkim_tag *t = &tags[i];

		if (tag_is(t, "p")) {
			has_p = true;
			p_bad = policy_value(t, &r->p) < 0;
		} else if (tag_is(t, "sp")) {
			/* An invalid sp= counts as a bad p= (§6.6.3 step 6). */
			sp_set = policy_value(t, &r->sp) == 0;
			p_bad |= !sp_set;
		} else if (tag_is(t, "adkim")) {
			r->adkim_strict = dkim_val_is(t, "s");
		} else if (tag_is(t, "aspf")) {
			r->aspf_strict = dkim_val_is(t, "s");
		} else if (tag_is(t, "pct")) {
			pct_value(t, &r->pct);
		} else if (tag_is(t, "rua")) {
			r->has_rua = rua_usable(t);
		}
		/* ruf, fo, rf, ri and unknown tags: no effect here. */
	}
	if (!has_p || p_bad) {
		/* §6.6.3 step 6: with a usable rua= it is read as p=none. */
		if (!r->has_rua) {
			*why_r = has_p ? "invalid p= or sp=" : "no p= tag";
			return -1;
		}
		r->p = DMARC_POLICY_NONE;
		sp_set = false;
	}
	if (!sp_set)
		r->sp = r->p;
	return 1;
}
