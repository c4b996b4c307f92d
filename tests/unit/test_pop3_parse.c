/*
 * Unit tests for the POP3 command parser (RFC 1939, RFC 2449, RFC 5034).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/limits.h"
#include "pop3/pop3_parse.h"

static struct pop3_cmd test_cmd;

static struct pop3_cmd *
parse_ok(const char *line, enum pop3_verb v, size_t nargs)
{
	const char *err = NULL;
	int r = pop3_parse_command(line, strlen(line), &test_cmd, &err);

	if (r != 0)
		print_error("unexpected failure for \"%s\": %s\n", line, err);
	assert_int_equal(r, 0);
	assert_int_equal(test_cmd.verb, v);
	assert_int_equal(test_cmd.nargs, nargs);
	return &test_cmd;
}

static void
parse_bad_n(const char *line, size_t len)
{
	const char *err = NULL;
	int r = pop3_parse_command(line, len, &test_cmd, &err);

	if (r == 0)
		print_error("unexpected success for \"%.*s\"\n", (int)len, line);
	assert_int_equal(r, -1);
	assert_non_null(err);
	assert_true(strlen(err) > 0);
}

static void
parse_bad(const char *line)
{
	parse_bad_n(line, strlen(line));
}

static void
assert_arg(const struct pop3_cmd *c, size_t i, const char *want)
{
	assert_int_equal(c->arg_lens[i], strlen(want));
	assert_memory_equal(c->args[i], want, strlen(want));
}

static void
test_keywords(void **state)
{
	parse_ok("STAT", POP3_VERB_STAT, 0);
	parse_ok("stat", POP3_VERB_STAT, 0);
	parse_ok("Quit", POP3_VERB_QUIT, 0);
	parse_ok("CAPA", POP3_VERB_CAPA, 0);
	parse_ok("STLS", POP3_VERB_STLS, 0);
	parse_ok("RSET", POP3_VERB_RSET, 0);
	parse_ok("NOOP", POP3_VERB_NOOP, 0);
	parse_ok("NOOP ", POP3_VERB_NOOP, 0);
	parse_bad("");
	parse_bad("ST");
	parse_bad("STATS");
	parse_bad("FOO");
	parse_bad("XTND XMIT");
	parse_bad(" STAT");
	parse_bad("STAT\t");
	parse_bad("St\xc3\xa4t");
	parse_bad("STAT 1");
	parse_bad("QUIT now");
	parse_bad("STLS x");
}

static void
test_user_pass(void **state)
{
	struct pop3_cmd *c;

	c = parse_ok("USER alice", POP3_VERB_USER, 1);
	assert_arg(c, 0, "alice");
	c = parse_ok("user alice.longname@subdomain.example-company.com",
		     POP3_VERB_USER, 1);
	parse_bad("USER");
	parse_bad("USER a b");
	parse_bad("USER a\x01");

	c = parse_ok("PASS secret", POP3_VERB_PASS, 1);
	assert_int_equal(c->rest_len, 6);
	assert_memory_equal(c->rest, "secret", 6);
	c = parse_ok("PASS correct horse battery staple ", POP3_VERB_PASS, 1);
	assert_int_equal(c->rest_len, 29);
	assert_memory_equal(c->rest, "correct horse battery staple ", 29);
	c = parse_ok("pass  lead", POP3_VERB_PASS, 1);
	assert_memory_equal(c->rest, " lead", 5);
	c = parse_ok("PASS p\xc3\xa4ss\tw", POP3_VERB_PASS, 1);
	assert_int_equal(c->rest_len, 7);
	parse_bad("PASS");
	parse_bad("PASS ");
	parse_bad("PASSX y");
	parse_bad("PASS a\rb");
}

static void
test_apop_auth(void **state)
{
	struct pop3_cmd *c;

	c = parse_ok("APOP mrose c4c9334bac560ecc979e58001b3e22fb",
		     POP3_VERB_APOP, 2);
	assert_arg(c, 0, "mrose");
	assert_arg(c, 1, "c4c9334bac560ecc979e58001b3e22fb");
	parse_bad("APOP mrose");
	parse_bad("APOP a b c");

	parse_ok("AUTH", POP3_VERB_AUTH, 0);
	c = parse_ok("AUTH PLAIN", POP3_VERB_AUTH, 1);
	assert_arg(c, 0, "PLAIN");
	c = parse_ok("AUTH PLAIN "
		     "AGFsaWNlLmxvbmduYW1lQGV4YW1wbGUuY29tAHNlY3JldA==",
		     POP3_VERB_AUTH, 2);
	assert_int_equal(c->arg_lens[1], 48);
	parse_ok("AUTH PLAIN =", POP3_VERB_AUTH, 2);
	parse_bad("AUTH PLAIN x y");
}

static void
test_numbers(void **state)
{
	struct pop3_cmd *c;

	parse_ok("LIST", POP3_VERB_LIST, 0);
	c = parse_ok("LIST 1", POP3_VERB_LIST, 1);
	assert_int_equal(c->num[0], 1);
	c = parse_ok("RETR 42", POP3_VERB_RETR, 1);
	assert_int_equal(c->num[0], 42);
	c = parse_ok("DELE 007", POP3_VERB_DELE, 1);
	assert_int_equal(c->num[0], 7);
	c = parse_ok("UIDL 3", POP3_VERB_UIDL, 1);
	assert_int_equal(c->num[0], 3);
	parse_ok("UIDL", POP3_VERB_UIDL, 0);
	c = parse_ok("TOP 1 0", POP3_VERB_TOP, 2);
	assert_int_equal(c->num[0], 1);
	assert_int_equal(c->num[1], 0);
	c = parse_ok("top 5 10", POP3_VERB_TOP, 2);
	assert_int_equal(c->num[1], 10);
	/* Lenient: runs of spaces between arguments. */
	c = parse_ok("TOP  5   10 ", POP3_VERB_TOP, 2);
	assert_int_equal(c->num[0], 5);

	parse_bad("RETR");
	parse_bad("RETR 0");
	parse_bad("RETR -1");
	parse_bad("RETR +1");
	parse_bad("RETR 1x");
	parse_bad("RETR x");
	parse_bad("RETR 1 2");
	parse_bad("DELE 0");
	parse_bad("LIST 0");
	parse_bad("LIST 1 2");
	parse_bad("TOP 1");
	parse_bad("TOP 0 1");
	parse_bad("TOP 1 -1");
	parse_bad("TOP 1 2 3");
	/* Overflow of unsigned long (64-bit and 32-bit). */
	parse_bad("RETR 18446744073709551616");
	parse_bad("RETR 99999999999999999999999999999999999999");
	parse_bad("TOP 1 184467440737095516160");
	c = parse_ok("RETR 4294967295", POP3_VERB_RETR, 1);
	assert_true(c->num[0] == 4294967295UL);
}

static void
test_hostile(void **state)
{
	static const char nul1[] = "RETR 1\0";
	static const char nul2[] = "PASS a\0b";
	static const char nul3[] = "\0STAT";
	char arg[64];
	char *big;

	parse_bad_n(nul1, sizeof(nul1) - 1);
	parse_bad_n(nul2, sizeof(nul2) - 1);
	parse_bad_n(nul3, sizeof(nul3) - 1);

	big = malloc(100 * 1024);
	assert_non_null(big);
	memcpy(big, "PASS ", 5);
	memset(big + 5, 'p', 100 * 1024 - 5);
	parse_bad_n(big, 100 * 1024);
	parse_bad_n(big, LIMIT_POP3_LINE - 1);
	assert_int_equal(pop3_parse_command(big, LIMIT_POP3_LINE - 2,
					    &test_cmd,
					    &(const char *){NULL}),
			 0);
	free(big);

	/* RFC 1939 §3: numeric and keyword arguments up to 40 octets. */
	memset(arg, 0, sizeof(arg));
	memcpy(arg, "LIST ", 5);
	memset(arg + 5, '0', 40);
	arg[44] = '1';
	parse_ok(arg, POP3_VERB_LIST, 1);
	arg[45] = '1';
	parse_bad(arg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_user_pass),
		cmocka_unit_test(test_apop_auth),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
