/*
 * Unit tests of message files (src/store/blob.c): unique ids across
 * threads, layout and modes on disk, content round trip, path checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/blob.h"

#define IDS_PER_THREAD 20000
#define ID_THREADS 4

static char ids[ID_THREADS * IDS_PER_THREAD][17];

static void *
make_ids(void *arg)
{
	char (*out)[17] = arg;

	for (int i = 0; i < IDS_PER_THREAD; i++)
		blob_new_id(out[i]);
	return NULL;
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_ids_unique(void **state)
{
	pthread_t th[ID_THREADS];
	size_t n = ID_THREADS * IDS_PER_THREAD;

	for (int i = 0; i < ID_THREADS; i++)
		pthread_create(&th[i], NULL, make_ids, ids[i * IDS_PER_THREAD]);
	for (int i = 0; i < ID_THREADS; i++)
		pthread_join(th[i], NULL);
	qsort(ids, n, sizeof(ids[0]), cmp_id);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strlen(ids[i]), 16);
		assert_int_equal(strspn(ids[i], "0123456789abcdef"), 16);
		if (i > 0)
			assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	}
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
test_write_read(void **state)
{
	char dir[] = "/tmp/postel-blob-XXXXXX";
	char path[BLOB_PATH_MAX], id[32], full[256], want[32], buf[64];
	struct stat sb;
	struct tm tm;
	time_t now = time(NULL);
	int fd;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(blob_write(dir, "Head: x\r\n", 9, "body\r\n", 6, path,
				    id), 0);
	gmtime_r(&now, &tm);
	snprintf(want, sizeof(want), "msg/%04d%02d%02d/",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	assert_memory_equal(path, want, strlen(want));
	assert_string_equal(path + strlen(want), id);
	assert_int_equal(strlen(id), 16);

	snprintf(full, sizeof(full), "%s/%s", dir, path);
	assert_int_equal(stat(full, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	assert_int_equal(sb.st_size, 15);
	*strrchr(full, '/') = '\0';
	assert_int_equal(stat(full, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0750);

	fd = blob_open(NULL, dir, path);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 15);
	assert_memory_equal(buf, "Head: x\r\nbody\r\n", 15);
	close(fd);

	assert_int_equal(blob_sync_dir(dir, path), 0);
	assert_int_equal(blob_sync_dir(dir, "msg/19700101/x"), -1);
	assert_int_equal(blob_open(NULL, dir, "../etc/passwd"), -1);
	assert_int_equal(blob_open(NULL, dir, "/etc/passwd"), -1);

	/* A second message gets its own file; empty parts are fine. */
	assert_int_equal(blob_write(dir, "", 0, "x", 1, buf, NULL), 0);
	assert_string_not_equal(buf, path);

	blob_unlink(dir, path);
	assert_int_equal(blob_open(NULL, dir, path), -1);
	blob_unlink(dir, path); /* already gone: ignored */
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* A streamed message: an empty file under today's directory, written in
 * pieces, readable back through the same fd (mapped for MIME). */
static void
test_create_stream(void **state)
{
	char dir[] = "/tmp/postel-blob-XXXXXX";
	char path[BLOB_PATH_MAX], path2[BLOB_PATH_MAX], id[32], buf[16];
	int fd, fd2;

	assert_non_null(mkdtemp(dir));
	fd = blob_create(dir, path, id);
	assert_true(fd >= 0);
	assert_string_equal(strrchr(path, '/') + 1, id);
	assert_int_equal(blob_write_all(fd, "abc", 3), 0);
	assert_int_equal(blob_write_all(fd, "def", 3), 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "abcdef", 6);
	fd2 = blob_create(dir, path2, NULL);
	assert_true(fd2 >= 0);
	assert_string_not_equal(path, path2);
	close(fd);
	close(fd2);
	blob_unlink(dir, path);
	blob_unlink(dir, path2);
	assert_int_equal(blob_open(NULL, dir, path), -1);
	assert_int_equal(blob_create("/nonexistent/postel/dir", path, NULL), -1);
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static void
test_write_fails_cleanly(void **state)
{
	char path[BLOB_PATH_MAX];

	assert_int_equal(blob_write("/nonexistent/postel/dir", "a", 1, "b", 1,
				    path, NULL), -1);
}

/* Final delivery's lines at the top of a file, and their measure. */
static void
test_delivery_head(void **state)
{
	char head[BLOB_DELIVERY_HEAD_MAX], msg[BLOB_DELIVERY_HEAD_MAX + 64];
	size_t n;

	(void)state;
	n = blob_delivery_head("s@x.test", "a+t@y.test", head, sizeof(head));
	assert_string_equal(head, "Return-Path: <s@x.test>\r\n"
				  "Delivered-To: a+t@y.test\r\n");
	assert_int_equal(n, strlen(head));
	snprintf(msg, sizeof(msg), "%sReceived: from x\r\n", head);
	assert_int_equal(blob_delivery_prefix(msg, strlen(msg)), n);
	n = blob_delivery_head("", NULL, head, sizeof(head));
	assert_string_equal(head, "Return-Path: <>\r\n");
	assert_int_equal(blob_delivery_prefix(head, n), n);
	assert_int_equal(blob_delivery_head("s", NULL, head, 8), 0);
	/* Nothing of ours: from the first octet. */
	assert_int_equal(blob_delivery_prefix("Received: x\r\n", 13), 0);
	assert_int_equal(blob_delivery_prefix("Delivered-To: a\r\n", 17), 0);
	assert_int_equal(blob_delivery_prefix("Return-Path: <a>", 16), 0);
	assert_int_equal(blob_delivery_prefix("Return-Path: <a>\n", 17), 0);
	assert_int_equal(blob_delivery_prefix("", 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_unique),
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_write_fails_cleanly),
		cmocka_unit_test(test_create_stream),
		cmocka_unit_test(test_delivery_head),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
