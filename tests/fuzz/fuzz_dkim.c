/*
 * libFuzzer target for DKIM's parsers and canonicalisation
 * (src/mailauth/dkim.h): the input as a DKIM-Signature value, as a key
 * record, and as a whole message (header split, every signature parsed,
 * bodies hashed with both canonicalisations, results decided with the
 * input's tail as the key record, no DNS). Besides "no crash" it checks
 * the parsers' promises: tags point inside the input, b= offsets are in
 * order and inside it, results are one of the defined statuses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailauth/dkim.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_dkim_tags(const char *p, size_t n)
{
	struct dkim_tag tags[DKIM_TAGS_MAX];
	const char *why = NULL;
	size_t nt;

	if (dkim_tags_parse(p, n, tags, DKIM_TAGS_MAX, &nt, &why) < 0) {
		if (why == NULL)
			abort();
		return;
	}
	for (size_t i = 0; i < nt; i++)
		if (tags[i].name < p || tags[i].name + tags[i].name_len > p + n ||
		    tags[i].value < p || tags[i].value + tags[i].value_len >
		    p + n || tags[i].value_off > tags[i].value_end ||
		    tags[i].value_end > n)
			abort();
}

static void
fuzz_dkim_sig(const char *p, size_t n)
{
	struct dkim_sig *sig = malloc(sizeof(*sig));
	const char *why = NULL;

	if (sig == NULL)
		return;
	if (dkim_sig_parse(p, n, sig, &why) == 0 &&
	    (sig->b_off > sig->b_end || sig->b_end > n || sig->n_h == 0 ||
	     sig->d[0] == '\0' || sig->s[0] == '\0'))
		abort();
	free(sig);
}

static void
fuzz_dkim_message(const char *p, size_t n)
{
	struct dkim_verify *v = dkim_verify_new(p, n, (time_t)1700000000);
	struct dkim_body *b;
	uint8_t hash[64];
	uint64_t total;
	struct buf out;
	size_t half = n / 2;

	if (v == NULL)
		return;
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		if (dkim_verify_keyname(v, i) != NULL)
			dkim_verify_key(v, i, true, false, p + half, n - half);
		if (dkim_verify_result(v, i)->status > DKIM_PERMERROR)
			abort();
	}
	dkim_verify_free(&v);
	for (int c = 0; c < 2; c++) {
		b = dkim_body_new((enum dkim_canon)c, "sha256", half);
		if (b == NULL)
			return;
		dkim_body_update(b, p, half);
		dkim_body_update(b, p + half, n - half);
		if (dkim_body_final(b, hash, &total) != 32)
			abort();
		dkim_body_free(&b);
		buf_init(&out, 1 << 20);
		(void)dkim_canon_header((enum dkim_canon)c, p, n, true, &out);
		buf_fini(&out);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct dkim_keyrec *k = malloc(sizeof(*k));
	const char *why = NULL;

	fuzz_dkim_tags(p, size);
	fuzz_dkim_sig(p, size);
	if (k != NULL)
		(void)dkim_keyrec_parse(p, size, k, &why);
	free(k);
	fuzz_dkim_message(p, size);
	return 0;
}
