/*
 * Unit tests for the control socket's line protocol (server/control_proto.h):
 * requests, reply lines, field escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "server/control_proto.h"

static int
req(const char *line, struct control_req *r, const char **err)
{
	*err = NULL;
	return control_parse_request(line, strlen(line), r, err);
}

static void
test_requests(void **state)
{
	struct control_req r;
	const char *err;

	(void)state;
	assert_int_equal(req("STATUS", &r, &err), 0);
	assert_int_equal(r.verb, CONTROL_STATUS);
	assert_string_equal(r.arg, "");
	assert_int_equal(req("who", &r, &err), 0);
	assert_int_equal(r.verb, CONTROL_WHO);
	assert_int_equal(req("WHO a@b.test", &r, &err), 0);
	assert_string_equal(r.arg, "a@b.test");
	assert_int_equal(req("KICK a@b.test", &r, &err), 0);
	assert_int_equal(r.verb, CONTROL_KICK);
	assert_string_equal(r.arg, "a@b.test");

	assert_int_equal(req("KICK", &r, &err), -1);
	assert_string_equal(err, "missing argument");
	assert_int_equal(req("STATUS x", &r, &err), -1);
	assert_string_equal(err, "unexpected argument");
	assert_int_equal(req("KICK a b", &r, &err), -1);
	assert_string_equal(err, "invalid argument");
	assert_int_equal(req("KICK ", &r, &err), -1);
	assert_int_equal(req("WHOM", &r, &err), -1);
	assert_string_equal(err, "unknown command");
	assert_int_equal(req("", &r, &err), -1);
	assert_int_equal(control_parse_request("KICK a\0b", 8, &r, &err), -1);
}

static void
test_long_lines(void **state)
{
	char line[CONTROL_LINE_MAX + 8];
	struct control_req r;
	const char *err = NULL;

	(void)state;
	memset(line, 'x', sizeof(line));
	memcpy(line, "KICK ", 5);
	/* The longest argument passes, one more octet does not. */
	assert_int_equal(control_parse_request(line, 5 + CONTROL_ARG_MAX, &r,
					       &err), 0);
	assert_int_equal(strlen(r.arg), CONTROL_ARG_MAX);
	assert_int_equal(control_parse_request(line, 6 + CONTROL_ARG_MAX, &r,
					       &err), -1);
	assert_int_equal(control_parse_request(line, CONTROL_LINE_MAX + 1, &r,
					       &err), -1);
	assert_string_equal(err, "line too long");
}

static void
test_replies(void **state)
{
	struct control_reply rep;
	const char *err = NULL;
	const char *l;

	(void)state;
	l = "* listener imap 127.0.0.1:143";
	assert_int_equal(control_parse_reply(l, strlen(l), &rep, &err), 0);
	assert_int_equal(rep.kind, CONTROL_LINE_DATA);
	assert_int_equal(rep.n_fields, 3);
	assert_string_equal(rep.fields[2], "127.0.0.1:143");
	l = "* a%20b %25";
	assert_int_equal(control_parse_reply(l, strlen(l), &rep, &err), 0);
	assert_string_equal(rep.fields[0], "a b");
	assert_string_equal(rep.fields[1], "%");
	assert_int_equal(control_parse_reply("OK", 2, &rep, &err), 0);
	assert_int_equal(rep.kind, CONTROL_LINE_OK);
	l = "ERR no\x01such";
	assert_int_equal(control_parse_reply(l, strlen(l), &rep, &err), 0);
	assert_int_equal(rep.kind, CONTROL_LINE_ERR);
	assert_string_equal(rep.text, "no?such");

	const char *bad[] = { "*", "* ", "*  a", "* a ", "* %2", "* %zz",
			      "* %00", "OK ", "ok", "ERR", "+ x", "* a\tb" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(control_parse_reply(bad[i], strlen(bad[i]),
						     &rep, &err), -1);
}

static void
test_escape(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(control_escape("a b%\n", 5, out, sizeof(out)), 11);
	assert_string_equal(out, "a%20b%25%0A");
	assert_int_equal(control_escape("\xc3\xa9", 2, out, sizeof(out)), 6);
	assert_string_equal(out, "%C3%A9");
	assert_int_equal(control_escape("abcd", 4, out, 4), -1);
	assert_int_equal(control_escape("abc", 3, out, 4), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
