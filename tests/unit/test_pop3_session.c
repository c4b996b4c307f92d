/*
 * POP3 session pieces that need no server: RFC 1939 §3 byte-stuffing of
 * RETR/TOP output (pop3_maildrop.c) and the command table (pop3_cmds.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pop3/pop3_maildrop.h"
#include "pop3/pop3_session.h"

/* Runs the stuffer over in, split into pieces of at most step bytes (to
 * exercise state carried across chunks), and returns the malloc'ed
 * output with its length. */
static char *
stuff(const char *in, size_t step, bool top, unsigned long lines,
      size_t *len_r)
{
	size_t len = strlen(in);
	char *out = malloc(POP3_STUFF_OUT_MAX(len) + POP3_STUFF_FINISH_MAX + 1);
	struct pop3_stuff st;
	size_t o = 0;

	assert_non_null(out);
	pop3_stuff_init(&st, top, lines);
	for (size_t i = 0; i < len; i += step) {
		size_t n = len - i < step ? len - i : step;

		o += pop3_stuff_chunk(&st, (const uint8_t *)in + i, n,
				      (uint8_t *)out + o);
	}
	o += pop3_stuff_finish(&st, (uint8_t *)out + o);
	out[o] = '\0';
	*len_r = o;
	return out;
}

static void
check(const char *in, bool top, unsigned long lines, const char *want)
{
	/* Every chunking must give the same bytes. */
	static const size_t steps[] = {1, 2, 3, 7, 4096};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t len;
		char *got = stuff(in, steps[i], top, lines, &len);

		assert_int_equal(len, strlen(want));
		assert_string_equal(got, want);
		free(got);
	}
}

static void
test_stuff_plain(void **state)
{
	check("Subject: x\r\n\r\nhello\r\n", false, 0,
	      "Subject: x\r\n\r\nhello\r\n.\r\n");
}

static void
test_stuff_dots(void **state)
{
	/* RFC 1939 §3: every line starting with "." gets one more, including
	 * a lone "." that would otherwise end the response. */
	check("a\r\n.\r\n..x\r\n.y\r\nb.c\r\n", false, 0,
	      "a\r\n..\r\n...x\r\n..y\r\nb.c\r\n.\r\n");
	check(".first\r\n", false, 0, "..first\r\n.\r\n");
}

static void
test_stuff_bare_lf_and_no_final_eol(void **state)
{
	check("a\nb\n.\n", false, 0, "a\r\nb\r\n..\r\n.\r\n");
	check("a\r\nlast", false, 0, "a\r\nlast\r\n.\r\n");
	check("a\r\nlast\r", false, 0, "a\r\nlast\r\n.\r\n");
	check("", false, 0, ".\r\n");
}

static void
test_stuff_bare_cr_not_a_line_end(void **state)
{
	/* A bare CR does not start a line: no stuffing after it. */
	check("a\r.b\r\n", false, 0, "a\r.b\r\n.\r\n");
}

static void
test_stuff_top(void **state)
{
	const char *msg = "H: 1\r\nI: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";

	check(msg, true, 0, "H: 1\r\nI: 2\r\n\r\n.\r\n");
	check(msg, true, 1, "H: 1\r\nI: 2\r\n\r\nl1\r\n.\r\n");
	check(msg, true, 2, "H: 1\r\nI: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
	check(msg, true, 99, "H: 1\r\nI: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	/* No body at all: the whole header. */
	check("H: 1\r\n", true, 5, "H: 1\r\n.\r\n");
}

static void
test_cmds_table(void **state)
{
	unsigned states, flags;

	assert_int_equal(pop3_cmds_lookup(POP3_VERB_USER, &states, &flags), 0);
	assert_int_equal(states, POP3_STATE_AUTHORIZATION);
	assert_true(flags & POP3_CMD_NEEDS_TLS);
	assert_int_equal(pop3_cmds_lookup(POP3_VERB_AUTH, &states, &flags), 0);
	assert_true(flags & POP3_CMD_NEEDS_TLS);
	assert_int_equal(pop3_cmds_lookup(POP3_VERB_RETR, &states, &flags), 0);
	assert_int_equal(states, POP3_STATE_TRANSACTION);
	assert_int_equal(flags, 0);
	assert_int_equal(pop3_cmds_lookup(POP3_VERB_QUIT, &states, &flags), 0);
	assert_int_equal(states,
			 POP3_STATE_AUTHORIZATION | POP3_STATE_TRANSACTION);
	assert_int_equal(pop3_cmds_lookup(POP3_VERB_STLS, &states, &flags), 0);
	assert_int_equal(states, POP3_STATE_AUTHORIZATION);
	assert_int_equal(pop3_cmds_lookup(POP3_VERB_UNKNOWN, &states, &flags),
			 -1);
	assert_int_equal(pop3_cmds_lookup(POP3_VERB_COUNT, &states, &flags),
			 -1);
	/* Every verb the parser knows has a handler. */
	for (int v = POP3_VERB_UNKNOWN + 1; v < POP3_VERB_COUNT; v++)
		assert_int_equal(pop3_cmds_lookup((enum pop3_verb)v, &states,
						  &flags),
				 0);
	assert_string_equal(pop3_cmds_name(POP3_VERB_TOP), "TOP");
	assert_string_equal(pop3_cmds_name(POP3_VERB_UNKNOWN), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stuff_plain),
		cmocka_unit_test(test_stuff_dots),
		cmocka_unit_test(test_stuff_bare_lf_and_no_final_eol),
		cmocka_unit_test(test_stuff_bare_cr_not_a_line_end),
		cmocka_unit_test(test_stuff_top),
		cmocka_unit_test(test_cmds_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
