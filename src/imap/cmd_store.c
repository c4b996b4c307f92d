/*
 * STORE and UID STORE (RFC 9051 §6.4.6) with .SILENT and the CONDSTORE
 * UNCHANGEDSINCE modifier (RFC 7162 §3.1.3: messages changed meanwhile are
 * left alone and listed in [MODIFIED]). The change goes through the group
 * commit; the FETCH responses and OK follow once it is durable.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "imap_int.h"

struct imap_store_job {
	struct imap_job job;
	struct imap_store_args a;
	int64_t mailbox_id;
	unsigned gen;
	bool uid;
	uint32_t *uids;
	size_t n;
	struct store_flag_change *changes;
	size_t n_changes;
	uint32_t *failed;
	size_t n_failed;
};

static int
imap_store_work(struct imap_job *j, struct store *st)
{
	struct imap_store_job *x = (struct imap_store_job *)j;
	static const enum store_flag_mode modes[] = {
		[IMAP_STORE_SET] = STORE_FLAGS_SET,
		[IMAP_STORE_ADD] = STORE_FLAGS_ADD,
		[IMAP_STORE_REMOVE] = STORE_FLAGS_REMOVE,
	};
	const char *err = NULL;
	int r;

	r = store_flags_change(st, x->mailbox_id, x->uids, x->n,
			       modes[x->a.mode], x->a.flags, x->a.keywords,
			       x->a.n_keywords,
			       x->a.unchangedsince_set ? x->a.unchangedsince
						       : 0,
			       &x->changes, &x->n_changes, &x->failed,
			       &x->n_failed, &err);
	if (r < 0)
		str_lcpy(j->err, err != NULL ? err : "store error",
			 sizeof(j->err));
	return r;
}

/* true when sorted list v holds uid; *at walks forward with the caller's
 * ascending uids, so a pass over a whole STORE is linear. */
static bool
imap_store_has(const uint32_t *v, size_t n, size_t *at, uint32_t uid)
{
	while (*at < n && v[*at] < uid)
		(*at)++;
	return *at < n && v[*at] == uid;
}

/* Takes the committed flags, keywords and modseqs into the view; a new
 * keyword is announced before the FETCH responses that show it. */
static void
imap_store_apply(struct imap_store_job *x, struct imap_session *s,
		 struct imap_view *v)
{
	for (size_t i = 0; i < x->n_changes; i++) {
		long k = imap_view_find(v, x->changes[i].uid);

		if (k < 0)
			continue;
		imap_view_keywords_note(s, x->changes[i].keywords);
		v->msgs[k].flags = x->changes[i].flags |
				   (v->msgs[k].flags & IMAP_VFLAG_VIEW);
		free(v->msgs[k].keywords);
		v->msgs[k].keywords = x->changes[i].keywords;
		x->changes[i].keywords = NULL;
		v->msgs[k].modseq = x->changes[i].modseq;
		if (x->changes[i].modseq > v->highestmodseq)
			v->highestmodseq = x->changes[i].modseq;
	}
}

/* Without .SILENT every message of the set is reported with its
 * flags; with CONDSTORE the changed ones always (RFC 7162 §3.1.3). */
static void
imap_store_report(struct imap_store_job *x, struct imap_session *s,
		  struct imap_view *v)
{
	/* uids, changes and failed all ascend (the store works in UID
	 * order). */
	for (size_t i = 0, c = 0, f = 0; i < x->n; i++) {
		long k = imap_view_find(v, x->uids[i]);
		bool changed;

		while (c < x->n_changes && x->changes[c].uid < x->uids[i])
			c++;
		changed = c < x->n_changes && x->changes[c].uid == x->uids[i];
		if (k < 0 || imap_store_has(x->failed, x->n_failed, &f,
					    x->uids[i]))
			continue;
		if (!x->a.silent || (changed && s->condstore &&
				     x->a.unchangedsince_set))
			imap_view_flags_line(s, (size_t)k,
					       x->uid || s->qresync);
	}
}

/* OK [MODIFIED set] for the messages UNCHANGEDSINCE left alone
 * (RFC 7162 §3.1.3). */
static void
imap_store_modified(struct imap_store_job *x, struct imap_session *s,
		    struct imap_view *v)
{
	struct imap_set_out set = { 0 };
	struct buf mod;

	buf_init(&mod, 16 * 1024 * 1024);
	buf_printf(&mod, "MODIFIED ");
	set.b = &mod;
	for (size_t i = 0; i < x->n_failed; i++) {
		long k = imap_view_find(v, x->failed[i]);

		if (k >= 0)
			imap_set_add(&set, x->uid ? x->failed[i]
						  : (uint32_t)(k + 1));
	}
	imap_set_end(&set);
	buf_append(&mod, "", 1); /* a C string for the response code */
	imap_finish(s, "OK", (const char *)mod.data, "Conditional STORE failed");
	buf_fini(&mod);
}

static void
imap_store_done(struct imap_job *j)
{
	struct imap_store_job *x = (struct imap_store_job *)j;
	struct imap_session *s = j->s;
	struct imap_view *v = s->view;

	if (j->result < 0 || v == NULL || v->gen != x->gen) {
		imap_finish(s, "NO", "UNAVAILABLE", "STORE failed: %s", j->err);
		return;
	}
	imap_store_apply(x, s, v);
	imap_store_report(x, s, v);
	if (x->n_changes > 0)
		imap_notify_others(s, false);
	if (x->n_failed == 0) {
		imap_finish(s, "OK", NULL, "STORE completed");
		return;
	}
	imap_store_modified(x, s, v);
}

static void
imap_store_free(struct imap_job *j)
{
	struct imap_store_job *x = (struct imap_store_job *)j;

	imap_store_args_free(&x->a);
	free(x->uids);
	store_flag_changes_free(x->changes, x->n_changes);
	free(x->failed);
	free(x);
}

void
imap_cmd_store(struct imap_session *s, const struct imap_cmd *c)
{
	struct imap_store_job *x = calloc(1, sizeof(*x));
	const char *err = NULL;
	size_t *idx = NULL, n = 0;
	bool bad = false;

	if (x == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	if (c->n_args < 3 ||
	    imap_store_parse(c->args + 1, c->n_args - 1, &x->a, &err) < 0) {
		imap_store_free(&x->job);
		imap_finish(s, "BAD", NULL, "%s",
			    err != NULL ? err : "Bad STORE arguments");
		session_error(&s->base);
		return;
	}
	if (imap_view_resolve(s, &c->args[0], c->uid, &idx, &n, &bad) < 0 ||
	    bad) {
		free(idx);
		imap_store_free(&x->job);
		imap_finish(s, "BAD", NULL, "Invalid message set");
		return;
	}
	if (s->view->readonly) {
		free(idx);
		imap_store_free(&x->job);
		imap_finish(s, "NO", "READ-ONLY", "Mailbox is read-only");
		return;
	}
	if (x->a.unchangedsince_set)
		imap_condstore_enable(s);
	x->uids = calloc(n + 1, sizeof(*x->uids));
	for (size_t i = 0; x->uids != NULL && i < n; i++)
		if (!(s->view->msgs[idx[i]].flags & IMAP_VFLAG_EXPUNGED))
			x->uids[x->n++] = s->view->msgs[idx[i]].uid;
	free(idx);
	if (x->uids == NULL) {
		imap_store_free(&x->job);
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	if (x->n == 0) {
		imap_store_free(&x->job);
		imap_finish(s, "OK", NULL, "STORE completed");
		return;
	}
	x->uid = c->uid;
	x->mailbox_id = s->view->mailbox_id;
	x->gen = s->view->gen;
	x->job.work = imap_store_work;
	x->job.done = imap_store_done;
	x->job.free = imap_store_free;
	imap_job_commit(s, &x->job);
}
