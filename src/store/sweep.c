/* Orphan sweep of message files (see sweep.h). */
#include "sweep.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "store.h"
#include "store_imap.h"

/* Only names blob_write makes are touched: day directories "YYYYMMDD"
 * and files of 16 lower-case hex digits. Anything else under msg/ is
 * someone else's. */
static bool
sweep_name_is(const char *name, size_t len, bool hex)
{
	if (strlen(name) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/* One file of a day directory. */
static void
sweep_file(struct store *st, const char *data_dir, const char *day,
	   const char *name, time_t before, struct sweep_stats *r)
{
	char rel[64], abs[4096 + 64];
	struct stat sb;
	int known;

	snprintf(rel, sizeof(rel), "msg/%s/%s", day, name);
	snprintf(abs, sizeof(abs), "%s/%s", data_dir, rel);
	if (lstat(abs, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_mtime >= before)
		return;
	r->checked++;
	known = store_blob_known(st, rel);
	if (known < 0) {
		r->errors++;
		return;
	}
	if (known == 1)
		return;
	if (unlink(abs) < 0 && errno != ENOENT) {
		r->errors++;
		log_warn(NULL, "sweep_unlink", " path=%s error=%s", log_qs(rel),
			 log_qs(strerror(errno)));
		return;
	}
	r->removed++;
	log_info(NULL, "sweep_orphan", " path=%s size=%lld", log_qs(rel),
		 (long long)sb.st_size);
}

static void
sweep_day(struct store *st, const char *data_dir, const char *day,
	  time_t before, atomic_int *stop, struct sweep_stats *r)
{
	char path[4096 + 32];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/msg/%s", data_dir, day);
	if ((d = opendir(path)) == NULL) {
		r->errors++;
		return;
	}
	while ((stop == NULL || !atomic_load(stop)) && (e = readdir(d)) != NULL)
		if (sweep_name_is(e->d_name, 16, true))
			sweep_file(st, data_dir, day, e->d_name, before, r);
	closedir(d);
}

int
sweep_orphans(struct store *st, const char *data_dir, time_t before,
	      atomic_int *stop, struct sweep_stats *r)
{
	char path[4096 + 8];
	struct dirent *e;
	DIR *d;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/msg", data_dir);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((stop == NULL || !atomic_load(stop)) && (e = readdir(d)) != NULL)
		if (sweep_name_is(e->d_name, 8, false))
			sweep_day(st, data_dir, e->d_name, before, stop, r);
	closedir(d);
	return 0;
}

/* ---- on a thread of its own ------------------------------------------ */

struct sweep_thread {
	pthread_t tid;
	atomic_int stop;
	time_t before;
	char store_url[1024];
	char data_dir[4096];
};

static void *
sweep_thread_main(void *arg)
{
	struct sweep_thread *t = arg;
	struct sweep_stats r = { 0 };
	const char *terr = NULL;
	size_t trashed = 0;
	char err[256] = "";
	struct store *st = store_open(t->store_url[0] ? t->store_url : NULL,
				      t->data_dir, err, sizeof(err));
	int rc;

	if (st == NULL) {
		log_warn(NULL, "sweep", " error=%s", log_qs(err));
		return NULL;
	}
	rc = sweep_orphans(st, t->data_dir, t->before, &t->stop, &r);
	/* Stored bodies an IMAP expunge kept for sessions of a server that
	 * is gone (killed before it released them). */
	if (store_blob_trash_sweep(st, (int64_t)t->before, &trashed, &terr)
	    < 0) {
		log_warn(NULL, "sweep_trash", " error=%s", log_qs(terr));
		r.errors++;
	}
	store_close(&st);
	log_info(NULL, "sweep", " checked=%zu removed=%zu errors=%zu"
		 " stored_removed=%zu%s", r.checked, r.removed, r.errors, trashed,
		 rc < 0 ? " msg_dir=unreadable" : atomic_load(&t->stop) ? " stopped=1" : "");
	return NULL;
}

struct sweep_thread *
sweep_thread_start(const char *store_url, const char *data_dir, time_t before)
{
	struct sweep_thread *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->before = before;
	snprintf(t->store_url, sizeof(t->store_url), "%s",
		 store_url != NULL ? store_url : "");
	snprintf(t->data_dir, sizeof(t->data_dir), "%s", data_dir);
	if (pthread_create(&t->tid, NULL, sweep_thread_main, t) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

void
sweep_thread_stop(struct sweep_thread **tp)
{
	struct sweep_thread *t = *tp;

	if (t == NULL)
		return;
	atomic_store(&t->stop, 1);
	pthread_join(t->tid, NULL);
	free(t);
	*tp = NULL;
}
