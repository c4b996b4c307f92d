/*
 * libFuzzer target for PREVIEW (imap_preview.c, RFC 8970): any message
 * bytes give a result of at most IMAP_PREVIEW_CHARS characters of valid
 * UTF-8 with no control characters, no leading, trailing or double space.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "imap/imap_preview.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b;
	size_t chars = 0;

	buf_init(&b, 1 << 20);
	if (imap_preview((const char *)data, size, &b) == 0 && b.len > 0) {
		const unsigned char *p = b.data;

		if (p[0] == ' ' || p[b.len - 1] == ' ')
			abort();
		for (size_t i = 0; i < b.len; i++) {
			if (p[i] < ' ' || p[i] == 0x7f ||
			    (p[i] == ' ' && i + 1 < b.len && p[i + 1] == ' '))
				abort();
			chars += (p[i] & 0xc0) != 0x80;
		}
		if (chars > IMAP_PREVIEW_CHARS)
			abort();
	}
	buf_fini(&b);
	return 0;
}
