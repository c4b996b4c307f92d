/*
 * ARC chain validation (RFC 8617 §5.2):
 *   1. no ARC field: none;
 *   2. the chain's structure (arc_chain_find), then the latest seal's
 *      cv= (fail: the chain failed before us), and each seal's cv= as
 *      its place demands (§4.1.3: none for i=1, pass above);
 *   3. the latest ARC-Message-Signature verifies (as a DKIM signature:
 *      body hash, header hash, key);
 *   4. every ARC-Seal from N down to 1 verifies over the sets it covers
 *      (§5.1.1: the sets 1..i in order, AAR, AMS, AS each, relaxed, the
 *      seal itself without its b= value and without its final CRLF).
 * Any failure makes the chain fail. A key that cannot be fetched now
 * fails it too (ARC has no temperror result); the why says so.
 *
 * oldest-pass (§5.2 step 6): older AMS are checked as well when they
 * hash the body the way the latest does (one body hash, never one per
 * instance: fifty instances must not mean fifty passes over a large
 * body); others count as not passing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../util/buf.h"
#include "arc.h"
#include "dkim_int.h"

#define ARC_KEYS_MAX (DKIM_ARC_MAX + 1)
#define ARC_DATA_MAX (1 << 20)

struct arc_key {
	char name[DKIM_SELECTOR_MAX + DKIM_DOMAIN_MAX + 16];
	bool answered, ok, tempfail;
	char *txt;
	size_t txt_len;
};

struct arc_verify {
	time_t now;
	struct dkim_field *f;
	size_t nf;
	unsigned n;
	struct arc_set sets[DKIM_ARC_MAX + 1];
	struct dkim_sig *ams, *as;          /* [1..n] */
	bool ams_same_body[DKIM_ARC_MAX + 1]; /* hashed like ams[n] */
	struct dkim_body *body;
	uint8_t bh[64];
	int bh_len;                         /* -1: not computed */
	uint64_t body_total;
	struct arc_key keys[ARC_KEYS_MAX];
	size_t n_keys;
	bool decided;
	struct arc_result r;
};

const char *
arc_status_name(enum arc_status st)
{
	return st == ARC_PASS ? "pass" : st == ARC_FAIL ? "fail" : "none";
}

static void
arc_decide(struct arc_verify *v, enum arc_status st, const char *why)
{
	if (v->decided)
		return;
	v->decided = true;
	v->r.status = st;
	snprintf(v->r.why, sizeof(v->r.why), "%s", why);
}

/* The value of field f (after its colon) and its length, without the
 * final line end. */
static const char *
arc_value(const struct dkim_field *f, size_t *len_r, size_t *raw_len_r)
{
	size_t l = f->len;
	const char *colon = memchr(f->raw, ':', f->len);

	if (l > 0 && f->raw[l - 1] == '\n')
		l--;
	if (l > 0 && f->raw[l - 1] == '\r')
		l--;
	*raw_len_r = l;
	*len_r = l - (size_t)(colon + 1 - f->raw);
	return colon + 1;
}

/* The key name of sig, added to the keys once. */
static void
arc_want_key(struct arc_verify *v, const struct dkim_sig *sig)
{
	char name[sizeof(v->keys[0].name)];

	snprintf(name, sizeof(name), "%s._domainkey.%s", sig->s, sig->d);
	for (size_t k = 0; k < v->n_keys; k++)
		if (strcmp(v->keys[k].name, name) == 0)
			return;
	if (v->n_keys < ARC_KEYS_MAX)
		memcpy(v->keys[v->n_keys++].name, name, sizeof(name));
}

/* Parses the signatures of every set; structure and cv= rules. */
static void
arc_parse_sets(struct arc_verify *v)
{
	for (unsigned i = 1; i <= v->n; i++) {
		const char *why = NULL, *val;
		size_t vl, rl;

		val = arc_value(v->sets[i].ams, &vl, &rl);
		if (dkim_sig_parse_kind(val, vl, DKIM_SIG_AMS, &v->ams[i],
					&why) < 0) {
			arc_decide(v, ARC_FAIL, why);
			return;
		}
		val = arc_value(v->sets[i].as, &vl, &rl);
		if (dkim_sig_parse_kind(val, vl, DKIM_SIG_AS, &v->as[i],
					&why) < 0) {
			arc_decide(v, ARC_FAIL, why);
			return;
		}
		if (v->as[i].alg == DKIM_ALG_RSA_SHA1 ||
		    v->ams[i].alg == DKIM_ALG_RSA_SHA1) {
			arc_decide(v, ARC_FAIL, "rsa-sha1 is not accepted");
			return;
		}
		/* §5.2 step 2, §4.1.3. */
		if (v->as[i].cv == DKIM_CV_FAIL) {
			arc_decide(v, ARC_FAIL, "a seal says the chain failed "
				   "(cv=fail)");
			return;
		}
		if ((i == 1) != (v->as[i].cv == DKIM_CV_NONE)) {
			arc_decide(v, ARC_FAIL, "a seal's cv= does not fit its "
				   "instance");
			return;
		}
	}
}

struct arc_verify *
arc_verify_new(const char *hdr, size_t len, time_t now)
{
	struct arc_verify *v = calloc(1, sizeof(*v));
	const char *why = NULL;
	size_t body_off;
	int rc;

	if (v == NULL)
		return NULL;
	v->now = now;
	v->bh_len = -1;
	v->f = calloc(DKIM_HEADER_FIELDS_MAX, sizeof(*v->f));
	if (v->f == NULL)
		goto oom;
	if (dkim_header_split(hdr, len, v->f, DKIM_HEADER_FIELDS_MAX, &v->nf,
			      &body_off) < 0) {
		/* A header we cannot split: a chain in it cannot be
		 * checked; none when it names no ARC field. */
		if (memmem(hdr, len, "ARC-Seal", 8) != NULL)
			arc_decide(v, ARC_FAIL, "header cannot be parsed");
		else
			arc_decide(v, ARC_NONE, "no ARC chain");
		return v;
	}
	rc = arc_chain_find(v->f, v->nf, v->sets, &v->n, &why);
	if (rc == 0) {
		arc_decide(v, ARC_NONE, "no ARC chain");
		return v;
	}
	if (rc < 0) {
		arc_decide(v, ARC_FAIL, why);
		return v;
	}
	v->r.instances = v->n;
	v->ams = calloc(v->n + 1, sizeof(*v->ams));
	v->as = calloc(v->n + 1, sizeof(*v->as));
	if (v->ams == NULL || v->as == NULL)
		goto oom;
	arc_parse_sets(v);
	if (v->decided)
		return v;
	snprintf(v->r.domain, sizeof(v->r.domain), "%s", v->as[v->n].d);
	v->body = dkim_body_new(v->ams[v->n].bcanon, "sha256",
				v->ams[v->n].has_l ? v->ams[v->n].l
						   : UINT64_MAX);
	if (v->body == NULL)
		goto oom;
	for (unsigned i = 1; i <= v->n; i++) {
		const struct dkim_sig *a = &v->ams[i], *l = &v->ams[v->n];

		v->ams_same_body[i] = a->bcanon == l->bcanon &&
				      a->has_l == l->has_l && a->l == l->l;
		if (v->ams_same_body[i])
			arc_want_key(v, a);
		arc_want_key(v, &v->as[i]);
	}
	return v;
oom:
	arc_verify_free(&v);
	return NULL;
}

void
arc_verify_free(struct arc_verify **vp)
{
	struct arc_verify *v = *vp;

	if (v == NULL)
		return;
	for (size_t k = 0; k < v->n_keys; k++)
		free(v->keys[k].txt);
	dkim_body_free(&v->body);
	free(v->ams);
	free(v->as);
	free(v->f);
	free(v);
	*vp = NULL;
}

bool
arc_verify_wants_body(const struct arc_verify *v)
{
	return !v->decided && v->body != NULL;
}

void
arc_verify_body(struct arc_verify *v, const void *p, size_t n)
{
	if (arc_verify_wants_body(v))
		dkim_body_update(v->body, p, n);
}

void
arc_verify_body_end(struct arc_verify *v)
{
	if (v->body == NULL)
		return;
	v->bh_len = dkim_body_final(v->body, v->bh, &v->body_total);
	dkim_body_free(&v->body);
}

size_t
arc_verify_key_count(const struct arc_verify *v)
{
	return v->decided ? 0 : v->n_keys;
}

const char *
arc_verify_keyname(const struct arc_verify *v, size_t k)
{
	return k < v->n_keys ? v->keys[k].name : NULL;
}

void
arc_verify_key(struct arc_verify *v, size_t k, bool dns_ok, bool tempfail,
	       const char *txt, size_t txt_len)
{
	struct arc_key *key = &v->keys[k];

	if (k >= v->n_keys || key->answered)
		return;
	key->answered = true;
	key->tempfail = tempfail;
	if (!dns_ok)
		return;
	key->txt = malloc(txt_len + 1);
	if (key->txt == NULL) {
		key->tempfail = true;
		return;
	}
	memcpy(key->txt, txt, txt_len);
	key->txt[txt_len] = '\0';
	key->txt_len = txt_len;
	key->ok = true;
}

/* The public key for sig, or NULL with why. */
static EVP_PKEY *
arc_key_of(struct arc_verify *v, const struct dkim_sig *sig, char *why,
	   size_t cap)
{
	char name[sizeof(v->keys[0].name)];

	snprintf(name, sizeof(name), "%s._domainkey.%s", sig->s, sig->d);
	for (size_t k = 0; k < v->n_keys; k++) {
		const struct arc_key *key = &v->keys[k];

		if (strcmp(key->name, name) != 0)
			continue;
		if (!key->ok) {
			snprintf(why, cap, "%s", key->tempfail
				 ? "key lookup failed, try later"
				 : "no key record published");
			return NULL;
		}
		return dkim_key_load(key->txt, key->txt_len, sig, why, cap);
	}
	snprintf(why, cap, "no key fetched");
	return NULL;
}

/* The field f without its b= value (sig's offsets within the value)
 * and without its final line end, appended to out. */
static int
arc_strip_b(const struct dkim_field *f, const struct dkim_sig *sig,
	    struct buf *out)
{
	size_t vl, rl;
	const char *val = arc_value(f, &vl, &rl);
	size_t off = (size_t)(val - f->raw);

	return buf_append(out, f->raw, off + sig->b_off) |
	       buf_append(out, f->raw + off + sig->b_end, rl - off -
			  sig->b_end);
}

/* 1 the signature of instance i's AMS verifies, 0 it does not (why). */
static int
arc_check_ams(struct arc_verify *v, unsigned i, char *why, size_t cap)
{
	const struct dkim_sig *s = &v->ams[i];
	struct buf raw, data;
	EVP_PKEY *key;
	int ok = 0;

	if (v->bh_len < 0 || !v->ams_same_body[i] ||
	    (s->has_l && s->l > v->body_total) ||
	    (size_t)v->bh_len != s->bh_len ||
	    memcmp(v->bh, s->bh, s->bh_len) != 0) {
		snprintf(why, cap, "ARC-Message-Signature i=%u: body hash "
			 "mismatch (the body was changed)", i);
		return 0;
	}
	if ((key = arc_key_of(v, s, why, cap)) == NULL)
		return 0;
	buf_init(&raw, v->sets[i].ams->len + 1);
	buf_init(&data, ARC_DATA_MAX);
	if (arc_strip_b(v->sets[i].ams, s, &raw) == 0 &&
	    dkim_header_data(v->f, v->nf, (char (*)[64])s->h, s->n_h,
			     s->hcanon, (const char *)raw.data, raw.len,
			     &data) == 0)
		ok = dkim_crypto_verify(s->alg, key, data.data, data.len,
					s->b, s->b_len) == 1;
	if (!ok)
		snprintf(why, cap, "ARC-Message-Signature i=%u did not "
			 "verify", i);
	buf_fini(&raw);
	buf_fini(&data);
	EVP_PKEY_free(key);
	return ok;
}

/* 1 the seal of instance i verifies over sets 1..i, 0 it does not. */
static int
arc_check_as(struct arc_verify *v, unsigned i, char *why, size_t cap)
{
	const struct dkim_sig *s = &v->as[i];
	struct buf raw, data;
	EVP_PKEY *key;
	int rc = 0, ok = 0;

	if ((key = arc_key_of(v, s, why, cap)) == NULL)
		return 0;
	buf_init(&raw, v->sets[i].as->len + 1);
	buf_init(&data, ARC_DATA_MAX);
	for (unsigned k = 1; k <= i && rc == 0; k++) {
		const struct arc_set *set = &v->sets[k];

		rc |= dkim_canon_header(DKIM_CANON_RELAXED, set->aar->raw,
					set->aar->len, true, &data);
		rc |= dkim_canon_header(DKIM_CANON_RELAXED, set->ams->raw,
					set->ams->len, true, &data);
		if (k < i)
			rc |= dkim_canon_header(DKIM_CANON_RELAXED,
						set->as->raw, set->as->len,
						true, &data);
	}
	if (rc == 0 && arc_strip_b(v->sets[i].as, s, &raw) == 0 &&
	    dkim_canon_header(DKIM_CANON_RELAXED, (const char *)raw.data,
			      raw.len, false, &data) == 0)
		ok = dkim_crypto_verify(s->alg, key, data.data, data.len,
					s->b, s->b_len) == 1;
	if (!ok)
		snprintf(why, cap, "ARC-Seal i=%u did not verify", i);
	buf_fini(&raw);
	buf_fini(&data);
	EVP_PKEY_free(key);
	return ok;
}

const struct arc_result *
arc_verify_finish(struct arc_verify *v)
{
	char why[200];

	if (v->decided)
		return &v->r;
	arc_verify_body_end(v);
	if (!arc_check_ams(v, v->n, why, sizeof(why))) {
		arc_decide(v, ARC_FAIL, why);
		return &v->r;
	}
	for (unsigned i = v->n; i >= 1; i--)
		if (!arc_check_as(v, i, why, sizeof(why))) {
			arc_decide(v, ARC_FAIL, why);
			return &v->r;
		}
	v->r.oldest_pass = v->n;
	for (unsigned i = v->n - 1; i >= 1; i--) {
		if (!arc_check_ams(v, i, why, sizeof(why)))
			break;
		v->r.oldest_pass = i;
	}
	arc_decide(v, ARC_PASS, "every seal and the latest message "
		   "signature verified");
	return &v->r;
}

/* ---- the asynchronous driver (dkim_fetch: DKIM's, shared) ---------- */

struct arc_lookup {
	struct arc_verify *v;
	arc_done_cb done;
	void *arg;
	struct dkim_fetch *f;
};

static void
arc_lookup_key_cb(void *arg, size_t k, const char *txt, size_t len,
		  bool tempfail)
{
	struct arc_lookup *lk = arg;

	arc_verify_key(lk->v, k, txt != NULL, tempfail, txt, len);
}

static void
arc_lookup_done_cb(void *arg)
{
	struct arc_lookup *lk = arg;
	arc_done_cb done = lk->done;
	void *darg = lk->arg;

	free(lk);
	done(darg);
}

int
arc_lookup_start(struct dns *d, struct arc_verify *v, arc_done_cb done,
		 void *arg, struct arc_lookup **lk_r)
{
	const char *names[ARC_KEYS_MAX];
	size_t n = arc_verify_key_count(v);
	struct arc_lookup *lk;
	int rc;

	*lk_r = NULL;
	if (n == 0)
		return 1;
	if ((lk = calloc(1, sizeof(*lk))) == NULL)
		return -1;
	lk->v = v;
	lk->done = done;
	lk->arg = arg;
	for (size_t k = 0; k < n; k++)
		names[k] = arc_verify_keyname(v, k);
	rc = dkim_fetch_start(d, names, n, arc_lookup_key_cb,
			      arc_lookup_done_cb, lk, &lk->f);
	if (rc != 0) {
		free(lk);
		return rc;
	}
	*lk_r = lk;
	return 0;
}

void
arc_lookup_cancel(struct arc_lookup **lkp)
{
	struct arc_lookup *lk = *lkp;

	if (lk == NULL)
		return;
	dkim_fetch_cancel(&lk->f);
	free(lk);
	*lkp = NULL;
}
