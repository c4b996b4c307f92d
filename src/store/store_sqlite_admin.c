/*
 * SQLite backend: domains, accounts and aliases (the admin commands) and
 * account lookup. Addresses are stored and matched lower-case, so
 * "Alice@Example.ORG" and "alice@example.org" are one account.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_sqlite_int.h"

#define SQ_DOMAIN_IN_USE_TEXT "domain still has users or aliases"

/* true when rc is a UNIQUE violation (a duplicate), not e.g. NOT NULL. */
static bool
sq_is_dup(struct store *st, int rc)
{
	return rc == SQLITE_CONSTRAINT
	       && sqlite3_extended_errcode(store_sq(st)->db)
			  == SQLITE_CONSTRAINT_UNIQUE;
}

/* The error of a lookup that returned rc (0 not found, -1 error). */
static const char *
sq_missing(struct store *st, int rc, const char *not_found)
{
	return rc == 0 ? store_sq_fail(st, not_found) : st->err;
}

int
store_sq_domain_id(struct store *st, const char *domain, int64_t *id_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_DOMAIN_ID);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(s, 0);
	return store_sq_found(st, s, rc);
}

int
store_sq_account_get(struct store *st, const char *local, const char *domain,
	       int64_t *id_r, char *pwhash, size_t pwlen)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_ACCOUNT_GET);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, local, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id_r = sqlite3_column_int64(s, 0);
		if (pwhash != NULL)
			snprintf(pwhash, pwlen, "%s",
				 (const char *)sqlite3_column_text(s, 1));
	}
	return store_sq_found(st, s, rc);
}

int
store_sq_strv_query(struct store *st, sqlite3_stmt *s, char ***v_r,
	      const char **err_r)
{
	char **v = calloc(1, sizeof(*v));
	size_t n = 0;
	int rc;

	if (v == NULL) {
		*err_r = store_sq_fail(st, "out of memory");
		sqlite3_reset(s);
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (store_sq_strv_push(&v, &n,
				       (const char *)sqlite3_column_text(s, 0))
		    < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		sqlite3_reset(s);
		store_strv_free(v);
		return -1;
	}
	sqlite3_reset(s);
	*v_r = v;
	return 0;
}

int
store_sq_strv_by_id(struct store *st, enum store_sq_stmt id, int64_t key,
		    char ***v_r, const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, id);

	*v_r = NULL;
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, key);
	return store_sq_strv_query(st, s, v_r, err_r);
}

int
store_sq_exec_changed(struct store *st, sqlite3_stmt *s,
		      const char *not_found, const char **err_r)
{
	if (store_sq_exec(s) != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	if (sqlite3_changes(store_sq(st)->db) == 0) {
		*err_r = store_sq_fail(st, not_found);
		return -1;
	}
	return 0;
}

int
store_sqlite_domain_add(struct store *st, const char *domain,
			const char **err_r)
{
	char name[STORE_SQ_ADDR_BUF];
	sqlite3_stmt *s;
	int rc;

	if (store_sq_lower(name, sizeof(name), domain) < 0 || name[0] == '\0'
	    || strlen(name) > LIMIT_DOMAIN) {
		*err_r = store_sq_fail(st, "invalid domain name");
		return -1;
	}
	s = store_sq_stmt(st, SQ_DOMAIN_ADD);
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
	rc = store_sq_exec(s);
	if (sq_is_dup(st, rc)) {
		*err_r = store_sq_fail(st, "domain already exists");
		return -1;
	}
	if (rc != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

static int
sq_domain_in_use(struct store *st, int64_t id)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_DOMAIN_IN_USE);
	int64_t count = 0;
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		count = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		store_sq_err(st, "database error");
		return -1;
	}
	return count > 0;
}

int
store_sqlite_domain_del(struct store *st, const char *domain,
			const char **err_r)
{
	char name[STORE_SQ_ADDR_BUF];
	sqlite3_stmt *s;
	int64_t id;
	int rc;

	rc = store_sq_lower(name, sizeof(name), domain) < 0
		     ? 0
		     : store_sq_domain_id(st, name, &id);
	if (rc <= 0) {
		*err_r = sq_missing(st, rc, "no such domain");
		return -1;
	}
	rc = sq_domain_in_use(st, id);
	if (rc != 0) {
		*err_r = rc > 0 ? store_sq_fail(st, SQ_DOMAIN_IN_USE_TEXT)
				: st->err;
		return -1;
	}
	s = store_sq_stmt(st, SQ_DOMAIN_DEL);
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, id);
	rc = store_sq_exec(s);
	if (rc != SQLITE_DONE) {
		/* A user added since the check: the foreign key refuses. */
		*err_r = rc == SQLITE_CONSTRAINT
				 ? store_sq_fail(st, SQ_DOMAIN_IN_USE_TEXT)
				 : store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sqlite_domain_list(struct store *st, char ***names_r,
			 const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_DOMAIN_LIST);

	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	return store_sq_strv_query(st, s, names_r, err_r);
}

int
store_sqlite_domain_exists(struct store *st, const char *domain)
{
	char name[STORE_SQ_ADDR_BUF];
	int64_t id;

	if (store_sq_lower(name, sizeof(name), domain) < 0)
		return 0;
	return store_sq_domain_id(st, name, &id);
}

/* Splits a user address; "invalid address" unless local and domain are
 * both non-empty. */
static int
sq_user_split(struct store *st, const char *address,
	      char local[STORE_SQ_LOCAL_BUF], char domain[STORE_SQ_DOMAIN_BUF],
	      const char **err_r)
{
	if (store_sq_split(address, local, domain) < 0 || local[0] == '\0') {
		*err_r = store_sq_fail(st, "invalid address");
		return -1;
	}
	return 0;
}

static int
sq_account_insert(struct store *st, int64_t domain_id, const char *local,
		  const char *pwhash, int64_t *id_r, const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_ACCOUNT_ADD);
	int rc;

	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, domain_id);
	sqlite3_bind_text(s, 2, local, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id_r = sqlite3_column_int64(s, 0);
		rc = store_sq_exec(s);
	} else {
		sqlite3_reset(s);
	}
	if (sq_is_dup(st, rc)) {
		*err_r = store_sq_fail(st, "user already exists");
		return -1;
	}
	if (rc != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sqlite_user_add(struct store *st, const char *address,
		      const char *pwhash, const char **err_r)
{
	char local[STORE_SQ_LOCAL_BUF], domain[STORE_SQ_DOMAIN_BUF];
	int64_t domain_id, id = 0;
	bool own;
	int rc;

	if (sq_user_split(st, address, local, domain, err_r) < 0)
		return -1;
	rc = store_sq_domain_id(st, domain, &domain_id);
	if (rc <= 0) {
		*err_r = sq_missing(st, rc, "no such domain");
		return -1;
	}
	if (store_sq_op_begin(st, &own, err_r) < 0)
		return -1;
	if (sq_account_insert(st, domain_id, local, pwhash, &id, err_r) < 0
	    || store_sq_mailboxes_create(st, id, err_r) < 0) {
		store_sq_op_end(st, own, false, err_r);
		return -1;
	}
	return store_sq_op_end(st, own, true, err_r);
}

int
store_sq_user_id(struct store *st, const char *address, int64_t *id_r,
		 const char **err_r)
{
	char local[STORE_SQ_LOCAL_BUF], domain[STORE_SQ_DOMAIN_BUF];
	int rc;

	if (store_sq_split(address, local, domain) < 0) {
		*err_r = store_sq_fail(st, "no such user");
		return -1;
	}
	rc = store_sq_account_get(st, local, domain, id_r, NULL, 0);
	if (rc <= 0) {
		*err_r = sq_missing(st, rc, "no such user");
		return -1;
	}
	return 0;
}

int
store_sqlite_user_passwd(struct store *st, const char *address,
			 const char *pwhash, const char **err_r)
{
	sqlite3_stmt *s;
	int64_t id;

	if (store_sq_user_id(st, address, &id, err_r) < 0)
		return -1;
	s = store_sq_stmt(st, SQ_ACCOUNT_PASSWD);
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, pwhash, -1, SQLITE_STATIC);
	if (store_sq_exec(s) != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

/* Deletes rows in foreign-key order: blob references first (remembering
 * the blobs that become orphans), then messages, the orphaned blob rows,
 * mailboxes and the account. */
static int
sq_user_purge(struct store *st, int64_t id, struct store_sq_orphans *o)
{
	if (store_sq_unref_collect(st, SQ_BLOB_UNREF_ACCOUNT, id, o) < 0
	    || store_sq_exec_id(st, SQ_MSG_DEL_ACCOUNT, id) < 0
	    || store_sq_orphans_delete(st, o) < 0
	    || store_sq_exec_id(st, SQ_MAILBOX_DEL_ACCOUNT, id) < 0
	    || store_sq_exec_id(st, SQ_MD_DEL_ACCOUNT, id) < 0
	    || store_sq_exec_id(st, SQ_ACCOUNT_DEL, id) < 0)
		return -1;
	return 0;
}

static int
sq_user_purge_op(struct store *st, void *id, struct store_sq_orphans *o)
{
	return sq_user_purge(st, *(const int64_t *)id, o);
}

int
store_sqlite_user_del(struct store *st, const char *address,
		      char ***orphan_blobs_r, const char **err_r)
{
	int64_t id;

	*orphan_blobs_r = NULL;
	if (store_sq_user_id(st, address, &id, err_r) < 0)
		return -1;
	return store_sq_orphan_op(st, sq_user_purge_op, &id, orphan_blobs_r,
				  err_r);
}

/* The list statement for all rows or one domain (bound), or NULL with
 * *err_r set ("no such domain" included). */
static sqlite3_stmt *
sq_list_stmt(struct store *st, enum store_sq_stmt all, enum store_sq_stmt one,
	     const char *domain_or_null, const char **err_r)
{
	char name[STORE_SQ_ADDR_BUF];
	sqlite3_stmt *s;
	int64_t id;
	int rc;

	if (domain_or_null == NULL) {
		s = store_sq_stmt(st, all);
		if (s == NULL)
			*err_r = st->err;
		return s;
	}
	rc = store_sq_lower(name, sizeof(name), domain_or_null) < 0
		     ? 0
		     : store_sq_domain_id(st, name, &id);
	if (rc <= 0) {
		*err_r = sq_missing(st, rc, "no such domain");
		return NULL;
	}
	s = store_sq_stmt(st, one);
	if (s == NULL) {
		*err_r = st->err;
		return NULL;
	}
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	return s;
}

int
store_sqlite_user_list(struct store *st, const char *domain_or_null,
		       char ***addresses_r, const char **err_r)
{
	sqlite3_stmt *s = sq_list_stmt(st, SQ_ACCOUNT_LIST,
				       SQ_ACCOUNT_LIST_DOMAIN, domain_or_null,
				       err_r);

	if (s == NULL)
		return -1;
	return store_sq_strv_query(st, s, addresses_r, err_r);
}

int
store_sqlite_account_lookup(struct store *st, const char *address,
			    struct store_account *acct_r)
{
	char local[STORE_SQ_LOCAL_BUF], domain[STORE_SQ_DOMAIN_BUF];
	int rc;

	if (store_sq_split(address, local, domain) < 0 || local[0] == '\0')
		return 0;
	memset(acct_r, 0, sizeof(*acct_r));
	rc = store_sq_account_get(st, local, domain, &acct_r->id,
				  acct_r->pwhash, sizeof(acct_r->pwhash));
	if (rc == 1)
		snprintf(acct_r->address, sizeof(acct_r->address), "%s@%s",
			 local, domain);
	return rc;
}

/* Parses an alias source: "local@domain" or "@domain". */
static int
sq_alias_source(struct store *st, const char *source,
		char local[STORE_SQ_LOCAL_BUF], int64_t *domain_id_r,
		const char **err_r)
{
	char domain[STORE_SQ_DOMAIN_BUF];
	int rc;

	if (store_sq_split(source, local, domain) < 0) {
		*err_r = store_sq_fail(st, "invalid alias source");
		return -1;
	}
	rc = store_sq_domain_id(st, domain, domain_id_r);
	if (rc <= 0) {
		*err_r = sq_missing(st, rc, "source domain is not hosted");
		return -1;
	}
	return 0;
}

/* What mail to the alias would do, refused before it is made: a source
 * that is a user (mail to it reaches that mailbox; the alias would never
 * apply), a target in a hosted domain that reaches nobody (mail would
 * bounce, or silently reach a catch-all), a target whose own aliases lead
 * back to the source. */
int
store_sqlite_alias_check(struct store *st, const char *source,
			 const char *target, const char **err_r)
{
	char domain[STORE_SQ_DOMAIN_BUF], local[STORE_SQ_LOCAL_BUF];
	int64_t id;
	int rc;

	if (store_sq_split(source, local, domain) < 0) {
		*err_r = store_sq_fail(st, "invalid alias source");
		return -1;
	}
	rc = local[0] != '\0'
		     ? store_sq_account_get(st, local, domain, &id, NULL, 0)
		     : 0;
	if (rc != 0) {
		*err_r = rc > 0 ? store_sq_fail(st, "source is a user")
				: store_sq_err(st, "database error");
		return -1;
	}
	/* A catch-all does not count: mail would silently land there. */
	rc = store_sq_reaches_someone(st, target);
	if (rc <= 0) {
		*err_r = rc == 0 ? store_sq_fail(st, "target does not exist")
				 : store_sq_err(st, "database error");
		return -1;
	}
	if (local[0] == '\0')
		return 0; /* a catch-all applies only where nothing else does */
	rc = store_sq_alias_reaches(st, target, source);
	if (rc != 0) {
		*err_r = rc > 0 ? store_sq_fail(st, "alias would make a loop")
				: store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sqlite_alias_dangling(struct store *st, char ***lines_r,
			    const char **err_r)
{
	char **all = NULL, **out = NULL;
	size_t n = 0;
	int rc = 0;

	*lines_r = NULL;
	if (store_sqlite_alias_list(st, NULL, &all, err_r) < 0)
		return -1;
	/* "source target" lines; the catch-all's own rows included. */
	for (size_t i = 0; all != NULL && all[i] != NULL && rc == 0; i++) {
		const char *sp = strchr(all[i], ' ');
		int r = sp != NULL ? store_sq_reaches_someone(st, sp + 1) : 1;

		if (r < 0) {
			*err_r = store_sq_err(st, "database error");
			rc = -1;
		} else if (r == 0 &&
			   store_sq_strv_push(&out, &n, all[i]) < 0) {
			*err_r = store_sq_fail(st, "out of memory");
			rc = -1;
		}
	}
	store_strv_free(all);
	if (rc < 0) {
		store_strv_free(out);
		return -1;
	}
	*lines_r = out;
	return 0;
}

int
store_sqlite_alias_add(struct store *st, const char *source,
		       const char *target, const char **err_r)
{
	char local[STORE_SQ_LOCAL_BUF], tlocal[STORE_SQ_LOCAL_BUF];
	char tdomain[STORE_SQ_DOMAIN_BUF], tgt[STORE_SQ_ADDR_BUF];
	sqlite3_stmt *s;
	int64_t domain_id;
	int rc;

	if (store_sq_split(target, tlocal, tdomain) < 0 || tlocal[0] == '\0') {
		*err_r = store_sq_fail(st, "invalid alias target");
		return -1;
	}
	snprintf(tgt, sizeof(tgt), "%s@%s", tlocal, tdomain);
	if (sq_alias_source(st, source, local, &domain_id, err_r) < 0)
		return -1;
	s = store_sq_stmt(st, SQ_ALIAS_ADD);
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, domain_id);
	sqlite3_bind_text(s, 2, local, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, tgt, -1, SQLITE_STATIC);
	rc = store_sq_exec(s);
	if (rc != SQLITE_DONE) {
		*err_r = sq_is_dup(st, rc)
				 ? store_sq_fail(st, "alias already exists")
				 : store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sqlite_alias_del(struct store *st, const char *source,
		       const char *target_or_null, const char **err_r)
{
	char local[STORE_SQ_LOCAL_BUF], tgt[STORE_SQ_ADDR_BUF];
	sqlite3_stmt *s;
	int64_t domain_id;

	if (sq_alias_source(st, source, local, &domain_id, err_r) < 0) {
		*err_r = store_sq_fail(st, "no such alias");
		return -1;
	}
	if (target_or_null != NULL
	    && store_sq_lower(tgt, sizeof(tgt), target_or_null) < 0) {
		*err_r = store_sq_fail(st, "no such alias");
		return -1;
	}
	s = store_sq_stmt(st, target_or_null != NULL ? SQ_ALIAS_DEL
						     : SQ_ALIAS_DEL_ALL);
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, domain_id);
	sqlite3_bind_text(s, 2, local, -1, SQLITE_STATIC);
	if (target_or_null != NULL)
		sqlite3_bind_text(s, 3, tgt, -1, SQLITE_STATIC);
	return store_sq_exec_changed(st, s, "no such alias", err_r);
}

int
store_sqlite_alias_list(struct store *st, const char *domain_or_null,
			char ***lines_r, const char **err_r)
{
	sqlite3_stmt *s = sq_list_stmt(st, SQ_ALIAS_LIST, SQ_ALIAS_LIST_DOMAIN,
				       domain_or_null, err_r);

	if (s == NULL)
		return -1;
	return store_sq_strv_query(st, s, lines_r, err_r);
}
