/*
 * Unit tests for the SMTP client's reply parser (src/queue/smtpc_reply.h):
 * single and multi-line replies, enhanced status codes taken or derived,
 * malformed replies and the limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "queue/smtpc_reply.h"

/* Feeds lines (NUL-separated in one string list) until a result. */
static int
feed(struct smtpc_reply *r, const char *const *lines)
{
	struct smtpc_reply_state st;
	const char *t;
	size_t tl;
	int rc = 0;

	smtpc_reply_begin(&st, r);
	for (size_t i = 0; lines[i] != NULL && rc == 0; i++)
		rc = smtpc_reply_line(&st, lines[i], strlen(lines[i]), &t,
				      &tl);
	return rc;
}

static void
test_single(void **state)
{
	struct smtpc_reply r;
	const char *a[] = { "250 2.1.5 Ok", NULL };
	const char *b[] = { "220 mx.example.org ESMTP", NULL };
	const char *c[] = { "421", NULL };

	(void)state;
	assert_int_equal(feed(&r, a), 1);
	assert_int_equal(r.code, 250);
	assert_string_equal(r.status, "2.1.5");
	assert_string_equal(r.text, "250 2.1.5 Ok");
	assert_int_equal(feed(&r, b), 1);
	assert_string_equal(r.status, "2.0.0");
	assert_int_equal(feed(&r, c), 1);
	assert_int_equal(r.code, 421);
	assert_string_equal(r.status, "4.0.0");
	assert_string_equal(r.text, "421");
}

static void
test_multi(void **state)
{
	struct smtpc_reply r;
	const char *a[] = { "550-5.1.1 <x@y>: no such user", "550-5.1.1 here",
			    "550 5.1.1 at all", NULL };

	(void)state;
	assert_int_equal(feed(&r, a), 1);
	assert_int_equal(r.code, 550);
	assert_string_equal(r.status, "5.1.1");
	assert_string_equal(r.text, "550 5.1.1 <x@y>: no such user / "
			    "5.1.1 here / 5.1.1 at all");
}

static void
test_status_mismatch(void **state)
{
	struct smtpc_reply r;
	const char *a[] = { "550 4.2.2 mailbox full", NULL };
	const char *b[] = { "451 4.7.1234 x", NULL };
	const char *c[] = { "452 4.5.3Too many", NULL };

	(void)state;
	/* RFC 3463 §3: the class must match the reply's. */
	assert_int_equal(feed(&r, a), 1);
	assert_string_equal(r.status, "5.0.0");
	assert_int_equal(feed(&r, b), 1);
	assert_string_equal(r.status, "4.0.0");
	assert_int_equal(feed(&r, c), 1);
	assert_string_equal(r.status, "4.0.0");
}

static void
test_malformed(void **state)
{
	struct smtpc_reply r;
	const char *a[] = { "25 ok", NULL };
	const char *b[] = { "250-a", "251 b", NULL };
	const char *c[] = { "250xok", NULL };
	const char *d[] = { "650 no", NULL };
	const char *e[] = { "", NULL };

	(void)state;
	assert_int_equal(feed(&r, a), -1);
	assert_int_equal(feed(&r, b), -1);
	assert_int_equal(feed(&r, c), -1);
	assert_int_equal(feed(&r, d), -1);
	assert_int_equal(feed(&r, e), -1);
}

static void
test_limits(void **state)
{
	struct smtpc_reply_state st;
	struct smtpc_reply r;
	char line[SMTPC_REPLY_LINE_MAX + 2];
	const char *t;
	size_t tl;
	int rc = 0;

	(void)state;
	memset(line, 'a', sizeof(line));
	memcpy(line, "250 ", 4);
	smtpc_reply_begin(&st, &r);
	assert_int_equal(smtpc_reply_line(&st, line, sizeof(line), &t, &tl),
			 -1);
	smtpc_reply_begin(&st, &r);
	for (int i = 0; i <= SMTPC_REPLY_LINES_MAX && rc == 0; i++)
		rc = smtpc_reply_line(&st, "250-x", 5, &t, &tl);
	assert_int_equal(rc, -1);
	/* Text is cut to fit, control octets shown as '?'. */
	smtpc_reply_begin(&st, &r);
	memcpy(line, "250 \x01", 5);
	assert_int_equal(smtpc_reply_line(&st, line, 1000, &t, &tl), 1);
	assert_int_equal(strlen(r.text), sizeof(r.text) - 1);
	assert_int_equal(r.text[4], '?');
}

static void
test_made_up(void **state)
{
	struct smtpc_reply r;

	(void)state;
	smtpc_reply_set(&r, 421, "4.4.1", "connect to %s: %s", "mx[1.2.3.4]:25",
			"Connection refused");
	assert_int_equal(r.code, 421);
	assert_string_equal(r.status, "4.4.1");
	assert_string_equal(r.text, "421 4.4.1 connect to mx[1.2.3.4]:25: "
			    "Connection refused");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_multi),
		cmocka_unit_test(test_status_mismatch),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_made_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
