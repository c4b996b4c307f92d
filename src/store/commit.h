/*
 * Group commit. Sessions hand write jobs to one commit thread; it takes every
 * job that is waiting, fsyncs the directories of new message files once, runs
 * all jobs in one transaction (each in its own savepoint, so one failure does
 * not undo the others), commits (one WAL fsync), then reports each job's
 * result back on the loop thread. This is how many sessions share one round
 * of fsyncs (DESIGN.md principle 2).
 */
#ifndef POSTEL_COMMIT_H
#define POSTEL_COMMIT_H

#include <stdbool.h>

struct loop;
struct store;
struct commit;

/* Runs on the commit thread inside the transaction; 0 or -1 (err_r set). */
typedef int (*commit_apply_fn)(struct store *st, void *arg,
			       const char **err_r);
/* Runs on the commit thread after the transaction committed or failed
 * (ok tells which), after the orphans were dealt with; may be NULL. */
typedef void (*commit_after_fn)(void *arg, bool ok);
/* Runs on the loop thread with the job's result (0 or -1). */
typedef void (*commit_done_cb)(void *arg, int result);
/* Runs on a commit thread before the batch's transaction: CPU work the
 * job needs in apply that the loop should not do (a message's MIME
 * metadata). */
typedef void (*commit_before_fn)(void *arg);

struct commit_job {
	commit_apply_fn apply;
	commit_after_fn after;
	commit_done_cb done;
	commit_before_fn before; /* may be NULL */
	void *arg;
	/* Relative blob path whose directory must be durable before the
	 * transaction commits, or "" (blob.h). */
	char sync_blob[64];
	/* Where apply leaves the NULL-terminated list of message files its
	 * change made unreferenced (a store *orphan_blobs_r), or NULL. After
	 * the transaction the commit thread unlinks them if it committed
	 * (never before: the rows must be durably gone), frees the list and
	 * clears *orphans. */
	char ***orphans;
	struct commit_job *next; /* internal */
};

/* Opens its own store handle; NULL with err set on failure. loop may be
 * NULL (tools, tests): done callbacks then run on the commit thread. */
struct commit *commit_new(const char *store_url, const char *data_dir,
			  struct loop *loop, char *err, size_t errlen);
/* Thread-safe. The job is copied; it runs in a later batch. */
void commit_submit(struct commit *c, const struct commit_job *job);
/* Runs every queued job, then stops the threads. */
void commit_free(struct commit **cp);

#endif
