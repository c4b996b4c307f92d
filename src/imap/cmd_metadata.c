/*
 * METADATA (RFC 5464): GETMETADATA with MAXSIZE and DEPTH, SETMETADATA;
 * server entries (mailbox "") and per-mailbox ones, /private and /shared.
 * Entry names are case-insensitive and kept in lower case. Server /shared
 * entries belong to the administrator: readable, not writable over IMAP.
 * Without shared mailboxes a mailbox's /shared entries are its owner's
 * like the /private ones (both kept, apart). Rows go with their mailbox
 * and their account (store); RENAME keeps them (the mailbox id stays).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/limits.h"
#include "../util/str.h"
#include "imap_int.h"

#define IMAP_MD_DEPTH_INF (-1)

struct imap_md_entry {
	char name[LIMIT_IMAP_METADATA_NAME + 1];
	const char *value;   /* SET: into the command's copy; NULL: NIL */
	size_t len;
	char *copy;
};

struct imap_md_job {
	struct imap_job job;
	bool set, server;
	int64_t account_id;
	char mbox[STORE_MAILBOX_NAME_MAX + 1];
	struct imap_md_entry *e;
	size_t n_e;
	int depth;          /* 0, 1 or IMAP_MD_DEPTH_INF */
	uint64_t maxsize;   /* 0: none */
	int found;          /* mailbox lookup: 1, 0 (missing) */
	bool toomany;
	struct store_metadata *rows, *rows2;
	size_t n_rows, n_rows2;
};

/* An entry name argument (store_metadata_name's rule); 0 or -1. */
static int
imap_md_name(const struct imap_arg *a, char *out, bool whole_ok)
{
	if (!imap_arg_is_string(a))
		return -1;
	return store_metadata_name(a->str, a->len, out, whole_ok);
}

static bool
imap_md_private(const char *name)
{
	return strncmp(name, "/private", 8) == 0;
}

static void
imap_md_free(struct imap_job *j)
{
	struct imap_md_job *x = (struct imap_md_job *)j;

	for (size_t i = 0; x->e != NULL && i < x->n_e; i++)
		free(x->e[i].copy);
	free(x->e);
	store_metadata_free(x->rows, x->n_rows);
	store_metadata_free(x->rows2, x->n_rows2);
	free(x);
}

/* The mailbox of the command: 0 (x->found says whether it exists), or
 * -1 store error; *id_r 0 for the server. */
static int
imap_md_mailbox(struct imap_md_job *x, struct store *st, int64_t *id_r)
{
	struct store_mailbox box;

	*id_r = 0;
	x->found = 1;
	if (x->server)
		return 0;
	x->found = store_mailbox_get(st, x->account_id, x->mbox, &box);
	if (x->found < 0)
		return -1;
	*id_r = box.id;
	return 0;
}

static int
imap_md_get_work(struct imap_job *j, struct store *st)
{
	struct imap_md_job *x = (struct imap_md_job *)j;
	const char *err = NULL;
	int64_t id;

	if (imap_md_mailbox(x, st, &id) < 0 || x->found != 1)
		return x->found < 0 ? -1 : 0;
	/* The server's: its own /shared entries and the user's /private. */
	if (store_metadata_list(st, x->account_id, id, &x->rows, &x->n_rows,
				&err) < 0 ||
	    (x->server && store_metadata_list(st, 0, 0, &x->rows2,
					      &x->n_rows2, &err) < 0))
		return -1;
	return 0;
}

/* true when row name r answers entry e at the depth asked. */
static bool
imap_md_match(const char *r, const char *e, int depth)
{
	size_t n = strlen(e);

	if (strcmp(r, e) == 0)
		return true;
	if (depth == 0 || strncmp(r, e, n) != 0 || r[n] != '/')
		return false;
	return depth == IMAP_MD_DEPTH_INF || strchr(r + n + 1, '/') == NULL;
}

static void
imap_md_value(struct buf *b, const struct store_metadata *m)
{
	/* RFC 5464 §5: a value with NUL goes as literal8. */
	if (memchr(m->value, '\0', m->len) != NULL) {
		buf_printf(b, "~{%zu}\r\n", m->len);
		buf_append(b, m->value, m->len);
	} else {
		imap_buf_string(b, m->value, m->len);
	}
}

/* Appends the entries of rows[0..n) that answer the request (each once:
 * done marks them); the longest left out by MAXSIZE into *longest. */
static void
imap_md_collect(struct imap_md_job *x, const struct store_metadata *rows,
		size_t n, bool *done, struct buf *b, bool *any,
		uint64_t *longest)
{
	for (size_t k = 0; k < x->n_e; k++) {
		for (size_t i = 0; i < n; i++) {
			const struct store_metadata *m = &rows[i];

			if (done[i] || !imap_md_match(m->name, x->e[k].name,
						      x->depth))
				continue;
			/* Server rows: /shared of the server, /private of
			 * the user (the lists are kept apart). */
			if (x->server &&
			    imap_md_private(m->name) != (rows == x->rows))
				continue;
			done[i] = true;
			if (x->maxsize > 0 && m->len > x->maxsize) {
				if (m->len > *longest)
					*longest = m->len;
				continue;
			}
			buf_printf(b, "%s%s ", *any ? " " : "", m->name);
			imap_md_value(b, m);
			*any = true;
		}
	}
}

static void
imap_md_get_done(struct imap_job *j)
{
	struct imap_md_job *x = (struct imap_md_job *)j;
	struct imap_session *s = j->s;
	bool *done = calloc(x->n_rows + x->n_rows2 + 1, sizeof(*done));
	uint64_t longest = 0;
	bool any = false;
	struct buf b;

	if (j->result < 0 || done == NULL) {
		free(done);
		imap_finish(s, "NO", "UNAVAILABLE", "GETMETADATA failed");
		return;
	}
	if (x->found != 1) {
		free(done);
		imap_finish(s, "NO", "NONEXISTENT", "No such mailbox");
		return;
	}
	buf_init(&b, 16 * 1024 * 1024);
	buf_printf(&b, "* METADATA ");
	if (x->server)
		buf_printf(&b, "\"\"");
	else
		imap_buf_mailbox(s, &b, x->mbox);
	buf_printf(&b, " (");
	imap_md_collect(x, x->rows, x->n_rows, done, &b, &any, &longest);
	imap_md_collect(x, x->rows2, x->n_rows2, done + x->n_rows, &b, &any,
			&longest);
	buf_printf(&b, ")\r\n");
	/* RFC 5464 §4.2: nothing to answer, no METADATA response. */
	if (any)
		imap_reply_raw(s, b.data, b.len);
	buf_fini(&b);
	free(done);
	if (longest > 0)
		imap_finish(s, "OK", NULL, "[METADATA LONGENTRIES %" PRIu64
			    "] GETMETADATA completed", longest);
	else
		imap_finish(s, "OK", NULL, "GETMETADATA completed");
}

static int
imap_md_set_work(struct imap_job *j, struct store *st)
{
	struct imap_md_job *x = (struct imap_md_job *)j;
	const char *err = NULL;
	int64_t id;

	if (imap_md_mailbox(x, st, &id) < 0)
		return -1;
	if (x->found != 1) {
		str_lcpy(j->err, "No such mailbox", sizeof(j->err));
		return -1;
	}
	/* All in the job's savepoint: any failure takes back the rest. */
	for (size_t i = 0; i < x->n_e; i++) {
		if (store_metadata_set(st, x->account_id, id, x->e[i].name,
				       x->e[i].value, x->e[i].len,
				       LIMIT_IMAP_METADATA_ENTRIES,
				       &err) < 0) {
			x->toomany = err != NULL &&
				     strcmp(err, "too many entries") == 0;
			str_lcpy(j->err, err != NULL ? err : "store error",
				 sizeof(j->err));
			return -1;
		}
	}
	return 0;
}

static void
imap_md_set_done(struct imap_job *j)
{
	struct imap_md_job *x = (struct imap_md_job *)j;
	struct imap_session *s = j->s;

	if (j->result == 0)
		imap_finish(s, "OK", NULL, "SETMETADATA completed");
	else if (x->found == 0)
		imap_finish(s, "NO", "NONEXISTENT", "No such mailbox");
	else if (x->toomany)
		imap_finish(s, "NO", "METADATA TOOMANY", "Too many entries");
	else
		imap_finish(s, "NO", "UNAVAILABLE", "SETMETADATA failed");
}

static struct imap_md_job *
imap_md_new(struct imap_session *s, const struct imap_arg *mbox,
	    size_t n_e)
{
	struct imap_md_job *x = calloc(1, sizeof(*x));

	if (x == NULL || (x->e = calloc(n_e + 1, sizeof(*x->e))) == NULL) {
		free(x);
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return NULL;
	}
	x->account_id = s->account_id;
	x->server = imap_arg_is_string(mbox) && mbox->len == 0;
	if (!x->server &&
	    imap_mailbox_arg(s, mbox, x->mbox, sizeof(x->mbox)) < 0) {
		imap_md_free(&x->job);
		imap_finish(s, "BAD", NULL, "Invalid mailbox name");
		session_error(&s->base);
		return NULL;
	}
	x->job.free = imap_md_free;
	return x;
}

/* (MAXSIZE n DEPTH 0|1|infinity), in any order, each at most once. */
static int
imap_md_options(struct imap_md_job *x, const struct imap_arg *o)
{
	bool size_seen = false, depth_seen = false;

	if (o->type != IMAP_ARG_LIST || o->list_n == 0 || o->list_n % 2)
		return -1;
	for (size_t i = 0; i < o->list_n; i += 2) {
		const struct imap_arg *v = &o->list[i + 1];

		if (imap_arg_atom_is(&o->list[i], "MAXSIZE") && !size_seen) {
			char num[24];

			if (v->type != IMAP_ARG_ATOM || v->len == 0 ||
			    v->len >= sizeof(num) ||
			    strspn(v->str, "0123456789") < v->len)
				return -1;
			memcpy(num, v->str, v->len);
			num[v->len] = '\0';
			x->maxsize = strtoull(num, NULL, 10);
			size_seen = true;
		} else if (imap_arg_atom_is(&o->list[i], "DEPTH") &&
			   !depth_seen) {
			if (imap_arg_atom_is(v, "0"))
				x->depth = 0;
			else if (imap_arg_atom_is(v, "1"))
				x->depth = 1;
			else if (imap_arg_atom_is(v, "infinity"))
				x->depth = IMAP_MD_DEPTH_INF;
			else
				return -1;
			depth_seen = true;
		} else {
			return -1;
		}
	}
	return 0;
}

/* GETMETADATA [options] mailbox (entry | (entry ...)) */
void
imap_cmd_getmetadata(struct imap_session *s, const struct imap_cmd *c)
{
	const struct imap_arg *a = c->args, *ents;
	size_t n = c->n_args, n_e;
	struct imap_md_job *x;

	if (n == 3 && a[0].type == IMAP_ARG_LIST)
		a++, n--;
	ents = n == 2 ? &a[1] : NULL;
	n_e = ents == NULL ? 0 : ents->type == IMAP_ARG_LIST ? ents->list_n : 1;
	if (ents == NULL || n_e == 0 || !(imap_arg_is_string(&a[0]))) {
		imap_finish(s, "BAD", NULL, "Bad GETMETADATA arguments");
		session_error(&s->base);
		return;
	}
	if ((x = imap_md_new(s, &a[0], n_e)) == NULL)
		return;
	if (a != c->args && imap_md_options(x, &c->args[0]) < 0) {
		imap_md_free(&x->job);
		imap_finish(s, "BAD", NULL, "Bad GETMETADATA options");
		session_error(&s->base);
		return;
	}
	for (size_t i = 0; i < n_e; i++) {
		const struct imap_arg *e = ents->type == IMAP_ARG_LIST
						   ? &ents->list[i] : ents;

		if (imap_md_name(e, x->e[i].name, true) < 0) {
			imap_md_free(&x->job);
			imap_finish(s, "BAD", NULL, "Invalid entry name");
			session_error(&s->base);
			return;
		}
	}
	x->n_e = n_e;
	x->job.work = imap_md_get_work;
	x->job.done = imap_md_get_done;
	imap_job_read(s, &x->job);
}

/* SETMETADATA mailbox (entry value [entry value ...]); value NIL
 * deletes. */
void
imap_cmd_setmetadata(struct imap_session *s, const struct imap_cmd *c)
{
	const struct imap_arg *l = c->n_args == 2 ? &c->args[1] : NULL;
	struct imap_md_job *x;

	if (l == NULL || l->type != IMAP_ARG_LIST || l->list_n == 0 ||
	    l->list_n % 2 || !imap_arg_is_string(&c->args[0])) {
		imap_finish(s, "BAD", NULL, "Bad SETMETADATA arguments");
		session_error(&s->base);
		return;
	}
	if ((x = imap_md_new(s, &c->args[0], l->list_n / 2)) == NULL)
		return;
	x->set = true;
	for (size_t i = 0; i < l->list_n; i += 2) {
		struct imap_md_entry *e = &x->e[x->n_e++];
		const struct imap_arg *v = &l->list[i + 1];

		if (imap_md_name(&l->list[i], e->name, false) < 0 ||
		    (v->type != IMAP_ARG_NIL && !imap_arg_is_string(v))) {
			imap_md_free(&x->job);
			imap_finish(s, "BAD", NULL, "Invalid entry or value");
			session_error(&s->base);
			return;
		}
		if (v->type != IMAP_ARG_NIL) {
			if (v->len > LIMIT_IMAP_METADATA_SIZE) {
				imap_md_free(&x->job);
				imap_finish(s, "NO", NULL, "[METADATA MAXSIZE %d]"
					    " Value too long",
					    LIMIT_IMAP_METADATA_SIZE);
				return;
			}
			e->copy = malloc(v->len + 1);
			if (e->copy == NULL) {
				imap_md_free(&x->job);
				imap_finish(s, "NO", "SERVERBUG",
					    "Out of memory");
				return;
			}
			memcpy(e->copy, v->str, v->len);
			e->value = e->copy;
			e->len = v->len;
		}
		/* The server's /shared entries are the administrator's. */
		if (x->server && !imap_md_private(e->name)) {
			imap_md_free(&x->job);
			imap_finish(s, "NO", "NOPERM", "Server /shared entries"
				    " are set by the administrator");
			return;
		}
	}
	x->job.work = imap_md_set_work;
	x->job.done = imap_md_set_done;
	imap_job_commit(s, &x->job);
}
