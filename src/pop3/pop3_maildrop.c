/*
 * The POP3 maildrop: listing at login, RETR/TOP streaming and the UPDATE
 * state. Store queries and file reads run on workers; the session is busy
 * (input paused) and holds a reference while a job is out.
 */
#include "pop3_maildrop.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../store/blob.h"
#include "../store/store.h"
#include "../store/commit.h"
#include "../util/str.h"
#include "pop3_reply.h"
#include "pop3_session.h"

/* Bytes read from a message file per worker job. */
#define POP3_RETR_CHUNK (64 * 1024)
/* Read the next chunk only while at most this is waiting to be sent; the
 * conn reports on_drain when its output falls to this level. */
#define POP3_RETR_PENDING_MAX (LIMIT_OUTPUT_HIGH_WATER / 2)

struct pop3_retr {
	unsigned long n;           /* message number */
	char blob[BLOB_PATH_MAX];
	int64_t size;
	int fd;
	int err;                   /* errno of the worker's open/read */
	bool started;              /* "+OK" sent */
	bool eof;
	bool waiting;              /* for the output to drain */
	size_t nread;
	struct pop3_stuff st;
	uint8_t in[POP3_RETR_CHUNK];
	uint8_t out[POP3_STUFF_OUT_MAX(POP3_RETR_CHUNK) + POP3_STUFF_FINISH_MAX];
};

/* --- RFC 1939 §3 byte-stuffing --- */

void
pop3_stuff_init(struct pop3_stuff *st, bool top, unsigned long top_lines)
{
	memset(st, 0, sizeof(*st));
	st->top = top;
	st->top_lines = top_lines;
}

/* A line ended: TOP counts the header's end and then body lines. */
static void
pop3_stuff_line_end(struct pop3_stuff *st)
{
	if (st->top) {
		if (!st->in_body) {
			if (!st->line_has_text) {
				st->in_body = true;
				if (st->top_lines == 0)
					st->done = true;
			}
		} else if (++st->body_lines >= st->top_lines) {
			st->done = true;
		}
	}
	st->mid_line = false;
	st->prev_cr = false;
	st->line_has_text = false;
}

size_t
pop3_stuff_chunk(struct pop3_stuff *st, const uint8_t *in, size_t len,
		 uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len && !st->done; i++) {
		uint8_t c = in[i];

		if (c == '\n') {
			/* Stored lines end in CRLF; a bare LF is made one
			 * so the client sees proper POP3 lines. */
			if (!st->prev_cr)
				out[o++] = '\r';
			out[o++] = '\n';
			pop3_stuff_line_end(st);
			continue;
		}
		/* RFC 1939 §3: a line starting with "." gets another. */
		if (!st->mid_line && c == '.')
			out[o++] = '.';
		out[o++] = c;
		st->mid_line = true;
		st->prev_cr = c == '\r';
		if (c != '\r')
			st->line_has_text = true;
	}
	return o;
}

size_t
pop3_stuff_finish(struct pop3_stuff *st, uint8_t *out)
{
	size_t o = 0;

	if (st->mid_line) {
		if (!st->prev_cr)
			out[o++] = '\r';
		out[o++] = '\n';
		st->mid_line = false;
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

/* --- the listing --- */

void
pop3_maildrop_fini(struct pop3_session *s)
{
	free(s->drop.msgs);
	free(s->drop.deleted);
	free(s->drop.del_ids);
	store_strv_free(s->drop.orphans);
	memset(&s->drop, 0, sizeof(s->drop));
}

const struct store_msg *
pop3_maildrop_get(struct pop3_session *s, unsigned long n)
{
	if (n == 0 || n > s->drop.n) {
		pop3_reply_err(s, NULL, POP3_TXT_NO_MSG);
		return NULL;
	}
	if (s->drop.deleted[n - 1]) {
		pop3_reply_err(s, NULL, "message %lu already deleted", n);
		return NULL;
	}
	return &s->drop.msgs[n - 1];
}

void
pop3_maildrop_stat(const struct pop3_session *s, size_t *count_r,
		   int64_t *octets_r)
{
	*count_r = 0;
	*octets_r = 0;
	for (size_t i = 0; i < s->drop.n; i++) {
		if (s->drop.deleted[i])
			continue;
		(*count_r)++;
		*octets_r += s->drop.msgs[i].size;
	}
}

/* Worker: the account's INBOX. */
static void
pop3_maildrop_info_work(void *arg)
{
	struct pop3_session *s = arg;
	struct store *st = store_thread_handle(&s->base.srv->cfg);

	s->job_result = -1;
	if (st != NULL)
		s->job_result = store_mailbox_info(st, s->account_id, "INBOX",
						   &s->job_info);
}

/* Worker: the listing, taken after the lock so that a session which just
 * expunged (and then unlocked) is fully reflected. */
static void
pop3_maildrop_list_work(void *arg)
{
	struct pop3_session *s = arg;
	struct store *st = store_thread_handle(&s->base.srv->cfg);
	const char *err = NULL;

	s->job_result = -1;
	if (st == NULL)
		return;
	s->job_result = store_mailbox_messages(st, s->drop.mailbox_id,
					       &s->drop.msgs, &s->drop.n, &err);
	if (s->job_result < 0)
		log_error(s->base.id, "maildrop", " error=%s",
			  log_qs(err != NULL ? err : "unknown"));
}

/* A login that cannot open its maildrop stays in AUTHORIZATION. */
static void
pop3_maildrop_open_fail(struct pop3_session *s, const char *code,
			const char *text)
{
	if (s->locked) {
		server_mailbox_unlock(s->base.srv, s->drop.mailbox_id);
		s->locked = false;
	}
	pop3_maildrop_fini(s);
	pop3_reply_err(s, code, "%s", text);
	s->address[0] = '\0';
	s->account_id = 0;
	pop3_session_unbusy(s);
	session_unref(&s->base);
}

static void
pop3_maildrop_list_done(void *arg)
{
	struct pop3_session *s = arg;
	size_t count;
	int64_t octets;

	if (s->base.conn == NULL) {
		session_unref(&s->base);
		return;
	}
	if (s->job_result < 0) {
		pop3_maildrop_open_fail(s, POP3_CODE_SYS_TEMP, POP3_TXT_TEMP);
		return;
	}
	s->drop.deleted = calloc(s->drop.n > 0 ? s->drop.n : 1, sizeof(bool));
	if (s->drop.deleted == NULL) {
		pop3_maildrop_open_fail(s, POP3_CODE_SYS_TEMP, POP3_TXT_TEMP);
		return;
	}
	s->state = POP3_STATE_TRANSACTION;
	session_set_user(&s->base, s->account_id, s->address);
	pop3_maildrop_stat(s, &count, &octets);
	log_info(s->base.id, "maildrop", " user=%s msgs=%zu octets=%" PRId64,
		 log_qs(s->address), count, octets);
	pop3_reply_ok(s, "Logged in, %zu messages (%" PRId64 " octets)", count,
		      octets);
	pop3_session_unbusy(s);
	session_unref(&s->base);
}

static void
pop3_maildrop_info_done(void *arg)
{
	struct pop3_session *s = arg;

	if (s->base.conn == NULL) {
		session_unref(&s->base);
		return;
	}
	if (s->job_result != 1) {
		log_error(s->base.id, "maildrop", " user=%s error=%s",
			  log_qs(s->address),
			  s->job_result == 0 ? "no_inbox" : "store");
		pop3_maildrop_open_fail(s, s->job_result == 0
					       ? POP3_CODE_SYS_PERM
					       : POP3_CODE_SYS_TEMP,
					s->job_result == 0 ? "No INBOX"
							   : POP3_TXT_TEMP);
		return;
	}
	/* RFC 1939 §8 / RFC 2449 §8.1.2 [IN-USE]: one session per maildrop. */
	if (!server_mailbox_lock(s->base.srv, s->job_info.id)) {
		log_info(s->base.id, "login_inuse", " user=%s",
			 log_qs(s->address));
		pop3_maildrop_open_fail(s, POP3_CODE_IN_USE, POP3_TXT_IN_USE);
		return;
	}
	s->locked = true;
	s->drop.mailbox_id = s->job_info.id;
	s->drop.uidvalidity = s->job_info.uidvalidity;
	/* The reference taken in pop3_maildrop_open() carries over. */
	workers_submit(s->base.srv->workers, pop3_maildrop_list_work,
		       pop3_maildrop_list_done, s);
}

void
pop3_maildrop_open(struct pop3_session *s)
{
	pop3_session_busy(s);
	session_ref(&s->base);
	workers_submit(s->base.srv->workers, pop3_maildrop_info_work,
		       pop3_maildrop_info_done, s);
}

/* --- RETR and TOP (RFC 1939 §7), streamed in chunks --- */

void
pop3_maildrop_retr_free(struct pop3_session *s)
{
	struct pop3_retr *r = s->retr;

	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	s->retr = NULL;
}

/* Worker: opens the file on the first call, then reads the next chunk. */
static void
pop3_retr_work(void *arg)
{
	struct pop3_session *s = arg;
	struct pop3_retr *r = s->retr;
	ssize_t n;

	if (r->fd < 0) {
		r->fd = blob_open(store_thread_handle(&s->base.srv->cfg),
				  s->base.srv->cfg.data_dir, r->blob);
		if (r->fd < 0) {
			r->err = errno != 0 ? errno : EIO;
			return;
		}
	}
	do
		n = read(r->fd, r->in, sizeof(r->in));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->err = errno;
		return;
	}
	r->nread = (size_t)n;
	r->eof = n == 0;
}

static void pop3_retr_done(void *arg);

/* Reads on while the client keeps up; otherwise waits for the conn's
 * on_drain (pop3_maildrop_retr_drain), so a large message never sits in
 * memory whole. */
static void
pop3_retr_next(struct pop3_session *s)
{
	s->retr->waiting = false;
	if (conn_output_pending(s->base.conn) <= POP3_RETR_PENDING_MAX) {
		session_ref(&s->base);
		workers_submit(s->base.srv->workers, pop3_retr_work,
			       pop3_retr_done, s);
		return;
	}
	s->retr->waiting = true;
}

void
pop3_maildrop_retr_drain(struct pop3_session *s)
{
	if (s->base.conn != NULL && s->retr != NULL && s->retr->waiting)
		pop3_retr_next(s);
}

static void
pop3_retr_failed(struct pop3_session *s)
{
	struct pop3_retr *r = s->retr;

	log_error(s->base.id, "retr", " n=%lu blob=%s error=%s", r->n,
		  log_qs(r->blob), log_qs(strerror(r->err)));
	if (!r->started) {
		pop3_maildrop_retr_free(s);
		pop3_reply_err(s, POP3_CODE_SYS_TEMP, "Cannot read message");
		pop3_session_unbusy(s);
		return;
	}
	/* Half a message is on the wire: the only honest end is a close. */
	pop3_maildrop_retr_free(s);
	session_close(&s->base, "retr_error");
}

static void
pop3_retr_done(void *arg)
{
	struct pop3_session *s = arg;
	struct pop3_retr *r = s->retr;
	size_t o;

	if (s->base.conn == NULL) {
		session_unref(&s->base);
		return;
	}
	if (r->err != 0) {
		pop3_retr_failed(s);
		session_unref(&s->base);
		return;
	}
	if (!r->started) {
		r->started = true;
		if (r->st.top)
			pop3_reply_ok(s, "Top of message follows");
		else
			pop3_reply_ok(s, "%" PRId64 " octets", r->size);
	}
	o = pop3_stuff_chunk(&r->st, r->in, r->nread, r->out);
	if (r->eof || r->st.done) {
		o += pop3_stuff_finish(&r->st, r->out + o);
		pop3_reply_raw(s, r->out, o);
		log_info(s->base.id, r->st.top ? "top" : "retr",
			 " n=%lu size=%" PRId64, r->n, r->size);
		pop3_maildrop_retr_free(s);
		pop3_session_unbusy(s);
	} else {
		pop3_reply_raw(s, r->out, o);
		pop3_retr_next(s);
	}
	session_unref(&s->base);
}

void
pop3_maildrop_retr(struct pop3_session *s, unsigned long n, bool top,
		   unsigned long lines)
{
	const struct store_msg *m = pop3_maildrop_get(s, n);
	struct pop3_retr *r;

	if (m == NULL)
		return;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		pop3_reply_err(s, POP3_CODE_SYS_TEMP, POP3_TXT_TEMP);
		return;
	}
	r->n = n;
	r->fd = -1;
	r->size = m->size;
	str_lcpy(r->blob, m->blob, sizeof(r->blob));
	pop3_stuff_init(&r->st, top, lines);
	s->retr = r;
	pop3_session_busy(s);
	session_ref(&s->base);
	workers_submit(s->base.srv->workers, pop3_retr_work, pop3_retr_done, s);
}

/* --- UPDATE (RFC 1939 §6): the deletions, durably, through the group
 * commit --- */

/* Commit thread, inside the transaction. */
static int
pop3_update_apply(struct store *st, void *arg, const char **err_r)
{
	struct pop3_session *s = arg;

	/* A retried batch runs apply again: keep only the last list. */
	store_strv_free(s->drop.orphans);
	s->drop.orphans = NULL;
	return store_messages_expunge(st, s->drop.mailbox_id, s->drop.del_ids,
				      s->drop.n_del, &s->drop.orphans, err_r);
}

static void
pop3_update_done(void *arg, int result)
{
	struct pop3_session *s = arg;

	if (s->in_session_count) {
		server_busy_end(s->base.srv);
		s->in_session_count = false;
	}
	/* Let the next session in at once, even if our client is slow to
	 * read the last reply. */
	if (s->locked) {
		server_mailbox_unlock(s->base.srv, s->drop.mailbox_id);
		s->locked = false;
	}
	if (result == 0) {
		/* IMAP sessions on this INBOX announce the expunges (RFC
		 * 9051 §7.4.1 EXPUNGE / RFC 7162 VANISHED). */
		if (s->drop.n_del > 0)
			server_notify_account(s->base.srv, s->account_id);
		log_info(s->base.id, "quit", " user=%s deleted=%zu",
			 log_qs(s->address), s->drop.n_del);
		pop3_reply_ok(s, "%s (%zu messages deleted)", POP3_TXT_BYE,
			      s->drop.n_del);
	} else {
		log_error(s->base.id, "quit", " user=%s deleted=0 error=commit",
			  log_qs(s->address));
		pop3_reply_err(s, POP3_CODE_SYS_TEMP,
			       "Could not delete messages, none were deleted");
	}
	session_close(&s->base, "quit");
	session_unref(&s->base);
}

void
pop3_maildrop_update(struct pop3_session *s)
{
	struct commit_job job;
	size_t n_del = 0;

	for (size_t i = 0; i < s->drop.n; i++)
		n_del += s->drop.deleted[i] ? 1 : 0;
	if (n_del == 0) {
		log_info(s->base.id, "quit", " user=%s deleted=0",
			 log_qs(s->address));
		pop3_reply_ok(s, POP3_TXT_BYE);
		session_close(&s->base, "quit");
		return;
	}
	s->drop.del_ids = calloc(n_del, sizeof(int64_t));
	if (s->drop.del_ids == NULL) {
		pop3_reply_err(s, POP3_CODE_SYS_TEMP, POP3_TXT_TEMP);
		session_close(&s->base, "quit");
		return;
	}
	for (size_t i = 0; i < s->drop.n; i++)
		if (s->drop.deleted[i])
			s->drop.del_ids[s->drop.n_del++] = s->drop.msgs[i].id;
	memset(&job, 0, sizeof(job));
	job.apply = pop3_update_apply;
	/* The files of messages no mailbox references any more go only once
	 * the rows are durably gone: the commit thread unlinks them. */
	job.orphans = &s->drop.orphans;
	job.done = pop3_update_done;
	job.arg = s;
	/* The session stays busy until it closes; the SIGTERM drain waits
	 * for this durable write. */
	pop3_session_busy(s);
	session_ref(&s->base);
	server_busy_begin(s->base.srv);
	s->in_session_count = true;
	commit_submit(s->base.srv->commit, &job);
}
