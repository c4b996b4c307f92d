/* TLS context set-up and the self-signed certificate of a new install. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"

static void
ssl_error(char *err, size_t errlen, const char *what)
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

static int
write_pem(const char *path, EVP_PKEY *key, X509 *cert, mode_t mode)
{
	FILE *f;
	int fd, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
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

static void
give_to_user(const char *path, const char *user)
{
	struct passwd *pw;

	if (geteuid() != 0 || (pw = getpwnam(user)) == NULL)
		return;
	if (chown(path, pw->pw_uid, pw->pw_gid) < 0)
		return;
}

int
tls_ensure_cert(const struct config *cfg, char *err, size_t errlen)
{
	char dir[sizeof(cfg->cert_path)];
	EVP_PKEY *key;
	X509 *cert;
	int rc = -1;

	if (access(cfg->cert_path, F_OK) == 0 &&
	    access(cfg->key_path, F_OK) == 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s", cfg->cert_path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir,
				 strerror(errno));
			return -1;
		}
		give_to_user(dir, cfg->run_user);
	}
	key = EVP_EC_gen("P-256");
	if (key == NULL) {
		ssl_error(err, errlen, "key generation");
		return -1;
	}
	cert = make_cert(key, cfg->hostname);
	if (cert == NULL) {
		ssl_error(err, errlen, "certificate");
	} else if (write_pem(cfg->key_path, key, NULL, 0600) < 0 ||
		   write_pem(cfg->cert_path, NULL, cert, 0644) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", cfg->key_path,
			 strerror(errno));
	} else {
		give_to_user(cfg->key_path, cfg->run_user);
		give_to_user(cfg->cert_path, cfg->run_user);
		rc = 0;
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

SSL_CTX *
tls_ctx_new(const char *cert_path, const char *key_path, char *err,
	    size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		ssl_error(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	/* DESIGN.md principle 4: TLS 1.2 and later only. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		ssl_error(err, errlen, cert_path);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		ssl_error(err, errlen, key_path);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(err, errlen, "key does not match certificate");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}
