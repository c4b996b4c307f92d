/*
 * DKIM keys on disk and the signing keyring.
 *
 * DATA_DIR/dkim/DOMAIN/SELECTOR.pem   private key (PKCS#8 PEM), one per
 *                                     selector: SELECTOR is "YYYYMMDD-ed"
 *                                     (Ed25519) or "YYYYMMDD-rsa" (RSA
 *                                     2048), a letter after the date when
 *                                     a domain gets two pairs in one day
 * DATA_DIR/dkim/DOMAIN/active         "ed25519 SELECTOR\nrsa SELECTOR\n":
 *                                     the pair that signs
 *
 * Run as root, directories are 0750 and keys 0640, owner root, group the
 * service user's, so only root and the service user read them; otherwise
 * 0700/0600 owned by the caller. Selectors no longer active stay (their
 * DNS records must outlive mail in transit) until removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../util/base64.h"
#include "../util/buf.h"
#include "dkim.h"
#include "dkim_int.h"
#include "dkim_keys.h"

/* ---- files ----------------------------------------------------------- */

static int
dkim_dir(const char *data_dir, const char *domain, char *out, size_t cap)
{
	int n = domain != NULL
		? snprintf(out, cap, "%s/dkim/%s", data_dir, domain)
		: snprintf(out, cap, "%s/dkim", data_dir);

	return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int
dkim_mkdir(const char *path, gid_t gid)
{
	if (mkdir(path, gid != (gid_t)-1 ? 0750 : 0700) < 0 && errno != EEXIST)
		return -1;
	if (gid != (gid_t)-1 && (chown(path, 0, gid) < 0 ||
				 chmod(path, 0750) < 0))
		return -1;
	return 0;
}

/* Writes data to dir/name through a temporary file and rename. */
static int
dkim_write_file(const char *dir, const char *name, const void *data,
		size_t len, gid_t gid)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >=
		    (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    (int)sizeof(path))
		return -1;
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) == (ssize_t)len &&
	    (gid == (gid_t)-1 || (fchown(fd, 0, gid) == 0 &&
				  fchmod(fd, 0640) == 0)) &&
	    fsync(fd) == 0)
		rc = 0;
	if (close(fd) < 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1;
	if (rc < 0)
		(void)unlink(tmp);
	return rc;
}

static EVP_PKEY *
dkim_key_read(const char *dir, const char *selector)
{
	char path[PATH_MAX];
	EVP_PKEY *key = NULL;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/%s.pem", dir, selector) >=
	    (int)sizeof(path))
		return NULL;
	f = fopen(path, "re");
	if (f == NULL)
		return NULL;
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return key;
}

static int
dkim_key_write(const char *dir, const char *selector, EVP_PKEY *key,
	       gid_t gid)
{
	BIO *b = BIO_new(BIO_s_mem());
	char name[DKIM_SELECTOR_MAX + 8];
	char *data;
	long len;
	int rc = -1;

	snprintf(name, sizeof(name), "%s.pem", selector);
	if (b != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL,
						  NULL) == 1 &&
	    (len = BIO_get_mem_data(b, &data)) > 0)
		rc = dkim_write_file(dir, name, data, (size_t)len, gid);
	BIO_free(b);
	return rc;
}

/* "ed25519 SEL\nrsa SEL\n" of dir/active. 0 or -1. */
static int
dkim_active_read(const char *dir, char *ed, char *rsa)
{
	char path[PATH_MAX], line[128], sel[DKIM_SELECTOR_MAX + 1];
	char alg[16];
	FILE *f;

	ed[0] = rsa[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/active", dir) >=
	    (int)sizeof(path) || (f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%15s %63s", alg, sel) == 2) {
			if (strcmp(alg, "ed25519") == 0)
				memcpy(ed, sel, sizeof(sel));
			else if (strcmp(alg, "rsa") == 0)
				memcpy(rsa, sel, sizeof(sel));
		}
	fclose(f);
	return ed[0] != '\0' && rsa[0] != '\0' ? 0 : -1;
}

static EVP_PKEY *
dkim_keygen(bool ed)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(ed ? EVP_PKEY_ED25519
						   : EVP_PKEY_RSA, NULL);
	EVP_PKEY *key = NULL;

	if (ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 &&
	    (ed || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) == 1) &&
	    EVP_PKEY_keygen(ctx, &key) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* A dated base not used yet in dir: "20261207", then "20261207b". */
static int
dkim_new_base(const char *dir, time_t now, char *base, size_t cap)
{
	struct tm tm;
	char path[PATH_MAX];

	gmtime_r(&now, &tm);
	for (int k = 0; k < 26; k++) {
		struct stat st;
		snprintf(base, cap, "%04d%02d%02d%.*s", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, k > 0, &"abcdefghijklmnopq"
			 "rstuvwxyz"[k]);
		snprintf(path, sizeof(path), "%s/%s-ed.pem", dir, base);
		if (stat(path, &st) < 0 && errno == ENOENT)
			return 0;
	}
	return -1;
}

int
dkim_keys_generate(const char *data_dir, const char *domain, bool rotate,
		   gid_t gid, time_t now, char *ed_r, char *rsa_r,
		   const char **why_r)
{
	char top[PATH_MAX], dir[PATH_MAX], base[32], ed_old[64], rsa_old[64];
	char active[256];
	EVP_PKEY *ed = NULL, *rsa = NULL;
	int rc = -1;

	if (dkim_dir(data_dir, NULL, top, sizeof(top)) < 0 ||
	    dkim_dir(data_dir, domain, dir, sizeof(dir)) < 0)
		return *why_r = "path too long", -1;
	if (dkim_mkdir(top, gid) < 0 || dkim_mkdir(dir, gid) < 0)
		return *why_r = strerror(errno), -1;
	if (dkim_active_read(dir, ed_old, rsa_old) == 0 && !rotate)
		return *why_r = "the domain has keys already (dkim rotate "
				"makes new ones)", -1;
	if (dkim_active_read(dir, ed_old, rsa_old) < 0 && rotate)
		return *why_r = "the domain has no keys (dkim generate "
				"makes them)", -1;
	if (dkim_new_base(dir, now, base, sizeof(base)) < 0)
		return *why_r = "too many new selectors today", -1;
	snprintf(ed_r, DKIM_SELECTOR_MAX + 1, "%s-ed", base);
	snprintf(rsa_r, DKIM_SELECTOR_MAX + 1, "%s-rsa", base);
	*why_r = "key generation failed";
	if ((ed = dkim_keygen(true)) == NULL ||
	    (rsa = dkim_keygen(false)) == NULL)
		goto out;
	*why_r = "cannot write the keys";
	snprintf(active, sizeof(active), "ed25519 %s\nrsa %s\n", ed_r, rsa_r);
	if (dkim_key_write(dir, ed_r, ed, gid) < 0 ||
	    dkim_key_write(dir, rsa_r, rsa, gid) < 0 ||
	    dkim_write_file(dir, "active", active, strlen(active), gid) < 0)
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa);
	return rc;
}

/* The DKIM TXT text of a key: "v=DKIM1; k=...; p=BASE64". */
static int
dkim_pub_text(EVP_PKEY *key, char *out, size_t cap)
{
	uint8_t der[2048], *p = der;
	char b64[BASE64_ENCODED_LEN(2048) + 1];
	size_t n = sizeof(der);
	int len;

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(key, der, &n) != 1)
			return -1;
		base64_encode(der, n, b64);
		snprintf(out, cap, "v=DKIM1; k=ed25519; p=%s", b64);
		return 0;
	}
	len = i2d_PUBKEY(key, NULL);
	if (len <= 0 || (size_t)len > sizeof(der) || i2d_PUBKEY(key, &p) != len)
		return -1;
	base64_encode(der, (size_t)len, b64);
	snprintf(out, cap, "v=DKIM1; k=rsa; p=%s", b64);
	return 0;
}

static int
dkim_info_cmp(const void *a, const void *b)
{
	const struct dkim_keyinfo *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	return c != 0 ? c : strcmp(y->selector, x->selector);
}

/* The selectors of one domain directory, appended to *v. */
static int
dkim_list_domain(const char *data_dir, const char *domain,
		 struct dkim_keyinfo **v, size_t *n)
{
	char dir[PATH_MAX], ed[64], rsa[64];
	struct dirent *e;
	DIR *d;

	if (dkim_dir(data_dir, domain, dir, sizeof(dir)) < 0 ||
	    (d = opendir(dir)) == NULL)
		return -1;
	(void)dkim_active_read(dir, ed, rsa);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		struct dkim_keyinfo *k, *nv;
		struct stat st;
		EVP_PKEY *key;

		if (e->d_name[0] == '.' || len < 5 || len - 4 > DKIM_SELECTOR_MAX
		    || strcmp(e->d_name + len - 4, ".pem") != 0)
			continue;
		nv = realloc(*v, (*n + 1) * sizeof(**v));
		if (nv == NULL)
			break;
		*v = nv;
		k = &nv[*n];
		memset(k, 0, sizeof(*k));
		snprintf(k->domain, sizeof(k->domain), "%s", domain);
		snprintf(k->selector, sizeof(k->selector), "%.*s",
			 (int)(len - 4), e->d_name);
		k->active = strcmp(k->selector, ed) == 0 ||
			    strcmp(k->selector, rsa) == 0;
		if (fstatat(dirfd(d), e->d_name, &st, 0) == 0)
			k->created = st.st_mtime;
		key = dkim_key_read(dir, k->selector);
		if (key != NULL) {
			k->ed25519 = EVP_PKEY_get_base_id(key) ==
				     EVP_PKEY_ED25519;
			k->bits = (unsigned)EVP_PKEY_get_bits(key);
			if (dkim_pub_text(key, k->txt, sizeof(k->txt)) < 0)
				k->txt[0] = '\0';
		}
		EVP_PKEY_free(key);
		(*n)++;
	}
	closedir(d);
	return 0;
}

int
dkim_keys_list(const char *data_dir, const char *domain,
	       struct dkim_keyinfo **v_r, size_t *n_r)
{
	char top[PATH_MAX];
	struct dirent *e;
	DIR *d;

	*v_r = NULL;
	*n_r = 0;
	if (domain != NULL) {
		(void)dkim_list_domain(data_dir, domain, v_r, n_r);
	} else {
		if (dkim_dir(data_dir, NULL, top, sizeof(top)) < 0)
			return -1;
		d = opendir(top);
		if (d == NULL)
			return errno == ENOENT ? 0 : -1;
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				(void)dkim_list_domain(data_dir, e->d_name,
						       v_r, n_r);
		closedir(d);
	}
	if (*n_r > 1)
		qsort(*v_r, *n_r, sizeof(**v_r), dkim_info_cmp);
	return 0;
}

int
dkim_keys_remove(const char *data_dir, const char *domain,
		 const char *selector, const char **why_r)
{
	char dir[PATH_MAX], ed[64], rsa[64], path[PATH_MAX];

	if (dkim_dir(data_dir, domain, dir, sizeof(dir)) < 0)
		return *why_r = "path too long", -1;
	if (dkim_active_read(dir, ed, rsa) == 0 &&
	    (strcmp(selector, ed) == 0 || strcmp(selector, rsa) == 0))
		return *why_r = "the selector is active (rotate first)", -1;
	if (strchr(selector, '/') != NULL || selector[0] == '.' ||
	    snprintf(path, sizeof(path), "%s/%s.pem", dir, selector) >=
		    (int)sizeof(path))
		return *why_r = "invalid selector", -1;
	if (unlink(path) < 0)
		return *why_r = errno == ENOENT ? "no such selector"
						: strerror(errno), -1;
	return 0;
}

/* ---- the keyring ------------------------------------------------------ */

struct dkim_ring_domain {
	char domain[DKIM_DOMAIN_MAX + 1];
	char sel_ed[DKIM_SELECTOR_MAX + 1];
	char sel_rsa[DKIM_SELECTOR_MAX + 1];
	EVP_PKEY *ed;
	EVP_PKEY *rsa;
	/* Their signing contexts, set up once (NULL: per signature). */
	struct dkim_signkey *ed_ready;
	struct dkim_signkey *rsa_ready;
};

struct dkim_keyring {
	atomic_int refs;
	size_t n;
	struct dkim_ring_domain *d;   /* sorted by domain */
};

static int
dkim_ring_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dkim_ring_domain *)a)->domain,
		      ((const struct dkim_ring_domain *)b)->domain);
}

/* One domain's active pair into r. 0, or -1 with *why_r. */
static int
dkim_ring_domain_load(const char *data_dir, const char *domain,
		      struct dkim_ring_domain *r, const char **why_r)
{
	char dir[PATH_MAX];

	memset(r, 0, sizeof(*r));
	if (strlen(domain) > DKIM_DOMAIN_MAX ||
	    dkim_dir(data_dir, domain, dir, sizeof(dir)) < 0)
		return *why_r = "name too long", -1;
	if (dkim_active_read(dir, r->sel_ed, r->sel_rsa) < 0)
		return *why_r = "no readable active file", -1;
	snprintf(r->domain, sizeof(r->domain), "%s", domain);
	r->ed = dkim_key_read(dir, r->sel_ed);
	r->rsa = dkim_key_read(dir, r->sel_rsa);
	if (r->ed == NULL || r->rsa == NULL ||
	    EVP_PKEY_get_base_id(r->ed) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_base_id(r->rsa) != EVP_PKEY_RSA) {
		EVP_PKEY_free(r->ed);
		EVP_PKEY_free(r->rsa);
		return *why_r = "cannot read the active keys", -1;
	}
	r->ed_ready = dkim_signkey_new(DKIM_ALG_ED25519_SHA256, r->ed);
	r->rsa_ready = dkim_signkey_new(DKIM_ALG_RSA_SHA256, r->rsa);
	return 0;
}

static void
dkim_ring_domain_fini(struct dkim_ring_domain *r)
{
	EVP_PKEY_free(r->ed);
	EVP_PKEY_free(r->rsa);
	dkim_signkey_free(&r->ed_ready);
	dkim_signkey_free(&r->rsa_ready);
}

struct dkim_keyring *
dkim_keyring_load(const char *data_dir,
		  void (*warn)(const char *domain, const char *why))
{
	struct dkim_keyring *kr = calloc(1, sizeof(*kr));
	char top[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (kr == NULL)
		return NULL;
	atomic_init(&kr->refs, 1);
	if (dkim_dir(data_dir, NULL, top, sizeof(top)) < 0 ||
	    (d = opendir(top)) == NULL)
		return kr;
	while ((e = readdir(d)) != NULL) {
		struct dkim_ring_domain r, *nv;
		const char *why = NULL;

		if (e->d_name[0] == '.')
			continue;
		if (dkim_ring_domain_load(data_dir, e->d_name, &r, &why) < 0) {
			if (warn != NULL)
				warn(e->d_name, why);
			continue;
		}
		nv = realloc(kr->d, (kr->n + 1) * sizeof(*nv));
		if (nv == NULL) {
			dkim_ring_domain_fini(&r);
			break;
		}
		kr->d = nv;
		kr->d[kr->n++] = r;
	}
	closedir(d);
	if (kr->n > 1)
		qsort(kr->d, kr->n, sizeof(*kr->d), dkim_ring_cmp);
	return kr;
}

size_t
dkim_keyring_count(const struct dkim_keyring *kr)
{
	return kr != NULL ? kr->n : 0;
}

void
dkim_keyring_ref(struct dkim_keyring *kr)
{
	atomic_fetch_add(&kr->refs, 1);
}

void
dkim_keyring_unref(struct dkim_keyring **krp)
{
	struct dkim_keyring *kr = *krp;

	*krp = NULL;
	if (kr == NULL || atomic_fetch_sub(&kr->refs, 1) != 1)
		return;
	for (size_t i = 0; i < kr->n; i++)
		dkim_ring_domain_fini(&kr->d[i]);
	free(kr->d);
	free(kr);
}

int
dkim_keyring_sign(const struct dkim_keyring *kr, const char *msg,
		  size_t len, time_t now, struct buf *out, const char **why_r)
{
	struct dkim_ring_domain key;
	const struct dkim_ring_domain *r;
	struct dkim_signer s = { 0 };
	struct dkim_prepared p;
	const char *why;
	int rc = -1;

	if (kr == NULL || kr->n == 0)
		return *why_r = "no DKIM keys", 0;
	/* The header split and the body hash once for both signatures. */
	if (dkim_prepare(msg, len, &p, &why) < 0 ||
	    dkim_from_domain_prepared(&p, key.domain, sizeof(key.domain)) < 0) {
		dkim_prepared_free(&p);
		return *why_r = "no single From: address", 0;
	}
	r = bsearch(&key, kr->d, kr->n, sizeof(*kr->d), dkim_ring_cmp);
	if (r == NULL) {
		dkim_prepared_free(&p);
		return *why_r = "no DKIM keys for the From: domain", 0;
	}
	s.domain = r->domain;
	s.alg = DKIM_ALG_ED25519_SHA256;
	s.selector = r->sel_ed;
	s.key = r->ed;
	s.ready = r->ed_ready;
	if (dkim_sign_prepared(&s, &p, now, out, why_r) == 0) {
		s.alg = DKIM_ALG_RSA_SHA256;
		s.selector = r->sel_rsa;
		s.key = r->rsa;
		s.ready = r->rsa_ready;
		rc = dkim_sign_prepared(&s, &p, now, out, why_r) < 0 ? -1 : 1;
	}
	dkim_prepared_free(&p);
	return rc;
}

int
dkim_keyring_signer(const struct dkim_keyring *kr, const char *domain,
		    struct dkim_signer *s)
{
	struct dkim_ring_domain key;
	const struct dkim_ring_domain *r;

	if (kr == NULL || kr->n == 0 ||
	    snprintf(key.domain, sizeof(key.domain), "%s", domain) >=
	    (int)sizeof(key.domain))
		return -1;
	r = bsearch(&key, kr->d, kr->n, sizeof(*kr->d), dkim_ring_cmp);
	if (r == NULL)
		return -1;
	memset(s, 0, sizeof(*s));
	s->alg = DKIM_ALG_RSA_SHA256;
	s->domain = r->domain;
	s->selector = r->sel_rsa;
	s->key = r->rsa;
	s->ready = r->rsa_ready;
	return 0;
}

/* One lock for every slot (there is one, the server's): held for a
 * pointer swap or a reference count. */
static pthread_mutex_t dkim_slot_lock = PTHREAD_MUTEX_INITIALIZER;

void
dkim_keyring_set(struct dkim_keyring **slot, struct dkim_keyring *kr)
{
	struct dkim_keyring *old;

	pthread_mutex_lock(&dkim_slot_lock);
	old = *slot;
	*slot = kr;
	pthread_mutex_unlock(&dkim_slot_lock);
	dkim_keyring_unref(&old);
}

struct dkim_keyring *
dkim_keyring_get(struct dkim_keyring *const *slot)
{
	struct dkim_keyring *kr;

	pthread_mutex_lock(&dkim_slot_lock);
	kr = *slot;
	if (kr != NULL && kr->n > 0)
		dkim_keyring_ref(kr);
	else
		kr = NULL;
	pthread_mutex_unlock(&dkim_slot_lock);
	return kr;
}
