/* Unit tests for core/safepath.c: link-safe walking and reading as root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/safepath.h"

/* An unprivileged owner for planted links (any uid but root's). */
#define OTHER_UID 65534

static char base[64];

static int
setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/postel-safepath-XXXXXX");
	return mkdtemp(base) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void
path_of(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", base, rel);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_creates_nested(void **state)
{
	char p[256], err[256];
	bool created = false;
	struct stat st;
	int fd;

	path_of(p, sizeof(p), "a/b/c");
	fd = safepath_open_dir(p, true, 0750, &created, err, sizeof(err));
	assert_true(fd >= 0);
	assert_true(created);
	close(fd);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);
	path_of(p, sizeof(p), "a/b");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	/* Again: it exists, so not created. */
	path_of(p, sizeof(p), "a/b/c");
	fd = safepath_open_dir(p, true, 0750, &created, err, sizeof(err));
	assert_true(fd >= 0);
	assert_false(created);
	close(fd);
}

static void
test_foreign_link_refused(void **state)
{
	char p[256], link[256], err[256];
	char *buf = NULL;
	size_t len = 0;

	if (geteuid() != 0)
		skip();
	path_of(p, sizeof(p), "target");
	mkdir(p, 0700);
	path_of(link, sizeof(link), "lnk");
	assert_int_equal(symlink(p, link), 0);
	assert_int_equal(lchown(link, OTHER_UID, OTHER_UID), 0);
	path_of(p, sizeof(p), "lnk/sub");
	assert_int_equal(safepath_open_dir(p, true, 0750, NULL, err,
					   sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic link"));
	path_of(p, sizeof(p), "target/sub");
	assert_int_equal(access(p, F_OK), -1);
	/* A root-owned link is followed. */
	assert_int_equal(lchown(link, 0, 0), 0);
	path_of(p, sizeof(p), "target/f");
	write_file(p, "x");
	path_of(p, sizeof(p), "lnk/f");
	assert_int_equal(safepath_read(p, 100, &buf, &len, err, sizeof(err)),
			 0);
	assert_int_equal(len, 1);
	safepath_free_buf(buf, len);
}

static void
test_hard_link_in_foreign_dir_refused(void **state)
{
	char dir[256], secret[256], hl[256], err[256];
	char *buf = NULL;
	size_t len = 0;

	if (geteuid() != 0)
		skip();
	path_of(secret, sizeof(secret), "secret");
	write_file(secret, "root only");
	path_of(dir, sizeof(dir), "userdir");
	mkdir(dir, 0750);
	assert_int_equal(chown(dir, OTHER_UID, OTHER_UID), 0);
	path_of(hl, sizeof(hl), "userdir/key.pem");
	assert_int_equal(link(secret, hl), 0);
	assert_int_equal(safepath_read(hl, 100, &buf, &len, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "hard links"));
	/* In root's own directory the same file reads. */
	assert_int_equal(safepath_read(secret, 100, &buf, &len, err,
				       sizeof(err)), 0);
	assert_memory_equal(buf, "root only", len);
	safepath_free_buf(buf, len);
}

static void
test_size_and_type(void **state)
{
	char p[256], err[256];
	char *buf = NULL;
	size_t len = 0;

	path_of(p, sizeof(p), "big");
	write_file(p, "0123456789");
	assert_int_equal(safepath_read(p, 9, &buf, &len, err, sizeof(err)),
			 -1);
	assert_int_equal(safepath_read(p, 10, &buf, &len, err, sizeof(err)),
			 0);
	safepath_free_buf(buf, len);
	path_of(p, sizeof(p), "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(safepath_read(p, 10, &buf, &len, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "regular file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_creates_nested, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_foreign_link_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_hard_link_in_foreign_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_and_type, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
