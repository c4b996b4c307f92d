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
 * waits, DESIGN.md). A message that ends before its first buffer is
 * full (most mail) never has a file: smtp_spool_finish_here names it as
 * a stored body and the commit puts its octets into the database with
 * its rows (blob.h).
 *
 * A spool that is given up (RSET, size limit, vanished client, failed
 * delivery) is detached from its session at once; the file, if any, is
 * closed and unlinked on a worker after the job in flight (if any) ends.
 *
 * End-of-data header fields (smtp_spool_edit): results only known once
 * the message is complete (Authentication-Results) are inserted after
 * our Received field, and incoming fields that must go (forged results)
 * are cut. A message still all in memory (the common small one) is
 * edited in its buffer: no cost beyond a memmove.
 * A larger one, whose head is already in the file, is copied once into
 * a new file on the io worker (copy_file_range, in the kernel) before
 * the fdatasync, so the file that is synced and committed is the edited
 * one and the durability promise is unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/types.h>
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
	/* The end-of-data edit (smtp_spool_edit); edit_done once it is
	 * applied to the buffer. */
	bool edit, edit_done;
	uint64_t edit_at;
	struct buf edit_ins;
	size_t n_cuts;
	uint64_t cuts[SMTP_SPOOL_CUTS_MAX][2];
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
	buf_init(&sp->edit_ins, SMTP_SPOOL_EDIT_MAX);
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
	buf_fini(&sp->edit_ins);
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
		buf_fini(&sp->edit_ins);
		free(sp);
		return;
	}
	spool_run(sp, spool_remove_work, NULL);
}

int
smtp_spool_edit(struct smtp_spool *sp, uint64_t at, const void *ins,
		size_t ins_len, const uint64_t (*cuts)[2], size_t n_cuts)
{
	uint64_t end = at;

	if (n_cuts > SMTP_SPOOL_CUTS_MAX || ins_len > SMTP_SPOOL_EDIT_MAX ||
	    at > sp->size)
		return -1;
	for (size_t i = 0; i < n_cuts; i++) {
		if (cuts[i][0] < end || cuts[i][0] > sp->size ||
		    cuts[i][1] > sp->size - cuts[i][0])
			return -1; /* not sorted, overlapping or outside */
		end = cuts[i][0] + cuts[i][1];
		sp->cuts[i][0] = cuts[i][0];
		sp->cuts[i][1] = cuts[i][1];
	}
	buf_reset(&sp->edit_ins);
	if (buf_append(&sp->edit_ins, ins, ins_len) < 0)
		return -1;
	sp->n_cuts = n_cuts;
	sp->edit_at = at;
	sp->edit = ins_len > 0 || n_cuts > 0;
	return 0;
}

/* Loop or worker, the whole message in sp->fill: the edit in place.
 * The buffer has SMTP_SPOOL_EDIT_MAX of room past a message that was
 * never flushed (smtp_spool_new). */
static void
spool_edit_memory(struct smtp_spool *sp)
{
	struct buf *b = &sp->fill;
	size_t ins = sp->edit_ins.len, at = (size_t)sp->edit_at;

	if (!sp->edit || sp->edit_done)
		return;
	sp->edit_done = true;
	for (size_t i = sp->n_cuts; i-- > 0;) {
		size_t off = (size_t)sp->cuts[i][0], n = (size_t)sp->cuts[i][1];

		memmove(b->data + off, b->data + off + n, b->len - off - n);
		b->len -= n;
	}
	if (ins > 0 && buf_reserve(b, ins) == 0) {
		memmove(b->data + at + ins, b->data + at, b->len - at);
		memcpy(b->data + at, sp->edit_ins.data, ins);
		b->len += ins;
	}
	sp->size = b->len;
}

/* Copies n octets of in from *off to out (in the kernel when it can). */
static int
spool_copy(int in, uint64_t *off, int out, uint64_t n)
{
	while (n > 0) {
		loff_t o = (loff_t)*off;
		ssize_t k = copy_file_range(in, &o, out, NULL, (size_t)n, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			/* No kernel copy here (EXDEV, ENOSYS...): by hand. */
			char tmp[65536];
			size_t want = n < sizeof(tmp) ? (size_t)n : sizeof(tmp);
			ssize_t r = pread(in, tmp, want, (off_t)*off);

			if (r <= 0 || blob_write_all(out, tmp, (size_t)r) < 0)
				return -1;
			k = r;
		}
		*off += (uint64_t)k;
		n -= (uint64_t)k;
	}
	return 0;
}

/* Worker: a message whose head is in the file already: a new file with
 * the edit, which replaces the old one (not synced: nobody keeps it). */
static void
spool_edit_file(struct smtp_spool *sp)
{
	char npath[BLOB_PATH_MAX];
	int nfd = blob_create(sp->data_dir, npath, NULL);
	uint64_t off = 0, size = 0;
	int rc;

	if (nfd < 0) {
		sp->err = errno ? errno : EIO;
		return;
	}
	rc = spool_copy(sp->fd, &off, nfd, sp->edit_at);
	if (rc == 0)
		rc = blob_write_all(nfd, sp->edit_ins.data, sp->edit_ins.len);
	for (size_t i = 0; rc == 0 && i < sp->n_cuts; i++) {
		rc = spool_copy(sp->fd, &off, nfd, sp->cuts[i][0] - off);
		off += sp->cuts[i][1];
		size += sp->cuts[i][1];
	}
	if (rc == 0)
		rc = spool_copy(sp->fd, &off, nfd, sp->size - off);
	if (rc < 0) {
		sp->err = errno ? errno : EIO;
		close(nfd);
		blob_unlink(sp->data_dir, npath);
		return;
	}
	close(sp->fd);
	blob_unlink(sp->data_dir, sp->path);
	sp->fd = nfd;
	memcpy(sp->path, npath, sizeof(sp->path));
	sp->size = sp->size - size + sp->edit_ins.len;
	sp->edit_done = true;
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
	if (sp->err == 0 && sp->edit && !sp->edit_done)
		spool_edit_file(sp);
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
smtp_spool_finish_here(struct smtp_spool *sp)
{
	if (sp->busy || sp->fd >= 0 || sp->err != 0
	    || sp->fill.len != sp->size)
		return 0;
	sp->s = NULL;
	sp->waiting = false;
	sp->finishing = true;
	spool_edit_memory(sp);
	blob_stored_path(sp->path);
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
	/* Nothing handed to a worker yet: all of it is in the buffer. */
	if (!sp->busy && sp->fd < 0 && sp->fill.len == sp->size)
		spool_edit_memory(sp);
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
	buf_fini(&sp->edit_ins);
	free(sp);
}
