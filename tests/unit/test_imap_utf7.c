/*
 * Unit tests for modified UTF-7 mailbox names (RFC 3501 §5.1.3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_parse.h"

struct pair {
	const char *utf8, *mutf7;
};

/* Round trips, including RFC 3501 §5.1.3's own example. */
static const struct pair pairs[] = {
	{"INBOX", "INBOX"},
	{"", ""},
	{"a&b", "a&-b"},
	{"&", "&-"},
	{"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	 "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
	{"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
	{"\xc3\xa9t\xc3\xa9", "&AOk-t&AOk-"},
	{"\xf0\x9f\x98\x80 smile", "&2D3eAA- smile"},
	{"tab\there", "tab&AAk-here"},
	{"Gel\xc3\xb6scht & Spam", "Gel&APY-scht &- Spam"},
};

static void
test_roundtrip(void **state)
{
	char out[256];

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct pair *p = &pairs[i];

		assert_int_equal(imap_utf8_to_mutf7(p->utf8, strlen(p->utf8), out,
						    sizeof(out)), 0);
		assert_string_equal(out, p->mutf7);
		assert_int_equal(imap_mutf7_to_utf8(p->mutf7, strlen(p->mutf7),
						    out, sizeof(out)), 0);
		assert_string_equal(out, p->utf8);
	}
}

static void
test_bad(void **state)
{
	static const char *const bad7[] = {
		"&", "a&", "&U,BTFw", "&U,BTFw-&", "&AGE-",   /* "a" encoded */
		"&2D3eAA", "&2D0-",                          /* lone high */
		"&3gA-",                                     /* lone low */
		"&AOl-",                                     /* pad bits */
		"&AOk",  "&A-", "&AAA-", "&*-", "\xc3\xa9", "a\x01",
		"&AAA,-",
	};
	static const char *const bad8[] = {
		"\xc3", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xff", "a\x80", "\xf0\x9f\x98",
	};
	char out[64];

	for (size_t i = 0; i < sizeof(bad7) / sizeof(bad7[0]); i++) {
		if (imap_mutf7_to_utf8(bad7[i], strlen(bad7[i]), out,
				       sizeof(out)) == 0)
			print_error("accepted \"%s\" -> \"%s\"\n", bad7[i], out);
		assert_int_equal(imap_mutf7_to_utf8(bad7[i], strlen(bad7[i]),
						    out, sizeof(out)), -1);
	}
	for (size_t i = 0; i < sizeof(bad8) / sizeof(bad8[0]); i++)
		assert_int_equal(imap_utf8_to_mutf7(bad8[i], strlen(bad8[i]),
						    out, sizeof(out)), -1);
	assert_int_equal(imap_utf8_to_mutf7("a\0b", 3, out, sizeof(out)), -1);
	assert_int_equal(imap_mutf7_to_utf8("a\0b", 3, out, sizeof(out)), -1);
	/* output capacity is respected, NUL included */
	assert_int_equal(imap_mutf7_to_utf8("INBOX", 5, out, 5), -1);
	assert_int_equal(imap_mutf7_to_utf8("INBOX", 5, out, 6), 0);
	assert_int_equal(imap_utf8_to_mutf7("\xc3\xa9", 2, out, 5), -1);
	assert_int_equal(imap_utf8_to_mutf7("\xc3\xa9", 2, out, 6), 0);
	assert_string_equal(out, "&AOk-");
	assert_int_equal(imap_utf8_to_mutf7("x", 1, out, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
