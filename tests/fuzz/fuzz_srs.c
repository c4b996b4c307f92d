/*
 * libFuzzer target for SRS (src/mailauth/srs.c): the input as an address
 * to reverse, and as a sender to forward. Besides "no crash": reversing
 * answers 1, 0 or -1, a 1 only for an SRS local part; a plain sender
 * (no SRS local part, no '=' in its domain) forwarded and reversed is
 * the sender again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailauth/srs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[SRS_SECRET_LEN] = "fuzz-secret-fuzz-secret-fuzz-se";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[1024], out[2048], back[2048];
	const char *why = NULL, *at;
	time_t now = (time_t)1796665179;
	int rc;

	if (size >= sizeof(in) || memchr(data, 0, size) != NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	rc = srs_reverse(key, in, now, out, sizeof(out), &why);
	if (rc < -1 || rc > 1 || (rc == 1 && !srs_is_srs(in)))
		abort();
	if (rc == -1 && why == NULL)
		abort();
	if (srs_forward(key, in, "fwd.example", now, out, sizeof(out)) < 0)
		return 0;
	rc = srs_reverse(key, out, now, back, sizeof(back), &why);
	at = strrchr(in, '@');
	if (rc != 1)
		abort(); /* what we make we take back */
	if (!srs_is_srs(in) && at != NULL && strchr(at, '=') == NULL &&
	    strcmp(back, in) != 0)
		abort();
	return 0;
}
