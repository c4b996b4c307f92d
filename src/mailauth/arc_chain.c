/*
 * The ARC chain in a header section (RFC 8617 §4.2, §5.2 steps 1-2):
 * which fields form which set. Pure: bytes in, indexes out; fuzzed by
 * tests/fuzz/fuzz_arc.c.
 */
#include <string.h>

#include "arc.h"
#include "dkim_int.h"

static bool
arc_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

unsigned
arc_aar_instance(const char *p, size_t n)
{
	size_t i = 0;
	unsigned v = 0;
	bool digit = false;

	/* RFC 8617 §4.1.1: arc-info = instance ";" authres-payload, and
	 * instance = [CFWS] "i" [CFWS] "=" [CFWS] 1*3DIGIT. Comments are
	 * not expected before it; FWS is skipped. */
	while (i < n && arc_fws(p[i]))
		i++;
	if (i == n || p[i] != 'i')
		return 0;
	for (i++; i < n && arc_fws(p[i]); i++)
		;
	if (i == n || p[i] != '=')
		return 0;
	for (i++; i < n && arc_fws(p[i]); i++)
		;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		v = v * 10 + (unsigned)(p[i] - '0');
		digit = true;
		if (v > DKIM_ARC_MAX)
			return 0;
	}
	while (i < n && arc_fws(p[i]))
		i++;
	if (!digit || v == 0 || i == n || p[i] != ';')
		return 0;
	return v;
}

/* The instance of an ARC-Seal or ARC-Message-Signature: its i= tag.
 * 0 when unreadable (the full parse says why later). */
static unsigned
arc_sig_instance(const char *p, size_t n)
{
	struct dkim_tag tags[DKIM_TAGS_MAX];
	const char *why;
	size_t nt;

	if (dkim_tags_parse(p, n, tags, DKIM_TAGS_MAX, &nt, &why) < 0)
		return 0;
	for (size_t k = 0; k < nt; k++) {
		const struct dkim_tag *t = &tags[k];
		unsigned v = 0;

		if (t->name_len != 1 || t->name[0] != 'i')
			continue;
		if (t->value_len == 0 || t->value_len > 2)
			return 0;
		for (size_t c = 0; c < t->value_len; c++) {
			if (t->value[c] < '0' || t->value[c] > '9')
				return 0;
			v = v * 10 + (unsigned)(t->value[c] - '0');
		}
		return v >= 1 && v <= DKIM_ARC_MAX ? v : 0;
	}
	return 0;
}

int
arc_chain_find(const struct dkim_field *f, size_t nf, struct arc_set *sets,
	       unsigned *n_r, const char **why_r)
{
	static const char *const names[3] = { "arc-authentication-results",
		"arc-message-signature", "arc-seal" };
	unsigned max = 0;
	bool any = false;

	*n_r = 0;
	memset(sets, 0, (DKIM_ARC_MAX + 1) * sizeof(*sets));
	for (size_t i = 0; i < nf; i++) {
		const char *colon = memchr(f[i].raw, ':', f[i].len);
		const char *val = colon != NULL ? colon + 1 : f[i].raw;
		size_t vlen = f[i].len - (size_t)(val - f[i].raw);
		const struct dkim_field **slot;
		unsigned inst;
		int k;

		for (k = 0; k < 3 && !dkim_field_is(&f[i], names[k]); k++)
			;
		if (k == 3)
			continue;
		any = true;
		inst = k == 0 ? arc_aar_instance(val, vlen)
			      : arc_sig_instance(val, vlen);
		if (inst == 0)
			return *why_r = "unreadable instance (i=)", -1;
		slot = k == 0 ? &sets[inst].aar : k == 1 ? &sets[inst].ams
							 : &sets[inst].as;
		/* §4.2.1: exactly one field of each kind per instance. */
		if (*slot != NULL)
			return *why_r = "an ARC field twice in one instance", -1;
		*slot = &f[i];
		if (inst > max)
			max = inst;
	}
	if (!any)
		return 0;
	for (unsigned i = 1; i <= max; i++)
		if (sets[i].aar == NULL || sets[i].ams == NULL ||
		    sets[i].as == NULL)
			return *why_r = "an ARC set is incomplete or missing",
			       -1;
	*n_r = max;
	return 1;
}
