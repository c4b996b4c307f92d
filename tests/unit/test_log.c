/* Unit tests for core/log.c: the `log` targets (stderr, syslog, a file),
 * the file reopened after a rename (logrotate), the syslog datagram, and
 * the `log` config key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "server/config_file.h"

static void
test_target_parse(void **state)
{
	enum log_output out;
	const char *path;

	(void)state;
	assert_int_equal(log_target_parse("stderr", &out, &path), 0);
	assert_int_equal(out, LOG_OUT_STDERR);
	assert_null(path);
	assert_int_equal(log_target_parse("syslog", &out, &path), 0);
	assert_int_equal(out, LOG_OUT_SYSLOG);
	assert_string_equal(path, "/dev/log");
	assert_int_equal(log_target_parse("syslog:/run/x/log", &out, &path), 0);
	assert_int_equal(out, LOG_OUT_SYSLOG);
	assert_string_equal(path, "/run/x/log");
	assert_int_equal(log_target_parse("/var/log/postel.log", &out, &path),
			 0);
	assert_int_equal(out, LOG_OUT_FILE);
	assert_string_equal(path, "/var/log/postel.log");
	/* Relative paths, a directory, an empty socket, a typo. */
	assert_int_equal(log_target_parse("postel.log", &out, &path), -1);
	assert_int_equal(log_target_parse("/var/log/", &out, &path), -1);
	assert_int_equal(log_target_parse("/", &out, &path), -1);
	assert_int_equal(log_target_parse("syslog:", &out, &path), -1);
	assert_int_equal(log_target_parse("syslog:rel", &out, &path), -1);
	assert_int_equal(log_target_parse("Syslog", &out, &path), -1);
	assert_int_equal(log_target_parse("", &out, &path), -1);
}

static void
test_config_key(void **state)
{
	struct config cfg;
	char err[600];
	const char *t1 = "log = /var/log/postel/postel.log\n";
	const char *t2 = "log = syslog\n";
	const char *t3 = "log = var/log/postel.log\n";

	(void)state;
	config_defaults(&cfg, false);
	assert_string_equal(cfg.log_target, "stderr");
	assert_int_equal(config_parse_text(&cfg, t1, strlen(t1), "t.conf", err,
					   sizeof(err)), 0);
	assert_string_equal(cfg.log_target, "/var/log/postel/postel.log");
	assert_int_equal(config_parse_text(&cfg, t2, strlen(t2), "t.conf", err,
					   sizeof(err)), 0);
	assert_string_equal(cfg.log_target, "syslog");
	assert_int_equal(config_parse_text(&cfg, t3, strlen(t3), "t.conf", err,
					   sizeof(err)), -1);
	assert_non_null(strstr(err, "absolute"));
}

static char *
slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Runs last: it leaves the process logging to syslog. */
static void
test_file_reopen_then_syslog(void **state)
{
	char dir[] = "/tmp/postel-test-log-XXXXXX", path[256], old[256],
	     sock[256], spec[300], err[256], got[4096];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;
	ssize_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/postel.log", dir);
	snprintf(old, sizeof(old), "%s/postel.log.1", dir);
	assert_int_equal(log_open(path, err, sizeof(err)), 0);
	log_warn("00000000000000aa", "first", " k=%s", log_qs("one"));
	assert_int_equal(rename(path, old), 0);
	log_warn(NULL, "second", NULL);   /* still the renamed file */
	assert_int_equal(log_reopen(err, sizeof(err)), 1);
	log_warn(NULL, "third", NULL);
	assert_non_null(strstr(slurp(old), "Z warn sess=00000000000000aa "
					   "event=first k=one\n"));
	assert_non_null(strstr(slurp(old), "event=second"));
	assert_null(strstr(slurp(old), "event=third"));
	assert_non_null(strstr(slurp(path), "event=third"));
	assert_null(strstr(slurp(path), "event=second"));

	/* A syslog daemon of our own: RFC 3164 framing, facility mail. */
	snprintf(sock, sizeof(sock), "%s/log.sock", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(spec, sizeof(spec), "syslog:%s", sock);
	assert_int_equal(log_open(spec, err, sizeof(err)), 0);
	assert_int_equal(log_reopen(err, sizeof(err)), 0);
	log_warn("00000000000000bb", "login_fail", " ip=%s", "192.0.2.1");
	n = recv(fd, got, sizeof(got) - 1, 0);
	assert_true(n > 0);
	got[n] = '\0';
	/* <20>: facility mail (2) * 8 + warning (4). */
	assert_true(strncmp(got, "<20>", 4) == 0);
	assert_non_null(strstr(got, " postel["));
	assert_non_null(strstr(got, "]: warn sess=00000000000000bb "
				    "event=login_fail ip=192.0.2.1"));
	assert_null(strchr(got, '\n'));
	close(fd);
	unlink(sock);
	unlink(path);
	unlink(old);
	rmdir(dir);
}

/* The loop's batch: lines wait for the flush, in order, except that an
 * error line goes out at once with everything before it (it may be the
 * last line before an abort). */
static void
test_batch_flush_and_errors(void **state)
{
	char dir[] = "/tmp/postel-test-log-XXXXXX", path[256], err[256];
	const char *got;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/postel.log", dir);
	assert_int_equal(log_open(path, err, sizeof(err)), 0);
	log_batch_begin();
	log_warn(NULL, "batched1", NULL);
	assert_null(strstr(slurp(path), "event=batched1"));
	log_error(NULL, "fatal", NULL);
	got = slurp(path);
	assert_non_null(strstr(got, "event=batched1\n"));
	assert_true(strstr(got, "event=batched1") < strstr(got, "event=fatal"));
	log_warn(NULL, "batched2", NULL);
	assert_null(strstr(slurp(path), "event=batched2"));
	log_batch_flush();
	assert_non_null(strstr(slurp(path), "event=batched2\n"));
	log_warn(NULL, "batched3", NULL);
	log_batch_end();
	assert_non_null(strstr(slurp(path), "event=batched3\n"));
	log_warn(NULL, "direct", NULL);
	assert_non_null(strstr(slurp(path), "event=direct\n"));
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_parse),
		cmocka_unit_test(test_config_key),
		cmocka_unit_test(test_batch_flush_and_errors),
		cmocka_unit_test(test_file_reopen_then_syslog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
