/*
 * NOTIFY (RFC 5465): which events a mailbox gets (the first matching
 * filter, §6) and what the difference between two scans of the account's
 * mailboxes becomes: STATUS for message events of mailboxes other than
 * the selected one (§5.2-§5.4), LIST for MailboxName (created, renamed
 * with OLDNAME, deleted \NonExistent, §5.4) and SubscriptionChange
 * (§5.5).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "imap_notify_int.h"

/* ---- which events a mailbox gets -------------------------------------- */

static bool
imap_notify_in_subtree(const char *name, const char *root)
{
	size_t n = strlen(root);

	return strncmp(name, root, n) == 0 &&
	       (name[n] == '\0' || name[n] == '/');
}

static bool
imap_notify_grp_matches(const struct imap_notify_grp *g, const char *name,
			bool subscribed)
{
	switch (g->filter) {
	case IMAP_NF_INBOXES:
		/* Postel delivers to INBOX (Sieve fileinto aside). */
		return strcmp(name, "INBOX") == 0;
	case IMAP_NF_PERSONAL:
		return true;
	case IMAP_NF_SUBSCRIBED:
		return subscribed;
	case IMAP_NF_SUBTREE:
		for (size_t i = 0; i < g->n_names; i++)
			if (imap_notify_in_subtree(name, g->names[i]))
				return true;
		return false;
	case IMAP_NF_MAILBOXES:
		for (size_t i = 0; i < g->n_names; i++)
			if (strcmp(name, g->names[i]) == 0)
				return true;
		return false;
	default:
		return false;
	}
}

/* RFC 5465 §6: the first group whose filter holds the mailbox decides. */
unsigned
imap_notify_events_for(const struct imap_notify *n, const char *name,
		       bool subscribed)
{
	for (size_t i = 0; i < n->n_grps; i++)
		if (imap_notify_grp_matches(&n->grps[i], name, subscribed))
			return n->grps[i].events;
	return 0;
}

/* ---- responses -------------------------------------------------------- */

bool
imap_notify_is_selected(const struct imap_session *s, int64_t id)
{
	return s->view != NULL && s->view->mailbox_id == id;
}

void
imap_notify_status(struct imap_session *s, const struct store_mailbox *b)
{
	unsigned items = ST_MESSAGES | ST_UIDNEXT | ST_UIDVALIDITY | ST_UNSEEN;

	if (s->condstore)
		items |= ST_HIGHESTMODSEQ;
	imap_status_line(s, b, items);
}

/* "* LIST (attrs) "/" name [("OLDNAME" (old))]" (RFC 5465 §5.4, §5.5). */
static void
imap_notify_list(struct imap_session *s, const char *attrs, const char *name,
		 const char *oldname)
{
	struct buf b;

	buf_init(&b, 4 * STORE_MAILBOX_NAME_MAX + 256);
	buf_printf(&b, "* LIST (%s) \"/\" ", attrs);
	imap_buf_mailbox(s, &b, name);
	if (oldname != NULL) {
		buf_printf(&b, " (\"OLDNAME\" (");
		imap_buf_mailbox(s, &b, oldname);
		buf_printf(&b, "))");
	}
	buf_append(&b, "\r\n", 2);
	imap_reply_raw(s, b.data, b.len);
	buf_fini(&b);
}

static void
imap_notify_box_set(struct imap_notify_box *d, const struct store_mailbox *b)
{
	d->id = b->id;
	d->uidvalidity = b->uidvalidity;
	d->uidnext = b->uidnext;
	d->messages = b->messages;
	d->unseen = b->unseen;
	d->highestmodseq = b->highestmodseq;
}

static const struct imap_notify_box *
imap_notify_old(const struct imap_notify *n, int64_t id)
{
	for (size_t i = 0; i < n->n_boxes; i++)
		if (n->boxes[i].id == id)
			return &n->boxes[i];
	return NULL;
}

static bool
imap_notify_in_new(const struct store_mailbox *b, size_t nb, int64_t id)
{
	for (size_t i = 0; i < nb; i++)
		if (b[i].id == id)
			return true;
	return false;
}

/* One mailbox that exists now: created, renamed or changed. */
static void
imap_notify_diff_box(struct imap_session *s, const struct store_mailbox *b,
		     const struct imap_notify_box *o)
{
	const struct imap_notify *n = s->notify;
	unsigned ev = imap_notify_events_for(n, b->name, b->subscribed);
	bool is_new, expunged, flags;

	if (o == NULL) {
		if (ev & IMAP_NEV_MAILBOX_NAME)
			imap_notify_list(s, "", b->name, NULL);
		return;
	}
	if (strcmp(o->name, b->name) != 0 &&
	    ((ev | imap_notify_events_for(n, o->name, b->subscribed)) &
	     IMAP_NEV_MAILBOX_NAME))
		imap_notify_list(s, "", b->name, o->name);
	if (imap_notify_is_selected(s, b->id))
		return; /* its events go as EXISTS/EXPUNGE/FETCH */
	/* Counters tell the kind: a new UID is MessageNew; fewer messages
	 * than the old count plus the new ones is MessageExpunge; a new
	 * modseq with neither is FlagChange (§5.2-§5.4). */
	is_new = b->uidnext != o->uidnext;
	expunged = (uint64_t)b->messages <
		   (uint64_t)o->messages + (b->uidnext - o->uidnext);
	flags = b->highestmodseq != o->highestmodseq || b->unseen != o->unseen;
	if (b->uidvalidity != o->uidvalidity ||
	    (is_new && (ev & IMAP_NEV_MESSAGE_NEW)) ||
	    (expunged && (ev & IMAP_NEV_MESSAGE_EXPUNGE)) ||
	    (flags && !is_new && !expunged && (ev & IMAP_NEV_FLAG_CHANGE)))
		imap_notify_status(s, b);
}

/* Subscriptions added and removed (§5.5), both lists sorted. */
static void
imap_notify_diff_subs(struct imap_session *s, char *const *old,
		      char *const *now)
{
	const struct imap_notify *n = s->notify;
	size_t i = 0, j = 0;

	while ((old != NULL && old[i] != NULL) || (now != NULL && now[j] != NULL)) {
		const char *a = old != NULL ? old[i] : NULL;
		const char *b = now != NULL ? now[j] : NULL;
		int c = a == NULL ? 1 : b == NULL ? -1 : strcmp(a, b);
		const char *name = c < 0 ? a : b;

		if (c != 0 && (imap_notify_events_for(n, name, true) &
			       IMAP_NEV_SUBSCRIPTION_CHANGE))
			imap_notify_list(s, c < 0 ? "" : "\\Subscribed", name,
					 NULL);
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
}

/* METADATA of the mailboxes present in both scans and of the server
 * (RFC 5465 §5.7, §5.8). */
static void
imap_notify_diff_meta(struct imap_session *s,
		      const struct imap_notify_scan_data *d)
{
	struct imap_notify *n = s->notify;

	for (size_t i = 0; d->bmeta != NULL && i < d->n_boxes; i++) {
		const struct store_mailbox *b = &d->boxes[i];
		const struct imap_notify_box *o = imap_notify_old(n, b->id);

		if (o != NULL && (imap_notify_events_for(n, b->name,
							 b->subscribed) &
				  IMAP_NEV_MAILBOX_METADATA_CHANGE))
			imap_notify_meta_diff(s, b->name, &o->meta,
					      &d->bmeta[i]);
	}
	if (d->have_server_meta &&
	    (n->other_events & IMAP_NEV_SERVER_METADATA_CHANGE))
		imap_notify_meta_diff(s, "", &n->server_meta, &d->server_meta);
}

/* The new scan against the snapshot. */
void
imap_notify_diff(struct imap_session *s, const struct imap_notify_scan_data *d)
{
	struct imap_notify *n = s->notify;
	const struct store_mailbox *b = d->boxes;
	size_t nb = d->n_boxes;
	char **subs = d->subs;

	for (size_t i = 0; i < nb; i++)
		imap_notify_diff_box(s, &b[i], imap_notify_old(n, b[i].id));
	for (size_t i = 0; i < n->n_boxes; i++)
		if (!imap_notify_in_new(b, nb, n->boxes[i].id) &&
		    (imap_notify_events_for(n, n->boxes[i].name, true) &
		     IMAP_NEV_MAILBOX_NAME))
			imap_notify_list(s, "\\NonExistent", n->boxes[i].name,
					 NULL);
	if (n->other_events & IMAP_NEV_SUBSCRIPTION_CHANGE)
		imap_notify_diff_subs(s, n->subs, subs);
	imap_notify_diff_meta(s, d);
}

int
imap_notify_keep(struct imap_notify *n, struct imap_notify_scan_data *d)
{
	size_t nb = d->n_boxes;
	struct imap_notify_box *nbx = calloc(nb ? nb : 1, sizeof(*nbx));

	if (nbx == NULL)
		return -1;
	for (size_t i = 0; i < nb; i++) {
		imap_notify_box_set(&nbx[i], &d->boxes[i]);
		if ((nbx[i].name = strdup(d->boxes[i].name)) == NULL) {
			imap_notify_boxes_free(nbx, i);
			return -1;
		}
	}
	for (size_t i = 0; d->bmeta != NULL && i < nb; i++) {
		nbx[i].meta = d->bmeta[i];
		memset(&d->bmeta[i], 0, sizeof(d->bmeta[i]));
	}
	imap_notify_boxes_free(n->boxes, n->n_boxes);
	store_strv_free(n->subs);
	n->boxes = nbx;
	n->n_boxes = nb;
	n->subs = d->subs;
	d->subs = NULL;
	if (d->have_server_meta) {
		imap_notify_meta_free(&n->server_meta);
		n->server_meta = d->server_meta;
		memset(&d->server_meta, 0, sizeof(d->server_meta));
	}
	n->have_snap = true;
	return 0;
}
