/*
 * ARC sealing (RFC 8617 §5.1): the set a forwarder adds, instance N+1
 * over a chain of N sets.
 *   ARC-Authentication-Results: our Authentication-Results field with
 *     "i=N+1;" before the authserv-id (§4.1.1);
 *   ARC-Message-Signature: a DKIM signature of the message as sent, with
 *     i=N+1 and no v= (dkim_sign with arc_instance, §4.1.2);
 *   ARC-Seal: rsa-sha256 over every set 1..N+1, relaxed, the seal last
 *     without its b= value (§5.1.1), cv= our verdict on the chain.
 * The fields come out as the queue prefix sends them: seal first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "arc.h"
#include "dkim_int.h"

#define ARC_AAR_NAME "Authentication-Results:"
#define ARC_FIELD_MAX 8192

/* "ARC-Authentication-Results: i=N; " + the value of our field. */
static int
arc_aar(unsigned inst, const char *authres, size_t len, struct buf *out)
{
	size_t skip = strlen(ARC_AAR_NAME);

	if (len < skip || strncasecmp(authres, ARC_AAR_NAME, skip) != 0 ||
	    len < 2 || authres[len - 1] != '\n')
		return -1;
	while (skip < len && (authres[skip] == ' ' || authres[skip] == '\t'))
		skip++;
	return buf_printf(out, "ARC-Authentication-Results: i=%u; ", inst) |
	       buf_append(out, authres + skip, len - skip);
}

/* "ARC-Seal: ...; b=" without the b= value. */
static int
arc_seal_head(const struct dkim_signer *s, unsigned inst, enum arc_status cv,
	      time_t now, struct buf *out)
{
	return buf_printf(out, "ARC-Seal: i=%u; a=rsa-sha256; t=%lld; cv=%s;"
			  "\r\n\td=%s; s=%s;\r\n\tb=", inst, (long long)now,
			  inst == 1 ? "none" : arc_status_name(cv), s->domain,
			  s->selector);
}

/* The seal's signature input: sets 1..N of the message, then ours
 * (aar, ams with their CRLF), then the seal head (no CRLF). */
static int
arc_seal_data(const struct arc_set *sets, unsigned n, const struct buf *aar,
	      const struct buf *ams, const struct buf *head, struct buf *data)
{
	int rc = 0;

	for (unsigned k = 1; k <= n && rc == 0; k++) {
		rc |= dkim_canon_header(DKIM_CANON_RELAXED, sets[k].aar->raw,
					sets[k].aar->len, true, data);
		rc |= dkim_canon_header(DKIM_CANON_RELAXED, sets[k].ams->raw,
					sets[k].ams->len, true, data);
		rc |= dkim_canon_header(DKIM_CANON_RELAXED, sets[k].as->raw,
					sets[k].as->len, true, data);
	}
	rc |= dkim_canon_header(DKIM_CANON_RELAXED, (const char *)aar->data,
				aar->len, true, data);
	rc |= dkim_canon_header(DKIM_CANON_RELAXED, (const char *)ams->data,
				ams->len, true, data);
	return rc | dkim_canon_header(DKIM_CANON_RELAXED,
				      (const char *)head->data, head->len,
				      false, data);
}

/* What to seal: the message's header split and its chain. */
struct arc_msg {
	const char *msg;
	size_t len;
	const struct arc_set *sets;
	unsigned n;
};

/* Our set (instance m->n + 1) into out: seal, AMS, AAR. 0, or -1 with
 * *why_r. */
static int
arc_seal_set(struct dkim_signer *s, const struct arc_msg *m,
	     enum arc_status cv, const char *authres, size_t authres_len,
	     time_t now, struct buf *out, const char **why_r)
{
	struct buf aar, ams, seal, data;
	uint8_t sig[1024];
	size_t sig_len;
	int rc = -1;

	buf_init(&aar, ARC_FIELD_MAX);
	buf_init(&ams, ARC_FIELD_MAX);
	buf_init(&seal, ARC_FIELD_MAX);
	buf_init(&data, 1 << 20);
	*why_r = "our Authentication-Results field is unusable";
	if (arc_aar(s->arc_instance, authres, authres_len, &aar) < 0 ||
	    dkim_sign(s, m->msg, m->len, now, &ams, why_r) < 0)
		goto out;
	*why_r = "seal too long";
	if (arc_seal_head(s, s->arc_instance, cv, now, &seal) < 0 ||
	    arc_seal_data(m->sets, m->n, &aar, &ams, &seal, &data) < 0)
		goto out;
	*why_r = "signing failed";
	if (dkim_crypto_sign(s, data.data, data.len, sig, &sig_len) < 0)
		goto out;
	*why_r = "seal too long";
	if (dkim_fold_b64(&seal, sig, sig_len) == 0 &&
	    buf_append(&seal, "\r\n", 2) == 0 &&
	    buf_append(out, seal.data, seal.len) == 0 &&
	    buf_append(out, ams.data, ams.len) == 0 &&
	    buf_append(out, aar.data, aar.len) == 0)
		rc = 0;
out:
	buf_fini(&aar);
	buf_fini(&ams);
	buf_fini(&seal);
	buf_fini(&data);
	return rc;
}

int
arc_seal(const struct dkim_signer *signer, const char *msg, size_t len,
	 enum arc_status cv, const char *authres, size_t authres_len,
	 time_t now, struct buf *out, const char **why_r)
{
	struct dkim_field *f = calloc(DKIM_HEADER_FIELDS_MAX, sizeof(*f));
	struct arc_set *sets = calloc(DKIM_ARC_MAX + 1, sizeof(*sets));
	struct arc_msg m = { msg, len, sets, 0 };
	struct dkim_signer s = *signer;
	size_t nf, body_off;
	int rc = -1, found;

	*why_r = "out of memory";
	if (f == NULL || sets == NULL)
		goto out;
	if (dkim_header_split(msg, len, f, DKIM_HEADER_FIELDS_MAX, &nf,
			      &body_off) < 0) {
		*why_r = "header cannot be parsed";
		goto out;
	}
	found = arc_chain_find(f, nf, sets, &m.n, why_r);
	/* A broken chain gives no sets to cover: nothing to seal over. */
	if (found < 0 || m.n >= DKIM_ARC_MAX) {
		if (found >= 0)
			*why_r = "the chain is already at its longest";
		rc = 0;
		goto out;
	}
	if (m.n > 0 && cv == ARC_NONE)
		cv = ARC_FAIL; /* a chain we did not see pass */
	s.alg = DKIM_ALG_RSA_SHA256;
	s.arc_instance = m.n + 1;
	if (arc_seal_set(&s, &m, cv, authres, authres_len, now, out,
			 why_r) == 0)
		rc = 1;
out:
	free(sets);
	free(f);
	return rc;
}
