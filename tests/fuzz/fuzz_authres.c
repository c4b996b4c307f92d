/*
 * libFuzzer target for the Authentication-Results reader and writer
 * (src/mailauth/authres.c): authres_is_ours on any header field bytes,
 * and authres_header with the input as a property value. Besides "no
 * crash": the answer is 0 or 1; a field that does not start with the
 * name is never ours; the field written is one header field (CRLF only
 * at its end or before a fold) that authres_is_ours recognises.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailauth/authres.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f = (const char *)data;
	int r = authres_is_ours(f, size, "mx.example.org");
	char *v;
	struct buf b;

	if (r != 0 && r != 1)
		abort();
	if (r == 1 && (size < 22 ||
		       strncasecmp(f, "Authentication-Results", 22) != 0))
		abort();
	v = malloc(size + 1);
	if (v == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	buf_init(&b, 1 << 20);
	struct authres_item it = { "spf", "pass", NULL,
				   { { "smtp.mailfrom", v } } };
	if (authres_header(&b, "mx.example.org", &it, 1) == 0) {
		for (size_t i = 0; i + 1 < b.len; i++)
			if (b.data[i] == '\r' && b.data[i + 1] == '\n' &&
			    i + 2 < b.len && b.data[i + 2] != '\t')
				abort();
		if (authres_is_ours((const char *)b.data, b.len,
				    "mx.example.org") != 1)
			abort();
	}
	buf_fini(&b);
	free(v);
	return 0;
}
