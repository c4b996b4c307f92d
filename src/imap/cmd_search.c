/*
 * SEARCH, UID SEARCH (RFC 9051 §6.4.4), ESEARCH return options (RFC 4731,
 * RFC 9051 §7.3.4), SORT and THREAD (RFC 5256), ESORT (RFC 5267). The
 * evaluation (imap_search.h)
 * runs on a worker, which reads message files only when a key needs text.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../mime/mime.h"
#include "../store/blob.h"
#include "../util/str.h"
#include "imap_int.h"
#include "imap_msgfile.h"
#include "imap_search.h"

struct imap_search_job {
	struct imap_job job;
	struct imap_search q;
	struct imap_sort_program sort;
	bool is_sort, uid;
	/* THREAD: a SORT that answers with threads (imap_thread.c). */
	bool is_thread;
	enum imap_thread_alg thread_alg;
	struct buf thread_out;
	struct imap_search_msg *msgs;
	char **kw;           /* keywords copies, parallel to msgs */
	size_t n;
	uint32_t max_uid;
	int64_t mailbox_id;
	char data_dir[4096];
	char (*blobs)[64];
	struct store_fields *fields; /* search fields, UID order */
	size_t n_fields;
	bool fields_missing;         /* some message has none stored */
	uint32_t *hits;      /* seq or uid, in result order */
	uint32_t *hit_uids;
	size_t n_hits;
	unsigned gen;
	/* RFC 7162 §3.1.5: a MODSEQ key makes the reply carry the highest
	 * modseq of the messages found. */
	bool has_modseq;
	uint64_t max_modseq;
	/* Of the first and last hit: MIN/MAX's own MODSEQ (RFC 7162
	 * §3.1.5). */
	uint64_t first_modseq, last_modseq;
	/* Evaluated in slices (imap_search_slice): where the next one starts,
	 * the matches so far, and whether another slice is due. */
	bool prepared, need_file, need_fields, more;
	size_t pos;
	struct imap_search_msg *sel;
	size_t n_sel;
	/* RFC 5267: evaluating a context again (q is the context's, not
	 * freed with the job); the result goes to imap_context_result. */
	struct imap_context *ctx;
};

/* A SEARCH over a large mailbox runs as several worker jobs, each
 * evaluating at most this many messages, or reading at most this many
 * message files (TEXT, BODY), before it is queued again: jobs of other
 * sessions (an SMTP lookup, another client's FETCH) run in between
 * instead of waiting for the whole mailbox to be read. */
#define IMAP_SEARCH_SLICE_MSGS 20000
#define IMAP_SEARCH_SLICE_FILES 256
#define IMAP_SEARCH_SLICE_BYTES (4u * 1024 * 1024)

/* Size, internal date and file of every message, which the selected view
 * does not keep; a message expunged meanwhile gets size -1 and no file,
 * so only flag keys can match it. */
static int
imap_search_rows(struct imap_search_job *x, struct store *st)
{
	struct store_imsg *rows = NULL;
	size_t n_rows = 0, j = 0;
	const char *err = NULL;

	if (store_mailbox_imsgs(st, x->mailbox_id, 0, &rows, &n_rows, &err) < 0)
		return -1;
	for (size_t i = 0; i < x->n; i++) {
		struct imap_search_msg *m = &x->msgs[i];

		while (j < n_rows && rows[j].uid < m->uid)
			j++;
		if (j < n_rows && rows[j].uid == m->uid) {
			m->size = rows[j].size;
			m->internaldate = rows[j].internaldate;
			m->savedate = rows[j].savedate;
			m->blob_id = rows[j].blob_id;
			str_lcpy(x->blobs[i], rows[j].blob, sizeof(x->blobs[i]));
		} else {
			m->size = -1;
		}
	}
	store_imsgs_free(rows, n_rows);
	return 0;
}

/* The stored search fields of every message (mime.h): FROM, SUBJECT, SORT
 * and the like read them instead of opening each message file. */
static int
imap_search_fields(struct imap_search_job *x, struct store *st)
{
	const char *err = NULL;
	size_t j = 0;

	if (store_mailbox_fields(st, x->mailbox_id, &x->fields, &x->n_fields,
				 &err) < 0)
		return -1;
	for (size_t i = 0; i < x->n; i++) {
		struct imap_search_msg *m = &x->msgs[i];

		while (j < x->n_fields && x->fields[j].uid < m->uid)
			j++;
		if (j < x->n_fields && x->fields[j].uid == m->uid &&
		    x->fields[j].fields != NULL) {
			m->fields = x->fields[j].fields;
			m->fields_len = x->fields[j].len;
		} else {
			x->fields_missing = true;
		}
	}
	return 0;
}

/* Loads what the keys need besides the view; tells whether message files
 * must be read: always for BODY/TEXT, else only where no search fields
 * are stored. */
static int
imap_search_prepare(struct imap_search_job *x, struct store *st,
		    bool *file_r, bool *fields_r)
{
	*file_r = imap_search_needs_file(x->q.root);
	*fields_r = x->is_sort || imap_search_needs_fields(x->q.root);
	if (*fields_r && imap_search_fields(x, st) < 0)
		return -1;
	if ((x->is_sort || imap_search_needs_row(x->q.root) ||
	     x->fields_missing) && imap_search_rows(x, st) < 0)
		return -1;
	return 0;
}

/* Shrinks a message read for SORT to its header block. */
static void
imap_search_keep_header(struct imap_search_msg *m)
{
	size_t h = mime_header_block_len(m->data, m->len);
	char *p = realloc((char *)m->data, h + 1);

	if (p == NULL)
		return; /* keeps the whole message: still correct */
	p[h] = '\0';
	m->data = p;
	m->len = h;
}

/* Evaluates the next slice of messages; sets x->more when some remain. */
static void
imap_search_slice(struct imap_search_job *x, struct store *st)
{
	size_t files = 0, bytes = 0, end = x->pos + IMAP_SEARCH_SLICE_MSGS;

	if (end > x->n)
		end = x->n;
	for (; x->pos < end && files < IMAP_SEARCH_SLICE_FILES &&
	       bytes < IMAP_SEARCH_SLICE_BYTES;
	     x->pos++) {
		struct imap_search_msg *m = &x->msgs[x->pos];
		char *data = NULL;
		size_t len = 0;

		if ((x->need_file || (x->need_fields && m->fields == NULL)) &&
		    x->blobs[x->pos][0] != '\0') {
			files++;
			if (blob_read(st, x->data_dir, x->blobs[x->pos],
				      m->size, &data, &len) == 0) {
				m->data = data;
				m->len = len;
				bytes += len;
			}
		}
		bool hit = imap_search_match(x->q.root, m, (uint32_t)x->n,
					     x->max_uid) == 1;

		/* SORT keeps the header of what it orders (its criteria read
		 * nothing else; freed with the job); the rest is done. */
		if (m->data != NULL && (!x->is_sort || !hit)) {
			free(data);
			m->data = NULL;
		} else if (m->data != NULL) {
			imap_search_keep_header(m);
		}
		if (hit)
			x->sel[x->n_sel++] = *m;
	}
	x->more = x->pos < x->n;
}

static int
imap_search_work(struct imap_job *j, struct store *st)
{
	struct imap_search_job *x = (struct imap_search_job *)j;

	if (!x->prepared) {
		if (imap_search_prepare(x, st, &x->need_file,
					&x->need_fields) < 0)
			return -1;
		x->sel = calloc(x->n + 1, sizeof(*x->sel));
		x->hits = calloc(x->n + 1, sizeof(*x->hits));
		x->hit_uids = calloc(x->n + 1, sizeof(*x->hit_uids));
		if (x->sel == NULL || x->hits == NULL || x->hit_uids == NULL)
			return -1;
		x->prepared = true;
		/* REFERENCES reads Message-ID, References, In-Reply-To:
		 * not among the stored search fields. */
		if (x->is_thread && x->thread_alg == IMAP_THREAD_REFERENCES)
			x->need_file = true;
	}
	imap_search_slice(x, st);
	if (x->more)
		return 0;
	if (x->is_thread)
		return imap_thread_build(x->thread_alg, x->sel, x->n_sel,
					 x->uid, &x->thread_out);
	if (x->is_sort)
		imap_sort_messages(&x->sort, x->sel, x->n_sel);
	for (size_t i = 0; i < x->n_sel; i++) {
		x->hits[i] = x->uid ? x->sel[i].uid : x->sel[i].seq;
		x->hit_uids[i] = x->sel[i].uid;
		if (x->sel[i].modseq > x->max_modseq)
			x->max_modseq = x->sel[i].modseq;
	}
	if (x->n_sel > 0) {
		x->first_modseq = x->sel[0].modseq;
		x->last_modseq = x->sel[x->n_sel - 1].modseq;
	}
	x->n_hits = x->n_sel;
	return 0;
}

/* RFC 7162 §3.1.5 with ESEARCH: the highest MODSEQ of what is returned;
 * with MIN and/or MAX but neither ALL nor COUNT, that is of those
 * messages only. */
static uint64_t
imap_search_result_modseq(const struct imap_search_job *x, unsigned ret)
{
	uint64_t m = 0;

	if (ret & (IMAP_ESEARCH_ALL | IMAP_ESEARCH_COUNT))
		return x->max_modseq;
	if (ret & IMAP_ESEARCH_MIN)
		m = x->first_modseq;
	if ((ret & IMAP_ESEARCH_MAX) && x->last_modseq > m)
		m = x->last_modseq;
	return m;
}

/* RFC 9394 §3.1: " PARTIAL (range set)" of the results at the range's
 * positions (counted from the end for a negative range), in result
 * order: a set for SEARCH, a list for SORT; NIL when none is there. */
/* The results PARTIAL names: [*a_r, *e_r) of n in result order. */
static void
imap_search_partial_slice(const struct imap_search *q, size_t n, size_t *a_r,
			  size_t *e_r)
{
	size_t lo = q->partial_lo, hi = q->partial_hi;

	if (!q->partial_neg) {
		*a_r = lo - 1 < n ? lo - 1 : n;
		*e_r = hi < n ? hi : n;
	} else {
		*a_r = hi < n ? n - hi : 0;
		*e_r = lo - 1 < n ? n - (lo - 1) : 0;
	}
	if (*a_r > *e_r)
		*a_r = *e_r;
}

static void
imap_search_partial(const struct imap_search_job *x, struct buf *b)
{
	const struct imap_search *q = &x->q;
	const char *m = q->partial_neg ? "-" : "";
	size_t a, e;

	imap_search_partial_slice(q, x->n_hits, &a, &e);
	buf_printf(b, " PARTIAL (%s%" PRIu32 ":%s%" PRIu32 " ", m,
		   q->partial_lo, m, q->partial_hi);
	if (a >= e)
		buf_printf(b, "NIL");
	else if (!x->is_sort)
		imap_buf_set(b, x->hits + a, e - a);
	else
		for (size_t i = a; i < e; i++)
			buf_printf(b, "%s%" PRIu32, i > a ? "," : "",
				   x->hits[i]);
	buf_append(b, ")", 1);
}

static void
imap_search_esearch(struct imap_session *s, struct imap_search_job *x,
		    struct buf *b)
{
	unsigned ret = x->q.ret ? x->q.ret : IMAP_ESEARCH_ALL;

	buf_printf(b, "* ESEARCH (TAG \"%s\")%s", s->tag, x->uid ? " UID" : "");
	if (x->n_hits == 0) {
		if (ret & IMAP_ESEARCH_COUNT)
			buf_printf(b, " COUNT 0");
		if (ret & IMAP_ESEARCH_PARTIAL)
			imap_search_partial(x, b);
		return;
	}
	if (ret & IMAP_ESEARCH_MIN)
		buf_printf(b, " MIN %" PRIu32, x->hits[0]);
	if (ret & IMAP_ESEARCH_MAX)
		buf_printf(b, " MAX %" PRIu32, x->hits[x->n_hits - 1]);
	if (ret & IMAP_ESEARCH_COUNT)
		buf_printf(b, " COUNT %zu", x->n_hits);
	if (ret & IMAP_ESEARCH_ALL) {
		buf_printf(b, " ALL ");
		imap_buf_set(b, x->hits, x->n_hits);
	}
	if (ret & IMAP_ESEARCH_PARTIAL)
		imap_search_partial(x, b);
	if (x->has_modseq)
		buf_printf(b, " MODSEQ %" PRIu64, imap_search_result_modseq(x,
									 ret));
}

/* RFC 5267 §3 ESORT: as ESEARCH, in the sort order: MIN and MAX are the
 * first and last message sorted, ALL lists them all in that order (one
 * number after the other, never a range, which would read ascending). */
static void
imap_search_esort(struct imap_session *s, struct imap_search_job *x,
		  struct buf *b)
{
	unsigned ret = x->q.ret;

	buf_printf(b, "* ESEARCH (TAG \"%s\")%s", s->tag, x->uid ? " UID" : "");
	if (x->n_hits > 0 && (ret & IMAP_ESEARCH_MIN))
		buf_printf(b, " MIN %" PRIu32, x->hits[0]);
	if (x->n_hits > 0 && (ret & IMAP_ESEARCH_MAX))
		buf_printf(b, " MAX %" PRIu32, x->hits[x->n_hits - 1]);
	if (ret & IMAP_ESEARCH_COUNT)
		buf_printf(b, " COUNT %zu", x->n_hits);
	if (x->n_hits > 0 && (ret & IMAP_ESEARCH_ALL)) {
		buf_printf(b, " ALL ");
		for (size_t i = 0; i < x->n_hits; i++)
			buf_printf(b, "%s%" PRIu32, i ? "," : "", x->hits[i]);
	}
	if (ret & IMAP_ESEARCH_PARTIAL)
		imap_search_partial(x, b);
	if (x->n_hits > 0 && x->has_modseq)
		buf_printf(b, " MODSEQ %" PRIu64, x->max_modseq);
}

/* RFC 5182 §2.1: a failed SEARCH RETURN (SAVE) empties "$". */
static void
imap_search_clear_saved(struct imap_view *v)
{
	free(v->saved);
	v->saved = NULL;
	v->n_saved = 0;
}

/* The untagged result: ESEARCH, or the classic SEARCH/SORT list. */
static void
imap_search_result(struct imap_session *s, struct imap_search_job *x,
		   struct buf *b)
{
	/* RFC 9051 §7.3.4: an IMAP4rev2 client always gets ESEARCH. */
	if ((x->q.ret_given || s->rev2) && !x->is_sort) {
		imap_search_esearch(s, x, b);
	} else if (x->is_sort && x->q.ret_given) {
		imap_search_esort(s, x, b);
	} else if (x->is_thread) {
		/* RFC 5256 §5: "THREAD" [SP 1*thread-list] */
		buf_printf(b, "* THREAD%s", x->thread_out.len > 0 ? " " : "");
		buf_append(b, x->thread_out.data, x->thread_out.len);
	} else {
		buf_printf(b, "* %s", x->is_sort ? "SORT" : "SEARCH");
		/* One reservation and no printf per hit: 100,000 of them. */
		if (buf_reserve(b, x->n_hits * 11) == 0) {
			char *p = (char *)b->data + b->len, *start = p;

			for (size_t i = 0; i < x->n_hits; i++) {
				*p++ = ' ';
				p = str_u64(p, x->hits[i]);
			}
			b->len += (size_t)(p - start);
		}
		if (x->has_modseq && x->n_hits > 0)
			buf_printf(b, " (MODSEQ %" PRIu64 ")", x->max_modseq);
	}
	buf_append(b, "\r\n", 2);
}

/* RFC 5182: "$" refers to this result from now on; with MIN and/or MAX
 * but neither ALL nor COUNT, only to those (§2.4); with PARTIAL to the
 * results it returned, which makes "SEARCH RETURN (SAVE PARTIAL 1:50)"
 * then "FETCH $" a paged FETCH (RFC 9394). */
static void
imap_search_save(struct imap_view *v, struct imap_search_job *x)
{
	unsigned r = x->q.ret;

	if (r & IMAP_ESEARCH_PARTIAL) {
		size_t a, e;

		imap_search_partial_slice(&x->q, x->n_hits, &a, &e);
		memmove(x->hit_uids, x->hit_uids + a,
			(e - a) * sizeof(*x->hit_uids));
		x->n_hits = e - a;
		r = 0;
	}
	if ((r & (IMAP_ESEARCH_MIN | IMAP_ESEARCH_MAX)) &&
	    !(r & (IMAP_ESEARCH_ALL | IMAP_ESEARCH_COUNT)) &&
	    x->n_hits > 1) {
		uint32_t lo = x->hit_uids[0];
		uint32_t hi = x->hit_uids[x->n_hits - 1];

		x->n_hits = 0;
		if (r & IMAP_ESEARCH_MIN)
			x->hit_uids[x->n_hits++] = lo;
		if (r & IMAP_ESEARCH_MAX)
			x->hit_uids[x->n_hits++] = hi;
	}
	free(v->saved);
	v->saved = x->hit_uids;
	v->n_saved = x->n_hits;
	x->hit_uids = NULL;
}

static void
imap_search_done(struct imap_job *j)
{
	struct imap_search_job *x = (struct imap_search_job *)j;
	struct imap_session *s = j->s;
	bool save = (x->q.ret & IMAP_ESEARCH_SAVE) && s->view != NULL &&
		    s->view->gen == x->gen;
	struct buf b;

	if (j->result == 0 && x->more) {
		j->requeue = true; /* the next slice, behind other jobs */
		return;
	}
	if (x->ctx != NULL) {
		uint32_t *uids = x->hit_uids;

		x->hit_uids = NULL;
		imap_context_result(s, x->ctx, j->result, uids, x->n_hits);
		return;
	}
	if (j->result < 0) {
		if (save)
			imap_search_clear_saved(s->view);
		imap_finish(s, "NO", "UNAVAILABLE", "SEARCH failed");
		return;
	}
	buf_init(&b, 64 * 1024 * 1024);
	imap_search_result(s, x, &b);
	/* RFC 5267 §4.3: RETURN (UPDATE) keeps the search alive. */
	if ((x->q.ret & IMAP_ESEARCH_UPDATE) && s->view != NULL &&
	    s->view->gen == x->gen &&
	    imap_context_add(s, &x->q, &x->sort, x->is_sort, x->uid,
			     x->hit_uids, x->n_hits) < 0)
		buf_printf(&b, "* NO [NOUPDATE \"%s\"] Not kept up to date\r\n",
			   s->tag);
	if (save)
		imap_search_save(s->view, x);
	if (x->q.ret != IMAP_ESEARCH_SAVE || !x->q.ret_given)
		imap_reply_raw(s, b.data, b.len);
	buf_fini(&b);
	imap_finish(s, "OK", NULL, "%s completed",
		    x->is_thread ? "THREAD" : x->is_sort ? "SORT" : "SEARCH");
}

static void
imap_search_job_free(struct imap_job *j)
{
	struct imap_search_job *x = (struct imap_search_job *)j;

	for (size_t i = 0; i < x->n; i++) {
		free(x->kw[i]);
		free((char *)x->msgs[i].data);
	}
	free(x->kw);
	free(x->msgs);
	free(x->blobs);
	store_fields_free(x->fields, x->n_fields);
	free(x->hits);
	free(x->hit_uids);
	free(x->sel);
	buf_fini(&x->thread_out);
	if (x->ctx == NULL)
		imap_search_free(&x->q);
	free(x);
}

static bool
imap_search_has_modseq(const struct imap_search_node *nd, unsigned depth)
{
	for (; nd != NULL && depth < IMAP_SEARCH_MAX_DEPTH; nd = nd->next) {
		if (nd->key == IMAP_SK_MODSEQ ||
		    imap_search_has_modseq(nd->a, depth + 1) ||
		    imap_search_has_modseq(nd->b, depth + 1))
			return true;
	}
	return false;
}

/* RFC 5182 §2.1: "$" (as a sequence set or after UID) is the saved result,
 * kept as UIDs, as it was when the command began; it becomes a UID set so
 * the worker needs nothing from the session. 0 or -1 (out of memory). */
static int
imap_search_subst_saved(struct imap_search_node *nd, const struct imap_view *v)
{
	for (; nd != NULL; nd = nd->next) {
		if ((nd->key == IMAP_SK_SEQSET || nd->key == IMAP_SK_UID) &&
		    nd->set.saved) {
			nd->key = IMAP_SK_UID;
			nd->set.saved = false;
			nd->set.r = calloc(v->n_saved + 1, sizeof(*nd->set.r));
			if (nd->set.r == NULL)
				return -1;
			for (size_t i = 0; v->saved != NULL && i < v->n_saved;
			     i++)
				nd->set.r[i] = (struct imap_range){
					.lo = v->saved[i], .hi = v->saved[i] };
			nd->set.n = v->saved != NULL ? v->n_saved : 0;
		}
		if (imap_search_subst_saved(nd->a, v) < 0 ||
		    imap_search_subst_saved(nd->b, v) < 0)
			return -1;
	}
	return 0;
}

static int
imap_search_collect(struct imap_session *s, struct imap_search_job *x)
{
	struct imap_view *v = s->view;

	x->msgs = calloc(v->n + 1, sizeof(*x->msgs));
	x->kw = calloc(v->n + 1, sizeof(*x->kw));
	x->blobs = calloc(v->n + 1, sizeof(*x->blobs));
	if (x->msgs == NULL || x->kw == NULL || x->blobs == NULL ||
	    imap_search_subst_saved(x->q.root, v) < 0)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		const struct store_vmsg *m = &v->msgs[i];
		struct imap_search_msg *q = &x->msgs[i];

		q->seq = (uint32_t)i + 1;
		q->uid = m->uid;
		q->flags = m->flags & ~IMAP_VFLAG_VIEW;
		q->recent = (m->flags & IMAP_VFLAG_RECENT) != 0;
		x->kw[i] = m->keywords ? strdup(m->keywords) : NULL;
		q->keywords = x->kw[i];
		q->modseq = m->modseq;
		q->size = -1; /* imap_search_rows, when a key needs it */
	}
	x->n = v->n;
	x->mailbox_id = v->mailbox_id;
	x->max_uid = v->n > 0 ? v->msgs[v->n - 1].uid : 0;
	return 0;
}

int
imap_search_context_run(struct imap_session *s, struct imap_context *c,
			const struct imap_search *q,
			const struct imap_sort_program *sort, bool is_sort,
			bool uid)
{
	struct imap_search_job *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return -1;
	x->ctx = c;
	x->q = *q; /* borrowed: the context keeps the program */
	x->sort = *sort;
	x->is_sort = is_sort;
	x->uid = uid;
	x->gen = s->view->gen;
	buf_init(&x->thread_out, 1);
	str_lcpy(x->data_dir, s->base.srv->cfg.data_dir, sizeof(x->data_dir));
	x->job.work = imap_search_work;
	x->job.done = imap_search_done;
	x->job.free = imap_search_job_free;
	if (imap_search_collect(s, x) < 0) {
		imap_search_job_free(&x->job);
		return -1;
	}
	imap_job_read(s, &x->job);
	return 0;
}

/* RFC 5256 §3: SORT (criteria) charset keys; answers the command itself
 * and returns -1 when the first two are not acceptable. */
static int
imap_sort_args(struct imap_session *s, const struct imap_arg *args, size_t n,
	       struct imap_sort_program *p)
{
	const char *err = NULL;

	if (n < 3 || imap_sort_parse(&args[0], p, &err) < 0 ||
	    !imap_arg_is_string(&args[1])) {
		imap_finish(s, "BAD", NULL, "%s",
			    err ? err : "Bad SORT arguments");
		return -1;
	}
	/* RFC 6855 §3 (erratum 4029): once UTF8=ACCEPT is on, any charset
	 * but UTF-8 conflicts with the strings: BAD. */
	if (s->utf8 && !str_ieq(args[1].str, args[1].len, "UTF-8")) {
		imap_finish(s, "BAD", NULL, "Only UTF-8 after "
			    "ENABLE UTF8=ACCEPT");
		return -1;
	}
	/* RFC 5256 §3: an unknown charset is a NO, not a BAD. */
	if (!str_ieq(args[1].str, args[1].len, "UTF-8") &&
	    !str_ieq(args[1].str, args[1].len, "US-ASCII")) {
		imap_finish(s, "NO", "BADCHARSET (US-ASCII UTF-8)",
			    "Unsupported charset");
		return -1;
	}
	return 0;
}

/* RFC 5256 §3: THREAD algorithm charset keys; answers the command itself
 * and returns -1 when the first two are not acceptable. */
static int
imap_thread_args(struct imap_session *s, const struct imap_arg *args,
		 size_t n, enum imap_thread_alg *alg_r)
{
	if (n < 3 || args[0].type != IMAP_ARG_ATOM ||
	    !imap_arg_is_string(&args[1])) {
		imap_finish(s, "BAD", NULL, "Bad THREAD arguments");
		return -1;
	}
	if (imap_thread_alg_parse(args[0].str, args[0].len, alg_r) < 0) {
		imap_finish(s, "BAD", NULL, "Unknown THREAD algorithm");
		return -1;
	}
	if (!str_ieq(args[1].str, args[1].len, "UTF-8") &&
	    (s->utf8 || !str_ieq(args[1].str, args[1].len, "US-ASCII"))) {
		imap_finish(s, "NO", "BADCHARSET (US-ASCII UTF-8)",
			    "Unsupported charset");
		return -1;
	}
	return 0;
}

/* Answers a SEARCH/SORT whose arguments did not parse and frees x. */
static void
imap_search_bad(struct imap_session *s, struct imap_search_job *x,
		bool badcharset, const char *err)
{
	if ((x->q.ret & IMAP_ESEARCH_SAVE) && s->view != NULL)
		imap_search_clear_saved(s->view);
	imap_search_free(&x->q);
	free(x);
	if (badcharset)
		imap_finish(s, "NO", "BADCHARSET (US-ASCII UTF-8)",
			    "Unsupported charset");
	else
		imap_finish(s, "BAD", NULL, "%s",
			    err ? err : "Bad SEARCH arguments");
}

void
imap_cmd_search(struct imap_session *s, const struct imap_cmd *c)
{
	struct imap_search_job *x = calloc(1, sizeof(*x));
	const struct imap_arg *args = c->args;
	size_t n = c->n_args;
	const char *err = NULL;
	bool badcharset = false;

	if (x == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	x->is_thread = s->cmd_variant == IMAP_VARIANT_THREAD;
	/* THREAD reads what SORT reads (headers, dates) of what it finds. */
	x->is_sort = s->cmd_variant == IMAP_VARIANT_SORT || x->is_thread;
	buf_init(&x->thread_out, 64 * 1024 * 1024);
	if (x->is_thread) {
		if (imap_thread_args(s, args, n, &x->thread_alg) < 0) {
			free(x);
			return;
		}
		if (imap_search_parse(args + 2, n - 2, &x->q, &badcharset,
				      &err) < 0) {
			imap_search_bad(s, x, badcharset, err);
			return;
		}
		if (x->q.ret_given) {
			imap_search_bad(s, x, false, "No RETURN in THREAD");
			return;
		}
	} else if (x->is_sort) {
		struct imap_search ret;

		/* RFC 5267 §3: SORT RETURN (options) (criteria) ... */
		memset(&ret, 0, sizeof(ret));
		if (n > 0 && imap_arg_atom_is(&args[0], "RETURN")) {
			if (n < 2 || imap_search_return(&ret, &args[1]) < 0 ||
			    (ret.ret & IMAP_ESEARCH_SAVE)) {
				free(x);
				imap_finish(s, "BAD", NULL,
					    "Invalid RETURN options");
				return;
			}
			args += 2;
			n -= 2;
		}
		if (imap_sort_args(s, args, n, &x->sort) < 0) {
			free(x);
			return;
		}
		args += 2;
		n -= 2;
		if (imap_search_parse(args, n, &x->q, &badcharset, &err) < 0) {
			imap_search_bad(s, x, badcharset, err);
			return;
		}
		/* RETURN belongs before the criteria only. */
		if (x->q.ret_given) {
			imap_search_bad(s, x, false, "Invalid RETURN options");
			return;
		}
		x->q.ret = ret.ret;
		x->q.ret_given = ret.ret_given;
		x->q.partial_lo = ret.partial_lo;
		x->q.partial_hi = ret.partial_hi;
		x->q.partial_neg = ret.partial_neg;
	} else if (imap_search_parse(args, n, &x->q, &badcharset, &err) < 0) {
		imap_search_bad(s, x, badcharset, err);
		return;
	}
	if (s->utf8 && x->q.charset[0] != '\0' && !x->is_sort) {
		/* RFC 6855 §3: no CHARSET after ENABLE UTF8=ACCEPT. */
		imap_search_free(&x->q);
		free(x);
		imap_finish(s, "BAD", NULL, "No CHARSET after ENABLE UTF8=ACCEPT");
		return;
	}
	x->uid = c->uid;
	x->gen = s->view->gen;
	x->has_modseq = imap_search_has_modseq(x->q.root, 0);
	/* RFC 7162 §3.1: a MODSEQ search key enables CONDSTORE. */
	if (x->has_modseq)
		imap_condstore_enable(s);
	str_lcpy(x->data_dir, s->base.srv->cfg.data_dir, sizeof(x->data_dir));
	x->job.work = imap_search_work;
	x->job.done = imap_search_done;
	x->job.free = imap_search_job_free;
	if (imap_search_collect(s, x) < 0) {
		imap_search_job_free(&x->job);
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	imap_job_read(s, &x->job);
}
