/*
 * MTA-STS policy lookups and their cache (mta_sts.h). Per lookup (RFC
 * 8461 §5.1): the TXT record at _mta-sts.DOMAIN first; a cached policy
 * with the same id that has not outlived its max_age is used as it is;
 * otherwise the policy is fetched (mta_sts_fetch.c), parsed and cached.
 * No TXT record, or a failed fetch, leaves a cached policy in force until
 * it expires (§5.1: "senders MUST continue to use the cached policy").
 *
 * The cache lives in memory and in data_dir/mta-sts/DOMAIN (one small
 * file per domain: "ID EXPIRES\n" then the policy as text), written on a
 * worker and read back at start, so a restart neither forgets a policy
 * (which an attacker stripping the TXT record could exploit) nor fetches
 * every policy again.
 */
#include "mta_sts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../dns/dns.h"

/* Policies kept in memory (about 4.4 KB each with room for
 * MTA_STS_MX_MAX patterns, so at most about 18 MB); beyond it the one
 * expiring first goes, and that domain's next lookup fetches again (its
 * file stays, read at the next start). */
#define MTA_STS_CACHE_MAX 4096
#define MTA_STS_DIR "mta-sts"
/* A cache file: the first line plus a formatted policy. */
#define MTA_STS_FILE_MAX (64 + MTA_STS_MX_MAX * 300)

struct sts_entry {
	struct sts_entry *next;
	char domain[256];
	char id[MTA_STS_ID_MAX + 1];
	int64_t expires;               /* time(): fetched + max_age */
	struct mta_sts_policy policy;
};

struct mta_sts_req {
	struct mta_sts_req *next, **prevp;
	struct mta_sts *s;
	char domain[256];
	struct dns_query *dq;
	struct mta_sts_fetch *fetch;
	char id[MTA_STS_ID_MAX + 1];   /* the TXT record's */
	mta_sts_cb cb;
	void *arg;
};

struct mta_sts {
	struct server *srv;
	struct sts_entry *cache;
	size_t n_cache;
	struct mta_sts_req *reqs;
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* A domain we may use as a file name: letters, digits, '-', '_', '.',
 * not starting with '.'. */
static bool
domain_file_ok(const char *d)
{
	if (d[0] == '\0' || d[0] == '.' || strlen(d) > 253)
		return false;
	for (const char *p = d; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

/* ---- The cache ------------------------------------------------------- */

static struct sts_entry *
cache_get(struct mta_sts *s, const char *domain)
{
	for (struct sts_entry *e = s->cache; e != NULL; e = e->next)
		if (strcmp(e->domain, domain) == 0)
			return e;
	return NULL;
}

static void
cache_drop_one(struct mta_sts *s)
{
	struct sts_entry **pp, **oldest = NULL;

	for (pp = &s->cache; *pp != NULL; pp = &(*pp)->next)
		if (oldest == NULL || (*pp)->expires < (*oldest)->expires)
			oldest = pp;
	if (oldest != NULL) {
		struct sts_entry *e = *oldest;
		*oldest = e->next;
		free(e);
		s->n_cache--;
	}
}

static struct sts_entry *
cache_put(struct mta_sts *s, const char *domain, const char *id,
	  int64_t expires, const struct mta_sts_policy *p)
{
	struct sts_entry *e = cache_get(s, domain);

	if (e == NULL) {
		if (s->n_cache >= MTA_STS_CACHE_MAX)
			cache_drop_one(s);
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return NULL;
		snprintf(e->domain, sizeof(e->domain), "%s", domain);
		e->next = s->cache;
		s->cache = e;
		s->n_cache++;
	}
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->expires = expires;
	e->policy = *p;
	return e;
}

/* One cache file's text: 0 and the entry's parts, or -1. */
static int
cache_file_parse(const char *text, size_t len, char *id_r, int64_t *exp_r,
		 struct mta_sts_policy *p)
{
	const char *nl = memchr(text, '\n', len);
	char first[128], err[64];
	long long exp;
	size_t fl;

	if (nl == NULL || (fl = (size_t)(nl - text)) >= sizeof(first))
		return -1;
	memcpy(first, text, fl);
	first[fl] = '\0';
	if (sscanf(first, "%32s %lld", id_r, &exp) != 2)
		return -1;
	*exp_r = exp;
	return mta_sts_policy_parse(nl + 1, len - fl - 1, p, err,
				    sizeof(err));
}

static void
cache_load_file(struct mta_sts *s, int dfd, const char *name, int64_t now)
{
	char buf[MTA_STS_FILE_MAX], id[MTA_STS_ID_MAX + 1];
	struct mta_sts_policy p;
	int64_t exp;
	ssize_t n;
	int fd;

	if (!domain_file_ok(name) ||
	    (fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || (size_t)n >= sizeof(buf) ||
	    cache_file_parse(buf, (size_t)n, id, &exp, &p) < 0 || exp <= now)
		return;
	cache_put(s, name, id, exp, &p);
}

/* Start-up (before the loop runs): every cache file still in force. */
static void
cache_load(struct mta_sts *s)
{
	char path[PATH_MAX];
	DIR *dir;
	struct dirent *de;
	int64_t now = now_s();

	snprintf(path, sizeof(path), "%s/%s", s->srv->cfg.data_dir,
		 MTA_STS_DIR);
	if ((dir = opendir(path)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL)
		cache_load_file(s, dirfd(dir), de->d_name, now);
	closedir(dir);
	log_info(NULL, "mta_sts_cache", " policies=%zu", s->n_cache);
}

/* A cache file written on a worker: tmp file, then rename. */
struct cache_write {
	char dir[PATH_MAX];
	char domain[256];
	char text[MTA_STS_FILE_MAX];
	size_t len;
};

static void
cache_write_work(void *arg)
{
	struct cache_write *w = arg;
	char tmp[PATH_MAX + 300], path[PATH_MAX + 300];
	int fd;

	(void)mkdir(w->dir, 0700);
	snprintf(path, sizeof(path), "%s/%s", w->dir, w->domain);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", w->dir, w->domain);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0 || write(fd, w->text, w->len) != (ssize_t)w->len ||
	    fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		log_warn(NULL, "mta_sts_cache", " domain=%s error=%s",
			 log_qs(w->domain), log_qs(strerror(errno)));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
}

static void
cache_write_done(void *arg)
{
	free(arg);
}

static void
cache_persist(struct mta_sts *s, const struct sts_entry *e)
{
	struct cache_write *w;
	int n, m;

	if (!domain_file_ok(e->domain) || s->srv->workers == NULL ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		return;
	snprintf(w->dir, sizeof(w->dir), "%s/%s", s->srv->cfg.data_dir,
		 MTA_STS_DIR);
	snprintf(w->domain, sizeof(w->domain), "%s", e->domain);
	n = snprintf(w->text, sizeof(w->text), "%s %lld\n", e->id,
		     (long long)e->expires);
	m = mta_sts_policy_format(&e->policy, w->text + n,
				  sizeof(w->text) - (size_t)n);
	if (m < 0) {
		free(w);
		return;
	}
	w->len = (size_t)(n + m);
	workers_submit(s->srv->workers, cache_write_work, cache_write_done, w);
}

/* ---- Lookups ----------------------------------------------------------- */

static void
req_unlink(struct mta_sts_req *r)
{
	if (r->prevp != NULL) {
		*r->prevp = r->next;
		if (r->next != NULL)
			r->next->prevp = r->prevp;
		r->prevp = NULL;
	}
}

void
mta_sts_cancel(struct mta_sts_req *r)
{
	if (r == NULL)
		return;
	req_unlink(r);
	if (r->dq != NULL)
		dns_cancel(r->dq);
	mta_sts_fetch_cancel(r->fetch);
	free(r);
}

/* The answer: the cached policy when one is in force, fail (MTA_STS_OK
 * for none) to report. r is gone afterwards. */
static void
req_answer(struct mta_sts_req *r, enum mta_sts_result fail, const char *why)
{
	struct sts_entry *e = cache_get(r->s, r->domain);
	struct mta_sts_answer a;

	memset(&a, 0, sizeof(a));
	if (e != NULL && e->expires > now_s() - 1) {
		a.policy = e->policy;
		snprintf(a.id, sizeof(a.id), "%s", e->id);
	}
	a.fetch_fail = fail;
	snprintf(a.why, sizeof(a.why), "%s", why != NULL ? why : "");
	r->fetch = NULL;
	r->dq = NULL;
	req_unlink(r);
	r->cb(r->arg, &a);
	free(r);
}

static void
req_fetch_cb(void *arg, const char *body, size_t len,
	     enum mta_sts_result fail, const char *why)
{
	struct mta_sts_req *r = arg;
	struct mta_sts_policy p;
	struct sts_entry *e;
	char err[64], msg[160];

	r->fetch = NULL;
	if (body == NULL) {
		req_answer(r, fail, why);
		return;
	}
	if (mta_sts_policy_parse(body, len, &p, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "invalid policy: %s", err);
		log_info(NULL, "mta_sts_policy", " domain=%s error=%s",
			 log_qs(r->domain), log_qs(msg));
		req_answer(r, MTA_STS_POLICY_INVALID, msg);
		return;
	}
	e = cache_put(r->s, r->domain, r->id, now_s() + p.max_age, &p);
	log_info(NULL, "mta_sts_policy", " domain=%s id=%s mode=%s mx=%zu "
		 "max_age=%u", log_qs(r->domain), log_qs(r->id),
		 p.mode == MTA_STS_ENFORCE ? "enforce" : p.mode ==
		 MTA_STS_TESTING ? "testing" : "none", p.n_mx, p.max_age);
	if (e != NULL)
		cache_persist(r->s, e);
	req_answer(r, MTA_STS_OK, NULL);
}

/* §3.1: records not starting "v=STSv1" are dropped; anything but one
 * valid record left means no policy is published (now). 1 id found, 0
 * none. */
static int
txt_id(const struct dns_answer *a, char *id_r)
{
	char text[1024], id[MTA_STS_ID_MAX + 1];
	int n, found = 0;

	if (a->status != DNS_OK)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		n = dns_txt_text(a->rdata[i], a->len[i], text, sizeof(text));
		if (n < 0)
			continue;
		switch (mta_sts_txt_parse(text, (size_t)n, id)) {
		case 1:
			memcpy(id_r, id, sizeof(id));
			found++;
			break;
		case -1:
			found += 2; /* invalid: no policy */
			break;
		default:
			break;
		}
	}
	return found == 1;
}

static void
req_txt_cb(void *arg, const struct dns_answer *a)
{
	struct mta_sts_req *r = arg;
	struct sts_entry *e = cache_get(r->s, r->domain);
	bool fresh = e != NULL && e->expires > now_s();

	r->dq = NULL;
	if (!txt_id(a, r->id) || (fresh && strcmp(e->id, r->id) == 0)) {
		/* No record (or the same id): the cached policy, if any. */
		req_answer(r, MTA_STS_OK, NULL);
		return;
	}
	r->fetch = mta_sts_fetch_start(r->s->srv, r->domain, req_fetch_cb, r);
	if (r->fetch == NULL)
		req_answer(r, MTA_STS_POLICY_FETCH_ERROR, "cannot start");
}

struct mta_sts_req *
mta_sts_lookup(struct mta_sts *s, const char *domain, mta_sts_cb cb,
	       void *arg)
{
	struct mta_sts_req *r;
	char name[300];

	if (s->srv->dns == NULL || strlen(domain) >= sizeof(r->domain) ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->s = s;
	r->cb = cb;
	r->arg = arg;
	for (size_t i = 0; domain[i]; i++)
		r->domain[i] = (char)((domain[i] >= 'A' && domain[i] <= 'Z')
				      ? domain[i] + 32 : domain[i]);
	snprintf(name, sizeof(name), "_mta-sts.%s", r->domain);
	/* RFC 8461 §3.1: TXT, type 16. */
	r->dq = dns_lookup(s->srv->dns, name, 16, req_txt_cb, r);
	if (r->dq == NULL) {
		free(r);
		return NULL;
	}
	r->next = s->reqs;
	if (r->next != NULL)
		r->next->prevp = &r->next;
	r->prevp = &s->reqs;
	s->reqs = r;
	return r;
}

struct mta_sts *
mta_sts_new(struct server *srv)
{
	struct mta_sts *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->srv = srv;
	cache_load(s);
	return s;
}

void
mta_sts_free(struct mta_sts **sp)
{
	struct mta_sts *s = *sp;
	struct sts_entry *e;

	if (s == NULL)
		return;
	*sp = NULL;
	while (s->reqs != NULL)
		mta_sts_cancel(s->reqs);
	while ((e = s->cache) != NULL) {
		s->cache = e->next;
		free(e);
	}
	free(s);
}
