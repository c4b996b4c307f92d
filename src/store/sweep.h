/*
 * Orphan sweep: removes message files that no blob row references. They
 * are left by a crash between writing a file and committing its rows (the
 * message was never acknowledged), or between committing an expunge and
 * unlinking the file. Only files older than the server's start are
 * considered: `serve` holds the data dir's lock (one server per data dir),
 * so every file from before it is either committed or abandoned. The
 * thread also deletes the stored bodies (blob.h) an IMAP expunge kept in
 * blob_trash before the start, for readers that are gone with their
 * server.
 */
#ifndef POSTEL_SWEEP_H
#define POSTEL_SWEEP_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

struct store;

/* How much older than the start a file must be: a wall clock stepped
 * back while the server runs must not make a file of this run, written
 * but not yet committed, look like one from before. */
#define SWEEP_MARGIN_S 600

struct sweep_stats {
	size_t checked;  /* message files looked at */
	size_t removed;  /* orphans unlinked */
	size_t errors;   /* files that could not be checked or unlinked */
};

/* Walks DATA_DIR/msg/<day>/<file> once; files with mtime >= before are
 * left alone. *stop (may be NULL) is read between files: set it from
 * another thread to end early. 0, or -1 when the msg directory cannot be
 * read (stats count what was done). */
int sweep_orphans(struct store *st, const char *data_dir, time_t before,
		  atomic_int *stop, struct sweep_stats *r);

/* The same on a thread of its own with its own store handle, logged as
 * one event=sweep line; for `serve`. NULL when the thread cannot start
 * (nothing is swept then). sweep_thread_stop asks it to end and joins. */
struct sweep_thread;
struct sweep_thread *sweep_thread_start(const char *store_url,
					const char *data_dir, time_t before);
void sweep_thread_stop(struct sweep_thread **tp);

#endif
