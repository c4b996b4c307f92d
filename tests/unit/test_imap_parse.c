/*
 * Unit tests for the IMAP command tokenizer (RFC 9051 §4, §9), literal
 * announcements (RFC 7888, RFC 3516) and sequence sets, hostile inputs
 * included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/limits.h"
#include "imap/imap_int.h"
#include "imap/imap_parse.h"

static struct imap_cmd tcmd;

static void
parse_ok_n(const char *buf, size_t len)
{
	const char *err = NULL;
	int r = imap_parse_command(buf, len, &tcmd, &err);

	if (r != 0)
		print_error("unexpected failure for \"%.*s\": %s\n", (int)len,
			    buf, err);
	assert_int_equal(r, 0);
}

static void
parse_ok(const char *buf)
{
	parse_ok_n(buf, strlen(buf));
}

static const char *
parse_bad_n(const char *buf, size_t len)
{
	const char *err = NULL;
	int r = imap_parse_command(buf, len, &tcmd, &err);

	if (r == 0)
		print_error("unexpected success for \"%.*s\"\n", (int)len, buf);
	assert_int_equal(r, -1);
	assert_non_null(err);
	assert_true(strlen(err) > 0);
	assert_null(tcmd.pool);
	assert_null(tcmd.scratch);
	return err;
}

static const char *
parse_bad(const char *buf)
{
	return parse_bad_n(buf, strlen(buf));
}

static void
assert_arg(const struct imap_arg *a, enum imap_arg_type t, const char *s)
{
	assert_int_equal(a->type, t);
	assert_int_equal(a->len, strlen(s));
	assert_memory_equal(a->str, s, strlen(s));
}

static void
test_basic(void **state)
{
	parse_ok("a1 NOOP\r\n");
	assert_string_equal(tcmd.tag, "a1");
	assert_string_equal(tcmd.name, "NOOP");
	assert_false(tcmd.uid);
	assert_int_equal(tcmd.n_args, 0);
	imap_cmd_free(&tcmd);

	parse_ok("x.y] login Bob \"pa ss\\\"w\\\\\"");
	assert_string_equal(tcmd.tag, "x.y]");
	assert_string_equal(tcmd.name, "LOGIN");
	assert_int_equal(tcmd.n_args, 2);
	assert_arg(&tcmd.args[0], IMAP_ARG_ATOM, "Bob");
	assert_arg(&tcmd.args[1], IMAP_ARG_STRING, "pa ss\"w\\");
	imap_cmd_free(&tcmd);

	parse_ok("t uid fetch 1:* (FLAGS)\n");
	assert_true(tcmd.uid);
	assert_string_equal(tcmd.name, "FETCH");
	assert_int_equal(tcmd.n_args, 2);
	assert_arg(&tcmd.args[0], IMAP_ARG_ATOM, "1:*");
	assert_int_equal(tcmd.args[1].type, IMAP_ARG_LIST);
	assert_int_equal(tcmd.args[1].list_n, 1);
	assert_arg(&tcmd.args[1].list[0], IMAP_ARG_ATOM, "FLAGS");
	imap_cmd_free(&tcmd);

	parse_ok("t SELECT \"\"");
	assert_arg(&tcmd.args[0], IMAP_ARG_STRING, "");
	imap_cmd_free(&tcmd);
}

static void
test_lists_nil(void **state)
{
	parse_ok("t X (a (b \"c\" NIL) () nil) ~/Mail [Gmail]/Sent foo[bar "
		 "\\Seen %");
	assert_int_equal(tcmd.n_args, 6);
	const struct imap_arg *l = &tcmd.args[0];
	assert_int_equal(l->type, IMAP_ARG_LIST);
	assert_int_equal(l->list_n, 4);
	assert_arg(&l->list[0], IMAP_ARG_ATOM, "a");
	assert_int_equal(l->list[1].list_n, 3);
	assert_arg(&l->list[1].list[1], IMAP_ARG_STRING, "c");
	assert_int_equal(l->list[1].list[2].type, IMAP_ARG_NIL);
	assert_int_equal(l->list[2].type, IMAP_ARG_LIST);
	assert_int_equal(l->list[2].list_n, 0);
	assert_int_equal(l->list[3].type, IMAP_ARG_NIL);
	assert_arg(&tcmd.args[1], IMAP_ARG_ATOM, "~/Mail");
	assert_arg(&tcmd.args[2], IMAP_ARG_ATOM, "[Gmail]/Sent");
	assert_arg(&tcmd.args[3], IMAP_ARG_ATOM, "foo[bar");
	assert_arg(&tcmd.args[4], IMAP_ARG_ATOM, "\\Seen");
	assert_arg(&tcmd.args[5], IMAP_ARG_ATOM, "%");
	assert_true(imap_arg_atom_is(&tcmd.args[4], "\\SEEN"));
	assert_true(imap_arg_is_string(&l->list[3])); /* NIL is an astring */
	char *d = imap_arg_dup(&tcmd.args[2]);
	assert_string_equal(d, "[Gmail]/Sent");
	free(d);
	assert_null(imap_arg_dup(l));
	imap_cmd_free(&tcmd);
}

static void
test_fetch_atoms(void **state)
{
	parse_ok("t FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM \"To\")]<0.100> "
		 "BODY[] BINARY[1.2]<5.6> UID)");
	const struct imap_arg *l = &tcmd.args[1];
	assert_int_equal(l->list_n, 4);
	assert_arg(&l->list[0], IMAP_ARG_ATOM,
		   "BODY.PEEK[HEADER.FIELDS (FROM \"To\")]<0.100>");
	assert_arg(&l->list[1], IMAP_ARG_ATOM, "BODY[]");
	assert_arg(&l->list[2], IMAP_ARG_ATOM, "BINARY[1.2]<5.6>");
	imap_cmd_free(&tcmd);

	parse_ok("t FETCH 1 BODY[HEADER.FIELDS (A B)]");
	assert_int_equal(tcmd.n_args, 2);
	assert_arg(&tcmd.args[1], IMAP_ARG_ATOM, "BODY[HEADER.FIELDS (A B)]");
	imap_cmd_free(&tcmd);
}

static void
test_literals(void **state)
{
	static const char cmd[] = "a LOGIN {3}\r\nbob {4+}\r\np\0s\"\r\n";

	/* NUL in a plain literal is refused (RFC 9051 §4.3 CHAR8). */
	parse_bad_n(cmd, sizeof(cmd) - 1);
	parse_ok("a LOGIN {3}\r\nbob {4+}\r\np)s\"\r\n");
	assert_int_equal(tcmd.n_args, 2);
	assert_arg(&tcmd.args[0], IMAP_ARG_LITERAL, "bob");
	assert_arg(&tcmd.args[1], IMAP_ARG_LITERAL, "p)s\"");
	imap_cmd_free(&tcmd);

	static const char app[] = "a APPEND box (\\Seen) ~{5}\r\nx\0\r\ny\r\n";
	parse_ok_n(app, sizeof(app) - 1);
	assert_int_equal(tcmd.n_args, 3);
	assert_int_equal(tcmd.args[2].type, IMAP_ARG_LITERAL);
	assert_true(tcmd.args[2].literal8);
	assert_int_equal(tcmd.args[2].len, 5);
	assert_null(imap_arg_dup(&tcmd.args[2]));
	imap_cmd_free(&tcmd);

	/* A literal whose data ends in CRLF, command without final CRLF. */
	parse_ok("a APPEND box {4}\r\nab\r\n\r\n");
	assert_int_equal(tcmd.args[1].len, 4);
	imap_cmd_free(&tcmd);
	parse_ok("a APPEND box {4}\r\nab\r\n");
	assert_int_equal(tcmd.args[1].len, 4);
	imap_cmd_free(&tcmd);
	parse_ok("a X ({0}\r\n)");
	assert_int_equal(tcmd.args[0].list_n, 1);
	assert_int_equal(tcmd.args[0].list[0].len, 0);
	imap_cmd_free(&tcmd);

	parse_bad("a LOGIN {10}\r\nbob\r\n");        /* too short */
	parse_bad("a LOGIN {3}bob");                 /* no CRLF */
	parse_bad("a LOGIN {}\r\n");
	parse_bad("a LOGIN {-1}\r\n");
	parse_bad("a LOGIN {3+-}\r\nbob");
	parse_bad("a LOGIN {99999999999999999999}\r\n");
	parse_bad("a LOGIN {9223372036854775808}\r\n"); /* 2^63 */
	parse_bad("a LOGIN {18446744073709551616}\r\n");
	parse_bad("a LOGIN {3}\r\nbobx");             /* no SP after */
	parse_bad("a LOGIN ~{3\r\nbob");
}

static void
test_line_literal(void **state)
{
	uint64_t n = 0;
	bool plus = true, l8 = true;

	assert_int_equal(imap_line_literal("a LOGIN {5}", 11, &n, &plus, &l8),
			 1);
	assert_int_equal(n, 5);
	assert_false(plus);
	assert_false(l8);
	assert_int_equal(imap_line_literal("a APPEND x ~{12+}", 17, &n, &plus,
					   &l8), 1);
	assert_int_equal(n, 12);
	assert_true(plus);
	assert_true(l8);
	assert_int_equal(imap_line_literal("a NOOP", 6, &n, &plus, &l8), 0);
	assert_int_equal(imap_line_literal("", 0, &n, &plus, &l8), 0);
	assert_int_equal(imap_line_literal("a SELECT foo}", 13, &n, &plus, &l8),
			 0);
	assert_int_equal(imap_line_literal("a SELECT \"{5}\"", 14, &n, &plus,
					   &l8), 0);
	assert_int_equal(imap_line_literal("a SELECT \"{\" x}", 15, &n, &plus,
					   &l8), 0);
	assert_int_equal(imap_line_literal("a X {abc}", 9, &n, &plus, &l8), -1);
	assert_int_equal(imap_line_literal("a X {}", 6, &n, &plus, &l8), -1);
	assert_int_equal(imap_line_literal("a X {1}2}", 9, &n, &plus, &l8),
			 -1);
	const char *big = "a X {9223372036854775808}";
	assert_int_equal(imap_line_literal(big, strlen(big), &n, &plus, &l8),
			 -1);
	big = "a X {9223372036854775807}";
	assert_int_equal(imap_line_literal(big, strlen(big), &n, &plus, &l8),
			 1);
	assert_true(n == 9223372036854775807ULL);
	big = "a X {0000000000000000000000000001}";
	assert_int_equal(imap_line_literal(big, strlen(big), &n, &plus, &l8),
			 -1);
}

static void
test_bad_syntax(void **state)
{
	const char *err;

	err = parse_bad("");
	assert_string_equal(tcmd.tag, "*");
	parse_bad("\r\n");
	parse_bad(" a NOOP");
	err = parse_bad("a\r\n");
	assert_string_equal(tcmd.tag, "a");
	parse_bad("a ");
	parse_bad("a+b NOOP");
	assert_string_equal(tcmd.tag, "*");
	parse_bad("a*b NOOP");
	parse_bad("a{b NOOP");
	parse_bad("a NO\"OP");
	parse_bad("a UID");
	parse_bad("a UID ");
	parse_bad("a NOOP ");
	parse_bad("a NOOP  x");
	parse_bad("a X (a b");
	parse_bad("a X a b)");
	parse_bad("a X (a b))");
	parse_bad("a X (a  b)");
	parse_bad("a X ( a)");
	parse_bad("a X (a )");
	parse_bad("a X \"abc");
	parse_bad("a X \"a\\bc\"");
	parse_bad("a X \"a\rb\"");
	parse_bad("a X \"a\"b");
	parse_bad("a X ab\\c");
	parse_bad("a X \\");
	parse_bad("a X (\\)");
	parse_bad("a X a\r\nb");
	parse_bad("a X a\rb");
	parse_bad("a X \xc3\xa9t\xc3\xa9");   /* 8-bit atom */
	parse_bad("a X a\x01");
	parse_bad("a X a\x7f");
	parse_bad_n("a X a\0b", 7);
	parse_bad_n("a X \"a\0b\"", 9);
	parse_bad_n("a\0 NOOP", 7);
	err = parse_bad("a1 X (");
	assert_string_equal(tcmd.tag, "a1");
	assert_non_null(err);
	parse_bad("a X a{3}\r\nabc");
	parse_bad("a X ~{3\r\nabc");

	char tag[IMAP_TAG_MAX + 16];
	memset(tag, 't', sizeof(tag));
	memcpy(tag + IMAP_TAG_MAX + 1, " NOOP", 6);
	parse_bad(tag);
	assert_string_equal(tcmd.tag, "*");
	memcpy(tag + IMAP_TAG_MAX, " NOOP", 6);
	parse_ok(tag);
	imap_cmd_free(&tcmd);

	parse_bad("a ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH");

	/* 8-bit in a quoted string is UTF-8 (RFC 9051 §4.3) */
	parse_ok("a SELECT \"\xc3\xa9t\xc3\xa9\"");
	assert_int_equal(tcmd.args[0].len, 5);
	imap_cmd_free(&tcmd);
}

static void
test_limits(void **state)
{
	/* nesting: IMAP_MAX_DEPTH is fine, one more is not */
	char buf[256];
	size_t n = 0;

	n += (size_t)snprintf(buf, sizeof(buf), "a X ");
	for (int i = 0; i < IMAP_MAX_DEPTH; i++)
		buf[n++] = '(';
	for (int i = 0; i < IMAP_MAX_DEPTH; i++)
		buf[n++] = ')';
	parse_ok_n(buf, n);
	imap_cmd_free(&tcmd);
	n = 4;
	for (int i = 0; i <= IMAP_MAX_DEPTH; i++)
		buf[n++] = '(';
	for (int i = 0; i <= IMAP_MAX_DEPTH; i++)
		buf[n++] = ')';
	parse_bad_n(buf, n);

	/* very deep: no stack overflow */
	size_t deep = 1000000;
	char *d = malloc(deep * 2 + 8);
	assert_non_null(d);
	memcpy(d, "a X ", 4);
	memset(d + 4, '(', deep);
	memset(d + 4 + deep, ')', deep);
	parse_bad_n(d, 4 + 2 * deep);
	free(d);

	/* argument count */
	size_t nargs = IMAP_MAX_ARGS;
	char *many = malloc(nargs * 2 + 16);
	assert_non_null(many);
	memcpy(many, "a X", 3);
	n = 3;
	for (size_t i = 0; i < nargs; i++) {
		many[n++] = ' ';
		many[n++] = 'x';
	}
	parse_ok_n(many, n);
	assert_int_equal(tcmd.n_args, IMAP_MAX_ARGS);
	imap_cmd_free(&tcmd);
	many[n++] = ' ';
	many[n++] = 'x';
	assert_string_equal(parse_bad_n(many, n), "Too many arguments");
	free(many);

	/* line length: counted per line, literals excluded */
	size_t big = LIMIT_IMAP_LINE + 10;
	char *line = malloc(big + 64);
	assert_non_null(line);
	memcpy(line, "a X ", 4);
	memset(line + 4, 'x', big);
	parse_bad_n(line, 4 + big);
	memset(line + 4, 'x', LIMIT_IMAP_LINE - 4);
	parse_ok_n(line, LIMIT_IMAP_LINE);
	imap_cmd_free(&tcmd);
	n = (size_t)snprintf(line, 64, "a X {%zu}\r\n", big);
	char *lit = malloc(n + big + 8);
	assert_non_null(lit);
	memcpy(lit, line, n);
	memset(lit + n, 'y', big);
	memcpy(lit + n + big, " z\r\n", 4);
	parse_ok_n(lit, n + big + 4);
	assert_int_equal(tcmd.args[0].len, big);
	imap_cmd_free(&tcmd);
	free(lit);
	free(line);
}

static void
test_seqset(void **state)
{
	struct imap_seqset s;

	assert_int_equal(imap_seqset_parse("1,3:5,*,9:7,4294967294", 22, &s),
			 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.r[1].lo, 3);
	assert_int_equal(s.r[1].hi, 5);
	assert_true(s.r[2].lo_star && s.r[2].hi_star);
	assert_false(s.r[4].lo_star || s.r[4].hi_star);
	assert_int_equal(s.r[3].lo, 7);
	assert_int_equal(s.r[3].hi, 9);
	assert_true(imap_seqset_contains(&s, 4, 100));
	assert_false(imap_seqset_contains(&s, 6, 100));
	assert_true(imap_seqset_contains(&s, 100, 100));
	assert_false(imap_seqset_contains(&s, 0, 100));
	/* Normalised for max 100: 1, 3:5, 7:9, 100, 4294967294; the same
	 * answers by binary search. */
	imap_seqset_normalize(&s, 100);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.r[2].lo, 7);
	assert_int_equal(s.r[3].lo, 100);
	for (uint32_t k = 0; k < 120; k++)
		assert_int_equal(imap_seqset_contains(&s, k, 100),
				 k == 1 || (k >= 3 && k <= 5) ||
				 (k >= 7 && k <= 9) || k == 100);
	assert_true(imap_seqset_contains(&s, 4294967294u, 100));
	imap_seqset_free(&s);
	/* Overlapping and adjacent ranges merge; 4 stays a gap. */
	assert_int_equal(imap_seqset_parse("5:8,1:2,3,7:10,*", 16, &s), 0);
	imap_seqset_normalize(&s, 10);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.r[0].lo, 1);
	assert_int_equal(s.r[0].hi, 3);
	assert_int_equal(s.r[1].lo, 5);
	assert_int_equal(s.r[1].hi, 10);
	imap_seqset_free(&s);

	assert_int_equal(imap_seqset_parse("5:*", 3, &s), 0);
	assert_int_equal(s.r[0].lo, 5);
	assert_true(s.r[0].hi_star);
	/* RFC 9051 §9: "5:*" with 3 messages is 3:5 */
	assert_true(imap_seqset_contains(&s, 3, 3));
	assert_false(imap_seqset_contains(&s, 2, 3));
	imap_seqset_free(&s);

	assert_int_equal(imap_seqset_parse("$", 1, &s), 0);
	assert_true(s.saved);
	assert_false(imap_seqset_contains(&s, 1, 1));
	imap_seqset_free(&s);

	static const char *const bad[] = {
		"", "0", "1:0", "01", "1,", ",1", "1::2", "1:", ":1", "a",
		"4294967296", "99999999999999999999", "1,$", "$$", "*:*x",
		"1 2", "-1", "1,,2", "+1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (imap_seqset_parse(bad[i], strlen(bad[i]), &s) == 0)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_null(s.r);
	}
	imap_seqset_free(NULL);
}

/* Writing sets (VANISHED, COPYUID, ESEARCH ALL): runs become ranges, the
 * text parses back to exactly the numbers given. */
static void
test_set_out(void **state)
{
	static const uint32_t v[] = { 1, 2, 3, 7, 9, 10, 4294967294u,
				      4294967295u };
	struct buf b;
	struct imap_seqset set;
	struct imap_set_out o;

	(void)state;
	buf_init(&b, 4096);
	imap_buf_set(&b, v, sizeof(v) / sizeof(v[0]));
	assert_int_equal(b.len, strlen("1:3,7,9:10,4294967294:4294967295"));
	assert_memory_equal(b.data, "1:3,7,9:10,4294967294:4294967295",
			    b.len);
	memset(&set, 0, sizeof(set));
	assert_int_equal(imap_seqset_parse((const char *)b.data, b.len, &set),
			 0);
	for (uint32_t n = 1; n < 12; n++)
		assert_int_equal(imap_seqset_contains(&set, n, 100),
				 n <= 3 || n == 7 || n == 9 || n == 10);
	imap_seqset_free(&set);
	/* After text already in the buffer: no leading comma; empty: nothing. */
	buf_reset(&b);
	buf_append(&b, "COPYUID 5 ", 10);
	o = (struct imap_set_out){ .b = &b };
	imap_set_add(&o, 4);
	imap_set_end(&o);
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data, "COPYUID 5 4", 11);
	buf_reset(&b);
	imap_buf_set(&b, NULL, 0);
	assert_int_equal(b.len, 0);
	buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_lists_nil),
		cmocka_unit_test(test_fetch_atoms),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_line_literal),
		cmocka_unit_test(test_bad_syntax),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_seqset),
		cmocka_unit_test(test_set_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
