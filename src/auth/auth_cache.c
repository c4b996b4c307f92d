/*
 * Verified-login cache (see auth_cache.h). A set-associative table: the
 * HMAC of (address, password) picks a bucket of AUTH_CACHE_WAYS entries;
 * since the HMAC key is secret and random per process, nobody outside can
 * aim many entries at one bucket to push a victim out.
 */
#include "auth_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "../core/limits.h"
#include "sasl.h"

#define AUTH_CACHE_KEY_LEN 32    /* HMAC-SHA256 key, and its output */
#define AUTH_CACHE_DIGEST_LEN 32 /* SHA-256 of the stored hash string */
/* The HMAC input: address, one 0 byte, password. */
#define AUTH_CACHE_INPUT_MAX (LIMIT_ADDRESS + 1 + SASL_PASS_MAX)

struct auth_cache_entry {
	unsigned char key[AUTH_CACHE_KEY_LEN];
	unsigned char digest[AUTH_CACHE_DIGEST_LEN];
	uint64_t expires_ms; /* 0: slot empty */
};

struct auth_cache {
	pthread_mutex_t mu;
	uint64_t ttl_ms;
	auth_cache_clock_cb clock_cb;
	void *clock_arg;
	unsigned char hmac_key[AUTH_CACHE_KEY_LEN];
	struct auth_cache_entry *table; /* NULL when disabled (ttl 0) */
};

static uint64_t
auth_cache_monotonic_ms(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct auth_cache *
auth_cache_new(unsigned ttl_seconds)
{
	struct auth_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ttl_ms = (uint64_t)ttl_seconds * 1000u;
	c->clock_cb = auth_cache_monotonic_ms;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return NULL;
	}
	if (ttl_seconds == 0)
		return c;
	c->table = calloc(AUTH_CACHE_CAPACITY, sizeof(*c->table));
	if (c->table == NULL ||
	    RAND_bytes(c->hmac_key, sizeof(c->hmac_key)) != 1) {
		auth_cache_free(&c);
		return NULL;
	}
	return c;
}

void
auth_cache_free(struct auth_cache **cp)
{
	struct auth_cache *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	*cp = NULL;
	if (c->table != NULL) {
		OPENSSL_cleanse(c->table,
		                AUTH_CACHE_CAPACITY * sizeof(*c->table));
		free(c->table);
	}
	OPENSSL_cleanse(c->hmac_key, sizeof(c->hmac_key));
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
auth_cache_set_clock(struct auth_cache *c, auth_cache_clock_cb cb, void *arg)
{
	pthread_mutex_lock(&c->mu);
	c->clock_cb = cb != NULL ? cb : auth_cache_monotonic_ms;
	c->clock_arg = arg;
	pthread_mutex_unlock(&c->mu);
}

/* Computes the entry key HMAC(k, address || 0 || password) and the digest
 * of the stored hash. 0, or -1 when the input cannot be cached (empty
 * address or hash, over-long input, OpenSSL failure). Runs outside the
 * lock: two workers hash in parallel. */
static int
auth_cache_derive(const struct auth_cache *c, const char *address,
	          const char *password, const char *pwhash,
	          unsigned char key_r[AUTH_CACHE_KEY_LEN],
	          unsigned char digest_r[AUTH_CACHE_DIGEST_LEN])
{
	unsigned char in[AUTH_CACHE_INPUT_MAX];
	size_t alen, plen;
	unsigned int klen = 0, dlen = 0;
	int rc = -1;

	if (address == NULL || password == NULL || pwhash == NULL ||
	    address[0] == '\0' || pwhash[0] == '\0')
		return -1;
	alen = strnlen(address, LIMIT_ADDRESS + 1);
	plen = strnlen(password, SASL_PASS_MAX + 1);
	if (alen > LIMIT_ADDRESS || plen > SASL_PASS_MAX)
		return -1;
	/* The 0 byte keeps ("a", "bc") and ("ab", "c") apart: an address
	 * never contains one. */
	memcpy(in, address, alen);
	in[alen] = 0;
	memcpy(in + alen + 1, password, plen);
	if (HMAC(EVP_sha256(), c->hmac_key, (int)sizeof(c->hmac_key), in,
	         alen + 1 + plen, key_r, &klen) != NULL &&
	    klen == AUTH_CACHE_KEY_LEN &&
	    EVP_Digest(pwhash, strlen(pwhash), digest_r, &dlen, EVP_sha256(),
	               NULL) == 1 &&
	    dlen == AUTH_CACHE_DIGEST_LEN)
		rc = 0;
	OPENSSL_cleanse(in, alen + 1 + plen);
	return rc;
}

static struct auth_cache_entry *
auth_cache_bucket(const struct auth_cache *c,
	          const unsigned char key[AUTH_CACHE_KEY_LEN])
{
	uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8 |
	             (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24;

	return &c->table[(h % AUTH_CACHE_SETS) * AUTH_CACHE_WAYS];
}

static void
auth_cache_entry_clear(struct auth_cache_entry *e)
{
	OPENSSL_cleanse(e, sizeof(*e));
}

static void
auth_cache_wipe(unsigned char *key, unsigned char *digest)
{
	OPENSSL_cleanse(key, AUTH_CACHE_KEY_LEN);
	OPENSSL_cleanse(digest, AUTH_CACHE_DIGEST_LEN);
}

bool
auth_cache_lookup(struct auth_cache *c, const char *address,
	          const char *password, const char *pwhash)
{
	unsigned char key[AUTH_CACHE_KEY_LEN], digest[AUTH_CACHE_DIGEST_LEN];
	struct auth_cache_entry *set;
	bool hit = false;

	if (c == NULL || c->table == NULL ||
	    auth_cache_derive(c, address, password, pwhash, key, digest) < 0)
		return false;
	pthread_mutex_lock(&c->mu);
	uint64_t now = c->clock_cb(c->clock_arg);
	set = auth_cache_bucket(c, key);
	for (size_t i = 0; i < AUTH_CACHE_WAYS; i++) {
		struct auth_cache_entry *e = &set[i];

		if (e->expires_ms == 0 ||
		    CRYPTO_memcmp(e->key, key, sizeof(key)) != 0)
			continue;
		/* The stored hash must be the one we verified against:
		 * `postel user passwd` or a locked account changes it, and
		 * the entry is then worthless, so drop it at once. */
		if (now < e->expires_ms &&
		    CRYPTO_memcmp(e->digest, digest, sizeof(digest)) == 0)
			hit = true;
		else
			auth_cache_entry_clear(e);
		break;
	}
	pthread_mutex_unlock(&c->mu);
	auth_cache_wipe(key, digest);
	return hit;
}

/* The slot for key in set: its own entry, else an empty or expired one,
 * else the oldest (all entries share one TTL, so earliest expiry is the
 * oldest insertion). */
static struct auth_cache_entry *
auth_cache_victim(struct auth_cache_entry *set,
	          const unsigned char key[AUTH_CACHE_KEY_LEN], uint64_t now)
{
	struct auth_cache_entry *victim = NULL;

	for (size_t i = 0; i < AUTH_CACHE_WAYS; i++) {
		struct auth_cache_entry *e = &set[i];

		if (e->expires_ms != 0 &&
		    CRYPTO_memcmp(e->key, key, AUTH_CACHE_KEY_LEN) == 0)
			return e;
		if (e->expires_ms <= now) {
			if (victim == NULL || victim->expires_ms > now)
				victim = e;
		} else if (victim == NULL ||
		           (victim->expires_ms > now &&
		            e->expires_ms < victim->expires_ms)) {
			victim = e;
		}
	}
	return victim;
}

void
auth_cache_insert(struct auth_cache *c, const char *address,
	          const char *password, const char *pwhash)
{
	unsigned char key[AUTH_CACHE_KEY_LEN], digest[AUTH_CACHE_DIGEST_LEN];
	struct auth_cache_entry *e;

	if (c == NULL || c->table == NULL ||
	    auth_cache_derive(c, address, password, pwhash, key, digest) < 0)
		return;
	pthread_mutex_lock(&c->mu);
	uint64_t now = c->clock_cb(c->clock_arg);
	e = auth_cache_victim(auth_cache_bucket(c, key), key, now);
	memcpy(e->key, key, sizeof(key));
	memcpy(e->digest, digest, sizeof(digest));
	e->expires_ms = now + c->ttl_ms;
	pthread_mutex_unlock(&c->mu);
	auth_cache_wipe(key, digest);
}

size_t
auth_cache_count(struct auth_cache *c)
{
	size_t n = 0;

	if (c == NULL || c->table == NULL)
		return 0;
	pthread_mutex_lock(&c->mu);
	uint64_t now = c->clock_cb(c->clock_arg);
	for (size_t i = 0; i < AUTH_CACHE_CAPACITY; i++)
		if (c->table[i].expires_ms > now)
			n++;
	pthread_mutex_unlock(&c->mu);
	return n;
}
