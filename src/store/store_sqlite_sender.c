/*
 * SQLite backend: sender identity on submission. Which addresses
 * an authenticated account may put in MAIL FROM, From: and Sender:, and the
 * administrator's grants (table sender_grants, schema version 4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_sqlite_int.h"

/* A pattern or address part is plain printable ASCII or UTF-8 without the
 * characters that delimit addresses; the CLI checks the full syntax. */
static bool
sq_sender_part_ok(const char *s, bool allow_empty)
{
	if (*s == '\0')
		return allow_empty;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c == 0x7f || strchr("<>@,;:\"()[]\\", c))
			return false;
	}
	return true;
}

/* "local@domain" or "@domain", lower-cased into out; -1 when malformed. */
static int
sq_sender_pattern(const char *pattern, char out[STORE_SQ_ADDR_BUF])
{
	char local[STORE_SQ_LOCAL_BUF], domain[STORE_SQ_DOMAIN_BUF];

	if (store_sq_split(pattern, local, domain) < 0
	    || !sq_sender_part_ok(local, true)
	    || !sq_sender_part_ok(domain, false))
		return -1;
	snprintf(out, STORE_SQ_ADDR_BUF, "%s@%s", local, domain);
	return 0;
}

/* Runs a grant statement bound to the account and a pattern. */
static sqlite3_stmt *
sq_grant_stmt(struct store *st, enum store_sq_stmt id, const char *account,
	      const char *pattern, char norm[STORE_SQ_ADDR_BUF],
	      const char **err_r)
{
	sqlite3_stmt *s;
	int64_t acct;

	if (store_sq_user_id(st, account, &acct, err_r) < 0)
		return NULL;
	if (sq_sender_pattern(pattern, norm) < 0) {
		*err_r = store_sq_fail(st, "invalid sender pattern");
		return NULL;
	}
	s = store_sq_stmt(st, id);
	if (s == NULL) {
		*err_r = st->err;
		return NULL;
	}
	sqlite3_bind_int64(s, 1, acct);
	sqlite3_bind_text(s, 2, norm, -1, SQLITE_STATIC);
	return s;
}

int
store_sqlite_sender_grant_add(struct store *st, const char *account,
			      const char *pattern, const char **err_r)
{
	char norm[STORE_SQ_ADDR_BUF];
	sqlite3_stmt *s = sq_grant_stmt(st, SQ_GRANT_ADD, account, pattern,
					norm, err_r);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
	rc = store_sq_exec(s);
	if (rc == SQLITE_DONE)
		return 0;
	int ext = sqlite3_extended_errcode(store_sq(st)->db);

	if (rc == SQLITE_CONSTRAINT && (ext == SQLITE_CONSTRAINT_PRIMARYKEY
					|| ext == SQLITE_CONSTRAINT_UNIQUE))
		*err_r = store_sq_fail(st, "grant already exists");
	else
		*err_r = store_sq_err(st, "database error");
	return -1;
}

int
store_sqlite_sender_grant_del(struct store *st, const char *account,
			      const char *pattern, const char **err_r)
{
	char norm[STORE_SQ_ADDR_BUF];
	sqlite3_stmt *s = sq_grant_stmt(st, SQ_GRANT_DEL, account, pattern,
					norm, err_r);

	if (s == NULL)
		return -1;
	return store_sq_exec_changed(st, s, "no such grant", err_r);
}

int
store_sqlite_sender_grant_list(struct store *st, const char *account,
			       char ***patterns_r, const char **err_r)
{
	int64_t acct;

	*patterns_r = NULL;
	if (store_sq_user_id(st, account, &acct, err_r) < 0)
		return -1;
	return store_sq_strv_by_id(st, SQ_GRANT_LIST, acct, patterns_r, err_r);
}

/* 1 when a grant covers local@domain: the address, its untagged form
 * (RFC 5233 sub-addressing, as for the account's own address) or the
 * whole domain; 0 none, -1 error. */
static int
sq_grant_match(struct store *st, int64_t account_id, const char *local,
	       const char *domain)
{
	char addr[STORE_SQ_ADDR_BUF], base[STORE_SQ_ADDR_BUF];
	char dom[STORE_SQ_ADDR_BUF];
	const char *plus = strchr(local, '+');
	sqlite3_stmt *s = store_sq_stmt(st, SQ_GRANT_MATCH);

	if (s == NULL)
		return -1;
	snprintf(addr, sizeof(addr), "%s@%s", local, domain);
	if (plus != NULL && plus != local)
		snprintf(base, sizeof(base), "%.*s@%s", (int)(plus - local),
			 local, domain);
	else
		snprintf(base, sizeof(base), "%s", addr);
	snprintf(dom, sizeof(dom), "@%s", domain);
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, base, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, dom, -1, SQLITE_STATIC);
	return store_sq_row_ints(st, s, NULL, 0);
}

int
store_sqlite_sender_allowed(struct store *st, int64_t account_id,
			    const char *address)
{
	char local[STORE_SQ_LOCAL_BUF], domain[STORE_SQ_DOMAIN_BUF];
	int rc;

	if (store_sq_split(address, local, domain) < 0 || local[0] == '\0'
	    || !sq_sender_part_ok(local, false)
	    || !sq_sender_part_ok(domain, false))
		return 0;
	rc = sq_grant_match(st, account_id, local, domain);
	if (rc != 0)
		return rc;
	return store_sq_delivers_to(st, address, account_id);
}
