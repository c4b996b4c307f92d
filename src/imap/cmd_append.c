/*
 * APPEND (RFC 9051 §6.3.12) with flags and date, MULTIAPPEND (RFC 3502:
 * several messages in one command, all or none), UIDPLUS APPENDUID (RFC
 * 4315, a UID set for several) and APPENDLIMIT (RFC 7889). The message
 * files are written and fsynced on an I/O worker, which also computes
 * their MIME metadata; the rows are added by the group commit in one
 * savepoint; OK is sent once both are durable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/diskfree.h"
#include "../core/limits.h"
#include "../store/blob.h"
#include "../util/str.h"
#include "imap_int.h"
#include "imap_msgfile.h"

struct imap_append_msg {
	char *data;
	size_t len;
	uint32_t flags;
	char **keywords;
	size_t n_keywords;
	int64_t internaldate;
	char blob[BLOB_PATH_MAX];
	struct store_meta meta;
	bool have_meta;
	/* The file is written and its fate (committed or unlinked) not yet
	 * decided by the commit step. */
	bool written;
	uint32_t uid;
};

struct imap_append_job {
	struct imap_job job;
	int64_t account_id;
	char name[STORE_MAILBOX_NAME_MAX + 1];
	struct imap_append_msg *msgs;
	size_t n_msgs;
	ssize_t first_file;      /* the first message written to a file, -1 */
	char data_dir[4096];
	bool trycreate, applied, overquota;
	uint64_t quota_default;
	uint32_t uidvalidity;
	/* \Recent: into this session's read-write IMAP4rev1 view, whose
	 * client is the first told of it (RFC 3501 §2.3.2), so it claims in
	 * this transaction rather than in a commit of its own later. */
	int64_t claim_mailbox;
	unsigned claim_gen;
	uint32_t claim_lo, claim_hi;
};

static void
imap_append_unlink(struct imap_append_job *x)
{
	for (size_t i = 0; i < x->n_msgs; i++) {
		if (x->msgs[i].written)
			blob_unlink(x->data_dir, x->msgs[i].blob);
		x->msgs[i].written = false;
	}
}

static int
imap_append_commit_work(struct imap_job *j, struct store *st)
{
	struct imap_append_job *x = (struct imap_append_job *)j;
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
	/* RFC 3502 §3: all messages or none; a failure returns -1 and the
	 * job's savepoint takes back the rows already added. */
	for (size_t i = 0; i < x->n_msgs; i++) {
		struct imap_append_msg *m = &x->msgs[i];
		struct store_delivery d;

		memset(&d, 0, sizeof(d));
		str_lcpy(d.blob, m->blob, sizeof(d.blob));
		if (blob_is_stored(m->blob)) {
			d.data = m->data;
			d.data_len = m->len;
		}
		d.size = (int64_t)m->len;
		d.internaldate = m->internaldate;
		d.meta = m->have_meta ? &m->meta : NULL;
		if (store_append(st, box.id, &d, m->flags, m->keywords,
				 m->n_keywords, &m->uid, &err) < 0) {
			str_lcpy(j->err, err != NULL ? err : "store error",
				 sizeof(j->err));
			return -1;
		}
	}
	/* RFC 9208 §4.3: checked after the rows are in, inside this
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

	/* Not committed: the files are nobody's. */
	if (!ok || !x->applied)
		imap_append_unlink(x);
	for (size_t i = 0; i < x->n_msgs; i++)
		x->msgs[i].written = false;
}

static void
imap_append_commit_done(struct imap_job *j)
{
	struct imap_append_job *x = (struct imap_append_job *)j;
	struct imap_session *s = j->s;
	struct buf code;
	uint32_t *uids;

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
	/* RFC 4315 §3 with RFC 3502: the UIDs of all appended messages,
	 * in the order of the command, as a set. */
	uids = calloc(x->n_msgs, sizeof(*uids));
	buf_init(&code, 1024 * 1024);
	buf_printf(&code, "APPENDUID %" PRIu32 " ", x->uidvalidity);
	if (uids != NULL) {
		for (size_t i = 0; i < x->n_msgs; i++)
			uids[i] = x->msgs[i].uid;
		imap_buf_set(&code, uids, x->n_msgs);
	}
	buf_append(&code, "", 1);
	if (uids != NULL && code.data != NULL)
		imap_finish(s, "OK", (const char *)code.data,
			    "APPEND completed");
	else
		imap_finish(s, "OK", NULL, "APPEND completed");
	buf_fini(&code);
	free(uids);
}

static int
imap_append_io_work(struct imap_job *j, struct store *unused)
{
	struct imap_append_job *x = (struct imap_append_job *)j;

	(void)unused;
	for (size_t i = 0; i < x->n_msgs; i++) {
		struct imap_append_msg *m = &x->msgs[i];
		const char *slash;

		m->have_meta = imap_meta_compute(m->data, m->len, &m->meta) == 0;
		/* A small message goes into the store with its rows (blob.h):
		 * no file to write, sync and unlink. */
		if (m->len <= BLOB_STORED_MAX) {
			blob_stored_path(m->blob);
			continue;
		}
		if (blob_write(x->data_dir, NULL, 0, m->data, m->len, m->blob,
			       NULL) < 0) {
			str_lcpy(j->err, "cannot write message",
				 sizeof(j->err));
			imap_append_unlink(x);
			return -1;
		}
		m->written = true;
		if (x->first_file < 0)
			x->first_file = (ssize_t)i;
		/* The group commit syncs the first file's directory; one
		 * written after midnight lives in another, synced here. */
		slash = strrchr(m->blob, '/');
		if ((size_t)x->first_file != i && slash != NULL &&
		    strncmp(m->blob, x->msgs[x->first_file].blob,
			    (size_t)(slash - m->blob) + 1) != 0 &&
		    blob_sync_dir(x->data_dir, m->blob) < 0) {
			str_lcpy(j->err, "cannot sync directory",
				 sizeof(j->err));
			imap_append_unlink(x);
			return -1;
		}
	}
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
	/* The octets of a stored body go into the commit. */
	for (size_t i = 0; i < x->n_msgs; i++) {
		if (blob_is_stored(x->msgs[i].blob))
			continue;
		free(x->msgs[i].data);
		x->msgs[i].data = NULL;
	}
	/* The same job continues in the group commit. */
	j->work = imap_append_commit_work;
	j->done = imap_append_commit_done;
	j->after = imap_append_after;
	if (x->first_file >= 0)
		str_lcpy(j->sync_blob, x->msgs[x->first_file].blob,
			 sizeof(j->sync_blob));
	j->requeue = true;
	j->requeue_commit = true;
}

static void
imap_append_free(struct imap_job *j)
{
	struct imap_append_job *x = (struct imap_append_job *)j;

	/* The client left between the write and the commit: the job ends
	 * without its commit step (imap_job_end), so the files are
	 * nobody's. Unlinks on the loop, only for a vanished client. */
	imap_append_unlink(x);
	for (size_t i = 0; i < x->n_msgs; i++) {
		struct imap_append_msg *m = &x->msgs[i];

		free(m->data);
		for (size_t k = 0; k < m->n_keywords; k++)
			free(m->keywords[k]);
		free(m->keywords);
		store_meta_free(&m->meta);
	}
	free(x->msgs);
	free(x);
}

/* One message of the command from args[*i]: [(flags)] [date-time]
 * (literal | UTF8 (literal8)). A quoted string is a date-time when more
 * follows it, else the message (lenient: RFC 9051 wants a literal).
 * 0 ok, -1 syntax error (err_r). */
static int
imap_append_msg_args(struct imap_session *s, const struct imap_cmd *c,
		     size_t *ip, struct imap_append_msg *m, const char **err_r)
{
	size_t i = *ip;
	const struct imap_arg *msg;

	if (i < c->n_args && c->args[i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(&c->args[i], &m->flags, &m->keywords,
				     &m->n_keywords, err_r) < 0)
			return -1;
		i++;
	}
	m->internaldate = (int64_t)time(NULL);
	if (i + 1 < c->n_args && c->args[i].type == IMAP_ARG_STRING) {
		if (imap_parse_datetime(c->args[i].str, c->args[i].len,
					&m->internaldate) < 0) {
			*err_r = "Bad date-time";
			return -1;
		}
		i++;
	}
	if (i >= c->n_args)
		return -1;
	msg = &c->args[i];
	if (imap_arg_atom_is(msg, "UTF8")) {
		/* RFC 6855 §4: UTF8 (literal8), a message whose header may
		 * hold raw UTF-8; only once UTF8=ACCEPT is enabled. */
		if (i + 1 >= c->n_args)
			return -1;
		msg = &c->args[++i];
		if (!s->utf8 || msg->type != IMAP_ARG_LIST ||
		    msg->list_n != 1 || !msg->list[0].literal8)
			return -1;
		msg = &msg->list[0];
	}
	if (msg->type != IMAP_ARG_LITERAL && msg->type != IMAP_ARG_STRING)
		return -1;
	m->data = malloc(msg->len + 1);
	if (m->data == NULL)
		return -1;
	memcpy(m->data, msg->str, msg->len);
	m->len = msg->len;
	*ip = i + 1;
	return 0;
}

/* APPEND mailbox 1*([(flags)] [date-time] literal) */
static int
imap_append_args(struct imap_session *s, const struct imap_cmd *c,
		 struct imap_append_job *x, const char **err_r)
{
	size_t i = 1;

	*err_r = "Bad APPEND arguments";
	if (c->n_args < 2 ||
	    imap_mailbox_arg(s, &c->args[0], x->name, sizeof(x->name)) < 0)
		return -1;
	/* Each message takes at least one argument. */
	x->msgs = calloc(c->n_args - 1, sizeof(*x->msgs));
	if (x->msgs == NULL)
		return -1;
	while (i < c->n_args) {
		if (x->n_msgs == LIMIT_IMAP_MULTIAPPEND) {
			*err_r = "Too many messages in one APPEND";
			return -1;
		}
		if (imap_append_msg_args(s, c, &i, &x->msgs[x->n_msgs],
					 err_r) < 0) {
			/* The failed one may hold keywords: freed with x. */
			x->n_msgs++;
			return -1;
		}
		x->n_msgs++;
	}
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
	for (size_t i = 0; i < x->n_msgs; i++) {
		if (x->msgs[i].len == 0 ||
		    x->msgs[i].len > s->base.srv->cfg.max_message_size) {
			imap_append_free(&x->job);
			imap_finish(s, "NO", "TOOBIG",
				    "Message size not allowed");
			return;
		}
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
	x->first_file = -1;
	x->job.work = imap_append_io_work;
	x->job.done = imap_append_io_done;
	x->job.free = imap_append_free;
	imap_job_io(s, &x->job);
}
