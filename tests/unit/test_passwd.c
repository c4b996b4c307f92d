/*
 * Unit tests for password hashing: new hashes are salted yescrypt, old
 * crypt(3) formats still verify, locked and missing hashes never match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/passwd.h"

/* sha512-crypt of "password" with salt "saltsalt", as Dovecot or
 * /etc/shadow would hold it (computed with libxcrypt). */
static const char sha512_hash[] =
	"$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/"
	"jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/";

static void
test_hash_and_verify(void **state)
{
	char h1[256], h2[256];

	assert_int_equal(passwd_hash("correct horse", h1, sizeof(h1)), 0);
	assert_memory_equal(h1, "$y$", 3);
	assert_true(passwd_verify("correct horse", h1));
	assert_false(passwd_verify("correct hors", h1));
	assert_false(passwd_verify("correct horse ", h1));
	assert_false(passwd_verify("", h1));
	/* Salted: the same password hashes differently each time. */
	assert_int_equal(passwd_hash("correct horse", h2, sizeof(h2)), 0);
	assert_string_not_equal(h1, h2);
	assert_true(passwd_verify("correct horse", h2));
}

static void
test_unicode_and_long(void **state)
{
	char h[256];
	char longpw[1025];

	assert_int_equal(passwd_hash("p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac", h,
				     sizeof(h)),
			 0);
	assert_true(passwd_verify("p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac", h));
	assert_false(passwd_verify("passw\xc3\xb6rd \xe2\x82\xac", h));

	/* libxcrypt takes up to CRYPT_MAX_PASSPHRASE_SIZE - 1 octets; longer
	 * is an error, never a silent truncation. */
	memset(longpw, 'x', sizeof(longpw) - 1);
	longpw[511] = '\0';
	assert_int_equal(passwd_hash(longpw, h, sizeof(h)), 0);
	assert_true(passwd_verify(longpw, h));
	longpw[500] = 'y';
	assert_false(passwd_verify(longpw, h));
	longpw[511] = 'x';
	longpw[sizeof(longpw) - 1] = '\0';
	assert_int_equal(passwd_hash(longpw, h, sizeof(h)), -1);
	assert_false(passwd_verify(longpw, h));
}

static void
test_legacy_formats(void **state)
{
	assert_true(passwd_verify("password", sha512_hash));
	assert_false(passwd_verify("Password", sha512_hash));
}

static void
test_no_match_cases(void **state)
{
	char h[256];
	char small[8];

	assert_false(passwd_verify("x", NULL));
	assert_false(passwd_verify("x", ""));
	assert_false(passwd_verify("", ""));
	assert_false(passwd_verify("x", "*"));
	assert_false(passwd_verify("x", "!"));
	assert_false(passwd_verify("*", "*"));
	assert_false(passwd_verify("!", "!"));
	assert_false(passwd_verify("x", "*0"));
	assert_false(passwd_verify("password", "!$6$saltsalt$x"));
	assert_false(passwd_verify("x", "$unknown$abc"));
	assert_false(passwd_verify("x", "garbage"));
	assert_false(passwd_verify(NULL, sha512_hash));
	/* A truncated stored hash must not match. */
	assert_int_equal(passwd_hash("pw", h, sizeof(h)), 0);
	h[strlen(h) - 1] = '\0';
	assert_false(passwd_verify("pw", h));
	/* Output buffer too small: error, not truncation. */
	assert_int_equal(passwd_hash("pw", small, sizeof(small)), -1);
	assert_int_equal(passwd_hash(NULL, h, sizeof(h)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_and_verify),
		cmocka_unit_test(test_unicode_and_long),
		cmocka_unit_test(test_legacy_formats),
		cmocka_unit_test(test_no_match_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
