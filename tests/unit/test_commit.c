/*
 * Unit tests of the group commit thread (src/store/commit.c): jobs from
 * several threads each get exactly one done callback on the loop thread
 * with the right result; a failing job does not undo the others; a job
 * that loses the transaction fails its whole batch; commit_free drains the
 * queue; a delivery with its blob file goes through end to end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "store/blob.h"
#include "store/commit.h"
#include "store/store.h"

#define N_THREADS 4
#define JOBS_PER_THREAD 250
#define N_JOBS (N_THREADS * JOBS_PER_THREAD)
/* Every wait on another thread is bounded: a bug fails the test with a
 * message instead of hanging CI. */
#define WAIT_MAX_S 20

struct job_ctx {
	int idx;
	bool fail;          /* apply writes, then fails */
	atomic_int applied;
	atomic_int after_calls;
	atomic_bool after_ok;
	int done_calls;     /* loop thread only */
	int result;
	struct test_ctx *t;
};

struct test_ctx {
	char dir[64];
	struct loop *loop;
	struct commit *commit;
	struct job_ctx jobs[N_JOBS];
	int done_total; /* loop thread only */
	pthread_t loop_thread_id;
	bool wrong_thread;
};

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
setup(void **state)
{
	struct test_ctx *t = calloc(1, sizeof(*t));
	const char *err = NULL;
	char e[256];
	struct store *st;

	snprintf(t->dir, sizeof(t->dir), "/tmp/postel-commit-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	st = store_open(NULL, t->dir, e, sizeof(e));
	if (st == NULL || store_domain_add(st, "example.org", &err) < 0
	    || store_user_add(st, "u@example.org", "h", &err) < 0)
		return -1;
	store_close(&st);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct test_ctx *t = *state;

	commit_free(&t->commit);
	loop_free(&t->loop);
	nftw(t->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static int
job_apply(struct store *st, void *arg, const char **err_r)
{
	struct job_ctx *j = arg;
	char name[64];

	atomic_fetch_add(&j->applied, 1);
	snprintf(name, sizeof(name), "d%d.example", j->idx);
	if (store_domain_add(st, name, err_r) < 0)
		return -1;
	if (j->fail) {
		*err_r = "planned failure";
		return -1;
	}
	return 0;
}

static void
job_after(void *arg, bool ok)
{
	struct job_ctx *j = arg;

	atomic_store(&j->after_ok, ok);
	atomic_fetch_add(&j->after_calls, 1);
}

static void
job_done(void *arg, int result)
{
	struct job_ctx *j = arg;
	struct test_ctx *t = j->t;

	if (!pthread_equal(pthread_self(), t->loop_thread_id))
		t->wrong_thread = true;
	j->done_calls++;
	j->result = result;
	if (++t->done_total == N_JOBS)
		loop_stop(t->loop);
}

static void *
submitter(void *arg)
{
	struct job_ctx *first = arg;
	struct commit *c = first->t->commit;

	for (int i = 0; i < JOBS_PER_THREAD; i++) {
		struct commit_job job = { .apply = job_apply,
					  .after = job_after,
					  .done = job_done,
					  .arg = &first[i] };

		commit_submit(c, &job);
	}
	return NULL;
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct test_ctx *t = arg;

	fprintf(stderr, "timeout: %d of %d done\n", t->done_total, N_JOBS);
	loop_stop(t->loop);
}

static void
start(struct test_ctx *t, bool with_loop)
{
	char err[256] = "";

	if (with_loop) {
		t->loop = loop_new();
		assert_non_null(t->loop);
	}
	t->commit = commit_new(NULL, t->dir, t->loop, err, sizeof(err));
	if (t->commit == NULL)
		fail_msg("commit_new: %s", err);
}

static void
test_many_threads(void **state)
{
	struct test_ctx *t = *state;
	struct timeval tv = { .tv_sec = 120 };
	pthread_t th[N_THREADS];
	struct event *timer;
	struct store *st;
	char err[256], name[64];

	start(t, true);
	t->loop_thread_id = pthread_self();
	for (int i = 0; i < N_JOBS; i++) {
		t->jobs[i].idx = i;
		t->jobs[i].fail = i % 7 == 3;
		t->jobs[i].t = t;
	}
	timer = evtimer_new(loop_base(t->loop), timeout_cb, t);
	evtimer_add(timer, &tv);
	for (int i = 0; i < N_THREADS; i++)
		pthread_create(&th[i], NULL, submitter,
			       &t->jobs[i * JOBS_PER_THREAD]);
	assert_int_equal(loop_run(t->loop), 0);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	event_free(timer);
	commit_free(&t->commit);
	assert_null(t->commit);

	assert_int_equal(t->done_total, N_JOBS);
	assert_false(t->wrong_thread);
	st = store_open(NULL, t->dir, err, sizeof(err));
	assert_non_null(st);
	for (int i = 0; i < N_JOBS; i++) {
		struct job_ctx *j = &t->jobs[i];

		assert_int_equal(j->done_calls, 1);
		assert_int_equal(atomic_load(&j->after_calls), 1);
		assert_int_equal(atomic_load(&j->applied), 1);
		assert_int_equal(j->result, j->fail ? -1 : 0);
		assert_int_equal(atomic_load(&j->after_ok), !j->fail);
		/* A failed job's write is undone, the others' are kept. */
		snprintf(name, sizeof(name), "d%d.example", i);
		assert_int_equal(store_domain_exists(st, name),
				 j->fail ? 0 : 1);
	}
	store_close(&st);
}

/* --- a job that kills the transaction fails its whole batch --- */

struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool open, entered;
};

static struct gate gate = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER, false, false };

static int
gate_apply(struct store *st, void *arg, const char **err_r)
{
	struct timespec until;
	bool opened;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_MAX_S;
	pthread_mutex_lock(&gate.mu);
	gate.entered = true;
	pthread_cond_broadcast(&gate.cv);
	while (!gate.open &&
	       pthread_cond_timedwait(&gate.cv, &gate.mu, &until) == 0)
		;
	opened = gate.open;
	pthread_mutex_unlock(&gate.mu);
	if (!opened) {
		*err_r = "gate never opened";
		return -1;
	}
	return 0;
}

/* Opens the gate, so a commit thread parked in gate_apply can finish
 * (also before failing a test: the teardown joins that thread). */
static void
gate_release(void)
{
	pthread_mutex_lock(&gate.mu);
	gate.open = true;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
}

/* Waits, bounded, until the commit thread is inside gate_apply. */
static void
gate_wait_entered(void)
{
	struct timespec until;
	bool entered;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_MAX_S;
	pthread_mutex_lock(&gate.mu);
	while (!gate.entered &&
	       pthread_cond_timedwait(&gate.cv, &gate.mu, &until) == 0)
		;
	entered = gate.entered;
	pthread_mutex_unlock(&gate.mu);
	if (!entered)
		fail_msg("the commit thread never ran the gate job (%d s)",
			 WAIT_MAX_S);
}

static int
killer_apply(struct store *st, void *arg, const char **err_r)
{
	store_rollback(st);
	*err_r = "rolled back the whole transaction";
	return -1;
}

static atomic_int results[8];
static atomic_int dones;

static void
record_done(void *arg, int result)
{
	atomic_store(&results[(intptr_t)arg], result + 10);
	atomic_fetch_add(&dones, 1);
}

static void
submit_slot(struct commit *c, commit_apply_fn fn, intptr_t slot)
{
	struct commit_job job = { .apply = fn, .done = record_done,
				  .arg = (void *)slot };

	commit_submit(c, &job);
}

static int
named_apply(struct store *st, void *arg, const char **err_r)
{
	char name[32];

	snprintf(name, sizeof(name), "slot%d.example", (int)(intptr_t)arg);
	return store_domain_add(st, name, err_r);
}

static void
test_lost_transaction_fails_batch(void **state)
{
	struct test_ctx *t = *state;
	struct store *st;
	char err[256];

	start(t, false); /* done runs on the commit thread */
	submit_slot(t->commit, gate_apply, 0);
	gate_wait_entered();
	/* The commit thread is busy: these three form the next batch. */
	submit_slot(t->commit, named_apply, 1);
	submit_slot(t->commit, killer_apply, 2);
	submit_slot(t->commit, named_apply, 3);
	gate_release();
	/* The next job comes after that batch, in a healthy transaction. */
	for (int ms = 0; atomic_load(&dones) < 4; ms++) {
		if (ms >= WAIT_MAX_S * 1000)
			fail_msg("only %d of 4 jobs done after %d s",
				 atomic_load(&dones), WAIT_MAX_S);
		usleep(1000);
	}
	submit_slot(t->commit, named_apply, 4);
	commit_free(&t->commit);

	assert_int_equal(atomic_load(&dones), 5);
	assert_int_equal(atomic_load(&results[0]), 10);
	assert_int_equal(atomic_load(&results[1]), 9);
	assert_int_equal(atomic_load(&results[2]), 9);
	assert_int_equal(atomic_load(&results[3]), 9);
	assert_int_equal(atomic_load(&results[4]), 10);
	st = store_open(NULL, t->dir, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_domain_exists(st, "slot1.example"), 0);
	assert_int_equal(store_domain_exists(st, "slot3.example"), 0);
	assert_int_equal(store_domain_exists(st, "slot4.example"), 1);
	store_close(&st);
}

/* --- commit_free runs what is queued --- */

static atomic_int drained;

static void
count_done(void *arg, int result)
{
	if (result == 0)
		atomic_fetch_add(&drained, 1);
}

static void
test_free_drains(void **state)
{
	struct test_ctx *t = *state;
	struct commit_job job = { .done = count_done };

	start(t, false);
	for (int i = 0; i < 500; i++)
		commit_submit(t->commit, &job);
	commit_free(&t->commit);
	assert_int_equal(atomic_load(&drained), 500);
}

/* --- a delivery: blob file, directory sync, rows --- */

struct delivery_job {
	struct store_delivery d;
	int64_t account;
	int result;
	bool after_ok;
};

static int
deliver_apply(struct store *st, void *arg, const char **err_r)
{
	struct delivery_job *dj = arg;

	return store_deliver(st, &dj->d, err_r);
}

static void
deliver_after(void *arg, bool ok)
{
	((struct delivery_job *)arg)->after_ok = ok;
}

static void
deliver_done(void *arg, int result)
{
	((struct delivery_job *)arg)->result = result + 10;
}

static void
test_delivery(void **state)
{
	struct test_ctx *t = *state;
	static const char body[] = "Subject: hi\r\n\r\nhello\r\n";
	struct delivery_job ok = { 0 }, bad = { 0 };
	struct commit_job job = { .apply = deliver_apply,
				  .after = deliver_after,
				  .done = deliver_done };
	struct store_mailbox_info info;
	struct store_account acct;
	struct store_msg *m = NULL;
	const char *e = NULL;
	struct store *st;
	char err[256], buf[64];
	size_t n;
	int fd;

	st = store_open(NULL, t->dir, err, sizeof(err));
	assert_int_equal(store_account_lookup(st, "u@example.org", &acct), 1);
	ok.account = bad.account = acct.id;
	assert_int_equal(blob_write(t->dir, "X: 1\r\n", 6, body,
				    sizeof(body) - 1, ok.d.blob, NULL), 0);
	ok.d.size = 6 + sizeof(body) - 1;
	ok.d.accounts = &ok.account;
	ok.d.n_accounts = 1;
	bad.d = ok.d;
	bad.d.accounts = &bad.account;
	snprintf(bad.d.blob, sizeof(bad.d.blob), "msg/nosuchdir/x");

	start(t, false);
	job.arg = &ok;
	snprintf(job.sync_blob, sizeof(job.sync_blob), "%s", ok.d.blob);
	commit_submit(t->commit, &job);
	/* Its directory cannot be synced: it fails, alone. */
	job.arg = &bad;
	snprintf(job.sync_blob, sizeof(job.sync_blob), "%s", bad.d.blob);
	commit_submit(t->commit, &job);
	commit_free(&t->commit);
	assert_int_equal(ok.result, 10);
	assert_true(ok.after_ok);
	assert_int_equal(bad.result, 9);
	assert_false(bad.after_ok);

	assert_int_equal(store_mailbox_info(st, acct.id, "INBOX", &info), 1);
	assert_int_equal(store_mailbox_messages(st, info.id, &m, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].blob, ok.d.blob);
	fd = blob_open(NULL, t->dir, m[0].blob);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), ok.d.size);
	assert_memory_equal(buf + 6, body, sizeof(body) - 1);
	close(fd);
	free(m);
	store_close(&st);
}

/* --- orphans: unlinked by the commit thread, only when committed --- */

struct orphan_job {
	const char *path; /* relative to the data dir */
	bool fail;
	char **orphans;
	bool cleared_before_after; /* *orphans was NULL when after ran */
};

static int
orphan_apply(struct store *st, void *arg, const char **err_r)
{
	struct orphan_job *o = arg;

	o->orphans = calloc(2, sizeof(*o->orphans));
	assert_non_null(o->orphans);
	o->orphans[0] = strdup(o->path);
	if (o->fail) {
		*err_r = "failed on purpose";
		return -1;
	}
	return 0;
}

static void
orphan_after(void *arg, bool ok)
{
	struct orphan_job *o = arg;

	o->cleared_before_after = o->orphans == NULL;
}

static void
test_orphans(void **state)
{
	struct test_ctx *t = *state;
	struct orphan_job o[2] = { { .path = "msg/x/kept", .fail = true },
				   { .path = "msg/x/gone" } };
	char path[160];

	snprintf(path, sizeof(path), "%s/msg", t->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/msg/x", t->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	for (int i = 0; i < 2; i++) {
		struct commit_job job = { .apply = orphan_apply,
					  .after = orphan_after,
					  .orphans = &o[i].orphans,
					  .arg = &o[i] };
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s", t->dir, o[i].path);
		fp = fopen(path, "w");
		assert_non_null(fp);
		fclose(fp);
		if (i == 0)
			start(t, false);
		commit_submit(t->commit, &job);
	}
	commit_free(&t->commit);
	for (int i = 0; i < 2; i++) {
		assert_null(o[i].orphans);
		assert_true(o[i].cleared_before_after);
		snprintf(path, sizeof(path), "%s/%s", t->dir, o[i].path);
		assert_int_equal(access(path, F_OK) == 0, o[i].fail);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_many_threads, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_lost_transaction_fails_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_drains, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphans, setup, teardown),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
