/*
 * SQLite backend: IMAP mailboxes and subscriptions (store.h).
 * Names are UTF-8 with "/" as the hierarchy delimiter; "INBOX" is matched
 * case-insensitively, also as the first level of a longer name
 * ("inbox/x" is "INBOX/x"), so one spelling is stored (RFC 9051 §5.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_sqlite_int.h"

#define SQ_NAME_BUF (STORE_MAILBOX_NAME_MAX + 1)

/* A mailbox name of the account, as RENAME walks them. */
struct sq_name {
	int64_t id;
	char *name;
};

/* Copies name into buf with INBOX normalised; -1 (st->err) when empty or
 * longer than STORE_MAILBOX_NAME_MAX. */
static int
sq_mbox_name(struct store *st, const char *name, char buf[SQ_NAME_BUF])
{
	size_t len = name != NULL ? strlen(name) : 0;

	if (len == 0) {
		store_sq_fail(st, "invalid mailbox name");
		return -1;
	}
	if (len > STORE_MAILBOX_NAME_MAX) {
		store_sq_fail(st, "mailbox name too long");
		return -1;
	}
	memcpy(buf, name, len + 1);
	if (strncasecmp(buf, "INBOX", 5) == 0
	    && (buf[5] == '\0' || buf[5] == '/'))
		memcpy(buf, "INBOX", 5);
	return 0;
}

static void
sq_mailbox_from_row(sqlite3_stmt *s, struct store_mailbox *b)
{
	const char *su = (const char *)sqlite3_column_text(s, 2);

	memset(b, 0, sizeof(*b));
	b->id = sqlite3_column_int64(s, 0);
	snprintf(b->name, sizeof(b->name), "%s",
		 (const char *)sqlite3_column_text(s, 1));
	snprintf(b->special_use, sizeof(b->special_use), "%s",
		 su != NULL ? su : "");
	b->uidvalidity = (uint32_t)sqlite3_column_int64(s, 3);
	b->uidnext = (uint32_t)sqlite3_column_int64(s, 4);
	b->highestmodseq = (uint64_t)sqlite3_column_int64(s, 5);
	b->messages = (uint32_t)sqlite3_column_int64(s, 6);
	b->unseen = (uint32_t)sqlite3_column_int64(s, 7);
	b->deleted = (uint32_t)sqlite3_column_int64(s, 8);
	b->size = (uint64_t)sqlite3_column_int64(s, 9);
	b->subscribed = sqlite3_column_int(s, 10) != 0;
	b->recent_uid = (uint32_t)sqlite3_column_int64(s, 11);
}

int
store_sqlite_recent_claim(struct store *st, int64_t mailbox_id,
			  uint32_t *from_r, uint32_t *to_r, const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_RECENT_GET);
	int64_t recent = 0, uidnext = 1;
	int rc;

	*from_r = *to_r = 0;
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, mailbox_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		recent = sqlite3_column_int64(s, 0);
		uidnext = sqlite3_column_int64(s, 1);
	}
	rc = store_sq_found(st, s, rc);
	if (rc < 0)
		goto fail;
	*from_r = *to_r = (uint32_t)recent;
	if (rc == 0 || recent >= uidnext - 1)
		return 0;
	s = store_sq_stmt(st, SQ_RECENT_SET);
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uidnext - 1);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		goto fail;
	}
	*to_r = (uint32_t)(uidnext - 1);
	return 0;
fail:
	*err_r = st->err;
	return -1;
}

int
store_sqlite_recent_count(struct store *st, int64_t mailbox_id,
			  uint32_t above, uint32_t *count_r, const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_RECENT_COUNT);
	int rc;

	*count_r = 0;
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, above);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*count_r = (uint32_t)sqlite3_column_int64(s, 0);
	if (store_sq_found(st, s, rc) < 0) {
		*err_r = st->err;
		return -1;
	}
	return 0;
}

int
store_sqlite_mailbox_get(struct store *st, int64_t account_id,
			 const char *name, struct store_mailbox *box_r)
{
	char buf[SQ_NAME_BUF];
	sqlite3_stmt *s;
	int rc;

	/* A name that cannot be stored names no mailbox. */
	if (sq_mbox_name(st, name, buf) < 0)
		return 0;
	s = store_sq_stmt(st, SQ_MAILBOX_ROW);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, buf, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		sq_mailbox_from_row(s, box_r);
	return store_sq_found(st, s, rc);
}

static int
sq_mailbox_row(sqlite3_stmt *s, void *b)
{
	sq_mailbox_from_row(s, b);
	return 0;
}

int
store_sqlite_mailbox_list(struct store *st, int64_t account_id,
			  struct store_mailbox **boxes_r, size_t *n_r,
			  const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MAILBOX_ROWS);
	void *boxes;
	size_t n;
	int rc;

	*boxes_r = NULL;
	*n_r = 0;
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, account_id);
	rc = store_sq_rows(s, sizeof(struct store_mailbox), sq_mailbox_row,
			   &boxes, &n);
	if (rc != SQLITE_DONE) {
		*err_r = store_sq_rows_err(st, rc);
		free(boxes);
		return -1;
	}
	*boxes_r = boxes;
	*n_r = n;
	return 0;
}

/* Inserts a mailbox row with a fresh UIDVALIDITY; 0 or -1 (st->err). */
static int
sq_mbox_insert(struct store *st, int64_t account_id, const char *name,
	       const char *special_use, int64_t *id_r)
{
	sqlite3_stmt *s;
	uint32_t uidvalidity;
	int rc;

	if (store_sq_uidvalidity_next(st, &uidvalidity) < 0
	    || (s = store_sq_stmt(st, SQ_MAILBOX_ADD)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uidvalidity);
	if (special_use != NULL && special_use[0] != '\0')
		sqlite3_bind_text(s, 4, special_use, -1, SQLITE_STATIC);
	rc = store_sq_exec(s);
	if (rc == SQLITE_DONE) {
		*id_r = sqlite3_last_insert_rowid(store_sq(st)->db);
		return 0;
	}
	switch (sqlite3_extended_errcode(store_sq(st)->db)) {
	case SQLITE_CONSTRAINT_UNIQUE:
		store_sq_fail(st, "mailbox already exists");
		break;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		store_sq_fail(st, "no such account");
		break;
	default:
		store_sq_err(st, "database error");
	}
	return -1;
}

int
store_sq_mbox_junk(struct store *st, int64_t account_id, int64_t *row)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MAILBOX_JUNK);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	rc = store_sq_row_ints(st, s, row, 1);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	/* None yet: made here, inside the delivery's savepoint. */
	if (sq_mbox_insert(st, account_id, "Junk", "\\Junk", &row[0]) < 0)
		return -1;
	return 0;
}

int
store_sqlite_mailbox_create(struct store *st, int64_t account_id,
			    const char *name, const char *special_use,
			    int64_t *id_r, const char **err_r)
{
	char buf[SQ_NAME_BUF];
	struct store_mailbox box;
	int64_t id = 0;
	bool own;

	if (sq_mbox_name(st, name, buf) < 0) {
		*err_r = st->err;
		return -1;
	}
	if (special_use != NULL
	    && strlen(special_use) >= sizeof(box.special_use)) {
		*err_r = store_sq_fail(st, "invalid special-use attribute");
		return -1;
	}
	if (store_sq_op_begin(st, &own, err_r) < 0)
		return -1;
	if (sq_mbox_insert(st, account_id, buf, special_use, &id) < 0) {
		*err_r = st->err;
		store_sq_op_end(st, own, false, err_r);
		return -1;
	}
	if (store_sq_op_end(st, own, true, err_r) < 0)
		return -1;
	if (id_r != NULL)
		*id_r = id;
	return 0;
}

/* The messages go first (their blob references, then the rows, then the
 * blobs no one references), then the mailbox row; its vanished rows go
 * with it (ON DELETE CASCADE). */
static int
sq_mbox_purge(struct store *st, int64_t mailbox_id, struct store_sq_orphans *o)
{
	if (store_sq_unref_collect(st, SQ_BLOB_UNREF_MAILBOX, mailbox_id, o) < 0
	    || store_sq_exec_id(st, SQ_MSG_DEL_MAILBOX, mailbox_id) < 0
	    || store_sq_orphans_delete(st, o) < 0
	    || store_sq_exec_id(st, SQ_MD_DEL_MAILBOX, mailbox_id) < 0
	    || store_sq_exec_id(st, SQ_MAILBOX_DEL, mailbox_id) < 0)
		return -1;
	return 0;
}

struct sq_mbox_del_args {
	int64_t account_id;
	char name[SQ_NAME_BUF];
};

static int
sq_mbox_del_op(struct store *st, void *arg, struct store_sq_orphans *o)
{
	const struct sq_mbox_del_args *a = arg;
	struct store_mailbox box;
	int rc = store_sqlite_mailbox_get(st, a->account_id, a->name, &box);

	if (rc == 0)
		store_sq_fail(st, "no such mailbox");
	if (rc <= 0)
		return -1;
	return sq_mbox_purge(st, box.id, o);
}

int
store_sqlite_mailbox_delete(struct store *st, int64_t account_id,
			    const char *name, char ***orphan_blobs_r,
			    const char **err_r)
{
	struct sq_mbox_del_args a = { .account_id = account_id };

	*orphan_blobs_r = NULL;
	if (sq_mbox_name(st, name, a.name) < 0) {
		*err_r = st->err;
		return -1;
	}
	/* RFC 9051 §6.3.4: deleting INBOX is an error. */
	if (strcmp(a.name, "INBOX") == 0) {
		*err_r = store_sq_fail(st, "cannot delete INBOX");
		return -1;
	}
	return store_sq_orphan_op(st, sq_mbox_del_op, &a, orphan_blobs_r,
				  err_r);
}

static int
sq_sub_exec(struct store *st, enum store_sq_stmt id, int64_t account_id,
	    const char *name)
{
	sqlite3_stmt *s = store_sq_stmt(st, id);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	rc = store_sq_exec(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (sqlite3_extended_errcode(store_sq(st)->db)
	    == SQLITE_CONSTRAINT_FOREIGNKEY)
		store_sq_fail(st, "no such account");
	else
		store_sq_err(st, "database error");
	return -1;
}

int
store_sqlite_subscribe(struct store *st, int64_t account_id,
		       const char *name, bool on, const char **err_r)
{
	char buf[SQ_NAME_BUF];

	if (sq_mbox_name(st, name, buf) < 0
	    || sq_sub_exec(st, on ? SQ_SUB_ADD : SQ_SUB_DEL, account_id, buf)
		       < 0) {
		*err_r = st->err;
		return -1;
	}
	return 0;
}

int
store_sqlite_subscriptions(struct store *st, int64_t account_id,
			   char ***names_r, const char **err_r)
{
	return store_sq_strv_by_id(st, SQ_SUB_LIST, account_id, names_r, err_r);
}

/* Moves a subscription along with a renamed mailbox (unless the new name
 * is subscribed already). */
static int
sq_sub_rename(struct store *st, int64_t account_id, const char *from,
	      const char *to)
{
	if (sq_sub_exec(st, SQ_SUB_DEL, account_id, from) < 0)
		return -1;
	if (sqlite3_changes(store_sq(st)->db) == 0)
		return 0;
	return sq_sub_exec(st, SQ_SUB_ADD, account_id, to);
}

static int
sq_name_row(sqlite3_stmt *s, void *elem)
{
	struct sq_name *n = elem;

	n->id = sqlite3_column_int64(s, 0);
	n->name = strdup((const char *)sqlite3_column_text(s, 1));
	return n->name != NULL ? 0 : -1;
}

/* Every mailbox name of the account; *v_r malloc'ed. 0 or -1. */
static int
sq_names_load(struct store *st, int64_t account_id, struct sq_name **v_r,
	      size_t *n_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MAILBOX_NAMES);
	void *v;
	int rc;

	*v_r = NULL;
	*n_r = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	rc = store_sq_rows(s, sizeof(struct sq_name), sq_name_row, &v, n_r);
	*v_r = v;
	if (rc == SQLITE_DONE)
		return 0;
	store_sq_rows_err(st, rc);
	return -1;
}

static void
sq_names_free(struct sq_name *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i].name);
	free(v);
}

static const struct sq_name *
sq_names_find(const struct sq_name *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	}
	return NULL;
}

/* true when name is prefix itself or below it ("a" and "a/x", not "ab"). */
static bool
sq_is_under(const char *name, const char *prefix)
{
	size_t len = strlen(prefix);

	return strncmp(name, prefix, len) == 0
	       && (name[len] == '\0' || name[len] == '/');
}

/* The new name of a mailbox under from; -1 (st->err) when too long. */
static int
sq_new_name(struct store *st, const char *name, const char *from,
	    const char *to, char out[SQ_NAME_BUF])
{
	const char *rest = name + strlen(from);

	if (strlen(to) + strlen(rest) > STORE_MAILBOX_NAME_MAX) {
		store_sq_fail(st, "mailbox name too long");
		return -1;
	}
	snprintf(out, SQ_NAME_BUF, "%s%s", to, rest);
	return 0;
}

/* Renames from and its children. Every new name is checked before any
 * row changes, so a failure leaves the names as they were. */
static int
sq_rename_tree(struct store *st, int64_t account_id, const struct sq_name *v,
	       size_t n, const char *from, const char *to)
{
	char newname[SQ_NAME_BUF];

	for (size_t i = 0; i < n; i++) {
		if (!sq_is_under(v[i].name, from))
			continue;
		if (sq_new_name(st, v[i].name, from, to, newname) < 0)
			return -1;
		if (sq_names_find(v, n, newname) != NULL) {
			store_sq_fail(st, "mailbox already exists");
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s;

		if (!sq_is_under(v[i].name, from))
			continue;
		(void)sq_new_name(st, v[i].name, from, to, newname);
		s = store_sq_stmt(st, SQ_MAILBOX_SETNAME);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, v[i].id);
		sqlite3_bind_text(s, 2, newname, -1, SQLITE_STATIC);
		if (store_sq_exec(s) != SQLITE_DONE) {
			store_sq_err(st, "database error");
			return -1;
		}
		if (sq_sub_rename(st, account_id, v[i].name, newname) < 0)
			return -1;
	}
	return 0;
}

/* RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox
 * (fresh UIDVALIDITY, same UIDs) and leaves INBOX empty; INBOX keeps its
 * UIDVALIDITY and UIDNEXT, and its messages vanish with a new MODSEQ.
 * Children of INBOX stay where they are. */
static int
sq_rename_inbox(struct store *st, int64_t account_id, int64_t inbox_id,
		const char *to)
{
	int64_t id, modseq;
	sqlite3_stmt *s;

	if (sq_mbox_insert(st, account_id, to, NULL, &id) < 0)
		return -1;
	s = store_sq_stmt(st, SQ_MAILBOX_TAKE);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, inbox_id);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	s = store_sq_stmt(st, SQ_MAILBOX_EMPTIED);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, inbox_id);
	if (store_sq_row_ints(st, s, &modseq, 1) <= 0)
		return -1;
	s = store_sq_stmt(st, SQ_VANISHED_ALL);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, inbox_id);
	sqlite3_bind_int64(s, 2, modseq);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	s = store_sq_stmt(st, SQ_MSG_MOVE_ALL);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, inbox_id);
	sqlite3_bind_int64(s, 2, id);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

static int
sq_rename(struct store *st, int64_t account_id, const char *from,
	  const char *to)
{
	struct sq_name *v;
	const struct sq_name *src;
	size_t n;
	int rc = -1;

	if (sq_names_load(st, account_id, &v, &n) < 0)
		goto done;
	src = sq_names_find(v, n, from);
	if (src == NULL)
		store_sq_fail(st, "no such mailbox");
	else if (sq_names_find(v, n, to) != NULL)
		store_sq_fail(st, "mailbox already exists");
	else if (strcmp(from, "INBOX") == 0)
		rc = sq_rename_inbox(st, account_id, src->id, to);
	else if (sq_is_under(to, from))
		store_sq_fail(st, "cannot rename a mailbox into itself");
	else
		rc = sq_rename_tree(st, account_id, v, n, from, to);
done:
	sq_names_free(v, n);
	return rc;
}

int
store_sqlite_mailbox_rename(struct store *st, int64_t account_id,
			    const char *from, const char *to,
			    const char **err_r)
{
	char fbuf[SQ_NAME_BUF], tbuf[SQ_NAME_BUF];
	bool own;

	if (sq_mbox_name(st, from, fbuf) < 0
	    || sq_mbox_name(st, to, tbuf) < 0) {
		*err_r = st->err;
		return -1;
	}
	if (store_sq_op_begin(st, &own, err_r) < 0)
		return -1;
	if (sq_rename(st, account_id, fbuf, tbuf) < 0) {
		*err_r = st->err;
		store_sq_op_end(st, own, false, err_r);
		return -1;
	}
	return store_sq_op_end(st, own, true, err_r);
}
