/*
 * Unit tests for SASL PLAIN (RFC 4616) and LOGIN decoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/sasl.h"
#include "util/base64.h"

/* Encodes n raw bytes into a static buffer (test helper). */
static const char *
b64(const void *raw, size_t n)
{
	static char out[BASE64_ENCODED_LEN(16384) + 1];

	assert_true(BASE64_ENCODED_LEN(n) < sizeof(out));
	base64_encode(raw, n, out);
	return out;
}

static int
plain(const void *raw, size_t n, struct sasl_creds *c)
{
	const char *enc = b64(raw, n);

	return sasl_plain_decode(enc, strlen(enc), c);
}

static void
test_mech_parse(void **state)
{
	assert_int_equal(sasl_mech_parse("PLAIN", 5), SASL_MECH_PLAIN);
	assert_int_equal(sasl_mech_parse("plain", 5), SASL_MECH_PLAIN);
	assert_int_equal(sasl_mech_parse("Login", 5), SASL_MECH_LOGIN);
	assert_int_equal(sasl_mech_parse("PLAINX", 6), SASL_MECH_UNKNOWN);
	assert_int_equal(sasl_mech_parse("PLAI", 4), SASL_MECH_UNKNOWN);
	assert_int_equal(sasl_mech_parse("PLAIN ", 5), SASL_MECH_PLAIN);
	assert_int_equal(sasl_mech_parse("CRAM-MD5", 8), SASL_MECH_UNKNOWN);
	assert_int_equal(sasl_mech_parse("", 0), SASL_MECH_UNKNOWN);
}

static void
test_plain_ok(void **state)
{
	struct sasl_creds c;

	/* RFC 4616 §4 example: no authzid. */
	assert_int_equal(
		sasl_plain_decode("AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 28, &c), 0);
	assert_string_equal(c.authzid, "");
	assert_string_equal(c.user, "tim");
	assert_string_equal(c.pass, "tanstaaftanstaaf");
	sasl_creds_clear(&c);

	assert_int_equal(plain("Ursel\0Kurt\0xipj3plmq", 20, &c), 0);
	assert_string_equal(c.authzid, "Ursel");
	assert_string_equal(c.user, "Kurt");
	assert_string_equal(c.pass, "xipj3plmq");

	/* Spaces and UTF-8 in the password survive. */
	assert_int_equal(plain("\0j\xc3\xb6rg@example.com\0p w \xe2\x82\xac",
			       26, &c),
			 0);
	assert_string_equal(c.user, "j\xc3\xb6rg@example.com");
	assert_string_equal(c.pass, "p w \xe2\x82\xac");
	sasl_creds_clear(&c);
	assert_string_equal(c.pass, "");
}

static void
test_plain_bad(void **state)
{
	struct sasl_creds c;

	/* Structure: missing NULs, empty authcid/password, NUL in a field. */
	assert_int_equal(plain("userpass", 8, &c), -1);
	assert_int_equal(plain("\0userpass", 9, &c), -1);
	assert_int_equal(plain("\0\0pass", 6, &c), -1);
	assert_int_equal(plain("\0user\0", 6, &c), -1);
	assert_int_equal(plain("\0user\0pa\0ss", 11, &c), -1);
	assert_int_equal(plain("\0user\0pass\0", 11, &c), -1);
	assert_int_equal(plain("", 0, &c), -1);
	assert_string_equal(c.user, "");
	assert_string_equal(c.pass, "");

	/* Bad base64. */
	assert_int_equal(sasl_plain_decode("AHRpbQB0YW5zdGFhZnRhbnN0YWF", 27, &c),
			 -1);
	assert_int_equal(sasl_plain_decode("AHRp bQB0YW5zdGFhZnRhbnN0YWFm", 29,
					   &c),
			 -1);
	assert_int_equal(sasl_plain_decode("=", 1, &c), -1);
	assert_int_equal(sasl_plain_decode("*", 1, &c), -1);
}

static void
test_plain_lengths(void **state)
{
	char raw[LIMIT_ADDRESS + SASL_PASS_MAX + 8];
	struct sasl_creds c;
	size_t n;

	/* Longest user and password fit exactly. */
	raw[0] = '\0';
	memset(raw + 1, 'u', LIMIT_ADDRESS);
	raw[1 + LIMIT_ADDRESS] = '\0';
	memset(raw + 2 + LIMIT_ADDRESS, 'p', SASL_PASS_MAX);
	n = 2 + LIMIT_ADDRESS + SASL_PASS_MAX;
	assert_int_equal(plain(raw, n, &c), 0);
	assert_int_equal(strlen(c.user), LIMIT_ADDRESS);
	assert_int_equal(strlen(c.pass), SASL_PASS_MAX);
	/* One octet more in the password, then in the user. */
	raw[n] = 'p';
	assert_int_equal(plain(raw, n + 1, &c), -1);
	memmove(raw + 2, raw + 1, n);
	raw[1] = 'u';
	assert_int_equal(plain(raw, n + 1, &c), -1);
}

static void
test_plain_huge(void **state)
{
	/* Far beyond LIMIT_SASL_LINE, as a hostile client sends it. */
	size_t n = 100 * 1024;
	char *big = malloc(n);
	struct sasl_creds c;

	assert_non_null(big);
	memset(big, 'A', n);
	assert_int_equal(sasl_plain_decode(big, n, &c), -1);
	assert_int_equal(sasl_plain_decode(big, LIMIT_SASL_LINE + 4, &c), -1);
	free(big);
}

static void
test_login(void **state)
{
	char out[64];
	char small[4];
	size_t n;
	const char *e;

	assert_int_equal(sasl_login_decode("dXNlcm5hbWU=", 12, out,
					   sizeof(out)),
			 0);
	assert_string_equal(out, "username");
	assert_int_equal(sasl_login_decode("=", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Exactly fits / one too many for a 4-byte buffer ("abc" / "abcd"). */
	assert_int_equal(sasl_login_decode("YWJj", 4, small, sizeof(small)), 0);
	assert_string_equal(small, "abc");
	assert_int_equal(sasl_login_decode("YWJjZA==", 8, small, sizeof(small)),
			 -1);
	assert_int_equal(sasl_login_decode("YWJj", 4, small, 0), -1);
	/* NUL inside, bad base64. */
	e = b64("ab\0c", 4);
	n = strlen(e);
	assert_int_equal(sasl_login_decode(e, n, out, sizeof(out)), -1);
	assert_int_equal(sasl_login_decode("dXNlcm5hbWU", 11, out, sizeof(out)),
			 -1);
	assert_int_equal(sasl_login_decode("*", 1, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mech_parse),
		cmocka_unit_test(test_plain_ok),
		cmocka_unit_test(test_plain_bad),
		cmocka_unit_test(test_plain_lengths),
		cmocka_unit_test(test_plain_huge),
		cmocka_unit_test(test_login),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
