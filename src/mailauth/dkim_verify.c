/*
 * DKIM verification (RFC 6376 §6) of every signature on a message, in
 * two steps so that nothing blocks: dkim_verify_new does the CPU part
 * (parsing, body hashes), the key records are then fetched (the
 * asynchronous driver below does it over the in-loop resolver, the CLI
 * uses the same), and dkim_verify_key checks each signature with its key.
 *
 * Results: pass; fail (body hash or signature mismatch, expired x=, l=
 * beyond the body); neutral (verified, but l= leaves content unsigned);
 * temperror (the key lookup failed for now); permerror (syntax, no key,
 * revoked key, rsa-sha1, RSA under 1024 bits, key type mismatch).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../util/buf.h"
#include "dkim_int.h"

struct dkim_vsig {
	struct dkim_sig sig;
	const char *raw;         /* the field, without its final CRLF */
	size_t raw_len;
	size_t val_off;          /* the value starts after the colon */
	char keyname[DKIM_SELECTOR_MAX + DKIM_DOMAIN_MAX + 16];
	struct dkim_body *body;  /* hashing, until dkim_verify_end */
	/* A key answer kept for dkim_verify_check_keys (deferred mode). */
	bool kept, kept_ok, kept_temp;
	char *kept_txt;
	size_t kept_len;
	struct dkim_result r;
};

struct dkim_verify {
	const char *msg;
	size_t len;
	time_t now;
	size_t body_off;         /* of msg: where the body starts */
	bool defer;              /* dkim_verify_key keeps, does not check */
	struct dkim_field *f;
	size_t nf;
	size_t n;
	struct dkim_vsig s[DKIM_SIGS_MAX];
};

const char *
dkim_status_name(enum dkim_status st)
{
	static const char *const names[] = { "none", "pass", "fail",
		"neutral", "temperror", "permerror" };

	return (unsigned)st < sizeof(names) / sizeof(*names) ? names[st]
							     : "none";
}

static const char *
dkim_alg_name(enum dkim_alg a)
{
	return a == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256"
	       : a == DKIM_ALG_RSA_SHA1 ? "rsa-sha1" : "rsa-sha256";
}

static void
dkim_set(struct dkim_vsig *vs, enum dkim_status st, const char *why)
{
	vs->r.status = st;
	snprintf(vs->r.why, sizeof(vs->r.why), "%s", why);
	vs->keyname[0] = '\0';
}

/* The body checks, before any key: 0 to go on, -1 decided. */
static int
dkim_check_body(struct dkim_vsig *vs)
{
	const struct dkim_sig *s = &vs->sig;
	uint8_t hash[64];
	uint64_t total;
	int hl;

	hl = dkim_body_final(vs->body, hash, &total);
	dkim_body_free(&vs->body);
	if (hl < 0) {
		dkim_set(vs, DKIM_TEMPERROR, "hash failure");
		return -1;
	}
	if (s->has_l && s->l > total) {
		dkim_set(vs, DKIM_FAIL, "l= is longer than the body");
		return -1;
	}
	if (s->has_l)
		vs->r.unsigned_octets = total - s->l;
	if ((size_t)hl != s->bh_len || memcmp(hash, s->bh, (size_t)hl) != 0) {
		dkim_set(vs, DKIM_FAIL, "body hash mismatch (the body was "
			 "changed)");
		return -1;
	}
	return 0;
}

/* Parses signature vs and starts its body hash. */
static void
dkim_verify_one(struct dkim_verify *v, struct dkim_vsig *vs)
{
	const char *why = NULL;
	const char *val = vs->raw + vs->val_off;
	size_t val_len = vs->raw_len - vs->val_off;

	if (dkim_sig_parse(val, val_len, &vs->sig, &why) < 0) {
		dkim_set(vs, DKIM_PERMERROR, why);
		return;
	}
	memcpy(vs->r.domain, vs->sig.d, sizeof(vs->r.domain));
	memcpy(vs->r.selector, vs->sig.s, sizeof(vs->r.selector));
	memcpy(vs->r.auid, vs->sig.i, sizeof(vs->r.auid));
	memcpy(vs->r.b, vs->sig.b_text, 8);
	vs->r.b[8] = '\0';
	vs->r.alg = dkim_alg_name(vs->sig.alg);
	if (vs->sig.alg == DKIM_ALG_RSA_SHA1) {
		dkim_set(vs, DKIM_PERMERROR, "rsa-sha1 is not accepted "
			 "(RFC 8301)");
		return;
	}
	if (vs->sig.has_x && vs->sig.x < (int64_t)v->now) {
		dkim_set(vs, DKIM_FAIL, "signature expired (x=)");
		return;
	}
	vs->body = dkim_body_new(vs->sig.bcanon, vs->sig.alg ==
				 DKIM_ALG_RSA_SHA1 ? "sha1" : "sha256",
				 vs->sig.has_l ? vs->sig.l : UINT64_MAX);
	if (vs->body == NULL)
		dkim_set(vs, DKIM_TEMPERROR, "out of memory");
}

struct dkim_verify *
dkim_verify_begin(const char *hdr, size_t len, time_t now)
{
	/* Cleared up to the slots, and each slot when taken: the whole of
	 * it (~50 KB) cost more to clear, per message, than the header's
	 * parse. The fields are written by dkim_header_split up to nf. */
	struct dkim_verify *v = malloc(sizeof(*v));
	size_t body_off;

	if (v == NULL)
		return NULL;
	memset(v, 0, offsetof(struct dkim_verify, s));
	v->msg = hdr;
	v->len = len;
	v->now = now;
	v->f = malloc(DKIM_HEADER_FIELDS_MAX * sizeof(*v->f));
	if (v->f == NULL) {
		free(v);
		return NULL;
	}
	v->body_off = len;
	if (dkim_header_split(hdr, len, v->f, DKIM_HEADER_FIELDS_MAX, &v->nf,
			      &body_off) < 0)
		return v; /* no signature can be checked: none counted */
	v->body_off = body_off;
	for (size_t i = 0; i < v->nf && v->n < DKIM_SIGS_MAX; i++) {
		struct dkim_vsig *vs;
		size_t l = v->f[i].len;

		if (!dkim_field_is(&v->f[i], "dkim-signature"))
			continue;
		vs = &v->s[v->n++];
		memset(vs, 0, sizeof(*vs));
		if (l > 0 && v->f[i].raw[l - 1] == '\n')
			l--;
		if (l > 0 && v->f[i].raw[l - 1] == '\r')
			l--;
		vs->raw = v->f[i].raw;
		vs->raw_len = l;
		vs->val_off = (size_t)((const char *)memchr(vs->raw, ':', l) -
				       vs->raw) + 1;
		vs->r.alg = "";
		dkim_verify_one(v, vs);
	}
	return v;
}

void
dkim_verify_body(struct dkim_verify *v, const void *p, size_t n)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->s[i].body != NULL)
			dkim_body_update(v->s[i].body, p, n);
}

void
dkim_verify_end(struct dkim_verify *v)
{
	for (size_t i = 0; i < v->n; i++) {
		struct dkim_vsig *vs = &v->s[i];
		size_t sl, dl;

		if (vs->body == NULL || dkim_check_body(vs) < 0)
			continue;
		sl = strlen(vs->sig.s);
		dl = strlen(vs->sig.d);
		memcpy(vs->keyname, vs->sig.s, sl);
		memcpy(vs->keyname + sl, "._domainkey.", 12);
		memcpy(vs->keyname + sl + 12, vs->sig.d, dl + 1);
	}
}

struct dkim_verify *
dkim_verify_new(const char *msg, size_t len, time_t now)
{
	struct dkim_verify *v = dkim_verify_begin(msg, len, now);

	if (v == NULL)
		return NULL;
	dkim_verify_body(v, msg + v->body_off, len - v->body_off);
	dkim_verify_end(v);
	return v;
}

void
dkim_verify_free(struct dkim_verify **vp)
{
	if (*vp == NULL)
		return;
	for (size_t i = 0; i < (*vp)->n; i++) {
		dkim_body_free(&(*vp)->s[i].body);
		free((*vp)->s[i].kept_txt);
	}
	free((*vp)->f);
	free(*vp);
	*vp = NULL;
}

size_t
dkim_verify_count(const struct dkim_verify *v)
{
	return v->n;
}

const char *
dkim_verify_keyname(const struct dkim_verify *v, size_t i)
{
	return i < v->n && v->s[i].keyname[0] != '\0' ? v->s[i].keyname
						      : NULL;
}

const struct dkim_result *
dkim_verify_result(const struct dkim_verify *v, size_t i)
{
	return &v->s[i].r;
}

/* The public key of a record, checked against RFC 8301. NULL with why. */
static EVP_PKEY *
dkim_pubkey(const struct dkim_keyrec *k, struct dkim_vsig *vs,
	    char *why, size_t cap)
{
	const unsigned char *p = k->p;
	EVP_PKEY *key = dkim_keycache_get(k->k, k->p, k->p_len);
	int bits;

	if (key != NULL) {
		/* Decoded and accepted for an earlier message. */
		if (k->k == DKIM_KEY_RSA)
			vs->r.key_bits = (unsigned)EVP_PKEY_get_bits(key);
		return key;
	}
	if (k->k == DKIM_KEY_ED25519) {
		key = k->p_len == 32 ? EVP_PKEY_new_raw_public_key(
			EVP_PKEY_ED25519, NULL, k->p, k->p_len) : NULL;
		if (key == NULL)
			snprintf(why, cap, "bad Ed25519 key in the record");
		else
			dkim_keycache_put(k->k, k->p, k->p_len, key);
		return key;
	}
	key = d2i_PUBKEY(NULL, &p, (long)k->p_len);
	if (key == NULL) {
		p = k->p; /* some publish the bare RSAPublicKey */
		key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)k->p_len);
	}
	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		snprintf(why, cap, "bad RSA key in the record");
		return NULL;
	}
	bits = EVP_PKEY_get_bits(key);
	vs->r.key_bits = (unsigned)bits;
	if (bits < DKIM_RSA_MIN_BITS) {
		EVP_PKEY_free(key);
		snprintf(why, cap, "RSA key of %d bits (under %d, RFC 8301)",
			 bits, DKIM_RSA_MIN_BITS);
		return NULL;
	}
	dkim_keycache_put(k->k, k->p, k->p_len, key);
	return key;
}

/* The key record suits the signature: NULL, or why not. */
static const char *
dkim_key_fits(const struct dkim_keyrec *k, const struct dkim_sig *s)
{
	const char *at = strrchr(s->i, '@');

	if (k->revoked)
		return "key revoked (empty p=)";
	if ((k->k == DKIM_KEY_ED25519) != (s->alg == DKIM_ALG_ED25519_SHA256))
		return "key type does not match the algorithm";
	if (!k->h_sha256)
		return "key does not allow sha256 (h=)";
	if (k->t_strict && (at == NULL || strcasecmp(at + 1, s->d) != 0))
		return "key requires i= domain equal to d= (t=s)";
	return NULL;
}

/* The signature field with its b= value removed, and the check. */
static void
dkim_check_sig(struct dkim_verify *v, struct dkim_vsig *vs, EVP_PKEY *key)
{
	struct buf raw, data;
	size_t b0 = vs->val_off + vs->sig.b_off;
	size_t b1 = vs->val_off + vs->sig.b_end;
	int ok;

	buf_init(&raw, vs->raw_len + 1);
	buf_init(&data, 1 << 20);
	if (buf_append(&raw, vs->raw, b0) < 0 ||
	    buf_append(&raw, vs->raw + b1, vs->raw_len - b1) < 0 ||
	    dkim_header_data(v->f, v->nf, vs->sig.h, vs->sig.n_h,
			     vs->sig.hcanon, (const char *)raw.data, raw.len,
			     &data) < 0) {
		dkim_set(vs, DKIM_PERMERROR, "header too large");
		goto out;
	}
	ok = dkim_crypto_verify(vs->sig.alg, key, data.data, data.len,
				vs->sig.b, vs->sig.b_len);
	if (ok != 1) {
		dkim_set(vs, DKIM_FAIL, "signature did not verify (a signed "
			 "header field was changed)");
	} else if (vs->r.unsigned_octets > 0) {
		char why[96];
		snprintf(why, sizeof(why), "l= leaves %llu octets of the body "
			 "unsigned", (unsigned long long)vs->r.unsigned_octets);
		dkim_set(vs, DKIM_NEUTRAL, why);
	} else {
		dkim_set(vs, DKIM_PASS, "good signature");
	}
out:
	buf_fini(&raw);
	buf_fini(&data);
}

static void dkim_verify_key_now(struct dkim_verify *v, struct dkim_vsig *vs,
				bool dns_ok, bool tempfail, const char *txt,
				size_t txt_len);

void
dkim_verify_key(struct dkim_verify *v, size_t i, bool dns_ok, bool tempfail,
		const char *txt, size_t txt_len)
{
	struct dkim_vsig *vs = &v->s[i];

	if (i >= v->n || vs->keyname[0] == '\0' || vs->kept)
		return;
	if (!v->defer) {
		dkim_verify_key_now(v, vs, dns_ok, tempfail, txt, txt_len);
		return;
	}
	vs->kept = true;
	vs->kept_ok = dns_ok;
	vs->kept_temp = tempfail;
	if (dns_ok && (vs->kept_txt = malloc(txt_len + 1)) != NULL) {
		memcpy(vs->kept_txt, txt, txt_len);
		vs->kept_len = txt_len;
	} else if (dns_ok) {
		vs->kept_ok = false; /* out of memory: try later */
		vs->kept_temp = true;
	}
}

void
dkim_verify_defer_keys(struct dkim_verify *v)
{
	v->defer = true;
}

bool
dkim_verify_cheap(const struct dkim_verify *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->n; i++) {
		const struct dkim_vsig *vs = &v->s[i];

		if (!vs->kept || vs->keyname[0] == '\0' || !vs->kept_ok)
			continue;
		/* The record's own k= is parsed later; a mention of ed25519
		 * anywhere is enough to send it to a worker. */
		if (++n > DKIM_VERIFY_CHEAP_SIGS ||
		    vs->sig.alg != DKIM_ALG_RSA_SHA256 ||
		    vs->kept_len > DKIM_VERIFY_CHEAP_TXT ||
		    memmem(vs->kept_txt, vs->kept_len, "ed25519", 7) != NULL)
			return false;
	}
	return true;
}

void
dkim_verify_check_keys(struct dkim_verify *v)
{
	for (size_t i = 0; i < v->n; i++) {
		struct dkim_vsig *vs = &v->s[i];

		if (!vs->kept || vs->keyname[0] == '\0')
			continue;
		dkim_verify_key_now(v, vs, vs->kept_ok, vs->kept_temp,
				    vs->kept_txt, vs->kept_len);
		free(vs->kept_txt);
		vs->kept_txt = NULL;
	}
}

/* Decides signature vs with its key answer. */
static void
dkim_verify_key_now(struct dkim_verify *v, struct dkim_vsig *vs, bool dns_ok,
		    bool tempfail, const char *txt, size_t txt_len)
{
	struct dkim_keyrec *k;
	const char *why = NULL;
	char kwhy[96];
	EVP_PKEY *key;

	if (!dns_ok) {
		dkim_set(vs, tempfail ? DKIM_TEMPERROR : DKIM_PERMERROR,
			 tempfail ? "key lookup failed, try later"
				  : "no key record published");
		return;
	}
	k = malloc(sizeof(*k));
	if (k == NULL) {
		dkim_set(vs, DKIM_TEMPERROR, "out of memory");
		return;
	}
	if (dkim_keyrec_parse(txt, txt_len, k, &why) < 0 ||
	    (why = dkim_key_fits(k, &vs->sig)) != NULL) {
		dkim_set(vs, DKIM_PERMERROR, why);
		free(k);
		return;
	}
	vs->r.testing = k->t_testing;
	key = dkim_pubkey(k, vs, kwhy, sizeof(kwhy));
	free(k);
	if (key == NULL) {
		dkim_set(vs, DKIM_PERMERROR, kwhy);
		return;
	}
	dkim_check_sig(v, vs, key);
	EVP_PKEY_free(key);
}

/* ---- the asynchronous driver over the in-loop resolver ------------- */

struct dkim_lookup {
	struct dkim_verify *v;
	dkim_done_cb done;
	void *arg;
	struct dkim_fetch *f;
};

static void
dkim_lookup_key_cb(void *arg, size_t k, const char *txt, size_t len,
		   bool tempfail)
{
	struct dkim_lookup *lk = arg;

	dkim_verify_key(lk->v, k, txt != NULL, tempfail, txt, len);
}

static void
dkim_lookup_done_cb(void *arg)
{
	struct dkim_lookup *lk = arg;
	dkim_done_cb done = lk->done;
	void *darg = lk->arg;
	struct dkim_verify *v = lk->v;

	free(lk);
	done(darg, v);
}

int
dkim_lookup_start(struct dns *d, struct dkim_verify *v, dkim_done_cb done,
		  void *arg, struct dkim_lookup **lk_r)
{
	const char *names[DKIM_SIGS_MAX];
	struct dkim_lookup *lk = calloc(1, sizeof(*lk));
	int rc;

	*lk_r = NULL;
	if (lk == NULL)
		return -1;
	lk->v = v;
	lk->done = done;
	lk->arg = arg;
	for (size_t i = 0; i < v->n; i++)
		names[i] = dkim_verify_keyname(v, i);
	rc = dkim_fetch_start(d, names, v->n, dkim_lookup_key_cb,
			      dkim_lookup_done_cb, lk, &lk->f);
	if (rc != 0) {
		free(lk);
		return rc;
	}
	*lk_r = lk;
	return 0;
}

void
dkim_lookup_cancel(struct dkim_lookup **lkp)
{
	struct dkim_lookup *lk = *lkp;

	if (lk == NULL)
		return;
	dkim_fetch_cancel(&lk->f);
	free(lk);
	*lkp = NULL;
}

/* ---- keys for ARC (arc_verify.c) ------------------------------------------ */

EVP_PKEY *
dkim_key_load(const char *txt, size_t txt_len, const struct dkim_sig *sig,
	      char *why, size_t cap)
{
	struct dkim_keyrec *k = malloc(sizeof(*k));
	struct dkim_vsig vs = { 0 };
	const char *w = NULL;
	EVP_PKEY *key = NULL;

	if (k == NULL) {
		snprintf(why, cap, "out of memory");
		return NULL;
	}
	if (dkim_keyrec_parse(txt, txt_len, k, &w) < 0 ||
	    (w = dkim_key_fits(k, sig)) != NULL)
		snprintf(why, cap, "%s", w);
	else
		key = dkim_pubkey(k, &vs, why, cap);
	free(k);
	return key;
}
