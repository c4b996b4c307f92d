/*
 * SELECT and EXAMINE (RFC 9051 §6.3.2-3) with the CONDSTORE and QRESYNC
 * parameters (RFC 7162 §3.1.8, §3.2.5), and the commands that end a
 * selection or remove messages: CLOSE, UNSELECT (RFC 3691), EXPUNGE and
 * UID EXPUNGE (RFC 4315).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "../util/str.h"
#include "imap_int.h"

struct imap_select_job {
	struct imap_job job;
	int64_t account_id;
	char name[STORE_MAILBOX_NAME_MAX + 1];
	bool readonly;
	/* QRESYNC (uidvalidity modseq): known state of the client. */
	bool qresync;
	uint32_t q_uidvalidity;
	uint64_t q_modseq;
	struct imap_seqset q_known; /* known-uids; n == 0: all */
	struct store_mailbox box;
	int found;
	struct store_vmsg *msgs;
	size_t n;
	uint32_t *vanished;
	size_t n_vanished;
	struct imap_keep_reader reader;
	/* \Recent claimed by this SELECT: UIDs (claim_lo, claim_hi]. */
	bool claim_done;
	uint32_t claim_lo, claim_hi;
};

static int
imap_select_claim_work(struct imap_job *j, struct store *st)
{
	struct imap_select_job *x = (struct imap_select_job *)j;

	return imap_recent_claim_work(st, x->box.id, &x->claim_lo,
				      &x->claim_hi);
}

static int
imap_select_work(struct imap_job *j, struct store *st)
{
	struct imap_select_job *x = (struct imap_select_job *)j;
	const char *err = NULL;

	x->found = store_mailbox_get(st, x->account_id, x->name, &x->box);
	if (x->found != 1)
		return x->found < 0 ? -1 : 0;
	if (store_mailbox_vmsgs(st, x->box.id, 0, &x->msgs, &x->n, &err) < 0)
		goto fail;
	if (x->qresync && x->q_uidvalidity == x->box.uidvalidity &&
	    store_vanished_since(st, x->box.id, x->q_modseq, &x->vanished,
				 &x->n_vanished, &err) < 0)
		goto fail;
	return 0;
fail:
	str_lcpy(j->err, err != NULL ? err : "store error", sizeof(j->err));
	return -1;
}

/* RFC 7162 §3.2.5.1: VANISHED (EARLIER) and FETCH of messages changed
 * since the client's modseq. */
static void
imap_select_qresync(struct imap_session *s, struct imap_select_job *x)
{
	struct buf b;
	struct imap_set_out set = { .b = &b };

	if (x->q_uidvalidity != x->box.uidvalidity)
		return;
	buf_init(&b, 4 * 1024 * 1024);
	/* RFC 7162 §3.2.5.2: only UIDs of the known-uids, when given. */
	for (size_t i = 0; i < x->n_vanished; i++)
		if (x->q_known.n == 0 ||
		    imap_seqset_contains(&x->q_known, x->vanished[i],
					 UINT32_MAX))
			imap_set_add(&set, x->vanished[i]);
	imap_set_end(&set);
	if (b.len > 0)
		imap_untagged(s, "VANISHED (EARLIER) %.*s", (int)b.len,
			      (const char *)b.data);
	buf_fini(&b);
	for (size_t i = 0; i < s->view->n; i++)
		if (s->view->msgs[i].modseq > x->q_modseq)
			imap_view_flags_line(s, i, true);
}

/* RFC 9051 §6.3.2: an IMAP4rev2 SELECT answers with the mailbox's LIST
 * response too (its name as the server spells it). */
static void
imap_select_list(struct imap_session *s, struct imap_select_job *x)
{
	struct buf b;

	buf_init(&b, 4096);
	buf_printf(&b, "* LIST (%s) \"/\" ", x->box.special_use);
	imap_buf_mailbox(s, &b, x->box.name);
	buf_append(&b, "\r\n", 2);
	imap_reply_raw(s, b.data, b.len);
	buf_fini(&b);
}

/* Keywords in use in the mailbox, for the FLAGS response: clients such as
 * Thunderbird learn the mailbox's tags from it (RFC 9051 §7.3.5). Bounded:
 * at most IMAP_VIEW_KEYWORDS_MAX distinct names are listed. */

static bool
imap_keyword_listed(const struct buf *b, size_t start, const char *kw,
		    size_t len)
{
	const char *p = (const char *)b->data + start;
	const char *end = (const char *)b->data + b->len;

	while (p < end) {
		const char *q = memchr(p, ' ', (size_t)(end - p));
		size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
		if (n == len && strncasecmp(p, kw, len) == 0)
			return true;
		p += n + 1;
	}
	return false;
}

static void
imap_select_keywords(const struct imap_view *v, struct buf *b)
{
	size_t start = b->len, count = 0;
	bool first = true;

	for (size_t i = 0; i < v->n && count < IMAP_VIEW_KEYWORDS_MAX; i++) {
		const char *kw = v->msgs[i].keywords;
		while (kw != NULL && *kw != '\0' && count < IMAP_VIEW_KEYWORDS_MAX) {
			size_t len = strcspn(kw, " ");
			if (len > 0 && !imap_keyword_listed(b, start, kw, len)) {
				if (!first)
					buf_append(b, " ", 1);
				first = false;
				buf_append(b, kw, len);
				count++;
			}
			kw += len;
			while (*kw == ' ')
				kw++;
		}
	}
}

/* FLAGS and PERMANENTFLAGS with the keywords in use, which become the
 * view's known keywords (imap_view_keywords_note adds to them). */
static void
imap_select_flags(struct imap_session *s, struct imap_view *v)
{
	struct buf list;

	buf_init(&list, 4096);
	imap_select_keywords(v, &list);
	free(v->kw_known);
	v->kw_known = NULL;
	v->kw_count = 0;
	if (list.len > 0 && (v->kw_known = malloc(list.len + 1)) != NULL) {
		memcpy(v->kw_known, list.data, list.len);
		v->kw_known[list.len] = '\0';
		for (size_t i = 0; i <= list.len; i++)
			v->kw_count += i == list.len || v->kw_known[i] == ' ';
	}
	buf_fini(&list);
	imap_view_flags_announce(s);
}

static void
imap_select_announce(struct imap_session *s, struct imap_select_job *x)
{
	struct imap_view *v = s->view;
	size_t unseen = 0;

	imap_untagged(s, "%zu EXISTS", v->n);
	if (!s->rev2)
		imap_recent_announce(s);
	else
		imap_select_list(s, x);
	imap_select_flags(s, v);
	for (size_t i = 0; i < v->n && !s->rev2; i++)
		if (!(v->msgs[i].flags & STORE_FLAG_SEEN)) {
			unseen = i + 1;
			break;
		}
	if (unseen > 0)
		imap_untagged(s, "OK [UNSEEN %zu] First unseen", unseen);
	imap_untagged(s, "OK [UIDVALIDITY %" PRIu32 "] UIDs valid",
		      v->uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %" PRIu32 "] Predicted next UID",
		      v->uidnext);
	/* RFC 8474 §4.2: the mailbox's object id. */
	imap_untagged(s, "OK [MAILBOXID (F%" PRId64 ")] Ok", v->mailbox_id);
	/* RFC 7162 §3.1.2.1: persistent modseqs, always announced (and
	 * again when a later command enables CONDSTORE). */
	imap_untagged(s, "OK [HIGHESTMODSEQ %" PRIu64 "] Highest",
		      v->highestmodseq);
	if (x->qresync)
		imap_select_qresync(s, x);
}

static void
imap_select_done(struct imap_job *j)
{
	struct imap_select_job *x = (struct imap_select_job *)j;
	struct imap_session *s = j->s;
	struct imap_view *v;

	if (j->result < 0 || x->found < 0) {
		imap_finish(s, "NO", "UNAVAILABLE", "SELECT failed");
		return;
	}
	if (x->found == 0) {
		imap_finish(s, "NO", "NONEXISTENT", "No such mailbox");
		return;
	}
	if (!x->readonly && !x->claim_done && imap_recent_wanted(s, &x->box)) {
		/* Claim the new messages first (group commit), then open. */
		x->claim_done = true;
		j->work = imap_select_claim_work;
		j->requeue = j->requeue_commit = true;
		return;
	}
	v = calloc(1, sizeof(*v) + strlen(x->box.name) + 1);
	if (v == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	v->mailbox_id = x->box.id;
	memcpy(v->name, x->box.name, strlen(x->box.name) + 1);
	v->readonly = x->readonly;
	v->uidvalidity = x->box.uidvalidity;
	v->uidnext = x->box.uidnext;
	v->highestmodseq = x->box.highestmodseq;
	/* The counters were read before the list (imap_select_work). */
	v->synced_modseq = x->box.highestmodseq;
	v->msgs = x->msgs;
	v->n = v->cap = x->n;
	x->msgs = NULL;
	x->n = 0;
	imap_view_open(s, v);
	imap_keep_read_end(s->base.srv, &x->reader, v, 0);
	if (!s->rev2 && x->readonly)
		imap_recent_unclaimed(v, x->box.recent_uid, 0);
	else if (!s->rev2)
		imap_recent_claimed(v, x->claim_lo, x->claim_hi);
	imap_select_announce(s, x);
	imap_finish(s, "OK", v->readonly ? "READ-ONLY" : "READ-WRITE",
		    "%s completed", x->readonly ? "EXAMINE" : "SELECT");
}

static void
imap_select_free(struct imap_job *j)
{
	struct imap_select_job *x = (struct imap_select_job *)j;

	imap_keep_read_end(j->s->base.srv, &x->reader, NULL, 0);
	store_vmsgs_free(x->msgs, x->n);
	free(x->vanished);
	imap_seqset_free(&x->q_known);
	free(x);
}

/* (CONDSTORE) or (QRESYNC (uidvalidity modseq [known-uids [seq-match]])) */
static int
imap_select_params(struct imap_session *s, const struct imap_arg *a,
		   struct imap_select_job *x)
{
	for (size_t i = 0; i < a->list_n; i++) {
		const struct imap_arg *p = &a->list[i];
		long long v1, v2;
		char num[32];

		if (imap_arg_atom_is(p, "CONDSTORE")) {
			s->condstore = true;
			continue;
		}
		if (!imap_arg_atom_is(p, "QRESYNC") || !s->qresync ||
		    i + 1 >= a->list_n || a->list[i + 1].type != IMAP_ARG_LIST ||
		    a->list[i + 1].list_n < 2)
			return -1;
		p = a->list[++i].list;
		if (p[0].len >= sizeof(num) || p[1].len >= sizeof(num))
			return -1;
		memcpy(num, p[0].str, p[0].len);
		num[p[0].len] = '\0';
		if (str_tonum(num, 1, UINT32_MAX, &v1) < 0)
			return -1;
		memcpy(num, p[1].str, p[1].len);
		num[p[1].len] = '\0';
		if (str_tonum(num, 1, INT64_MAX, &v2) < 0)
			return -1;
		/* known-uids; the seq-match data is an optimisation we
		 * may ignore (RFC 7162 §3.2.5.2). */
		if (a->list[i].list_n >= 3 &&
		    (p[2].type != IMAP_ARG_ATOM ||
		     imap_seqset_parse(p[2].str, p[2].len, &x->q_known) < 0))
			return -1;
		x->qresync = true;
		x->q_uidvalidity = (uint32_t)v1;
		x->q_modseq = (uint64_t)v2;
	}
	return 0;
}

void
imap_cmd_select(struct imap_session *s, const struct imap_cmd *c)
{
	struct imap_select_job *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	x->readonly = s->cmd_variant == IMAP_VARIANT_EXAMINE;
	/* The table says one or two arguments. */
	if (imap_mailbox_arg(s, &c->args[0], x->name, sizeof(x->name)) < 0 ||
	    (c->n_args == 2 && (c->args[1].type != IMAP_ARG_LIST ||
				imap_select_params(s, &c->args[1], x) < 0))) {
		imap_seqset_free(&x->q_known);
		free(x);
		imap_finish(s, "BAD", NULL, "Bad %s arguments", c->name);
		session_error(&s->base);
		return;
	}
	/* RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected, so
	 * the old view goes now; QRESYNC and IMAP4rev2 say so (RFC 7162
	 * §3.2.11, RFC 9051 §7.1 CLOSED). */
	if (s->view != NULL) {
		imap_view_close(s);
		if (s->qresync || s->rev2)
			imap_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	x->account_id = s->account_id;
	x->job.work = imap_select_work;
	x->job.done = imap_select_done;
	x->job.free = imap_select_free;
	imap_keep_read_begin(&x->reader);
	imap_job_read(s, &x->job);
}

/* RFC 9051 §6.4.1. */
void
imap_cmd_check(struct imap_session *s, const struct imap_cmd *c)
{
	/* Every acknowledged change is already durable: nothing to do. */
	imap_finish(s, "OK", NULL, "CHECK completed");
}

/* ---- EXPUNGE, CLOSE, UNSELECT -------------------------------------- */

struct imap_expunge_job {
	struct imap_job job;
	int64_t mailbox_id;
	unsigned gen;
	uint32_t *uids;
	size_t n;
	bool silent, unselect;
	struct imap_keep_set keep; /* rows and files kept for others */
};

/* Keeps the UIDs whose message still has \Deleted in the store: the view
 * may not yet know that another session took the flag away, and that
 * message must stay. In the commit transaction, so nothing changes
 * between this read and the expunge. x->uids ascend. */
static int
imap_expunge_still_deleted(struct imap_expunge_job *x, struct store *st,
			   const char **err_r)
{
	size_t out = 0;

	for (size_t i = 0; i < x->n; i += STORE_IMSGS_UIDS_MAX) {
		size_t chunk = x->n - i < STORE_IMSGS_UIDS_MAX
				       ? x->n - i : STORE_IMSGS_UIDS_MAX;
		struct store_imsg *rows;
		size_t n_rows;

		if (store_mailbox_imsgs_uids(st, x->mailbox_id, x->uids + i,
					     chunk, &rows, &n_rows, err_r) < 0)
			return -1;
		for (size_t r = 0; r < n_rows; r++) {
			if (!(rows[r].flags & STORE_FLAG_DELETED))
				continue;
			x->uids[out++] = rows[r].uid;
			if (imap_keep_capture(&x->keep, &rows[r], 1) < 0) {
				store_imsgs_free(rows, n_rows);
				*err_r = "out of memory";
				return -1;
			}
		}
		store_imsgs_free(rows, n_rows);
	}
	x->n = out;
	return 0;
}

static int
imap_expunge_work(struct imap_job *j, struct store *st)
{
	struct imap_expunge_job *x = (struct imap_expunge_job *)j;
	const char *err = NULL;

	imap_keep_set_free(&x->keep);
	x->keep.mailbox_id = x->mailbox_id;
	if (imap_expunge_still_deleted(x, st, &err) < 0 ||
	    store_expunge_uids(st, x->mailbox_id, x->uids, x->n,
			       &x->keep.orphans, &err) < 0) {
		str_lcpy(j->err, err != NULL ? err : "store error",
			 sizeof(j->err));
		return -1;
	}
	return 0;
}

/* Commit thread: an undone expunge keeps its rows and files. */
static void
imap_expunge_after(struct imap_job *j, bool ok)
{
	struct imap_expunge_job *x = (struct imap_expunge_job *)j;

	if (!ok)
		imap_keep_set_free(&x->keep);
}

static void
imap_expunge_done(struct imap_job *j)
{
	struct imap_expunge_job *x = (struct imap_expunge_job *)j;
	struct imap_session *s = j->s;

	if (j->result < 0) {
		imap_finish(s, "NO", "UNAVAILABLE", "EXPUNGE failed");
		return;
	}
	if (s->view != NULL && s->view->gen == x->gen) {
		for (size_t i = 0; i < x->n; i++) {
			long k = imap_view_find(s->view, x->uids[i]);
			if (k >= 0)
				s->view->msgs[k].flags |= IMAP_VFLAG_EXPUNGED;
		}
		if (!x->silent)
			imap_notify_expunges(s);
	}
	imap_notify_others(s, false);
	if (x->unselect)
		imap_view_close(s);
	imap_finish(s, "OK", NULL, "%s completed",
		    x->unselect ? "CLOSE" : "EXPUNGE");
}

static void
imap_expunge_free(struct imap_job *j)
{
	struct imap_expunge_job *x = (struct imap_expunge_job *)j;

	/* Committed: others that still number the messages keep them. */
	if (j->result == 0 &&
	    (x->keep.n > 0 || x->keep.orphans != NULL))
		imap_keep_register(j->s->base.srv, &x->keep);
	imap_keep_set_free(&x->keep);
	free(x->uids);
	store_strv_free(x->job.orphans);
	free(x);
}

void
imap_expunge_start(struct imap_session *s, const uint32_t *uids, size_t n,
		   bool silent, bool unselect_after)
{
	struct imap_view *v = s->view;
	struct imap_expunge_job *x = calloc(1, sizeof(*x));

	if (x != NULL)
		x->uids = calloc(v->n + 1, sizeof(*x->uids));
	if (x == NULL || x->uids == NULL) {
		free(x);
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	/* uids (UID EXPUNGE) ascend, as the view does. */
	for (size_t i = 0; i < (uids != NULL ? n : v->n); i++) {
		long k = uids != NULL ? imap_view_find(v, uids[i]) : (long)i;
		const struct store_vmsg *m = k >= 0 ? &v->msgs[k] : NULL;

		if (m != NULL && (m->flags & STORE_FLAG_DELETED) &&
		    !(m->flags & IMAP_VFLAG_EXPUNGED))
			x->uids[x->n++] = m->uid;
	}
	if (x->n == 0) {
		imap_expunge_free(&x->job);
		if (unselect_after)
			imap_view_close(s);
		imap_finish(s, "OK", NULL, "%s completed",
			    unselect_after ? "CLOSE" : "EXPUNGE");
		return;
	}
	x->mailbox_id = v->mailbox_id;
	x->gen = v->gen;
	x->silent = silent;
	x->unselect = unselect_after;
	x->job.work = imap_expunge_work;
	x->job.done = imap_expunge_done;
	x->job.after = imap_expunge_after;
	x->job.free = imap_expunge_free;
	imap_job_commit(s, &x->job);
}

void
imap_cmd_expunge(struct imap_session *s, const struct imap_cmd *c)
{
	size_t *idx = NULL, n = 0;
	uint32_t *uids;
	bool bad;

	if (s->view->readonly) {
		imap_finish(s, "NO", "READ-ONLY", "Mailbox is read-only");
		return;
	}
	if (!c->uid) {
		if (c->n_args != 0) {
			imap_finish(s, "BAD", NULL, "EXPUNGE takes no arguments");
			return;
		}
		imap_expunge_start(s, NULL, 0, false, false);
		return;
	}
	/* RFC 4315 §2.1: UID EXPUNGE set. */
	if (c->n_args != 1 ||
	    imap_view_resolve(s, &c->args[0], true, &idx, &n, &bad) < 0 ||
	    bad) {
		free(idx);
		imap_finish(s, "BAD", NULL, "Bad UID set");
		return;
	}
	uids = calloc(n + 1, sizeof(*uids));
	for (size_t i = 0; uids != NULL && i < n; i++)
		uids[i] = s->view->msgs[idx[i]].uid;
	free(idx);
	if (uids == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	imap_expunge_start(s, uids, n, false, false);
	free(uids);
}

/* CLOSE expunges silently when writable (RFC 9051 §6.4.1); UNSELECT
 * never expunges (RFC 3691). */
void
imap_cmd_close(struct imap_session *s, const struct imap_cmd *c)
{
	if (s->cmd_variant != IMAP_VARIANT_UNSELECT && !s->view->readonly) {
		imap_expunge_start(s, NULL, 0, true, true);
		return;
	}
	imap_view_close(s);
	imap_finish(s, "OK", NULL, "%s completed", c->name);
}

void
imap_condstore_enable(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	if (s->view != NULL)
		imap_untagged(s, "OK [HIGHESTMODSEQ %" PRIu64 "] Highest",
			      s->view->highestmodseq);
}
