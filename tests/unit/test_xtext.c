/*
 * Unit tests for xtext (RFC 3461 §4): decoding, refusals, round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "util/xtext.h"

static void
test_decode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(xtext_decode("rfc822;a+2Bb@x.org", 18, out,
				      sizeof(out)), 0);
	assert_string_equal(out, "rfc822;a+b@x.org");
	assert_int_equal(xtext_decode("x+3Dy", 5, out, sizeof(out)), 0);
	assert_string_equal(out, "x=y");
	assert_int_equal(xtext_decode("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void
test_refused(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(xtext_decode("a=b", 3, out, sizeof(out)), -1);
	assert_int_equal(xtext_decode("a+2", 3, out, sizeof(out)), -1);
	assert_int_equal(xtext_decode("a+", 2, out, sizeof(out)), -1);
	assert_int_equal(xtext_decode("a+2b", 4, out, sizeof(out)), -1);
	assert_int_equal(xtext_decode("a+00", 4, out, sizeof(out)), -1);
	assert_int_equal(xtext_decode("a b", 3, out, sizeof(out)), -1);
	assert_int_equal(xtext_decode("\x80", 1, out, sizeof(out)), -1);
	assert_int_equal(xtext_decode("12345678", 8, out, sizeof(out)), -1);
	assert_int_equal(xtext_decode("1234567", 7, out, sizeof(out)), 0);
}

static void
test_round_trip(void **state)
{
	const char *in = "a+b=c d\x01\xc3\xa9~";
	char enc[64], dec[64];

	(void)state;
	assert_int_equal(xtext_encode(in, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "a+2Bb+3Dc+20d+01+C3+A9~");
	assert_int_equal(xtext_decode(enc, strlen(enc), dec, sizeof(dec)), 0);
	assert_string_equal(dec, in);
	assert_int_equal(xtext_encode(in, enc, 5), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
