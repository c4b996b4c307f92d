/*
 * DKIM signing (RFC 6376 §5) and the crypto both directions share.
 *
 * Our signatures: relaxed/relaxed, no l=, t= the signing time, over the
 * fields of dkim_signed[] present in the message and every List-* field;
 * From, Subject and Date are over-signed (named once more than present,
 * RFC 6376 §8.15) so that a second one cannot be added unnoticed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "../util/base64.h"
#include "../util/buf.h"
#include "dkim_int.h"

static const char *const dkim_signed[] = {
	"from", "to", "cc", "subject", "date", "message-id", "mime-version",
	"content-type", "content-transfer-encoding", "reply-to",
	"in-reply-to", "references",
};
static const char *const dkim_oversigned[] = { "from", "subject", "date" };

#define DKIM_FOLD 72

bool
dkim_field_is(const struct dkim_field *f, const char *name)
{
	return f->name_len == strlen(name) &&
	       strncasecmp(f->raw, name, f->name_len) == 0;
}

int
dkim_header_data(const struct dkim_field *f, size_t nf, char (*h)[64],
		 size_t n_h, enum dkim_canon c, const char *sig_raw,
		 size_t sig_len, struct buf *out)
{
	bool used[DKIM_HEADER_FIELDS_MAX] = { false };

	for (size_t k = 0; k < n_h; k++) {
		for (size_t i = nf; i-- > 0;) {
			if (used[i] || !dkim_field_is(&f[i], h[k]))
				continue;
			used[i] = true;
			if (dkim_canon_header(c, f[i].raw, f[i].len, true,
					      out) < 0)
				return -1;
			break;
		}
	}
	return dkim_canon_header(c, sig_raw, sig_len, false, out);
}

struct dkim_signkey {
	pthread_mutex_t lock;
	EVP_MD_CTX *tmpl;        /* EVP_DigestSignInit done, never signs */
};

/* The digest EVP_DigestSignInit takes: Ed25519 is PureEdDSA (none; the
 * SHA-256 of the data is what it signs, RFC 8463 §3). */
static const EVP_MD *
dkim_sign_md(enum dkim_alg alg)
{
	return alg == DKIM_ALG_ED25519_SHA256 ? NULL : EVP_sha256();
}

struct dkim_signkey *
dkim_signkey_new(enum dkim_alg alg, struct evp_pkey_st *key)
{
	struct dkim_signkey *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	if (pthread_mutex_init(&k->lock, NULL) != 0) {
		free(k);
		return NULL;
	}
	k->tmpl = EVP_MD_CTX_new();
	if (k->tmpl == NULL || EVP_DigestSignInit(k->tmpl, NULL,
						  dkim_sign_md(alg), NULL,
						  key) != 1)
		dkim_signkey_free(&k);
	return k;
}

void
dkim_signkey_free(struct dkim_signkey **kp)
{
	struct dkim_signkey *k = *kp;

	*kp = NULL;
	if (k == NULL)
		return;
	EVP_MD_CTX_free(k->tmpl);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* ctx ready to sign with s's key: a copy of its context, or set up. */
static int
dkim_sign_init(const struct dkim_signer *s, EVP_MD_CTX *ctx)
{
	int ok;

	if (s->ready == NULL)
		return EVP_DigestSignInit(ctx, NULL, dkim_sign_md(s->alg), NULL,
					  s->key) == 1 ? 0 : -1;
	pthread_mutex_lock(&s->ready->lock);
	ok = EVP_MD_CTX_copy_ex(ctx, s->ready->tmpl);
	pthread_mutex_unlock(&s->ready->lock);
	return ok == 1 ? 0 : -1;
}

int
dkim_crypto_sign(const struct dkim_signer *s, const void *data, size_t len,
		 uint8_t *sig, size_t *sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t hash[32];
	unsigned hl = 0;
	int rc = -1;

	*sig_len = 1024;
	if (ctx == NULL)
		return -1;
	if (dkim_sign_init(s, ctx) < 0)
		goto out;
	if (s->alg == DKIM_ALG_ED25519_SHA256) {
		if (EVP_Digest(data, len, hash, &hl, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestSign(ctx, sig, sig_len, hash, hl) == 1)
			rc = 0;
	} else if (EVP_DigestSign(ctx, sig, sig_len, data, len) == 1) {
		rc = 0;
	}
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
dkim_crypto_verify(enum dkim_alg alg, struct evp_pkey_st *key,
		   const void *data, size_t len, const uint8_t *sig,
		   size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t hash[32];
	unsigned hl = 0;
	int rc = -1;

	if (ctx == NULL)
		return -1;
	if (alg == DKIM_ALG_ED25519_SHA256) {
		if (EVP_Digest(data, len, hash, &hl, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1)
			rc = EVP_DigestVerify(ctx, sig, sig_len, hash, hl) == 1;
	} else if (EVP_DigestVerifyInit(ctx, NULL, alg == DKIM_ALG_RSA_SHA1
					? EVP_sha1() : EVP_sha256(), NULL,
					key) == 1) {
		rc = EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
dkim_fold_b64(struct buf *field, const uint8_t *sig, size_t len)
{
	char b64[BASE64_ENCODED_LEN(1024) + 1];
	size_t b64len;
	int rc = 0;

	if (len > 1024)
		return -1;
	base64_encode(sig, len, b64);
	b64len = strlen(b64);
	/* b= folded; the verifier removes the whole value, folds too. */
	for (size_t i = 0, col = 4; i < b64len;) {
		size_t take = DKIM_FOLD - col;
		if (take > b64len - i)
			take = b64len - i;
		rc |= buf_append(field, b64 + i, take);
		i += take;
		if (i < b64len) {
			rc |= buf_append(field, "\r\n\t ", 4);
			col = 9;
		}
	}
	return rc;
}

/* h=: the names to sign, each once per instance present, over-signed
 * ones once more. */
static size_t
dkim_sign_names(const struct dkim_field *f, size_t nf, char (*h)[64])
{
	size_t n = 0;

	for (size_t k = 0; k < sizeof(dkim_signed) / sizeof(*dkim_signed);
	     k++) {
		size_t count = 0;
		for (size_t i = 0; i < nf; i++)
			count += dkim_field_is(&f[i], dkim_signed[k]);
		for (size_t o = 0; o < sizeof(dkim_oversigned) /
					sizeof(*dkim_oversigned); o++)
			count += strcmp(dkim_signed[k],
					dkim_oversigned[o]) == 0;
		for (; count > 0 && n < DKIM_H_MAX; count--)
			snprintf(h[n++], 64, "%s", dkim_signed[k]);
	}
	for (size_t i = 0; i < nf && n < DKIM_H_MAX; i++) {
		if (f[i].name_len <= 5 || f[i].name_len >= 64 ||
		    strncasecmp(f[i].raw, "list-", 5) != 0)
			continue;
		for (size_t c = 0; c < f[i].name_len; c++) {
			char ch = f[i].raw[c];
			h[n][c] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
		}
		h[n++][f[i].name_len] = '\0';
	}
	return n;
}

/* "DKIM-Signature: v=1; ...; b=" folded, without the b= value. */
static int
dkim_sign_fields(const struct dkim_signer *s, char (*h)[64], size_t n_h,
		 const char *bh, time_t now, struct buf *out)
{
	size_t col;

	const char *a = s->alg == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256"
							  : "rsa-sha256";

	if (s->arc_instance > 0)
		buf_printf(out, "ARC-Message-Signature: i=%u; a=%s;\r\n"
			   "\tc=relaxed/relaxed; d=%s; s=%s; t=%lld;\r\n\th=",
			   s->arc_instance, a, s->domain, s->selector,
			   (long long)now);
	else
		buf_printf(out, "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed;"
			   "\r\n\td=%s; s=%s; t=%lld;\r\n\th=", a, s->domain,
			   s->selector, (long long)now);
	col = 10;
	for (size_t k = 0; k < n_h; k++) {
		size_t w = strlen(h[k]) + 1;
		if (col + w > DKIM_FOLD) {
			buf_printf(out, "\r\n\t ");
			col = 9;
		}
		buf_printf(out, "%s%s", h[k], k + 1 < n_h ? ":" : ";");
		col += w;
	}
	return buf_printf(out, "\r\n\tbh=%s;\r\n\tb=", bh);
}

int
dkim_prepare(const char *msg, size_t len, struct dkim_prepared *p,
	     const char **why_r)
{
	memset(p, 0, sizeof(*p));
	p->msg = msg;
	p->len = len;
	p->f = malloc(DKIM_HEADER_FIELDS_MAX * sizeof(*p->f));
	if (p->f == NULL)
		return *why_r = "out of memory", -1;
	if (dkim_header_split(msg, len, p->f, DKIM_HEADER_FIELDS_MAX, &p->nf,
			      &p->body_off) < 0)
		return *why_r = "header cannot be parsed", -1;
	return 0;
}

void
dkim_prepared_free(struct dkim_prepared *p)
{
	free(p->f);
	p->f = NULL;
}

/* bh=: relaxed body, sha256, no l= (what every signature of ours uses). */
static int
dkim_prepared_bh(struct dkim_prepared *p)
{
	struct dkim_body *body;
	uint8_t hash[64];
	uint64_t total;
	int hl;

	if (p->bh64[0] != '\0')
		return 0;
	body = dkim_body_new(DKIM_CANON_RELAXED, "sha256", UINT64_MAX);
	if (body == NULL)
		return -1;
	dkim_body_update(body, p->msg + p->body_off, p->len - p->body_off);
	hl = dkim_body_final(body, hash, &total);
	dkim_body_free(&body);
	if (hl < 0 || BASE64_ENCODED_LEN((size_t)hl) >= sizeof(p->bh64))
		return -1;
	base64_encode(hash, (size_t)hl, p->bh64);
	return 0;
}

int
dkim_sign_prepared(const struct dkim_signer *s, struct dkim_prepared *p,
		   time_t now, struct buf *out, const char **why_r)
{
	char h[DKIM_H_MAX][64];
	uint8_t sig[1024];
	struct buf field, data;
	size_t n_h, sig_len;
	int rc = -1;

	buf_init(&field, 16384);
	buf_init(&data, 1 << 20);
	*why_r = "out of memory";
	if (dkim_prepared_bh(p) < 0)
		goto out;
	n_h = dkim_sign_names(p->f, p->nf, h);
	if (dkim_sign_fields(s, h, n_h, p->bh64, now, &field) < 0 ||
	    dkim_header_data(p->f, p->nf, h, n_h, DKIM_CANON_RELAXED,
			     (const char *)field.data, field.len, &data) < 0)
		goto out;
	*why_r = "signing failed";
	if (dkim_crypto_sign(s, data.data, data.len, sig, &sig_len) < 0)
		goto out;
	if (dkim_fold_b64(&field, sig, sig_len) < 0 ||
	    buf_append(&field, "\r\n", 2) < 0 ||
	    buf_append(out, field.data, field.len) < 0) {
		*why_r = "signature too long";
		goto out;
	}
	rc = 0;
out:
	buf_fini(&field);
	buf_fini(&data);
	return rc;
}

int
dkim_sign(const struct dkim_signer *s, const char *msg, size_t len,
	  time_t now, struct buf *out, const char **why_r)
{
	struct dkim_prepared p;
	int rc = dkim_prepare(msg, len, &p, why_r);

	if (rc == 0)
		rc = dkim_sign_prepared(s, &p, now, out, why_r);
	dkim_prepared_free(&p);
	return rc;
}

/* ---- From: domain --------------------------------------------------- */

int
dkim_from_domain(const char *msg, size_t len, char *out, size_t cap)
{
	struct dkim_prepared p;
	const char *why;
	int rc = -1;

	if (dkim_prepare(msg, len, &p, &why) == 0)
		rc = dkim_from_domain_prepared(&p, out, cap);
	dkim_prepared_free(&p);
	return rc;
}

int
dkim_from_domain_prepared(const struct dkim_prepared *p, char *out,
			  size_t cap)
{
	const struct dkim_field *f = p->f, *from = NULL;
	size_t nf = p->nf, start, end, at = 0, o = 0;
	bool quoted = false;

	for (size_t i = 0; i < nf; i++)
		if (dkim_field_is(&f[i], "from")) {
			if (from != NULL)
				return -1;
			from = &f[i];
		}
	if (from == NULL)
		return -1;
	start = from->name_len + 1;
	end = from->len;
	/* One address: the text in the last <...>, else the whole value;
	 * a comma outside quotes means several. */
	for (size_t i = start; i < from->len; i++) {
		char c = from->raw[i];
		if (c == '"')
			quoted = !quoted;
		else if (!quoted && c == ',')
			return -1;
		else if (!quoted && c == '<')
			start = i + 1;
		else if (!quoted && c == '>')
			end = i;
		else if (!quoted && c == '@' && i >= start)
			at = i;
	}
	if (at == 0 || at < start || at >= end)
		return -1;
	for (size_t i = at + 1; i < end && o + 1 < cap; i++) {
		char c = from->raw[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == '>' || c == ')' || c == '(')
			break;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return -1;
		out[o++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}
