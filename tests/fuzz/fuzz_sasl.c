/*
 * libFuzzer target for SASL decoding and base64: the input is fed as a
 * base64 PLAIN response, as a LOGIN step, and (encoded first) through a
 * base64 round trip that must reproduce it exactly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "util/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_sasl_decoders(const char *in, size_t size)
{
	struct sasl_creds c;
	char out[LIMIT_ADDRESS + 1];

	if (sasl_plain_decode(in, size, &c) == 0) {
		if (c.user[0] == '\0' || c.pass[0] == '\0' ||
		    strlen(c.user) > LIMIT_ADDRESS ||
		    strlen(c.pass) > SASL_PASS_MAX)
			abort();
	}
	sasl_creds_clear(&c);
	if (sasl_login_decode(in, size, out, sizeof(out)) == 0 &&
	    strlen(out) >= sizeof(out))
		abort();
	(void)sasl_mech_parse(in, size);
}

static void
fuzz_sasl_round_trip(const uint8_t *data, size_t size)
{
	char *enc = malloc(BASE64_ENCODED_LEN(size) + 1);
	uint8_t *dec = malloc(size ? size : 1);
	size_t n = 0;

	if (enc == NULL || dec == NULL)
		abort();
	base64_encode(data, size, enc);
	if (strlen(enc) != BASE64_ENCODED_LEN(size) ||
	    base64_decode(enc, strlen(enc), dec, size, &n) != 0 || n != size ||
	    memcmp(dec, data, size) != 0)
		abort();
	free(enc);
	free(dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	fuzz_sasl_decoders(in, size);
	free(in);
	fuzz_sasl_round_trip(data, size);
	return 0;
}
