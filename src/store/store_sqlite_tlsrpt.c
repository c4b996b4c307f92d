/*
 * TLS-RPT counts in the SQLite backend (store_tlsrpt.h; the
 * tlsrpt_results table of schema version 7).
 */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"
#include "store_tlsrpt.h"

void
store_tlsrpt_rows_free(struct store_tlsrpt_row *rows, size_t n)
{
	for (size_t i = 0; rows != NULL && i < n; i++) {
		free(rows[i].domain);
		free(rows[i].mx);
		free(rows[i].result);
		free(rows[i].policy_type);
		free(rows[i].policy_string);
		free(rows[i].rua);
	}
	free(rows);
}

int
store_sqlite_tlsrpt_add(struct store *st, const struct store_tlsrpt_row *r,
			const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_TLSRPT_ADD);

	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, r->day);
	sqlite3_bind_text(s, 2, r->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->mx, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->result, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, r->count);
	sqlite3_bind_text(s, 6, r->policy_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, r->policy_string, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, r->rua, -1, SQLITE_STATIC);
	if (store_sq_exec(s) != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

static char *
col_dup(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	return strdup(t != NULL ? t : "");
}

int
store_sqlite_tlsrpt_list(struct store *st, int64_t day_max,
			 struct store_tlsrpt_row **rows_r, size_t *n_r,
			 const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_TLSRPT_LIST);
	struct store_tlsrpt_row *v = NULL, *r;
	size_t n = 0, cap = 0;
	int rc;

	*rows_r = NULL;
	*n_r = 0;
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, day_max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_tlsrpt_row *nv = store_sq_grow(v, n, &cap,
							    sizeof(*v));
		if (nv == NULL)
			break;
		v = nv;
		r = &v[n++];
		memset(r, 0, sizeof(*r));
		r->day = sqlite3_column_int64(s, 0);
		r->domain = col_dup(s, 1);
		r->mx = col_dup(s, 2);
		r->result = col_dup(s, 3);
		r->count = sqlite3_column_int64(s, 4);
		r->policy_type = col_dup(s, 5);
		r->policy_string = col_dup(s, 6);
		r->rua = col_dup(s, 7);
		if (r->domain == NULL || r->mx == NULL || r->result == NULL ||
		    r->policy_type == NULL || r->policy_string == NULL ||
		    r->rua == NULL)
			break;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_tlsrpt_rows_free(v, n);
		*err_r = rc == SQLITE_ROW ? store_sq_fail(st, "out of memory")
					  : store_sq_err(st, "database error");
		return -1;
	}
	*rows_r = v;
	*n_r = n;
	return 0;
}

int
store_sqlite_tlsrpt_delete(struct store *st, int64_t day, const char *domain,
			   const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_TLSRPT_DEL);

	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, day);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	if (store_sq_exec(s) != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}
