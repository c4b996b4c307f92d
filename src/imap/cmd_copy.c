/*
 * COPY and MOVE (RFC 9051 §6.4.7-8, RFC 6851) and their UID forms, with
 * UIDPLUS COPYUID (RFC 4315 §3). One group-commit job copies (and for
 * MOVE expunges the originals) in one savepoint, so a MOVE is atomic.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../core/diskfree.h"
#include "../util/str.h"
#include "imap_int.h"

struct imap_copy_job {
	struct imap_job job;
	int64_t account_id, src_mailbox;
	unsigned gen;
	bool move, trycreate, overquota;
	uint64_t quota_default;
	char name[STORE_MAILBOX_NAME_MAX + 1];
	uint32_t *uids;
	size_t n;
	uint32_t *src_uids, *dst_uids;
	size_t n_copied;
	uint32_t dst_uidvalidity;
	struct imap_keep_set keep; /* MOVE: for others that number them */
};

/* MOVE: the rows of the moved originals, for sessions that still number
 * them (imap_keep.c). In the transaction, before the expunge. */
static int
imap_copy_capture(struct imap_copy_job *x, struct store *st,
		  const char **err_r)
{
	for (size_t i = 0; i < x->n_copied; i += STORE_IMSGS_UIDS_MAX) {
		size_t chunk = x->n_copied - i < STORE_IMSGS_UIDS_MAX
				       ? x->n_copied - i : STORE_IMSGS_UIDS_MAX;
		struct store_imsg *rows;
		size_t n_rows;
		int r;

		if (store_mailbox_imsgs_uids(st, x->src_mailbox,
					     x->src_uids + i, chunk, &rows,
					     &n_rows, err_r) < 0)
			return -1;
		r = imap_keep_capture(&x->keep, rows, n_rows);
		store_imsgs_free(rows, n_rows);
		if (r < 0) {
			*err_r = "out of memory";
			return -1;
		}
	}
	return 0;
}

static int
imap_copy_work(struct imap_job *j, struct store *st)
{
	struct imap_copy_job *x = (struct imap_copy_job *)j;
	struct store_mailbox box;
	const char *err = NULL;

	int found = store_mailbox_get(st, x->account_id, x->name, &box);

	if (found != 1) {
		/* RFC 9051 §6.3.12: TRYCREATE only when the mailbox is
		 * missing, not when the store failed. */
		x->trycreate = found == 0;
		str_lcpy(j->err, "No such mailbox", sizeof(j->err));
		return -1;
	}
	x->dst_uidvalidity = box.uidvalidity;
	imap_keep_set_free(&x->keep);
	x->keep.mailbox_id = x->src_mailbox;
	if (store_copy(st, x->src_mailbox, box.id, x->uids, x->n,
		       &x->src_uids, &x->dst_uids, &x->n_copied, &err) < 0)
		goto fail;
	/* src_uids ascend (store_copy). */
	if (x->move && x->n_copied > 0 &&
	    (imap_copy_capture(x, st, &err) < 0 ||
	     store_expunge_uids(st, x->src_mailbox, x->src_uids, x->n_copied,
				&x->keep.orphans, &err) < 0))
		goto fail;
	/* RFC 9208 §4.3: a COPY adds its messages' sizes to the
	 * usage, checked inside this savepoint (undone when over). A MOVE
	 * inside the account leaves the usage as it was, so it is always
	 * allowed: moving to Trash and expunging is how a full account
	 * makes room. */
	if (!x->move && x->n_copied > 0 &&
	    (imap_quota_over(st, x->account_id, x->quota_default,
			     &x->overquota, &err) < 0 || x->overquota)) {
		err = x->overquota ? "over quota" : err;
		goto fail;
	}
	return 0;
fail:
	str_lcpy(j->err, err != NULL ? err : "store error", sizeof(j->err));
	return -1;
}

static void
imap_copy_done(struct imap_job *j)
{
	struct imap_copy_job *x = (struct imap_copy_job *)j;
	struct imap_session *s = j->s;
	const char *what = x->move ? "MOVE" : "COPY";
	struct buf code;

	if (j->result < 0) {
		if (x->trycreate)
			imap_finish(s, "NO", "TRYCREATE", "No such mailbox");
		else if (x->overquota)
			imap_finish(s, "NO", "OVERQUOTA", "Quota exceeded");
		else
			imap_finish(s, "NO", "UNAVAILABLE", "%s failed", what);
		return;
	}
	buf_init(&code, 16 * 1024 * 1024);
	buf_printf(&code, "COPYUID %" PRIu32 " ", x->dst_uidvalidity);
	/* Both lists ascend and pair up in order (RFC 4315 §3). */
	imap_buf_set(&code, x->src_uids, x->n_copied);
	buf_append(&code, " ", 1);
	imap_buf_set(&code, x->dst_uids, x->n_copied);
	buf_append(&code, "", 1);
	if (x->move) {
		/* RFC 6851 §4.3: COPYUID goes in an untagged OK before the
		 * expunges. */
		if (x->n_copied > 0)
			imap_untagged(s, "OK [%s] Moved", (const char *)code.data);
		if (s->view != NULL && s->view->gen == x->gen) {
			for (size_t i = 0; i < x->n_copied; i++) {
				long k = imap_view_find(s->view,
							x->src_uids[i]);
				if (k >= 0)
					s->view->msgs[k].flags |=
						IMAP_VFLAG_EXPUNGED;
			}
			imap_notify_expunges(s);
		}
		imap_notify_others(s, true);
		imap_finish(s, "OK", NULL, "MOVE completed");
	} else {
		imap_notify_others(s, true);
		if (x->n_copied > 0)
			imap_finish(s, "OK", (const char *)code.data,
				    "COPY completed");
		else
			imap_finish(s, "OK", NULL, "COPY completed");
	}
	buf_fini(&code);
}

/* Commit thread: an undone MOVE keeps its rows and files. */
static void
imap_copy_after(struct imap_job *j, bool ok)
{
	struct imap_copy_job *x = (struct imap_copy_job *)j;

	if (!ok)
		imap_keep_set_free(&x->keep);
}

static void
imap_copy_free(struct imap_job *j)
{
	struct imap_copy_job *x = (struct imap_copy_job *)j;

	if (j->result == 0 &&
	    (x->keep.n > 0 || x->keep.orphans != NULL))
		imap_keep_register(j->s->base.srv, &x->keep);
	imap_keep_set_free(&x->keep);
	free(x->uids);
	free(x->src_uids);
	free(x->dst_uids);
	store_strv_free(x->job.orphans);
	free(x);
}

void
imap_cmd_copy(struct imap_session *s, const struct imap_cmd *c)
{
	struct imap_copy_job *x = calloc(1, sizeof(*x));
	size_t *idx = NULL, n = 0;
	bool bad = false;

	if (x == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	x->move = s->cmd_variant == IMAP_VARIANT_MOVE;
	/* The table says two arguments. */
	if (imap_mailbox_arg(s, &c->args[1], x->name, sizeof(x->name)) < 0 ||
	    imap_view_resolve(s, &c->args[0], c->uid, &idx, &n, &bad) < 0 ||
	    bad) {
		free(idx);
		imap_copy_free(&x->job);
		imap_finish(s, "BAD", NULL, "Bad %s arguments", c->name);
		session_error(&s->base);
		return;
	}
	if (x->move && s->view->readonly) {
		free(idx);
		imap_copy_free(&x->job);
		imap_finish(s, "NO", "READ-ONLY", "Mailbox is read-only");
		return;
	}
	x->uids = calloc(n + 1, sizeof(*x->uids));
	for (size_t i = 0; x->uids != NULL && i < n; i++)
		if (!(s->view->msgs[idx[i]].flags & IMAP_VFLAG_EXPUNGED))
			x->uids[x->n++] = s->view->msgs[idx[i]].uid;
	free(idx);
	if (x->uids == NULL) {
		imap_copy_free(&x->job);
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	/* Below min_free_disk a COPY (new rows) is refused as an
	 * APPEND is (cmd_append.c); a MOVE adds nothing and goes on. */
	if (!x->move &&
	    diskfree_low(s->base.srv->cfg.data_dir,
			 s->base.srv->cfg.min_free_disk)) {
		imap_copy_free(&x->job);
		imap_finish(s, "NO", "UNAVAILABLE",
			    "Insufficient server storage; try again later");
		return;
	}
	x->account_id = s->account_id;
	x->quota_default = s->base.srv->cfg.quota_default;
	x->src_mailbox = s->view->mailbox_id;
	x->gen = s->view->gen;
	x->job.work = imap_copy_work;
	x->job.done = imap_copy_done;
	x->job.after = imap_copy_after;
	x->job.free = imap_copy_free;
	imap_job_commit(s, &x->job);
}
