/*
 * libFuzzer target for the COMPRESS=DEFLATE pipe (util/zpipe.c, RFC 4978).
 * Input: two control octets (output limit, input piece size), then data.
 * 1. The data as compressed input, arriving in pieces: inflating never
 *    fails the process, never leaves more than the limit in dst, and hands
 *    over exactly what zlib's own raw inflate of the whole makes (up to a
 *    cap: a small input may expand 1000-fold).
 * 2. The data as plain text: deflated in pieces of at most the piece size,
 *    then inflated under the limit, it comes back unchanged; and every
 *    deflate call ends on a sync flush once its source is empty.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "util/zpipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one input may inflate to before the run stops looking. */
#define FUZZ_ZPIPE_CAP (1024 * 1024)

struct fuzz_acc {
	unsigned char *p;
	size_t len;
};

/* zlib's raw inflate of all of d at once: the reference. Stops at the
 * end of the stream, an error, or the cap. */
static size_t
fuzz_zpipe_reference(const uint8_t *d, size_t n, unsigned char *out,
		     size_t cap, bool *clean_r)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, -15) != Z_OK)
		abort();
	zs.next_in = (unsigned char *)(uintptr_t)d;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	rc = inflate(&zs, Z_SYNC_FLUSH);
	/* Clean: all input taken with no error and no end of stream. */
	*clean_r = (rc == Z_OK || rc == Z_BUF_ERROR) && zs.avail_in == 0 &&
		   zs.avail_out > 0;
	cap -= zs.avail_out;
	inflateEnd(&zs);
	return cap;
}

/* Moves dst into acc, checking the limit. false once the cap is hit. */
static bool
fuzz_zpipe_take(struct evbuffer *dst, size_t limit, struct fuzz_acc *acc)
{
	size_t n = evbuffer_get_length(dst);

	if (n > limit)
		abort(); /* the bound zpipe_inflate promises */
	if (acc->len + n > FUZZ_ZPIPE_CAP)
		return false;
	evbuffer_remove(dst, acc->p + acc->len, n);
	acc->len += n;
	return true;
}

/* Inflates everything src holds, as conn.c does: drain, call again while
 * input or pending output remains. -1 on corrupt input, 1 at the cap. */
static int
fuzz_zpipe_inflate_all(struct zpipe *z, struct evbuffer *src,
		       struct evbuffer *dst, size_t limit, struct fuzz_acc *acc)
{
	for (unsigned rounds = 0;; rounds++) {
		size_t before = evbuffer_get_length(src);
		int rc = zpipe_inflate(z, src, dst, limit);
		size_t made = evbuffer_get_length(dst);

		if (!fuzz_zpipe_take(dst, limit, acc))
			return 1;
		if (rc < 0)
			return -1;
		if (evbuffer_get_length(src) == 0 && !zpipe_inflate_pending(z))
			return 0;
		/* Input left, or output pending: must move forward. */
		if (made == 0 && evbuffer_get_length(src) == before &&
		    rounds > 0)
			abort();
		if (rounds > FUZZ_ZPIPE_CAP)
			abort();
	}
}

static void
fuzz_zpipe_arbitrary(const uint8_t *d, size_t n, size_t limit, size_t piece,
		     struct fuzz_acc *acc, unsigned char *ref)
{
	struct zpipe *z = zpipe_new();
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	bool clean;
	size_t ref_len = fuzz_zpipe_reference(d, n, ref, FUZZ_ZPIPE_CAP,
					      &clean);
	int rc = 0;

	if (z == NULL || src == NULL || dst == NULL)
		abort();
	acc->len = 0;
	for (size_t off = 0; off < n && rc == 0; off += piece) {
		size_t len = n - off < piece ? n - off : piece;

		evbuffer_add(src, d + off, len);
		rc = fuzz_zpipe_inflate_all(z, src, dst, limit, acc);
	}
	/* Piece by piece or at once, zlib decodes the same octets. */
	if (rc == 0 && acc->len != ref_len)
		abort();
	/* Corrupt (or ended) for one is corrupt for the other. */
	if (rc == 0 && !clean && ref_len < FUZZ_ZPIPE_CAP)
		abort();
	if (rc < 0 && clean)
		abort();
	if (memcmp(acc->p, ref, acc->len < ref_len ? acc->len : ref_len) != 0)
		abort();
	evbuffer_free(src);
	evbuffer_free(dst);
	zpipe_free(&z);
}

static void
fuzz_zpipe_round_trip(const uint8_t *d, size_t n, size_t limit,
		      size_t piece, struct fuzz_acc *acc)
{
	struct zpipe *zo = zpipe_new(), *zi = zpipe_new();
	struct evbuffer *plain = evbuffer_new(), *wire = evbuffer_new();
	struct evbuffer *dst = evbuffer_new();

	if (zo == NULL || zi == NULL || plain == NULL || wire == NULL ||
	    dst == NULL)
		abort();
	evbuffer_add(plain, d, n);
	while (evbuffer_get_length(plain) > 0) {
		size_t before = evbuffer_get_length(plain);

		if (zpipe_deflate(zo, plain, wire, piece) < 0)
			abort();
		if (before - evbuffer_get_length(plain) > piece ||
		    evbuffer_get_length(plain) == before)
			abort();
	}
	/* RFC 4978 §4: what was sent can be decoded now (sync flush). */
	if (n > 0) {
		size_t wl = evbuffer_get_length(wire);
		const unsigned char *w = evbuffer_pullup(wire, -1);

		if (wl < 4 || memcmp(w + wl - 4, "\0\0\377\377", 4) != 0)
			abort();
	}
	acc->len = 0;
	if (fuzz_zpipe_inflate_all(zi, wire, dst, limit, acc) != 0)
		abort();
	if (acc->len != n || memcmp(acc->p, d, n) != 0)
		abort();
	evbuffer_free(plain);
	evbuffer_free(wire);
	evbuffer_free(dst);
	zpipe_free(&zo);
	zpipe_free(&zi);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char *ref, *accbuf;
	struct fuzz_acc acc;
	size_t limit, piece;

	if (size < 2)
		return 0;
	if (ref == NULL) {
		ref = malloc(FUZZ_ZPIPE_CAP);
		accbuf = malloc(FUZZ_ZPIPE_CAP);
		if (ref == NULL || accbuf == NULL)
			abort();
	}
	/* Limits from 1 octet to a few blocks; pieces from 1 to 4 KiB. */
	limit = 1 + (size_t)data[0] * 67;
	piece = 1 + (size_t)data[1] * 16;
	acc.p = accbuf;
	fuzz_zpipe_arbitrary(data + 2, size - 2, limit, piece, &acc, ref);
	fuzz_zpipe_round_trip(data + 2, size - 2, limit, piece, &acc);
	return 0;
}
