/*
 * TLS contexts: TLS 1.2+ only, certificate and key from files, and a
 * self-signed certificate made on first start so `postel serve` works with
 * no configuration.
 */
#ifndef POSTEL_TLS_H
#define POSTEL_TLS_H

#include <stddef.h>

struct config;
struct ssl_ctx_st;

/* When the configured cert or key file is missing, makes a new P-256 key
 * and a self-signed certificate for cfg->hostname (subjectAltName also
 * localhost, 127.0.0.1, ::1), valid ten years. As root the files are
 * handed to cfg->run_user. 0 or -1 with err. */
int tls_ensure_cert(const struct config *cfg, char *err, size_t errlen);
/* NULL with err on failure. */
struct ssl_ctx_st *tls_ctx_new(const char *cert_path, const char *key_path,
			       char *err, size_t errlen);
void tls_ctx_free(struct ssl_ctx_st *ctx);

#endif
