/*
 * APPEND (RFC 9051 §6.3.12) with flags and date, UIDPLUS APPENDUID (RFC
 * 4315) and APPENDLIMIT (RFC 7889). The message file is written and
 * fsynced on an I/O worker, which also computes its MIME metadata; the
 * row is added by the group commit; OK is sent once both are durable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/diskfree.h"
#include "../store/blob.h"
#include "../util/str.h"
#include "imap_int.h"
#include "imap_msgfile.h"

struct imap_append_job {
	struct imap_job job;
	int64_t account_id;
	char name[STORE_MAILBOX_NAME_MAX + 1];
	char *data;
	size_t len;
	uint32_t flags;
	char **keywords;
	size_t n_keywords;
	int64_t internaldate;
	char data_dir[4096];
	char blob[BLOB_PATH_MAX];
	struct store_meta meta;
	bool have_meta, trycreate, applied, overquota;
	/* The file is written and its fate (committed or unlinked) not yet
	 * decided by the commit step. */
	bool written;
	uint64_t quota_default;
	uint32_t uidvalidity, uid;
	/* \Recent: into this session's read-write IMAP4rev1 view, whose
	 * client is the first told of it (RFC 3501 §2.3.2), so it claims in
	 * this transaction rather than in a commit of its own later. */
	int64_t claim_mailbox;
	unsigned claim_gen;
	uint32_t claim_lo, claim_hi;
};

static int
imap_append_commit_work(struct imap_job *j, struct store *st)
{
	struct imap_append_job *x = (struct imap_append_job *)j;
	struct store_mailbox box;
	struct store_delivery d;
	const char *err = NULL;

	int found = store_mailbox_get(st, x->account_id, x->name, &box);

	if (found != 1) {
		/* RFC 9051 §6.3.12: TRYCREATE only when the mailbox is
		 * missing, not when the store failed. */
		x->trycreate = found == 0;
		str_lcpy(j->err, "No such mailbox", sizeof(j->err));
		return -1;
	}
	memset(&d, 0, sizeof(d));
	str_lcpy(d.blob, x->blob, sizeof(d.blob));
	d.size = (int64_t)x->len;
	d.internaldate = x->internaldate;
	d.meta = x->have_meta ? &x->meta : NULL;
	if (store_append(st, box.id, &d, x->flags, x->keywords, x->n_keywords,
			 &x->uid, &err) < 0) {
		str_lcpy(j->err, err != NULL ? err : "store error",
			 sizeof(j->err));
		return -1;
	}
	/* RFC 9208 §4.3: checked after the row is in, inside this
	 * job's savepoint: over the limit, the savepoint is undone. The
	 * group commit runs jobs one by one, so a second APPEND sees the
	 * first one's usage: two cannot both pass. */
	if (imap_quota_over(st, x->account_id, x->quota_default,
			    &x->overquota, &err) < 0 || x->overquota) {
		str_lcpy(j->err, x->overquota ? "over quota" : err,
			 sizeof(j->err));
		return -1;
	}
	x->uidvalidity = box.uidvalidity;
	x->applied = true;
	if (x->claim_mailbox == box.id)
		(void)imap_recent_claim_work(st, box.id, &x->claim_lo,
					     &x->claim_hi);
	return 0;
}

static void
imap_append_after(struct imap_job *j, bool ok)
{
	struct imap_append_job *x = (struct imap_append_job *)j;

	/* Not committed: the file is nobody's. */
	if (!ok || !x->applied)
		blob_unlink(x->data_dir, x->blob);
	x->written = false;
}

static void
imap_append_commit_done(struct imap_job *j)
{
	struct imap_append_job *x = (struct imap_append_job *)j;
	struct imap_session *s = j->s;
	char code[64];

	if (j->result < 0) {
		if (x->trycreate)
			imap_finish(s, "NO", "TRYCREATE", "No such mailbox");
		else if (x->overquota)
			imap_finish(s, "NO", "OVERQUOTA", "Quota exceeded");
		else
			imap_finish(s, "NO", "UNAVAILABLE", "APPEND failed");
		return;
	}
	/* Our own view learns of it at the next refresh like any other. */
	if (s->view != NULL && s->view->gen == x->claim_gen &&
	    s->view->mailbox_id == x->claim_mailbox)
		imap_recent_claimed(s->view, x->claim_lo, x->claim_hi);
	imap_notify_others(s, true);
	snprintf(code, sizeof(code), "APPENDUID %" PRIu32 " %" PRIu32,
		 x->uidvalidity, x->uid);
	imap_finish(s, "OK", code, "APPEND completed");
}

static int
imap_append_io_work(struct imap_job *j, struct store *unused)
{
	struct imap_append_job *x = (struct imap_append_job *)j;

	if (blob_write(x->data_dir, NULL, 0, x->data, x->len, x->blob,
		       NULL) < 0) {
		str_lcpy(j->err, "cannot write message", sizeof(j->err));
		return -1;
	}
	x->written = true;
	x->have_meta = imap_meta_compute(x->data, x->len, &x->meta) == 0;
	return 0;
}

static void
imap_append_io_done(struct imap_job *j)
{
	struct imap_append_job *x = (struct imap_append_job *)j;

	if (j->result < 0) {
		imap_finish(j->s, "NO", "UNAVAILABLE", "APPEND failed");
		return;
	}
	free(x->data);
	x->data = NULL;
	/* The same job continues in the group commit. */
	j->work = imap_append_commit_work;
	j->done = imap_append_commit_done;
	j->after = imap_append_after;
	str_lcpy(j->sync_blob, x->blob, sizeof(j->sync_blob));
	j->requeue = true;
	j->requeue_commit = true;
}

static void
imap_append_free(struct imap_job *j)
{
	struct imap_append_job *x = (struct imap_append_job *)j;

	/* The client left between the write and the commit: the job ends
	 * without its commit step (imap_job_end), so the file is nobody's.
	 * One unlink on the loop, only for a vanished client. */
	if (x->written)
		blob_unlink(x->data_dir, x->blob);
	free(x->data);
	for (size_t i = 0; i < x->n_keywords; i++)
		free(x->keywords[i]);
	free(x->keywords);
	store_meta_free(&x->meta);
	free(x);
}

/* APPEND mailbox [(flags)] [date-time] literal */
static int
imap_append_args(struct imap_session *s, const struct imap_cmd *c,
		 struct imap_append_job *x, const char **err_r)
{
	size_t i = 1;
	const struct imap_arg *msg;

	*err_r = "Bad APPEND arguments";
	if (c->n_args < 2 ||
	    imap_mailbox_arg(s, &c->args[0], x->name, sizeof(x->name)) < 0)
		return -1;
	if (c->args[i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(&c->args[i], &x->flags, &x->keywords,
				     &x->n_keywords, err_r) < 0)
			return -1;
		i++;
	}
	x->internaldate = (int64_t)time(NULL);
	if (i + 1 < c->n_args && c->args[i].type == IMAP_ARG_STRING) {
		if (imap_parse_datetime(c->args[i].str, c->args[i].len,
					&x->internaldate) < 0) {
			*err_r = "Bad date-time";
			return -1;
		}
		i++;
	}
	if (i + 1 != c->n_args && !(i + 2 == c->n_args &&
				    imap_arg_atom_is(&c->args[i], "UTF8")))
		return -1;
	msg = &c->args[i];
	if (i + 2 == c->n_args) {
		/* RFC 6855 §4: UTF8 (literal8), a message whose header may
		 * hold raw UTF-8; only once UTF8=ACCEPT is enabled. */
		msg = &c->args[i + 1];
		if (!s->utf8 || msg->type != IMAP_ARG_LIST ||
		    msg->list_n != 1 || !msg->list[0].literal8)
			return -1;
		msg = &msg->list[0];
	}
	if (msg->type != IMAP_ARG_LITERAL && msg->type != IMAP_ARG_STRING)
		return -1;
	x->data = malloc(msg->len + 1);
	if (x->data == NULL)
		return -1;
	memcpy(x->data, msg->str, msg->len);
	x->len = msg->len;
	return 0;
}

void
imap_cmd_append(struct imap_session *s, const struct imap_cmd *c)
{
	struct imap_append_job *x = calloc(1, sizeof(*x));
	const char *err = NULL;

	if (x == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	if (imap_append_args(s, c, x, &err) < 0) {
		imap_append_free(&x->job);
		imap_finish(s, "BAD", NULL, "%s", err);
		session_error(&s->base);
		return;
	}
	if (x->len == 0 || x->len > s->base.srv->cfg.max_message_size) {
		imap_append_free(&x->job);
		imap_finish(s, "NO", "TOOBIG", "Message size not allowed");
		return;
	}
	/* Below min_free_disk nothing new is stored. RFC 5530
	 * UNAVAILABLE (a temporary failure; as SMTP's 452 4.3.1): the
	 * condition is the server's, not the user's quota (OVERQUOTA), and
	 * clears when the administrator frees space (LIMIT is permanent). */
	if (diskfree_low(s->base.srv->cfg.data_dir,
			 s->base.srv->cfg.min_free_disk)) {
		imap_append_free(&x->job);
		imap_finish(s, "NO", "UNAVAILABLE",
			    "Insufficient server storage; try again later");
		return;
	}
	x->account_id = s->account_id;
	x->quota_default = s->base.srv->cfg.quota_default;
	if (s->view != NULL && !s->view->readonly && !s->rev2) {
		x->claim_mailbox = s->view->mailbox_id;
		x->claim_gen = s->view->gen;
	}
	str_lcpy(x->data_dir, s->base.srv->cfg.data_dir, sizeof(x->data_dir));
	x->job.work = imap_append_io_work;
	x->job.done = imap_append_io_done;
	x->job.free = imap_append_free;
	imap_job_io(s, &x->job);
}
