/*
 * Internals of the SQLite backend, shared by its files: store_sqlite.c
 * (connection, schema migration, transactions, statement cache),
 * store_sqlite_sql.c (the SQL of every statement), store_sqlite_schema.c
 * (the schema texts), store_sqlite_admin.c (domains, accounts, aliases),
 * store_sqlite_rcpt.c (recipient resolution), store_sqlite_mail.c
 * (delivery, messages), store_sqlite_mbox.c (IMAP mailboxes,
 * subscriptions), store_sqlite_imap.c (IMAP message lists, APPEND, COPY,
 * EXPUNGE), store_sqlite_flags.c (STORE, COPY), store_sqlite_quota.c
 * (quotas), store_sqlite_sender.c (sender identity),
 * store_sqlite_queue.c (the outbound queue's rows) and
 * store_sqlite_qadmin.c (their administration). Not for use outside
 * src/store.
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

/* Every statement the backend runs; the SQL text is in store_sqlite_sql.c. */
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
	SQ_MAILBOX_JUNK,
	SQ_MAILBOX_BUMP,
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
	/* IMAP */
	SQ_MAILBOX_ROW,
	SQ_MAILBOX_ROWS,
	SQ_MAILBOX_NAMES,
	SQ_MAILBOX_BY_ID,
	SQ_MAILBOX_DEL,
	SQ_MAILBOX_SETNAME,
	SQ_MAILBOX_NEXTMODSEQ,
	SQ_MAILBOX_COUNTERS,
	SQ_RECENT_GET,
	SQ_RECENT_SET,
	SQ_RECENT_COUNT,
	SQ_MAILBOX_TAKE,
	SQ_MAILBOX_EMPTIED,
	SQ_MSG_DEL_UID,
	SQ_MSG_MOVE_ALL,
	SQ_MSG_DEL_MAILBOX,
	SQ_BLOB_UNREF_MAILBOX,
	SQ_BLOB_REF,
	SQ_SUB_ADD,
	SQ_SUB_DEL,
	SQ_SUB_LIST,
	SQ_IMSG_LIST,
	SQ_IMSG_RANGE,
	SQ_IMSG_ONE,
	SQ_VMSG_LIST,
	SQ_VMSG_ALL,
	SQ_FIELDS_LIST,
	SQ_BLOB_KNOWN,
	SQ_BLOB_FIELDS_PUT,
	SQ_MSG_BY_UID,
	SQ_MSG_SETFLAGS,
	SQ_VANISHED_ADD,
	SQ_VANISHED_ALL,
	SQ_VANISHED_LIST,
	SQ_BLOB_META_GET,
	SQ_BLOB_META_PUT,
	SQ_BLOB_DATA_ADD,
	SQ_BLOB_DATA_GET,
	SQ_BLOB_DATA_DEL,
	SQ_BLOB_TRASH_ADD,
	SQ_BLOB_TRASH_DEL,
	/* Sender identity */
	SQ_GRANT_ADD,
	SQ_GRANT_DEL,
	SQ_GRANT_LIST,
	SQ_GRANT_MATCH,
	/* Quotas */
	SQ_QUOTA_GET,
	SQ_QUOTA_SET,
	/* The outbound queue */
	SQ_QUEUE_MSG_ADD,
	SQ_QUEUE_RCPT_ADD,
	SQ_QUEUE_SERIAL,
	SQ_QUEUE_SERIAL_BUMP,
	SQ_QUEUE_DUE,
	SQ_QUEUE_NEXT_DUE,
	SQ_QUEUE_LEASE,
	SQ_QUEUE_UNLEASE,
	SQ_QUEUE_UPDATE,
	SQ_QUEUE_NOTICE_MSGS,
	SQ_QUEUE_NOTICE_DONE,
	SQ_QUEUE_RETIRE,
	SQ_QUEUE_MSG_LIST,
	SQ_QUEUE_MSG_GET,
	SQ_QUEUE_RCPTS,
	SQ_QUEUE_HOLD,
	SQ_QUEUE_FLUSH,
	SQ_QUEUE_DELETE,
	SQ_QUEUE_BOUNCE,
	SQ_MD_LIST,          /* RFC 5464 METADATA */
	SQ_MD_SET,
	SQ_MD_DEL,
	SQ_MD_COUNT,
	SQ_MD_DEL_MAILBOX,
	SQ_MD_DEL_ACCOUNT,
	SQ_TLSRPT_ADD,
	SQ_TLSRPT_LIST,
	SQ_TLSRPT_DEL,
	/* Transaction control: prepared once too, since the commit thread
	 * runs four of them per message (a parse each costs ~4% of ingest). */
	SQ_TX_BEGIN,
	SQ_TX_BEGIN_IMMEDIATE,
	SQ_TX_COMMIT,
	SQ_TX_ROLLBACK,
	SQ_TX_SAVEPOINT_OP,
	SQ_TX_RELEASE_OP,
	SQ_TX_ROLLBACK_TO_OP,
	SQ_TX_SAVEPOINT_JOB,
	SQ_TX_RELEASE_JOB,
	SQ_TX_ROLLBACK_TO_JOB,
	SQ_COUNT
};

/* The SQL of each statement (store_sqlite_sql.c). */
extern const char *const store_sq_sql[SQ_COUNT];

struct store_sq {
	sqlite3 *db;
	sqlite3_stmt *stmts[SQ_COUNT]; /* prepared on first use */
};

/* The schema of version 1, a copy of schema.sql, and each step to version
 * N, a copy of schema_vN.sql (store_sqlite_schema.c; test_store compares). */
extern const char store_sqlite_schema_v1[];
extern const char store_sqlite_schema_v2[];
extern const char store_sqlite_schema_v3[];
extern const char store_sqlite_schema_v4[];
extern const char store_sqlite_schema_v5[];
extern const char store_sqlite_schema_v6[];
extern const char store_sqlite_schema_v7[];
extern const char store_sqlite_schema_v8[];
extern const char store_sqlite_schema_v9[];

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
/* Resets s after a lookup's sqlite3_step result rc: 1 for a row, 0 for
 * none, -1 (st->err set) for an error. */
int store_sq_found(struct store *st, sqlite3_stmt *s, int rc);
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
	size_t n_ids, cap_ids;
	char **paths; /* NULL-terminated */
	size_t n_paths;
	/* Stored bodies (blob.h) go to blob_trash instead of being deleted:
	 * an IMAP expunge, whose other sessions may still read them. */
	bool defer_stored;
};

/* Steps an UPDATE ... RETURNING id, refcount, path statement (already
 * bound), remembering the blobs whose refcount reached 0. SQLITE_DONE or
 * an error code. */
int store_sq_orphans_collect(struct store_sq_orphans *o, sqlite3_stmt *s);
/* Deletes the collected blob rows; 0 or -1 (st->err). */
int store_sq_orphans_delete(struct store *st, struct store_sq_orphans *o);
/* Runs stmt bound to one id to its end; 0 or -1 (st->err). */
int store_sq_exec_id(struct store *st, enum store_sq_stmt stmt, int64_t id);
/* Runs an "unreference blobs of <id>" statement, collecting into o the
 * blobs no longer referenced; 0 or -1 (st->err). */
int store_sq_unref_collect(struct store *st, enum store_sq_stmt stmt,
			   int64_t id, struct store_sq_orphans *o);
/* The body of an operation that leaves blob files unreferenced: collects
 * them into o; 0 or -1 (st->err). */
typedef int (*store_sq_orphan_fn)(struct store *st, void *arg,
				  struct store_sq_orphans *o);
/* Runs fn in a transaction of its own (or the caller's, as
 * store_sq_op_begin); once it is committed, *orphan_blobs_r gets the
 * NULL-terminated paths of the orphaned files (empty vector when none),
 * for the caller to unlink. 0, or -1 with *err_r (nothing changed,
 * *orphan_blobs_r NULL). */
int store_sq_orphan_op(struct store *st, store_sq_orphan_fn fn, void *arg,
		       char ***orphan_blobs_r, const char **err_r);

/* 1 with *id_r, 0 no such domain (lower-case name), -1 error (st->err). */
int store_sq_domain_id(struct store *st, const char *domain, int64_t *id_r);
/* 1 with the account id (and pwhash when non-NULL), 0 none, -1 error. */
int store_sq_account_get(struct store *st, const char *local,
			 const char *domain, int64_t *id_r, char *pwhash,
			 size_t pwlen);
/* The account id of a user address: 0, or -1 with *err_r ("no such user"
 * when absent or malformed). */
int store_sq_user_id(struct store *st, const char *address, int64_t *id_r,
		     const char **err_r);

/* Room for element n (of elem bytes) in the array v of *cap elements:
 * v itself, or a larger copy (capacity doubled, *cap updated); NULL when
 * memory runs out (v is then untouched). */
void *store_sq_grow(void *v, size_t n, size_t *cap, size_t elem);
/* Fills one array element from the current row of s; 0, or -1 when memory
 * runs out. */
typedef int (*store_sq_row_fn)(sqlite3_stmt *s, void *elem);
/* Steps the bound statement s to its end and resets it, one zeroed
 * element of elem bytes per row, filled by fill (counted before it runs,
 * so the caller's free function releases what a failed fill allocated).
 * *v_r / *n_r hold the array either way (NULL / 0 when no rows). Returns
 * SQLITE_DONE, SQLITE_NOMEM or the step's error; see store_sq_rows_err. */
int store_sq_rows(sqlite3_stmt *s, size_t elem, store_sq_row_fn fill,
		  void **v_r, size_t *n_r);
/* The st->err text for a store_sq_rows result other than SQLITE_DONE. */
const char *store_sq_rows_err(struct store *st, int rc);

/* NULL-terminated string vector helpers. */
int store_sq_strv_push(char ***v, size_t *n, const char *s);
/* Runs a bound single-column query into a NULL-terminated vector (empty
 * vector when no rows); 0 or -1 (*err_r). */
int store_sq_strv_query(struct store *st, sqlite3_stmt *s, char ***v_r,
			const char **err_r);
/* The same for statement id with key bound as its one parameter; *v_r is
 * NULL on error. */
int store_sq_strv_by_id(struct store *st, enum store_sq_stmt id, int64_t key,
			char ***v_r, const char **err_r);
/* Runs a bound write statement that must change a row: 0, or -1 with
 * *err_r ("database error", or not_found when no row changed). */
int store_sq_exec_changed(struct store *st, sqlite3_stmt *s,
			  const char *not_found, const char **err_r);

/* Runs a bound statement whose first row holds integers; 1 with the first
 * ncol columns in out[] (ncol 0, out NULL: whether a row exists), 0 no
 * row, -1 error (st->err). */
int store_sq_row_ints(struct store *st, sqlite3_stmt *s, int64_t *out,
		      int ncol);
/* A fresh UIDVALIDITY no mailbox of the store ever had (inside a write
 * transaction); 0 or -1 (st->err). */
int store_sq_uidvalidity_next(struct store *st, uint32_t *v_r);
/* Stores the metadata of a blob unless it has some (NULL meta: nothing);
 * 0 or -1 (st->err). */
int store_sq_meta_put(struct store *st, int64_t blob_id,
		      const struct store_meta *meta);
/* Takes n new UIDs and one new MODSEQ in the mailbox and adds the new
 * messages to its counters: *uid_r is the first UID. 0, or -1 (st->err:
 * "no such mailbox", "mailbox UID space exhausted"). */
int store_sq_bump(struct store *st, int64_t mailbox_id, uint32_t n,
		  int64_t unseen, int64_t deleted, int64_t size,
		  uint32_t *uid_r, uint64_t *modseq_r);
/* The mailbox's HIGHESTMODSEQ (modseq_r may be NULL: existence check); 0
 * or -1 (st->err "no such mailbox" or a database error). */
int store_sq_mailbox_modseq(struct store *st, int64_t mailbox_id,
			    uint64_t *modseq_r);
/* A sorted copy of uids without duplicates and without 0; *out_r
 * malloc'ed (NULL when n is 0). 0 or -1 (st->err). */
int store_sq_uids_sorted(struct store *st, const uint32_t *uids, size_t n,
			 uint32_t **out_r, size_t *n_r);
/* Inserts a message row; 0 or -1 (st->err). */
/* The account's Junk mailbox (special-use \Junk first, else named Junk),
 * created with \Junk when it has none: its row as SQ_MAILBOX_GET's into
 * row[4]. 0, or -1 (st->err). */
int store_sq_mbox_junk(struct store *st, int64_t account_id, int64_t *row);
int store_sq_msg_insert(struct store *st, int64_t mailbox_id, uint32_t uid,
			int64_t blob_id, int64_t size, int64_t internaldate,
			uint32_t flags, const char *keywords, uint64_t modseq);

/* Messages removed by one expunge: their UIDs (recorded as vanished) and
 * what they took from the mailbox counters. */
struct store_sq_gone {
	uint32_t *uids;
	size_t n;
	size_t cap;
	int64_t unseen;
	int64_t deleted;
	int64_t size;
};
/* Deletes one message with stmt (SQ_MSG_DEL by id or SQ_MSG_DEL_UID),
 * key its id or UID, dropping its blob reference; 1 deleted, 0 not in the
 * mailbox, -1 error (st->err). */
int store_sq_expunge_one(struct store *st, enum store_sq_stmt stmt,
			 int64_t mailbox_id, int64_t key,
			 struct store_sq_orphans *o, struct store_sq_gone *g);
/* After the deletes: removes orphaned blob rows and, when anything went,
 * takes a new MODSEQ, records the UIDs as vanished with it (RFC 7162
 * §3.2.10) and updates the counters. 0 or -1 (st->err). */
int store_sq_expunge_finish(struct store *st, int64_t mailbox_id,
			    struct store_sq_orphans *o,
			    struct store_sq_gone *g);

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
int store_sqlite_alias_dangling(struct store *st, char ***lines_r,
				const char **err_r);
int store_sqlite_alias_check(struct store *st, const char *source,
			     const char *target, const char **err_r);
int store_sqlite_alias_add(struct store *st, const char *source,
			   const char *target, const char **err_r);
int store_sqlite_alias_del(struct store *st, const char *source,
			   const char *target_or_null, const char **err_r);
int store_sqlite_alias_list(struct store *st, const char *domain_or_null,
			    char ***lines_r, const char **err_r);
enum store_rcpt_status store_sqlite_resolve_rcpt(struct store *st,
						 const char *address,
						 int64_t **accounts_r,
						 size_t *n_r,
						 char ***remote_r);
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
int store_sqlite_mailbox_list(struct store *st, int64_t account_id,
			      struct store_mailbox **boxes_r, size_t *n_r,
			      const char **err_r);
int store_sqlite_mailbox_get(struct store *st, int64_t account_id,
			     const char *name, struct store_mailbox *box_r);
int store_sqlite_mailbox_create(struct store *st, int64_t account_id,
				const char *name, const char *special_use,
				int64_t *id_r, const char **err_r);
int store_sqlite_mailbox_delete(struct store *st, int64_t account_id,
				const char *name, char ***orphan_blobs_r,
				const char **err_r);
int store_sqlite_mailbox_rename(struct store *st, int64_t account_id,
				const char *from, const char *to,
				const char **err_r);
int store_sqlite_subscribe(struct store *st, int64_t account_id,
			   const char *name, bool on, const char **err_r);
int store_sqlite_subscriptions(struct store *st, int64_t account_id,
			       char ***names_r, const char **err_r);
struct store_tlsrpt_row;
int store_sqlite_tlsrpt_add(struct store *st, const struct store_tlsrpt_row *r,
			    const char **err_r);
int store_sqlite_tlsrpt_list(struct store *st, int64_t day_max,
			     struct store_tlsrpt_row **rows_r, size_t *n_r,
			     const char **err_r);
int store_sqlite_tlsrpt_delete(struct store *st, int64_t day,
			       const char *domain, const char **err_r);
int store_sqlite_metadata_list(struct store *st, int64_t account_id,
			       int64_t mailbox_id, struct store_metadata **v_r,
			       size_t *n_r, const char **err_r);
int store_sqlite_metadata_set(struct store *st, int64_t account_id,
			      int64_t mailbox_id, const char *name,
			      const char *value, size_t len,
			      size_t max_entries, const char **err_r);
int store_sqlite_mailbox_imsgs(struct store *st, int64_t mailbox_id,
			       uint64_t changedsince,
			       struct store_imsg **msgs_r, size_t *n_r,
			       const char **err_r);
int store_sqlite_recent_claim(struct store *st, int64_t mailbox_id,
			      uint32_t *from_r, uint32_t *to_r,
			      const char **err_r);
int store_sqlite_recent_count(struct store *st, int64_t mailbox_id,
			      uint32_t above, uint32_t *count_r,
			      const char **err_r);
int store_sqlite_mailbox_vmsgs(struct store *st, int64_t mailbox_id,
			       uint64_t changedsince,
			       struct store_vmsg **msgs_r, size_t *n_r,
			       const char **err_r);
int store_sqlite_mailbox_fields(struct store *st, int64_t mailbox_id,
				struct store_fields **fields_r, size_t *n_r,
				const char **err_r);
int store_sqlite_mailbox_imsgs_uids(struct store *st, int64_t mailbox_id,
				    const uint32_t *uids, size_t n,
				    struct store_imsg **msgs_r, size_t *n_r,
				    const char **err_r);
int store_sqlite_vanished_since(struct store *st, int64_t mailbox_id,
				uint64_t since, uint32_t **uids_r,
				size_t *n_r, const char **err_r);
int store_sqlite_blob_known(struct store *st, const char *path);
int store_sqlite_blob_data(struct store *st, const char *path, char **data_r,
			   size_t *len_r, const char **err_r);
int store_sqlite_blob_drop(struct store *st, char *const *paths,
			   const char **err_r);
int store_sqlite_blob_trash_sweep(struct store *st, int64_t before,
				  size_t *n_r, const char **err_r);
/* The blob row of path with refs more references (a new row, or more on
 * the existing one), and its octets when data is not NULL (blob_data; a
 * "db/" path, blob.h: only the call that makes the row gives them).
 * 0 or -1 (st->err). */
int store_sq_blob_add(struct store *st, const char *path, int64_t size,
		      int64_t refs, const void *data, size_t data_len,
		      int64_t *blob_id_r);
int store_sqlite_meta_get(struct store *st, int64_t blob_id,
			  struct store_meta *r);
int store_sqlite_meta_put(struct store *st, int64_t blob_id,
			  const struct store_meta *meta, const char **err_r);
int store_sqlite_append(struct store *st, int64_t mailbox_id,
			const struct store_delivery *d, uint32_t flags,
			char *const *keywords, size_t n_keywords,
			uint32_t *uid_r, const char **err_r);
int store_sqlite_flags_change(struct store *st, int64_t mailbox_id,
			      const uint32_t *uids, size_t n,
			      enum store_flag_mode mode, uint32_t flags,
			      char *const *keywords, size_t n_keywords,
			      uint64_t unchangedsince,
			      struct store_flag_change **changes_r,
			      size_t *n_changes_r, uint32_t **failed_r,
			      size_t *n_failed_r, const char **err_r);
int store_sqlite_copy(struct store *st, int64_t src_mailbox,
		      int64_t dst_mailbox, const uint32_t *uids, size_t n,
		      uint32_t **src_uids_r, uint32_t **dst_uids_r,
		      size_t *n_copied_r, const char **err_r);
int store_sqlite_quota_get(struct store *st, int64_t account_id,
			   int64_t *quota_r, uint64_t *usage_r,
			   const char **err_r);
int store_sqlite_quota_set(struct store *st, const char *address,
			   int64_t quota, const char **err_r);
int store_sqlite_expunge_uids(struct store *st, int64_t mailbox_id,
			      const uint32_t *uids, size_t n,
			      char ***orphan_blobs_r, const char **err_r);
int store_sqlite_sender_allowed(struct store *st, int64_t account_id,
				const char *address);
int store_sqlite_sender_grant_add(struct store *st, const char *account,
				  const char *pattern, const char **err_r);
int store_sqlite_sender_grant_del(struct store *st, const char *account,
				  const char *pattern, const char **err_r);
int store_sqlite_sender_grant_list(struct store *st, const char *account,
				   char ***patterns_r, const char **err_r);
/* 1 when address delivers to account_id by the recipient rules without
 * any catch-all (store_sqlite_rcpt.c), 0 not, -1 error (st->err). */
/* 1 when mail to address reaches an account or an external address
 * without any catch-all (an address outside the hosted domains does), 0
 * not, -1 error. */
int store_sq_reaches_someone(struct store *st, const char *address);
/* 1 when expanding the address from (as an alias target: accounts,
 * "+tag", aliases, no catch-all) passes through the address to, 0 not,
 * -1 error: an alias to -> from would make a loop. */
int store_sq_alias_reaches(struct store *st, const char *from,
			   const char *to);
int store_sq_delivers_to(struct store *st, const char *address,
			 int64_t account_id);
/* ---- The outbound queue (store_sqlite_queue.c, store_sqlite_qadmin.c) */

/* Fill a queue message / recipient from the columns SQ_QMSG_COLS /
 * SQ_QRCPT_COLS of the current row of s, starting at column c. */
void store_sq_qmsg_from_row(sqlite3_stmt *s, int c, struct store_queue_msg *m);
void store_sq_qrcpt_from_row(sqlite3_stmt *s, int c,
			     struct store_queue_rcpt *r);
/* Binds text (NULL binds NULL) cut to at most max bytes, never inside a
 * UTF-8 sequence. */
int store_sq_bind_capped(sqlite3_stmt *s, int col, const char *text,
			 size_t max);
/* Raises the queue serial; 0 or -1 (st->err). */
int store_sq_queue_bump(struct store *st);
/* Whole messages with their recipients, loaded in one read transaction
 * (its own when the caller has none). */
struct store_sq_qload {
	struct store_queue_entry *v;
	size_t n, cap;
	bool own;
};
int store_sq_qload_begin(struct store *st, struct store_sq_qload *q,
			 const char **err_r);
/* Appends message msg_id, if it still exists; 0 or -1 (st->err). */
int store_sq_qload_id(struct store *st, struct store_sq_qload *q,
		      int64_t msg_id);
/* Ends the read transaction; ok: hands the entries over (0), else frees
 * them and returns -1 with *err_r = st->err. */
int store_sq_qload_end(struct store *st, struct store_sq_qload *q, bool ok,
		       struct store_queue_entry **entries_r, size_t *n_r,
		       const char **err_r);
int store_sqlite_queue_add(struct store *st, const struct store_queue_new *m,
			   int64_t *msg_id_r, const char **err_r);
int store_sqlite_queue_due(struct store *st, int64_t now, size_t limit,
			   struct store_queue_item **items_r, size_t *n_r,
			   const char **err_r);
int store_sqlite_queue_next_due(struct store *st, int64_t *when_r);
int store_sqlite_queue_serial(struct store *st, int64_t *serial_r);
int store_sqlite_queue_lease(struct store *st, const int64_t *rcpt_ids,
			     size_t n, const char *owner, int64_t now,
			     int64_t until, size_t *taken_r,
			     const char **err_r);
int store_sqlite_queue_unlease(struct store *st, const char *prefix,
			       const char *keep_owner, int64_t now,
			       size_t *freed_r, const char **err_r);
int store_sqlite_queue_update(struct store *st,
			      const struct store_queue_update *u,
			      const char **err_r);
int store_sqlite_queue_notices(struct store *st, size_t limit,
			       struct store_queue_entry **entries_r,
			       size_t *n_r, const char **err_r);
int store_sqlite_queue_notice_done(struct store *st, const int64_t *rcpt_ids,
				   size_t n, const char **err_r);
int store_sqlite_queue_retire(struct store *st, int64_t msg_id,
			      char ***orphans_r, const char **err_r);
int store_sqlite_queue_list(struct store *st, const char *domain_or_null,
			    bool held_only,
			    struct store_queue_entry **entries_r, size_t *n_r,
			    const char **err_r);
int store_sqlite_queue_get(struct store *st, const char *qid,
			   struct store_queue_entry *e);
int store_sqlite_queue_hold(struct store *st, const char *qid, bool hold,
			    const char **err_r);
int store_sqlite_queue_flush(struct store *st, const char *qid_or_null,
			     const char *domain_or_null, size_t *n_r,
			     const char **err_r);
int store_sqlite_queue_delete(struct store *st, const char *qid,
			      char ***orphans_r, const char **err_r);
int store_sqlite_queue_bounce(struct store *st, const char *qid,
			      const char **err_r);

/* Creates the account's standard mailboxes (user_add). */
int store_sq_mailboxes_create(struct store *st, int64_t account_id,
			      const char **err_r);

#endif
