/*
 * Unit tests for SORT (RFC 5256, RFC 5957): criteria parsing, base subject
 * extraction (§2.1) and ordering by every key, with ties in sequence order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_search.h"

/* ---- criteria ---- */

static int
parse_words(const char *const *words, size_t n, struct imap_sort_program *p,
	    const char **err)
{
	struct imap_arg kids[20];
	struct imap_arg list = {.type = IMAP_ARG_LIST, .list = kids,
				.list_n = n};

	assert_true(n <= 20);
	for (size_t i = 0; i < n; i++) {
		memset(&kids[i], 0, sizeof(kids[i]));
		kids[i].type = IMAP_ARG_ATOM;
		kids[i].str = words[i];
		kids[i].len = strlen(words[i]);
	}
	return imap_sort_parse(&list, p, err);
}

static void
test_parse(void **state)
{
	static const char *const ok[] = {"REVERSE", "date", "Subject",
					 "DISPLAYFROM", "reverse", "size",
					 "ARRIVAL", "cc", "to", "from",
					 "DisplayTo"};
	static const char *const trailing[] = {"DATE", "REVERSE"};
	static const char *const unknown[] = {"DATE", "THREAD"};
	static const char *const twice[] = {"REVERSE", "REVERSE", "SIZE"};
	struct imap_sort_program p;
	const char *err = NULL;
	struct imap_arg atom = {.type = IMAP_ARG_ATOM, .str = "DATE",
				.len = 4};
	struct imap_arg empty = {.type = IMAP_ARG_LIST};

	assert_int_equal(parse_words(ok, 11, &p, &err), 0);
	assert_int_equal(p.n, 9);
	assert_int_equal(p.crit[0].key, IMAP_SORT_DATE);
	assert_true(p.crit[0].reverse);
	assert_int_equal(p.crit[1].key, IMAP_SORT_SUBJECT);
	assert_false(p.crit[1].reverse);
	assert_int_equal(p.crit[2].key, IMAP_SORT_DISPLAYFROM);
	assert_int_equal(p.crit[3].key, IMAP_SORT_SIZE);
	assert_true(p.crit[3].reverse);
	assert_int_equal(p.crit[8].key, IMAP_SORT_DISPLAYTO);
	assert_int_equal(parse_words(trailing, 2, &p, &err), -1);
	assert_non_null(err);
	assert_int_equal(parse_words(unknown, 2, &p, &err), -1);
	/* "REVERSE REVERSE" is not in the RFC 5256 grammar's spirit, but
	 * harmless: it reverses once. */
	assert_int_equal(parse_words(twice, 3, &p, &err), 0);
	assert_int_equal(imap_sort_parse(&atom, &p, &err), -1);
	assert_int_equal(imap_sort_parse(&empty, &p, &err), -1);
}

/* ---- base subject ---- */

static void
test_base_subject(void **state)
{
	static const char *const cases[][2] = {
		{"Hello world", "Hello world"},
		{"Re: Hello", "Hello"},
		{"RE: re: Re:Hello", "Hello"},
		{"Fwd: Re: Hello", "Hello"},
		{"FW: hello", "hello"},
		{"Re[2]: Hello", "Hello"},
		{"Re [list]: Hello", "Hello"},
		{"[list] Re: Hello", "Hello"},
		{"[list] [other] Re: [list] Hello", "Hello"},
		{"Hello (fwd)", "Hello"},
		{"Hello (FWD) (fwd)  ", "Hello"},
		{"[Fwd: Re: Hello]", "Hello"},
		{"Re: [Fwd: [list] Hello (fwd)]", "Hello"},
		{"[PATCH]", "[PATCH]"},
		{"[PATCH] ", "[PATCH]"},
		{"  lots \t of\r\n   space  ", "lots of space"},
		{"Re:", ""},
		{"", ""},
		{"Reply to all", "Reply to all"},
		{"Re: Re: Привет", "Привет"},
		{"Fwd:[a][b]", "[b]"},
	};
	char out[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		imap_base_subject(cases[i][0], out, sizeof(out));
		assert_string_equal(out, cases[i][1]);
	}
	/* truncation keeps a terminated string */
	imap_base_subject("Re: abcdefgh", out, 4);
	assert_string_equal(out, "abc");
	imap_base_subject("[x] Re: abcdefgh", out, 6);
	assert_string_equal(out, "abcde");
	imap_base_subject("abcdef", out, 1);
	assert_string_equal(out, "");
}

/* ---- ordering ---- */

struct fixture {
	const char *hdr;
	int64_t internaldate;
	int64_t size;
};

/* seq i+1 for fixture i; headers use CRLF as stored. */
static const struct fixture fx[] = {
	{"From: \"Zed Zulu\" <Zed@example.com>\r\n"
	 "To: Bob <bob@example.org>\r\n"
	 "Subject: Re: Budget 2026\r\n"
	 "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nbody\r\n",
	 300, 5000},
	{"From: alice@example.com (Alice A.)\r\n"
	 "To: undisclosed-recipients:;\r\n"
	 "Cc: Carol <carol@example.net>\r\n"
	 "Subject: [team] apples\r\n"
	 "Date: Mon, 02 Mar 2026 11:00:00 +0200\r\n\r\nbody\r\n",
	 100, 200},
	{"From: =?UTF-8?Q?=C3=89mile_Zola?= <ezola@example.fr>\r\n"
	 "To: Friends: Yves <yves@example.fr>, amy@example.com;\r\n"
	 "Subject: =?ISO-8859-1?Q?Fwd:_=C9t=E9?=\r\n"
	 "Date: garbage\r\n\r\nbody\r\n",
	 200, 200},
	{"From: Mallory <MALLORY@example.com>\r\n"
	 "To: \"Smith, Anna\" <anna@example.com>\r\n"
	 "Cc: barry@example.com\r\n"
	 "Subject: budget 2026 (fwd)\r\n\r\nbody\r\n",
	 50, 9000},
};

#define FX_N (sizeof(fx) / sizeof(fx[0]))

static void
sorted(const char *const *words, size_t nw, uint32_t want[FX_N])
{
	struct imap_sort_program p;
	struct imap_search_msg m[FX_N];
	const char *err;

	assert_int_equal(parse_words(words, nw, &p, &err), 0);
	for (size_t i = 0; i < FX_N; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].seq = (uint32_t)i + 1;
		m[i].uid = (uint32_t)i + 101;
		m[i].data = fx[i].hdr;
		m[i].len = strlen(fx[i].hdr);
		m[i].internaldate = fx[i].internaldate;
		m[i].size = fx[i].size;
	}
	imap_sort_messages(&p, m, FX_N);
	for (size_t i = 0; i < FX_N; i++) {
		want[i] = m[i].seq;
		assert_int_equal(m[i].uid, m[i].seq + 100); /* moved whole */
	}
}

static void
expect(const char *const *words, size_t nw, uint32_t a, uint32_t b,
       uint32_t c, uint32_t d)
{
	uint32_t got[FX_N];

	sorted(words, nw, got);
	assert_int_equal(got[0], a);
	assert_int_equal(got[1], b);
	assert_int_equal(got[2], c);
	assert_int_equal(got[3], d);
}

static void
test_sort_simple_keys(void **state)
{
	static const char *const arrival[] = {"ARRIVAL"};
	static const char *const rarrival[] = {"REVERSE", "ARRIVAL"};
	static const char *const size[] = {"SIZE"};
	static const char *const rsize[] = {"REVERSE", "SIZE"};

	expect(arrival, 1, 4, 2, 3, 1);
	expect(rarrival, 2, 1, 3, 2, 4);
	/* equal sizes (2, 3) tie in sequence order, also when reversed */
	expect(size, 1, 2, 3, 1, 4);
	expect(rsize, 2, 4, 1, 2, 3);
}

static void
test_sort_date(void **state)
{
	static const char *const date[] = {"DATE"};
	static const char *const rdate[] = {"REVERSE", "DATE"};

	/* 2: 09:00 UTC (+0200); 1: 10:00 UTC; 3 (bad Date) and 4 (none) use
	 * their internal dates 200 and 50, which are in 1970 */
	expect(date, 1, 4, 3, 2, 1);
	expect(rdate, 2, 1, 2, 3, 4);
}

static void
test_sort_subject(void **state)
{
	static const char *const subj[] = {"SUBJECT"};
	static const char *const subj_arr[] = {"SUBJECT", "ARRIVAL"};
	static const char *const subj_rarr[] = {"SUBJECT", "REVERSE",
						"ARRIVAL"};

	/* base subjects: "Budget 2026", "apples", "Été", "budget 2026";
	 * i;ascii-casemap: apples < budget 2026 = Budget 2026 < Été */
	expect(subj, 1, 2, 1, 4, 3);
	expect(subj_arr, 2, 2, 4, 1, 3);
	expect(subj_rarr, 3, 2, 1, 4, 3);
}

static void
test_sort_addresses(void **state)
{
	static const char *const from[] = {"FROM"};
	static const char *const to[] = {"TO"};
	static const char *const cc[] = {"CC"};
	static const char *const dfrom[] = {"DISPLAYFROM"};
	static const char *const dto[] = {"DISPLAYTO"};

	/* local parts: zed, alice, ezola, mallory */
	expect(from, 1, 2, 3, 4, 1);
	/* bob; none (empty group); yves (first group member); anna */
	expect(to, 1, 2, 4, 1, 3);
	/* none, carol, none, barry: empty strings first, in seq order */
	expect(cc, 1, 1, 3, 4, 2);
	/* "Zed Zulu", alice@example.com (comment is no display name),
	 * "Émile Zola" (decoded, sorts after ASCII), "Mallory" */
	expect(dfrom, 1, 2, 4, 1, 3);
	/* "Bob", "" , "Yves", "Smith, Anna" */
	expect(dto, 1, 2, 1, 4, 3);
}

static void
test_sort_degenerate(void **state)
{
	struct imap_sort_program p = {.n = 1,
				      .crit = {{IMAP_SORT_SUBJECT, false}}};
	struct imap_search_msg m[2] = {{.seq = 2}, {.seq = 1}};

	/* no header bytes: empty keys, sequence order */
	imap_sort_messages(&p, m, 2);
	assert_int_equal(m[0].seq, 1);
	imap_sort_messages(&p, m, 0);
	imap_sort_messages(&p, m, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_base_subject),
		cmocka_unit_test(test_sort_simple_keys),
		cmocka_unit_test(test_sort_date),
		cmocka_unit_test(test_sort_subject),
		cmocka_unit_test(test_sort_addresses),
		cmocka_unit_test(test_sort_degenerate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
