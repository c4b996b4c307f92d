/*
 * The selected mailbox as this session's client knows it, and how it
 * learns of changes made by others (RFC 9051 §7: EXISTS, EXPUNGE or
 * VANISHED with QRESYNC, FETCH FLAGS).
 *
 * A session with a mailbox selected registers a server watch for its
 * account. Whoever commits a change calls server_notify_account(); the
 * watch only marks the view dirty (or, during IDLE, starts a refresh at
 * once). Before the tagged reply of the next command, a refresh job reads
 * the mailbox's messages on a worker; back on the loop the new list is
 * compared with the view and the differences are announced. Expunges are
 * held back while answering FETCH, STORE and SEARCH (§7.5.1): the message
 * stays in the view marked IMAP_VFLAG_EXPUNGED, keeping sequence numbers
 * consistent, and is announced at the next allowed point.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "../util/str.h"
#include "imap_int.h"

struct imap_refresh {
	struct imap_job job;
	int64_t mailbox_id;
	unsigned gen;
	char name[STORE_MAILBOX_NAME_MAX + 1];
	struct store_mailbox box;
	int found;
	struct store_vmsg *msgs;
	size_t n;
	/* Incremental: msgs holds only messages changed after since, and
	 * vanished the UIDs expunged after it. since 0: the whole list. */
	uint64_t since;
	uint32_t *vanished;
	size_t n_vanished;
	struct imap_keep_reader reader;
	/* \Recent claimed in the group commit before merging. */
	bool claim_done;
	uint32_t claim_lo, claim_hi;
};

static void imap_notify_refresh(struct imap_session *s);

static void
imap_notify_watch_cb(void *ctx, int64_t account_id)
{
	struct imap_session *s = ctx;

	if (s->view == NULL || s->self_notify)
		return;
	s->view->dirty = true;
	if (s->idling && !s->refreshing)
		imap_notify_refresh(s);
	else
		imap_notify_poll(s); /* NOTIFY: between commands too */
}

void
imap_view_open(struct imap_session *s, struct imap_view *v)
{
	imap_view_close(s);
	v->gen = ++s->view_gen;
	v->watch.account_id = s->account_id;
	v->watch.cb = imap_notify_watch_cb;
	v->watch.ctx = s;
	server_watch_add(s->base.srv, &v->watch);
	imap_keep_view_add(v);
	s->view = v;
	s->state = IMAP_STATE_SELECTED;
}

void
imap_view_close(struct imap_session *s)
{
	struct imap_view *v = s->view;

	if (v == NULL)
		return;
	server_watch_remove(s->base.srv, &v->watch);
	imap_context_free_all(s);
	imap_keep_view_remove(s->base.srv, v);
	store_vmsgs_free(v->msgs, v->n);
	free(v->saved);
	free(v->claims);
	free(v->kw_known);
	free(v);
	s->view = NULL;
	s->view_gen++;
	if (s->state == IMAP_STATE_SELECTED)
		s->state = IMAP_STATE_AUTH;
}

void
imap_notify_others(struct imap_session *s, bool self)
{
	s->self_notify = !self;
	server_notify_account(s->base.srv, s->account_id);
	s->self_notify = false;
}

long
imap_view_find(const struct imap_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->msgs[mid].uid == uid)
			return (long)mid;
		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static bool
imap_kw_listed(const char *list, const char *kw, size_t len)
{
	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n == len && strncasecmp(p, kw, len) == 0)
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

void
imap_view_flags_announce(struct imap_session *s)
{
	static const char sys[] = "\\Answered \\Flagged \\Deleted \\Seen "
				  "\\Draft";
	struct imap_view *v = s->view;
	const char *kw = v->kw_known != NULL ? v->kw_known : "";
	const char *sep = kw[0] != '\0' ? " " : "";
	struct buf b;

	/* Written raw: the list can be longer than a reply text. */
	buf_init(&b, 1024);
	buf_printf(&b, "* FLAGS (%s%s%s)\r\n", sys, sep, kw);
	if (v->readonly)
		buf_printf(&b, "* OK [PERMANENTFLAGS ()] Flags permitted\r\n");
	else
		buf_printf(&b, "* OK [PERMANENTFLAGS (%s%s%s \\*)] Flags "
			   "permitted\r\n", sys, sep, kw);
	imap_reply_raw(s, b.data, b.len);
	buf_fini(&b);
}

void
imap_view_keywords_note(struct imap_session *s, const char *keywords)
{
	struct imap_view *v = s->view;
	bool added = false;

	for (const char *p = keywords; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n > 0 && v->kw_count < IMAP_VIEW_KEYWORDS_MAX &&
		    !imap_kw_listed(v->kw_known, p, n)) {
			size_t old = v->kw_known != NULL ? strlen(v->kw_known)
							 : 0;
			char *nk = realloc(v->kw_known, old + n + 2);

			if (nk == NULL)
				break;
			if (old > 0)
				nk[old++] = ' ';
			memcpy(nk + old, p, n);
			nk[old + n] = '\0';
			v->kw_known = nk;
			v->kw_count++;
			added = true;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	if (added)
		imap_view_flags_announce(s);
}

void
imap_view_flags_line(struct imap_session *s, size_t i, bool uid)
{
	const struct store_vmsg *m = &s->view->msgs[i];
	struct buf b;

	buf_init(&b, 64 * 1024);
	buf_printf(&b, "* %zu FETCH (", i + 1);
	if (uid)
		buf_printf(&b, "UID %" PRIu32 " ", m->uid);
	buf_printf(&b, "FLAGS ");
	imap_buf_flags(&b, m->flags & ~IMAP_VFLAG_EXPUNGED, m->keywords);
	if (s->condstore)
		buf_printf(&b, " MODSEQ (%" PRIu64 ")", m->modseq);
	buf_append(&b, ")\r\n", 3);
	imap_reply_raw(s, b.data, b.len);
	buf_fini(&b);
}

/* ---- refresh ---------------------------------------------------------- */

static int
imap_refresh_work(struct imap_job *j, struct store *st)
{
	struct imap_refresh *r = (struct imap_refresh *)j;
	const char *err = NULL;

	/* Counters first: a change committed between the two reads is seen
	 * in the list and reported again next time, never lost. */
	r->found = store_mailbox_get(st, r->job.s->account_id, r->name,
				     &r->box);
	if (r->since > 0 &&
	    (store_mailbox_vmsgs(st, r->mailbox_id, r->since, &r->msgs, &r->n,
				 &err) < 0 ||
	     store_vanished_since(st, r->mailbox_id, r->since, &r->vanished,
				  &r->n_vanished, &err) < 0)) {
		/* Fall back to reading the whole list. */
		store_vmsgs_free(r->msgs, r->n);
		free(r->vanished);
		r->msgs = NULL;
		r->vanished = NULL;
		r->n = r->n_vanished = 0;
		r->since = 0;
	}
	if (r->since == 0 &&
	    store_mailbox_vmsgs(st, r->mailbox_id, 0, &r->msgs, &r->n, &err) <
	    0) {
		str_lcpy(j->err, err != NULL ? err : "store error",
			 sizeof(j->err));
		return -1;
	}
	return 0;
}

static bool
imap_keywords_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == NULL || a[0] == '\0') && (b == NULL || b[0] == '\0');
	return strcmp(a, b) == 0;
}

/* A changed message of the store: new flags announced when they differ
 * from what the client knows. */
static void
imap_refresh_update(struct imap_session *s, size_t i, struct store_vmsg *n)
{
	struct store_vmsg *m = &s->view->msgs[i];

	if (m->flags & IMAP_VFLAG_EXPUNGED)
		return;
	if ((m->flags & ~IMAP_VFLAG_VIEW) != n->flags ||
	    !imap_keywords_eq(m->keywords, n->keywords)) {
		imap_view_keywords_note(s, n->keywords);
		m->flags = n->flags | (m->flags & IMAP_VFLAG_VIEW);
		free(m->keywords);
		m->keywords = n->keywords;
		n->keywords = NULL;
		m->modseq = n->modseq;
		imap_view_flags_line(s, i, s->qresync);
	} else {
		m->modseq = n->modseq;
	}
}

/* Incremental refresh: only what changed after the view's synced modseq
 * (store_mailbox_vmsgs changedsince, store_vanished_since). */
static void
imap_refresh_merge_since(struct imap_session *s, struct imap_refresh *r)
{
	struct imap_view *v = s->view;

	for (size_t k = 0; k < r->n_vanished; k++) {
		long i = imap_view_find(v, r->vanished[k]);

		if (i >= 0)
			v->msgs[i].flags |= IMAP_VFLAG_EXPUNGED;
	}
	for (size_t j = 0; j < r->n; j++) {
		long i = imap_view_find(v, r->msgs[j].uid);

		if (i >= 0)
			imap_refresh_update(s, (size_t)i, &r->msgs[j]);
	}
}

/* Flag changes and disappearances: one merge walk over both UID lists. */
static void
imap_refresh_merge(struct imap_session *s, struct imap_refresh *r)
{
	struct imap_view *v = s->view;
	size_t i = 0, j = 0;

	if (r->since > 0) {
		imap_refresh_merge_since(s, r);
		return;
	}
	while (i < v->n) {
		struct store_vmsg *m = &v->msgs[i];

		if (j >= r->n || m->uid < r->msgs[j].uid) {
			m->flags |= IMAP_VFLAG_EXPUNGED;
			i++;
			continue;
		}
		if (m->uid > r->msgs[j].uid) {
			j++;
			continue;
		}
		imap_refresh_update(s, i, &r->msgs[j]);
		i++;
		j++;
	}
}

/* New messages (UIDs above the view's last) go to the end. */
static size_t
imap_refresh_append(struct imap_session *s, struct imap_refresh *r)
{
	struct imap_view *v = s->view;
	uint32_t last = v->n > 0 ? v->msgs[v->n - 1].uid : 0;
	size_t added = 0;

	for (size_t j = 0; j < r->n; j++) {
		if (r->msgs[j].uid <= last)
			continue;
		if (v->n == v->cap) {
			size_t cap = v->cap ? v->cap * 2 : 64;
			struct store_vmsg *nm =
				realloc(v->msgs, cap * sizeof(*nm));

			if (nm == NULL)
				break;
			v->msgs = nm;
			v->cap = cap;
		}
		/* Before the EXISTS that makes it known. */
		imap_view_keywords_note(s, r->msgs[j].keywords);
		v->msgs[v->n++] = r->msgs[j];
		r->msgs[j].keywords = NULL;
		added++;
	}
	return added;
}

/* Announces held-back expunges in ascending order, each number as the
 * client counts after the previous ones (RFC 9051 §7.4.1), or as one
 * VANISHED with QRESYNC (RFC 7162 §3.2.10). */
void
imap_notify_expunges(struct imap_session *s)
{
	struct imap_view *v = s->view;
	struct buf b;
	struct imap_set_out set = { .b = &b };
	size_t out = 0;

	buf_init(&b, 1024 * 1024);
	for (size_t k = 0, gone = 0; k < v->n; k++) {
		struct store_vmsg *m = &v->msgs[k];

		if (!(m->flags & IMAP_VFLAG_EXPUNGED))
			continue;
		/* Each EXPUNGE renumbers the messages after it, so the
		 * k-th slot is now number k + 1 - gone. */
		if (s->qresync)
			imap_set_add(&set, m->uid);
		else
			imap_untagged(s, "%zu EXPUNGE", k + 1 - gone);
		gone++;
		free(m->keywords);
		m->keywords = NULL;
		/* Told: the kept message may go (imap_keep.c). */
		imap_keep_release(s->base.srv, v->mailbox_id, m->uid);
	}
	for (size_t k = 0; k < v->n; k++)
		if (!(v->msgs[k].flags & IMAP_VFLAG_EXPUNGED))
			v->msgs[out++] = v->msgs[k];
	v->n = out;
	imap_set_end(&set);
	if (b.len > 0)
		imap_untagged(s, "VANISHED %.*s", (int)b.len,
			      (const char *)b.data);
	buf_fini(&b);
}

static int
imap_refresh_claim_work(struct imap_job *j, struct store *st)
{
	struct imap_refresh *r = (struct imap_refresh *)j;

	return imap_recent_claim_work(st, r->mailbox_id, &r->claim_lo,
				      &r->claim_hi);
}

/* New messages a read-write IMAP4rev1 view must claim first. */
static bool
imap_refresh_claims(struct imap_session *s, struct imap_refresh *r)
{
	return !r->claim_done && r->job.result == 0 && s->view != NULL &&
	       s->view->gen == r->gen && !s->view->readonly &&
	       r->found == 1 && r->box.id == r->mailbox_id &&
	       imap_recent_wanted(s, &r->box);
}

static void
imap_refresh_done(struct imap_job *j)
{
	struct imap_refresh *r = (struct imap_refresh *)j;
	struct imap_session *s = j->s;
	bool expunge_ok = (!(s->cmd_flags & IMAP_CMD_NO_EXPUNGE) ||
			   !s->in_cmd || s->idling) &&
			  !imap_notify_hold_expunges(s);

	if (imap_refresh_claims(s, r)) {
		r->claim_done = true;
		j->work = imap_refresh_claim_work;
		j->requeue = j->requeue_commit = true;
		return;
	}
	s->refreshing = false;
	if (s->view != NULL && s->view->gen == r->gen && j->result == 0) {
		struct imap_view *v = s->view;

		size_t first_new;

		imap_refresh_merge(s, r);
		if (expunge_ok)
			imap_notify_expunges(s);
		first_new = v->n;
		if (imap_refresh_append(s, r) > 0) {
			imap_untagged(s, "%zu EXISTS", v->n);
			if (r->claim_done)
				imap_recent_claimed(v, r->claim_lo,
						    r->claim_hi);
			imap_recent_arrived(v, first_new);
			if (v->readonly && !s->rev2 && r->found == 1 &&
			    r->box.id == r->mailbox_id)
				imap_recent_unclaimed(v, r->box.recent_uid,
						      first_new);
			imap_recent_announce(s);
			imap_notify_new_messages(s, first_new);
		} else if (r->claim_done) {
			imap_recent_claimed(v, r->claim_lo, r->claim_hi);
		}
		imap_keep_read_end(s->base.srv, &r->reader, v, first_new);
		/* Looked up by name: after a RENAME the name may now be
		 * another mailbox, whose counters are not ours. */
		if (r->found == 1 && r->box.id == r->mailbox_id) {
			/* Counters were read before the lists. */
			v->synced_modseq = r->box.highestmodseq;
			v->uidnext = r->box.uidnext;
			if (r->box.highestmodseq > v->highestmodseq)
				v->highestmodseq = r->box.highestmodseq;
		}
	} else if (j->result < 0) {
		log_warn(s->base.id, "refresh", " error=%s", log_qs(j->err));
	}
	if (s->finish_pending) {
		s->finish_pending = false;
		/* NOTIFY's FETCH and RFC 5267 context updates after the
		 * view's own news, then the tagged reply. */
		imap_notify_after(s, imap_reply_tagged_flush);
	} else if (s->idling && s->view != NULL && s->view->dirty) {
		imap_notify_refresh(s);
	} else if (s->idling) {
		imap_notify_after(s, NULL);
	}
	imap_notify_refreshed(s);
}

static void
imap_refresh_free(struct imap_job *j)
{
	struct imap_refresh *r = (struct imap_refresh *)j;

	imap_keep_read_end(j->s->base.srv, &r->reader, NULL, 0);
	store_vmsgs_free(r->msgs, r->n);
	free(r->vanished);
	free(r);
}

static void
imap_notify_refresh(struct imap_session *s)
{
	struct imap_refresh *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return;
	s->view->dirty = false;
	s->refreshing = true;
	r->job.work = imap_refresh_work;
	r->job.done = imap_refresh_done;
	r->job.free = imap_refresh_free;
	r->mailbox_id = s->view->mailbox_id;
	r->gen = s->view->gen;
	r->since = s->view->synced_modseq;
	str_lcpy(r->name, s->view->name, sizeof(r->name));
	imap_keep_read_begin(&r->reader);
	imap_job_read(s, &r->job);
}

void
imap_view_refresh(struct imap_session *s)
{
	if (s->view != NULL && !s->refreshing)
		imap_notify_refresh(s);
	else
		imap_notify_refreshed(s);
}

void
imap_notify_before_tagged(struct imap_session *s)
{
	if (s->refreshing) {
		s->finish_pending = true;
		return;
	}
	if (s->view != NULL && s->view->dirty && s->state != IMAP_STATE_LOGOUT) {
		s->finish_pending = true;
		imap_notify_refresh(s);
		return;
	}
	/* Expunges held back during FETCH/STORE/SEARCH go out at the next
	 * command that allows them. */
	if (s->view != NULL && !(s->cmd_flags & IMAP_CMD_NO_EXPUNGE)) {
		for (size_t k = 0; k < s->view->n; k++)
			if (s->view->msgs[k].flags & IMAP_VFLAG_EXPUNGED) {
				imap_notify_expunges(s);
				break;
			}
	}
	imap_notify_after(s, imap_reply_tagged_flush);
}

void
imap_notify_idle(struct imap_session *s)
{
	if (s->view == NULL)
		return;
	/* Expunges held back during an earlier FETCH/STORE/SEARCH go out
	 * now: IDLE allows them (RFC 2177), and nothing else may change. */
	for (size_t k = 0; k < s->view->n; k++)
		if (s->view->msgs[k].flags & IMAP_VFLAG_EXPUNGED) {
			imap_notify_expunges(s);
			break;
		}
	if (s->view->dirty && !s->refreshing)
		imap_notify_refresh(s);
}

/* ---- sequence sets ---------------------------------------------------- */

static int
imap_resolve_push(size_t **idx, size_t *n, size_t *cap, size_t i)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		size_t *ni = realloc(*idx, nc * sizeof(*ni));

		if (ni == NULL)
			return -1;
		*idx = ni;
		*cap = nc;
	}
	(*idx)[(*n)++] = i;
	return 0;
}

/* "$" (RFC 5182): the UIDs saved by SEARCH RETURN (SAVE). */
static int
imap_resolve_saved(const struct imap_view *v, size_t **idx_r, size_t *n_r)
{
	size_t n = 0, cap = 0, *idx = NULL;

	for (size_t k = 0; v->saved != NULL && k < v->n_saved; k++) {
		long i = imap_view_find(v, v->saved[k]);
		if (i >= 0 && imap_resolve_push(&idx, &n, &cap, (size_t)i) < 0) {
			free(idx);
			return -1;
		}
	}
	*idx_r = idx;
	*n_r = n;
	return 0;
}

/* RFC 9051 §9: a sequence number beyond the mailbox is an error ("*" is
 * fine even when empty... but not here). */
static bool
imap_resolve_out_of_range(const struct imap_view *v,
			  const struct imap_seqset *set, uint32_t max)
{
	bool bad = false;

	for (size_t k = 0; k < set->n; k++) {
		uint32_t lo, hi;

		imap_range_bounds(&set->r[k], max, &lo, &hi);
		if (hi > max || v->n == 0)
			bad = true;
	}
	return bad;
}

int
imap_view_resolve(struct imap_session *s, const struct imap_arg *arg,
		  bool uid, size_t **idx_r, size_t *n_r, bool *bad_r)
{
	struct imap_view *v = s->view;
	struct imap_seqset set;
	size_t n = 0, cap = 0, *idx = NULL;
	uint32_t max;

	*idx_r = NULL;
	*n_r = 0;
	*bad_r = false;
	memset(&set, 0, sizeof(set));
	if (arg->type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(arg->str, arg->len, &set) < 0) {
		*bad_r = true;
		return 0;
	}
	if (set.saved) {
		imap_seqset_free(&set);
		return imap_resolve_saved(v, idx_r, n_r);
	}
	max = uid ? (v->n > 0 ? v->msgs[v->n - 1].uid : 0) : (uint32_t)v->n;
	if (!uid && imap_resolve_out_of_range(v, &set, max)) {
		*bad_r = true;
		imap_seqset_free(&set);
		return 0;
	}
	imap_seqset_normalize(&set, max);
	for (size_t i = 0; i < v->n; i++) {
		uint32_t key = uid ? v->msgs[i].uid : (uint32_t)(i + 1);

		if (imap_seqset_contains(&set, key, max) &&
		    imap_resolve_push(&idx, &n, &cap, i) < 0)
			goto nomem;
	}
	imap_seqset_free(&set);
	*idx_r = idx;
	*n_r = n;
	return 0;
nomem:
	imap_seqset_free(&set);
	free(idx);
	return -1;
}
