/*
 * Unit tests for util/str: the 8-bit scan (every message body passes it,
 * eight octets at a time) at every alignment and length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/str.h"

static void
test_has_8bit_none(void **state)
{
	char buf[80];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_false(str_has_8bit(buf, 0));
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; off + len <= sizeof(buf); len++)
			assert_false(str_has_8bit(buf + off, len));
	buf[0] = 0x7f;
	assert_false(str_has_8bit(buf, 1));
}

/* One 8-bit octet anywhere, in any word or the tail, is found; one just
 * past the range is not. */
static void
test_has_8bit_each_position(void **state)
{
	unsigned char buf[80];

	(void)state;
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 1; off + len < sizeof(buf); len++)
			for (size_t at = 0; at <= len; at++) {
				memset(buf, 'a', sizeof(buf));
				buf[off + at] = at % 2 ? 0x80 : 0xff;
				assert_int_equal(str_has_8bit(buf + off, len),
						 at < len);
			}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_has_8bit_none),
		cmocka_unit_test(test_has_8bit_each_position),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
