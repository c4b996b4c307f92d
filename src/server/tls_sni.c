/*
 * SNI: a table of (certificate, context) hung on the default context as
 * ex_data, freed with it; the servername callback switches the handshake
 * to the first context whose certificate names the requested host
 * (X509_check_host: exact or RFC 6125 wildcard).
 */
#include "tls_sni.h"

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../core/challenge.h"
#include "../core/runtime.h"
#include "../core/safepath.h"
#include "../core/tls.h"
#include "server_int.h"

struct tls_sni_entry {
	SSL_CTX *ctx;
	X509 *cert; /* borrowed from ctx */
};

struct tls_sni {
	size_t n;
	struct tls_sni_entry e[TLS_SNI_MAX];
};

static int tls_sni_index = -1;
static pthread_once_t tls_sni_once = PTHREAD_ONCE_INIT;

static void
tls_sni_free(struct tls_sni *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		SSL_CTX_free(t->e[i].ctx);
	free(t);
}

static void
tls_sni_exfree(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
	       long argl, void *argp)
{
	tls_sni_free(ptr);
}

static void
tls_sni_index_init(void)
{
	tls_sni_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
						 tls_sni_exfree);
}

/* RFC 6066 §3: the client names the host; no name or an unknown one keeps
 * the default certificate (no alert: a client may still accept it). */
static int
tls_sni_cb(SSL *ssl, int *alert, void *arg)
{
	const struct tls_sni *t = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	if (name == NULL || t == NULL)
		return SSL_TLSEXT_ERR_OK;
	for (size_t i = 0; i < t->n; i++)
		if (X509_check_host(t->e[i].cert, name, 0, 0, NULL) == 1) {
			SSL_set_SSL_CTX(ssl, t->e[i].ctx);
			break;
		}
	return SSL_TLSEXT_ERR_OK;
}

/* RFC 8737 §3: a ClientHello that offers ALPN "acme-tls/1" for a name
 * the ACME client is validating gets the challenge certificate; every
 * other one goes on as usual (no lock taken when none is published). */
static int
tls_sni_hello_cb(SSL *ssl, int *al, void *arg)
{
	struct server *srv = arg;
	const unsigned char *p;
	const char *name;
	size_t len, nlen;
	SSL_CTX *ctx;

	if (srv->challenges == NULL ||
	    SSL_client_hello_get0_ext(ssl,
				      TLSEXT_TYPE_application_layer_protocol_negotiation,
				      &p, &len) != 1 ||
	    !challenge_alpn_acme(p, len) ||
	    SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p,
				      &len) != 1 ||
	    !challenge_sni_name(p, len, &name, &nlen))
		return SSL_CLIENT_HELLO_SUCCESS;
	ctx = challenges_get_alpn(srv->challenges, name, nlen);
	if (ctx != NULL) {
		SSL_set_SSL_CTX(ssl, ctx);
		SSL_CTX_free(ctx);
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

SSL_CTX *
tls_sni_ctx_new(struct server *srv, const char *cert, size_t cert_len,
		const char *key, size_t key_len, char *err, size_t errlen)
{
	SSL_CTX *ctx = tls_ctx_new_pem(&srv->cfg, srv->priv->tickets, cert,
				       cert_len, key, key_len, err, errlen);

	if (ctx != NULL && tls_sni_attach(ctx, srv, err, errlen) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* One pair from files into t; 0, or -1 with err naming it. */
static int
tls_sni_load(struct tls_sni *t, struct server *srv, const char *cpath,
	     const char *kpath, char *err, size_t errlen)
{
	char *cert = NULL, *key = NULL, e2[400];
	size_t cert_len = 0, key_len = 0;
	SSL_CTX *ctx = NULL;

	if (t->n >= TLS_SNI_MAX) {
		snprintf(err, errlen, "tls_sni_dir: more than %d certificates",
			 TLS_SNI_MAX);
		return -1;
	}
	if (safepath_read(cpath, SAFEPATH_PEM_MAX, &cert, &cert_len, e2,
			  sizeof(e2)) == 0 &&
	    safepath_read(kpath, SAFEPATH_PEM_MAX, &key, &key_len, e2,
			  sizeof(e2)) == 0)
		ctx = tls_ctx_new_pem(&srv->cfg, srv->priv->tickets, cert,
				      cert_len, key, key_len, e2, sizeof(e2));
	safepath_free_buf(cert, cert_len);
	safepath_free_buf(key, key_len);
	if (ctx == NULL) {
		snprintf(err, errlen, "%s: %s", cpath, e2);
		return -1;
	}
	t->e[t->n].ctx = ctx;
	t->e[t->n].cert = SSL_CTX_get0_certificate(ctx);
	t->n++;
	return 0;
}

/* A directory entry: NAME.crt (+ NAME.key) or NAME/ (certbot). Others
 * (NAME.key itself, dot files, README) are skipped. */
static int
tls_sni_entry(struct tls_sni *t, struct server *srv, const char *dir,
	      const char *name, char *err, size_t errlen)
{
	char c[PATH_MAX], k[PATH_MAX];
	size_t n = strlen(name);
	struct stat st;

	if (name[0] == '.')
		return 0;
	snprintf(c, sizeof(c), "%s/%s", dir, name);
	if (stat(c, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		snprintf(c, sizeof(c), "%s/%s/fullchain.pem", dir, name);
		snprintf(k, sizeof(k), "%s/%s/privkey.pem", dir, name);
		return tls_sni_load(t, srv, c, k, err, errlen);
	}
	if (n <= 4 || strcmp(name + n - 4, ".crt") != 0)
		return 0;
	snprintf(k, sizeof(k), "%s/%.*s.key", dir, (int)(n - 4), name);
	return tls_sni_load(t, srv, c, k, err, errlen);
}

static int
tls_sni_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
tls_sni_attach(SSL_CTX *ctx, struct server *srv, char *err, size_t errlen)
{
	const char *dir = srv->cfg.tls_sni_dir;
	struct tls_sni *t;
	DIR *d;
	struct dirent *de;
	char *names[TLS_SNI_MAX * 2 + 8];
	size_t nn = 0;
	int rc = 0;

	/* acme = yes: the TLS-ALPN-01 answers (core/challenge.h). */
	if (srv->cfg.acme)
		SSL_CTX_set_client_hello_cb(ctx, tls_sni_hello_cb, srv);
	if (dir[0] == '\0')
		return 0;
	pthread_once(&tls_sni_once, tls_sni_index_init);
	if (tls_sni_index < 0 || (t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "tls_sni_dir %s: cannot open", dir);
		free(t);
		return -1;
	}
	/* Sorted, so the first certificate that names a host is the same
	 * on every start. */
	while ((de = readdir(d)) != NULL && nn < sizeof(names) / sizeof(*names))
		if ((names[nn] = strdup(de->d_name)) != NULL)
			nn++;
	closedir(d);
	qsort(names, nn, sizeof(*names), tls_sni_cmp);
	for (size_t i = 0; i < nn; i++) {
		if (rc == 0)
			rc = tls_sni_entry(t, srv, dir, names[i], err, errlen);
		free(names[i]);
	}
	if (rc < 0 || SSL_CTX_set_ex_data(ctx, tls_sni_index, t) != 1) {
		tls_sni_free(t);
		return -1;
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_sni_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, t);
	return 0;
}
