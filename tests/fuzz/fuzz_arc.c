/*
 * libFuzzer target for ARC (src/mailauth/arc_chain.c, arc_verify.c, and
 * the ARC kinds of dkim_tags.c): the input is a message; its chain is
 * found, every signature parsed, the body hashed in two pieces, every
 * key answered with one fixed RSA record (or, for odd sizes, a DNS
 * failure) and the chain decided. Besides "no crash": the status is one
 * of the three; a message without "arc-" anywhere is never pass.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailauth/arc.h"
#include "mailauth/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A 1024-bit RSA public key record (any key: nothing here verifies). */
static const char rec[] =
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBs"
	"EmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBI"
	"tLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNB"
	"cWToIMmPSPDdQPNUYckcQ2QIDAQAB";

static bool
has_arc(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i++)
		if (strncasecmp((const char *)p + i, "arc-", 4) == 0)
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *m = malloc(size + 1);
	struct arc_verify *v;
	const struct arc_result *r;
	size_t half = size / 2;

	if (m == NULL)
		return 0;
	memcpy(m, data, size);
	m[size] = '\0';
	(void)arc_aar_instance(m, size);
	v = arc_verify_new(m, size, (time_t)1700000000);
	if (v != NULL) {
		if (arc_verify_wants_body(v)) {
			arc_verify_body(v, m, half);
			arc_verify_body(v, m + half, size - half);
		}
		for (size_t k = 0; k < arc_verify_key_count(v); k++) {
			if (arc_verify_keyname(v, k) == NULL)
				abort();
			arc_verify_key(v, k, size % 2 == 0, size % 4 == 1, rec,
				       strlen(rec));
		}
		r = arc_verify_finish(v);
		if (r->status != ARC_NONE && r->status != ARC_PASS &&
		    r->status != ARC_FAIL)
			abort();
		if (r->status == ARC_PASS && !has_arc(data, size))
			abort();
		arc_verify_free(&v);
	}
	{
		struct dkim_sig sig;
		const char *why;
		(void)dkim_sig_parse_kind(m, size, DKIM_SIG_AS, &sig, &why);
		(void)dkim_sig_parse_kind(m, size, DKIM_SIG_AMS, &sig, &why);
	}
	free(m);
	return 0;
}
