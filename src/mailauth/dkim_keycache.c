/*
 * Decoded DKIM public keys kept across messages. Decoding a key record's
 * p= with OpenSSL 3 (d2i_PUBKEY through the provider decoders) costs
 * about 100 microseconds, several times the RSA verification itself, and
 * the same few keys sign most of the mail a server receives. The cache is
 * keyed by the key's octets (not its DNS name), so a rotated or revoked
 * record is never answered from it; EVP_PKEY references are thread-safe,
 * so the loop and the workers may share it (one mutex around the slots).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "dkim_int.h"

#define DKIM_KEYCACHE_SLOTS 64  /* direct-mapped */

struct dkim_keycache_slot {
	enum dkim_key_type type;
	size_t len;
	uint8_t p[sizeof(((struct dkim_keyrec *)0)->p)];
	EVP_PKEY *key;
};

static struct dkim_keycache_slot dkim_keycache[DKIM_KEYCACHE_SLOTS];
static pthread_mutex_t dkim_keycache_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t
dkim_keycache_slot(enum dkim_key_type type, const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u ^ (uint32_t)type; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % DKIM_KEYCACHE_SLOTS;
}

EVP_PKEY *
dkim_keycache_get(enum dkim_key_type type, const uint8_t *p, size_t len)
{
	struct dkim_keycache_slot *s;
	EVP_PKEY *key = NULL;

	if (len > sizeof(s->p))
		return NULL;
	s = &dkim_keycache[dkim_keycache_slot(type, p, len)];
	pthread_mutex_lock(&dkim_keycache_lock);
	if (s->key != NULL && s->type == type && s->len == len &&
	    memcmp(s->p, p, len) == 0 && EVP_PKEY_up_ref(s->key) == 1)
		key = s->key;
	pthread_mutex_unlock(&dkim_keycache_lock);
	return key;
}

void
dkim_keycache_put(enum dkim_key_type type, const uint8_t *p, size_t len,
		  EVP_PKEY *key)
{
	struct dkim_keycache_slot *s;
	EVP_PKEY *old;

	if (len > sizeof(s->p) || EVP_PKEY_up_ref(key) != 1)
		return;
	s = &dkim_keycache[dkim_keycache_slot(type, p, len)];
	pthread_mutex_lock(&dkim_keycache_lock);
	old = s->key;
	s->key = key;
	s->type = type;
	s->len = len;
	memcpy(s->p, p, len);
	pthread_mutex_unlock(&dkim_keycache_lock);
	EVP_PKEY_free(old);
}
