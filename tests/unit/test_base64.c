/*
 * Unit tests for base64: RFC 4648 §10 test vectors, round trips, and the
 * strictness the SASL code relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/base64.h"

static const char *const vectors[][2] = {
	{"", ""},
	{"f", "Zg=="},
	{"fo", "Zm8="},
	{"foo", "Zm9v"},
	{"foob", "Zm9vYg=="},
	{"fooba", "Zm9vYmE="},
	{"foobar", "Zm9vYmFy"},
};

static void
test_rfc4648_vectors(void **state)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const char *plain = vectors[i][0], *enc = vectors[i][1];
		char out[16];
		uint8_t dec[16];
		size_t n = 99;

		base64_encode(plain, strlen(plain), out);
		assert_string_equal(out, enc);
		assert_int_equal(strlen(out), BASE64_ENCODED_LEN(strlen(plain)));
		assert_int_equal(
			base64_decode(enc, strlen(enc), dec, sizeof(dec), &n),
			0);
		assert_int_equal(n, strlen(plain));
		assert_memory_equal(dec, plain, n);
	}
}

static void
test_round_trip_all_bytes(void **state)
{
	uint8_t in[256], dec[256];
	char enc[BASE64_ENCODED_LEN(256) + 1];
	size_t n;

	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)(255 - i);
	for (size_t len = 0; len <= sizeof(in); len++) {
		base64_encode(in, len, enc);
		assert_int_equal(base64_decode(enc, strlen(enc), dec,
					       sizeof(dec), &n),
				 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, in, len);
	}
}

static void
test_empty_forms(void **state)
{
	uint8_t out[4];
	size_t n = 99;

	/* RFC 4954 §4: "=" is an empty initial response. */
	assert_int_equal(base64_decode("=", 1, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(base64_decode("", 0, out, 0, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_strict_rejects(void **state)
{
	static const char *const bad[] = {
		"Zg",	    /* missing padding */
		"Zg=",	    /* short padding */
		"Zg===",    /* too much padding */
		"====",	    /* only padding */
		"Z===",	    /* three pad characters */
		"Zm9v\n",   /* whitespace */
		"Zm 9v",    /* whitespace */
		"Zm9v=",    /* trailing junk */
		"Zg==Zg==", /* padding in the middle */
		"Zm=v",	    /* data after padding */
		"Zh==",	    /* non-zero pad bits */
		"Zm9=",	    /* non-zero pad bits */
		"Zm9v!A==", /* outside the alphabet */
		"Zm-_",	    /* base64url alphabet */
		"==",
		"A",
	};
	uint8_t out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (base64_decode(bad[i], strlen(bad[i]), out, sizeof(out),
				  &n) != -1)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_int_equal(base64_decode(bad[i], strlen(bad[i]), out,
					       sizeof(out), &n),
				 -1);
	}
	/* NUL inside the input. */
	assert_int_equal(base64_decode("Zm\0v", 4, out, sizeof(out), &n), -1);
	assert_int_equal(base64_decode("\x80\x80\x80\x80", 4, out, sizeof(out),
				       &n),
			 -1);
}

static void
test_capacity(void **state)
{
	uint8_t out[6];
	size_t n;

	assert_int_equal(base64_decode("Zm9vYmFy", 8, out, 6, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(base64_decode("Zm9vYmFy", 8, out, 5, &n), -1);
	assert_int_equal(base64_decode("Zm9vYg==", 8, out, 4, &n), 0);
	assert_int_equal(base64_decode("Zm9vYg==", 8, out, 3, &n), -1);
	assert_int_equal(base64_decode("Zg==", 4, out, 0, &n), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_round_trip_all_bytes),
		cmocka_unit_test(test_empty_forms),
		cmocka_unit_test(test_strict_rejects),
		cmocka_unit_test(test_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
