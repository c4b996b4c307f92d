/*
 * Unit tests for IMAP dates (RFC 9051 §9 date, date-time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_parse.h"

static int64_t
date(const char *s)
{
	int64_t d = -12345;

	assert_int_equal(imap_parse_date(s, strlen(s), &d), 0);
	return d;
}

static void
test_date(void **state)
{
	assert_true(date("1-Jan-1970") == 0);
	assert_true(date("01-jan-1970") == 0);
	assert_true(date("\"2-JAN-1970\"") == 86400);
	assert_true(date("1-Feb-2024") == 1706745600);
	assert_true(date("29-Feb-2024") == 1709164800);
	assert_true(date("29-Feb-2000") == 951782400);
	assert_true(date("31-Dec-1969") == -86400);
	assert_true(date("1-Mar-1900") == -2203891200LL);

	static const char *const bad[] = {
		"", "1-Jan-70", "0-Jan-2024", "32-Jan-2024", "29-Feb-2023",
		"29-Feb-1900", "31-Apr-2024", "1-Jnu-2024", "1 Jan 2024",
		"1-Jan-2024 ", " 1-Jan-2024", "001-Jan-2024", "1-Jan-20244",
		"1-January-2024", "a-Jan-2024", "\"1-Jan-2024", "2024-01-01",
		"1-Jan-+024",
	};
	int64_t d;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (imap_parse_date(bad[i], strlen(bad[i]), &d) == 0)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_int_equal(imap_parse_date(bad[i], strlen(bad[i]), &d), -1);
	}
}

static void
test_datetime(void **state)
{
	int64_t t = 0;
	char out[32];

	const char *s = "17-Jul-1996 02:44:25 -0700";
	assert_int_equal(imap_parse_datetime(s, strlen(s), &t), 0);
	assert_true(t == 837596665);
	imap_format_datetime(t, out);
	assert_string_equal(out, "17-Jul-1996 09:44:25 +0000");
	s = "\" 1-Jan-2026 10:00:00 +0130\"";
	assert_int_equal(imap_parse_datetime(s, strlen(s), &t), 0);
	assert_true(t == 1767256200); /* 2026-01-01 08:30 UTC */
	imap_format_datetime(t, out);
	assert_string_equal(out, "01-Jan-2026 08:30:00 +0000");
	imap_format_datetime(0, out);
	assert_string_equal(out, "01-Jan-1970 00:00:00 +0000");
	imap_format_datetime(-1, out);
	assert_string_equal(out, "31-Dec-1969 23:59:59 +0000");
	imap_format_datetime(INT64_MAX, out);
	assert_string_equal(out, "31-Dec-9999 23:59:59 +0000");
	imap_format_datetime(INT64_MIN, out);
	assert_string_equal(out, "01-Jan-0000 00:00:00 +0000");
	/* round trip over a range of instants */
	for (int64_t x = -5000000000LL; x < 5000000000LL; x += 7777777) {
		int64_t back;

		imap_format_datetime(x, out);
		assert_int_equal(imap_parse_datetime(out, strlen(out), &back), 0);
		assert_true(back == x);
	}

	static const char *const bad[] = {
		"", "17-Jul-1996", "17-Jul-1996 02:44:25", "17-Jul-1996 24:00:00 +0000",
		"17-Jul-1996 02:60:00 +0000", "17-Jul-1996 02:00:61 +0000",
		"17-Jul-1996 02:00:00 +0060", "17-Jul-1996 02:00:00 0000",
		"17-Jul-1996 2:00:00 +0000", "17-Jul-1996 02:00:00 +000",
		"17-Jul-1996 02:00:00 +00000", "17-Jul-1996  02:00:00 +0000",
		"  1-Jul-1996 02:00:00 +0000", " 11-Jul-1996 02:00:00 +0000",
		"17-Jul-1996 02:00:00 UTC",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (imap_parse_datetime(bad[i], strlen(bad[i]), &t) == 0)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_int_equal(imap_parse_datetime(bad[i], strlen(bad[i]), &t),
				 -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_datetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
