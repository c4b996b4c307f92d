/*
 * ACME HTTP-01 answers shared between the ACME thread and the loop.
 */
#include "challenge.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>

#define CHALLENGE_NAME_MAX 253

struct challenge_slot {
	char token[CHALLENGE_TOKEN_MAX + 1];
	char keyauth[CHALLENGE_KEYAUTH_MAX + 1];
};

struct challenge_alpn {
	char name[CHALLENGE_NAME_MAX + 1];
	SSL_CTX *ctx;
};

struct challenges {
	pthread_mutex_t mu;
	struct challenge_slot slots[CHALLENGE_SLOTS];
	struct challenge_alpn alpn[CHALLENGE_SLOTS];
	atomic_int n_alpn; /* published: the ClientHello path skips the
			    * lock when none is */
};

struct challenges *
challenges_new(void)
{
	struct challenges *c = calloc(1, sizeof(*c));

	if (c != NULL && pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

void
challenges_free(struct challenges **cp)
{
	if (*cp == NULL)
		return;
	for (size_t i = 0; i < CHALLENGE_SLOTS; i++)
		SSL_CTX_free((*cp)->alpn[i].ctx);
	pthread_mutex_destroy(&(*cp)->mu);
	free(*cp);
	*cp = NULL;
}

bool
challenge_token_ok(const char *s, size_t len)
{
	if (len == 0 || len > CHALLENGE_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

int
challenges_set(struct challenges *c, const char *token, const char *keyauth)
{
	int rc = -1;

	if (!challenge_token_ok(token, strlen(token)) ||
	    strlen(keyauth) > CHALLENGE_KEYAUTH_MAX)
		return -1;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < CHALLENGE_SLOTS && rc < 0; i++)
		if (c->slots[i].token[0] == '\0' ||
		    strcmp(c->slots[i].token, token) == 0) {
			memcpy(c->slots[i].token, token, strlen(token) + 1);
			memcpy(c->slots[i].keyauth, keyauth,
			       strlen(keyauth) + 1);
			rc = 0;
		}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void
challenges_del(struct challenges *c, const char *token)
{
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < CHALLENGE_SLOTS; i++)
		if (strcmp(c->slots[i].token, token) == 0)
			memset(&c->slots[i], 0, sizeof(c->slots[i]));
	pthread_mutex_unlock(&c->mu);
}

bool
challenges_get(struct challenges *c, const char *token, size_t len,
	       char *out, size_t outcap)
{
	bool found = false;

	if (c == NULL || !challenge_token_ok(token, len))
		return false;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < CHALLENGE_SLOTS && !found; i++) {
		const struct challenge_slot *s = &c->slots[i];

		if (strlen(s->token) == len && memcmp(s->token, token, len) == 0 &&
		    strlen(s->keyauth) < outcap) {
			memcpy(out, s->keyauth, strlen(s->keyauth) + 1);
			found = true;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return found;
}

int
challenges_set_alpn(struct challenges *c, const char *name, SSL_CTX *ctx)
{
	size_t n = strlen(name);
	int rc = -1;

	if (n == 0 || n > CHALLENGE_NAME_MAX)
		return -1;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < CHALLENGE_SLOTS && rc < 0; i++) {
		struct challenge_alpn *a = &c->alpn[i];

		if (a->ctx != NULL && strcasecmp(a->name, name) != 0)
			continue;
		if (a->ctx == NULL)
			atomic_fetch_add(&c->n_alpn, 1);
		SSL_CTX_free(a->ctx);
		SSL_CTX_up_ref(ctx);
		a->ctx = ctx;
		memcpy(a->name, name, n + 1);
		rc = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void
challenges_del_alpn(struct challenges *c, const char *name)
{
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < CHALLENGE_SLOTS; i++) {
		struct challenge_alpn *a = &c->alpn[i];

		if (a->ctx != NULL && strcasecmp(a->name, name) == 0) {
			SSL_CTX_free(a->ctx);
			memset(a, 0, sizeof(*a));
			atomic_fetch_sub(&c->n_alpn, 1);
		}
	}
	pthread_mutex_unlock(&c->mu);
}

SSL_CTX *
challenges_get_alpn(struct challenges *c, const char *name, size_t len)
{
	SSL_CTX *ctx = NULL;

	if (c == NULL || atomic_load(&c->n_alpn) == 0 || len == 0 ||
	    len > CHALLENGE_NAME_MAX)
		return NULL;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < CHALLENGE_SLOTS && ctx == NULL; i++) {
		struct challenge_alpn *a = &c->alpn[i];

		if (a->ctx != NULL && strlen(a->name) == len &&
		    strncasecmp(a->name, name, len) == 0 &&
		    SSL_CTX_up_ref(a->ctx) == 1)
			ctx = a->ctx;
	}
	pthread_mutex_unlock(&c->mu);
	return ctx;
}

bool
challenge_alpn_acme(const unsigned char *p, size_t len)
{
	static const char proto[] = "acme-tls/1";
	size_t list, i = 2;

	if (len < 2)
		return false;
	list = (size_t)p[0] << 8 | p[1];
	if (list != len - 2)
		return false;
	while (i < len) {
		size_t n = p[i++];

		if (n == 0 || n > len - i)
			return false;
		if (n == sizeof(proto) - 1 && memcmp(p + i, proto, n) == 0)
			return true;
		i += n;
	}
	return false;
}

bool
challenge_sni_name(const unsigned char *p, size_t len, const char **name_r,
		   size_t *len_r)
{
	size_t list, i = 2;

	if (len < 2)
		return false;
	list = (size_t)p[0] << 8 | p[1];
	if (list != len - 2)
		return false;
	while (i + 3 <= len) {
		unsigned type = p[i];
		size_t n = (size_t)p[i + 1] << 8 | p[i + 2];

		i += 3;
		if (n > len - i)
			return false;
		if (type == 0 && n > 0) { /* host_name */
			*name_r = (const char *)p + i;
			*len_r = n;
			return true;
		}
		i += n;
	}
	return false;
}
