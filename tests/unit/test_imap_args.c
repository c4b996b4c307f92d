/*
 * Unit tests for the IMAP argument parsers: FETCH items (RFC 9051 §6.4.5,
 * RFC 3516, RFC 7162), SEARCH programs (RFC 9051 §6.4.4, RFC 4731, RFC
 * 5182, RFC 7162) and STORE / flag lists (RFC 9051 §6.4.6).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_parse.h"
#include "store/store.h"

static struct imap_cmd tcmd;

/* Tokenizes "t CMD <args>"; returns the args after skip of them. */
static const struct imap_arg *
args_of(const char *args, size_t skip, size_t *n_r)
{
	char buf[4096];
	const char *err = NULL;
	int len = snprintf(buf, sizeof(buf), "t X %s\r\n", args);

	imap_cmd_free(&tcmd);
	assert_true(len > 0 && (size_t)len < sizeof(buf));
	if (imap_parse_command(buf, (size_t)len, &tcmd, &err) != 0)
		print_error("tokenizer refused \"%s\": %s\n", args, err);
	assert_non_null(tcmd.pool);
	assert_true(tcmd.n_args >= skip);
	*n_r = tcmd.n_args - skip;
	return tcmd.args + skip;
}

static int
fetch(const char *args, struct imap_fetch *f)
{
	size_t n;
	const struct imap_arg *a = args_of(args, 0, &n);
	const char *err = NULL;
	int r = imap_fetch_parse(a, n, f, &err);

	if (r < 0) {
		assert_non_null(err);
		assert_null(f->items);
	}
	return r;
}

static void
test_fetch_simple(void **state)
{
	struct imap_fetch f;

	assert_int_equal(fetch("ALL", &f), 0);
	assert_int_equal(f.n, 4);
	assert_int_equal(f.items[3].kind, IMAP_FETCH_ENVELOPE);
	assert_string_equal(f.items[0].reply_name, "FLAGS");
	imap_fetch_free(&f);
	assert_int_equal(fetch("full", &f), 0);
	assert_int_equal(f.n, 5);
	assert_int_equal(f.items[4].kind, IMAP_FETCH_BODY);
	imap_fetch_free(&f);
	assert_int_equal(fetch("FAST", &f), 0);
	assert_int_equal(f.n, 3);
	imap_fetch_free(&f);
	assert_int_equal(fetch("(uid Flags rfc822.size BODYSTRUCTURE modseq "
			       "RFC822 RFC822.HEADER RFC822.TEXT INTERNALDATE "
			       "BODY ENVELOPE)", &f), 0);
	assert_int_equal(f.n, 11);
	assert_int_equal(f.items[0].kind, IMAP_FETCH_UID);
	assert_string_equal(f.items[1].reply_name, "FLAGS");
	assert_int_equal(f.items[3].kind, IMAP_FETCH_BODYSTRUCTURE);
	assert_int_equal(f.items[6].kind, IMAP_FETCH_RFC822_HEADER);
	imap_fetch_free(&f);
	assert_int_equal(fetch("UID", &f), 0);
	assert_int_equal(f.n, 1);
	assert_false(f.changedsince_set);
	imap_fetch_free(&f);
}

static void
test_fetch_sections(void **state)
{
	struct imap_fetch f;

	assert_int_equal(fetch("(body.peek[header.fields (subject \"X-A\")]"
			       "<0.100> BODY[] BODY[1.2.MIME] BODY[3.TEXT] "
			       "BODY[HEADER.FIELDS.NOT (To)] BODY[2] "
			       "BINARY.PEEK[1]<5.10> BINARY.SIZE[2.1] BINARY[] "
			       "BODY[HEADER] BODY[1.HEADER])", &f), 0);
	assert_int_equal(f.n, 11);
	struct imap_fetch_item *it = &f.items[0];
	assert_int_equal(it->kind, IMAP_FETCH_SECTION);
	assert_true(it->peek);
	assert_int_equal(it->text, IMAP_SECTION_HEADER_FIELDS);
	assert_int_equal(it->n_fields, 2);
	assert_string_equal(it->fields[0], "SUBJECT");
	assert_string_equal(it->fields[1], "X-A");
	assert_true(it->partial);
	assert_int_equal(it->partial_off, 0);
	assert_int_equal(it->partial_len, 100);
	assert_string_equal(it->reply_name,
			    "BODY[HEADER.FIELDS (SUBJECT X-A)]<0>");
	it = &f.items[1];
	assert_false(it->peek);
	assert_int_equal(it->depth, 0);
	assert_int_equal(it->text, IMAP_SECTION_ALL);
	assert_string_equal(it->reply_name, "BODY[]");
	it = &f.items[2];
	assert_int_equal(it->depth, 2);
	assert_int_equal(it->path[0], 1);
	assert_int_equal(it->path[1], 2);
	assert_int_equal(it->text, IMAP_SECTION_MIME);
	assert_string_equal(it->reply_name, "BODY[1.2.MIME]");
	assert_string_equal(f.items[3].reply_name, "BODY[3.TEXT]");
	assert_int_equal(f.items[4].text, IMAP_SECTION_HEADER_FIELDS_NOT);
	assert_string_equal(f.items[4].reply_name,
			    "BODY[HEADER.FIELDS.NOT (TO)]");
	assert_string_equal(f.items[5].reply_name, "BODY[2]");
	it = &f.items[6];
	assert_int_equal(it->kind, IMAP_FETCH_BINARY);
	assert_true(it->peek);
	assert_string_equal(it->reply_name, "BINARY[1]<5>");
	assert_int_equal(f.items[7].kind, IMAP_FETCH_BINARY_SIZE);
	assert_string_equal(f.items[7].reply_name, "BINARY.SIZE[2.1]");
	assert_false(f.items[8].peek);
	assert_string_equal(f.items[8].reply_name, "BINARY[]");
	assert_int_equal(f.items[9].text, IMAP_SECTION_HEADER);
	assert_string_equal(f.items[10].reply_name, "BODY[1.HEADER]");
	imap_fetch_free(&f);
	/* header-fld-name as a literal (inline after the session read it),
	 * beside quoted and atom forms; a bad name inside one is refused. */
	assert_int_equal(fetch("BODY[HEADER.FIELDS ({4}\r\ndate \"X-A\" "
			       "{4+}\r\nFrom)]", &f), 0);
	assert_int_equal(f.items[0].n_fields, 3);
	assert_string_equal(f.items[0].fields[0], "DATE");
	assert_string_equal(f.items[0].fields[2], "FROM");
	assert_string_equal(f.items[0].reply_name,
			    "BODY[HEADER.FIELDS (DATE X-A FROM)]");
	imap_fetch_free(&f);
	assert_int_equal(fetch("BODY[HEADER.FIELDS ({3}\r\na:b)]", &f), -1);
	imap_fetch_free(&f);


	assert_int_equal(fetch("BODY[HEADER.FIELDS (FROM)]", &f), 0);
	assert_int_equal(f.n, 1);
	imap_fetch_free(&f);
}

static void
test_fetch_modifiers(void **state)
{
	struct imap_fetch f;

	assert_int_equal(fetch("(FLAGS) (CHANGEDSINCE 12345 VANISHED)", &f),
			 0);
	assert_true(f.changedsince_set);
	assert_true(f.changedsince == 12345);
	assert_true(f.vanished);
	imap_fetch_free(&f);
	assert_int_equal(fetch("FLAGS (changedsince 0)", &f), 0);
	assert_true(f.changedsince_set);
	assert_false(f.vanished);
	imap_fetch_free(&f);
	assert_int_equal(fetch("FLAGS (VANISHED)", &f), -1);
	assert_int_equal(fetch("FLAGS (CHANGEDSINCE)", &f), -1);
	assert_int_equal(fetch("FLAGS (CHANGEDSINCE x)", &f), -1);
	assert_int_equal(fetch("FLAGS (CHANGEDSINCE 9223372036854775808)", &f),
			 -1);
	assert_int_equal(fetch("FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", &f),
			 -1);
	assert_int_equal(fetch("FLAGS (FOO)", &f), -1);
	assert_int_equal(fetch("FLAGS ()", &f), -1);
	assert_int_equal(fetch("FLAGS (CHANGEDSINCE 1) x", &f), -1);
}

static void
test_fetch_bad(void **state)
{
	static const char *const bad[] = {
		"()", "FOO", "(FLAGS ALL)", "\"FLAGS\"", "SAVEDATEX",
		"BODY[", "BODY[HEADER", "BODY[TEXT]x", "BODY[0]", "BODY[01]",
		"BODY[1.]", "BODY[.1]", "BODY[MIME]", "BODY[1.FOO]",
		"BODY[HEADER.FIELDS]", "BODY[HEADER.FIELDS ()]",
		"BODY[HEADER.FIELDS (A:B)]", "BODY[HEADER.FIELDS (A  B)]",
		"BODY[HEADER.FIELDS (\"\")]", "BODY[HEADER.FIELDS (A)x]",
		"BODY[HEADER.FIELDS(A)]", "BODY[TEXT.HEADER]", "BODY[4294967296]",
		"BODY[]<>", "BODY[]<1>", "BODY[]<1.0>", "BODY[]<a.b>",
		"BODY[]<1.2.3>", "BODY[]<99999999999999999999.1>",
		"BINARY[HEADER]", "BINARY[1.MIME]", "BINARY.SIZE[1]<0.1>",
		"BODY.PEEK", "BINARY", "BODYX[]", "BODY[1.2.3.4.5.6.7.8.9.10.11."
		"12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28.29.30.31.32."
		"33]",
	};
	struct imap_fetch f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (fetch(bad[i], &f) == 0)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_null(f.items);
	}
	const char *err = NULL;
	assert_int_equal(imap_fetch_parse(NULL, 0, &f, &err), -1);
	assert_non_null(err);
}

static int
search(const char *args, struct imap_search *s)
{
	size_t n;
	const struct imap_arg *a = args_of(args, 0, &n);
	const char *err = NULL;
	bool badcs = true;
	int r = imap_search_parse(a, n, s, &badcs, &err);

	if (r < 0) {
		assert_non_null(err);
		assert_null(s->root);
	} else {
		assert_false(badcs);
	}
	return r;
}

static void
test_search_keys(void **state)
{
	struct imap_search s;

	assert_int_equal(search("all", &s), 0);
	assert_int_equal(s.root->key, IMAP_SK_AND);
	assert_int_equal(s.root->a->key, IMAP_SK_ALL);
	assert_null(s.root->a->next);
	assert_int_equal(s.ret, 0);
	assert_false(s.ret_given);
	imap_search_free(&s);

	assert_int_equal(search("FROM \"Bob Smith\" subject {3}\r\nfoo "
				"UNSEEN since 1-Feb-2024 NOT DELETED "
				"OR (TO a CC b) larger 100 1:5,7 UID 3:* $ "
				"HEADER X-Spam \"\" KEYWORD $Forwarded "
				"MODSEQ 44 NEW OLD RECENT BEFORE \"02-Jan-1970\"",
				&s), 0);
	struct imap_search_node *k = s.root->a;
	assert_int_equal(k->key, IMAP_SK_FROM);
	assert_string_equal(k->str, "Bob Smith");
	k = k->next;
	assert_int_equal(k->key, IMAP_SK_SUBJECT);
	assert_string_equal(k->str, "foo");
	k = k->next;
	assert_int_equal(k->key, IMAP_SK_UNSEEN);
	k = k->next;
	assert_int_equal(k->key, IMAP_SK_SINCE);
	assert_true(k->date == 1706745600); /* 2024-02-01 00:00 UTC */
	k = k->next;
	assert_int_equal(k->key, IMAP_SK_NOT);
	assert_int_equal(k->a->key, IMAP_SK_DELETED);
	k = k->next;
	assert_int_equal(k->key, IMAP_SK_OR);
	assert_int_equal(k->a->key, IMAP_SK_AND);
	assert_int_equal(k->a->a->key, IMAP_SK_TO);
	assert_int_equal(k->a->a->next->key, IMAP_SK_CC);
	assert_int_equal(k->b->key, IMAP_SK_LARGER);
	assert_true(k->b->num == 100);
	k = k->next;
	assert_int_equal(k->key, IMAP_SK_SEQSET);
	assert_int_equal(k->set.n, 2);
	k = k->next;
	assert_int_equal(k->key, IMAP_SK_UID);
	assert_true(k->set.r[0].hi_star);
	k = k->next;
	assert_int_equal(k->key, IMAP_SK_SEQSET);
	assert_true(k->set.saved);
	k = k->next;
	assert_int_equal(k->key, IMAP_SK_HEADER);
	assert_string_equal(k->field, "X-Spam");
	assert_string_equal(k->str, "");
	k = k->next;
	assert_int_equal(k->key, IMAP_SK_KEYWORD);
	assert_string_equal(k->str, "$Forwarded");
	k = k->next;
	assert_int_equal(k->key, IMAP_SK_MODSEQ);
	assert_true(k->num == 44);
	k = k->next->next->next->next;
	assert_int_equal(k->key, IMAP_SK_BEFORE);
	assert_true(k->date == 86400);
	assert_null(k->next);
	imap_search_free(&s);

	assert_int_equal(search("MODSEQ \"/flags/\\\\draft\" all 620162338", &s),
			 0);
	assert_true(s.root->a->num == 620162338);
	imap_search_free(&s);
}

static void
test_search_return_charset(void **state)
{
	struct imap_search s;
	bool badcs = false;
	const char *err = NULL;
	size_t n;
	const struct imap_arg *a;

	assert_int_equal(search("RETURN (MIN max COUNT) CHARSET utf-8 ALL", &s),
			 0);
	assert_int_equal(s.ret, IMAP_ESEARCH_MIN | IMAP_ESEARCH_MAX |
					IMAP_ESEARCH_COUNT);
	assert_true(s.ret_given);
	assert_string_equal(s.charset, "UTF-8");
	imap_search_free(&s);
	assert_int_equal(search("RETURN () 1:*", &s), 0);
	assert_int_equal(s.ret, IMAP_ESEARCH_ALL);
	imap_search_free(&s);
	assert_int_equal(search("RETURN (SAVE ALL) ALL", &s), 0);
	assert_int_equal(s.ret, IMAP_ESEARCH_SAVE | IMAP_ESEARCH_ALL);
	imap_search_free(&s);
	/* RFC 9394 PARTIAL: ranges from the start or the end, ordered. */
	assert_int_equal(search("RETURN (PARTIAL 5:1 COUNT) ALL", &s), 0);
	assert_int_equal(s.ret, IMAP_ESEARCH_PARTIAL | IMAP_ESEARCH_COUNT);
	assert_int_equal(s.partial_lo, 1);
	assert_int_equal(s.partial_hi, 5);
	assert_false(s.partial_neg);
	imap_search_free(&s);
	assert_int_equal(search("RETURN (partial -1:-4294967295) ALL", &s), 0);
	assert_true(s.partial_neg);
	assert_int_equal(s.partial_lo, 1);
	assert_int_equal(s.partial_hi, 4294967295u);
	imap_search_free(&s);
	assert_int_equal(search("RETURN (PARTIAL 1:5 ALL) ALL", &s), -1);
	/* RFC 5267 §4: UPDATE alone (or with the CONTEXT hint) means ALL
	 * plus updates. */
	assert_int_equal(search("RETURN (UPDATE context) ALL", &s), 0);
	assert_int_equal(s.ret, IMAP_ESEARCH_UPDATE | IMAP_ESEARCH_CONTEXT |
				IMAP_ESEARCH_ALL);
	imap_search_free(&s);
	assert_int_equal(search("RETURN (COUNT UPDATE) ALL", &s), 0);
	assert_int_equal(s.ret, IMAP_ESEARCH_UPDATE | IMAP_ESEARCH_COUNT);
	imap_search_free(&s);
	assert_int_equal(search("RETURN (PARTIAL 1:5 PARTIAL 1:5) ALL", &s),
			 -1);
	assert_int_equal(search("RETURN (PARTIAL) ALL", &s), -1);
	assert_int_equal(search("RETURN (PARTIAL (1:5)) ALL", &s), -1);
	{
		static const char *const bad[] = {
			"0:5", "1:0", "-1:5", "1:-5", "1", ":", "1:", ":1",
			"-0:-1", "1:4294967296", "01:5", "1:5x", "--1:-2", "",
		};
		uint32_t lo, hi;
		bool neg;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(imap_partial_parse(bad[i],
							    strlen(bad[i]),
							    &lo, &hi, &neg),
					 -1);
	}
	assert_int_equal(search("RETURN ALL", &s), -1);
	assert_int_equal(search("CHARSET US-ASCII ALL", &s), 0);
	assert_string_equal(s.charset, "US-ASCII");
	imap_search_free(&s);

	a = args_of("CHARSET KOI8-R TEXT x", 0, &n);
	assert_int_equal(imap_search_parse(a, n, &s, &badcs, &err), -1);
	assert_true(badcs);
	assert_non_null(err);
	assert_null(s.root);
	imap_cmd_free(&tcmd);
}

static void
test_search_bad(void **state)
{
	static const char *const bad[] = {
		"FOO", "FROM", "()", "(ALL", "NOT", "OR ALL", "SINCE 32-Jan-2024",
		"SINCE 29-Feb-2023", "SINCE 1-Foo-2024", "SINCE 2024-01-01",
		"SINCE 1-Jan-24", "SINCE", "LARGER -1", "LARGER x",
		"LARGER 9223372036854775808", "UID", "UID x", "UID 0", "0",
		"1:0", "KEYWORD \\Seen", "KEYWORD (a)", "HEADER X", "(ALL) ()",
		"CHARSET", "ALL CHARSET UTF-8", "MODSEQ", "MODSEQ \"/flags/x\" 5",
		"MODSEQ \"/x\" all 5", "FROM (a)", "NIL",
		"FROM ALL (NOT)",
	};
	struct imap_search s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *err = NULL;
		bool badcs;
		char buf[256];
		int len = snprintf(buf, sizeof(buf), "t SEARCH %s", bad[i]);

		if (imap_parse_command(buf, (size_t)len, &tcmd, &err) < 0)
			continue; /* the tokenizer refused it already */
		if (imap_search_parse(tcmd.args, tcmd.n_args, &s, &badcs,
				      &err) == 0)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_null(s.root);
		assert_non_null(err);
		imap_cmd_free(&tcmd);
	}
	/* NUL inside a literal8 value */
	static const char nul[] = "t SEARCH SUBJECT ~{3}\r\na\0b";
	const char *err = NULL;
	bool badcs;
	assert_int_equal(imap_parse_command(nul, sizeof(nul) - 1, &tcmd, &err),
			 0);
	assert_int_equal(imap_search_parse(tcmd.args, tcmd.n_args, &s, &badcs,
					   &err), -1);
	imap_cmd_free(&tcmd);
}

static void
test_search_depth(void **state)
{
	size_t cap = 8 * (IMAP_SEARCH_MAX_DEPTH + 10) + 16;
	char *buf = malloc(cap);
	size_t n = 0;
	struct imap_search s;
	const char *err = NULL;
	bool badcs;

	assert_non_null(buf);
	n += (size_t)snprintf(buf, cap, "t SEARCH");
	for (int i = 0; i < IMAP_SEARCH_MAX_DEPTH + 5; i++)
		n += (size_t)snprintf(buf + n, cap - n, " NOT");
	n += (size_t)snprintf(buf + n, cap - n, " ALL");
	assert_int_equal(imap_parse_command(buf, n, &tcmd, &err), 0);
	assert_int_equal(imap_search_parse(tcmd.args, tcmd.n_args, &s, &badcs,
					   &err), -1);
	imap_cmd_free(&tcmd);
	n = (size_t)snprintf(buf, cap, "t SEARCH");
	for (int i = 0; i < 50; i++)
		n += (size_t)snprintf(buf + n, cap - n, " OR SEEN");
	n += (size_t)snprintf(buf + n, cap - n, " ALL");
	assert_int_equal(imap_parse_command(buf, n, &tcmd, &err), 0);
	assert_int_equal(imap_search_parse(tcmd.args, tcmd.n_args, &s, &badcs,
					   &err), 0);
	imap_search_free(&s);
	imap_cmd_free(&tcmd);
	free(buf);
}

static int
store(const char *args, struct imap_store_args *st)
{
	size_t n;
	const struct imap_arg *a = args_of(args, 0, &n);
	const char *err = NULL;
	int r = imap_store_parse(a, n, st, &err);

	if (r < 0) {
		assert_non_null(err);
		assert_null(st->keywords);
	}
	return r;
}

static void
test_store(void **state)
{
	struct imap_store_args st;

	assert_int_equal(store("+FLAGS.SILENT (\\Seen \\deleted $Junk $junk)",
			       &st), 0);
	assert_int_equal(st.mode, IMAP_STORE_ADD);
	assert_true(st.silent);
	assert_false(st.unchangedsince_set);
	assert_int_equal(st.flags, STORE_FLAG_SEEN | STORE_FLAG_DELETED);
	assert_int_equal(st.n_keywords, 1);
	assert_string_equal(st.keywords[0], "$Junk");
	imap_store_args_free(&st);

	assert_int_equal(store("(UNCHANGEDSINCE 320162338) -flags \\Answered "
			       "\\Flagged \\Draft", &st), 0);
	assert_int_equal(st.mode, IMAP_STORE_REMOVE);
	assert_false(st.silent);
	assert_true(st.unchangedsince_set);
	assert_true(st.unchangedsince == 320162338);
	assert_int_equal(st.flags, STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED |
					   STORE_FLAG_DRAFT);
	imap_store_args_free(&st);

	assert_int_equal(store("FLAGS ()", &st), 0);
	assert_int_equal(st.mode, IMAP_STORE_SET);
	assert_int_equal(st.flags, 0);
	assert_int_equal(st.n_keywords, 0);
	imap_store_args_free(&st);

	/* NIL alone is the empty list. */
	assert_int_equal(store("+FLAGS NIL", &st), 0);
	assert_int_equal(st.mode, IMAP_STORE_ADD);
	assert_int_equal(st.flags, 0);
	assert_int_equal(st.n_keywords, 0);
	imap_store_args_free(&st);

	static const char *const bad[] = {
		"FLAGS", "+FLAGS (\\Recent)", "FLAGS (\\Foo)", "FLAGS (\"x\")",
		"FLAGS (a]b)", "FLAGS (a%)", "FLAGS ((a))", "FLAGS (a) (b)",
		"FLAGS (a) b", "+-FLAGS (a)", "FLAGS.SILENTX (a)", "LABELS (a)",
		"(UNCHANGEDSINCE) FLAGS (a)", "(UNCHANGEDSINCE x) FLAGS (a)",
		"(FOO 1) FLAGS (a)", "(UNCHANGEDSINCE 1)", "FLAGS \\Seen NIL",
		"(UNCHANGEDSINCE 99999999999999999999) FLAGS ()",
		".SILENT ()",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (store(bad[i], &st) == 0) {
			print_error("accepted \"%s\"\n", bad[i]);
			imap_store_args_free(&st);
			fail();
		}
	}
	char kw[IMAP_KEYWORD_MAX + 32];
	memset(kw, 'k', sizeof(kw));
	memcpy(kw, "FLAGS (", 7);
	memcpy(kw + sizeof(kw) - 2, ")", 2);
	assert_int_equal(store(kw, &st), -1);

	uint32_t flags;
	char **kws;
	size_t nk;
	const char *err;
	assert_int_equal(imap_flags_parse(NULL, &flags, &kws, &nk, &err), -1);
	size_t n;
	const struct imap_arg *a = args_of("\\Seen", 0, &n);
	assert_int_equal(imap_flags_parse(a, &flags, &kws, &nk, &err), -1);
	a = args_of("(\\Seen Foo)", 0, &n);
	assert_int_equal(imap_flags_parse(a, &flags, &kws, &nk, &err), 0);
	assert_int_equal(flags, STORE_FLAG_SEEN);
	assert_int_equal(nk, 1);
	free(kws[0]);
	free(kws);
	imap_cmd_free(&tcmd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_simple),
		cmocka_unit_test(test_fetch_sections),
		cmocka_unit_test(test_fetch_modifiers),
		cmocka_unit_test(test_fetch_bad),
		cmocka_unit_test(test_search_keys),
		cmocka_unit_test(test_search_return_charset),
		cmocka_unit_test(test_search_bad),
		cmocka_unit_test(test_search_depth),
		cmocka_unit_test(test_store),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	imap_cmd_free(&tcmd);
	return r;
}
