/*
 * LIST and LSUB (RFC 9051 §6.3.9, RFC 3501 §6.3.9) with LIST-EXTENDED
 * selection and return options (RFC 5258), SPECIAL-USE attributes (RFC
 * 6154), CHILDREN (RFC 3348) and LIST-STATUS (RFC 5819). The mailbox list
 * is read on a worker; matching and formatting run on the loop.
 */
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "imap_int.h"

#define LIST_MAX_PATTERNS 16

enum {
	LIST_SEL_SUBSCRIBED = 1 << 0,
	LIST_SEL_SPECIAL = 1 << 1,
	LIST_SEL_RECURSIVE = 1 << 2,
	LIST_RET_SUBSCRIBED = 1 << 3,
	LIST_RET_STATUS = 1 << 6,
	LIST_LSUB = 1 << 7,
};

struct imap_list_job {
	struct imap_job job;
	int64_t account_id;
	unsigned opts;
	unsigned status_items;
	char *patterns[LIST_MAX_PATTERNS];
	size_t n_patterns;
	struct store_mailbox *boxes;
	size_t n_boxes;
	char **subs;
};

/* RFC 9051 §6.3.9: "*" matches anything, "%" anything but the delimiter.
 * One pass over the pattern, keeping which prefixes of the name the
 * pattern so far can match: O(pattern x name), whatever the wildcards (a
 * backtracking matcher is exponential in them, and this runs on the loop
 * for every mailbox). */
static bool
imap_list_match(const char *pat, const char *name)
{
	bool row[2][STORE_MAILBOX_NAME_MAX + 1];
	size_t n = strlen(name), cur = 0;

	if (n > STORE_MAILBOX_NAME_MAX)
		return false;
	memset(row[cur], 0, n + 1);
	row[cur][0] = true;
	for (; *pat != '\0'; pat++) {
		const bool *prev = row[cur];
		bool *next = row[cur ^ 1], any = false;

		for (size_t k = 0; k <= n; k++) {
			if (*pat == '*' || *pat == '%') {
				/* "%" does not reach across a "/". */
				if (*pat == '%' && k > 0 && name[k - 1] == '/')
					any = false;
				any |= prev[k];
				next[k] = any;
			} else {
				next[k] = k > 0 && prev[k - 1] &&
					  name[k - 1] == *pat;
			}
		}
		cur ^= 1;
	}
	return row[cur][n];
}

static bool
imap_list_matches(const struct imap_list_job *l, const char *name)
{
	for (size_t i = 0; i < l->n_patterns; i++) {
		const char *p = l->patterns[i];

		/* INBOX is case-insensitive in patterns too. */
		if (strncasecmp(p, "INBOX", 5) == 0 &&
		    (p[5] == '\0' || p[5] == '/' || p[5] == '*' ||
		     p[5] == '%') &&
		    strncmp(name, "INBOX", 5) == 0) {
			char tmp[STORE_MAILBOX_NAME_MAX + 8];
			str_lcpy(tmp, p, sizeof(tmp));
			memcpy(tmp, "INBOX", 5);
			if (imap_list_match(tmp, name))
				return true;
			continue;
		}
		if (imap_list_match(p, name))
			return true;
	}
	return false;
}

static bool
imap_list_subscribed(const struct imap_list_job *l, const char *name)
{
	for (size_t i = 0; l->subs != NULL && l->subs[i] != NULL; i++)
		if (strcmp(l->subs[i], name) == 0)
			return true;
	return false;
}

static bool
imap_list_has_children(const struct imap_list_job *l, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < l->n_boxes; i++)
		if (strncmp(l->boxes[i].name, name, n) == 0 &&
		    l->boxes[i].name[n] == '/')
			return true;
	return false;
}

static int
imap_list_work(struct imap_job *j, struct store *st)
{
	struct imap_list_job *l = (struct imap_list_job *)j;
	const char *err = NULL;

	if (store_mailbox_list(st, l->account_id, &l->boxes, &l->n_boxes,
			       &err) < 0 ||
	    store_subscriptions(st, l->account_id, &l->subs, &err) < 0) {
		str_lcpy(j->err, err != NULL ? err : "store error",
			 sizeof(j->err));
		return -1;
	}
	for (size_t i = 0; (l->opts & LIST_RET_STATUS) && i < l->n_boxes; i++)
		if (imap_status_recent(st, l->status_items, &l->boxes[i]) < 0)
			return -1;
	return 0;
}

static void
imap_list_one(struct imap_session *s, struct imap_list_job *l,
	      const struct store_mailbox *b, bool sub)
{
	struct buf out;

	buf_init(&out, 8192);
	buf_printf(&out, "* %s (", (l->opts & LIST_LSUB) ? "LSUB" : "LIST");
	if (!(l->opts & LIST_LSUB)) {
		buf_printf(&out, "%s", imap_list_has_children(l, b->name)
					       ? "\\HasChildren"
					       : "\\HasNoChildren");
		if (b->special_use[0] != '\0') {
			buf_printf(&out, " %s", b->special_use);
		}
		if (sub && ((l->opts & (LIST_RET_SUBSCRIBED |
					LIST_SEL_SUBSCRIBED))))
			buf_printf(&out, " \\Subscribed");
	}
	buf_printf(&out, ") \"/\" ");
	imap_buf_mailbox(s, &out, b->name);
	buf_printf(&out, "\r\n");
	imap_reply_raw(s, out.data, out.len);
	buf_fini(&out);
	if (l->opts & LIST_RET_STATUS)
		imap_status_line(s, b, l->status_items);
}

static bool
imap_list_exists(const struct imap_list_job *l, const char *name, size_t n)
{
	for (size_t i = 0; i < l->n_boxes; i++)
		if (strncmp(l->boxes[i].name, name, n) == 0 &&
		    l->boxes[i].name[n] == '\0')
			return true;
	return false;
}

/* A missing ancestor of a mailbox ("a" of "a/b" when only "a/b" exists)
 * is listed when it matches: \NonExistent for IMAP4rev2 (RFC 9051
 * §6.3.9), \Noselect for IMAP4rev1 (RFC 3501 §6.3.8). Listed once, with
 * the first of its descendants (the ones before box i have none). */
static void
imap_list_parents(struct imap_session *s, struct imap_list_job *l, size_t i)
{
	const char *name = l->boxes[i].name;
	char tmp[STORE_MAILBOX_NAME_MAX + 1];
	struct buf out;

	for (const char *p = strchr(name, '/'); p != NULL;
	     p = strchr(p + 1, '/')) {
		size_t n = (size_t)(p - name);
		bool seen = false;

		if (n == 0 || n >= sizeof(tmp) || imap_list_exists(l, name, n))
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strncmp(l->boxes[k].name, name, n) == 0 &&
			       l->boxes[k].name[n] == '/';
		memcpy(tmp, name, n);
		tmp[n] = '\0';
		if (seen || !imap_list_matches(l, tmp))
			continue;
		buf_init(&out, 8192);
		buf_printf(&out, "* LIST (%s \\HasChildren) \"/\" ",
			   s->rev2 ? "\\NonExistent" : "\\Noselect");
		imap_buf_mailbox(s, &out, tmp);
		buf_printf(&out, "\r\n");
		imap_reply_raw(s, out.data, out.len);
		buf_fini(&out);
	}
}

static const struct store_mailbox *
imap_list_box(const struct imap_list_job *l, const char *name)
{
	for (size_t i = 0; i < l->n_boxes; i++)
		if (strcmp(l->boxes[i].name, name) == 0)
			return &l->boxes[i];
	return NULL;
}

/* Some subscribed name below name (name/...) that the patterns do not
 * match: what LSUB's "%" rule and RECURSIVEMATCH report on name. */
static bool
imap_list_sub_below(const struct imap_list_job *l, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; l->subs != NULL && l->subs[i] != NULL; i++)
		if (strncmp(l->subs[i], name, n) == 0 &&
		    l->subs[i][n] == '/' && !imap_list_matches(l, l->subs[i]))
			return true;
	return false;
}

/* One name of the subscription-driven listing. sub: it is subscribed;
 * else it is an ancestor listed for a subscribed descendant (LSUB:
 * \Noselect, RFC 3501 §6.3.9; LIST RECURSIVEMATCH: CHILDINFO, RFC 5258
 * §3.5). A subscribed name whose mailbox is gone is \NonExistent. */
static void
imap_list_sub_one(struct imap_session *s, struct imap_list_job *l,
		  const char *name, bool sub)
{
	const struct store_mailbox *b = imap_list_box(l, name);
	bool lsub = l->opts & LIST_LSUB;
	struct buf out;

	buf_init(&out, 512);
	buf_printf(&out, "* %s (", lsub ? "LSUB" : "LIST");
	if (lsub) {
		buf_printf(&out, "%s", sub ? "" : "\\Noselect");
	} else {
		if (b == NULL)
			buf_printf(&out, "\\NonExistent");
		else
			buf_printf(&out, "%s%s%s",
				   imap_list_has_children(l, name)
					   ? "\\HasChildren"
					   : "\\HasNoChildren",
				   b->special_use[0] != '\0' ? " " : "",
				   b->special_use);
		if (sub)
			buf_printf(&out, " \\Subscribed");
	}
	buf_printf(&out, ") \"/\" ");
	imap_buf_mailbox(s, &out, name);
	if (!lsub && (l->opts & LIST_SEL_RECURSIVE) &&
	    imap_list_sub_below(l, name))
		buf_printf(&out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	buf_printf(&out, "\r\n");
	imap_reply_raw(s, out.data, out.len);
	buf_fini(&out);
	if (b != NULL && (l->opts & LIST_RET_STATUS))
		imap_status_line(s, b, l->status_items);
}

/* LSUB and LIST (SUBSCRIBED): driven by the subscriptions, which may
 * name mailboxes that no longer exist (RFC 9051 §6.3.10: DELETE does not
 * unsubscribe). Each subscribed name that matches, then each ancestor of
 * one that matches while the subscribed name below it does not ("x" for
 * "x/a/b" and the pattern "%"), once. */
static void
imap_list_by_subscription(struct imap_session *s, struct imap_list_job *l)
{
	char tmp[STORE_MAILBOX_NAME_MAX + 1];
	char **subs = l->subs;

	for (size_t i = 0; subs != NULL && subs[i] != NULL; i++) {
		const struct store_mailbox *b = imap_list_box(l, subs[i]);

		if (!imap_list_matches(l, subs[i]) ||
		    ((l->opts & LIST_SEL_SPECIAL) &&
		     (b == NULL || b->special_use[0] == '\0')))
			continue;
		imap_list_sub_one(s, l, subs[i], true);
	}
	if (!(l->opts & (LIST_LSUB | LIST_SEL_RECURSIVE)))
		return;
	for (size_t i = 0; subs != NULL && subs[i] != NULL; i++) {
		for (const char *p = strchr(subs[i], '/'); p != NULL;
		     p = strchr(p + 1, '/')) {
			size_t n = (size_t)(p - subs[i]);
			bool done = false;

			if (n == 0 || n >= sizeof(tmp))
				continue;
			memcpy(tmp, subs[i], n);
			tmp[n] = '\0';
			/* Listed already: subscribed itself, or the ancestor
			 * of an earlier name. */
			for (size_t k = 0; k < i && !done; k++)
				done = strncmp(subs[k], tmp, n) == 0 &&
				       subs[k][n] == '/';
			if (done || imap_list_subscribed(l, tmp) ||
			    !imap_list_matches(l, tmp) ||
			    imap_list_matches(l, subs[i]))
				continue;
			imap_list_sub_one(s, l, tmp, false);
		}
	}
}

static void
imap_list_done(struct imap_job *j)
{
	struct imap_list_job *l = (struct imap_list_job *)j;
	struct imap_session *s = j->s;
	bool lsub = l->opts & LIST_LSUB;

	if (j->result < 0) {
		imap_finish(s, "NO", "UNAVAILABLE", "%s failed",
			    lsub ? "LSUB" : "LIST");
		return;
	}
	if (lsub || (l->opts & LIST_SEL_SUBSCRIBED)) {
		imap_list_by_subscription(s, l);
		imap_finish(s, "OK", NULL, "%s completed",
			    lsub ? "LSUB" : "LIST");
		return;
	}
	for (size_t i = 0; i < l->n_boxes; i++) {
		const struct store_mailbox *b = &l->boxes[i];
		bool sub = imap_list_subscribed(l, b->name);

		if (!(l->opts & (LIST_LSUB | LIST_SEL_SUBSCRIBED |
				 LIST_SEL_SPECIAL)))
			imap_list_parents(s, l, i);
		if (!imap_list_matches(l, b->name))
			continue;
		if ((lsub || (l->opts & LIST_SEL_SUBSCRIBED)) && !sub)
			continue;
		if ((l->opts & LIST_SEL_SPECIAL) && b->special_use[0] == '\0')
			continue;
		imap_list_one(s, l, b, sub);
	}
	imap_finish(s, "OK", NULL, "%s completed", lsub ? "LSUB" : "LIST");
}

static void
imap_list_free(struct imap_job *j)
{
	struct imap_list_job *l = (struct imap_list_job *)j;

	for (size_t i = 0; i < l->n_patterns; i++)
		free(l->patterns[i]);
	free(l->boxes);
	store_strv_free(l->subs);
	free(l);
}

/* RFC 5258 §3: selection options before the reference. */
static int
imap_list_selection(const struct imap_arg *a, unsigned *opts)
{
	for (size_t i = 0; i < a->list_n; i++) {
		if (imap_arg_atom_is(&a->list[i], "SUBSCRIBED"))
			*opts |= LIST_SEL_SUBSCRIBED | LIST_RET_SUBSCRIBED;
		else if (imap_arg_atom_is(&a->list[i], "SPECIAL-USE"))
			*opts |= LIST_SEL_SPECIAL;
		else if (imap_arg_atom_is(&a->list[i], "RECURSIVEMATCH"))
			*opts |= LIST_SEL_RECURSIVE;
		else if (!imap_arg_atom_is(&a->list[i], "REMOTE"))
			return -1;
	}
	/* RECURSIVEMATCH alone is an error (RFC 5258 §3). */
	if ((*opts & LIST_SEL_RECURSIVE) &&
	    !(*opts & (LIST_SEL_SUBSCRIBED | LIST_SEL_SPECIAL)))
		return -1;
	return 0;
}

/* RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (...)). */
static int
imap_list_return(const struct imap_arg *a, struct imap_list_job *l)
{
	for (size_t i = 0; i < a->list_n; i++) {
		const struct imap_arg *o = &a->list[i];

		if (imap_arg_atom_is(o, "SUBSCRIBED"))
			l->opts |= LIST_RET_SUBSCRIBED;
		/* Always returned anyway (RFC 5258 §4, RFC 6154 §2):
		 * accepted, nothing to switch on. */
		else if (imap_arg_atom_is(o, "CHILDREN") ||
			 imap_arg_atom_is(o, "SPECIAL-USE"))
			continue;
		else if (imap_arg_atom_is(o, "STATUS") && i + 1 < a->list_n &&
			 imap_status_parse(&a->list[i + 1],
					   &l->status_items) == 0) {
			l->opts |= LIST_RET_STATUS;
			i++;
		} else
			return -1;
	}
	return 0;
}

/* Reference + pattern (RFC 9051 §6.3.9), decoded to UTF-8 when rev1. */
static int
imap_list_add_pattern(struct imap_session *s, struct imap_list_job *l,
		      const char *ref, const struct imap_arg *p)
{
	char raw[STORE_MAILBOX_NAME_MAX * 2 + 2], dec[STORE_MAILBOX_NAME_MAX * 2 + 2];
	size_t rl = strlen(ref);

	if (!imap_arg_is_string(p) || rl + p->len + 2 > sizeof(raw) ||
	    l->n_patterns >= LIST_MAX_PATTERNS || memchr(p->str, 0, p->len))
		return -1;
	memcpy(raw, ref, rl);
	if (rl > 0 && ref[rl - 1] != '/' && p->len > 0)
		raw[rl++] = '/';
	memcpy(raw + rl, p->str, p->len);
	raw[rl + p->len] = '\0';
	if (imap_name_decode(s, raw, strlen(raw), dec, sizeof(dec)) < 0)
		return -1;
	l->patterns[l->n_patterns] = strdup(dec);
	return l->patterns[l->n_patterns++] == NULL ? -1 : 0;
}

static int
imap_list_args(struct imap_session *s, const struct imap_cmd *c,
	       struct imap_list_job *l, bool *empty_r)
{
	size_t i = 0;
	char ref[STORE_MAILBOX_NAME_MAX + 1];

	*empty_r = false;
	if (!(l->opts & LIST_LSUB) && c->n_args > 0 &&
	    c->args[0].type == IMAP_ARG_LIST &&
	    imap_list_selection(&c->args[i++], &l->opts) < 0)
		return -1;
	if (c->n_args < i + 2 || !imap_arg_is_string(&c->args[i]) ||
	    c->args[i].len > STORE_MAILBOX_NAME_MAX)
		return -1;
	memcpy(ref, c->args[i].str, c->args[i].len);
	ref[c->args[i].len] = '\0';
	i++;
	if (c->args[i].type == IMAP_ARG_LIST) {
		for (size_t k = 0; k < c->args[i].list_n; k++)
			if (imap_list_add_pattern(s, l, ref,
						  &c->args[i].list[k]) < 0)
				return -1;
	} else {
		if (imap_arg_is_string(&c->args[i]) && c->args[i].len == 0)
			*empty_r = true;
		else if (imap_list_add_pattern(s, l, ref, &c->args[i]) < 0)
			return -1;
	}
	i++;
	if (i < c->n_args && !(l->opts & LIST_LSUB) &&
	    imap_arg_atom_is(&c->args[i], "RETURN") && i + 1 < c->n_args &&
	    c->args[i + 1].type == IMAP_ARG_LIST) {
		if (imap_list_return(&c->args[i + 1], l) < 0)
			return -1;
		i += 2;
	}
	return i == c->n_args ? 0 : -1;
}

void
imap_cmd_list(struct imap_session *s, const struct imap_cmd *c)
{
	struct imap_list_job *l = calloc(1, sizeof(*l));
	bool empty;

	if (l == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	if (s->cmd_variant == IMAP_VARIANT_LSUB)
		l->opts |= LIST_LSUB;
	if (imap_list_args(s, c, l, &empty) < 0) {
		imap_list_free(&l->job);
		imap_finish(s, "BAD", NULL, "Bad %s arguments", c->name);
		session_error(&s->base);
		return;
	}
	if (empty) {
		/* RFC 9051 §6.3.9: an empty pattern asks for the delimiter. */
		imap_list_free(&l->job);
		imap_untagged(s, "%s (\\Noselect) \"/\" \"\"", c->name);
		imap_finish(s, "OK", NULL, "%s completed", c->name);
		return;
	}
	l->account_id = s->account_id;
	l->job.work = imap_list_work;
	l->job.done = imap_list_done;
	l->job.free = imap_list_free;
	imap_job_read(s, &l->job);
}
