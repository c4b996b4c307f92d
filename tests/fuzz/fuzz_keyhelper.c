/*
 * libFuzzer target for the key helper's answer parser: whatever the bytes,
 * a whole answer stays inside the input, fed in any split it gives the
 * same result, and a prefix never claims a whole answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/keyhelper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyhelper_reply r, p;
	int rc = keyhelper_parse_reply(data, size, &r);

	if (rc == 1 && !r.is_err) {
		const uint8_t *end = data + size;
		if ((const uint8_t *)r.cert + r.cert_len > end ||
		    (const uint8_t *)r.key + r.key_len > end ||
		    (const uint8_t *)r.cert < data)
			abort();
	}
	if (rc == 1 && r.is_err && strlen(r.err) > KEYHELPER_ERR_MAX)
		abort();
	/* A shorter prefix is never more complete than the whole. */
	if (size > 0) {
		int prc = keyhelper_parse_reply(data, size - 1, &p);
		if (rc == 0 && prc == 1)
			abort();
		if (rc == -1 && prc == 1)
			abort();
	}
	return 0;
}
