/*
 * The session base (core/session.c) without a server: its resumable line
 * reader over a connection whose input is filled by hand (a bufferevent
 * pair stands in for the socket), the reference count and the error
 * count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/conn_int.h"
#include "core/session.h"

struct fx {
	struct event_base *base;
	struct bufferevent *pair[2];
	struct conn conn;
	struct session s;
	unsigned too_long, too_long_end, errors_reply, freed;
};

static struct fx *cur;

static void
fx_too_long(struct session *s, bool line_end)
{
	cur->too_long++;
	if (line_end)
		cur->too_long_end++;
}

static void
fx_errors(struct session *s)
{
	cur->errors_reply++;
}

static void
fx_free(struct session *s)
{
	cur->freed++;
}

static void
fx_nop(struct session *s)
{
}

static void
fx_close(struct session *s, const char *reason)
{
}

static const struct session_ops fx_ops = {
	.on_read = fx_nop,
	.on_close = fx_close,
	.timeout_reply = fx_nop,
	.too_many_errors = fx_errors,
	.line_too_long = fx_too_long,
	.free = fx_free,
	.max_errors = 3,
};

static int
fx_setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.base = event_base_new();
	assert_non_null(f.base);
	assert_int_equal(bufferevent_pair_new(f.base, 0, f.pair), 0);
	f.conn.bev = f.pair[0];
	/* A bufferevent's input only takes what it reads itself; the test
	 * plays the socket. */
	evbuffer_unfreeze(bufferevent_get_input(f.pair[0]), 0);
	memcpy(f.conn.id, "0123456789abcdef", 17);
	session_init(&f.s, &fx_ops, NULL, &f.conn, false);
	cur = &f;
	*state = &f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	bufferevent_free(f->pair[0]);
	bufferevent_free(f->pair[1]);
	event_base_free(f->base);
	return 0;
}

static void
feed(struct fx *f, const char *data)
{
	evbuffer_add(bufferevent_get_input(f->pair[0]), data, strlen(data));
}

/* session_read_line; on 1 the line is taken into out, NUL-terminated. */
static int
next(struct fx *f, size_t max, char *out, size_t cap)
{
	size_t len = 0;
	int r = session_read_line(&f->s, max, &len);

	if (r == 1) {
		assert_true(len < cap);
		session_take_line(&f->s, out, len);
		out[len] = '\0';
	}
	return r;
}

static void
test_init_copies_id(void **state)
{
	struct fx *f = *state;

	assert_string_equal(f->s.id, "0123456789abcdef");
	assert_int_equal(f->s.refs, 1);
	assert_ptr_equal(f->s.conn, &f->conn);
}

static void
test_lines_crlf_and_lf(void **state)
{
	struct fx *f = *state;
	char line[64];

	feed(f, "NOOP\r\nUSER a\nPA");
	assert_int_equal(next(f, 32, line, sizeof(line)), 1);
	assert_string_equal(line, "NOOP");
	assert_int_equal(next(f, 32, line, sizeof(line)), 1);
	assert_string_equal(line, "USER a");
	/* Resumable: a partial line waits for the rest. */
	assert_int_equal(next(f, 32, line, sizeof(line)), 0);
	feed(f, "SS x\r\n");
	assert_int_equal(next(f, 32, line, sizeof(line)), 1);
	assert_string_equal(line, "PASS x");
	assert_int_equal(next(f, 32, line, sizeof(line)), 0);
	assert_int_equal(f->too_long, 0);
}

static void
test_line_at_max_is_taken(void **state)
{
	struct fx *f = *state;
	char line[64];

	feed(f, "12345678\r\n");
	assert_int_equal(next(f, 8, line, sizeof(line)), 1);
	assert_string_equal(line, "12345678");
	feed(f, "123456789\r\nok\r\n");
	assert_int_equal(next(f, 8, line, sizeof(line)), -1);
	assert_int_equal(f->too_long, 1);
	assert_int_equal(f->too_long_end, 1);
	assert_int_equal(next(f, 8, line, sizeof(line)), 1);
	assert_string_equal(line, "ok");
}

static void
test_overlong_answered_once(void **state)
{
	struct fx *f = *state;
	char line[64];

	/* No end in sight past max: dropped, answered once, and the rest of
	 * the same line is dropped silently however it arrives. */
	feed(f, "AAAAAAAAAAAAAAAA");
	assert_int_equal(next(f, 8, line, sizeof(line)), -1);
	assert_true(f->s.discarding);
	feed(f, "BBBBBBBBBBBBBBBB");
	assert_int_equal(next(f, 8, line, sizeof(line)), -1);
	feed(f, "CC\r\nNEXT\r\n");
	assert_int_equal(next(f, 8, line, sizeof(line)), -1);
	assert_false(f->s.discarding);
	assert_int_equal(f->too_long, 1);
	assert_int_equal(f->too_long_end, 0);
	assert_int_equal(next(f, 8, line, sizeof(line)), 1);
	assert_string_equal(line, "NEXT");
}

static void
test_take_line_null_drops(void **state)
{
	struct fx *f = *state;
	char line[64];
	size_t len = 0;

	feed(f, "secret\r\nafter\r\n");
	assert_int_equal(session_read_line(&f->s, 32, &len), 1);
	assert_int_equal(len, 6);
	session_take_line(&f->s, NULL, len);
	assert_int_equal(next(f, 32, line, sizeof(line)), 1);
	assert_string_equal(line, "after");
}

static void
test_refs_and_errors(void **state)
{
	struct fx *f = *state;

	session_ref(&f->s);
	assert_false(session_unref(&f->s));
	assert_int_equal(f->freed, 0);
	/* max_errors 3: the third error answers; the close itself needs a
	 * live connection, so stop the base before it (closing set). */
	f->s.closing = true;
	assert_false(session_error(&f->s));
	assert_false(session_error(&f->s));
	assert_true(session_error(&f->s));
	assert_int_equal(f->errors_reply, 1);
	assert_false(session_is_tls(&f->s));
	assert_true(session_unref(&f->s));
	assert_int_equal(f->freed, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_copies_id,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lines_crlf_and_lf,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_line_at_max_is_taken,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_overlong_answered_once,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_take_line_null_drops,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refs_and_errors,
						fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
