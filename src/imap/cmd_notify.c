/*
 * NOTIFY (RFC 5465): the client names the mailboxes and events it wants to
 * hear of, and the server tells it as they happen, also while no command
 * runs (not only during IDLE).
 *
 * How changes are learned: the session registers a server watch for its
 * account (the same change notification IDLE uses: SMTP/LMTP delivery,
 * other IMAP sessions, POP3 deletions and the CLI's server all call
 * server_notify_account). The watch only marks the state dirty; when no
 * command runs, a "pass" starts:
 *   1. the selected mailbox (SELECTED / SELECTED-DELAYED events): the view
 *      refresh of imap_view.c, which announces EXISTS, EXPUNGE, FETCH
 *      (and MessageNew's attributes, imap_notify_new_messages);
 *   2. every other mailbox: a worker reads the mailbox list (with its
 *      counters) and the subscriptions; the difference with the last
 *      snapshot becomes STATUS and LIST responses (§5).
 * While a pass runs the next command waits (imap_session_process), so
 * untagged responses never interleave with a command's.
 *
 * A client that does not read: once the notifications sent since its
 * last command pass LIMIT_IMAP_NOTIFY_BACKLOG and the output is still
 * queued, the server sends [NOTIFICATIONOVERFLOW] and acts as after
 * NOTIFY NONE (§5.8).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "../util/str.h"
#include "imap_notify_int.h"

/* ---- state ------------------------------------------------------------ */

void
imap_notify_boxes_free(struct imap_notify_box *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].name);
		imap_notify_meta_free(&b[i].meta);
	}
	free(b);
}

static void
imap_notify_state_free(struct server *srv, struct imap_notify *n)
{
	if (n == NULL)
		return;
	server_watch_remove(srv, &n->watch);
	for (size_t i = 0; i < n->n_grps; i++) {
		for (size_t k = 0; k < n->grps[i].n_names; k++)
			free(n->grps[i].names[k]);
		free(n->grps[i].names);
	}
	free(n->grps);
	if (n->att_job)
		imap_fetch_free(&n->att);
	imap_notify_boxes_free(n->boxes, n->n_boxes);
	store_strv_free(n->subs);
	imap_notify_meta_free(&n->server_meta);
	free(n);
}

void
imap_notify_free(struct imap_session *s)
{
	imap_notify_state_free(s->base.srv, s->notify);
	s->notify = NULL;
}

/* ---- the scan job ----------------------------------------------------- */

struct imap_notify_scan {
	struct imap_job job;
	int64_t account_id;
	struct imap_notify *n; /* the state it was started for */
	struct imap_notify_scan_data d;
	bool want_bmeta, want_smeta; /* read METADATA (its events asked) */
	bool initial;      /* NOTIFY SET: ends the command */
	bool status;       /* SET STATUS */
};

/* Worker: METADATA of every mailbox and/or of the server. */
static int
imap_notify_scan_meta(struct imap_notify_scan *t, struct store *st)
{
	struct imap_notify_scan_data *d = &t->d;

	if (t->want_bmeta) {
		d->bmeta = calloc(d->n_boxes + 1, sizeof(*d->bmeta));
		if (d->bmeta == NULL)
			return -1;
		for (size_t i = 0; i < d->n_boxes; i++)
			if (imap_notify_meta_scan(st, t->account_id,
						  d->boxes[i].id,
						  &d->bmeta[i]) < 0)
				return -1;
	}
	if (t->want_smeta) {
		if (imap_notify_meta_scan(st, t->account_id, 0,
					  &d->server_meta) < 0)
			return -1;
		d->have_server_meta = true;
	}
	return 0;
}

static int
imap_notify_scan_work(struct imap_job *j, struct store *st)
{
	struct imap_notify_scan *t = (struct imap_notify_scan *)j;
	const char *err = NULL;

	if (store_mailbox_list(st, t->account_id, &t->d.boxes, &t->d.n_boxes,
			       &err) < 0 ||
	    store_subscriptions(st, t->account_id, &t->d.subs, &err) < 0 ||
	    imap_notify_scan_meta(t, st) < 0) {
		str_lcpy(j->err, err != NULL ? err : "store error",
			 sizeof(j->err));
		return -1;
	}
	return 0;
}

static void
imap_notify_scan_free(struct imap_job *j)
{
	struct imap_notify_scan *t = (struct imap_notify_scan *)j;

	for (size_t i = 0; t->d.bmeta != NULL && i < t->d.n_boxes; i++)
		imap_notify_meta_free(&t->d.bmeta[i]);
	free(t->d.bmeta);
	imap_notify_meta_free(&t->d.server_meta);
	free(t->d.boxes);
	store_strv_free(t->d.subs);
	free(t);
}

/* SET STATUS (§3.1): a STATUS for every mailbox whose message events
 * the client asked for, except the selected one. */
static void
imap_notify_initial_status(struct imap_session *s,
			   const struct imap_notify_scan *t)
{
	for (size_t i = 0; i < t->d.n_boxes; i++) {
		const struct store_mailbox *b = &t->d.boxes[i];

		if (!imap_notify_is_selected(s, b->id) &&
		    (imap_notify_events_for(s->notify, b->name, b->subscribed) &
		     IMAP_NEV_MESSAGE_NEW))
			imap_notify_status(s, b);
	}
}

static void imap_notify_pass_end(struct imap_session *s);

/* The client is not reading what we send (§5.8). */
static bool
imap_notify_overflowed(struct imap_session *s)
{
	struct imap_notify *n = s->notify;

	if (n->unread < LIMIT_IMAP_NOTIFY_BACKLOG || s->base.conn == NULL ||
	    conn_output_unread(s->base.conn) < LIMIT_IMAP_NOTIFY_BACKLOG)
		return false;
	log_info(s->base.id, "notify_overflow", " unread=%zu",
		 conn_output_unread(s->base.conn));
	imap_untagged(s, "OK [NOTIFICATIONOVERFLOW] Notifications stopped; "
			 "the client does not read them");
	imap_notify_free(s);
	return true;
}

static void
imap_notify_scan_done(struct imap_job *j)
{
	struct imap_notify_scan *t = (struct imap_notify_scan *)j;
	struct imap_session *s = j->s;
	struct imap_notify *n = s->notify;
	size_t before;

	if (n != t->n) {
		/* Replaced or ended meanwhile (NONE, overflow). */
		if (t->initial)
			imap_finish(s, "OK", NULL, "NOTIFY completed");
		return;
	}
	n->phase = IMAP_NOTIFY_IDLE;
	if (j->result < 0) {
		log_warn(s->base.id, "notify_scan", " error=%s",
			 log_qs(j->err));
		if (t->initial) {
			imap_notify_free(s);
			imap_finish(s, "NO", "SERVERBUG", "NOTIFY failed");
		} else {
			imap_notify_pass_end(s);
		}
		return;
	}
	before = s->base.conn != NULL ? conn_output_pending(s->base.conn) : 0;
	if (t->initial) {
		if (t->status)
			imap_notify_initial_status(s, t);
	} else if (!imap_notify_overflowed(s)) {
		imap_notify_diff(s, &t->d);
	} else {
		imap_notify_pass_end(s);
		return;
	}
	if (s->base.conn != NULL && !t->initial &&
	    conn_output_pending(s->base.conn) > before)
		n->unread += conn_output_pending(s->base.conn) - before;
	(void)imap_notify_keep(n, &t->d);
	if (t->initial)
		imap_finish(s, "OK", NULL, "NOTIFY completed");
	else
		imap_notify_pass_end(s);
}

static void
imap_notify_scan_start(struct imap_session *s, bool initial, bool status)
{
	struct imap_notify_scan *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		if (initial) {
			imap_notify_free(s);
			imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		} else {
			imap_notify_pass_end(s);
		}
		return;
	}
	t->job.work = imap_notify_scan_work;
	t->job.done = imap_notify_scan_done;
	t->job.free = imap_notify_scan_free;
	t->account_id = s->account_id;
	t->n = s->notify;
	t->initial = initial;
	t->status = status;
	t->want_bmeta = (s->notify->other_events &
			 IMAP_NEV_MAILBOX_METADATA_CHANGE) != 0;
	t->want_smeta = (s->notify->other_events &
			 IMAP_NEV_SERVER_METADATA_CHANGE) != 0;
	s->notify->dirty = false;
	s->notify->phase = IMAP_NOTIFY_SCAN;
	imap_job_read(s, &t->job);
}

/* ---- passes while no command runs ------------------------------------- */

static void
imap_notify_watch_cb(void *ctx, int64_t account_id)
{
	struct imap_session *s = ctx;

	if (s->notify == NULL)
		return;
	s->notify->dirty = true;
	imap_notify_poll(s);
}

static void
imap_notify_pass_end(struct imap_session *s)
{
	if (s->notify != NULL)
		s->notify->phase = IMAP_NOTIFY_IDLE;
	if (!s->notify_busy)
		return;
	s->notify_busy = false;
	/* More may have happened meanwhile; else read the next command. */
	imap_notify_poll(s);
	if (!s->notify_busy)
		imap_session_kick(s);
}

static void
imap_notify_scan_step(struct imap_session *s)
{
	struct imap_notify *n = s->notify;

	if (n != NULL && n->dirty && n->n_grps > 0 && n->have_snap) {
		imap_notify_scan_start(s, false, false);
		return;
	}
	if (n != NULL)
		n->dirty = false;
	imap_notify_pass_end(s);
}

/* The selected mailbox's events: its SELECTED group's, else those of
 * the first group whose filter holds it (RFC 5465 §6), told as EXISTS,
 * EXPUNGE and FETCH rather than STATUS. */
static unsigned
imap_notify_sel_events(const struct imap_session *s)
{
	const struct imap_notify *n = s->notify;
	bool subscribed = false;

	if (n->sel_set)
		return n->sel_events;
	if (s->view == NULL)
		return 0;
	for (size_t i = 0; n->subs != NULL && n->subs[i] != NULL; i++)
		subscribed |= strcmp(n->subs[i], s->view->name) == 0;
	return imap_notify_events_for(n, s->view->name, subscribed) &
	       (IMAP_NEV_MESSAGE_NEW | IMAP_NEV_MESSAGE_EXPUNGE |
		IMAP_NEV_FLAG_CHANGE);
}

void
imap_notify_poll(struct imap_session *s)
{
	struct imap_notify *n = s->notify;

	if (n == NULL || s->notify_busy || s->refreshing ||
	    (s->in_cmd && !s->idling) || s->base.conn == NULL ||
	    s->base.closing || s->state == IMAP_STATE_LOGOUT ||
	    n->phase != IMAP_NOTIFY_IDLE)
		return;
	/* During IDLE the view refreshes itself (imap_view.c). */
	if (!s->idling && s->view != NULL && s->view->dirty &&
	    imap_notify_sel_events(s) != 0) {
		s->notify_busy = true;
		n->phase = IMAP_NOTIFY_REFRESH;
		imap_view_refresh(s);
		return;
	}
	if (n->dirty && n->n_grps > 0 && n->have_snap) {
		s->notify_busy = true;
		imap_notify_scan_step(s);
		return;
	}
	n->dirty = false;
}

void
imap_notify_refreshed(struct imap_session *s)
{
	if (s->notify == NULL || s->notify->phase != IMAP_NOTIFY_REFRESH)
		return;
	s->notify->phase = IMAP_NOTIFY_IDLE;
	/* MessageNew's FETCH and CONTEXT updates of what it brought. */
	imap_notify_after(s, imap_notify_scan_step);
}

/* ---- after a refresh: MessageNew's FETCH, CONTEXT updates ------------- */

static void
imap_notify_after_done(struct imap_session *s)
{
	void (*a)(struct imap_session *) = s->after_then[0];
	void (*b)(struct imap_session *) = s->after_then[1];

	s->after_running = false;
	s->after_then[0] = s->after_then[1] = NULL;
	if (a != NULL)
		a(s);
	if (b != NULL)
		b(s);
}

static void
imap_notify_after_step(struct imap_session *s)
{
	const struct imap_notify *n = s->notify;

	if (s->nfetch_pending) {
		s->nfetch_pending = false;
		if (n != NULL && n->att_job &&
		    imap_fetch_notify(s, &n->att, s->nfetch_first,
				      imap_notify_after_step) == 0)
			return;
	}
	if (imap_context_update(s, imap_notify_after_done))
		return;
	imap_notify_after_done(s);
}

void
imap_notify_after(struct imap_session *s, void (*then)(struct imap_session *))
{
	if (s->after_running) {
		/* Joins the chain that runs: its end calls then too. */
		if (then != NULL && s->after_then[0] != then &&
		    s->after_then[1] != then)
			s->after_then[s->after_then[0] == NULL ? 0 : 1] = then;
		return;
	}
	s->after_running = true;
	s->after_then[0] = then;
	s->after_then[1] = NULL;
	imap_notify_after_step(s);
}

void
imap_notify_client_spoke(struct imap_session *s)
{
	if (s->notify != NULL)
		s->notify->unread = 0;
}

bool
imap_notify_hold_expunges(const struct imap_session *s)
{
	return s->notify != NULL && s->notify->sel_delayed && !s->in_cmd;
}

void
imap_notify_new_messages(struct imap_session *s, size_t first)
{
	const struct imap_notify *n = s->notify;
	struct imap_view *v = s->view;
	struct buf b;

	if (n == NULL || !(n->sel_events & IMAP_NEV_MESSAGE_NEW) || v == NULL)
		return;
	if (n->att_job) {
		/* imap_notify_after runs the FETCH job. */
		if (!s->nfetch_pending || first < s->nfetch_first)
			s->nfetch_first = first;
		s->nfetch_pending = true;
		return;
	}
	if (n->att_order[0] == '\0')
		return;
	buf_init(&b, 64 * 1024);
	for (size_t i = first; i < v->n; i++) {
		const struct store_vmsg *m = &v->msgs[i];
		const char *sep = "";

		buf_reset(&b);
		buf_printf(&b, "* %zu FETCH (", i + 1);
		for (const char *a = n->att_order; *a != '\0'; a++, sep = " ") {
			if (*a == 'U')
				buf_printf(&b, "%sUID %" PRIu32, sep, m->uid);
			else if (*a == 'F') {
				buf_printf(&b, "%sFLAGS ", sep);
				imap_buf_flags(&b, m->flags & ~IMAP_VFLAG_EXPUNGED,
					       m->keywords);
			} else {
				buf_printf(&b, "%sMODSEQ (%" PRIu64 ")", sep,
					   m->modseq);
			}
		}
		buf_append(&b, ")\r\n", 3);
		imap_reply_raw(s, b.data, b.len);
	}
	buf_fini(&b);
}

/* ---- the command ------------------------------------------------------ */

/* MessageNew's fetch-att (RFC 5465 §5.2). UID, FLAGS and MODSEQ alone
 * are written from the view; anything else becomes a FETCH job. Items
 * that would set \Seen are refused: a notification must not change the
 * mailbox. 0, or -1 with the refusal sent. */
static int
imap_notify_atts(struct imap_session *s, struct imap_notify *n,
		 const struct imap_arg *list)
{
	const char *err = NULL;
	size_t k = 0;

	if (imap_fetch_parse(list, 1, &n->att, &err) < 0) {
		imap_finish(s, "BAD", NULL, "%s", err);
		return -1;
	}
	n->att_job = true; /* owns att from here on */
	for (size_t i = 0; i < n->att.n; i++) {
		const struct imap_fetch_item *it = &n->att.items[i];
		char c = it->kind == IMAP_FETCH_UID ? 'U'
			 : it->kind == IMAP_FETCH_FLAGS ? 'F'
			 : it->kind == IMAP_FETCH_MODSEQ ? 'M' : '\0';

		if (imap_fetch_sets_seen(it)) {
			imap_finish(s, "BAD", NULL, "NOTIFY MessageNew "
				    "attributes must not set \\Seen (use .PEEK)");
			return -1;
		}
		if (c == '\0')
			k = sizeof(n->att_order); /* a job after all */
		else if (k + 1 < sizeof(n->att_order) &&
			 strchr(n->att_order, c) == NULL)
			n->att_order[k++] = c;
	}
	if (k < sizeof(n->att_order)) {
		imap_fetch_free(&n->att);
		n->att_job = false;
	} else {
		n->att_order[0] = '\0';
	}
	return 0;
}

/* The groups of other mailboxes, names decoded (UTF-8, INBOX). 0, or -1
 * with the refusal sent. */
static int
imap_notify_groups(struct imap_session *s, struct imap_notify *n,
		   const struct imap_notify_spec *spec)
{
	n->grps = calloc(spec->n ? spec->n : 1, sizeof(*n->grps));
	if (n->grps == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return -1;
	}
	for (size_t i = 0; i < spec->n; i++) {
		const struct imap_notify_group *g = &spec->groups[i];
		struct imap_notify_grp *d;

		if (imap_notify_filter_selected(g->filter)) {
			n->sel_set = true;
			n->sel_delayed = g->filter == IMAP_NF_SELECTED_DELAYED;
			n->sel_events = g->events;
			if (g->fetch != NULL && imap_notify_atts(s, n, g->fetch) < 0)
				return -1;
			continue;
		}
		d = &n->grps[n->n_grps++];
		d->filter = g->filter;
		d->events = g->events;
		n->other_events |= g->events;
		if (g->n_names == 0)
			continue;
		d->names = calloc(g->n_names, sizeof(*d->names));
		if (d->names == NULL) {
			imap_finish(s, "NO", "SERVERBUG", "Out of memory");
			return -1;
		}
		for (size_t k = 0; k < g->n_names; k++) {
			char name[STORE_MAILBOX_NAME_MAX + 1];

			if (imap_mailbox_arg(s, &g->names[k], name,
					     sizeof(name)) < 0) {
				imap_finish(s, "BAD", NULL, "Bad mailbox name");
				return -1;
			}
			if ((d->names[k] = strdup(name)) == NULL) {
				imap_finish(s, "NO", "SERVERBUG",
					    "Out of memory");
				return -1;
			}
			d->n_names = k + 1;
		}
	}
	return 0;
}

void
imap_cmd_notify(struct imap_session *s, const struct imap_cmd *c)
{
	struct imap_notify_spec *spec = malloc(sizeof(*spec));
	struct imap_notify *n;
	const char *err = NULL;
	int r;

	if (spec == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	r = imap_notify_parse(c->args, c->n_args, spec, &err);
	if (r < 0) {
		free(spec);
		imap_finish(s, "BAD", NULL, "%s", err);
		return;
	}
	if (r == 1) {
		/* §3.1: the request is refused as a whole; NOTIFY stays as
		 * it was. */
		free(spec);
		imap_finish(s, "NO", IMAP_NOTIFY_BADEVENT,
			    "Event not supported");
		return;
	}
	imap_notify_free(s);
	if (spec->none) {
		free(spec);
		imap_finish(s, "OK", NULL, "NOTIFY completed");
		return;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		free(spec);
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	n->watch.account_id = s->account_id;
	n->watch.cb = imap_notify_watch_cb;
	n->watch.ctx = s;
	server_watch_add(s->base.srv, &n->watch);
	s->notify = n;
	if (imap_notify_groups(s, n, spec) < 0) {
		free(spec);
		imap_notify_free(s);
		return;
	}
	r = spec->status;
	free(spec);
	if (n->n_grps == 0) {
		imap_finish(s, "OK", NULL, "NOTIFY completed");
		return;
	}
	imap_notify_scan_start(s, true, r);
}
