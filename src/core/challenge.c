/*
 * ACME HTTP-01 answers shared between the ACME thread and the loop.
 */
#include "challenge.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct challenge_slot {
	char token[CHALLENGE_TOKEN_MAX + 1];
	char keyauth[CHALLENGE_KEYAUTH_MAX + 1];
};

struct challenges {
	pthread_mutex_t mu;
	struct challenge_slot slots[CHALLENGE_SLOTS];
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
