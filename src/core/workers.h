/*
 * Thread pool for work that may block: password hashing, SQLite reads,
 * writing and fsyncing message files. The event loop never waits on these.
 */
#ifndef POSTEL_WORKERS_H
#define POSTEL_WORKERS_H

struct loop;
struct workers;

/* work(arg) runs on a worker thread; then done(arg) runs on the loop
 * thread (done may be NULL). */
typedef void (*workers_fn)(void *arg);

struct workers *workers_new(struct loop *loop, int nthreads);
void workers_submit(struct workers *w, workers_fn work, workers_fn done,
		    void *arg);
/* The same in the urgent lane, which idle threads serve first: short jobs
 * a client is waiting on in a protocol with timeouts of its own (an SMTP
 * RCPT lookup), never behind a queue of IMAP reads. A long job still
 * holds its thread, so long work is split (IMAP SEARCH runs in slices). */
void workers_submit_urgent(struct workers *w, workers_fn work,
			   workers_fn done, void *arg);
/* Like workers_submit, unless max_queued jobs are already waiting (not yet
 * running): then nothing is queued and -1 is returned, so a flood answers
 * "busy" at once instead of growing the queue. 0 when queued. */
int workers_try_submit(struct workers *w, unsigned max_queued,
		       workers_fn work, workers_fn done, void *arg);
/* Jobs waiting for a thread (not running), for /metrics. */
unsigned workers_queued(struct workers *w);
/* Finishes queued jobs, joins the threads. Posted "done" callbacks still
 * run on the loop if it keeps running. */
void workers_free(struct workers **wp);

#endif
