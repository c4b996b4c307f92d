/* Unit tests for server/config_file.c: the configuration file parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/config_file.h"

static int
parse(struct config *cfg, const char *text, char *err, size_t errlen)
{
	config_defaults(cfg, false);
	err[0] = '\0';
	return config_parse_text(cfg, text, strlen(text), "t.conf", err,
				 errlen);
}

static void
test_keys_comments_and_errors(void **state)
{
	struct config cfg;
	char err[600];

	(void)state;
	assert_int_equal(parse(&cfg, "# a comment\n  hostname = mx.example  "
				     "# trailing\r\n\nlisten = smtp=127.0.0.1:"
				     "2525\nmax_recipients=7",
			       err, sizeof(err)),
			 0);
	assert_string_equal(cfg.hostname, "mx.example");
	assert_int_equal(cfg.n_listeners, 1);
	assert_int_equal(cfg.listeners[0].port, 2525);
	assert_int_equal(cfg.max_rcpts, 7);
	assert_int_equal(parse(&cfg, "hostname = a\n\nno equals sign\n", err,
			       sizeof(err)),
			 -1);
	assert_string_equal(err, "t.conf:3: expected key = value");
	assert_int_equal(parse(&cfg, "max_recipients = 0\n", err, sizeof(err)),
			 -1);
	assert_true(strncmp(err, "t.conf:1: ", 10) == 0);
}

/* head, pad octets of fill, tail: a config text with one long line. */
static char *
padded_text(const char *head, int fill, size_t pad, const char *tail)
{
	size_t hl = strlen(head), tl = strlen(tail);
	char *text = malloc(hl + pad + tl + 1);

	assert_non_null(text);
	memcpy(text, head, hl);
	memset(text + hl, fill, pad);
	memcpy(text + hl + pad, tail, tl + 1);
	return text;
}

/* A line longer than the old 1,024-octet line buffer: its tail was read
 * as a line of its own, so a long comment could set a key. */
static void
test_long_comment_sets_nothing(void **state)
{
	struct config cfg;
	char err[600];
	char *text = padded_text("#", 'x', 1500,
				 " listen = smtp=127.0.0.9:2600\n"
				 "hostname = after.example\n");

	(void)state;
	assert_int_equal(parse(&cfg, text, err, sizeof(err)), 0);
	assert_string_equal(cfg.hostname, "after.example");
	assert_int_equal(cfg.n_listeners, PROTO_COUNT - 2); /* not http(s) */
	for (size_t i = 0; i < cfg.n_listeners; i++)
		assert_int_not_equal(cfg.listeners[i].port, 2600);
	free(text);
}

/* The HTTP endpoint: opt-in listeners (not among the defaults), a listen
 * line without a port takes the protocol's default, the MTA-STS keys. */
static void
test_http_keys(void **state)
{
	struct config cfg;
	char err[600];
	bool root = geteuid() == 0;

	(void)state;
	config_defaults(&cfg, false);
	for (size_t i = 0; i < cfg.n_listeners; i++)
		assert_true(cfg.listeners[i].proto != PROTO_HTTP &&
			    cfg.listeners[i].proto != PROTO_HTTPS);
	assert_int_equal(cfg.mta_sts_mode, CONFIG_STS_TESTING);
	assert_int_equal(cfg.mta_sts_max_age, 604800);
	assert_int_equal(parse(&cfg, "listen = http 127.0.0.1\nlisten = https "
				     "[::1]\nlisten = https 127.0.0.1:8443\n"
				     "mta_sts_mode = enforce\n",
			       err, sizeof(err)), 0);
	config_finish(&cfg);
	assert_int_equal(cfg.n_listeners, 3);
	assert_int_equal(cfg.listeners[0].proto, PROTO_HTTP);
	assert_int_equal(cfg.listeners[0].port, root ? 80 : 2080);
	assert_string_equal(cfg.listeners[1].addr, "::1");
	assert_int_equal(cfg.listeners[1].port, root ? 443 : 2443);
	assert_int_equal(cfg.listeners[2].port, 8443);
	assert_int_equal(cfg.mta_sts_mode, CONFIG_STS_ENFORCE);
	assert_int_equal(parse(&cfg, "mta_sts_mode = strict\n", err,
			       sizeof(err)), -1);
	assert_int_equal(parse(&cfg, "listen = gopher 127.0.0.1:70\n", err,
			       sizeof(err)), -1);
}

/* A long value is refused as a whole, on its own line number. */
static void
test_long_value_refused(void **state)
{
	struct config cfg;
	char err[600];
	char *text = padded_text("# first\nhostname = ", 'h', 1500, "\n");

	(void)state;
	assert_int_equal(parse(&cfg, text, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: value of hostname too long");
	free(text);
}

/* config_load reads the file and parses its contents the same way. */
static void
test_load_file(void **state)
{
	struct config a, b;
	char err[600], path[] = "/tmp/postel-test-config-XXXXXX";
	const char *text = "hostname = file.example\nmax_recipients = 9\n";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	config_defaults(&a, false);
	assert_int_equal(config_load(&a, path, err, sizeof(err)), 0);
	assert_int_equal(parse(&b, text, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_string_equal(a.hostname, "file.example");
	unlink(path);
	assert_int_equal(config_load(&a, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_comments_and_errors),
		cmocka_unit_test(test_long_comment_sets_nothing),
		cmocka_unit_test(test_long_value_refused),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_http_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
