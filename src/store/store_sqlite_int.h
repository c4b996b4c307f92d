/*
 * Internals of the SQLite backend, shared by store_sqlite.c (connection,
 * schema, transactions, statement cache), store_sqlite_admin.c (domains,
 * users, aliases, recipient resolution) and store_sqlite_mail.c (delivery,
 * mailboxes, messages). Not for use outside src/store.
 */
#ifndef POSTEL_STORE_SQLITE_INT_H
#define POSTEL_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>

#include "../core/limits.h"
#include "store.h"

/* A local part, domain or address with its NUL. */
#define STORE_SQ_LOCAL_BUF (LIMIT_LOCALPART + 1)
#define STORE_SQ_DOMAIN_BUF (LIMIT_DOMAIN + 1)
#define STORE_SQ_ADDR_BUF (LIMIT_ADDRESS + 1)

/* Every statement the backend runs; the SQL text is in store_sqlite.c. */
enum store_sq_stmt {
	SQ_DOMAIN_ADD,
	SQ_DOMAIN_ID,
	SQ_DOMAIN_DEL,
	SQ_DOMAIN_LIST,
	SQ_DOMAIN_IN_USE,
	SQ_ACCOUNT_ADD,
	SQ_ACCOUNT_GET,
	SQ_ACCOUNT_PASSWD,
	SQ_ACCOUNT_DEL,
	SQ_ACCOUNT_LIST,
	SQ_ACCOUNT_LIST_DOMAIN,
	SQ_ALIAS_ADD,
	SQ_ALIAS_DEL,
	SQ_ALIAS_DEL_ALL,
	SQ_ALIAS_LIST,
	SQ_ALIAS_LIST_DOMAIN,
	SQ_ALIAS_TARGETS,
	SQ_MAILBOX_ADD,
	SQ_MAILBOX_GET,
	SQ_MAILBOX_BUMP,
	SQ_MAILBOX_MODSEQ,
	SQ_MAILBOX_DEL_ACCOUNT,
	SQ_META_GET,
	SQ_META_SET,
	SQ_BLOB_ADD,
	SQ_BLOB_UNREF,
	SQ_BLOB_UNREF_ACCOUNT,
	SQ_BLOB_DEL,
	SQ_MSG_ADD,
	SQ_MSG_LIST,
	SQ_MSG_DEL,
	SQ_MSG_DEL_ACCOUNT,
	SQ_COUNT
};

struct store_sq {
	sqlite3 *db;
	sqlite3_stmt *stmts[SQ_COUNT]; /* prepared on first use */
};

/* The schema of version 1, a copy of schema.sql (test_store compares). */
extern const char store_sqlite_schema_v1[];

static inline struct store_sq *
store_sq(struct store *st)
{
	return st->impl;
}

/* The cached statement, reset and with bindings cleared; NULL on error
 * (st->err set). */
sqlite3_stmt *store_sq_stmt(struct store *st, enum store_sq_stmt id);
/* Formats st->err as "<what>: <sqlite message>" and returns it. */
const char *store_sq_err(struct store *st, const char *what);
/* Sets st->err to a fixed text and returns it. */
const char *store_sq_fail(struct store *st, const char *text);
/* Steps a statement that returns no rows, then resets it; the sqlite
 * result code (SQLITE_DONE on success). */
int store_sq_exec(sqlite3_stmt *s);
/* Makes a multi-statement operation atomic: BEGIN IMMEDIATE when no
 * transaction is open, else a savepoint. own_r tells store_sq_op_end which. */
int store_sq_op_begin(struct store *st, bool *own_r, const char **err_r);
/* Commits (ok) or undoes the operation; 0 or -1 (commit failed). */
int store_sq_op_end(struct store *st, bool own, bool ok, const char **err_r);

/* ASCII lower-case copy of src into dst (dstlen bytes); -1 when too long. */
int store_sq_lower(char *dst, size_t dstlen, const char *src);
/* Splits a lower-cased "local@domain" at the last '@' into local and
 * domain buffers; -1 when malformed or too long. */
int store_sq_split(const char *address, char local[STORE_SQ_LOCAL_BUF],
		   char domain[STORE_SQ_DOMAIN_BUF]);

/* Blobs whose refcount dropped to 0 during one operation: their rows are
 * deleted once no message row references them any more, and their paths
 * go back to the caller, who unlinks the files after the commit. */
struct store_sq_orphans {
	int64_t *ids;
	size_t n_ids;
	char **paths; /* NULL-terminated */
	size_t n_paths;
};

/* Steps an UPDATE ... RETURNING id, refcount, path statement (already
 * bound), remembering the blobs whose refcount reached 0. SQLITE_DONE or
 * an error code. */
int store_sq_orphans_collect(struct store_sq_orphans *o, sqlite3_stmt *s);
/* Deletes the collected blob rows; 0 or -1 (st->err). */
int store_sq_orphans_delete(struct store *st, struct store_sq_orphans *o);
/* Starts with an empty path vector, so finishing cannot fail after the
 * commit; 0 or -1 (st->err "out of memory"). */
int store_sq_orphans_init(struct store *st, struct store_sq_orphans *o);
/* Hands the NULL-terminated paths to *paths_r and frees the rest. */
void store_sq_orphans_finish(struct store_sq_orphans *o, char ***paths_r);
void store_sq_orphans_fini(struct store_sq_orphans *o);

/* 1 with *id_r, 0 no such domain (lower-case name), -1 error (st->err). */
int store_sq_domain_id(struct store *st, const char *domain, int64_t *id_r);
/* 1 with the account id (and pwhash when non-NULL), 0 none, -1 error. */
int store_sq_account_get(struct store *st, const char *local,
			 const char *domain, int64_t *id_r, char *pwhash,
			 size_t pwlen);

/* NULL-terminated string vector helpers. */
int store_sq_strv_push(char ***v, size_t *n, const char *s);

/* store_ops entries implemented in the other files. */
int store_sqlite_domain_add(struct store *st, const char *domain,
			    const char **err_r);
int store_sqlite_domain_del(struct store *st, const char *domain,
			    const char **err_r);
int store_sqlite_domain_list(struct store *st, char ***names_r,
			     const char **err_r);
int store_sqlite_domain_exists(struct store *st, const char *domain);
int store_sqlite_user_add(struct store *st, const char *address,
			  const char *pwhash, const char **err_r);
int store_sqlite_user_passwd(struct store *st, const char *address,
			     const char *pwhash, const char **err_r);
int store_sqlite_user_del(struct store *st, const char *address,
			  char ***orphan_blobs_r, const char **err_r);
int store_sqlite_user_list(struct store *st, const char *domain_or_null,
			   char ***addresses_r, const char **err_r);
int store_sqlite_account_lookup(struct store *st, const char *address,
				struct store_account *acct_r);
int store_sqlite_alias_add(struct store *st, const char *source,
			   const char *target, const char **err_r);
int store_sqlite_alias_del(struct store *st, const char *source,
			   const char *target_or_null, const char **err_r);
int store_sqlite_alias_list(struct store *st, const char *domain_or_null,
			    char ***lines_r, const char **err_r);
enum store_rcpt_status store_sqlite_resolve_rcpt(struct store *st,
						 const char *address,
						 int64_t **accounts_r,
						 size_t *n_r);
int store_sqlite_deliver(struct store *st, const struct store_delivery *d,
			 const char **err_r);
int store_sqlite_mailbox_info(struct store *st, int64_t account_id,
			      const char *mailbox,
			      struct store_mailbox_info *info_r);
int store_sqlite_mailbox_messages(struct store *st, int64_t mailbox_id,
				  struct store_msg **msgs_r, size_t *n_r,
				  const char **err_r);
int store_sqlite_messages_expunge(struct store *st, int64_t mailbox_id,
				  const int64_t *msg_ids, size_t n,
				  char ***orphan_blobs_r, const char **err_r);
/* Creates the account's standard mailboxes (user_add). */
int store_sq_mailboxes_create(struct store *st, int64_t account_id,
			      const char **err_r);

#endif
