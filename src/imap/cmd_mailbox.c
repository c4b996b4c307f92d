/*
 * Mailbox management (RFC 9051 §6.3): CREATE (parents too; RFC 6154
 * CREATE-SPECIAL-USE "USE (\Sent)"), DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE, and STATUS with SIZE (RFC 8438) and HIGHESTMODSEQ (RFC 7162).
 * Writes go through the group commit and are answered after it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../util/str.h"
#include "imap_int.h"

enum imap_mbox_op {
	IMAP_MBOX_CREATE,
	IMAP_MBOX_DELETE,
	IMAP_MBOX_RENAME,
	IMAP_MBOX_SUBSCRIBE,
	IMAP_MBOX_UNSUBSCRIBE,
};

struct imap_mbox_job {
	struct imap_job job;
	enum imap_mbox_op op;
	int64_t account_id;
	char name[STORE_MAILBOX_NAME_MAX + 1];
	char name2[STORE_MAILBOX_NAME_MAX + 1];
	char special[16];
	bool exists;  /* CREATE of an existing name / DELETE of a missing one */
	int64_t created_id; /* CREATE: the new mailbox (RFC 8474 MAILBOXID) */
};

/* CREATE makes missing parents first (RFC 9051 §6.3.4: "a/b/c" implies
 * "a" and "a/b" when the server's hierarchy needs them). */
static int
imap_mbox_create(struct imap_mbox_job *m, struct store *st)
{
	struct store_mailbox box;
	const char *err = NULL;
	int64_t id;
	char part[STORE_MAILBOX_NAME_MAX + 1];

	if (store_mailbox_get(st, m->account_id, m->name, &box) == 1) {
		m->exists = true;
		str_lcpy(m->job.err, "Mailbox already exists",
			 sizeof(m->job.err));
		return -1;
	}
	for (char *p = strchr(m->name, '/'); p != NULL;
	     p = strchr(p + 1, '/')) {
		size_t n = (size_t)(p - m->name);

		memcpy(part, m->name, n);
		part[n] = '\0';
		if (store_mailbox_get(st, m->account_id, part, &box) == 1)
			continue;
		if (store_mailbox_create(st, m->account_id, part, NULL, &id,
					 &err) < 0)
			goto fail;
	}
	if (store_mailbox_create(st, m->account_id, m->name,
				 m->special[0] ? m->special : NULL, &id,
				 &err) == 0) {
		m->created_id = id;
		return 0;
	}
fail:
	str_lcpy(m->job.err, err != NULL ? err : "store error",
		 sizeof(m->job.err));
	return -1;
}

static int
imap_mbox_work(struct imap_job *j, struct store *st)
{
	struct imap_mbox_job *m = (struct imap_mbox_job *)j;
	struct store_mailbox box;
	const char *err = NULL;
	int r;

	switch (m->op) {
	case IMAP_MBOX_CREATE:
		return imap_mbox_create(m, st);
	case IMAP_MBOX_DELETE:
		if (store_mailbox_get(st, m->account_id, m->name, &box) != 1) {
			m->exists = true;
			str_lcpy(j->err, "No such mailbox", sizeof(j->err));
			return -1;
		}
		r = store_mailbox_delete(st, m->account_id, m->name,
					 &j->orphans, &err);
		break;
	case IMAP_MBOX_RENAME:
		if (store_mailbox_get(st, m->account_id, m->name, &box) != 1) {
			m->exists = true;
			str_lcpy(j->err, "No such mailbox", sizeof(j->err));
			return -1;
		}
		r = store_mailbox_rename(st, m->account_id, m->name, m->name2,
					 &err);
		break;
	default:
		r = store_subscribe(st, m->account_id, m->name,
				    m->op == IMAP_MBOX_SUBSCRIBE, &err);
		break;
	}
	if (r < 0)
		str_lcpy(j->err, err != NULL ? err : "store error",
			 sizeof(j->err));
	return r;
}

static const char *const imap_mbox_names[] = {
	"CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
};

static void
imap_mbox_done(struct imap_job *j)
{
	struct imap_mbox_job *m = (struct imap_mbox_job *)j;
	struct imap_session *s = j->s;
	const char *what = imap_mbox_names[m->op];

	if (j->result == 0) {
		/* The selected mailbox went away: deselect like CLOSE
		 * without expunge (RFC 9051 §6.3.5 leaves it open); only
		 * once it is gone, so a failed DELETE keeps the selection. */
		if (m->op == IMAP_MBOX_DELETE && s->view != NULL &&
		    strcmp(s->view->name, m->name) == 0)
			imap_view_close(s);
		/* Subscriptions too: NOTIFY's SubscriptionChange (RFC
		 * 5465 §5.5). */
		imap_notify_others(s, false);
		if (m->op == IMAP_MBOX_CREATE) {
			char code[48];

			/* RFC 8474 §4.1 */
			snprintf(code, sizeof(code), "MAILBOXID (F%" PRId64 ")",
				 m->created_id);
			imap_finish(s, "OK", code, "%s completed", what);
			return;
		}
		imap_finish(s, "OK", NULL, "%s completed", what);
		return;
	}
	if (m->exists)
		imap_finish(s, "NO",
			    m->op == IMAP_MBOX_CREATE ? "ALREADYEXISTS"
						      : "NONEXISTENT",
			    "%s", j->err);
	else if (strstr(j->err, "exists") != NULL)
		imap_finish(s, "NO", "ALREADYEXISTS", "%s", j->err);
	else
		imap_finish(s, "NO", "CANNOT", "%s failed: %s", what, j->err);
}

static struct imap_mbox_job *
imap_mbox_new(struct imap_session *s, enum imap_mbox_op op)
{
	struct imap_mbox_job *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return NULL;
	}
	m->op = op;
	m->account_id = s->account_id;
	m->job.work = imap_mbox_work;
	m->job.done = imap_mbox_done;
	return m;
}

/* Answers and returns true unless argument i is a usable name; a name
 * to be made (creating) must also be proper modified UTF-7. */
static bool
imap_mbox_bad_name(struct imap_session *s, const struct imap_cmd *c,
		   size_t i, char *out, bool creating)
{
	int rc = c->n_args <= i ? -1
		 : imap_mailbox_arg(s, &c->args[i], out,
				    STORE_MAILBOX_NAME_MAX + 1);

	if (rc < 0) {
		imap_finish(s, "BAD", NULL, "Invalid mailbox name");
		session_error(&s->base);
		return true;
	}
	if (rc == 1 && creating) {
		imap_finish(s, "NO", "CANNOT",
			    "Mailbox name is not valid modified UTF-7");
		return true;
	}
	return false;
}

/* RFC 6154 §3: CREATE name (USE (\Sent)). */
static int
imap_create_use(const struct imap_arg *opts, char *out, size_t cap)
{
	static const char *const uses[] = {
		"\\Drafts", "\\Sent", "\\Junk", "\\Trash", "\\Archive",
		"\\All", "\\Flagged",
	};

	if (opts->type != IMAP_ARG_LIST || opts->list_n != 2 ||
	    !imap_arg_atom_is(&opts->list[0], "USE") ||
	    opts->list[1].type != IMAP_ARG_LIST || opts->list[1].list_n != 1)
		return -1;
	for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++)
		if (imap_arg_atom_is(&opts->list[1].list[0], uses[i])) {
			str_lcpy(out, uses[i], cap);
			return 0;
		}
	return 1;
}

void
imap_cmd_create(struct imap_session *s, const struct imap_cmd *c)
{
	char name[STORE_MAILBOX_NAME_MAX + 1], use[16] = "";
	struct imap_mbox_job *m;

	if (imap_mbox_bad_name(s, c, 0, name, true))
		return;
	if (c->n_args > 2) {
		imap_finish(s, "BAD", NULL, "Too many arguments");
		return;
	}
	if (c->n_args == 2) {
		int r = imap_create_use(&c->args[1], use, sizeof(use));

		if (r < 0) {
			imap_finish(s, "BAD", NULL, "Bad CREATE parameters");
			return;
		}
		if (r > 0) {
			imap_finish(s, "NO", "USEATTR",
				    "Unsupported special-use attribute");
			return;
		}
	}
	if (strcmp(name, "INBOX") == 0) {
		imap_finish(s, "NO", "ALREADYEXISTS", "INBOX always exists");
		return;
	}
	if ((m = imap_mbox_new(s, IMAP_MBOX_CREATE)) == NULL)
		return;
	str_lcpy(m->name, name, sizeof(m->name));
	str_lcpy(m->special, use, sizeof(m->special));
	imap_job_commit(s, &m->job);
}

void
imap_cmd_delete(struct imap_session *s, const struct imap_cmd *c)
{
	char name[STORE_MAILBOX_NAME_MAX + 1];
	struct imap_mbox_job *m;

	if (imap_mbox_bad_name(s, c, 0, name, false))
		return;
	if (strcmp(name, "INBOX") == 0) {
		imap_finish(s, "NO", "CANNOT", "INBOX cannot be deleted");
		return;
	}
	if ((m = imap_mbox_new(s, IMAP_MBOX_DELETE)) == NULL)
		return;
	str_lcpy(m->name, name, sizeof(m->name));
	imap_job_commit(s, &m->job);
}

void
imap_cmd_rename(struct imap_session *s, const struct imap_cmd *c)
{
	char from[STORE_MAILBOX_NAME_MAX + 1], to[STORE_MAILBOX_NAME_MAX + 1];
	struct imap_mbox_job *m;

	if (imap_mbox_bad_name(s, c, 0, from, false) ||
	    imap_mbox_bad_name(s, c, 1, to, true))
		return;
	if (strcmp(to, "INBOX") == 0) {
		imap_finish(s, "NO", "ALREADYEXISTS", "INBOX always exists");
		return;
	}
	if ((m = imap_mbox_new(s, IMAP_MBOX_RENAME)) == NULL)
		return;
	str_lcpy(m->name, from, sizeof(m->name));
	str_lcpy(m->name2, to, sizeof(m->name2));
	imap_job_commit(s, &m->job);
}

void
imap_cmd_subscribe(struct imap_session *s, const struct imap_cmd *c)
{
	char name[STORE_MAILBOX_NAME_MAX + 1];
	struct imap_mbox_job *m;
	bool on = s->cmd_variant != IMAP_VARIANT_UNSUBSCRIBE;

	if (imap_mbox_bad_name(s, c, 0, name, false))
		return;
	m = imap_mbox_new(s, on ? IMAP_MBOX_SUBSCRIBE : IMAP_MBOX_UNSUBSCRIBE);
	if (m == NULL)
		return;
	str_lcpy(m->name, name, sizeof(m->name));
	imap_job_commit(s, &m->job);
}

/* ---- STATUS ----------------------------------------------------------- */

struct imap_status_job {
	struct imap_job job;
	int64_t account_id;
	char name[STORE_MAILBOX_NAME_MAX + 1];
	struct store_mailbox box;
	int found;
	unsigned items;
};

static const struct {
	const char *name;
	unsigned bit;
} imap_status_items[] = {
	{ "MESSAGES", ST_MESSAGES }, { "UIDNEXT", ST_UIDNEXT },
	{ "UIDVALIDITY", ST_UIDVALIDITY }, { "UNSEEN", ST_UNSEEN },
	{ "DELETED", ST_DELETED }, { "SIZE", ST_SIZE },
	{ "HIGHESTMODSEQ", ST_HIGHESTMODSEQ }, { "RECENT", ST_RECENT },
	{ "MAILBOXID", ST_MAILBOXID },
};

int
imap_status_parse(const struct imap_arg *list, unsigned *items_r)
{
	*items_r = 0;
	if (list->type != IMAP_ARG_LIST || list->list_n == 0)
		return -1;
	for (size_t i = 0; i < list->list_n; i++) {
		size_t k;

		for (k = 0; k < sizeof(imap_status_items) /
					sizeof(imap_status_items[0]);
		     k++)
			if (imap_arg_atom_is(&list->list[i],
					     imap_status_items[k].name))
				break;
		if (k == sizeof(imap_status_items) / sizeof(imap_status_items[0]))
			return -1;
		*items_r |= imap_status_items[k].bit;
	}
	return 0;
}

void
imap_status_line(struct imap_session *s, const struct store_mailbox *b,
		 unsigned items)
{
	struct buf out;
	const char *sep = "";

	buf_init(&out, 8192);
	buf_printf(&out, "* STATUS ");
	imap_buf_mailbox(s, &out, b->name);
	buf_printf(&out, " (");
#define ST_ITEM(bit, fmt, val)                                               \
	do {                                                                 \
		if (items & (bit)) {                                         \
			buf_printf(&out, "%s" fmt, sep, val);                \
			sep = " ";                                           \
		}                                                            \
	} while (0)
	ST_ITEM(ST_MESSAGES, "MESSAGES %" PRIu32, b->messages);
	ST_ITEM(ST_RECENT, "RECENT %" PRIu32, s->rev2 ? 0 : b->recent);
	ST_ITEM(ST_UIDNEXT, "UIDNEXT %" PRIu32, b->uidnext);
	ST_ITEM(ST_UIDVALIDITY, "UIDVALIDITY %" PRIu32, b->uidvalidity);
	ST_ITEM(ST_UNSEEN, "UNSEEN %" PRIu32, b->unseen);
	ST_ITEM(ST_DELETED, "DELETED %" PRIu32, b->deleted);
	ST_ITEM(ST_SIZE, "SIZE %" PRIu64, b->size);
	ST_ITEM(ST_HIGHESTMODSEQ, "HIGHESTMODSEQ %" PRIu64, b->highestmodseq);
	ST_ITEM(ST_MAILBOXID, "MAILBOXID (F%" PRId64 ")", b->id);
#undef ST_ITEM
	buf_printf(&out, ")\r\n");
	imap_reply_raw(s, out.data, out.len);
	buf_fini(&out);
}

int
imap_status_recent(struct store *st, unsigned items, struct store_mailbox *b)
{
	const char *err = NULL;

	if (!(items & ST_RECENT))
		return 0;
	return store_recent_count(st, b->id, b->recent_uid, &b->recent, &err);
}

static int
imap_status_work(struct imap_job *j, struct store *st)
{
	struct imap_status_job *t = (struct imap_status_job *)j;

	t->found = store_mailbox_get(st, t->account_id, t->name, &t->box);
	if (t->found == 1 && imap_status_recent(st, t->items, &t->box) < 0)
		return -1;
	return t->found < 0 ? -1 : 0;
}

static void
imap_status_done(struct imap_job *j)
{
	struct imap_status_job *t = (struct imap_status_job *)j;

	if (j->result < 0) {
		imap_finish(j->s, "NO", "UNAVAILABLE", "STATUS failed");
		return;
	}
	if (t->found == 0) {
		imap_finish(j->s, "NO", "NONEXISTENT", "No such mailbox");
		return;
	}
	imap_status_line(j->s, &t->box, t->items);
	imap_finish(j->s, "OK", NULL, "STATUS completed");
}

void
imap_cmd_status(struct imap_session *s, const struct imap_cmd *c)
{
	struct imap_status_job *t;
	char name[STORE_MAILBOX_NAME_MAX + 1];
	unsigned items;

	if (imap_mbox_bad_name(s, c, 0, name, false))
		return;
	if (c->n_args != 2 || imap_status_parse(&c->args[1], &items) < 0) {
		imap_finish(s, "BAD", NULL, "Bad STATUS items");
		session_error(&s->base);
		return;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	t->account_id = s->account_id;
	t->items = items;
	str_lcpy(t->name, name, sizeof(t->name));
	t->job.work = imap_status_work;
	t->job.done = imap_status_done;
	imap_job_read(s, &t->job);
}
