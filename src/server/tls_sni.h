/*
 * Per-name certificates chosen by the client's SNI (RFC 6066 §3) on every
 * TLS port: the certificates of tls_sni_dir, each used for the names it
 * holds (wildcards included); any other name, or none, gets the default
 * certificate (cert/key, ACME's, or the self-signed one).
 */
#ifndef POSTEL_TLS_SNI_H
#define POSTEL_TLS_SNI_H

#include <stddef.h>

struct server;
struct ssl_ctx_st;

/* Most certificates tls_sni_dir may hold. */
#define TLS_SNI_MAX 256

/* Loads tls_sni_dir (nothing when unset): NAME.crt with NAME.key, or a
 * directory NAME with fullchain.pem and privkey.pem (certbot's live/
 * layout); hangs them on ctx with the servername callback. A pair that
 * does not load fails the whole call (err names it): a SIGHUP then keeps
 * the old context. 0 or -1. */
int tls_sni_attach(struct ssl_ctx_st *ctx, struct server *srv, char *err,
		   size_t errlen);
/* tls_ctx_new_pem with srv's profile and tickets, then tls_sni_attach;
 * NULL with err. */
struct ssl_ctx_st *tls_sni_ctx_new(struct server *srv, const char *cert,
				   size_t cert_len, const char *key,
				   size_t key_len, char *err, size_t errlen);

#endif
