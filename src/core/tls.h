/*
 * TLS contexts: the profile of docs/CONFIG.md (TLS 1.2+, ECDHE with AEAD,
 * session tickets under a rotated key ring), certificate and key from PEM
 * bytes. The self-signed certificate of a first start: tls_cert.h in
 * src/server/.
 */
#ifndef POSTEL_TLS_H
#define POSTEL_TLS_H

#include <stddef.h>

struct config;
struct ssl_ctx_st;
struct tls_tickets;

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

/* The outbound SMTP client's context: TLS 1.2+ with the profile's
 * ciphers, the system CA store (OpenSSL's default paths, which honour
 * SSL_CERT_FILE/SSL_CERT_DIR) loaded so every handshake's verification
 * result is known, no client certificate. Peers are not refused here
 * (SSL_VERIFY_NONE): the caller sets the name to check per connection
 * and decides from SSL_get_verify_result (opportunistic TLS, RFC 7435).
 * NULL with err on failure. */
struct ssl_ctx_st *tls_client_ctx_new(const struct config *cfg, char *err,
				      size_t errlen);

#endif
