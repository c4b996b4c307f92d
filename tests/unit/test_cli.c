/*
 * Unit tests of the admin commands' shared helpers (src/cli/cli.c): domain
 * and address validation, password line reading, argument splitting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_util.h"

static void
domain_ok(const char *in, const char *want)
{
	char out[CLI_DOMAIN_BUF];
	const char *why = NULL;

	if (cli_domain_check(in, out, sizeof(out), &why) != 0)
		fail_msg("'%s' rejected: %s", in, why);
	assert_string_equal(out, want);
}

static void
domain_bad(const char *in, const char *why_part)
{
	char out[CLI_DOMAIN_BUF];
	const char *why = NULL;

	if (cli_domain_check(in, out, sizeof(out), &why) == 0)
		fail_msg("'%s' accepted", in);
	assert_non_null(why);
	if (why_part != NULL && strstr(why, why_part) == NULL)
		fail_msg("'%s': reason '%s' lacks '%s'", in, why, why_part);
}

static void
test_domain_valid(void **state)
{
	char name[300];

	domain_ok("example.com", "example.com");
	domain_ok("EXAMPLE.Com", "example.com");
	domain_ok("mail.Example.ORG", "mail.example.org");
	domain_ok("a-b.c-d.org", "a-b.c-d.org");
	domain_ok("xn--bcher-kva.example", "xn--bcher-kva.example");
	domain_ok("XN--BCHER-KVA.Example", "xn--bcher-kva.example");
	domain_ok("1and1.com", "1and1.com");
	domain_ok("example.x1", "example.x1");
	/* Longest label: 63. */
	memset(name, 'a', 63);
	memcpy(name + 63, ".org", 5);
	domain_ok(name, name);
	/* Longest name: 253 (four labels of 63 minus one, with dots). */
	memset(name, 'b', 253);
	for (int i = 63; i < 253; i += 64)
		name[i] = '.';
	name[253] = '\0';
	assert_int_equal(strlen(name), 253);
	domain_ok(name, name);
}

static void
test_domain_invalid(void **state)
{
	char name[300];

	domain_bad("", "empty");
	domain_bad("localhost", "dot");
	domain_bad(".example.com", "empty label");
	domain_bad("example.com.", "empty label");
	domain_bad("example..com", "empty label");
	domain_bad("-ex.com", "hyphen");
	domain_bad("ex-.com", "hyphen");
	domain_bad("ex.-com", "hyphen");
	domain_bad("ex_ample.com", "invalid character");
	domain_bad("ex ample.com", "invalid character");
	domain_bad("exa\tmple.com", "invalid character");
	domain_bad("user@example.com", "invalid character");
	domain_bad("1.2.3.4", "digits");
	domain_bad("[127.0.0.1]", NULL);
	/* Raw UTF-8 is refused with a pointer to the punycode form. */
	domain_bad("b\xc3\xbc" "cher.example", "punycode");
	domain_bad("example.\xe4\xb8\xad\xe5\x9b\xbd", "ASCII");
	memset(name, 'a', 64);
	memcpy(name + 64, ".org", 5);
	domain_bad(name, "63");
	memset(name, 'b', 254);
	for (int i = 63; i < 254; i += 64)
		name[i] = '.';
	name[254] = '\0';
	domain_bad(name, "253");
}

static void
local_ok(const char *s, bool allow_plus)
{
	const char *why = NULL;

	if (cli_localpart_check(s, strlen(s), allow_plus, &why) != 0)
		fail_msg("'%s' rejected: %s", s, why);
}

static void
local_bad(const char *s, bool allow_plus, const char *why_part)
{
	const char *why = NULL;

	if (cli_localpart_check(s, strlen(s), allow_plus, &why) == 0)
		fail_msg("'%s' accepted", s);
	if (why_part != NULL && strstr(why, why_part) == NULL)
		fail_msg("'%s': reason '%s' lacks '%s'", s, why, why_part);
}

static void
test_localpart(void **state)
{
	char lp[80];

	local_ok("alice", false);
	local_ok("Alice.Smith", false);
	local_ok("o'brien", false);
	local_ok("a!#$%&'*-/=?^_`{|}~z", false);
	local_ok("a+b", true);
	local_ok("-", false);
	memset(lp, 'x', 64);
	lp[64] = '\0';
	local_ok(lp, false);

	lp[64] = 'x';
	lp[65] = '\0';
	local_bad(lp, false, "64");
	local_bad("", false, "empty");
	local_bad(".alice", false, "dot");
	local_bad("alice.", false, "dot");
	local_bad("al..ice", false, "two dots");
	local_bad("a+b", false, "tag separator");
	local_bad("a b", true, "invalid character");
	local_bad("a\"b", true, "invalid character");
	local_bad("a(b)", true, "invalid character");
	local_bad("a,b", true, "invalid character");
	local_bad("a\\b", true, "invalid character");
	local_bad("a@b", true, "invalid character");
	local_bad("j\xc3\xb6rg", true, "non-ASCII");
	local_bad("a\x01", true, "invalid character");
}

static void
addr_ok(const char *in, unsigned flags, const char *want)
{
	char out[CLI_ADDRESS_BUF];
	const char *why = NULL;

	if (cli_address_check(in, flags, out, sizeof(out), &why) != 0)
		fail_msg("'%s' rejected: %s", in, why);
	assert_string_equal(out, want);
}

static void
addr_bad(const char *in, unsigned flags)
{
	char out[CLI_ADDRESS_BUF];
	const char *why = NULL;

	if (cli_address_check(in, flags, out, sizeof(out), &why) == 0)
		fail_msg("'%s' accepted as '%s'", in, out);
	assert_non_null(why);
}

static void
test_address(void **state)
{
	char big[400];

	addr_ok("alice@example.com", CLI_ADDR_NO_PLUS, "alice@example.com");
	/* Domain lower-cased, local part kept as given. */
	addr_ok("Alice@EXAMPLE.Com", CLI_ADDR_NO_PLUS, "Alice@example.com");
	addr_ok("bob+lists@Example.com", 0, "bob+lists@example.com");
	addr_ok("@Example.COM", CLI_ADDR_CATCHALL, "@example.com");
	addr_ok("x@xn--bcher-kva.example", 0, "x@xn--bcher-kva.example");

	addr_bad("bob+lists@example.com", CLI_ADDR_NO_PLUS);
	addr_bad("@example.com", 0);
	addr_bad("@example.com", CLI_ADDR_NO_PLUS);
	addr_bad("alice", CLI_ADDR_CATCHALL);
	addr_bad("alice@", 0);
	addr_bad("alice@localhost", 0);
	addr_bad("a@b@example.com", 0);
	addr_bad("alice@exa mple.com", 0);
	addr_bad("al ice@example.com", 0);
	addr_bad("\"al ice\"@example.com", 0);
	addr_bad("alice@[127.0.0.1]", 0);
	addr_bad(".alice@example.com", 0);
	addr_bad("alice@b\xc3\xbc" "cher.example", 0);
	addr_bad("", CLI_ADDR_CATCHALL);
	addr_bad("@", CLI_ADDR_CATCHALL);
	/* 65-byte local part. */
	memset(big, 'l', 65);
	memcpy(big + 65, "@example.com", 13);
	addr_bad(big, 0);
	/* 64 + '@' + 253 = 318 bytes: the longest valid address. */
	memset(big, 'l', 64);
	big[64] = '@';
	memset(big + 65, 'd', 253);
	for (int i = 65 + 63; i < 65 + 253; i += 64)
		big[i] = '.';
	big[65 + 253] = '\0';
	addr_ok(big, 0, big);
}

/* Feeds data into a pipe and reads a password from it. */
static int
read_pw(const char *data, size_t len, char *buf, size_t cap,
	const char **why_r, char *rest, size_t restcap)
{
	int fds[2], rc;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], data, len), (ssize_t)len);
	close(fds[1]);
	rc = cli_password_read_fd(fds[0], buf, cap, why_r);
	n = read(fds[0], rest, restcap - 1);
	rest[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	return rc;
}

static void
test_password_read(void **state)
{
	static char big[2100];
	char buf[CLI_PASSWORD_BUF], rest[64];
	const char *why = NULL;

	assert_int_equal(read_pw("secret\n", 7, buf, sizeof(buf), &why, rest,
				 sizeof(rest)), 0);
	assert_string_equal(buf, "secret");
	assert_int_equal(read_pw("s3 cr\xc3\xa9t\r\nnext\n", 15, buf,
				 sizeof(buf), &why, rest, sizeof(rest)), 0);
	assert_string_equal(buf, "s3 cr\xc3\xa9t");
	/* Only the first line is consumed. */
	assert_string_equal(rest, "next\n");
	assert_int_equal(read_pw("nonl", 4, buf, sizeof(buf), &why, rest,
				 sizeof(rest)), 0);
	assert_string_equal(buf, "nonl");

	assert_int_equal(read_pw("\n", 1, buf, sizeof(buf), &why, rest,
				 sizeof(rest)), -1);
	assert_non_null(strstr(why, "empty"));
	assert_int_equal(read_pw("\r\n", 2, buf, sizeof(buf), &why, rest,
				 sizeof(rest)), -1);
	assert_non_null(strstr(why, "empty"));
	assert_int_equal(read_pw("", 0, buf, sizeof(buf), &why, rest,
				 sizeof(rest)), -1);
	assert_non_null(strstr(why, "empty"));
	assert_int_equal(read_pw("a\0b\n", 4, buf, sizeof(buf), &why, rest,
				 sizeof(rest)), -1);
	assert_non_null(strstr(why, "NUL"));
	assert_int_equal(buf[0], '\0'); /* wiped */

	memset(big, 'p', sizeof(big));
	big[1024] = '\r';
	big[1025] = '\n';
	assert_int_equal(read_pw(big, 1026, buf, sizeof(buf), &why, rest,
				 sizeof(rest)), 0);
	assert_int_equal(strlen(buf), 1024);
	big[1024] = 'p';
	big[1025] = '\n';
	assert_int_equal(read_pw(big, 1026, buf, sizeof(buf), &why, rest,
				 sizeof(rest)), -1);
	assert_non_null(strstr(why, "too long"));
	/* A far longer line is consumed whole, then refused. */
	big[1025] = 'p';
	big[2000] = '\n';
	memcpy(big + 2001, "tail", 4);
	assert_int_equal(read_pw(big, 2005, buf, sizeof(buf), &why, rest,
				 sizeof(rest)), -1);
	assert_non_null(strstr(why, "too long"));
	assert_string_equal(rest, "tail");
}

static void
test_split_args(void **state)
{
	char *argv[] = { "a@example.com", "--password-stdin", "--", "--x",
			 NULL };
	char *pos[4];
	const char *bad = NULL;
	bool flag = false;

	assert_int_equal(cli_split_args(4, argv, true, &flag, pos, 4, &bad),
			 2);
	assert_true(flag);
	assert_string_equal(pos[0], "a@example.com");
	assert_string_equal(pos[1], "--x");
	assert_int_equal(cli_split_args(2, argv, false, &flag, pos, 4, &bad),
			 -1);
	assert_string_equal(bad, "--password-stdin");
	/* More positionals than room: counted, not stored. */
	assert_int_equal(cli_split_args(1, argv, false, NULL, pos, 0, &bad),
			 1);
	assert_true(cli_wants_help(2, (char *[]){ "add", "--help" }));
	assert_false(cli_wants_help(1, argv));
}

static void
test_misc(void **state)
{
	char buf[96], longin[200];

	assert_true(cli_err_is_locked("database is locked"));
	assert_true(cli_err_is_locked("SQLITE_BUSY: database busy"));
	assert_false(cli_err_is_locked("domain exists"));
	assert_false(cli_err_is_locked(NULL));
	assert_string_equal(cli_quote("a\x1b[2Jb\n", buf, sizeof(buf)),
			    "a?[2Jb?");
	memset(longin, 'z', sizeof(longin) - 1);
	longin[sizeof(longin) - 1] = '\0';
	cli_quote(longin, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 83);
	assert_string_equal(buf + 80, "...");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_valid),
		cmocka_unit_test(test_domain_invalid),
		cmocka_unit_test(test_localpart),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_password_read),
		cmocka_unit_test(test_split_args),
		cmocka_unit_test(test_misc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
