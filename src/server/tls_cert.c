/*
 * The self-signed certificate of a new install, made in DATA_DIR/tls.
 *
 * This runs as root inside a directory the service user owns, so nothing
 * here follows a link or touches a file it did not just create: the tls
 * directory is opened with O_NOFOLLOW relative to the data dir's fd, the
 * files are created with O_EXCL|O_NOFOLLOW and handed over with fchown on
 * those fds. A pair with one file missing is an error, never regenerated
 * (regenerating would write where a planted link points).
 */
#include "tls_cert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../core/config.h"
#include "../core/safepath.h"
#include "privdrop.h"

static void
tls_cert_ssl_error(char *err, size_t errlen, const char *what)
{
	char e[256];

	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	snprintf(err, errlen, "%s: %s", what, e);
	ERR_clear_error();
}

static int
add_san(X509 *x, const char *hostname)
{
	char san[600];
	X509V3_CTX ctx;

	snprintf(san, sizeof(san),
		 "DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1", hostname);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext =
		X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	if (ext == NULL)
		return -1;
	int rc = X509_add_ext(x, ext, -1) ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

static X509 *
make_cert(EVP_PKEY *key, const char *hostname)
{
	X509 *x = X509_new();
	unsigned char serial[16];

	if (x == NULL)
		return NULL;
	FILE *r = fopen("/dev/urandom", "r");
	if (r == NULL || fread(serial, 1, sizeof(serial), r) != sizeof(serial)) {
		if (r)
			fclose(r);
		X509_free(x);
		return NULL;
	}
	fclose(r);
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	X509_set_version(x, 2);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 24 * 3600);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				   (const unsigned char *)hostname, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (add_san(x, hostname) < 0 || !X509_sign(x, key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Creates dirfd/name (it must not exist: O_EXCL, and O_NOFOLLOW so even a
 * dangling link is not followed), hands it to the service user by fd and
 * writes the PEM. */
static int
write_pem_at(int dirfd, const char *name, EVP_PKEY *key, X509 *cert,
	     mode_t mode, const struct config *cfg)
{
	uid_t uid;
	gid_t gid;
	FILE *f;
	int fd, ok;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				 O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (privdrop_user_ids(cfg->run_user, &uid, &gid) == 0 &&
	    fchown(fd, uid, gid) < 0) {
		close(fd);
		return -1;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		 : PEM_write_X509(f, cert);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	fclose(f);
	return ok ? 0 : -1;
}

/* Opens (making it when missing) DATA_DIR/tls without following a link. */
static int
tls_dir_open(const struct config *cfg, char *err, size_t errlen)
{
	char path[sizeof(cfg->data_dir) + 8];
	bool created = false;
	uid_t uid;
	gid_t gid;
	int dfd, fd;

	dfd = safepath_open_dir(cfg->data_dir, false, 0, NULL, err, errlen);
	if (dfd < 0)
		return -1;
	/* A new directory's name is synced with its parent, so the pair
	 * written into it survives a power cut. */
	if (mkdirat(dfd, "tls", 0750) == 0)
		created = true;
	if (created && fsync(dfd) < 0) {
		snprintf(err, errlen, "cannot sync %s: %s", cfg->data_dir,
			 strerror(errno));
		close(dfd);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/tls", cfg->data_dir);
	fd = safepath_open_at(dfd, "tls", path, err, errlen);
	/* Only the directory just made is handed over, by its fd. */
	if (fd >= 0 && created &&
	    privdrop_user_ids(cfg->run_user, &uid, &gid) == 0 &&
	    fchown(fd, uid, gid) < 0) {
		snprintf(err, errlen, "cannot chown %s/tls: %s", cfg->data_dir,
			 strerror(errno));
		close(fd);
		fd = -1;
	}
	close(dfd);
	return fd;
}

/* 1 when dirfd/name exists (as anything, a link included), 0 when not,
 * -1 with err. */
static int
tls_file_exists(int dirfd, const char *name, const char *dir, char *err,
		size_t errlen)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	snprintf(err, errlen, "%s/tls/%s: %s", dir, name, strerror(errno));
	return -1;
}

/* Writes the pair under temporary names, then renames both and fsyncs
 * the directory: a power cut leaves the whole pair or neither (a lone
 * key.pem would stop the next start), and a pair the server used survives
 * it (a new one would break the trust clients gave the old). Leftover
 * temporary files of an earlier attempt are removed first (unlinkat never
 * follows a link). */
static int
tls_write_pair(int dirfd, EVP_PKEY *key, X509 *cert, const struct config *cfg,
	       char *err, size_t errlen)
{
	unlinkat(dirfd, "key.pem.new", 0);
	unlinkat(dirfd, "cert.pem.new", 0);
	if (write_pem_at(dirfd, "key.pem.new", key, NULL, 0600, cfg) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", cfg->key_path,
			 strerror(errno));
	} else if (write_pem_at(dirfd, "cert.pem.new", NULL, cert, 0644,
				cfg) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", cfg->cert_path,
			 strerror(errno));
	} else if (renameat(dirfd, "key.pem.new", dirfd, "key.pem") < 0 ||
		   renameat(dirfd, "cert.pem.new", dirfd, "cert.pem") < 0 ||
		   fsync(dirfd) < 0) {
		snprintf(err, errlen, "cannot install %s: %s", cfg->cert_path,
			 strerror(errno));
		/* No half pair left behind: the next start would refuse. */
		unlinkat(dirfd, "key.pem", 0);
	} else {
		return 0;
	}
	unlinkat(dirfd, "key.pem.new", 0);
	unlinkat(dirfd, "cert.pem.new", 0);
	return -1;
}

static int
tls_make_pair(int dirfd, const struct config *cfg, char *err, size_t errlen)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = NULL;
	int rc = -1;

	if (key == NULL) {
		tls_cert_ssl_error(err, errlen, "key generation");
		return -1;
	}
	cert = make_cert(key, cfg->hostname);
	if (cert == NULL)
		tls_cert_ssl_error(err, errlen, "certificate");
	else
		rc = tls_write_pair(dirfd, key, cert, cfg, err, errlen);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

/* Whether DATA_DIR/tls/cert.pem is a self-signed certificate this file
 * made (it names localhost and 127.0.0.1 besides the host name) for
 * another host name than cfg->hostname: the host name was changed since,
 * and the default certificate must name the new one. Anything else (an
 * administrator's own certificate put there) is left alone. Read without
 * following a link, at most SAFEPATH_PEM_MAX octets. */
static bool
tls_self_signed_stale(int dirfd, const char *hostname)
{
	int fd = openat(dirfd, "cert.pem", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	bool stale = false;
	char cn[256];
	FILE *f;
	X509 *x = NULL;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > SAFEPATH_PEM_MAX || (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return false;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	/* The CN is the host name it was made for, exactly: a name
	 * X509_check_host would not match (a trailing dot) never makes a new
	 * pair at every start. */
	if (x != NULL && X509_check_issued(x, x) == X509_V_OK &&
	    X509_check_host(x, "localhost", 0, 0, NULL) == 1 &&
	    X509_check_ip_asc(x, "127.0.0.1", 0) == 1 &&
	    X509_NAME_get_text_by_NID(X509_get_subject_name(x),
				      NID_commonName, cn, sizeof(cn)) > 0 &&
	    strcmp(cn, hostname) != 0 &&
	    X509_check_host(x, hostname, 0, 0, NULL) != 1)
		stale = true;
	X509_free(x);
	ERR_clear_error();
	return stale;
}

/* Whether cert and key are the data dir's own (not configured). */
static bool
tls_paths_default(const struct config *cfg)
{
	char c[sizeof(cfg->cert_path)], k[sizeof(cfg->key_path)];

	snprintf(c, sizeof(c), "%s/tls/cert.pem", cfg->data_dir);
	snprintf(k, sizeof(k), "%s/tls/key.pem", cfg->data_dir);
	return strcmp(c, cfg->cert_path) == 0 && strcmp(k, cfg->key_path) == 0;
}

int
tls_ensure_cert(const struct config *cfg, char *err, size_t errlen)
{
	int fd, have_cert, have_key, rc = -1;

	/* A configured cert/key is the administrator's: never written. */
	if (!tls_paths_default(cfg))
		return 0;
	fd = tls_dir_open(cfg, err, errlen);
	if (fd < 0)
		return -1;
	have_cert = tls_file_exists(fd, "cert.pem", cfg->data_dir, err, errlen);
	have_key = have_cert < 0 ? -1
		: tls_file_exists(fd, "key.pem", cfg->data_dir, err, errlen);
	if (have_cert < 0 || have_key < 0)
		rc = -1;
	else if (have_cert && have_key)
		rc = tls_self_signed_stale(fd, cfg->hostname)
			? tls_make_pair(fd, cfg, err, errlen) : 0;
	else if (have_cert || have_key)
		snprintf(err, errlen, "%s exists but %s is missing: restore it, "
			 "or remove both files to have a new self-signed pair "
			 "made", have_cert ? cfg->cert_path : cfg->key_path,
			 have_cert ? cfg->key_path : cfg->cert_path);
	else
		rc = tls_make_pair(fd, cfg, err, errlen);
	close(fd);
	return rc;
}
