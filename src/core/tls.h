/*
 * TLS contexts: the profile of docs/CONFIG.md (TLS 1.2+, ECDHE with AEAD,
 * session tickets under a rotated key ring), certificate and key from PEM
 * bytes, and a self-signed certificate made on first start so `postel
 * serve` works with no configuration.
 */
#ifndef POSTEL_TLS_H
#define POSTEL_TLS_H

#include <stddef.h>

struct config;
struct ssl_ctx_st;
struct tls_tickets;

/* With the default paths (DATA_DIR/tls/cert.pem and key.pem) and both
 * files missing, makes a new P-256 key and a self-signed certificate for
 * cfg->hostname (subjectAltName also localhost, 127.0.0.1, ::1), valid ten
 * years; as root the files are handed to cfg->run_user. Never follows a
 * link, never writes an existing file or a configured cert/key; one file
 * of the pair missing is an error. 0 or -1 with err. */
int tls_ensure_cert(const struct config *cfg, char *err, size_t errlen);

/* The session-ticket key ring shared by every context of the process (so
 * tickets survive a SIGHUP reload). A key seals tickets for period_s
 * seconds and opens them for period_s more. NULL when out of memory. */
struct tls_tickets *tls_tickets_new(long period_s);
void tls_tickets_free(struct tls_tickets **tp);

/* A server context from PEM bytes (chain, then key); tk NULL or a period
 * of 0 turns tickets off. NULL with err on failure. */
struct ssl_ctx_st *tls_ctx_new_pem(const struct config *cfg,
				   struct tls_tickets *tk, const char *cert,
				   size_t cert_len, const char *key,
				   size_t key_len, char *err, size_t errlen);
/* The same from cfg->cert_path and cfg->key_path (read link-safely when
 * root: safepath_read). */
struct ssl_ctx_st *tls_ctx_new(const struct config *cfg,
			       struct tls_tickets *tk, char *err,
			       size_t errlen);
void tls_ctx_free(struct ssl_ctx_st *ctx);

#endif
