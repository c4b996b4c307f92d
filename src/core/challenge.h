/*
 * The challenge answers the ACME client publishes, written by the ACME
 * thread and read on the loop, under one mutex; a few entries at most
 * (one per name being validated). HTTP-01 (RFC 8555 §8.3): token -> key
 * authorization, for the HTTP endpoint. TLS-ALPN-01 (RFC 8737): name ->
 * a TLS context holding the challenge certificate, for the ClientHello
 * callback of the TLS ports.
 */
#ifndef POSTEL_CHALLENGE_H
#define POSTEL_CHALLENGE_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 8555 §8.3: the token is base64url, at least 128 bits; the key
 * authorization is token "." thumbprint (43 characters for SHA-256). */
#define CHALLENGE_TOKEN_MAX 128
#define CHALLENGE_KEYAUTH_MAX (CHALLENGE_TOKEN_MAX + 1 + 64)
#define CHALLENGE_SLOTS 64

struct challenges;

struct challenges *challenges_new(void);
void challenges_free(struct challenges **cp);
/* Publishes token's answer; -1 when the token is not base64url, too long
 * or every slot is taken. */
int challenges_set(struct challenges *c, const char *token,
		   const char *keyauth);
void challenges_del(struct challenges *c, const char *token);
/* The answer of token (len bytes, from the request path) into out; false
 * when none is published. */
bool challenges_get(struct challenges *c, const char *token, size_t len,
		    char *out, size_t outcap);
/* TLS-ALPN-01: publishes ctx (a reference is taken) for name; -1 when
 * every slot is taken or the name is too long. */
struct ssl_ctx_st;
int challenges_set_alpn(struct challenges *c, const char *name,
			struct ssl_ctx_st *ctx);
void challenges_del_alpn(struct challenges *c, const char *name);
/* The context published for name (len bytes, from the ClientHello) with a
 * reference the caller drops (SSL_CTX_free), or NULL. */
struct ssl_ctx_st *challenges_get_alpn(struct challenges *c,
				       const char *name, size_t len);

/* Pure readers of raw ClientHello extensions (the ClientHello callback
 * sees them before OpenSSL has parsed them). RFC 7301 §3.1: whether the
 * ALPN extension body p[0..len) offers "acme-tls/1". */
bool challenge_alpn_acme(const unsigned char *p, size_t len);
/* RFC 6066 §3: the host_name of the server_name extension body into
 * *name_r / *len_r (pointing into p); false when malformed or absent. */
bool challenge_sni_name(const unsigned char *p, size_t len,
			const char **name_r, size_t *len_r);

/* Whether s[0..len) is base64url (RFC 4648 §5) without padding. */
bool challenge_token_ok(const char *s, size_t len);

#endif
