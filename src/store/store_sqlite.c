/*
 * The embedded SQLite backend: connection set-up (WAL, FULL sync, foreign
 * keys, busy timeout so `postel user ...` and the server share the file),
 * schema creation and migration, transactions and the statement cache.
 * The operations live in store_sqlite_admin.c and store_sqlite_mail.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "store_sqlite_int.h"

#define SQ_DB_FILE "postel.db"
/* Lets the CLI and the server wait for each other's write transactions. */
#define SQ_BUSY_TIMEOUT_MS 5000

/* Migration steps: step i brings the schema from version i to i + 1. A
 * new schema version appends one step and bumps STORE_SCHEMA_VERSION. */
static const char *const sq_migrations[] = {
	store_sqlite_schema_v1,
	store_sqlite_schema_v2,
	store_sqlite_schema_v3,
	store_sqlite_schema_v4,
	store_sqlite_schema_v5,
	store_sqlite_schema_v6,
	store_sqlite_schema_v7,
	store_sqlite_schema_v8,
	store_sqlite_schema_v9,
};
_Static_assert(sizeof(sq_migrations) / sizeof(sq_migrations[0])
		       == STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

int
store_sq_found(struct store *st, sqlite3_stmt *s, int rc)
{
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	store_sq_err(st, "database error");
	return -1;
}

const char *
store_sq_err(struct store *st, const char *what)
{
	struct store_sq *sq = store_sq(st);

	snprintf(st->err, sizeof(st->err), "%s: %s", what,
		 sq->db != NULL ? sqlite3_errmsg(sq->db) : "no database");
	return st->err;
}

const char *
store_sq_fail(struct store *st, const char *text)
{
	snprintf(st->err, sizeof(st->err), "%s", text);
	return st->err;
}

sqlite3_stmt *
store_sq_stmt(struct store *st, enum store_sq_stmt id)
{
	struct store_sq *sq = store_sq(st);
	sqlite3_stmt *s = sq->stmts[id];

	if (s == NULL) {
		if (sqlite3_prepare_v3(sq->db, store_sq_sql[id], -1,
				       SQLITE_PREPARE_PERSISTENT, &s,
				       NULL) != SQLITE_OK) {
			store_sq_err(st, "database error");
			return NULL;
		}
		sq->stmts[id] = s;
		return s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

int
store_sq_exec(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	/* A RETURNING row counts as success for callers that ignore it. */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc;
}

static int
sq_run(struct store *st, const char *sql, const char **err_r)
{
	struct store_sq *sq = store_sq(st);

	if (sqlite3_exec(sq->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

/* Runs one transaction-control statement (SQ_TX_*). */
static int
sq_tx(struct store *st, enum store_sq_stmt id, const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, id);

	if (s == NULL || store_sq_exec(s) != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

/* ROLLBACK TO keeps the savepoint open; RELEASE then pops it. */
static int
sq_tx_undo(struct store *st, enum store_sq_stmt rollback_to,
	   enum store_sq_stmt release)
{
	const char *ignored;

	if (sq_tx(st, rollback_to, &ignored) < 0)
		return -1;
	return sq_tx(st, release, &ignored);
}

int
store_sq_op_begin(struct store *st, bool *own_r, const char **err_r)
{
	/* IMMEDIATE takes the write lock now, so busy_timeout applies; a
	 * deferred transaction could fail at its first write instead. */
	*own_r = sqlite3_get_autocommit(store_sq(st)->db) != 0;
	return sq_tx(st, *own_r ? SQ_TX_BEGIN_IMMEDIATE : SQ_TX_SAVEPOINT_OP,
		     err_r);
}

int
store_sq_op_end(struct store *st, bool own, bool ok, const char **err_r)
{
	const char *ignored;

	if (ok && sq_tx(st, own ? SQ_TX_COMMIT : SQ_TX_RELEASE_OP, err_r) == 0)
		return 0;
	/* A failed COMMIT or RELEASE (SQLITE_BUSY, I/O) leaves the
	 * transaction open: undo it so the handle is usable again. */
	if (own && !sqlite3_get_autocommit(store_sq(st)->db))
		(void)sq_tx(st, SQ_TX_ROLLBACK, &ignored);
	else if (!own)
		(void)sq_tx_undo(st, SQ_TX_ROLLBACK_TO_OP, SQ_TX_RELEASE_OP);
	return ok ? -1 : 0;
}

int
store_sq_lower(char *dst, size_t dstlen, const char *src)
{
	size_t len = strlen(src);

	if (len >= dstlen)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	return 0;
}

int
store_sq_split(const char *address, char local[STORE_SQ_LOCAL_BUF],
	       char domain[STORE_SQ_DOMAIN_BUF])
{
	char buf[STORE_SQ_ADDR_BUF];
	char *at;

	if (store_sq_lower(buf, sizeof(buf), address) < 0)
		return -1;
	at = strrchr(buf, '@');
	if (at == NULL || at[1] == '\0')
		return -1;
	*at = '\0';
	if (strlen(buf) > LIMIT_LOCALPART || strlen(at + 1) > LIMIT_DOMAIN)
		return -1;
	memcpy(local, buf, (size_t)(at - buf) + 1);
	memcpy(domain, at + 1, strlen(at + 1) + 1);
	return 0;
}

int
store_sq_strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(**v));
	char *copy;

	if (nv == NULL)
		return -1;
	*v = nv;
	copy = strdup(s);
	if (copy == NULL) {
		nv[*n] = NULL;
		return -1;
	}
	nv[(*n)++] = copy;
	nv[*n] = NULL;
	return 0;
}

void *
store_sq_grow(void *v, size_t n, size_t *cap, size_t elem)
{
	size_t ncap;

	if (n < *cap)
		return v;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > SIZE_MAX / elem || (v = realloc(v, ncap * elem)) == NULL)
		return NULL;
	*cap = ncap;
	return v;
}

int
store_sq_rows(sqlite3_stmt *s, size_t elem, store_sq_row_fn fill,
	      void **v_r, size_t *n_r)
{
	char *v = NULL, *nv;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((nv = store_sq_grow(v, n, &cap, elem)) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		memset(v + n * elem, 0, elem);
		if (fill(s, v + n++ * elem) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_reset(s);
	*v_r = v;
	*n_r = n;
	return rc;
}

const char *
store_sq_rows_err(struct store *st, int rc)
{
	return rc == SQLITE_NOMEM ? store_sq_fail(st, "out of memory")
				  : store_sq_err(st, "database error");
}

int
store_sq_orphans_collect(struct store_sq_orphans *o, sqlite3_stmt *s)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t *ids;

		if (sqlite3_column_int64(s, 1) > 0)
			continue;
		ids = store_sq_grow(o->ids, o->n_ids, &o->cap_ids, sizeof(*ids));
		if (ids == NULL)
			return SQLITE_NOMEM;
		o->ids = ids;
		o->ids[o->n_ids++] = sqlite3_column_int64(s, 0);
		if (store_sq_strv_push(&o->paths, &o->n_paths,
				       (const char *)sqlite3_column_text(s, 2))
		    < 0)
			return SQLITE_NOMEM;
	}
	return rc;
}

int
store_sq_exec_id(struct store *st, enum store_sq_stmt stmt, int64_t id)
{
	sqlite3_stmt *s = store_sq_stmt(st, stmt);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sq_unref_collect(struct store *st, enum store_sq_stmt stmt, int64_t id,
		       struct store_sq_orphans *o)
{
	sqlite3_stmt *s = store_sq_stmt(st, stmt);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = store_sq_orphans_collect(o, s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

/* The stored body of an orphan: deleted with it, or kept in blob_trash
 * for the readers of an IMAP expunge. 0 or -1. */
static int
sq_orphan_body(struct store *st, struct store_sq_orphans *o, const char *path)
{
	sqlite3_stmt *s;
	int64_t key;

	if (blob_stored_key(path, &key) < 0)
		return 0; /* a file: unlinked by the caller after the commit */
	s = store_sq_stmt(st, o->defer_stored ? SQ_BLOB_TRASH_ADD
					      : SQ_BLOB_DATA_DEL);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, key);
	if (o->defer_stored)
		sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sq_orphans_delete(struct store *st, struct store_sq_orphans *o)
{
	for (size_t i = 0; i < o->n_ids; i++) {
		sqlite3_stmt *s = store_sq_stmt(st, SQ_BLOB_DEL);

		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, o->ids[i]);
		if (store_sq_exec(s) != SQLITE_DONE) {
			store_sq_err(st, "database error");
			return -1;
		}
		if (i < o->n_paths && sq_orphan_body(st, o, o->paths[i]) < 0)
			return -1;
	}
	return 0;
}

/* Starts with an empty path vector, so finishing cannot fail after the
 * commit; 0 or -1 (st->err "out of memory"). */
static int
sq_orphans_init(struct store *st, struct store_sq_orphans *o)
{
	memset(o, 0, sizeof(*o));
	o->paths = calloc(1, sizeof(*o->paths));
	if (o->paths == NULL) {
		store_sq_fail(st, "out of memory");
		return -1;
	}
	return 0;
}

static void
sq_orphans_fini(struct store_sq_orphans *o)
{
	free(o->ids);
	store_strv_free(o->paths);
	memset(o, 0, sizeof(*o));
}

int
store_sq_orphan_op(struct store *st, store_sq_orphan_fn fn, void *arg,
		   char ***orphan_blobs_r, const char **err_r)
{
	struct store_sq_orphans o;
	bool own;

	*orphan_blobs_r = NULL;
	if (sq_orphans_init(st, &o) < 0) {
		*err_r = st->err;
		return -1;
	}
	if (store_sq_op_begin(st, &own, err_r) < 0) {
		sq_orphans_fini(&o);
		return -1;
	}
	if (fn(st, arg, &o) < 0) {
		*err_r = st->err;
		store_sq_op_end(st, own, false, err_r);
		sq_orphans_fini(&o);
		return -1;
	}
	if (store_sq_op_end(st, own, true, err_r) < 0) {
		sq_orphans_fini(&o);
		return -1;
	}
	*orphan_blobs_r = o.paths;
	o.paths = NULL;
	sq_orphans_fini(&o);
	return 0;
}

/* 0 when the database is new (no meta table), else schema_version. */
static int
sq_schema_version(struct store *st, int *version_r, const char **err_r)
{
	struct store_sq *sq = store_sq(st);
	sqlite3_stmt *s = NULL;
	int rc;

	*version_r = 0;
	rc = sqlite3_prepare_v2(sq->db,
				"SELECT value FROM meta"
				" WHERE key = 'schema_version'",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		/* No meta table: a database this code never touched. */
		if (strstr(sqlite3_errmsg(sq->db), "no such table") != NULL)
			return 0;
		*err_r = store_sq_err(st, "cannot read schema version");
		return -1;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*version_r = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*err_r = store_sq_err(st, "cannot read schema version");
		return -1;
	}
	return 0;
}

/* Makes the names in the data directory durable (the database, its -wal
 * file, an upgrade's copy): SQLite fsyncs the directory after creating a
 * WAL or journal only when built without SQLITE_DISABLE_DIRSYNC (several
 * distributions define it), and never after creating a database file.
 * Once per open, and after an upgrade's copy. */
static int
sq_sync_data_dir(struct store *st, const char *data_dir, const char **err_r)
{
	int fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && fsync(fd) == 0)
		return close(fd);
	snprintf(st->err, sizeof(st->err), "cannot sync %.160s: %s", data_dir,
		 strerror(errno));
	*err_r = st->err;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* DESIGN.md principle 6: an upgrade leaves a copy of the old database. */
static int
sq_backup(struct store *st, const char *data_dir, int version,
	  const char **err_r)
{
	char path[4096];
	char *sql;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s.v%d.bak", data_dir,
		     SQ_DB_FILE, version) >= (int)sizeof(path)) {
		*err_r = store_sq_fail(st, "data directory path too long");
		return -1;
	}
	(void)unlink(path);
	sql = sqlite3_mprintf("VACUUM INTO %Q", path);
	if (sql == NULL) {
		*err_r = store_sq_fail(st, "out of memory");
		return -1;
	}
	rc = sq_run(st, sql, err_r);
	sqlite3_free(sql);
	/* VACUUM INTO syncs the copy's contents (synchronous=FULL), not its
	 * name: both must be on disk before the upgrade commits. */
	return rc < 0 ? -1 : sq_sync_data_dir(st, data_dir, err_r);
}

static int
sq_migrate_steps(struct store *st, const char **err_r)
{
	char value[16];
	sqlite3_stmt *s;
	int version;

	if (sq_schema_version(st, &version, err_r) < 0)
		return -1;
	for (; version < STORE_SCHEMA_VERSION; version++) {
		if (sq_run(st, sq_migrations[version], err_r) < 0)
			return -1;
	}
	snprintf(value, sizeof(value), "%d", STORE_SCHEMA_VERSION);
	s = store_sq_stmt(st, SQ_META_SET);
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_text(s, 1, "schema_version", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	if (store_sq_exec(s) != SQLITE_DONE) {
		*err_r = store_sq_err(st, "cannot store schema version");
		return -1;
	}
	return 0;
}

static int
sq_migrate(struct store *st, const char *data_dir, const char **err_r)
{
	int version;
	bool own;

	if (sq_schema_version(st, &version, err_r) < 0)
		return -1;
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(st->err, sizeof(st->err),
			 "database schema version %d is newer than this postel "
			 "supports (%d); run a newer postel",
			 version, STORE_SCHEMA_VERSION);
		*err_r = st->err;
		return -1;
	}
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (version > 0 && sq_backup(st, data_dir, version, err_r) < 0)
		return -1;
	/* Re-read under the write lock: another process may have migrated
	 * between our read and BEGIN IMMEDIATE. */
	if (store_sq_op_begin(st, &own, err_r) < 0)
		return -1;
	if (sq_migrate_steps(st, err_r) < 0) {
		store_sq_op_end(st, own, false, err_r);
		return -1;
	}
	return store_sq_op_end(st, own, true, err_r);
}

static int
sq_wal_cb(void *arg, int ncols, char **vals, char **names)
{
	bool *wal = arg;

	*wal = ncols == 1 && vals[0] != NULL && strcmp(vals[0], "wal") == 0;
	return 0;
}

static int
sq_configure(struct store *st, const char **err_r)
{
	struct store_sq *sq = store_sq(st);
	bool wal = false;

	sqlite3_busy_timeout(sq->db, SQ_BUSY_TIMEOUT_MS);
	if (sqlite3_exec(sq->db, "PRAGMA journal_mode=WAL", sq_wal_cb, &wal,
			 NULL) != SQLITE_OK) {
		*err_r = store_sq_err(st, "cannot enable WAL mode");
		return -1;
	}
	if (!wal) {
		*err_r = store_sq_fail(st, "cannot enable WAL mode");
		return -1;
	}
	/* FULL: the WAL is fsynced at every commit, so an acknowledged
	 * message survives a power loss (DESIGN.md principle 1). */
	return sq_run(st,
		      "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
		      "PRAGMA temp_store=MEMORY;",
		      err_r);
}

/* The database holds password hashes: create it 0640 before SQLite does
 * (its -wal and -shm files copy the mode of the database file). */
static int
sq_precreate(struct store *st, const char *data_dir, const char *path,
	     const char **err_r)
{
	int fd;

	if (mkdir(data_dir, 0750) < 0 && errno != EEXIST) {
		snprintf(st->err, sizeof(st->err), "cannot create %.160s: %s",
			 data_dir, strerror(errno));
		*err_r = st->err;
		return -1;
	}
	/* Never open and close an existing database here: closing any fd of
	 * a file drops every POSIX lock this process holds on it, including
	 * those of other SQLite connections (then another process may think
	 * it is alone, checkpoint and delete the -shm under us). */
	if (access(path, F_OK) == 0)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0) {
		snprintf(st->err, sizeof(st->err), "cannot open %.160s: %s",
			 path, strerror(errno));
		*err_r = st->err;
		return -1;
	}
	close(fd);
	return 0;
}

static void
sq_close(struct store *st)
{
	struct store_sq *sq = store_sq(st);

	if (sq == NULL)
		return;
	for (size_t i = 0; i < SQ_COUNT; i++)
		sqlite3_finalize(sq->stmts[i]);
	sqlite3_close(sq->db);
	free(sq);
	st->impl = NULL;
}

/* Before the first connection: no global memory statistics. With them
 * on, every allocation SQLite makes takes one process-wide mutex, on
 * which the workers and the commit thread contended (about a tenth of
 * the futex calls under relay load). Nothing here reads the counters. */
static void
sq_global_config(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int
sq_open(struct store *st, const char *data_dir, const char **err_r)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct store_sq *sq;
	char path[4096];

	if (data_dir == NULL || data_dir[0] == '\0')
		data_dir = ".";
	if (snprintf(path, sizeof(path), "%s/%s", data_dir, SQ_DB_FILE)
	    >= (int)sizeof(path)) {
		*err_r = store_sq_fail(st, "data directory path too long");
		return -1;
	}
	sq = calloc(1, sizeof(*sq));
	if (sq == NULL) {
		*err_r = store_sq_fail(st, "out of memory");
		return -1;
	}
	pthread_once(&once, sq_global_config);
	st->impl = sq;
	if (sq_precreate(st, data_dir, path, err_r) < 0)
		goto fail;
	if (sqlite3_open_v2(path, &sq->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		*err_r = store_sq_err(st, "cannot open database");
		goto fail;
	}
	if (sq_configure(st, err_r) < 0 || sq_migrate(st, data_dir, err_r) < 0
	    || sq_sync_data_dir(st, data_dir, err_r) < 0)
		goto fail;
	return 0;
fail:
	sq_close(st);
	return -1;
}

static int
sq_begin(struct store *st, const char **err_r)
{
	return sq_tx(st, SQ_TX_BEGIN_IMMEDIATE, err_r);
}

static int sq_rollback(struct store *st);

/* Ends the read snapshot; if it cannot commit (a write inside failed
 * half-way), rolls back, so the handle is never left inside a
 * transaction for the next job. */
static void
sq_read_end(struct store *st)
{
	const char *ignored;

	if (!sqlite3_get_autocommit(store_sq(st)->db) &&
	    sq_tx(st, SQ_TX_COMMIT, &ignored) < 0)
		(void)sq_rollback(st);
}

/* Deferred: takes the read snapshot at the first read. A transaction
 * someone left open is of unknown origin: thrown away, not committed. */
static int
sq_read_begin(struct store *st, const char **err_r)
{
	(void)sq_rollback(st);
	return sq_tx(st, SQ_TX_BEGIN, err_r);
}

static int
sq_commit(struct store *st, const char **err_r)
{
	return sq_tx(st, SQ_TX_COMMIT, err_r);
}

static int
sq_rollback(struct store *st)
{
	const char *ignored;

	/* Nothing to undo when a failed COMMIT already ended it. */
	if (sqlite3_get_autocommit(store_sq(st)->db))
		return 0;
	return sq_tx(st, SQ_TX_ROLLBACK, &ignored);
}

static int
sq_savepoint(struct store *st, const char **err_r)
{
	return sq_tx(st, SQ_TX_SAVEPOINT_JOB, err_r);
}

static int
sq_release(struct store *st, const char **err_r)
{
	return sq_tx(st, SQ_TX_RELEASE_JOB, err_r);
}

static int
sq_rollback_to(struct store *st)
{
	return sq_tx_undo(st, SQ_TX_ROLLBACK_TO_JOB, SQ_TX_RELEASE_JOB);
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.read_begin = sq_read_begin,
	.read_end = sq_read_end,
	.rollback = sq_rollback,
	.savepoint = sq_savepoint,
	.release = sq_release,
	.rollback_to = sq_rollback_to,
	.domain_add = store_sqlite_domain_add,
	.domain_del = store_sqlite_domain_del,
	.domain_list = store_sqlite_domain_list,
	.domain_exists = store_sqlite_domain_exists,
	.user_add = store_sqlite_user_add,
	.user_passwd = store_sqlite_user_passwd,
	.user_del = store_sqlite_user_del,
	.user_list = store_sqlite_user_list,
	.account_lookup = store_sqlite_account_lookup,
	.alias_check = store_sqlite_alias_check,
	.alias_dangling = store_sqlite_alias_dangling,
	.alias_add = store_sqlite_alias_add,
	.alias_del = store_sqlite_alias_del,
	.alias_list = store_sqlite_alias_list,
	.resolve_rcpt = store_sqlite_resolve_rcpt,
	.deliver = store_sqlite_deliver,
	.mailbox_info = store_sqlite_mailbox_info,
	.mailbox_messages = store_sqlite_mailbox_messages,
	.messages_expunge = store_sqlite_messages_expunge,
	.mailbox_list = store_sqlite_mailbox_list,
	.mailbox_get = store_sqlite_mailbox_get,
	.mailbox_create = store_sqlite_mailbox_create,
	.mailbox_delete = store_sqlite_mailbox_delete,
	.mailbox_rename = store_sqlite_mailbox_rename,
	.subscribe = store_sqlite_subscribe,
	.subscriptions = store_sqlite_subscriptions,
	.metadata_list = store_sqlite_metadata_list,
	.metadata_set = store_sqlite_metadata_set,
	.tlsrpt_add = store_sqlite_tlsrpt_add,
	.tlsrpt_list = store_sqlite_tlsrpt_list,
	.tlsrpt_delete = store_sqlite_tlsrpt_delete,
	.mailbox_imsgs = store_sqlite_mailbox_imsgs,
	.mailbox_vmsgs = store_sqlite_mailbox_vmsgs,
	.recent_claim = store_sqlite_recent_claim,
	.recent_count = store_sqlite_recent_count,
	.mailbox_imsgs_uids = store_sqlite_mailbox_imsgs_uids,
	.mailbox_fields = store_sqlite_mailbox_fields,
	.blob_known = store_sqlite_blob_known,
	.blob_data = store_sqlite_blob_data,
	.blob_drop = store_sqlite_blob_drop,
	.blob_trash_sweep = store_sqlite_blob_trash_sweep,
	.vanished_since = store_sqlite_vanished_since,
	.meta_get = store_sqlite_meta_get,
	.meta_put = store_sqlite_meta_put,
	.append = store_sqlite_append,
	.flags_change = store_sqlite_flags_change,
	.copy = store_sqlite_copy,
	.expunge_uids = store_sqlite_expunge_uids,
	.sender_allowed = store_sqlite_sender_allowed,
	.sender_grant_add = store_sqlite_sender_grant_add,
	.sender_grant_del = store_sqlite_sender_grant_del,
	.sender_grant_list = store_sqlite_sender_grant_list,
	.quota_get = store_sqlite_quota_get,
	.quota_set = store_sqlite_quota_set,
	.queue_add = store_sqlite_queue_add,
	.queue_due = store_sqlite_queue_due,
	.queue_next_due = store_sqlite_queue_next_due,
	.queue_serial = store_sqlite_queue_serial,
	.queue_lease = store_sqlite_queue_lease,
	.queue_unlease = store_sqlite_queue_unlease,
	.queue_update = store_sqlite_queue_update,
	.queue_notices = store_sqlite_queue_notices,
	.queue_notice_done = store_sqlite_queue_notice_done,
	.queue_retire = store_sqlite_queue_retire,
	.queue_list = store_sqlite_queue_list,
	.queue_get = store_sqlite_queue_get,
	.queue_hold = store_sqlite_queue_hold,
	.queue_flush = store_sqlite_queue_flush,
	.queue_delete = store_sqlite_queue_delete,
	.queue_bounce = store_sqlite_queue_bounce,
};
