/*
 * The tag lists of DKIM (RFC 6376 §3.2): DKIM-Signature values (§3.5)
 * and key records (§3.6.1). Pure: bytes in, structs out; fuzzed by
 * tests/fuzz/fuzz_dkim_tags.c.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../util/base64.h"
#include "dkim.h"
#include "dkim_int.h"

static bool
dkim_is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
dkim_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
dkim_is_alnumpunc(char c)
{
	return dkim_is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* One tag-spec in p[start, end): [FWS] name [FWS] "=" [FWS] value [FWS].
 * 1 a tag, 0 empty (allowed after the last ';'), -1 syntax. */
static int
dkim_tag_one(const char *p, size_t start, size_t end, struct dkim_tag *t)
{
	size_t i = start, v;

	while (i < end && dkim_is_fws(p[i]))
		i++;
	if (i == end)
		return 0;
	if (!dkim_is_alpha(p[i]))
		return -1;
	t->name = p + i;
	while (i < end && dkim_is_alnumpunc(p[i]))
		i++;
	t->name_len = (size_t)(p + i - t->name);
	while (i < end && dkim_is_fws(p[i]))
		i++;
	if (i == end || p[i] != '=')
		return -1;
	t->value_off = ++i;
	t->value_end = end;
	while (i < end && dkim_is_fws(p[i]))
		i++;
	v = end;
	while (v > i && dkim_is_fws(p[v - 1]))
		v--;
	t->value = p + i;
	t->value_len = v - i;
	/* tval: VCHAR except ';' (and FWS between) */
	for (size_t k = i; k < v; k++) {
		unsigned char c = (unsigned char)p[k];
		if (!dkim_is_fws((char)c) && (c < 0x21 || c > 0x7e))
			return -1;
	}
	return 1;
}

int
dkim_tags_parse(const char *p, size_t n, struct dkim_tag *tags, size_t max,
		size_t *n_r, const char **why_r)
{
	size_t start = 0, count = 0;

	*n_r = 0;
	while (start <= n) {
		const char *semi = start < n ? memchr(p + start, ';', n - start)
					     : NULL;
		size_t end = semi != NULL ? (size_t)(semi - p) : n;
		struct dkim_tag t;
		int rc = dkim_tag_one(p, start, end, &t);

		if (rc < 0) {
			*why_r = "tag list syntax error";
			return -1;
		}
		if (rc == 0 && semi != NULL) {
			*why_r = "empty tag in the list";
			return -1;
		}
		if (rc == 1) {
			for (size_t k = 0; k < count; k++)
				if (tags[k].name_len == t.name_len &&
				    memcmp(tags[k].name, t.name,
					   t.name_len) == 0) {
					*why_r = "a tag appears twice";
					return -1;
				}
			if (count == max) {
				*why_r = "too many tags";
				return -1;
			}
			tags[count++] = t;
		}
		if (semi == NULL)
			break;
		start = end + 1;
	}
	*n_r = count;
	return 0;
}

static bool
dkim_tag_is(const struct dkim_tag *t, const char *name)
{
	return t->name_len == strlen(name) &&
	       memcmp(t->name, name, t->name_len) == 0;
}

bool
dkim_val_is(const struct dkim_tag *t, const char *s)
{
	return t->value_len == strlen(s) &&
	       strncasecmp(t->value, s, t->value_len) == 0;
}

/* Base64 with FWS anywhere (RFC 6376 §2.4). 0 or -1. */
static int
dkim_b64(const struct dkim_tag *t, uint8_t *out, size_t cap, size_t *len_r)
{
	char tmp[2048];
	size_t n = 0;

	for (size_t i = 0; i < t->value_len; i++) {
		if (dkim_is_fws(t->value[i]))
			continue;
		if (n == sizeof(tmp))
			return -1;
		tmp[n++] = t->value[i];
	}
	if (n == 0) {
		*len_r = 0;
		return 0;
	}
	return base64_decode(tmp, n, out, cap, len_r);
}

/* Copies a tag value without FWS, lower-cased when lower. 0 or -1 (too
 * long). */
static int
dkim_val_copy(const struct dkim_tag *t, char *out, size_t cap, bool lower)
{
	size_t n = 0;

	for (size_t i = 0; i < t->value_len; i++) {
		char c = t->value[i];
		if (dkim_is_fws(c))
			continue;
		if (n + 1 >= cap)
			return -1;
		out[n++] = lower && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	out[n] = '\0';
	return 0;
}

static int
dkim_num(const struct dkim_tag *t, uint64_t *out)
{
	uint64_t v = 0;

	if (t->value_len == 0 || t->value_len > 16)
		return -1;
	for (size_t i = 0; i < t->value_len; i++) {
		if (t->value[i] < '0' || t->value[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(t->value[i] - '0');
	}
	*out = v;
	return 0;
}

/* h=: colon-separated field names. */
static int
dkim_sig_h(const struct dkim_tag *t, struct dkim_sig *sig)
{
	char list[DKIM_H_MAX * 64];
	char *save = NULL, *name;
	bool from = false;

	if (dkim_val_copy(t, list, sizeof(list), true) < 0)
		return -1;
	sig->n_h = 0;
	for (name = strtok_r(list, ":", &save); name != NULL;
	     name = strtok_r(NULL, ":", &save)) {
		size_t len = strlen(name);
		if (len == 0 || len >= sizeof(sig->h[0]) ||
		    sig->n_h == DKIM_H_MAX)
			return -1;
		memcpy(sig->h[sig->n_h++], name, len + 1);
		from |= strcmp(name, "from") == 0;
	}
	return from ? 0 : -1;
}

static int
dkim_sig_canon(const struct dkim_tag *t, struct dkim_sig *sig)
{
	char c[32], *slash;

	if (dkim_val_copy(t, c, sizeof(c), true) < 0)
		return -1;
	slash = strchr(c, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (strcmp(c, "simple") == 0)
		sig->hcanon = DKIM_CANON_SIMPLE;
	else if (strcmp(c, "relaxed") == 0)
		sig->hcanon = DKIM_CANON_RELAXED;
	else
		return -1;
	if (slash == NULL || strcmp(slash, "simple") == 0)
		sig->bcanon = DKIM_CANON_SIMPLE;
	else if (strcmp(slash, "relaxed") == 0)
		sig->bcanon = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* ARC's tags (RFC 8617 §4.1.2, §4.1.3): i= is the instance number
 * (1..50), cv= the chain validation status of an ARC-Seal. 1 handled
 * (0 or -1 in *rc_r), 0 not an ARC tag. */
static int
dkim_arc_tag(const struct dkim_tag *t, enum dkim_sig_kind kind,
	     struct dkim_sig *sig, unsigned *seen, const char **why_r)
{
	uint64_t num;

	if (dkim_tag_is(t, "i")) {
		*seen |= 128;
		if (dkim_num(t, &num) < 0 || num < 1 || num > DKIM_ARC_MAX)
			return *why_r = "bad instance (i=)", -1;
		sig->instance = (unsigned)num;
		return 0;
	}
	if (kind == DKIM_SIG_AS && dkim_tag_is(t, "cv")) {
		*seen |= 256;
		if (dkim_val_is(t, "none"))
			sig->cv = DKIM_CV_NONE;
		else if (dkim_val_is(t, "pass"))
			sig->cv = DKIM_CV_PASS;
		else if (dkim_val_is(t, "fail"))
			sig->cv = DKIM_CV_FAIL;
		else
			return *why_r = "bad chain status (cv=)", -1;
		return 0;
	}
	/* §4.1.3: an ARC-Seal signs the ARC sets, never other fields. */
	if (kind == DKIM_SIG_AS && dkim_tag_is(t, "h"))
		return *why_r = "h= in an ARC-Seal", -1;
	return 1;
}

/* One tag of a signature: 0 ok (or ignored), -1 with *why_r. */
static int
dkim_sig_tag(const struct dkim_tag *t, enum dkim_sig_kind kind,
	     struct dkim_sig *sig, unsigned *seen, const char **why_r)
{
	uint64_t num;
	int rc;

	if (kind != DKIM_SIG_DKIM &&
	    (rc = dkim_arc_tag(t, kind, sig, seen, why_r)) <= 0)
		return rc;
	if (dkim_tag_is(t, "v")) {
		*seen |= 1;
		if (!dkim_val_is(t, "1"))
			return *why_r = "unsupported version (v=)", -1;
	} else if (dkim_tag_is(t, "a")) {
		*seen |= 2;
		if (dkim_val_is(t, "rsa-sha256"))
			sig->alg = DKIM_ALG_RSA_SHA256;
		else if (dkim_val_is(t, "ed25519-sha256"))
			sig->alg = DKIM_ALG_ED25519_SHA256;
		else if (dkim_val_is(t, "rsa-sha1"))
			sig->alg = DKIM_ALG_RSA_SHA1;
		else
			return *why_r = "unknown algorithm (a=)", -1;
	} else if (dkim_tag_is(t, "b")) {
		*seen |= 4;
		sig->b_off = t->value_off;
		sig->b_end = t->value_end;
		if (dkim_b64(t, sig->b, sizeof(sig->b), &sig->b_len) < 0 ||
		    sig->b_len == 0)
			return *why_r = "bad signature data (b=)", -1;
		(void)dkim_val_copy(t, sig->b_text, sizeof(sig->b_text), false);
	} else if (dkim_tag_is(t, "bh")) {
		*seen |= 8;
		if (dkim_b64(t, sig->bh, sizeof(sig->bh), &sig->bh_len) < 0 ||
		    sig->bh_len == 0)
			return *why_r = "bad body hash (bh=)", -1;
	} else if (dkim_tag_is(t, "d")) {
		*seen |= 16;
		if (dkim_val_copy(t, sig->d, sizeof(sig->d), true) < 0 ||
		    sig->d[0] == '\0')
			return *why_r = "bad domain (d=)", -1;
	} else if (dkim_tag_is(t, "s")) {
		*seen |= 32;
		if (dkim_val_copy(t, sig->s, sizeof(sig->s), true) < 0 ||
		    sig->s[0] == '\0')
			return *why_r = "bad selector (s=)", -1;
	} else if (dkim_tag_is(t, "h")) {
		*seen |= 64;
		if (dkim_sig_h(t, sig) < 0)
			return *why_r = "bad h= (From must be signed)", -1;
	} else if (dkim_tag_is(t, "c")) {
		if (dkim_sig_canon(t, sig) < 0)
			return *why_r = "unknown canonicalization (c=)", -1;
	} else if (dkim_tag_is(t, "i")) {
		if (dkim_val_copy(t, sig->i, sizeof(sig->i), false) < 0)
			return *why_r = "bad identity (i=)", -1;
	} else if (dkim_tag_is(t, "l")) {
		if (dkim_num(t, &num) < 0)
			return *why_r = "bad body length (l=)", -1;
		sig->has_l = true;
		sig->l = num;
	} else if (dkim_tag_is(t, "t")) {
		if (dkim_num(t, &num) < 0)
			return *why_r = "bad timestamp (t=)", -1;
		sig->has_t = true;
		sig->t = (int64_t)num;
	} else if (dkim_tag_is(t, "x")) {
		if (dkim_num(t, &num) < 0)
			return *why_r = "bad expiry (x=)", -1;
		sig->has_x = true;
		sig->x = (int64_t)num;
	} else if (dkim_tag_is(t, "q")) {
		if (t->value_len < 7 || strncasecmp(t->value, "dns/txt", 7))
			return *why_r = "unknown query method (q=)", -1;
	}
	return 0;
}

/* i= must be d= or a subdomain of it (RFC 6376 §3.5). */
static bool
dkim_auid_ok(const char *i, const char *d)
{
	const char *at = strrchr(i, '@');
	size_t il, dl = strlen(d);

	if (at == NULL)
		return false;
	at++;
	il = strlen(at);
	if (il == dl)
		return strcasecmp(at, d) == 0;
	return il > dl && at[il - dl - 1] == '.' &&
	       strcasecmp(at + il - dl, d) == 0;
}

/* The tags each kind requires (bits of dkim_sig_tag's seen): DKIM v, a,
 * b, bh, d, h, s; an ARC-Message-Signature the same with i= and no v=;
 * an ARC-Seal a, b, d, s, i, cv (RFC 8617 §4.1.2, §4.1.3). */
static const unsigned dkim_required[] = {
	[DKIM_SIG_DKIM] = 127, [DKIM_SIG_AMS] = 126 | 128,
	[DKIM_SIG_AS] = 2 | 4 | 16 | 32 | 128 | 256,
};
static const char *const dkim_required_why[] = {
	[DKIM_SIG_DKIM] = "a required tag is missing (v, a, b, bh, d, h, s)",
	[DKIM_SIG_AMS] = "a required tag is missing (i, a, b, bh, d, h, s)",
	[DKIM_SIG_AS] = "a required tag is missing (i, a, b, d, s, cv)",
};

int
dkim_sig_parse(const char *p, size_t n, struct dkim_sig *sig,
	       const char **why_r)
{
	return dkim_sig_parse_kind(p, n, DKIM_SIG_DKIM, sig, why_r);
}

int
dkim_sig_parse_kind(const char *p, size_t n, enum dkim_sig_kind kind,
		    struct dkim_sig *sig, const char **why_r)
{
	struct dkim_tag tags[DKIM_TAGS_MAX];
	size_t nt;
	unsigned seen = 0;

	memset(sig, 0, sizeof(*sig));
	if (dkim_tags_parse(p, n, tags, DKIM_TAGS_MAX, &nt, why_r) < 0)
		return -1;
	for (size_t k = 0; k < nt; k++)
		if (dkim_sig_tag(&tags[k], kind, sig, &seen, why_r) < 0)
			return -1;
	if ((seen & dkim_required[kind]) != dkim_required[kind]) {
		*why_r = dkim_required_why[kind];
		return -1;
	}
	if (kind != DKIM_SIG_DKIM)
		snprintf(sig->i, sizeof(sig->i), "@%s", sig->d);
	else if (sig->i[0] == '\0')
		snprintf(sig->i, sizeof(sig->i), "@%s", sig->d);
	else if (!dkim_auid_ok(sig->i, sig->d)) {
		*why_r = "i= is not within d=";
		return -1;
	}
	if (sig->has_t && sig->has_x && sig->x < sig->t) {
		*why_r = "x= is before t=";
		return -1;
	}
	return 0;
}

/* ---- key records -------------------------------------------------- */

/* h= of a key: colon list of hash names; sha256 must be among them. */
static bool
dkim_key_h(const struct dkim_tag *t)
{
	char list[256], *save = NULL, *w;

	if (dkim_val_copy(t, list, sizeof(list), true) < 0)
		return false;
	for (w = strtok_r(list, ":", &save); w != NULL;
	     w = strtok_r(NULL, ":", &save))
		if (strcmp(w, "sha256") == 0)
			return true;
	return false;
}

static bool
dkim_list_has(const struct dkim_tag *t, const char *word)
{
	char list[256], *save = NULL, *w;

	if (dkim_val_copy(t, list, sizeof(list), true) < 0)
		return false;
	for (w = strtok_r(list, ":", &save); w != NULL;
	     w = strtok_r(NULL, ":", &save))
		if (strcmp(w, word) == 0)
			return true;
	return false;
}

int
dkim_keyrec_parse(const char *p, size_t n, struct dkim_keyrec *k,
		  const char **why_r)
{
	struct dkim_tag tags[DKIM_TAGS_MAX];
	size_t nt;
	bool has_p = false;

	memset(k, 0, sizeof(*k));
	k->h_sha256 = true;
	if (dkim_tags_parse(p, n, tags, DKIM_TAGS_MAX, &nt, why_r) < 0)
		return -1;
	for (size_t i = 0; i < nt; i++) {
		const struct dkim_tag *t = &tags[i];

		if (dkim_tag_is(t, "v")) {
			if (i != 0 || !dkim_val_is(t, "DKIM1"))
				return *why_r = "bad key record version", -1;
		} else if (dkim_tag_is(t, "k")) {
			if (dkim_val_is(t, "rsa"))
				k->k = DKIM_KEY_RSA;
			else if (dkim_val_is(t, "ed25519"))
				k->k = DKIM_KEY_ED25519;
			else
				return *why_r = "unknown key type (k=)", -1;
		} else if (dkim_tag_is(t, "p")) {
			has_p = true;
			if (dkim_b64(t, k->p, sizeof(k->p), &k->p_len) < 0)
				return *why_r = "bad public key (p=)", -1;
			k->revoked = k->p_len == 0;
		} else if (dkim_tag_is(t, "h")) {
			k->h_sha256 = dkim_key_h(t);
		} else if (dkim_tag_is(t, "s")) {
			if (!dkim_list_has(t, "*") &&
			    !dkim_list_has(t, "email"))
				return *why_r = "key not for email (s=)", -1;
		} else if (dkim_tag_is(t, "t")) {
			k->t_testing = dkim_list_has(t, "y");
			k->t_strict = dkim_list_has(t, "s");
		}
	}
	if (!has_p) {
		*why_r = "key record without p=";
		return -1;
	}
	return 0;
}
