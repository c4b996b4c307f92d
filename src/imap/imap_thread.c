/*
 * THREAD (RFC 5256): ORDEREDSUBJECT (§2.2: by base subject, then sent
 * date) and REFERENCES (§2.3: the parent/child links of Message-ID,
 * References and In-Reply-To, then threads of one base subject gathered).
 * Pure: the messages' headers in, the thread lists out; runs on a worker
 * like SORT.
 *
 * REFERENCES keeps one container per message id in an array (ids sorted
 * for lookup); a container without a message is a "dummy". Every link
 * keeps the tree a forest no deeper than IMAP_THREAD_MAX_DEPTH, so each
 * recursive walk below is bounded.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../mime/mime.h"
#include "../util/buf.h"
#include "../util/str.h"
#include "imap_search.h"

#define THREAD_VALUE_MAX (64 * 1024)
/* Containers one link may look at to measure the depth it would make. */
#define REF_VISITS_MAX 4096

int
imap_thread_alg_parse(const char *name, size_t len,
		      enum imap_thread_alg *alg_r)
{
	if (str_ieq(name, len, "ORDEREDSUBJECT"))
		*alg_r = IMAP_THREAD_ORDEREDSUBJECT;
	else if (str_ieq(name, len, "REFERENCES"))
		*alg_r = IMAP_THREAD_REFERENCES;
	else
		return -1;
	return 0;
}

/* What threading reads of one message. */
struct thread_msg {
	uint32_t num;    /* seq or UID, as answered */
	uint32_t seq;
	int64_t date;    /* sent date */
	char *subject;   /* base subject */
	bool reply;      /* the subject had Re:/Fwd: (base differs) */
};

static const char *
thread_header(const struct imap_search_msg *m, size_t *len_r)
{
	if (m->data != NULL) {
		*len_r = mime_header_block_len(m->data, m->len);
		return m->data;
	}
	*len_r = m->fields != NULL ? m->fields_len : 0;
	return m->fields != NULL ? m->fields : "";
}

static int
thread_msg_init(struct thread_msg *t, const struct imap_search_msg *m,
		bool uid, struct buf *tmp)
{
	size_t len;
	const char *hdr = thread_header(m, &len);

	t->num = uid ? m->uid : m->seq;
	t->seq = m->seq;
	t->date = imap_sort_date(hdr, len, m, tmp);
	t->subject = imap_sort_subject(hdr, len, tmp);
	if (t->subject == NULL)
		return -1;
	/* RFC 5256 §2.1: a reply or forward is a subject the extraction
	 * shortened by a Re:/Fwd: (or a blob or trailer, which we count
	 * alike). */
	if (imap_sort_field(hdr, len, "subject", true, tmp)) {
		size_t i = 0, n = tmp->len;
		const char *s = (const char *)tmp->data;

		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		t->reply = strlen(t->subject) < n - i;
	}
	return 0;
}

/* Sent date, then mailbox order (RFC 5256 §2.2). */
static int
thread_msg_cmp(const struct thread_msg *a, const struct thread_msg *b)
{
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* ---- ORDEREDSUBJECT ---- */

static int
os_cmp(const void *va, const void *vb)
{
	const struct thread_msg *a = va, *b = vb;
	int r = strcmp(a->subject, b->subject);

	return r != 0 ? r : thread_msg_cmp(a, b);
}

static int
os_group_cmp(const void *va, const void *vb)
{
	const struct thread_msg *const *a = va, *const *b = vb;

	return thread_msg_cmp(*a, *b);
}

/* §2.2: sorted by base subject and date, one thread per subject whose
 * first message is the parent of the others; threads by their first
 * message's date. */
static int
thread_orderedsubject(struct thread_msg *t, size_t n, struct buf *out)
{
	struct thread_msg **first = calloc(n + 1, sizeof(*first));
	size_t n_first = 0;

	if (first == NULL)
		return -1;
	qsort(t, n, sizeof(*t), os_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(t[i].subject, t[i - 1].subject) != 0)
			first[n_first++] = &t[i];
	qsort(first, n_first, sizeof(*first), os_group_cmp);
	for (size_t g = 0; g < n_first; g++) {
		const struct thread_msg *p = first[g];
		size_t k = (size_t)(p - t), end = k + 1;

		while (end < n && strcmp(t[end].subject, p->subject) == 0)
			end++;
		buf_printf(out, "(%" PRIu32, p->num);
		if (end - k == 2)
			buf_printf(out, " %" PRIu32, t[k + 1].num);
		else
			for (size_t i = k + 1; i < end; i++)
				buf_printf(out, "%s(%" PRIu32 ")",
					   i == k + 1 ? " " : "", t[i].num);
		buf_printf(out, ")");
	}
	free(first);
	return 0;
}

/* ---- REFERENCES ---- */

struct ref_node {
	long msg;          /* index into the messages, -1: dummy */
	long parent, child, next; /* -1: none; children as a list */
	int64_t date;      /* for sorting: own, or the first child's */
	uint32_t seq;
};

struct ref_ctx {
	struct ref_node *node;
	size_t n_node, cap_node;
	char **ids;        /* sorted unique message ids; node i = ids[i] */
	size_t n_ids;
	struct thread_msg *t;
};

/* The msg-ids ("<...>") of a field value, in order, each without its
 * angle brackets and white space; up to max. */
static size_t
ref_ids(const char *v, size_t len, char **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n < max; i++) {
		const char *gt;
		size_t k = 0;
		char *id;

		if (v[i] != '<' || (gt = memchr(v + i, '>', len - i)) == NULL)
			continue;
		id = malloc((size_t)(gt - v - i));
		if (id == NULL)
			break;
		for (const char *p = v + i + 1; p < gt; p++)
			if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
				id[k++] = *p;
		id[k] = '\0';
		i = (size_t)(gt - v);
		if (k == 0) {
			free(id);
			continue;
		}
		out[n++] = id;
	}
	return n;
}

/* References / In-Reply-To / Message-ID of one message. */
#define REF_MAX 256
struct ref_msg {
	char *id;
	char *refs[REF_MAX];
	size_t n_refs;
};

static void
ref_msg_read(const struct imap_search_msg *m, struct ref_msg *r,
	     struct buf *tmp)
{
	size_t len;
	const char *hdr = thread_header(m, &len);
	char *one[1];

	if (imap_sort_field(hdr, len, "message-id", false, tmp) &&
	    ref_ids((const char *)tmp->data, tmp->len, one, 1) == 1)
		r->id = one[0];
	if (imap_sort_field(hdr, len, "references", false, tmp))
		r->n_refs = ref_ids((const char *)tmp->data, tmp->len, r->refs,
				    REF_MAX);
	/* §2.3 step 1A: no References: the first id of In-Reply-To. */
	if (r->n_refs == 0 &&
	    imap_sort_field(hdr, len, "in-reply-to", false, tmp))
		r->n_refs = ref_ids((const char *)tmp->data, tmp->len, r->refs,
				    1);
}

static int
ref_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static long
ref_lookup(const struct ref_ctx *c, const char *id)
{
	char *const *p = bsearch(&id, c->ids, c->n_ids, sizeof(*c->ids),
				 ref_str_cmp);

	return p != NULL ? (long)(p - c->ids) : -1;
}

/* A new container (a message without a usable id, a dummy of step 5). */
static long
ref_node_new(struct ref_ctx *c)
{
	if (c->n_node == c->cap_node) {
		size_t cap = c->cap_node * 2 + 16;
		struct ref_node *v = realloc(c->node, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		c->node = v;
		c->cap_node = cap;
	}
	c->node[c->n_node] = (struct ref_node){ .msg = -1, .parent = -1,
						.child = -1, .next = -1 };
	return (long)c->n_node++;
}

/* Depth of a below its root; IMAP_THREAD_MAX_DEPTH at most. true when b
 * is a (proper or not) ancestor of a. */
static bool
ref_is_ancestor(const struct ref_ctx *c, long b, long a, size_t *depth_r)
{
	size_t d = 0;

	for (long x = a; x >= 0 && d <= IMAP_THREAD_MAX_DEPTH;
	     x = c->node[x].parent, d++)
		if (x == b)
			return true;
	*depth_r = d;
	return false;
}

static void
ref_unlink(struct ref_ctx *c, long x)
{
	long p = c->node[x].parent, *pp;

	if (p < 0)
		return;
	for (pp = &c->node[p].child; *pp >= 0; pp = &c->node[*pp].next)
		if (*pp == x) {
			*pp = c->node[x].next;
			break;
		}
	c->node[x].parent = -1;
	c->node[x].next = -1;
}

static void
ref_add_child(struct ref_ctx *c, long p, long x)
{
	long *pp = &c->node[p].child;

	while (*pp >= 0)
		pp = &c->node[*pp].next;
	*pp = x;
	c->node[x].parent = p;
	c->node[x].next = -1;
}

/* Height of x's subtree (1 for a leaf), at most limit + 1; *visits
 * bounds the work of one link. */
static size_t
ref_height(const struct ref_ctx *c, long x, size_t limit, size_t *visits)
{
	size_t h = 0;

	if (limit == 0 || ++*visits > REF_VISITS_MAX)
		return limit + 1;
	for (long y = c->node[x].child; y >= 0; y = c->node[y].next) {
		size_t hy = ref_height(c, y, limit - 1, visits);

		if (hy > h)
			h = hy;
		if (h >= limit)
			return limit + 1;
	}
	return h + 1;
}

/* Links p -> x unless it would make a loop or a tree deeper than
 * IMAP_THREAD_MAX_DEPTH. */
static void
ref_link(struct ref_ctx *c, long p, long x)
{
	size_t dp = 0, visits = 0;

	if (p == x || ref_is_ancestor(c, x, p, &dp) ||
	    dp >= IMAP_THREAD_MAX_DEPTH ||
	    dp + ref_height(c, x, IMAP_THREAD_MAX_DEPTH - dp, &visits) >
		    IMAP_THREAD_MAX_DEPTH)
		return;
	ref_unlink(c, x);
	ref_add_child(c, p, x);
}

/* Step 1: containers and links. */
static int
ref_build(struct ref_ctx *c, const struct imap_search_msg *m, size_t n,
	  struct ref_msg *rm)
{
	size_t n_all = 0, k = 0;

	for (size_t i = 0; i < n; i++)
		n_all += (rm[i].id != NULL) + rm[i].n_refs;
	c->ids = calloc(n_all + 1, sizeof(*c->ids));
	if (c->ids == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (rm[i].id != NULL)
			c->ids[k++] = rm[i].id;
		for (size_t r = 0; r < rm[i].n_refs; r++)
			c->ids[k++] = rm[i].refs[r];
	}
	qsort(c->ids, k, sizeof(*c->ids), ref_str_cmp);
	for (size_t i = 0; i < k; i++)
		if (c->n_ids == 0 || strcmp(c->ids[c->n_ids - 1], c->ids[i]))
			c->ids[c->n_ids++] = c->ids[i];
	for (size_t i = 0; i < c->n_ids; i++)
		if (ref_node_new(c) < 0)
			return -1;
	for (size_t i = 0; i < n; i++) {
		long me = rm[i].id != NULL ? ref_lookup(c, rm[i].id) : -1, last;

		/* §2.3 1A: no id, or one already used: a container of its
		 * own. */
		if (me < 0 || c->node[me].msg >= 0)
			me = ref_node_new(c);
		if (me < 0)
			return -1;
		c->node[me].msg = (long)i;
		c->node[me].seq = m[i].seq;
		/* 1B: each reference the parent of the next, where the
		 * child has no parent yet. */
		for (size_t r = 0; r + 1 < rm[i].n_refs; r++) {
			long a = ref_lookup(c, rm[i].refs[r]);
			long b = ref_lookup(c, rm[i].refs[r + 1]);

			if (a >= 0 && b >= 0 && c->node[b].parent < 0)
				ref_link(c, a, b);
		}
		/* 1C: the last reference is the parent. */
		last = rm[i].n_refs > 0 ? ref_lookup(c, rm[i].refs[rm[i].n_refs
								  - 1])
					: -1;
		if (last >= 0)
			ref_link(c, last, me);
		else
			ref_unlink(c, me);
	}
	return 0;
}

/* Step 3: dummies without children go; a dummy with children gives
 * them to its parent (at the root only when there is one). list is a
 * child list head (&node.child, or the roots). */
static void
ref_prune(struct ref_ctx *c, long *list, long parent, size_t depth)
{
	long *pp = list;

	while (*pp >= 0) {
		long x = *pp;
		struct ref_node *nd = &c->node[x];

		if (depth < IMAP_THREAD_MAX_DEPTH + 4)
			ref_prune(c, &nd->child, x, depth + 1);
		if (nd->msg >= 0) {
			pp = &nd->next;
			continue;
		}
		if (nd->child < 0) {
			*pp = nd->next;
			continue;
		}
		if (parent < 0 && c->node[nd->child].next >= 0) {
			pp = &nd->next; /* kept: a root with several */
			continue;
		}
		/* Splice the children in place of the dummy. */
		long first = nd->child, last = first;

		for (long y = first; y >= 0; y = c->node[y].next) {
			c->node[y].parent = parent;
			last = y;
		}
		c->node[last].next = nd->next;
		*pp = first;
		nd->child = -1;
	}
}

/* Sorts a sibling list by date (a dummy: its first child's, after its
 * own children are sorted), recursively. */
static long
ref_sort(struct ref_ctx *c, long head, size_t depth)
{
	long v[64], *all = v, n = 0, cap = 64;

	for (long x = head; x >= 0; x = c->node[x].next) {
		if (depth < IMAP_THREAD_MAX_DEPTH + 4)
			c->node[x].child = ref_sort(c, c->node[x].child,
						    depth + 1);
		if (c->node[x].msg >= 0) {
			c->node[x].date = c->t[c->node[x].msg].date;
		} else if (c->node[x].child >= 0) {
			c->node[x].date = c->node[c->node[x].child].date;
			c->node[x].seq = c->node[c->node[x].child].seq;
		}
		if (n == cap) {
			long *nv = malloc((size_t)cap * 2 * sizeof(*nv));

			if (nv == NULL)
				goto out; /* keeps the order it has */
			memcpy(nv, all, (size_t)n * sizeof(*nv));
			if (all != v)
				free(all);
			all = nv;
			cap *= 2;
		}
		all[n++] = x;
	}
	/* Insertion sort is quadratic; sibling lists are short except the
	 * roots, so a merge of sorted runs would do, but qsort needs a
	 * context: sort the indexes with a small shell sort. */
	for (long gap = n / 2; gap > 0; gap /= 2)
		for (long i = gap; i < n; i++)
			for (long j = i; j >= gap; j -= gap) {
				struct ref_node *a = &c->node[all[j - gap]];
				struct ref_node *b = &c->node[all[j]];

				if (a->date < b->date ||
				    (a->date == b->date && a->seq <= b->seq))
					break;
				long tmp = all[j];
				all[j] = all[j - gap];
				all[j - gap] = tmp;
			}
	for (long i = 0; i < n; i++)
		c->node[all[i]].next = i + 1 < n ? all[i + 1] : -1;
	head = n > 0 ? all[0] : -1;
out:
	if (all != v)
		free(all);
	return head;
}

static const char *
ref_subject(const struct ref_ctx *c, long x, bool *reply_r)
{
	if (c->node[x].msg < 0)
		x = c->node[x].child;
	if (x < 0 || c->node[x].msg < 0)
		return NULL;
	*reply_r = c->t[c->node[x].msg].reply;
	return c->t[c->node[x].msg].subject;
}

/* One root as step 5 sees it. */
struct ref_root {
	long x;
	const char *subject;
	bool reply, dummy;
	size_t order;    /* position in the root list */
	long table;      /* the best root of its subject (§2.3 5B) */
};

static int
ref_root_cmp(const void *va, const void *vb)
{
	const struct ref_root *a = va, *b = vb;
	int r = strcmp(a->subject, b->subject);

	return r != 0 ? r : (a->order > b->order) - (a->order < b->order);
}

static int
ref_root_order(const void *va, const void *vb)
{
	const struct ref_root *a = va, *b = vb;

	return (a->order > b->order) - (a->order < b->order);
}

/* true when b should be the table's root of the subject rather than a:
 * a dummy before a message, a message that is not a reply before one
 * that is; else the first (§2.3 5B). */
static bool
ref_root_better(const struct ref_root *b, const struct ref_root *a)
{
	if (b->dummy != a->dummy)
		return b->dummy;
	return !b->dummy && a->reply && !b->reply;
}

/* Removes x from the root list; true when it was there. */
static bool
ref_root_remove(struct ref_ctx *c, long *roots, long x)
{
	for (long *pp = roots; *pp >= 0; pp = &c->node[*pp].next)
		if (*pp == x) {
			*pp = c->node[x].next;
			c->node[x].next = -1;
			return true;
		}
	return false;
}

/* Merges root r into the table's root t (§2.3 5C); the new dummy, when
 * one is made, replaces t in the list: returned (else t). -2: memory. */
static long
ref_merge(struct ref_ctx *c, long *roots, const struct ref_root *r, long t,
	  bool t_reply)
{
	long d, *pp;

	if (r->dummy && c->node[t].msg < 0) {
		ref_root_remove(c, roots, r->x);
		while (c->node[r->x].child >= 0) {
			long y = c->node[r->x].child;

			ref_unlink(c, y);
			ref_add_child(c, t, y);
		}
		return t;
	}
	if (c->node[t].msg < 0 || (!t_reply && r->reply)) {
		ref_root_remove(c, roots, r->x);
		ref_add_child(c, t, r->x);
		return t;
	}
	if (r->dummy)
		return t; /* cannot happen: a dummy wins the table */
	if ((d = ref_node_new(c)) < 0)
		return -2;
	ref_root_remove(c, roots, r->x);
	for (pp = roots; *pp >= 0 && *pp != t; pp = &c->node[*pp].next)
		;
	if (*pp != t)
		return t;
	c->node[d].next = c->node[t].next;
	*pp = d;
	c->node[t].next = -1;
	ref_add_child(c, d, t);
	ref_add_child(c, d, r->x);
	return d;
}

/* Step 5: the roots of one base subject gathered under one thread. */
static int
ref_gather(struct ref_ctx *c, long *roots)
{
	size_t n = 0, k = 0;
	struct ref_root *v;

	for (long x = *roots; x >= 0; x = c->node[x].next)
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (v == NULL)
		return -1;
	for (long x = *roots; x >= 0; x = c->node[x].next) {
		struct ref_root *r = &v[k];

		r->x = x;
		r->order = k++;
		r->dummy = c->node[x].msg < 0;
		r->subject = ref_subject(c, x, &r->reply);
		if (r->subject == NULL)
			r->subject = "";
	}
	/* 5A/5B: sorted by subject, the best root of each. */
	qsort(v, n, sizeof(*v), ref_root_cmp);
	for (size_t i = 0, j; i < n; i = j) {
		size_t best = i;

		for (j = i + 1; j < n && strcmp(v[j].subject, v[i].subject) == 0;
		     j++)
			if (ref_root_better(&v[j], &v[best]))
				best = j;
		for (size_t m = i; m < j; m++)
			v[m].table = v[i].subject[0] != '\0' ? (long)best : -1;
	}
	/* The table entries as root indexes, then back to list order. */
	for (size_t i = 0; i < n; i++)
		if (v[i].table >= 0)
			v[i].table = (long)v[v[i].table].order;
	qsort(v, n, sizeof(*v), ref_root_order);
	for (size_t i = 0; i < n; i++) {
		struct ref_root *t;
		long nt;

		if (v[i].table < 0 || (size_t)v[i].table == i)
			continue;
		t = &v[v[i].table];
		nt = ref_merge(c, roots, &v[i], t->x, t->reply);
		if (nt == -2) {
			free(v);
			return -1;
		}
		if (nt != t->x) { /* a new dummy holds the subject now */
			t->x = nt;
			t->dummy = true;
		}
	}
	free(v);
	return 0;
}

/* Writes one thread's members: x and what hangs below it. */
static void
ref_out(const struct ref_ctx *c, long x, struct buf *out, size_t depth)
{
	bool wrote = false;

	for (size_t d = depth; x >= 0 && d < IMAP_THREAD_MAX_DEPTH + 8; d++) {
		long ch = c->node[x].child;

		if (c->node[x].msg >= 0) {
			buf_printf(out, "%s%" PRIu32, wrote ? " " : "",
				   c->t[c->node[x].msg].num);
			wrote = true;
		}
		if (ch >= 0 && c->node[ch].next < 0) {
			x = ch; /* an only child continues the line */
			continue;
		}
		if (ch >= 0 && wrote)
			buf_printf(out, " ");
		for (long y = ch; y >= 0; y = c->node[y].next) {
			buf_printf(out, "(");
			ref_out(c, y, out, d + 1);
			buf_printf(out, ")");
		}
		break;
	}
}

static int
thread_references(const struct imap_search_msg *m, struct thread_msg *t,
		  size_t n, struct buf *out, struct buf *tmp)
{
	struct ref_ctx c = { .t = t };
	struct ref_msg *rm = calloc(n + 1, sizeof(*rm));
	long roots = -1, *tail = &roots;
	int rc = -1;

	if (rm == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		ref_msg_read(&m[i], &rm[i], tmp);
	if (ref_build(&c, m, n, rm) < 0)
		goto out;
	/* Step 2: the roots, in container order. */
	for (size_t x = 0; x < c.n_node; x++) {
		if (c.node[x].parent >= 0 ||
		    (c.node[x].msg < 0 && c.node[x].child < 0))
			continue;
		*tail = (long)x;
		tail = &c.node[x].next;
	}
	*tail = -1;
	ref_prune(&c, &roots, -1, 0);
	roots = ref_sort(&c, roots, 0);   /* step 4 */
	if (ref_gather(&c, &roots) < 0)   /* step 5 */
		goto out;
	roots = ref_sort(&c, roots, 0);   /* step 6 */
	for (long x = roots; x >= 0; x = c.node[x].next) {
		buf_printf(out, "(");
		ref_out(&c, x, out, 0);
		buf_printf(out, ")");
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		free(rm[i].id);
		for (size_t r = 0; r < rm[i].n_refs; r++)
			free(rm[i].refs[r]);
	}
	free(rm);
	free(c.ids);
	free(c.node);
	return rc;
}

int
imap_thread_build(enum imap_thread_alg alg,
		  const struct imap_search_msg *msgs, size_t n, bool uid,
		  struct buf *out)
{
	struct thread_msg *t = calloc(n + 1, sizeof(*t));
	struct buf tmp;
	int rc = -1;
	size_t i;

	if (t == NULL)
		return -1;
	buf_init(&tmp, THREAD_VALUE_MAX);
	for (i = 0; i < n; i++)
		if (thread_msg_init(&t[i], &msgs[i], uid, &tmp) < 0)
			goto out;
	if (alg == IMAP_THREAD_ORDEREDSUBJECT)
		rc = thread_orderedsubject(t, n, out);
	else
		rc = thread_references(msgs, t, n, out, &tmp);
out:
	for (size_t k = 0; k < i; k++)
		free(t[k].subject);
	buf_fini(&tmp);
	free(t);
	return rc;
}
