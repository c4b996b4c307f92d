/*
 * The HTTP-01 challenge answers the ACME client publishes (RFC 8555
 * §8.3): token -> key authorization, written by the ACME thread and read
 * by the HTTP endpoint on the loop, under one mutex. A few entries at most
 * (one per name being validated).
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
/* Whether s[0..len) is base64url (RFC 4648 §5) without padding. */
bool challenge_token_ok(const char *s, size_t len);

#endif
