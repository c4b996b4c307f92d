/*
 * Unit tests for the TLS-RPT counts in the store (store_tlsrpt.h, schema
 * v7): adding up per key, listing by day, deleting a reported day, and
 * the migration from a version 6 database.
 */
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

#include "store/store_sqlite_int.h"
#include "store/store_tlsrpt.h"
#include "store_fx.h"

#define TMPL "/tmp/postel-stlsrpt-XXXXXX"
#define DAY1 1796515200 /* 2026-12-07T00:00:00Z */
#define DAY2 (DAY1 + 86400)

static int
setup(void **state)
{
	return store_fx_setup(state, TMPL);
}

static int
teardown(void **state)
{
	return store_fx_teardown(state);
}

static void
add(struct store *st, int64_t day, const char *domain, const char *mx,
    const char *result, int64_t count)
{
	struct store_tlsrpt_row r = {
		.day = day, .domain = (char *)domain, .mx = (char *)mx,
		.result = (char *)result, .count = count,
		.policy_type = "sts",
		.policy_string = "version: STSv1\nmode: testing",
		.rua = "a@b.test",
	};
	const char *err = NULL;

	assert_int_equal(store_tlsrpt_add(st, &r, &err), 0);
}

static void
test_add_list_delete(void **state)
{
	struct store_fx *f = *state;
	struct store_tlsrpt_row *rows = NULL;
	const char *err = NULL;
	size_t n = 0;

	add(f->st, DAY1, "x.test", "mx.x.test", "", 1);
	add(f->st, DAY1, "x.test", "mx.x.test", "", 2);
	add(f->st, DAY1, "x.test", "mx.x.test", "starttls-not-supported", 1);
	add(f->st, DAY1, "y.test", "", "sts-policy-fetch-error", 4);
	add(f->st, DAY2, "x.test", "mx.x.test", "", 7);
	assert_int_equal(store_tlsrpt_list(f->st, DAY1, &rows, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rows[0].domain, "x.test");
	assert_string_equal(rows[0].result, "");
	assert_int_equal(rows[0].count, 3);
	assert_string_equal(rows[1].result, "starttls-not-supported");
	assert_string_equal(rows[2].domain, "y.test");
	assert_string_equal(rows[2].mx, "");
	assert_int_equal(rows[2].count, 4);
	assert_string_equal(rows[2].rua, "a@b.test");
	assert_string_equal(rows[2].policy_string,
			    "version: STSv1\nmode: testing");
	store_tlsrpt_rows_free(rows, n);
	assert_int_equal(store_tlsrpt_delete(f->st, DAY1, "x.test", &err), 0);
	assert_int_equal(store_tlsrpt_list(f->st, DAY2, &rows, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].domain, "y.test");
	assert_int_equal(rows[1].day, DAY2);
	store_tlsrpt_rows_free(rows, n);
}

static void
test_migration_v6(void **state)
{
	struct store_fx *f = *state;
	char path[512];

	store_close(&f->st);
	rm_tree(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	/* A database as version 6 left it. */
	sql_schema_upto(f->dir, 6);
	sql_exec(f->dir,
		 "INSERT INTO meta VALUES ('schema_version', '6');"
		 "INSERT INTO meta VALUES ('uidvalidity', '1700000001');"
		 "INSERT INTO domains VALUES (1, 'example.org', 0);");
	f->st = store_fx_open_migrated(f->dir);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM domains"), 1);
	snprintf(path, sizeof(path), "%s/postel.db.v6.bak", f->dir);
	assert_int_equal(access(path, F_OK), 0);
	add(f->st, DAY1, "x.test", "mx.x.test", "", 1);
	assert_int_equal(sql_int(f->dir, "SELECT count FROM tlsrpt_results"),
			 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_list_delete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_migration_v6, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
