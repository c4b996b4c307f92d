/*
 * libFuzzer target for the JSON reader (src/util/json.h): no crash; every
 * token lies inside the input and its subtree index moves forward; every
 * string token reads back (or is refused) within the buffer; lookups on
 * the top object terminate.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tok t[256];
	const char *s = (const char *)data;
	char buf[128];
	int n = json_parse(s, size, t, 256);

	if (n == 0 || n > 256)
		abort();
	for (int i = 0; i < n; i++) {
		if (t[i].start > size || t[i].len > size - t[i].start ||
		    t[i].next <= (size_t)i || t[i].next > (size_t)n)
			abort();
		(void)json_str(s, t, i, buf, sizeof(buf));
	}
	if (n > 0) {
		(void)json_get(s, t, 0, "status");
		(void)json_get_str(s, t, 0, "type", buf, sizeof(buf));
		(void)json_elem(t, 0, 3);
	}
	return 0;
}
