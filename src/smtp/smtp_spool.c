/*
 * The message file of a DATA/BDAT transaction, written while the message
 * arrives (docs/ARCHITECTURE.md, SMTP delivery), so a session holds a
 * bounded amount of the message whatever its size.
 *
 * The loop copies message bytes into the spool's fill buffer. A full buffer
 * (SMTP_SPOOL_FLUSH) is swapped with the idle one and handed to an io
 * worker, which writes it to the file (the first write creates the file,
 * blob_create). At most one job per spool is in flight, so the file is
 * written in order; while it runs the session fills the other buffer, and
 * when that is full as well the session stops reading (smtp_spool_full)
 * until the job completes and resumes it. The loop never touches the file
 * itself: creation, writes, fdatasync, the final metadata pass and the
 * removal of a discarded file all run on io workers (the loop never
 * waits, DESIGN.md).
 *
 * A spool that is given up (RSET, size limit, vanished client, failed
 * delivery) is detached from its session at once; the file, if any, is
 * closed and unlinked on a worker after the job in flight (if any) ends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/config.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../store/blob.h"
#include "../store/commit.h"
#include "smtp_int.h"

struct smtp_spool {
	struct smtp_session *s; /* NULL once detached (aborted or finished) */
	/* The server's pool, read at each submit: at shutdown workers_free()
	 * clears it while a write of an abandoned spool may still complete. */
	struct workers *const *io;
	const char *data_dir;   /* the server's; it outlives the io workers */
	int fd;                 /* -1 until the first write creates it */
	char path[BLOB_PATH_MAX];
	struct buf fill;        /* filled by the loop */
	struct buf out;         /* being written by a worker */
	bool busy;              /* a job is in flight */
	bool waiting;           /* the session stopped reading for us */
	bool abandoned;         /* remove the file once idle */
	bool finishing;         /* smtp_spool_finish was called */
	int err;                /* errno of the first failed write, or 0;
				 * written by the job in flight only */
	bool failed;            /* err != 0, as the loop last saw it */
	uint64_t size;          /* octets taken so far */
	smtp_spool_fn final_work;
	workers_fn final_done;
	void *final_arg;
};

struct smtp_spool *
smtp_spool_new(struct smtp_session *s)
{
	struct smtp_spool *sp = calloc(1, sizeof(*sp));

	if (sp == NULL)
		return NULL;
	sp->s = s;
	sp->io = &s->base.srv->io_workers;
	sp->data_dir = s->base.srv->cfg.data_dir;
	sp->fd = -1;
	/* One flush worth plus one read step (smtp_data.c feeds at most
	 * SMTP_DATA_STEP, doubled by bare-LF conversion) past the mark. */
	buf_init(&sp->fill, SMTP_SPOOL_FLUSH + 2 * SMTP_DATA_STEP + 4096);
	buf_init(&sp->out, SMTP_SPOOL_FLUSH + 2 * SMTP_DATA_STEP + 4096);
	return sp;
}

/* Worker: writes sp->out, creating the file first. No loop state. */
static void
spool_write_work(void *arg)
{
	struct smtp_spool *sp = arg;

	if (sp->err != 0)
		return;
	if (sp->fd < 0) {
		sp->fd = blob_create(sp->data_dir, sp->path, NULL);
		if (sp->fd < 0) {
			sp->err = errno ? errno : EIO;
			return;
		}
	}
	if (blob_write_all(sp->fd, sp->out.data, sp->out.len) < 0)
		sp->err = errno ? errno : EIO;
}

/* Worker: the spool's end when nobody keeps the file. */
static void
spool_remove_work(void *arg)
{
	struct smtp_spool *sp = arg;

	if (sp->fd >= 0)
		close(sp->fd);
	if (sp->path[0] != '\0')
		blob_unlink(sp->data_dir, sp->path);
	buf_fini(&sp->fill);
	buf_fini(&sp->out);
	free(sp);
}

static void spool_final_submit(struct smtp_spool *sp);
static void spool_write_done(void *arg);

/* Hands a step to an io worker. Once the pool is gone (shutdown: its
 * threads were joined and the loop runs the last completions, whose
 * spools then only close and unlink) the step runs here, at once. */
static void
spool_run(struct smtp_spool *sp, workers_fn work, workers_fn done)
{
	if (*sp->io != NULL) {
		workers_submit(*sp->io, work, done, sp);
		return;
	}
	work(sp);
	if (done != NULL)
		done(sp);
}

static void
spool_submit(struct smtp_spool *sp)
{
	struct buf t = sp->out;

	sp->out = sp->fill;
	sp->fill = t;
	buf_reset(&sp->fill);
	sp->busy = true;
	spool_run(sp, spool_write_work, spool_write_done);
}

/* Loop: a write ended. Start the next step, or wake the session. */
static void
spool_write_done(void *arg)
{
	struct smtp_spool *sp = arg;
	struct smtp_session *s = sp->s;

	sp->busy = false;
	sp->failed = sp->err != 0;
	buf_reset(&sp->out);
	if (sp->abandoned) {
		spool_run(sp, spool_remove_work, NULL);
		return;
	}
	if (sp->finishing) {
		spool_final_submit(sp);
		return;
	}
	if (sp->fill.len >= SMTP_SPOOL_FLUSH)
		spool_submit(sp);
	if (sp->waiting && s != NULL) {
		sp->waiting = false;
		smtp_session_resume(s);
	}
}

int
smtp_spool_write(struct smtp_spool *sp, const void *p, size_t n)
{
	if (sp->failed || buf_append(&sp->fill, p, n) < 0)
		return -1;
	sp->size += n;
	if (sp->fill.len >= SMTP_SPOOL_FLUSH && !sp->busy)
		spool_submit(sp);
	return 0;
}

bool
smtp_spool_full(struct smtp_spool *sp)
{
	if (sp->fill.len < SMTP_SPOOL_FLUSH || !sp->busy)
		return false;
	sp->waiting = true;
	return true;
}

uint64_t
smtp_spool_size(const struct smtp_spool *sp)
{
	return sp->size;
}

int
smtp_spool_error(const struct smtp_spool *sp)
{
	return sp->busy ? 0 : sp->err;
}

const char *
smtp_spool_path(const struct smtp_spool *sp)
{
	return sp->path;
}

void
smtp_spool_abort(struct smtp_spool **spp)
{
	struct smtp_spool *sp = *spp;

	if (sp == NULL)
		return;
	*spp = NULL;
	sp->s = NULL;
	sp->abandoned = true;
	sp->waiting = false;
	if (sp->busy)
		return; /* spool_write_done removes it */
	if (sp->fd < 0) {
		buf_fini(&sp->fill);
		buf_fini(&sp->out);
		free(sp);
		return;
	}
	spool_run(sp, spool_remove_work, NULL);
}

/* Worker: the last bytes, fdatasync, then the caller's pass over the
 * complete file (MIME metadata), then close. */
static void
spool_final_work(void *arg)
{
	struct smtp_spool *sp = arg;
	/* A message that fits one buffer is written by this job alone: it
	 * is all in memory, so the caller need not map the file. */
	bool whole = sp->fd < 0 && sp->out.len == sp->size;

	spool_write_work(sp);
	if (sp->err == 0 && sp->fd < 0)
		sp->err = EIO;
	while (sp->err == 0 && fdatasync(sp->fd) < 0)
		if (errno != EINTR)
			sp->err = errno ? errno : EIO;
	if (sp->err == 0 && sp->final_work != NULL)
		sp->final_work(sp->final_arg, sp->fd,
			       whole ? sp->out.data : NULL, (size_t)sp->size);
	if (sp->fd >= 0 && close(sp->fd) < 0 && sp->err == 0)
		sp->err = errno ? errno : EIO;
	sp->fd = -1;
}

static void
spool_final_done(void *arg)
{
	struct smtp_spool *sp = arg;

	sp->busy = false;
	buf_reset(&sp->out);
	sp->final_done(sp->final_arg);
}

static void
spool_final_submit(struct smtp_spool *sp)
{
	struct buf t = sp->out;

	sp->out = sp->fill;
	sp->fill = t;
	buf_reset(&sp->fill);
	/* The rest of the memory is not needed any more. */
	buf_fini(&sp->fill);
	sp->busy = true;
	spool_run(sp, spool_final_work, spool_final_done);
}

int
smtp_spool_finish_here(struct smtp_spool *sp, int *fd_r)
{
	*fd_r = -1;
	if (sp->busy || sp->fd >= 0 || sp->err != 0
	    || sp->fill.len != sp->size)
		return 0;
	/* A file the commit thread made ahead of time (creating one here
	 * could wait for the journal); none ready: an io worker's job. */
	sp->fd = commit_take_file(sp->s->base.srv->commit, sp->path);
	if (sp->fd < 0)
		return 0;
	sp->s = NULL;
	sp->waiting = false;
	sp->finishing = true;
	/* Copying a few KB into the page cache does not wait for the disk;
	 * the fdatasync would, and the commit thread does it for the whole
	 * batch. */
	if (blob_write_all(sp->fd, sp->fill.data, sp->fill.len) < 0) {
		sp->err = errno ? errno : EIO;
		sp->failed = true;
		if (sp->fd >= 0)
			close(sp->fd);
		sp->fd = -1;
		return -1;
	}
	*fd_r = sp->fd;
	sp->fd = -1;
	buf_fini(&sp->out);
	return 1;
}

const void *
smtp_spool_data(const struct smtp_spool *sp)
{
	return sp->fill.data;
}

void
smtp_spool_finish(struct smtp_spool *sp, smtp_spool_fn work, workers_fn done,
		  void *arg)
{
	sp->s = NULL;
	sp->waiting = false;
	sp->finishing = true;
	sp->final_work = work;
	sp->final_done = done;
	sp->final_arg = arg;
	if (!sp->busy)
		spool_final_submit(sp);
}

void
smtp_spool_free(struct smtp_spool **spp, bool keep_file)
{
	struct smtp_spool *sp = *spp;

	if (sp == NULL)
		return;
	*spp = NULL;
	if (!keep_file && sp->path[0] != '\0') {
		/* The file is closed; only the name is left to remove. */
		spool_run(sp, spool_remove_work, NULL);
		return;
	}
	buf_fini(&sp->fill);
	buf_fini(&sp->out);
	free(sp);
}
