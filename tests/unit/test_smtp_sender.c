/*
 * Unit tests for the From:/Sender: parser of the submission sender check
 * (smtp_sender_header_parse): what an IMAP client would show is what is
 * checked; malformed, hidden and oversized forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_sender.h"

static struct smtp_sender_hdr hdr;

static enum smtp_sender_hdr_status
parse(const char *s)
{
	memset(&hdr, 0x5a, sizeof(hdr));
	return smtp_sender_header_parse(s, strlen(s), &hdr);
}

/* The parse succeeds with exactly the given addresses, in order. */
static void
expect(const char *s, size_t n, ...)
{
	va_list ap;

	assert_int_equal(parse(s), SMTP_SENDER_HDR_OK);
	assert_int_equal(hdr.n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(hdr.addrs[i], va_arg(ap, const char *));
	va_end(ap);
}

static void
test_simple_forms(void **state)
{
	expect("From: alice@example.org\r\n\r\nbody\r\n", 1, "alice@example.org");
	expect("from:Alice <alice@example.org>\r\n", 1, "alice@example.org");
	expect("FROM: \"Doe, Jane\" <jane@example.org> (home)\r\n\r\n", 1,
	       "jane@example.org");
	/* Comments and folding anywhere, as readers take them. */
	expect("From: alice(x)@(y)example.org\r\n\r\n", 1, "alice@example.org");
	expect("From: Alice\r\n <alice@example.org>\r\n\r\n", 1,
	       "alice@example.org");
	/* Bare LF header (IMAP APPEND style) works too. */
	expect("From: a@example.org\n\nbody", 1, "a@example.org");
	/* A quoted local part that is one quoted string is unquoted. */
	expect("From: <\"alice\"@example.org>\r\n\r\n", 1, "alice@example.org");
	expect("From: <\"a\\\\b\"@example.org>\r\n\r\n", 1, "a\\b@example.org");
	expect("From: <\"a b\"@example.org>\r\n\r\n", 1, "a b@example.org");
}

static void
test_several(void **state)
{
	expect("From: a@example.org, B <b@example.org>\r\n"
	       "Sender: c@example.org\r\n\r\n", 3, "a@example.org",
	       "b@example.org", "c@example.org");
	assert_int_equal(hdr.field[0], SMTP_SENDER_FROM);
	assert_int_equal(hdr.field[2], SMTP_SENDER_SENDER);
	/* Duplicates (any case) once; two From: fields are both read. */
	expect("From: a@example.org\r\nFrom: A@EXAMPLE.org, z@x.example\r\n"
	       "\r\n", 2, "a@example.org", "z@x.example");
	/* Groups: their members count, the group name does not. */
	expect("From: team: a@example.org, b@example.org;\r\n\r\n", 2,
	       "a@example.org", "b@example.org");
	/* Other fields are not looked at; nor is anything after the header. */
	expect("To: x@evil.example\r\nReply-To: y@evil.example\r\n"
	       "From: a@example.org\r\n\r\nFrom: z@evil.example\r\n", 1,
	       "a@example.org");
	/* "Resent-From" and "X-From" are other fields. */
	expect("Resent-From: r@evil.example\r\nX-From: q@evil.example\r\n"
	       "From: a@example.org\r\n\r\n", 1, "a@example.org");
}

static void
test_no_from(void **state)
{
	assert_int_equal(parse(""), SMTP_SENDER_HDR_NO_FROM);
	assert_int_equal(parse("\r\nFrom: a@example.org\r\n"),
			 SMTP_SENDER_HDR_NO_FROM);
	assert_int_equal(parse("Subject: x\r\n\r\n"), SMTP_SENDER_HDR_NO_FROM);
	assert_int_equal(parse("From:\r\n\r\n"), SMTP_SENDER_HDR_NO_FROM);
	assert_int_equal(parse("From: undisclosed:;\r\n\r\n"),
			 SMTP_SENDER_HDR_NO_FROM);
	/* A Sender: alone is not a From:. */
	assert_int_equal(parse("Sender: a@example.org\r\n\r\n"),
			 SMTP_SENDER_HDR_NO_FROM);
	/* A folded line is part of the field before it, not a field. */
	assert_int_equal(parse("Subject: x\r\n From: a@example.org\r\n\r\n"),
			 SMTP_SENDER_HDR_NO_FROM);
}

static void
test_bad(void **state)
{
	char big[1200];

	assert_int_equal(parse("From: alice\r\n\r\n"), SMTP_SENDER_HDR_BAD_ADDR);
	assert_string_equal(hdr.bad, "alice");
	assert_int_equal(parse("From: a@example.org\r\nSender: <x@>\r\n\r\n"),
			 SMTP_SENDER_HDR_BAD_ADDR);
	assert_int_equal(hdr.bad_field, SMTP_SENDER_SENDER);
	assert_int_equal(parse("From: <@example.org>\r\n\r\n"),
			 SMTP_SENDER_HDR_BAD_ADDR);
	assert_int_equal(parse("From: <\"\"@example.org>\r\n\r\n"),
			 SMTP_SENDER_HDR_BAD_ADDR);
	/* Control bytes never reach the reply text. */
	assert_int_equal(parse("From: a\x01\x80@\r\n\r\n"),
			 SMTP_SENDER_HDR_BAD_ADDR);
	for (const char *p = hdr.bad; *p; p++)
		assert_true(*p > 0x20 && *p < 0x7f);
	/* Too long a local part or domain. */
	snprintf(big, sizeof(big), "From: %0*d@example.org\r\n\r\n", 65, 0);
	assert_int_equal(parse(big), SMTP_SENDER_HDR_BAD_ADDR);
	memset(big, 'd', sizeof(big));
	memcpy(big, "From: a@", 8);
	memcpy(big + 8 + 256, "\r\n\r\n", 5);
	assert_int_equal(parse(big), SMTP_SENDER_HDR_BAD_ADDR);
	assert_true(strlen(hdr.bad) <= LIMIT_ADDRESS);
	/* A NUL inside the header is a byte like any other. */
	static const char nul[] = "From: a\0b@example.org\r\n\r\n";
	assert_int_equal(smtp_sender_header_parse(nul, sizeof(nul) - 1, &hdr),
			 SMTP_SENDER_HDR_BAD_ADDR);
}

static void
test_too_many(void **state)
{
	char buf[4096];
	size_t n = 0;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "From: ");
	for (int i = 0; i <= SMTP_SENDER_ADDRS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sa%d@example.org",
				      i ? ", " : "", i);
	snprintf(buf + n, sizeof(buf) - n, "\r\n\r\n");
	assert_int_equal(parse(buf), SMTP_SENDER_HDR_TOO_MANY);
	assert_int_equal(hdr.n, SMTP_SENDER_ADDRS_MAX);
	/* The same address many times is one. */
	n = (size_t)snprintf(buf, sizeof(buf), "From: ");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "a@example.org,");
	snprintf(buf + n, sizeof(buf) - n, "\r\n\r\n");
	expect(buf, 1, "a@example.org");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_forms),
		cmocka_unit_test(test_several),
		cmocka_unit_test(test_no_from),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
