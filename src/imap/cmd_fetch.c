/*
 * FETCH and UID FETCH (RFC 9051 §6.4.5) with BINARY (RFC 3516) and
 * CONDSTORE/QRESYNC modifiers (RFC 7162 CHANGEDSINCE, VANISHED).
 *
 * Non-PEEK body items set \Seen first, through the group commit (§6.4.5:
 * the flag is set as a side effect). Then the messages are read on a
 * worker in batches: each batch formats the responses into a buffer that
 * the loop writes, so a large FETCH never blocks the loop nor holds every
 * message in memory at once.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "../store/blob.h"
#include "../util/str.h"
#include "imap_fetch_body.h"
#include "imap_int.h"
#include "imap_msgfile.h"
#include "imap_preview.h"

/* Output per batch before handing it to the loop. */
#define IMAP_FETCH_BATCH (1024 * 1024)

struct imap_fetch_msg {
	uint32_t seq, uid, flags;
	char *keywords;
	uint64_t modseq;
	int64_t size, internaldate, savedate, blob_id;
	char blob[64];
	bool flags_changed;   /* \Seen was just set: include FLAGS */
	bool gone;            /* expunged by another session meanwhile */
};

/* Messages whose store rows are read at once (size, date, file). */
#define IMAP_FETCH_ROWS 256

struct imap_fetch_job {
	struct imap_job job;
	struct imap_fetch f;
	bool uid, modseq, need_data, need_meta, need_row;
	struct imap_fetch_msg *msgs;
	size_t n, next;
	size_t rows_end;      /* msgs[next..rows_end) have their rows */
	int64_t mailbox_id;
	unsigned gen;
	uint32_t *seen_uids;
	size_t n_seen;
	struct store_flag_change *changes;
	size_t n_changes;
	uint32_t *vanished;   /* VANISHED (EARLIER) of the modifier */
	size_t n_vanished;
	char data_dir[4096];
	struct buf out, tmp;
	bool unknown_cte, failed, expunged;
	/* NOTIFY MessageNew (imap_fetch_notify): f is borrowed, no tagged
	 * reply; then(s) instead. */
	void (*then)(struct imap_session *s);
};

bool
imap_fetch_sets_seen(const struct imap_fetch_item *it)
{
	return ((it->kind == IMAP_FETCH_SECTION ||
		 it->kind == IMAP_FETCH_BINARY) && !it->peek) ||
	       it->kind == IMAP_FETCH_RFC822 ||
	       it->kind == IMAP_FETCH_RFC822_TEXT;
}

/* 0, or -1 when the batch buffer is full: the caller then takes the
 * whole response back, never a literal header without its bytes. A
 * literal may not carry NUL (RFC 9051 §4.3 CHAR8), and the grammar allows
 * a literal8 only for BINARY[] (msg-att-static: "BODY" section SP
 * nstring). So content with NUL (a binary APPEND, RFC 3516) goes as stored
 * in a "~{n}" literal8 for BINARY[], and for BODY[]/RFC822 in a plain
 * literal of the same size with each NUL shown as 0x80, as Dovecot does:
 * offsets and sizes stay true, and a strict parser keeps its place. */
static int
imap_fetch_literal(struct buf *out, const char *p, size_t n, bool binary)
{
	bool nul = memchr(p, '\0', n) != NULL;
	size_t at;

	if (buf_printf(out, "%s{%zu}\r\n", nul && binary ? "~" : "", n) < 0)
		return -1;
	at = out->len;
	if (buf_append(out, p, n) < 0)
		return -1;
	if (nul && !binary)
		for (size_t i = at; i < out->len; i++)
			if (out->data[i] == '\0')
				out->data[i] = 0x80;
	return 0;
}

/* One item of one message; -1 when the message cannot be read. */
static int
imap_fetch_item(struct imap_fetch_job *x, const struct imap_fetch_item *it,
		const struct imap_fetch_msg *m, const char *data, size_t len,
		const struct store_meta *meta)
{
	struct buf *out = &x->out;
	const char *p = NULL;
	size_t n = 0;
	bool missing = false, cte = false;
	char date[32];

	switch (it->kind) {
	case IMAP_FETCH_FLAGS:
		buf_printf(out, "FLAGS ");
		return imap_buf_flags(out, m->flags, m->keywords);
	case IMAP_FETCH_INTERNALDATE:
		imap_format_datetime(m->internaldate, date);
		return buf_printf(out, "INTERNALDATE \"%s\"", date);
	case IMAP_FETCH_SAVEDATE: /* RFC 8514 §3: every mailbox keeps it */
		imap_format_datetime(m->savedate, date);
		return buf_printf(out, "SAVEDATE \"%s\"", date);
	case IMAP_FETCH_RFC822_SIZE:
		return buf_printf(out, "RFC822.SIZE %" PRId64, m->size);
	/* RFC 8474 §5.1: the message file's row, never reused (an
	 * AUTOINCREMENT key) and shared by the copies of one message, so
	 * COPY and MOVE keep it. Threads are not kept: THREADID NIL. */
	case IMAP_FETCH_EMAILID:
		return buf_printf(out, "EMAILID (M%" PRId64 ")", m->blob_id);
	case IMAP_FETCH_THREADID:
		return buf_printf(out, "THREADID NIL");
	case IMAP_FETCH_PREVIEW: /* RFC 8970 §3.2 */
		buf_reset(&x->tmp);
		if (imap_preview(data, len, &x->tmp) < 0)
			return -1;
		buf_printf(out, "PREVIEW ");
		return imap_buf_string(out, x->tmp.data != NULL
					    ? (const char *)x->tmp.data : "",
				       x->tmp.len);
	case IMAP_FETCH_ENVELOPE:
		return buf_printf(out, "ENVELOPE %s", meta->envelope);
	case IMAP_FETCH_BODY:
		return buf_printf(out, "BODY %s", meta->body);
	case IMAP_FETCH_BODYSTRUCTURE:
		return buf_printf(out, "BODYSTRUCTURE %s", meta->bodystructure);
	case IMAP_FETCH_UID:
		return buf_printf(out, "UID %" PRIu32, m->uid);
	case IMAP_FETCH_MODSEQ:
		return buf_printf(out, "MODSEQ (%" PRIu64 ")", m->modseq);
	case IMAP_FETCH_BINARY:
	case IMAP_FETCH_BINARY_SIZE:
		if (imap_fetch_binary(it, data, len, meta, &x->tmp, &p, &n,
				      &cte) < 0) {
			x->unknown_cte |= cte;
			return -1;
		}
		if (it->kind == IMAP_FETCH_BINARY_SIZE)
			return buf_printf(out, "%s %zu", it->reply_name, n);
		imap_fetch_partial(it, &p, &n);
		buf_printf(out, "%s ", it->reply_name);
		return imap_fetch_literal(out, p, n, true);
	default: /* sections and RFC822* */
		if (imap_fetch_section(it, data, len, meta, &x->tmp, &p, &n,
				       &missing) < 0)
			return -1;
		imap_fetch_partial(it, &p, &n);
		buf_printf(out, "%s ", it->reply_name);
		return imap_fetch_literal(out, p, n, false);
	}
}

static int
imap_fetch_one(struct imap_fetch_job *x, struct store *st,
	       const struct imap_fetch_msg *m)
{
	char *data = NULL;
	size_t len = 0, mark = x->out.len;
	struct store_meta meta;
	bool flags_done = false, uid_done = false, modseq_done = false;
	int rc = -1;

	memset(&meta, 0, sizeof(meta));
	if (x->need_data &&
	    blob_read(st, x->data_dir, m->blob, m->size, &data, &len) < 0)
		goto out;
	/* ENVELOPE, BODY, BODYSTRUCTURE come from the stored metadata; the
	 * file is read only to compute what is missing (delivered before
	 * metadata was kept). */
	if (x->need_meta && !x->need_data) {
		int r = store_meta_get(st, m->blob_id, &meta);

		if (r < 0)
			goto out;
		if (r == 0 && blob_read(st, x->data_dir, m->blob, m->size,
					       &data, &len) < 0)
			goto out;
	}
	if (x->need_meta && meta.envelope == NULL &&
	    imap_meta_load(st, m->blob_id, data, len, &meta) < 0)
		goto out;
	buf_printf(&x->out, "* %" PRIu32 " FETCH (", m->seq);
	for (size_t i = 0; i < x->f.n; i++) {
		const struct imap_fetch_item *it = &x->f.items[i];

		flags_done |= it->kind == IMAP_FETCH_FLAGS;
		uid_done |= it->kind == IMAP_FETCH_UID;
		modseq_done |= it->kind == IMAP_FETCH_MODSEQ;
		if (i > 0)
			buf_append(&x->out, " ", 1);
		if (imap_fetch_item(x, it, m, data, len, &meta) < 0)
			goto out;
	}
	/* RFC 9051 §6.4.9: UID FETCH always includes UID; a flag set as a
	 * side effect is reported; RFC 7162 §3.1.4.1 MODSEQ with it. */
	if (x->uid && !uid_done)
		buf_printf(&x->out, " UID %" PRIu32, m->uid);
	if (m->flags_changed && !flags_done) {
		buf_printf(&x->out, " FLAGS ");
		imap_buf_flags(&x->out, m->flags, m->keywords);
		flags_done = true;
	}
	if (x->modseq && !modseq_done)
		buf_printf(&x->out, " MODSEQ (%" PRIu64 ")", m->modseq);
	rc = buf_append(&x->out, ")\r\n", 3);
out:
	if (rc < 0)
		x->out.len = mark;
	store_meta_free(&meta);
	free(data);
	return rc;
}

static int
imap_fetch_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int
imap_fetch_row_cmp(const void *key, const void *row)
{
	uint32_t uid = *(const uint32_t *)key;
	uint32_t other = ((const struct store_imsg *)row)->uid;

	return (uid > other) - (uid < other);
}

/* Reads size, date and file of the next IMAP_FETCH_ROWS messages from the
 * store (the selected view keeps only UID, flags and modseq). A message
 * no longer in the store is marked gone. */
static int
imap_fetch_rows(struct imap_fetch_job *x, struct store *st)
{
	uint32_t uids[IMAP_FETCH_ROWS];
	struct store_imsg *rows = NULL;
	size_t n = 0, n_rows = 0, end = x->next;
	const char *err = NULL;

	while (end < x->n && n < IMAP_FETCH_ROWS)
		uids[n++] = x->msgs[end++].uid;
	/* "$" keeps SEARCH's order; the store wants ascending UIDs. */
	qsort(uids, n, sizeof(uids[0]), imap_fetch_uid_cmp);
	if (store_mailbox_imsgs_uids(st, x->mailbox_id, uids, n, &rows,
				     &n_rows, &err) < 0)
		return -1;
	for (size_t i = x->next; i < end; i++) {
		struct imap_fetch_msg *m = &x->msgs[i];
		const struct store_imsg *r = n_rows == 0 ? NULL :
			bsearch(&m->uid, rows, n_rows, sizeof(*rows),
				imap_fetch_row_cmp);
		struct imap_keep_row kept;

		/* Expunged by another session, which this one has not been
		 * told yet: served from what was kept (imap_keep.c). */
		m->gone = r == NULL && !imap_keep_lookup(x->mailbox_id, m->uid,
							 &kept);
		if (r == NULL && !m->gone) {
			m->size = kept.size;
			m->internaldate = kept.internaldate;
			m->blob_id = kept.blob_id;
			str_lcpy(m->blob, kept.blob, sizeof(m->blob));
			continue;
		}
		if (r == NULL)
			continue;
		m->size = r->size;
		m->internaldate = r->internaldate;
		m->savedate = r->savedate;
		m->blob_id = r->blob_id;
		str_lcpy(m->blob, r->blob, sizeof(m->blob));
	}
	store_imsgs_free(rows, n_rows);
	x->rows_end = end;
	return 0;
}

static int
imap_fetch_work(struct imap_job *j, struct store *st)
{
	struct imap_fetch_job *x = (struct imap_fetch_job *)j;
	const char *err = NULL;

	if (x->next == 0 && x->f.vanished && x->f.changedsince_set &&
	    x->vanished == NULL &&
	    store_vanished_since(st, x->mailbox_id, x->f.changedsince,
				 &x->vanished, &x->n_vanished, &err) < 0)
		return -1;
	while (x->next < x->n && x->out.len < IMAP_FETCH_BATCH) {
		if (x->need_row && x->next == x->rows_end &&
		    imap_fetch_rows(x, st) < 0)
			return -1;
		if (x->need_row && x->msgs[x->next].gone) {
			/* RFC 5530 EXPUNGEISSUED: the client learns of the
			 * expunge at its next command that allows it. */
			x->expunged = true;
		} else if (imap_fetch_one(x, st, &x->msgs[x->next]) < 0) {
			log_warn(NULL, "fetch", " uid=%" PRIu32 " blob=%s",
				 x->msgs[x->next].uid,
				 log_qs(x->msgs[x->next].blob));
			x->failed = true;
		}
		x->next++;
	}
	return 0;
}

static void
imap_fetch_vanished(struct imap_fetch_job *x)
{
	struct buf b;

	buf_init(&b, 4 * 1024 * 1024);
	imap_buf_set(&b, x->vanished, x->n_vanished);
	if (b.len > 0)
		imap_untagged(x->job.s, "VANISHED (EARLIER) %.*s", (int)b.len,
			      (const char *)b.data);
	buf_fini(&b);
	free(x->vanished);
	x->vanished = NULL;
	x->n_vanished = 0;
}

static void
imap_fetch_done(struct imap_job *j)
{
	struct imap_fetch_job *x = (struct imap_fetch_job *)j;
	struct imap_session *s = j->s;

	if (x->n_vanished > 0)
		imap_fetch_vanished(x);
	imap_reply_raw(s, x->out.data, x->out.len);
	buf_reset(&x->out);
	if (j->result == 0 && x->next < x->n) {
		j->requeue = true;
		j->requeue_drain = true;
		return;
	}
	if (x->then != NULL) {
		/* Unsolicited: what could not be read is just left out. */
		x->then(s);
		return;
	}
	if (j->result < 0)
		imap_finish(s, "NO", "UNAVAILABLE", "FETCH failed");
	else if (x->expunged)
		imap_finish(s, "NO", "EXPUNGEISSUED",
			    "Some messages were expunged meanwhile");
	else if (x->unknown_cte)
		imap_finish(s, "NO", "UNKNOWN-CTE", "Cannot decode part");
	else if (x->failed)
		imap_finish(s, "NO", "SERVERBUG", "Some messages unreadable");
	else
		imap_finish(s, "OK", NULL, "FETCH completed");
}

static void
imap_fetch_job_free(struct imap_job *j)
{
	struct imap_fetch_job *x = (struct imap_fetch_job *)j;

	for (size_t i = 0; i < x->n; i++)
		free(x->msgs[i].keywords);
	free(x->msgs);
	free(x->seen_uids);
	free(x->vanished);
	store_flag_changes_free(x->changes, x->n_changes);
	if (x->then == NULL)
		imap_fetch_free(&x->f);
	buf_fini(&x->out);
	buf_fini(&x->tmp);
	free(x);
}

/* ---- \Seen as a side effect ------------------------------------------ */

static int
imap_fetch_seen_work(struct imap_job *j, struct store *st)
{
	struct imap_fetch_job *x = (struct imap_fetch_job *)j;
	const char *err = NULL;
	uint32_t *failed = NULL;
	size_t n_failed = 0;
	int r;

	r = store_flags_change(st, x->mailbox_id, x->seen_uids, x->n_seen,
			       STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0, 0,
			       &x->changes, &x->n_changes, &failed, &n_failed,
			       &err);
	free(failed);
	if (r < 0)
		str_lcpy(j->err, err != NULL ? err : "store error",
			 sizeof(j->err));
	return r;
}

static void
imap_fetch_seen_done(struct imap_job *j)
{
	struct imap_fetch_job *x = (struct imap_fetch_job *)j;
	struct imap_session *s = j->s;

	if (j->result < 0 || s->view == NULL || s->view->gen != x->gen) {
		imap_finish(s, "NO", "UNAVAILABLE", "FETCH failed");
		return;
	}
	/* changes and msgs both ascend by UID (the view's order, or "$",
	 * which SEARCH saves ascending): one merge walk. */
	for (size_t i = 0, m = 0; i < x->n_changes; i++) {
		const struct store_flag_change *c = &x->changes[i];
		long k = imap_view_find(s->view, c->uid);

		if (k >= 0) {
			s->view->msgs[k].flags =
				c->flags | (s->view->msgs[k].flags &
					    IMAP_VFLAG_VIEW);
			s->view->msgs[k].modseq = c->modseq;
		}
		while (m < x->n && x->msgs[m].uid < c->uid)
			m++;
		if (m < x->n && x->msgs[m].uid == c->uid) {
			x->msgs[m].flags = c->flags |
				(x->msgs[m].flags & IMAP_VFLAG_RECENT);
			x->msgs[m].modseq = c->modseq;
			x->msgs[m].flags_changed = true;
		}
	}
	if (x->n_changes > 0)
		imap_notify_others(s, false);
	j->work = imap_fetch_work;
	j->done = imap_fetch_done;
	j->requeue = true;
}

static void
imap_fetch_needs(struct imap_fetch_job *x, bool *seen_r)
{
	*seen_r = false;
	for (size_t i = 0; i < x->f.n; i++) {
		enum imap_fetch_kind k = x->f.items[i].kind;

		if (k == IMAP_FETCH_ENVELOPE || k == IMAP_FETCH_BODY ||
		    k == IMAP_FETCH_BODYSTRUCTURE)
			x->need_meta = true;
		if (k == IMAP_FETCH_SECTION || k == IMAP_FETCH_BINARY ||
		    k == IMAP_FETCH_PREVIEW ||
		    k == IMAP_FETCH_BINARY_SIZE || k == IMAP_FETCH_RFC822 ||
		    k == IMAP_FETCH_RFC822_HEADER ||
		    k == IMAP_FETCH_RFC822_TEXT)
			x->need_data = x->need_meta = true;
		if (k == IMAP_FETCH_MODSEQ)
			x->modseq = true;
		if (k == IMAP_FETCH_INTERNALDATE ||
		    k == IMAP_FETCH_RFC822_SIZE || k == IMAP_FETCH_SAVEDATE ||
		    k == IMAP_FETCH_EMAILID)
			x->need_row = true;
		*seen_r |= imap_fetch_sets_seen(&x->f.items[i]);
	}
	/* The file, or the blob's stored metadata (imap_fetch_one). */
	if (x->need_data || x->need_meta)
		x->need_row = true;
}

static int
imap_fetch_collect(struct imap_session *s, struct imap_fetch_job *x,
		   const size_t *idx, size_t n, bool seen)
{
	x->msgs = calloc(n + 1, sizeof(*x->msgs));
	x->seen_uids = calloc(n + 1, sizeof(*x->seen_uids));
	if (x->msgs == NULL || x->seen_uids == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct store_vmsg *v = &s->view->msgs[idx[i]];
		struct imap_fetch_msg *m = &x->msgs[x->n];

		if (x->f.changedsince_set && v->modseq <= x->f.changedsince)
			continue;
		m->seq = (uint32_t)idx[i] + 1;
		m->uid = v->uid;
		m->flags = v->flags & ~IMAP_VFLAG_EXPUNGED;
		m->keywords = v->keywords ? strdup(v->keywords) : NULL;
		m->modseq = v->modseq;
		x->n++;
		if (seen && !(m->flags & STORE_FLAG_SEEN) &&
		    !(v->flags & IMAP_VFLAG_EXPUNGED))
			x->seen_uids[x->n_seen++] = m->uid;
	}
	return 0;
}

/* What the items need read and whether MODSEQ is reported; *seen_r
 * when an item sets \Seen. */
static void
imap_fetch_plan(struct imap_session *s, struct imap_fetch_job *x,
		bool *seen_r)
{
	if (x->f.changedsince_set) {
		imap_condstore_enable(s);
		x->modseq = true;
	}
	imap_fetch_needs(x, seen_r);
	/* RFC 7162 §3.1: the MODSEQ item is a CONDSTORE enabling action. */
	if (x->modseq)
		imap_condstore_enable(s);
	/* RFC 7162 §3.1: with CONDSTORE on, FETCH responses carrying flags
	 * carry MODSEQ too. */
	for (size_t i = 0; s->condstore && i < x->f.n; i++)
		x->modseq |= x->f.items[i].kind == IMAP_FETCH_FLAGS;
	x->modseq |= s->condstore && *seen_r;
}

/* Commits \Seen first when an item sets it, else reads straight away. */
static void
imap_fetch_start(struct imap_session *s, struct imap_fetch_job *x)
{
	x->mailbox_id = s->view->mailbox_id;
	x->gen = s->view->gen;
	str_lcpy(x->data_dir, s->base.srv->cfg.data_dir, sizeof(x->data_dir));
	x->job.free = imap_fetch_job_free;
	if (x->n_seen > 0) {
		x->job.work = imap_fetch_seen_work;
		x->job.done = imap_fetch_seen_done;
		imap_job_commit(s, &x->job);
		return;
	}
	x->job.work = imap_fetch_work;
	x->job.done = imap_fetch_done;
	imap_job_read(s, &x->job);
}

int
imap_fetch_notify(struct imap_session *s, const struct imap_fetch *f,
		  size_t first, void (*then)(struct imap_session *s))
{
	struct imap_fetch_job *x;
	size_t n = s->view != NULL && first < s->view->n ? s->view->n - first
							  : 0;
	size_t *idx;
	bool seen;

	if (n == 0 || (x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	idx = calloc(n, sizeof(*idx));
	if (idx == NULL) {
		free(x);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = first + i;
	buf_init(&x->out, 64 * 1024 * 1024 + IMAP_FETCH_BATCH);
	buf_init(&x->tmp, 64 * 1024 * 1024);
	x->job.s = s;
	x->f = *f;
	x->then = then;
	imap_fetch_plan(s, x, &seen);
	if (imap_fetch_collect(s, x, idx, n, false) < 0) {
		free(idx);
		imap_fetch_job_free(&x->job);
		return -1;
	}
	free(idx);
	imap_fetch_start(s, x);
	return 0;
}

void
imap_cmd_fetch(struct imap_session *s, const struct imap_cmd *c)
{
	struct imap_fetch_job *x = calloc(1, sizeof(*x));
	const char *err = NULL;
	size_t *idx = NULL, n = 0;
	bool bad = false, seen;

	if (x == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	buf_init(&x->out, 64 * 1024 * 1024 + IMAP_FETCH_BATCH);
	buf_init(&x->tmp, 64 * 1024 * 1024);
	x->job.s = s;
	if (c->n_args < 2 ||
	    imap_fetch_parse(c->args + 1, c->n_args - 1, &x->f, &err) < 0 ||
	    (x->f.vanished && (!c->uid || !s->qresync ||
			       !x->f.changedsince_set))) {
		imap_fetch_job_free(&x->job);
		imap_finish(s, "BAD", NULL, "%s",
			    err != NULL ? err : "Bad FETCH arguments");
		session_error(&s->base);
		return;
	}
	if (imap_view_resolve(s, &c->args[0], c->uid, &idx, &n, &bad) < 0 ||
	    bad) {
		free(idx);
		imap_fetch_job_free(&x->job);
		imap_finish(s, "BAD", NULL, "Invalid message set");
		return;
	}
	x->uid = c->uid;
	imap_fetch_plan(s, x, &seen);
	if (imap_fetch_flags_only(&x->f)) {
		imap_fetch_flags(s, &x->f, idx, n, x->uid, x->modseq);
		imap_fetch_job_free(&x->job);
		return;
	}
	if (imap_fetch_collect(s, x, idx, n, seen && !s->view->readonly) < 0) {
		free(idx);
		imap_fetch_job_free(&x->job);
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	free(idx);
	imap_fetch_start(s, x);
}
