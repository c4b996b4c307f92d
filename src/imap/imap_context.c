/*
 * CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): a SEARCH or SORT with
 * RETURN (UPDATE) stays alive; as the selected mailbox changes, the
 * client is told which messages joined or left the result (ESEARCH ADDTO
 * and REMOVEFROM, tagged with the original command's tag) until
 * CANCELUPDATE or the mailbox is closed.
 *
 * A context keeps its parsed search program and its result as UIDs. When
 * the view has changed since the last look (a cheap fingerprint: message
 * count, highest modseq, last UID), each context is evaluated again over
 * the view by cmd_search.c's worker job and the difference is announced:
 * at the end of every command (before its tagged reply, after the view's
 * own EXISTS/EXPUNGE/FETCH), during IDLE and in NOTIFY's passes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "imap_int.h"
#include "imap_search.h"

struct imap_context {
	struct imap_context *next;
	char tag[IMAP_TAG_MAX + 1];
	struct imap_search q;           /* owned program */
	struct imap_sort_program sort;
	bool is_sort, uid;
	uint32_t *uids;                 /* result, in result order */
	size_t n;
};

static void
imap_context_free(struct imap_context *c)
{
	imap_search_free(&c->q);
	free(c->uids);
	free(c);
}

void
imap_context_free_all(struct imap_session *s)
{
	while (s->contexts != NULL) {
		struct imap_context *c = s->contexts;

		s->contexts = c->next;
		imap_context_free(c);
	}
	s->n_contexts = 0;
}

/* What the view looks like, cheaply: any change the client was told of
 * (new message, expunge, flag change by anyone) moves one of these. */
static void
imap_context_fp(const struct imap_session *s, uint64_t fp[3])
{
	const struct imap_view *v = s->view;

	fp[0] = v != NULL ? v->n : 0;
	fp[1] = v != NULL ? v->highestmodseq : 0;
	fp[2] = v != NULL && v->n > 0 ? v->msgs[v->n - 1].uid : 0;
}

static bool
imap_context_changed(const struct imap_session *s)
{
	uint64_t fp[3];

	imap_context_fp(s, fp);
	return memcmp(fp, s->ctx_fp, sizeof(fp)) != 0;
}

int
imap_context_add(struct imap_session *s, struct imap_search *q,
		 const struct imap_sort_program *sort, bool is_sort, bool uid,
		 const uint32_t *uids, size_t n)
{
	struct imap_context *c;

	/* RFC 5267 §4.3.1: a server may refuse to keep a context. With
	 * PARTIAL the updates still cover the whole result (RFC 9394 §3:
	 * the two options do not interact). */
	if (s->n_contexts >= IMAP_CONTEXT_MAX ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->uids = malloc((n ? n : 1) * sizeof(*c->uids));
	if (c->uids == NULL) {
		free(c);
		return -1;
	}
	memcpy(c->uids, uids, n * sizeof(*uids));
	c->n = n;
	str_lcpy(c->tag, s->tag, sizeof(c->tag));
	c->q = *q;
	q->root = NULL; /* the program is the context's now */
	if (sort != NULL)
		c->sort = *sort;
	c->is_sort = is_sort;
	c->uid = uid;
	/* A second context with the same tag replaces nothing: the tags
	 * are the client's business (§4.3.5 cancels all that match). */
	c->next = s->contexts;
	s->contexts = c;
	s->n_contexts++;
	imap_context_fp(s, s->ctx_fp);
	return 0;
}

/* ---- announcing a difference ------------------------------------------ */

static int
imap_context_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A result as a sorted set, for membership in O(log n): results of
 * 100,000 messages are compared at every change. NULL: no memory. */
static uint32_t *
imap_context_set_new(const uint32_t *v, size_t n)
{
	uint32_t *s = malloc((n ? n : 1) * sizeof(*s));

	if (s == NULL)
		return NULL;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), imap_context_u32_cmp);
	return s;
}

static bool
imap_context_has(const uint32_t *set, size_t n, uint32_t uid)
{
	return bsearch(&uid, set, n, sizeof(*set), imap_context_u32_cmp) !=
	       NULL;
}

/* The number the client knows a message by, 0 when it is gone from the
 * view (its EXPUNGE removed it from every context, §4.3.4). */
static uint32_t
imap_context_num(const struct imap_session *s, const struct imap_context *c,
		 uint32_t uid)
{
	long i = imap_view_find(s->view, uid);

	if (i < 0 || (s->view->msgs[i].flags & IMAP_VFLAG_EXPUNGED))
		return 0;
	return c->uid ? uid : (uint32_t)i + 1;
}

/* Unsorted SEARCH: "REMOVEFROM (0 set)" and "ADDTO (0 set)"; position 0
 * because a SEARCH result has no order of its own (§4.3.2). */
static void
imap_context_diff_search(struct imap_session *s, const struct imap_context *c,
			 const uint32_t *now, size_t n, const uint32_t *old_set,
			 const uint32_t *now_set, struct buf *b)
{
	struct imap_set_out rm = { .b = b }, add = { .b = b };
	bool any = false;

	for (size_t i = 0; i < c->n; i++) {
		uint32_t num;

		if (imap_context_has(now_set, n, c->uids[i]) ||
		    (num = imap_context_num(s, c, c->uids[i])) == 0)
			continue;
		buf_printf(b, "%s", any ? "" : " REMOVEFROM (0 ");
		any = true;
		imap_set_add(&rm, num);
	}
	imap_set_end(&rm);
	if (any)
		buf_append(b, ")", 1);
	any = false;
	for (size_t i = 0; i < n; i++) {
		uint32_t num;

		if (imap_context_has(old_set, c->n, now[i]) ||
		    (num = imap_context_num(s, c, now[i])) == 0)
			continue;
		buf_printf(b, "%s", any ? "" : " ADDTO (0 ");
		any = true;
		imap_set_add(&add, num);
	}
	imap_set_end(&add);
	if (any)
		buf_append(b, ")", 1);
}

/* SORT: each removal at its position, last first so that the positions
 * before it still hold; then each addition at its place in the new order,
 * first first (§4.3.3: applying them in turn gives the new result). */
static void
imap_context_diff_sort(struct imap_session *s, const struct imap_context *c,
		       const uint32_t *now, size_t n, const uint32_t *old_set,
		       const uint32_t *now_set, struct buf *b)
{
	bool any = false;

	for (size_t i = c->n; i-- > 0;) {
		uint32_t num;

		if (imap_context_has(now_set, n, c->uids[i]) ||
		    (num = imap_context_num(s, c, c->uids[i])) == 0)
			continue;
		buf_printf(b, "%s%zu %" PRIu32, any ? " " : " REMOVEFROM (",
			   i + 1, num);
		any = true;
	}
	if (any)
		buf_append(b, ")", 1);
	any = false;
	for (size_t i = 0; i < n; i++) {
		uint32_t num;

		if (imap_context_has(old_set, c->n, now[i]) ||
		    (num = imap_context_num(s, c, now[i])) == 0)
			continue;
		buf_printf(b, "%s%zu %" PRIu32, any ? " " : " ADDTO (", i + 1,
			   num);
		any = true;
	}
	if (any)
		buf_append(b, ")", 1);
}

static void imap_context_next(struct imap_session *s);

void
imap_context_result(struct imap_session *s, struct imap_context *c, int ok,
		    uint32_t *uids, size_t n)
{
	uint32_t *old_set = NULL, *now_set = NULL;
	struct buf b;
	size_t head;

	if (ok == 0 && ((old_set = imap_context_set_new(c->uids, c->n)) ==
			NULL ||
			(now_set = imap_context_set_new(uids, n)) == NULL))
		ok = -1; /* no memory: the next change tries again */
	if (ok == 0) {
		buf_init(&b, 64 * 1024 * 1024);
		buf_printf(&b, "* ESEARCH (TAG \"%s\")%s", c->tag,
			   c->uid ? " UID" : "");
		head = b.len;
		if (c->is_sort)
			imap_context_diff_sort(s, c, uids, n, old_set, now_set,
					       &b);
		else
			imap_context_diff_search(s, c, uids, n, old_set,
						 now_set, &b);
		if (b.len > head) {
			buf_append(&b, "\r\n", 2);
			imap_reply_raw(s, b.data, b.len);
		}
		buf_fini(&b);
		/* Messages the view no longer has are out of the result. */
		free(c->uids);
		c->uids = uids;
		c->n = 0;
		for (size_t i = 0; i < n; i++)
			if (imap_context_num(s, c, uids[i]) != 0)
				c->uids[c->n++] = uids[i];
	} else {
		free(uids);
	}
	free(old_set);
	free(now_set);
	s->ctx_cur = c->next;
	imap_context_next(s);
}

/* Evaluates the contexts one after the other (one worker job each). */
static void
imap_context_next(struct imap_session *s)
{
	void (*then)(struct imap_session *) = s->ctx_then;

	while (s->ctx_cur != NULL) {
		struct imap_context *c = s->ctx_cur;

		if (imap_search_context_run(s, c, &c->q, &c->sort, c->is_sort,
					    c->uid) == 0)
			return;
		s->ctx_cur = c->next; /* no memory: try again next time */
	}
	s->ctx_running = false;
	s->ctx_then = NULL;
	if (then != NULL)
		then(s);
}

bool
imap_context_update(struct imap_session *s,
		    void (*then)(struct imap_session *s))
{
	if (s->ctx_running) {
		/* One chain at a time; it ends with this caller's step. */
		if (then != NULL)
			s->ctx_then = then;
		return then != NULL;
	}
	if (s->contexts == NULL || s->view == NULL || !imap_context_changed(s))
		return false;
	imap_context_fp(s, s->ctx_fp);
	s->ctx_running = true;
	s->ctx_then = then;
	s->ctx_cur = s->contexts;
	imap_context_next(s);
	return true;
}

/* RFC 5267 §4.3.5: CANCELUPDATE "tag" ... */
void
imap_cmd_cancelupdate(struct imap_session *s, const struct imap_cmd *cmd)
{
	if (cmd->n_args == 0) {
		imap_finish(s, "BAD", NULL, "CANCELUPDATE needs a tag");
		return;
	}
	for (size_t i = 0; i < cmd->n_args; i++) {
		const struct imap_arg *a = &cmd->args[i];
		bool found = false;

		if (!imap_arg_is_string(a)) {
			imap_finish(s, "BAD", NULL, "Bad CANCELUPDATE tag");
			return;
		}
		for (struct imap_context *c = s->contexts; c != NULL;
		     c = c->next)
			if (strlen(c->tag) == a->len &&
			    memcmp(c->tag, a->str, a->len) == 0)
				found = true;
		if (!found) {
			imap_finish(s, "BAD", NULL, "No update for that tag");
			return;
		}
	}
	for (size_t i = 0; i < cmd->n_args; i++) {
		const struct imap_arg *a = &cmd->args[i];

		for (struct imap_context **pp = &s->contexts; *pp != NULL;) {
			struct imap_context *c = *pp;

			if (strlen(c->tag) == a->len &&
			    memcmp(c->tag, a->str, a->len) == 0) {
				*pp = c->next;
				imap_context_free(c);
				s->n_contexts--;
			} else {
				pp = &c->next;
			}
		}
	}
	imap_finish(s, "OK", NULL, "CANCELUPDATE completed");
}
