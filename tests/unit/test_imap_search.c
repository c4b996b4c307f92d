/*
 * Unit tests for SEARCH evaluation (RFC 9051 §6.4.4): flags, sets, sizes,
 * dates, and text keys over real-looking messages (RFC 2047 encoded words in
 * several charsets, quoted-printable and base64 bodies, multipart/alternative,
 * nested message/rfc822), plus the case folding and date parser beneath.
 * Search trees are built by hand, as the parser would build them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "imap/imap_search.h"
#include "mime/mime.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/date.h"

/* ---- tree building ---- */

#define POOL_N 64
static struct imap_search_node pool[POOL_N];
static size_t pool_used;

static struct imap_search_node *
node(enum imap_search_key key)
{
	struct imap_search_node *n;

	assert_true(pool_used < POOL_N);
	n = &pool[pool_used++];
	memset(n, 0, sizeof(*n));
	n->key = key;
	return n;
}

static struct imap_search_node *
text_node(enum imap_search_key key, const char *s)
{
	struct imap_search_node *n = node(key);

	n->str = (char *)s;
	return n;
}

static struct imap_search_node *
header_node(const char *field, const char *s)
{
	struct imap_search_node *n = text_node(IMAP_SK_HEADER, s);

	n->field = (char *)field;
	return n;
}

static struct imap_search_node *
num_node(enum imap_search_key key, uint64_t v)
{
	struct imap_search_node *n = node(key);

	n->num = v;
	return n;
}

/* d: days since 1970-01-01 (the parser gives 00:00 UTC of that day) */
static struct imap_search_node *
date_node(enum imap_search_key key, int64_t y, unsigned m, unsigned d)
{
	struct imap_search_node *n = node(key);

	n->date = date_days_from_civil(y, m, d) * 86400;
	return n;
}

static struct imap_search_node *
set_node(enum imap_search_key key, struct imap_range *r, size_t nr)
{
	struct imap_search_node *n = node(key);

	n->set.r = r;
	n->set.n = nr;
	return n;
}

static struct imap_search_node *
and_node(struct imap_search_node *a, struct imap_search_node *b)
{
	struct imap_search_node *n = node(IMAP_SK_AND);

	n->a = a;
	a->next = b;
	return n;
}

static struct imap_search_node *
or_node(struct imap_search_node *a, struct imap_search_node *b)
{
	struct imap_search_node *n = node(IMAP_SK_OR);

	n->a = a;
	n->b = b;
	return n;
}

static struct imap_search_node *
not_node(struct imap_search_node *a)
{
	struct imap_search_node *n = node(IMAP_SK_NOT);

	n->a = a;
	return n;
}

static int
setup(void **state)
{
	pool_used = 0;
	return 0;
}

/* ---- messages ---- */

/* Messages are written with LF here and stored with CRLF, as the store
 * keeps them. */
static char *
crlf(const char *s)
{
	size_t n = strlen(s), j = 0;
	char *out = malloc(2 * n + 1);

	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			out[j++] = '\r';
		out[j++] = s[i];
	}
	out[j] = '\0';
	return out;
}

static struct imap_search_msg
msg_of(const char *data)
{
	struct imap_search_msg m = {
		.seq = 1, .uid = 1, .modseq = 1, .internaldate = 1767225600,
		.data = data, .len = data != NULL ? strlen(data) : 0,
	};

	m.size = (int64_t)m.len;
	return m;
}

static int
match_text(const struct imap_search_node *root, const char *lf_text)
{
	char *data = crlf(lf_text);
	struct imap_search_msg m = msg_of(data);
	int r = imap_search_match(root, &m, 1, 1);

	free(data);
	return r;
}

static const char msg_plain[] =
	"Return-Path: <alice@example.com>\n"
	"From: Alice Example <Alice@Example.COM>\n"
	"To: Bob <bob@example.org>, carol@example.net\n"
	"Cc: \"Dave, Jr.\" <dave@example.org>\n"
	"Subject: Quarterly report\n"
	" (draft)\n"
	"Date: Tue, 3 Mar 2026 23:30:00 -0800\n"
	"X-Mailer: Example Mailer 1.0\n"
	"Message-ID: <1234@example.com>\n"
	"\n"
	"Hi Bob,\n"
	"\n"
	"the numbers are in. Revenue grew by 12 percent.\n"
	"-- \n"
	"Alice\n";

static const char msg_encoded[] =
	"From: =?UTF-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <ivan@example.ru>\n"
	"To: =?KOI8-R?B?79TXxdQgzsEg0MnT2M3P?= <list@example.ru>\n"
	"Cc: =?ISO-8859-7?B?yuHr5+zd8eEg6vzz7OU=?= <nikos@example.gr>\n"
	"Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?= =?UTF-8?Q?_=C3=A0_la_gare?=\n"
	"Date: 1 Jan 2026 00:10:00 +0100\n"
	"MIME-Version: 1.0\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"Gr=FC=DFe aus M=FCnchen! Das Wetter ist sch=F6n, die Zugspitze ist wei=DF u=\n"
	"nd wir w=FCnschen Ihnen einen sch=F6nen Tag.\n";

static const char msg_multi[] =
	"From: Petra <petra@example.de>\n"
	"To: team@example.de\n"
	"Subject: Status\n"
	"Date: Mon, 02 Feb 2026 10:00:00 +0000\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\n"
	"\n"
	"This is a multi-part message in MIME format.\n"
	"--outer\n"
	"Content-Type: multipart/alternative; boundary=\"alt\"\n"
	"\n"
	"--alt\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"0J/RgNC40LLQtdGCLCDQvNC40YAhINCt0YLQviDRgtC10YHRgtC+0LLQvtC1INGB0L7QvtCx0YnQ\n"
	"tdC90LjQtSDQviDQltCV0JvQldCX0J3QntCZINC00L7RgNC+0LPQtS4NCg==\n"
	"--alt\n"
	"Content-Type: text/html; charset=\"UTF-8\"\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"PGh0bWw+PGJvZHk+PHA+RGllIFN0cmHDn2UgaXN0IGdlc3BlcnJ0OiBCQVVTVEVMTEUgYW0gTWFy\n"
	"a3RwbGF0ei48L3A+PC9ib2R5PjwvaHRtbD4NCg==\n"
	"--alt--\n"
	"--outer\n"
	"Content-Type: application/pdf; name=\"report.pdf\"\n"
	"Content-Disposition: attachment; filename=\"report.pdf\"\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"JVBERi0xLjQgc2VjcmV0d29yZCBpbiBhdHRhY2htZW50Cg==\n"
	"--outer\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: Zoe <zoe@example.pl>\n"
	"Subject: Forwarded plans for the bridge\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"inner\"\n"
	"\n"
	"--inner\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"SW5uZXIgbWVzc2FnZSBib2R5IHdpdGggxbvDs8WCxIcgYW5kIMWaV0nEmFRZIGtleXdvcmQuDQo=\n"
	"--inner--\n"
	"--outer--\n";

/* ---- flags, sets, sizes ---- */

static void
test_flags(void **state)
{
	struct imap_search_msg m = msg_of(NULL);

	m.flags = STORE_FLAG_SEEN | STORE_FLAG_FLAGGED;
	assert_int_equal(imap_search_match(node(IMAP_SK_SEEN), &m, 1, 1), 1);
	assert_int_equal(imap_search_match(node(IMAP_SK_FLAGGED), &m, 1, 1), 1);
	assert_int_equal(imap_search_match(node(IMAP_SK_ANSWERED), &m, 1, 1), 0);
	assert_int_equal(imap_search_match(node(IMAP_SK_UNANSWERED), &m, 1, 1), 1);
	assert_int_equal(imap_search_match(node(IMAP_SK_UNSEEN), &m, 1, 1), 0);
	assert_int_equal(imap_search_match(node(IMAP_SK_DELETED), &m, 1, 1), 0);
	assert_int_equal(imap_search_match(node(IMAP_SK_UNDELETED), &m, 1, 1), 1);
	assert_int_equal(imap_search_match(node(IMAP_SK_DRAFT), &m, 1, 1), 0);
	assert_int_equal(imap_search_match(node(IMAP_SK_UNDRAFT), &m, 1, 1), 1);
	assert_int_equal(imap_search_match(node(IMAP_SK_UNFLAGGED), &m, 1, 1), 0);
	assert_int_equal(imap_search_match(node(IMAP_SK_ALL), &m, 1, 1), 1);
	/* RFC 3501 NEW = RECENT UNSEEN; OLD = NOT RECENT */
	m.recent = true;
	assert_int_equal(imap_search_match(node(IMAP_SK_RECENT), &m, 1, 1), 1);
	assert_int_equal(imap_search_match(node(IMAP_SK_NEW), &m, 1, 1), 0);
	assert_int_equal(imap_search_match(node(IMAP_SK_OLD), &m, 1, 1), 0);
	m.flags = 0;
	assert_int_equal(imap_search_match(node(IMAP_SK_NEW), &m, 1, 1), 1);
	m.recent = false;
	assert_int_equal(imap_search_match(node(IMAP_SK_NEW), &m, 1, 1), 0);
	assert_int_equal(imap_search_match(node(IMAP_SK_OLD), &m, 1, 1), 1);
}

static void
test_keywords(void **state)
{
	struct imap_search_msg m = msg_of(NULL);

	m.keywords = "$Forwarded Work $label1";
	m.flags = STORE_FLAG_SEEN;
	assert_int_equal(imap_search_match(text_node(IMAP_SK_KEYWORD, "work"),
					   &m, 1, 1), 1);
	assert_int_equal(imap_search_match(text_node(IMAP_SK_KEYWORD,
						     "$FORWARDED"), &m, 1, 1), 1);
	assert_int_equal(imap_search_match(text_node(IMAP_SK_KEYWORD, "Wor"),
					   &m, 1, 1), 0);
	assert_int_equal(imap_search_match(text_node(IMAP_SK_UNKEYWORD,
						     "$Junk"), &m, 1, 1), 1);
	assert_int_equal(imap_search_match(text_node(IMAP_SK_UNKEYWORD,
						     "$label1"), &m, 1, 1), 0);
	/* A system flag is no flag-keyword (the parser answers BAD): at
	 * most a keyword of that name, which this message lacks. */
	assert_int_equal(imap_search_match(text_node(IMAP_SK_KEYWORD,
						     "\\Seen"), &m, 1, 1), 0);
	m.keywords = NULL;
	assert_int_equal(imap_search_match(text_node(IMAP_SK_KEYWORD, "work"),
					   &m, 1, 1), 0);
}

static void
test_sets(void **state)
{
	struct imap_search_msg m = msg_of(NULL);
	struct imap_range star[] = {{.lo = 7, .hi_star = true}};
	struct imap_range two[] = {{.lo = 1, .hi = 2}, {.lo = 5, .hi = 5}};
	struct imap_range only_star[] = {{.lo_star = true, .hi_star = true}};
	struct imap_range top[] = {{.lo = 41, .hi = 4294967295u}};

	m.seq = 5;
	m.uid = 40;
	assert_int_equal(imap_search_match(set_node(IMAP_SK_SEQSET, two, 2),
					   &m, 9, 50), 1);
	/* "7:*" with * = 9 does not include 5; with * = 3 it is 3:7 */
	assert_int_equal(imap_search_match(set_node(IMAP_SK_SEQSET, star, 1),
					   &m, 9, 50), 0);
	m.seq = 3;
	assert_int_equal(imap_search_match(set_node(IMAP_SK_SEQSET, star, 1),
					   &m, 3, 50), 1);
	/* UID *: the highest UID in the mailbox */
	assert_int_equal(imap_search_match(set_node(IMAP_SK_UID, only_star, 1),
					   &m, 9, 40), 1);
	assert_int_equal(imap_search_match(set_node(IMAP_SK_UID, only_star, 1),
					   &m, 9, 41), 0);
	assert_int_equal(imap_search_match(set_node(IMAP_SK_UID, two, 2), &m,
					   9, 41), 0);
	/* 4294967295 is a number, not "*": 41:4294967295 misses UID 40
	 * even when 40 is the largest. */
	assert_int_equal(imap_search_match(set_node(IMAP_SK_UID, top, 1),
					   &m, 9, 40), 0);
}

static void
test_size_modseq(void **state)
{
	struct imap_search_msg m = msg_of(NULL);

	m.size = 1000;
	m.modseq = 77;
	/* RFC 9051: LARGER and SMALLER are strict */
	assert_int_equal(imap_search_match(num_node(IMAP_SK_LARGER, 999), &m,
					   1, 1), 1);
	assert_int_equal(imap_search_match(num_node(IMAP_SK_LARGER, 1000), &m,
					   1, 1), 0);
	assert_int_equal(imap_search_match(num_node(IMAP_SK_SMALLER, 1000), &m,
					   1, 1), 0);
	assert_int_equal(imap_search_match(num_node(IMAP_SK_SMALLER, 1001), &m,
					   1, 1), 1);
	/* RFC 7162 §3.1.5: MODSEQ matches mod-sequences >= the value */
	assert_int_equal(imap_search_match(num_node(IMAP_SK_MODSEQ, 77), &m,
					   1, 1), 1);
	assert_int_equal(imap_search_match(num_node(IMAP_SK_MODSEQ, 78), &m,
					   1, 1), 0);
}

static void
test_boolean(void **state)
{
	struct imap_search_msg m = msg_of(NULL);
	struct imap_search_node *t;

	m.flags = STORE_FLAG_SEEN;
	m.size = 500;
	t = and_node(node(IMAP_SK_SEEN), num_node(IMAP_SK_LARGER, 100));
	assert_int_equal(imap_search_match(t, &m, 1, 1), 1);
	t = and_node(node(IMAP_SK_SEEN), num_node(IMAP_SK_LARGER, 600));
	assert_int_equal(imap_search_match(t, &m, 1, 1), 0);
	t = or_node(node(IMAP_SK_DELETED), num_node(IMAP_SK_SMALLER, 600));
	assert_int_equal(imap_search_match(t, &m, 1, 1), 1);
	t = or_node(node(IMAP_SK_DELETED), node(IMAP_SK_FLAGGED));
	assert_int_equal(imap_search_match(t, &m, 1, 1), 0);
	t = not_node(or_node(node(IMAP_SK_DELETED), node(IMAP_SK_FLAGGED)));
	assert_int_equal(imap_search_match(t, &m, 1, 1), 1);
	t = not_node(not_node(node(IMAP_SK_SEEN)));
	assert_int_equal(imap_search_match(t, &m, 1, 1), 1);
	/* No message bytes: a text key cannot match, flags still decide */
	t = and_node(node(IMAP_SK_SEEN), text_node(IMAP_SK_BODY, "x"));
	assert_int_equal(imap_search_match(t, &m, 1, 1), 0);
}

static void
test_needs_text(void **state)
{
	assert_false(imap_search_needs_text(
		and_node(node(IMAP_SK_SEEN), num_node(IMAP_SK_LARGER, 1))));
	assert_false(imap_search_needs_text(
		date_node(IMAP_SK_BEFORE, 2026, 1, 1)));
	assert_true(imap_search_needs_text(
		date_node(IMAP_SK_SENTBEFORE, 2026, 1, 1)));
	assert_true(imap_search_needs_text(and_node(
		node(IMAP_SK_SEEN),
		not_node(or_node(node(IMAP_SK_DRAFT),
				 text_node(IMAP_SK_FROM, "a"))))));
	assert_true(imap_search_needs_text(header_node("X-Spam", "")));
	assert_false(imap_search_needs_text(NULL));
}

/* ---- dates ---- */

static void
test_internal_dates(void **state)
{
	struct imap_search_msg m = msg_of(NULL);

	/* 2026-03-04 23:59:59 UTC */
	m.internaldate = date_days_from_civil(2026, 3, 4) * 86400 + 86399;
	assert_int_equal(imap_search_match(date_node(IMAP_SK_ON, 2026, 3, 4),
					   &m, 1, 1), 1);
	assert_int_equal(imap_search_match(date_node(IMAP_SK_ON, 2026, 3, 5),
					   &m, 1, 1), 0);
	assert_int_equal(imap_search_match(date_node(IMAP_SK_BEFORE, 2026, 3,
						     4), &m, 1, 1), 0);
	assert_int_equal(imap_search_match(date_node(IMAP_SK_BEFORE, 2026, 3,
						     5), &m, 1, 1), 1);
	assert_int_equal(imap_search_match(date_node(IMAP_SK_SINCE, 2026, 3,
						     4), &m, 1, 1), 1);
	assert_int_equal(imap_search_match(date_node(IMAP_SK_SINCE, 2026, 3,
						     5), &m, 1, 1), 0);
	/* before 1970 still works by calendar day */
	m.internaldate = date_days_from_civil(1969, 12, 31) * 86400 + 3600;
	assert_int_equal(imap_search_match(date_node(IMAP_SK_ON, 1969, 12,
						     31), &m, 1, 1), 1);
}

static void
test_sent_dates(void **state)
{
	/* Date: Tue, 3 Mar 2026 23:30:00 -0800 is 4 Mar in UTC, but SENT*
	 * uses the date as written in the sender's zone. */
	assert_int_equal(match_text(date_node(IMAP_SK_SENTON, 2026, 3, 3),
				    msg_plain), 1);
	assert_int_equal(match_text(date_node(IMAP_SK_SENTON, 2026, 3, 4),
				    msg_plain), 0);
	assert_int_equal(match_text(date_node(IMAP_SK_SENTBEFORE, 2026, 3, 4),
				    msg_plain), 1);
	assert_int_equal(match_text(date_node(IMAP_SK_SENTBEFORE, 2026, 3, 3),
				    msg_plain), 0);
	assert_int_equal(match_text(date_node(IMAP_SK_SENTSINCE, 2026, 3, 3),
				    msg_plain), 1);
	assert_int_equal(match_text(date_node(IMAP_SK_SENTSINCE, 2026, 3, 4),
				    msg_plain), 0);
	/* no weekday, +0100 just after midnight: 1 Jan */
	assert_int_equal(match_text(date_node(IMAP_SK_SENTON, 2026, 1, 1),
				    msg_encoded), 1);
	/* unparseable or missing Date: never matches SENT* */
	assert_int_equal(match_text(date_node(IMAP_SK_SENTBEFORE, 2100, 1, 1),
				    "Date: sometime soon\n\nbody\n"), 0);
	assert_int_equal(match_text(date_node(IMAP_SK_SENTSINCE, 1900, 1, 1),
				    "Date: sometime soon\n\nbody\n"), 0);
	assert_int_equal(match_text(date_node(IMAP_SK_SENTSINCE, 1900, 1, 1),
				    "Subject: no date\n\nbody\n"), 0);
}

static void
test_parse_date(void **state)
{
	static const struct {
		const char *s;
		int64_t t;
	} ok[] = {
		{"Thu, 01 Jan 1970 00:00:00 +0000", 0},
		{"1 Jan 1970 01:00 +0100", 0},
		{"Wed, 31 Dec 1969 19:00:00 -0500 (EST)", 0},
		{"Thu, 1 Jan 70 00:00:00 GMT", 0},
		{"  Thu,\r\n 01 Jan 1970 00:00:00 EST", 5 * 3600},
		{"Sat, 29 Feb 2020 12:34:56 +0000", 1582979696},
		{"Mon 2 Mar 2026 10:00:00 +0000", 1772445600},
	};
	int64_t t, day;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(mime_parse_date(ok[i].s, strlen(ok[i].s),
						      &t, &day), 0);
		assert_int_equal(t, ok[i].t);
	}
	assert_int_equal(mime_parse_date("Wed, 31 Dec 1969 19:00:00 -0500",
					      31, &t, &day), 0);
	assert_int_equal(day, -1);
	assert_int_equal(mime_parse_date("", 0, &t, &day), -1);
	assert_int_equal(mime_parse_date("yesterday", 9, &t, &day), -1);
	assert_int_equal(mime_parse_date("32 Jan 2026", 11, &t, &day), -1);
	assert_int_equal(mime_parse_date("1 Foo 2026", 10, &t, &day), -1);
	assert_int_equal(mime_parse_date("1 Jan 2026 25:00", 16, &t, &day),
			 -1);
	assert_int_equal(date_days_from_civil(2026, 3, 4), 20516);
}

/* ---- case folding ---- */

static void
assert_fold(const char *in, size_t len, const char *want, size_t want_len)
{
	struct buf b;

	buf_init(&b, 1024);
	assert_int_equal(imap_text_fold(in, len, &b), 0);
	assert_int_equal(b.len, want_len);
	assert_memory_equal(b.data, want, want_len);
	buf_fini(&b);
}

static void
test_fold(void **state)
{
	static const char *const pairs[][2] = {
		{"Hello WORLD 123", "hello world 123"},
		{"ÄÖÜ ÀÉÎ Ø Þ ß ÿ", "äöü àéî ø þ ß ÿ"},
		{"ŁÓDŹ ŚWIĘTY ŻÓŁĆ Ÿ", "łódź święty żółć ÿ"},
		{"ŠKODA ČESKÉ Ő Ű", "škoda české ő ű"},
		{"İstanbul ſ", "istanbul s"},
		{"ΚΑΛΗΜΈΡΑ ΚΌΣΜΕ Ώ Ϊ", "καλημέρα κόσμε ώ ϊ"},
		{"ΟΔΥΣΣΕΥΣ ς", "οδυσσευσ σ"},
		{"ПРИВЕТ МИР ЁЖ ЄЇ Ґ Ӂ Ӑ", "привет мир ёж єї ґ ӂ ӑ"},
		{"µ 日本語 😀", "μ 日本語 😀"},
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		assert_fold(pairs[i][0], strlen(pairs[i][0]), pairs[i][1],
			    strlen(pairs[i][1]));
	/* Invalid UTF-8 (Latin-1 bytes, a lone continuation, a truncated
	 * sequence, an overlong NUL, a surrogate) passes through unchanged;
	 * ASCII beside it is still folded. */
	assert_fold("A\xC4\x80\xFF""B\x80\xC3", 7, "a\xC4\x81\xFF""b\x80\xC3",
		    7);
	assert_fold("\xC0\x80X\xED\xA0\x80", 6, "\xC0\x80x\xED\xA0\x80", 6);
	assert_fold("", 0, "", 0);
	assert_true(imap_text_find("abc", 3, "", 0));
	assert_true(imap_text_find("abc", 3, "bc", 2));
	assert_false(imap_text_find("abc", 3, "abcd", 4));
}

/* ---- text keys ---- */

static void
test_address_keys(void **state)
{
	assert_int_equal(match_text(text_node(IMAP_SK_FROM, "alice@example"),
				    msg_plain), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_FROM, "ALICE EXAMPLE"),
				    msg_plain), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_FROM, "bob"), msg_plain),
			 0);
	assert_int_equal(match_text(text_node(IMAP_SK_TO, "carol"), msg_plain),
			 1);
	assert_int_equal(match_text(text_node(IMAP_SK_CC, "Dave, jr"),
				    msg_plain), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_BCC, "a"), msg_plain),
			 0);
	/* SUBJECT sees the unfolded value: "report (draft)" spans the fold */
	assert_int_equal(match_text(text_node(IMAP_SK_SUBJECT, "report (draft)"),
				    msg_plain), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_SUBJECT, ""), msg_plain),
			 1);
	assert_int_equal(match_text(text_node(IMAP_SK_SUBJECT, "x"),
				    "From: a@b\n\nSubject: x\n"), 0);
}

static void
test_encoded_words(void **state)
{
	/* UTF-8 base64, KOI8-R, ISO-8859-7 and ISO-8859-1 encoded words */
	assert_int_equal(match_text(text_node(IMAP_SK_FROM, "иван петров"),
				    msg_encoded), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_FROM, "ПЕТРОВ"),
				    msg_encoded), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_TO, "ответ на"),
				    msg_encoded), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_CC, "ΚΑΛΗΜΈΡΑ"),
				    msg_encoded), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_SUBJECT, "CAFÉ CRÈME À LA"),
				    msg_encoded), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_SUBJECT, "=?ISO"),
				    msg_encoded), 0);
	/* TEXT covers the decoded header too */
	assert_int_equal(match_text(text_node(IMAP_SK_TEXT, "café crème"),
				    msg_encoded), 1);
}

static void
test_header_key(void **state)
{
	/* HEADER field "" matches every message with the field */
	assert_int_equal(match_text(header_node("x-mailer", ""), msg_plain), 1);
	assert_int_equal(match_text(header_node("X-Spam-Flag", ""), msg_plain),
			 0);
	assert_int_equal(match_text(header_node("X-MAILER", "mailer 1.0"),
				    msg_plain), 1);
	assert_int_equal(match_text(header_node("Message-ID", "1234@"),
				    msg_plain), 1);
	assert_int_equal(match_text(header_node("Message-ID", "999"),
				    msg_plain), 0);
	/* a field name that only prefixes another does not count */
	assert_int_equal(match_text(header_node("X-Mail", ""), msg_plain), 0);
}

static void
test_body_qp_latin1(void **state)
{
	/* QP with a soft line break inside "und", ISO-8859-1 text */
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "GRÜSSE"),
				    msg_encoded), 0);
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "GRÜßE AUS MÜNCHEN"),
				    msg_encoded), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "weiß und wir"),
				    msg_encoded), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "=FC"),
				    msg_encoded), 0);
	/* BODY does not look at the header; TEXT does */
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "ivan@"),
				    msg_encoded), 0);
	assert_int_equal(match_text(text_node(IMAP_SK_TEXT, "ivan@"),
				    msg_encoded), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_TEXT, "schönen tag"),
				    msg_encoded), 1);
}

static void
test_body_plain(void **state)
{
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "revenue GREW"),
				    msg_plain), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "Quarterly"),
				    msg_plain), 0);
	assert_int_equal(match_text(text_node(IMAP_SK_TEXT, "Quarterly"),
				    msg_plain), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, ""), msg_plain), 1);
	/* 8-bit UTF-8 without any MIME header is matched as UTF-8 */
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "ÉTÉ"),
				    "Subject: x\n\nUn été chaud\n"), 1);
	/* invalid bytes match themselves */
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "\xFF\xFE"),
				    "Subject: x\n\nraw \xFF\xFE bytes\n"), 1);
}

static void
test_body_multipart(void **state)
{
	/* base64 UTF-8 Cyrillic in text/plain of multipart/alternative */
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "привет, МИР"),
				    msg_multi), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "железной"),
				    msg_multi), 1);
	/* base64 text/html alternative */
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "straße ist"),
				    msg_multi), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "baustelle"),
				    msg_multi), 1);
	/* the preamble is not a text part; neither is the PDF attachment */
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "secretword"),
				    msg_multi), 0);
	assert_int_equal(match_text(text_node(IMAP_SK_TEXT, "secretword"),
				    msg_multi), 0);
	/* no match across the boundary of two parts */
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "дороге."),
				    msg_multi), 1);
}

static void
test_body_nested_message(void **state)
{
	/* message/rfc822 inside multipart/mixed: its header and its base64
	 * body (Polish) are part of the outer message's body */
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "ŻÓŁĆ"),
				    msg_multi), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "święty keyword"),
				    msg_multi), 1);
	assert_int_equal(match_text(text_node(IMAP_SK_BODY, "plans for the "
							   "BRIDGE"),
				    msg_multi), 1);
	/* the inner header is not the message's own header */
	assert_int_equal(match_text(text_node(IMAP_SK_FROM, "zoe"), msg_multi),
			 0);
	assert_int_equal(match_text(text_node(IMAP_SK_FROM, "petra"),
				    msg_multi), 1);
}

static void
test_combined(void **state)
{
	/* several text keys over one message in one call (cached decoding) */
	struct imap_search_node *t = and_node(
		text_node(IMAP_SK_BODY, "железной"),
		text_node(IMAP_SK_TEXT, "baustelle"));

	t->a->next->next = not_node(text_node(IMAP_SK_BODY, "secretword"));
	t->a->next->next->next = or_node(text_node(IMAP_SK_SUBJECT, "nope"),
					 text_node(IMAP_SK_TO, "TEAM@"));
	assert_int_equal(match_text(t, msg_multi), 1);
	t->a->next->next->next->next = node(IMAP_SK_SEEN);
	assert_int_equal(match_text(t, msg_multi), 0);
}

static void
test_big_body_no_match(void **state)
{
	/* A 4 KB UTF-8 body: SUBJECT matches, the BODY needle is in no line,
	 * so the AND is false however often it is evaluated (a cache or
	 * scanner state kept between calls must not change the answer). How
	 * long it takes is measured by bench/search_speed.sh, not here. */
	static const char line[] = "lorem ipsum dolor sit amet Ünïcödé\r\n";
	char body[4096];
	char *data;
	struct imap_search_msg m;
	struct imap_search_node *t;
	size_t n;

	n = (size_t)snprintf(body, sizeof(body),
			     "From: x@example.com\r\nSubject: load test\r\n"
			     "Content-Type: text/plain; charset=utf-8\r\n\r\n");
	while (n + strlen(line) < sizeof(body)) {
		memcpy(body + n, line, strlen(line));
		n += strlen(line);
	}
	body[n] = '\0';
	data = body;
	m = msg_of(data);
	t = and_node(text_node(IMAP_SK_SUBJECT, "load"),
		     text_node(IMAP_SK_BODY, "needle not present"));
	for (int i = 0; i < 100; i++)
		assert_int_equal(imap_search_match(t, &m, 1, 1), 0);
	t = and_node(text_node(IMAP_SK_SUBJECT, "load"),
		     text_node(IMAP_SK_BODY, "DOLOR SIT"));
	assert_int_equal(imap_search_match(t, &m, 1, 1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_flags, setup),
		cmocka_unit_test_setup(test_keywords, setup),
		cmocka_unit_test_setup(test_sets, setup),
		cmocka_unit_test_setup(test_size_modseq, setup),
		cmocka_unit_test_setup(test_boolean, setup),
		cmocka_unit_test_setup(test_needs_text, setup),
		cmocka_unit_test_setup(test_internal_dates, setup),
		cmocka_unit_test_setup(test_sent_dates, setup),
		cmocka_unit_test_setup(test_parse_date, setup),
		cmocka_unit_test_setup(test_fold, setup),
		cmocka_unit_test_setup(test_address_keys, setup),
		cmocka_unit_test_setup(test_encoded_words, setup),
		cmocka_unit_test_setup(test_header_key, setup),
		cmocka_unit_test_setup(test_body_qp_latin1, setup),
		cmocka_unit_test_setup(test_body_plain, setup),
		cmocka_unit_test_setup(test_body_multipart, setup),
		cmocka_unit_test_setup(test_body_nested_message, setup),
		cmocka_unit_test_setup(test_combined, setup),
		cmocka_unit_test_setup(test_big_body_no_match, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
