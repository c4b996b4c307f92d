/*
 * TLS server contexts: the profile (versions, ciphers, session tickets with
 * a rotated key ring) and the certificate chain and key from PEM bytes.
 */
#include "tls.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "config.h"
#include "safepath.h"

/* RFC 5077 §4 (the ticket layout OpenSSL uses): a key name that tells the
 * server which key sealed a ticket, AES-256-CBC and HMAC-SHA256 keys. */
struct tls_ticket_key {
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char hmac[32];
	bool valid;
};

/* keys[0] seals new tickets; keys[1], the previous one, still opens
 * tickets it sealed (and asks for a renewal). */
struct tls_tickets {
	struct tls_ticket_key keys[2];
	time_t rotated;
	long period;
};

static void
tls_ssl_error(char *err, size_t errlen, const char *what)
{
	char e[256];

	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	snprintf(err, errlen, "%s: %s", what, e);
	ERR_clear_error();
}

static int
tls_ticket_key_make(struct tls_ticket_key *k)
{
	k->valid = RAND_bytes(k->name, sizeof(k->name)) == 1 &&
		   RAND_bytes(k->aes, sizeof(k->aes)) == 1 &&
		   RAND_bytes(k->hmac, sizeof(k->hmac)) == 1;
	return k->valid ? 0 : -1;
}

struct tls_tickets *
tls_tickets_new(long period_s)
{
	struct tls_tickets *tk = calloc(1, sizeof(*tk));

	if (tk == NULL)
		return NULL;
	tk->period = period_s;
	tk->rotated = time(NULL);
	if (tls_ticket_key_make(&tk->keys[0]) < 0) {
		free(tk);
		return NULL;
	}
	return tk;
}

void
tls_tickets_free(struct tls_tickets **tp)
{
	if (*tp == NULL)
		return;
	explicit_bzero(*tp, sizeof(**tp));
	free(*tp);
	*tp = NULL;
}

/* Lazily, on the loop thread (every SSL runs there): a key seals tickets
 * for one period and opens them for one more. */
static void
tls_tickets_rotate(struct tls_tickets *tk, time_t now)
{
	if (now - tk->rotated < tk->period && now >= tk->rotated)
		return;
	if (now - tk->rotated < 2 * tk->period && now >= tk->rotated)
		tk->keys[1] = tk->keys[0];
	else
		explicit_bzero(&tk->keys[1], sizeof(tk->keys[1]));
	if (tls_ticket_key_make(&tk->keys[0]) < 0)
		return; /* invalid: no new tickets until RAND works again */
	tk->rotated = now;
}

static int
tls_ticket_hmac(EVP_MAC_CTX *hctx, const struct tls_ticket_key *k)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
						  (void *)k->hmac,
						  sizeof(k->hmac)),
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/* SSL_CTX_set_tlsext_ticket_key_evp_cb: 1 ok, 2 ok but renew (sealed
 * with the previous key), 0 unknown key (full handshake), -1 error. */
static int
tls_ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
	      EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_tickets *tk = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const struct tls_ticket_key *k;

	if (tk == NULL)
		return enc ? -1 : 0;
	tls_tickets_rotate(tk, time(NULL));
	if (enc) {
		k = &tk->keys[0];
		if (!k->valid || RAND_bytes(iv, 16) != 1)
			return -1;
		memcpy(name, k->name, sizeof(k->name));
		if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
				       iv) != 1 || tls_ticket_hmac(hctx, k) < 0)
			return -1;
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		k = &tk->keys[i];
		if (!k->valid || memcmp(name, k->name, sizeof(k->name)) != 0)
			continue;
		if (tls_ticket_hmac(hctx, k) < 0 ||
		    EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
				       iv) != 1)
			return -1;
		return i == 0 ? 1 : 2;
	}
	return 0;
}

/* The profile: docs/CONFIG.md, tls_* keys. */
static int
tls_ctx_profile(SSL_CTX *ctx, const struct config *cfg,
		struct tls_tickets *tk, char *err, size_t errlen)
{
	/* DESIGN.md principle 4 and RFC 8996: TLS 1.2 and later only. */
	int minv = strcmp(cfg->tls_min_version, "TLSv1.3") == 0
		? TLS1_3_VERSION : TLS1_2_VERSION;

	if (SSL_CTX_set_min_proto_version(ctx, minv) != 1) {
		tls_ssl_error(err, errlen, "tls_min_version");
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* TLS 1.2 suites (RFC 9325 §4.2: ECDHE with AEAD). */
	if (SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
		tls_ssl_error(err, errlen, "tls_ciphers");
		return -1;
	}
	if (SSL_CTX_set_ciphersuites(ctx, cfg->tls_ciphersuites) != 1) {
		tls_ssl_error(err, errlen, "tls_ciphersuites");
		return -1;
	}
	/* Resumption only by stateless tickets: a server-side session cache
	 * is memory any client can fill. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (tk == NULL || tk->period <= 0) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		return 0;
	}
	SSL_CTX_set_app_data(ctx, tk);
	SSL_CTX_set_timeout(ctx, tk->period);
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb) != 1) {
		tls_ssl_error(err, errlen, "session tickets");
		return -1;
	}
	return 0;
}

/* Encrypted keys are not supported: never prompt on a terminal. */
static int
tls_no_passphrase_cb(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* The first certificate is the server's; the rest is its chain. */
static int
tls_ctx_use_chain(SSL_CTX *ctx, const char *pem, size_t len,
		  const char *name, char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509_AUX(b, NULL, tls_no_passphrase_cb,
					    NULL) : NULL;
	unsigned long e;
	int rc = -1;

	if (x == NULL || SSL_CTX_use_certificate(ctx, x) != 1) {
		tls_ssl_error(err, errlen, name);
		goto out;
	}
	SSL_CTX_clear_chain_certs(ctx);
	for (int i = 0; i < 32; i++) {
		X509 *ca = PEM_read_bio_X509(b, NULL, tls_no_passphrase_cb,
					     NULL);
		if (ca == NULL)
			break;
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			tls_ssl_error(err, errlen, name);
			goto out;
		}
	}
	/* The end of the PEM data shows as "no start line": expected. */
	e = ERR_peek_last_error();
	if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
			ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		tls_ssl_error(err, errlen, name);
		goto out;
	}
	ERR_clear_error();
	rc = 0;
out:
	X509_free(x);
	BIO_free(b);
	return rc;
}

static int
tls_ctx_use_key(SSL_CTX *ctx, const char *pem, size_t len, const char *name,
		char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, tls_no_passphrase_cb,
						   NULL) : NULL;
	int rc = -1;

	if (k == NULL)
		tls_ssl_error(err, errlen, name);
	else if (SSL_CTX_use_PrivateKey(ctx, k) != 1 ||
		 SSL_CTX_check_private_key(ctx) != 1)
		tls_ssl_error(err, errlen, "key does not match certificate");
	else
		rc = 0;
	EVP_PKEY_free(k);
	BIO_free(b);
	return rc;
}

SSL_CTX *
tls_ctx_new_pem(const struct config *cfg, struct tls_tickets *tk,
		const char *cert, size_t cert_len, const char *key,
		size_t key_len, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		tls_ssl_error(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	if (cert_len > SAFEPATH_PEM_MAX || key_len > SAFEPATH_PEM_MAX) {
		snprintf(err, errlen, "certificate or key too large");
		goto fail;
	}
	if (tls_ctx_profile(ctx, cfg, tk, err, errlen) < 0 ||
	    tls_ctx_use_chain(ctx, cert, cert_len, cfg->cert_path, err,
			      errlen) < 0 ||
	    tls_ctx_use_key(ctx, key, key_len, cfg->key_path, err, errlen) < 0)
		goto fail;
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_ctx_new(const struct config *cfg, struct tls_tickets *tk, char *err,
	    size_t errlen)
{
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	SSL_CTX *ctx = NULL;

	if (safepath_read(cfg->cert_path, SAFEPATH_PEM_MAX, &cert, &cert_len,
			  err, errlen) == 0 &&
	    safepath_read(cfg->key_path, SAFEPATH_PEM_MAX, &key, &key_len,
			  err, errlen) == 0)
		ctx = tls_ctx_new_pem(cfg, tk, cert, cert_len, key, key_len,
				      err, errlen);
	safepath_free_buf(cert, cert_len);
	safepath_free_buf(key, key_len);
	return ctx;
}

SSL_CTX *
tls_client_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int minv = strcmp(cfg->tls_min_version, "TLSv1.3") == 0
		? TLS1_3_VERSION : TLS1_2_VERSION;

	if (ctx == NULL) {
		tls_ssl_error(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	/* RFC 8996: no TLS 1.0/1.1. The cipher lists are the server's:
	 * RFC 9325 §4.2 holds for both ends. */
	if (SSL_CTX_set_min_proto_version(ctx, minv) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, cfg->tls_ciphersuites) != 1) {
		tls_ssl_error(err, errlen, "client TLS profile");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
				 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* A store that cannot be loaded only makes every peer unverified. */
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		ERR_clear_error();
	/* tls_ca_file: more trust anchors; one that cannot be read is a
	 * configuration error the caller reports. */
	if (cfg->tls_ca_file[0] != '\0' &&
	    SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_file, NULL) != 1) {
		tls_ssl_error(err, errlen, cfg->tls_ca_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* RFC 7672: DANE is armed per connection (SSL_dane_enable); this
	 * only sets up the digests it needs. */
	if (SSL_CTX_dane_enable(ctx) <= 0)
		ERR_clear_error();
	return ctx;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}
