/*
 * Messages expunged while other sessions still number them (RFC 2180
 * §4.1, issue 11 item 2). The expunge itself is committed at once (the
 * store is the truth); what this file keeps, for the one server process,
 * is what a session that has not been told yet needs to answer a FETCH of
 * such a message: its row (size, date, message file) and the file itself.
 *
 * An expunge (EXPUNGE, UID EXPUNGE, CLOSE, MOVE) captures the rows it
 * removes in its transaction (findable at once, provisionally), and takes
 * the files the change left unreferenced away from the commit thread.
 * Back on the loop it registers them: every selected view that contains the UID holds the entry; the
 * view releases it when it announces the expunge or is closed. An entry
 * nobody holds is dropped, and a file whose last entry is dropped is
 * unlinked on an I/O worker; a body kept in the store (blob.h), which the
 * expunge left in blob_trash, is deleted by a job of the group commit. A
 * crash leaves kept files unreferenced, and kept bodies in blob_trash,
 * for the start-up sweep (store/sweep.c).
 *
 * A view read (SELECT, refresh) running while an expunge commits may have
 * seen the rows: such reads are registered as readers; an entry made
 * after a reader began is not dropped before it ended, and when it ends
 * the view holds the entries of the UIDs it just added.
 *
 * Loop thread, except imap_keep_capture and imap_keep_set_free (commit
 * thread) and imap_keep_lookup (any thread): the hash table is under a
 * mutex; the lists (registered entries, limbo, views, readers) are the
 * loop's.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/workers.h"
#include "../store/blob.h"
#include "../store/commit.h"
#include "../store/store_imap.h"
#include "../util/str.h"
#include "imap_int.h"

#define KEEP_BUCKETS 4096

/* A message file some registered entries read. Several entries can
 * share one (COPY shares files), from different expunges: the file goes
 * when the last of them is dropped, and only once the store no longer
 * references it (orphan). */
struct keep_file {
	struct keep_file *hnext;
	char path[BLOB_PATH_MAX];
	unsigned refs;          /* entries that use it */
	bool orphan;            /* an expunge left it unreferenced */
};

struct imap_keep_entry {
	struct imap_keep_entry *hnext;        /* hash chain */
	struct imap_keep_entry *prev, *next;  /* registration order */
	struct imap_keep_entry *lnext;        /* limbo: nobody holds it */
	bool in_limbo;
	bool registered;                 /* else provisional (a keep set's) */
	uint64_t epoch;
	int64_t mailbox_id;
	unsigned holds;
	struct imap_keep_row row;
	struct keep_file *file;          /* NULL: provisional */
};

static struct {
	pthread_mutex_t mu; /* buckets, for imap_keep_lookup */
	struct imap_keep_entry *buckets[KEEP_BUCKETS];
	struct imap_keep_entry *head, *tail;
	struct imap_keep_entry *limbo;
	size_t n;
	uint64_t epoch;
	struct imap_keep_reader *readers, *readers_tail; /* start order */
	struct imap_view *views;
	struct keep_file *files[KEEP_BUCKETS]; /* by path */
} keep = { .mu = PTHREAD_MUTEX_INITIALIZER };

static size_t
keep_bucket(int64_t mailbox_id, uint32_t uid)
{
	uint64_t h = (uint64_t)mailbox_id * 0x9e3779b97f4a7c15ULL ^ uid;

	h ^= h >> 29;
	return (size_t)(h % KEEP_BUCKETS);
}

/* With keep.mu held. */
static struct imap_keep_entry *
keep_find(int64_t mailbox_id, uint32_t uid)
{
	for (struct imap_keep_entry *e = keep.buckets[keep_bucket(mailbox_id, uid)];
	     e != NULL; e = e->hnext)
		if (e->mailbox_id == mailbox_id && e->row.uid == uid)
			return e;
	return NULL;
}

/* ---- capture (commit thread) ------------------------------------------ */

static void
keep_unhash(struct imap_keep_entry *e)
{
	struct imap_keep_entry **pp =
		&keep.buckets[keep_bucket(e->mailbox_id, e->row.uid)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
}

int
imap_keep_capture(struct imap_keep_set *k, const struct store_imsg *rows,
		  size_t n)
{
	if (k->n + n > k->cap) {
		size_t cap = k->cap * 2 > k->n + n ? k->cap * 2 : k->n + n + 16;
		struct imap_keep_entry **v = realloc(k->ents, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		k->ents = v;
		k->cap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		struct imap_keep_entry *e = calloc(1, sizeof(*e));
		struct imap_keep_row *r;
		size_t b;

		if (e == NULL)
			return -1;
		e->mailbox_id = k->mailbox_id;
		r = &e->row;
		r->uid = rows[i].uid;
		r->size = rows[i].size;
		r->internaldate = rows[i].internaldate;
		r->blob_id = rows[i].blob_id;
		str_lcpy(r->blob, rows[i].blob, sizeof(r->blob));
		b = keep_bucket(e->mailbox_id, r->uid);
		pthread_mutex_lock(&keep.mu);
		if (keep_find(e->mailbox_id, r->uid) != NULL) {
			/* Already kept (an expunge retried): once is enough. */
			pthread_mutex_unlock(&keep.mu);
			free(e);
			continue;
		}
		e->hnext = keep.buckets[b];
		keep.buckets[b] = e;
		pthread_mutex_unlock(&keep.mu);
		k->ents[k->n++] = e;
	}
	return 0;
}

void
imap_keep_set_free(struct imap_keep_set *k)
{
	if (k->n > 0) {
		pthread_mutex_lock(&keep.mu);
		for (size_t i = 0; i < k->n; i++)
			keep_unhash(k->ents[i]);
		pthread_mutex_unlock(&keep.mu);
		for (size_t i = 0; i < k->n; i++)
			free(k->ents[i]);
	}
	free(k->ents);
	store_strv_free(k->orphans);
	memset(k, 0, sizeof(*k));
}

/* ---- unlinking -------------------------------------------------------- */

struct keep_unlink {
	char data_dir[4096];
	char **paths;
};

static void
keep_unlink_work(void *arg)
{
	struct keep_unlink *u = arg;

	blob_unlink_all(u->data_dir, u->paths);
}

static void
keep_unlink_done(void *arg)
{
	struct keep_unlink *u = arg;

	store_strv_free(u->paths);
	free(u);
}

struct keep_drop {
	char **paths;
};

/* Commit thread: the released stored bodies go. */
static int
keep_drop_apply(struct store *st, void *arg, const char **err_r)
{
	struct keep_drop *d = arg;

	return store_blob_drop(st, d->paths, err_r);
}

static void
keep_drop_done(void *arg, int result)
{
	struct keep_drop *d = arg;

	(void)result; /* left in blob_trash for the next start's sweep */
	store_strv_free(d->paths);
	free(d);
}

/* The stored bodies among paths, to delete in the next group commit. At
 * shutdown (no commit thread) they stay in blob_trash for the sweep. */
static void
keep_drop_stored(struct server *srv, char *const *paths)
{
	struct keep_drop *d;
	size_t n = 0, k = 0;

	for (size_t i = 0; paths[i] != NULL; i++)
		n += blob_is_stored(paths[i]);
	if (n == 0 || srv->commit == NULL)
		return;
	d = calloc(1, sizeof(*d));
	if (d == NULL || (d->paths = calloc(n + 1, sizeof(char *))) == NULL) {
		free(d);
		return;
	}
	for (size_t i = 0; paths[i] != NULL; i++)
		if (blob_is_stored(paths[i])
		    && (d->paths[k] = strdup(paths[i])) != NULL)
			k++;
	commit_submit(srv->commit, &(struct commit_job){
				   .apply = keep_drop_apply,
				   .done = keep_drop_done,
				   .arg = d });
}

/* Takes paths (NULL-terminated, malloc'ed strings). */
static void
keep_unlink(struct server *srv, char **paths)
{
	struct keep_unlink *u;
	bool files = false;

	for (size_t i = 0; paths != NULL && paths[i] != NULL; i++)
		files |= !blob_is_stored(paths[i]);
	if (paths != NULL)
		keep_drop_stored(srv, paths);
	if (!files) {
		store_strv_free(paths);
		return;
	}
	u = srv->io_workers != NULL ? calloc(1, sizeof(*u)) : NULL;
	if (u == NULL) {
		/* Shutting down (the workers are gone) or out of memory: on
		 * the loop, rather than never. */
		blob_unlink_all(srv->cfg.data_dir, paths);
		store_strv_free(paths);
		return;
	}
	str_lcpy(u->data_dir, srv->cfg.data_dir, sizeof(u->data_dir));
	u->paths = paths;
	workers_submit(srv->io_workers, keep_unlink_work, keep_unlink_done, u);
}

static void
keep_unlink_one(struct server *srv, const char *path)
{
	char **v = calloc(2, sizeof(*v));

	if (v != NULL && (v[0] = strdup(path)) != NULL) {
		keep_unlink(srv, v);
		return;
	}
	free(v);
	blob_unlink(srv->cfg.data_dir, path);
}

/* ---- entries ---------------------------------------------------------- */

static void keep_file_put(struct server *srv, struct keep_file *f);

static void
keep_entry_free(struct server *srv, struct imap_keep_entry *e)
{
	pthread_mutex_lock(&keep.mu);
	keep_unhash(e);
	pthread_mutex_unlock(&keep.mu);
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		keep.head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		keep.tail = e->prev;
	keep.n--;
	keep_file_put(srv, e->file);
	free(e);
}

/* true when no view read that began before e was made is running. */
static bool
keep_unread(const struct imap_keep_entry *e)
{
	return keep.readers == NULL || keep.readers->epoch >= e->epoch;
}

/* e is held by nobody: dropped now, or kept in limbo until the reads
 * that may have seen its row ended. */
static void
keep_unheld(struct server *srv, struct imap_keep_entry *e)
{
	if (keep_unread(e)) {
		keep_entry_free(srv, e);
		return;
	}
	if (!e->in_limbo) {
		e->in_limbo = true;
		e->lnext = keep.limbo;
		keep.limbo = e;
	}
}

static void
keep_limbo_collect(struct server *srv)
{
	struct imap_keep_entry **pp = &keep.limbo;

	while (*pp != NULL) {
		struct imap_keep_entry *e = *pp;

		if (e->holds == 0 && keep_unread(e)) {
			*pp = e->lnext;
			keep_entry_free(srv, e);
		} else if (e->holds > 0) {
			*pp = e->lnext;
			e->in_limbo = false;
		} else {
			pp = &e->lnext;
		}
	}
}

static struct keep_file **
keep_file_slot(const char *path)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = path; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return &keep.files[h % KEEP_BUCKETS];
}

static struct keep_file *
keep_file_find(const char *path)
{
	for (struct keep_file *f = *keep_file_slot(path); f != NULL;
	     f = f->hnext)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

/* The file of path, made when new; NULL when out of memory. */
static struct keep_file *
keep_file_get(const char *path)
{
	struct keep_file *f = keep_file_find(path);
	struct keep_file **slot;

	if (f != NULL)
		return f;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	str_lcpy(f->path, path, sizeof(f->path));
	slot = keep_file_slot(path);
	f->hnext = *slot;
	*slot = f;
	return f;
}

/* An entry stops using f: the last one unlinks an orphan. */
static void
keep_file_put(struct server *srv, struct keep_file *f)
{
	struct keep_file **pp;

	if (f == NULL || --f->refs > 0)
		return;
	if (f->orphan)
		keep_unlink_one(srv, f->path);
	for (pp = keep_file_slot(f->path); *pp != f; pp = &(*pp)->hnext)
		;
	*pp = f->hnext;
	free(f);
}

static unsigned
keep_holders(int64_t mailbox_id, uint32_t uid)
{
	unsigned h = 0;

	for (struct imap_view *v = keep.views; v != NULL; v = v->keep_next)
		if (v->mailbox_id == mailbox_id && imap_view_find(v, uid) >= 0)
			h++;
	return h;
}

static bool
keep_anyone(int64_t mailbox_id)
{
	if (keep.readers != NULL)
		return true;
	for (struct imap_view *v = keep.views; v != NULL; v = v->keep_next)
		if (v->mailbox_id == mailbox_id)
			return true;
	return false;
}

void
imap_keep_register(struct server *srv, struct imap_keep_set *k)
{
	struct imap_keep_entry *first;
	uint64_t epoch;

	if (!keep_anyone(k->mailbox_id) || k->n == 0) {
		/* Nobody can number these messages: only files other kept
		 * messages still read stay. */
		for (size_t i = 0; k->orphans != NULL && k->orphans[i] != NULL;
		     i++) {
			struct keep_file *f = keep_file_find(k->orphans[i]);

			if (f != NULL)
				f->orphan = true;
			else
				keep_unlink_one(srv, k->orphans[i]);
		}
		imap_keep_set_free(k);
		return;
	}
	epoch = ++keep.epoch;
	first = keep.tail;
	for (size_t i = 0; i < k->n; i++) {
		struct imap_keep_entry *e = k->ents[i];

		e->registered = true;
		e->epoch = epoch;
		e->holds = keep_holders(k->mailbox_id, e->row.uid);
		e->file = keep_file_get(e->row.blob);
		if (e->file != NULL)
			e->file->refs++;
		e->prev = keep.tail;
		if (keep.tail != NULL)
			keep.tail->next = e;
		else
			keep.head = e;
		keep.tail = e;
		keep.n++;
	}
	/* The entries are the registry's now. */
	k->n = 0;
	for (size_t i = 0; k->orphans != NULL && k->orphans[i] != NULL; i++) {
		struct keep_file *f = keep_file_find(k->orphans[i]);

		if (f != NULL)
			f->orphan = true;
		else
			keep_unlink_one(srv, k->orphans[i]);
	}
	imap_keep_set_free(k);
	/* Then the entries nobody holds (which may drop their files). */
	for (struct imap_keep_entry *e = first != NULL ? first->next : keep.head,
				    *next;
	     e != NULL; e = next) {
		next = e->next;
		if (e->holds == 0)
			keep_unheld(srv, e);
	}
}

void
imap_keep_release(struct server *srv, int64_t mailbox_id, uint32_t uid)
{
	struct imap_keep_entry *e;

	if (keep.n == 0)
		return;
	pthread_mutex_lock(&keep.mu);
	e = keep_find(mailbox_id, uid);
	if (e != NULL && !e->registered)
		e = NULL; /* a provisional one is its keep set's */
	pthread_mutex_unlock(&keep.mu);
	/* Registered entries are freed on this thread only. */
	if (e == NULL || e->holds == 0)
		return;
	if (--e->holds == 0)
		keep_unheld(srv, e);
}

/* ---- views and readers ------------------------------------------------ */

void
imap_keep_view_add(struct imap_view *v)
{
	v->keep_prev = NULL;
	v->keep_next = keep.views;
	if (keep.views != NULL)
		keep.views->keep_prev = v;
	keep.views = v;
}

void
imap_keep_view_remove(struct server *srv, struct imap_view *v)
{
	if (v->keep_prev != NULL)
		v->keep_prev->keep_next = v->keep_next;
	else if (keep.views == v)
		keep.views = v->keep_next;
	if (v->keep_next != NULL)
		v->keep_next->keep_prev = v->keep_prev;
	v->keep_prev = v->keep_next = NULL;
	for (size_t i = 0; keep.n > 0 && i < v->n; i++)
		imap_keep_release(srv, v->mailbox_id, v->msgs[i].uid);
}

void
imap_keep_read_begin(struct imap_keep_reader *r)
{
	r->epoch = keep.epoch;
	r->active = true;
	r->next = NULL;
	r->prev = keep.readers_tail;
	if (keep.readers_tail != NULL)
		keep.readers_tail->next = r;
	else
		keep.readers = r;
	keep.readers_tail = r;
}

void
imap_keep_read_end(struct server *srv, struct imap_keep_reader *r,
		   const struct imap_view *v, size_t first_new)
{
	if (!r->active)
		return;
	r->active = false;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		keep.readers = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		keep.readers_tail = r->prev;
	/* Entries made while this read ran, for the messages it added. */
	for (struct imap_keep_entry *e = keep.tail;
	     v != NULL && e != NULL && e->epoch > r->epoch; e = e->prev) {
		long i;

		if (e->mailbox_id != v->mailbox_id)
			continue;
		i = imap_view_find(v, e->row.uid);
		if (i >= 0 && (size_t)i >= first_new)
			e->holds++;
	}
	if (keep.limbo != NULL)
		keep_limbo_collect(srv);
}

bool
imap_keep_lookup(int64_t mailbox_id, uint32_t uid, struct imap_keep_row *r)
{
	struct imap_keep_entry *e;

	pthread_mutex_lock(&keep.mu);
	e = keep_find(mailbox_id, uid);
	if (e != NULL)
		*r = e->row;
	pthread_mutex_unlock(&keep.mu);
	return e != NULL;
}
