/*
 * The ACME thread: checks at start and every acme_check_interval whether
 * the stored certificate covers the wanted names and is outside its
 * renewal window; if not, issues a new one (acme_flow.c), stores it and
 * asks the loop to load it. A failure is logged with the CA's reason and
 * retried after acme_retry_interval; the certificate in use stays.
 */
#include "acme.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../core/challenge.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/runtime.h"
#include "../core/safepath.h"
#include "../core/tls.h"
#include "../store/store.h"
#include "../util/str.h"
#include "acme_int.h"
#include "server_int.h"
#include "tls_sni.h"

/* A name the CA could not validate (no DNS record for autoconfig.D, say)
 * is left out of the next orders for this long, so the other names still
 * get their certificate; then it is tried again. */
#define ACME_SKIP_SECONDS 86400

struct acme_thread {
	struct acme a;          /* first: acme_sleep casts back */
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started;
	char *skipped[ACME_NAMES_MAX];
	size_t n_skipped;
	time_t skipped_since;
};

static bool
acme_skipped(const struct acme_thread *t, const char *name)
{
	for (size_t i = 0; i < t->n_skipped; i++)
		if (strcmp(t->skipped[i], name) == 0)
			return true;
	return false;
}

static void
acme_skip_clear(struct acme_thread *t)
{
	for (size_t i = 0; i < t->n_skipped; i++)
		free(t->skipped[i]);
	t->n_skipped = 0;
}

static void
acme_path(const struct config *cfg, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/acme%s%s", cfg->data_dir, name[0] ? "/" : "",
		 name);
}

bool
acme_sleep(struct acme *a, long seconds)
{
	struct acme_thread *t = (struct acme_thread *)a;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	pthread_mutex_lock(&t->mu);
	while (!atomic_load(&a->stop) &&
	       pthread_cond_timedwait(&t->cv, &t->mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&t->mu);
	return !atomic_load(&a->stop);
}

/* The wanted names: the host name, then mta-sts.D and autoconfig.D of
 * every hosted domain but the skipped ones (NULL-terminated, malloc'ed; free with
 * store_strv_free). NULL with a->why. */
static char **
acme_names(struct acme *a, size_t *n_r)
{
	struct store *st = store_thread_handle(a->cfg);
	char **doms = NULL, **names;
	const char *err = NULL;
	size_t nd = 0, n = 0;

	if (st == NULL || store_domain_list(st, &doms, &err) < 0) {
		snprintf(a->why, sizeof(a->why), "store: %s",
			 err ? err : "cannot open");
		return NULL;
	}
	while (doms[nd] != NULL)
		nd++;
	names = calloc(2 * nd + 2, sizeof(*names));
	if (names == NULL) {
		store_strv_free(doms);
		return NULL;
	}
	/* Identifiers in lower case, as CAs compare and expect them (DNS
	 * names are case-insensitive; RFC 8555 §7.1.4 leaves it open). */
	if ((names[n++] = strdup(a->cfg->hostname)) != NULL)
		str_lower(names[0]);
	for (size_t i = 0; i < nd && n + 2 <= ACME_NAMES_MAX; i++)
		for (int k = 0; k < 2; k++) {
			char buf[300];

			snprintf(buf, sizeof(buf), "%s.%s",
				 k ? "autoconfig" : "mta-sts", doms[i]);
			if (!acme_skipped((struct acme_thread *)a, buf) &&
			    (names[n++] = strdup(buf)) == NULL)
				break;
		}
	store_strv_free(doms);
	for (size_t i = 0; i < n; i++)
		if (names[i] == NULL) {
			store_strv_free(names);
			return NULL;
		}
	*n_r = n;
	return names;
}

/* Whether DATA_DIR/acme/key.pem is the key of certificate x. */
static bool
acme_key_matches(struct acme *a, X509 *x)
{
	char path[PATH_MAX + 32], err[256];
	EVP_PKEY *key;
	bool ok;

	acme_path(a->cfg, "key.pem", path, sizeof(path));
	key = acme_key_load(path, false, err, sizeof(err));
	ok = key != NULL && X509_check_private_key(x, key) == 1;
	EVP_PKEY_free(key);
	ERR_clear_error();
	return ok;
}

/* NULL when the stored certificate is fine; otherwise why it must be
 * (re)issued. */
static const char *
acme_cert_due(struct acme *a, char *const *names, size_t n)
{
	char path[PATH_MAX + 32];
	FILE *f;
	X509 *x;
	const char *why = NULL;
	int days, secs;
	long long left, life;

	acme_path(a->cfg, "cert.pem", path, sizeof(path));
	if ((f = fopen(path, "re")) == NULL)
		return "no certificate yet";
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (x == NULL)
		return "stored certificate unreadable";
	/* A crash between the two renames of acme_store leaves a new key
	 * beside the old certificate: issue again. */
	if (!acme_key_matches(a, x))
		why = "stored key does not match the certificate";
	for (size_t i = 0; i < n && why == NULL; i++)
		if (X509_check_host(x, names[i], 0, 0, NULL) != 1)
			why = "names changed";
	if (why == NULL &&
	    ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) == 1) {
		left = (long long)days * 86400 + secs;
		ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
			       X509_get0_notAfter(x));
		life = (long long)days * 86400 + secs;
		/* The renewal window: acme_renew_before, or a third of the
		 * lifetime when that is more (short-lived certificates). */
		if (left < a->cfg->acme_renew_before || left < life / 3)
			why = "renewal due";
	} else if (why == NULL) {
		why = "stored certificate has a bad date";
	}
	X509_free(x);
	return why;
}

/* Writes data to DIR/name through name.new, fsync and rename: a crash
 * leaves the old file or the new one. 0600: the key is secret, and the
 * chain needs nobody else. */
static int
acme_write_file(struct acme *a, const char *name, const void *data,
		size_t len)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
	int fd;
	ssize_t w;

	acme_path(a->cfg, name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		goto fail;
	w = write(fd, data, len);
	if (w < 0 || (size_t)w != len || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) == 0)
		return 0;
fail:
	snprintf(a->why, sizeof(a->why), "cannot write %s: %s", path,
		 strerror(errno));
	return -1;
}

/* Key first, then chain, then the directory synced: a crash between the
 * two renames leaves a pair that does not match, which acme_ctx_load
 * refuses and the next check replaces. */
static int
acme_store(struct acme *a, EVP_PKEY *key, const char *chain, size_t len)
{
	char *pem = NULL, dir[PATH_MAX + 8];
	long plen;
	BIO *b = BIO_new(BIO_s_mem());
	int rc = -1, dfd;

	if (b == NULL || PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL,
						  NULL) != 1 ||
	    (plen = BIO_get_mem_data(b, &pem)) <= 0) {
		snprintf(a->why, sizeof(a->why), "cannot encode the key");
	} else if (acme_write_file(a, "key.pem", pem, (size_t)plen) == 0 &&
		   acme_write_file(a, "cert.pem", chain, len) == 0) {
		acme_path(a->cfg, "", dir, sizeof(dir));
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
		rc = 0;
	}
	BIO_free(b);
	return rc;
}

/* On the loop: the files just stored become the context of new
 * connections; live ones keep theirs. */
static void
acme_reload_cb(void *arg)
{
	struct server *srv = arg;
	struct ssl_ctx_st *ctx = acme_ctx_load(srv);

	if (ctx == NULL)
		return;
	tls_ctx_free(srv->tls_ctx);
	srv->tls_ctx = ctx;
	log_info(NULL, "tls_reload", " cert=%s", log_qs("acme"));
}

/* The account key and its thumbprint, loaded (made) once. */
static int
acme_account_key(struct acme *a)
{
	char path[PATH_MAX + 32];

	if (a->account_key != NULL)
		return 0;
	acme_path(a->cfg, "account.key", path, sizeof(path));
	a->account_key = acme_key_load(path, true, a->why, sizeof(a->why));
	if (a->account_key == NULL)
		return -1;
	if (acme_thumbprint(a->account_key, a->thumbprint,
			    sizeof(a->thumbprint)) < 0) {
		snprintf(a->why, sizeof(a->why), "%s: unsupported key type",
			 path);
		return -1;
	}
	return 0;
}

/* One attempt: 1 nothing due, 0 issued and stored (the loop told),
 * -1 failed (a->why, a->failed_name). */
static int
acme_attempt(struct acme *a)
{
	size_t n = 0, chain_len = 0;
	char **names = acme_names(a, &n);
	const char *due;
	char *chain = NULL;
	EVP_PKEY *key = NULL;
	int rc = -1;

	a->why[0] = '\0';
	a->failed_name[0] = '\0';
	if (names == NULL)
		goto out;
	due = acme_cert_due(a, names, n);
	if (due == NULL) {
		rc = 1;
		goto out;
	}
	log_info(NULL, "acme_order", " reason=%s names=%zu first=%s",
		 log_qs(due), n, log_qs(names[0]));
	if (acme_account_key(a) < 0)
		goto out;
	/* A new key per certificate: a renewal also rotates the key. */
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		snprintf(a->why, sizeof(a->why), "key generation failed");
		goto out;
	}
	if (acme_issue(a, names, n, key, &chain, &chain_len) < 0 ||
	    acme_store(a, key, chain, chain_len) < 0)
		goto out;
	log_info(NULL, "acme_issued", " names=%zu first=%s", n,
		 log_qs(names[0]));
	loop_post(a->srv->loop, acme_reload_cb, a->srv);
	rc = 0;
out:
	ERR_clear_error();
	free(chain);
	EVP_PKEY_free(key);
	if (names != NULL)
		store_strv_free(names);
	return rc;
}

/* One check; the seconds until the next. A name the CA refuses (other
 * than the host name) is skipped and the order tried again without it,
 * at most once per name. */
static long
acme_check(struct acme *a)
{
	struct acme_thread *t = (struct acme_thread *)a;
	int rc;

	if (t->n_skipped > 0 &&
	    time(NULL) - t->skipped_since >= ACME_SKIP_SECONDS)
		acme_skip_clear(t);
	while ((rc = acme_attempt(a)) < 0 && !atomic_load(&a->stop) &&
	       a->failed_name[0] != '\0' &&
	       strcmp(a->failed_name, a->cfg->hostname) != 0 &&
	       !acme_skipped(t, a->failed_name) &&
	       t->n_skipped < ACME_NAMES_MAX) {
		char *dup = strdup(a->failed_name);

		if (dup == NULL)
			break;
		log_warn(NULL, "acme_skip", " name=%s for=%ds reason=%s",
			 log_qs(dup), ACME_SKIP_SECONDS, log_qs(a->why));
		if (t->n_skipped == 0)
			t->skipped_since = time(NULL);
		t->skipped[t->n_skipped++] = dup;
	}
	if (rc >= 0)
		return a->cfg->acme_check_interval;
	if (!atomic_load(&a->stop))
		log_error(NULL, "acme_failed", " reason=%s retry=%d kept=old",
			  log_qs(a->why[0] ? a->why : "out of memory"),
			  a->cfg->acme_retry_interval);
	return a->cfg->acme_retry_interval;
}

static void *
acme_main(void *arg)
{
	struct acme *a = arg;
	long wait;

	do
		wait = acme_check(a);
	while (acme_sleep(a, wait));
	return NULL;
}

int
acme_start(struct server *srv, struct acme **ap, char *err, size_t errlen)
{
	struct acme_thread *t;
	char dir[PATH_MAX + 8];
	bool http = false, https = false;

	*ap = NULL;
	if (!srv->cfg.acme)
		return 0;
	for (size_t i = 0; i < srv->cfg.n_listeners; i++) {
		http |= srv->cfg.listeners[i].proto == PROTO_HTTP;
		https |= srv->cfg.listeners[i].proto == PROTO_HTTPS;
	}
	if (!http && !https) {
		snprintf(err, errlen, "acme = yes needs an http listener for "
			 "the HTTP-01 challenge (listen = http ADDR:80), or an "
			 "https one for TLS-ALPN-01 (port 443)");
		return -1;
	}
	acme_path(&srv->cfg, "", dir, sizeof(dir));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	srv->challenges = challenges_new();
	t = calloc(1, sizeof(*t));
	if (srv->challenges == NULL || t == NULL) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->a.srv = srv;
	t->a.cfg = &srv->cfg;
	/* HTTP-01 when port 80 is ours, else TLS-ALPN-01 on 443. */
	t->a.alpn = !http;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t->a.curl = curl_easy_init();
	if (t->a.curl == NULL ||
	    pthread_create(&t->tid, NULL, acme_main, &t->a) != 0) {
		snprintf(err, errlen, "cannot start the ACME thread");
		*ap = &t->a;
		acme_stop(ap);
		return -1;
	}
	t->started = true;
	log_info(NULL, "acme_start", " directory=%s challenge=%s",
		 log_qs(srv->cfg.acme_directory),
		 t->a.alpn ? "tls-alpn-01" : "http-01");
	*ap = &t->a;
	return 0;
}

void
acme_stop(struct acme **ap)
{
	struct acme_thread *t = (struct acme_thread *)*ap;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	atomic_store(&t->a.stop, true);
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	if (t->started)
		pthread_join(t->tid, NULL);
	if (t->a.curl != NULL)
		curl_easy_cleanup(t->a.curl);
	EVP_PKEY_free(t->a.account_key);
	acme_skip_clear(t);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
	*ap = NULL;
}

struct ssl_ctx_st *
acme_ctx_load(struct server *srv)
{
	char cpath[PATH_MAX + 32], kpath[PATH_MAX + 32], err[512];
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	struct ssl_ctx_st *ctx = NULL;

	if (!srv->cfg.acme)
		return NULL;
	acme_path(&srv->cfg, "cert.pem", cpath, sizeof(cpath));
	acme_path(&srv->cfg, "key.pem", kpath, sizeof(kpath));
	if (access(cpath, F_OK) < 0)
		return NULL;
	if (safepath_read(cpath, SAFEPATH_PEM_MAX, &cert, &cert_len, err,
			  sizeof(err)) == 0 &&
	    safepath_read(kpath, SAFEPATH_PEM_MAX, &key, &key_len, err,
			  sizeof(err)) == 0)
		ctx = tls_sni_ctx_new(srv, cert, cert_len, key, key_len, err,
				      sizeof(err));
	if (ctx == NULL)
		log_error(NULL, "acme_load", " reason=%s kept=old",
			  log_qs(err));
	safepath_free_buf(cert, cert_len);
	safepath_free_buf(key, key_len);
	return ctx;
}
