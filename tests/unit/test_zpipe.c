/* Unit tests for util/zpipe.c: raw DEFLATE between evbuffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <zlib.h>

#include "util/zpipe.h"

static void
fill_text(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		/* Half predictable, half noise: compresses, not to nothing. */
		p[i] = (i % 64 < 32) ? (unsigned char)('a' + i % 26)
				     : (unsigned char)(seed >> 16);
	}
}

/* Both directions of one pipe talking to itself. */
static void
test_round_trip(void **state)
{
	struct zpipe *z = zpipe_new();
	struct evbuffer *plain = evbuffer_new(), *wire = evbuffer_new();
	struct evbuffer *back = evbuffer_new();
	size_t n = 700 * 1024;
	unsigned char *data = malloc(n), *out = malloc(n);

	assert_non_null(z);
	fill_text(data, n, 7);
	/* In pieces, as replies are written; the last piece in steps of
	 * at most 30,000 bytes, as the loop takes it (no sync flush until
	 * all is in). */
	for (size_t off = 0; off < n; off += 100000) {
		size_t len = n - off < 100000 ? n - off : 100000;
		evbuffer_add(plain, data + off, len);
		if (off + len < n) {
			assert_int_equal(zpipe_deflate(z, plain, wire,
						       SIZE_MAX), 0);
			assert_int_equal(evbuffer_get_length(plain), 0);
			continue;
		}
		while (evbuffer_get_length(plain) > 0) {
			size_t before = evbuffer_get_length(plain);

			assert_int_equal(zpipe_deflate(z, plain, wire, 30000),
					 0);
			assert_true(before - evbuffer_get_length(plain)
				    <= 30000);
		}
	}
	assert_true(evbuffer_get_length(wire) < n);
	/* The sync flush ends every deflate call on 00 00 ff ff. */
	{
		unsigned char tail[4];
		struct evbuffer_ptr p;
		evbuffer_ptr_set(wire, &p, evbuffer_get_length(wire) - 4,
				 EVBUFFER_PTR_SET);
		evbuffer_copyout_from(wire, &p, tail, 4);
		assert_memory_equal(tail, "\x00\x00\xff\xff", 4);
	}
	/* Bounded inflate: never more than the limit at once. */
	while (evbuffer_get_length(wire) > 0 || zpipe_inflate_pending(z)) {
		size_t before = evbuffer_get_length(back);
		assert_int_equal(zpipe_inflate(z, wire, back, before + 50000),
				 0);
		assert_true(evbuffer_get_length(back) <= before + 50000);
		assert_true(evbuffer_get_length(back) > before);
	}
	assert_int_equal(evbuffer_get_length(back), n);
	evbuffer_remove(back, out, n);
	assert_memory_equal(out, data, n);
	free(data);
	free(out);
	evbuffer_free(plain);
	evbuffer_free(wire);
	evbuffer_free(back);
	zpipe_free(&z);
	assert_null(z);
}

/* A bomb: 32 MiB of zeros in a few KiB; inflating stops at the limit
 * and keeps the rest for later. */
static void
test_bomb_bounded(void **state)
{
	struct zpipe *z = zpipe_new();
	struct evbuffer *plain = evbuffer_new(), *wire = evbuffer_new();
	struct evbuffer *back = evbuffer_new();
	static unsigned char zeros[1 << 20];
	size_t total = 0;

	for (int i = 0; i < 32; i++) {
		evbuffer_add(plain, zeros, sizeof(zeros));
		assert_int_equal(zpipe_deflate(z, plain, wire, SIZE_MAX), 0);
	}
	assert_true(evbuffer_get_length(wire) < 256 * 1024);
	while (evbuffer_get_length(wire) > 0 || zpipe_inflate_pending(z)) {
		assert_int_equal(zpipe_inflate(z, wire, back, 256 * 1024), 0);
		assert_true(evbuffer_get_length(back) <= 256 * 1024);
		total += evbuffer_get_length(back);
		evbuffer_drain(back, evbuffer_get_length(back));
	}
	assert_int_equal(total, 32u << 20);
	evbuffer_free(plain);
	evbuffer_free(wire);
	evbuffer_free(back);
	zpipe_free(&z);
}

static void
test_garbage_and_end(void **state)
{
	struct zpipe *z = zpipe_new();
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	unsigned char junk[64];
	unsigned char buf[64];
	z_stream s;

	/* Block type 3 is reserved (RFC 1951 §3.2.3): corrupt at once. */
	memset(junk, 0xff, sizeof(junk));
	evbuffer_add(in, junk, sizeof(junk));
	assert_int_equal(zpipe_inflate(z, in, out, 1024), -1);
	zpipe_free(&z);

	/* A stream the peer ended (final block) is refused too. */
	z = zpipe_new();
	memset(&s, 0, sizeof(s));
	assert_int_equal(deflateInit2(&s, 6, Z_DEFLATED, -15, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	s.next_in = (unsigned char *)"a1 NOOP\r\n";
	s.avail_in = 9;
	s.next_out = buf;
	s.avail_out = sizeof(buf);
	assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
	evbuffer_drain(in, evbuffer_get_length(in));
	evbuffer_add(in, buf, sizeof(buf) - s.avail_out);
	deflateEnd(&s);
	assert_int_equal(zpipe_inflate(z, in, out, 1024), -1);
	evbuffer_free(in);
	evbuffer_free(out);
	zpipe_free(&z);
}

/* Empty output: no flush marker, nothing written. */
static void
test_empty_deflate(void **state)
{
	struct zpipe *z = zpipe_new();
	struct evbuffer *plain = evbuffer_new(), *wire = evbuffer_new();

	assert_int_equal(zpipe_deflate(z, plain, wire, SIZE_MAX), 0);
	assert_int_equal(evbuffer_get_length(wire), 0);
	evbuffer_free(plain);
	evbuffer_free(wire);
	zpipe_free(&z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bomb_bounded),
		cmocka_unit_test(test_garbage_and_end),
		cmocka_unit_test(test_empty_deflate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
