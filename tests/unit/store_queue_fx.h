/*
 * Helpers shared by the outbound queue's store tests (test_store_queue.c,
 * test_store_qadmin.c): queueing a message, due work, leases, the serial,
 * blob reference counts. Include after store_fx.h.
 */
#ifndef POSTEL_TEST_STORE_QUEUE_FX_H
#define POSTEL_TEST_STORE_QUEUE_FX_H

#define T0 1700000000 /* arrival of the test messages */

static inline int
setup(void **state)
{
	return store_fx_setup(state, "/tmp/postel-squeue-XXXXXX");
}

static inline int
teardown(void **state)
{
	return store_fx_teardown(state);
}

static inline int64_t
serial(struct store *st)
{
	int64_t v = -1;

	assert_int_equal(store_queue_serial(st, &v), 0);
	return v;
}

/* Queues message qid (file blob, arrival created) for the n recipients;
 * returns its queue_msgs id. */
static inline int64_t
q_add(struct store *st, const char *qid, const char *blob, int64_t created,
      const struct store_queue_rcpt_new *rcpts, size_t n)
{
	struct store_queue_new m = { .size = 1234, .from = "s@example.org",
				     .envid = "env-1", .ret = STORE_RET_HDRS,
				     .flags = STORE_QMSG_8BIT,
				     .created = created, .rcpts = rcpts,
				     .n_rcpts = n };
	const char *err = NULL;
	int64_t id = 0;

	snprintf(m.qid, sizeof(m.qid), "%s", qid);
	snprintf(m.blob, sizeof(m.blob), "%s", blob);
	if (store_queue_add(st, &m, &id, &err) < 0)
		fail_msg("queue_add %s: %s", qid, err);
	assert_true(id > 0);
	return id;
}

/* Queues qid for one pending recipient addr. */
static inline int64_t
q_add1(struct store *st, const char *qid, const char *blob, int64_t created,
       const char *addr)
{
	struct store_queue_rcpt_new r = { .addr = addr };

	return q_add(st, qid, blob, created, &r, 1);
}

static inline struct store_queue_item *
q_due(struct store *st, int64_t now, size_t limit, size_t *n)
{
	struct store_queue_item *it = NULL;
	const char *err = NULL;

	if (store_queue_due(st, now, limit, &it, n, &err) < 0)
		fail_msg("queue_due: %s", err);
	return it;
}

static inline size_t
q_lease(struct store *st, const int64_t *ids, size_t n, const char *owner,
	int64_t now, int64_t until)
{
	const char *err = NULL;
	size_t taken = 99;

	if (store_queue_lease(st, ids, n, owner, now, until, &taken, &err) < 0)
		fail_msg("queue_lease: %s", err);
	return taken;
}

/* errp, not the string: the call in rc must run before *errp is read. */
static inline void
expect_no_qid(int rc, const char *const *errp)
{
	assert_int_equal(rc, -1);
	assert_string_equal(*errp, "no such queue id");
}

/* Runs one write statement on its own connection; the rows it changed. */
static inline int
sql_exec_changes(struct store_fx *f, const char *sql)
{
	sqlite3 *db = store_fx_db(f->dir);
	int n;

	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	n = sqlite3_changes(db);
	sqlite3_close(db);
	return n;
}

static inline int64_t
blob_refs(struct store_fx *f, const char *path)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT refcount FROM blobs WHERE path = '%s'", path);
	return sql_int(f->dir, sql);
}

#endif
