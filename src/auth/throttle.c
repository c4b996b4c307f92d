/*
 * Failed-login throttle (see throttle.h). Both tables are set-associative
 * like the verified-login cache: a keyed hash (HMAC-SHA256 under a random
 * per-process key) of the address group or the account name is the entry's
 * key and picks its bucket, so nobody outside can aim many entries at one
 * bucket to evict a blocked address.
 */
#include "throttle.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "../core/limits.h"

#define THROTTLE_KEY_LEN 16      /* truncated HMAC: collisions 2^-128 */
#define THROTTLE_SECRET_LEN 32
/* A tag byte, then an IPv6 /64, an IPv4 address or an account name. */
#define THROTTLE_INPUT_MAX (1 + LIMIT_ADDRESS)

struct throttle_entry {
	unsigned char key[THROTTLE_KEY_LEN];
	uint64_t window_end_ms;    /* 0: slot empty */
	uint64_t blocked_until_ms; /* 0: not blocked */
	uint32_t failures;         /* in the window ending window_end_ms */
};

struct throttle {
	struct throttle_params p;
	throttle_clock_cb clock_cb;
	void *clock_arg;
	unsigned char secret[THROTTLE_SECRET_LEN];
	struct throttle_entry *addrs;    /* THROTTLE_CAPACITY entries */
	struct throttle_entry *accounts; /* THROTTLE_CAPACITY entries */
};

static uint64_t
throttle_monotonic_ms(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct throttle *
throttle_new(const struct throttle_params *p)
{
	struct throttle *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->p = *p;
	t->clock_cb = throttle_monotonic_ms;
	t->addrs = calloc(THROTTLE_CAPACITY, sizeof(*t->addrs));
	t->accounts = calloc(THROTTLE_CAPACITY, sizeof(*t->accounts));
	if (t->addrs == NULL || t->accounts == NULL ||
	    RAND_bytes(t->secret, sizeof(t->secret)) != 1) {
		throttle_free(&t);
		return NULL;
	}
	return t;
}

void
throttle_free(struct throttle **tp)
{
	struct throttle *t;

	if (tp == NULL || *tp == NULL)
		return;
	t = *tp;
	*tp = NULL;
	free(t->addrs);
	free(t->accounts);
	OPENSSL_cleanse(t->secret, sizeof(t->secret));
	free(t);
}

void
throttle_set_clock(struct throttle *t, throttle_clock_cb cb, void *arg)
{
	t->clock_cb = cb != NULL ? cb : throttle_monotonic_ms;
	t->clock_arg = arg;
}

static void
throttle_hash(const struct throttle *t, const unsigned char *in, size_t len,
	      unsigned char key_r[THROTTLE_KEY_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (HMAC(EVP_sha256(), t->secret, (int)sizeof(t->secret), in, len, md,
		 &mdlen) == NULL || mdlen < THROTTLE_KEY_LEN)
		memset(md, 0, THROTTLE_KEY_LEN); /* all in one slot: safe */
	memcpy(key_r, md, THROTTLE_KEY_LEN);
}

/* The address group: an IPv4 address (also IPv4-mapped IPv6) or the /64
 * of an IPv6 address, since one IPv6 host usually owns a whole /64
 * (RFC 4291 §2.5.1 interface identifiers). Anything else: the text. */
static void
throttle_addr_key(const struct throttle *t, const char *ip,
		  unsigned char key_r[THROTTLE_KEY_LEN])
{
	unsigned char in[THROTTLE_INPUT_MAX], a6[16];
	size_t len;

	if (inet_pton(AF_INET6, ip, a6) == 1) {
		static const unsigned char mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			in[0] = '4';
			memcpy(in + 1, a6 + 12, 4);
			len = 5;
		} else {
			in[0] = '6';
			memcpy(in + 1, a6, 8);
			len = 9;
		}
	} else if (inet_pton(AF_INET, ip, in + 1) == 1) {
		in[0] = '4';
		len = 5;
	} else {
		len = strnlen(ip, sizeof(in) - 1);
		in[0] = 't';
		memcpy(in + 1, ip, len);
		len++;
	}
	throttle_hash(t, in, len, key_r);
}

/* Account names compare without ASCII case, as the account lookup does. */
static void
throttle_account_key(const struct throttle *t, const char *user,
		     unsigned char key_r[THROTTLE_KEY_LEN])
{
	unsigned char in[THROTTLE_INPUT_MAX];
	size_t len = strnlen(user, LIMIT_ADDRESS);

	in[0] = 'u';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];
		in[1 + i] = (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
	}
	throttle_hash(t, in, len + 1, key_r);
}

static bool
throttle_live(const struct throttle_entry *e, uint64_t now)
{
	return e->window_end_ms > now || e->blocked_until_ms > now;
}

/* How much an entry is worth keeping: blocks most, then failures. */
static uint64_t
throttle_worth(const struct throttle_entry *e, uint64_t now)
{
	if (!throttle_live(e, now))
		return 0;
	if (e->blocked_until_ms > now)
		return (1ull << 40) + (e->blocked_until_ms - now);
	return (uint64_t)e->failures + 1;
}

/* The entry for key: its own, else the least worth keeping (reset). With
 * create false, NULL when there is none. */
static struct throttle_entry *
throttle_find(struct throttle_entry *table,
	      const unsigned char key[THROTTLE_KEY_LEN], uint64_t now,
	      bool create)
{
	uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8 |
		     (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24;
	struct throttle_entry *set = &table[(h % THROTTLE_SETS) * THROTTLE_WAYS];
	struct throttle_entry *victim = NULL;

	for (size_t i = 0; i < THROTTLE_WAYS; i++) {
		struct throttle_entry *e = &set[i];

		if (e->window_end_ms != 0 &&
		    memcmp(e->key, key, THROTTLE_KEY_LEN) == 0)
			return e;
		if (victim == NULL ||
		    throttle_worth(e, now) < throttle_worth(victim, now))
			victim = e;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, THROTTLE_KEY_LEN);
	return victim;
}

/* Counts one failure in e's window (a fixed window that starts with the
 * first failure after the previous one ended); the new count. */
static unsigned
throttle_count(struct throttle *t, struct throttle_entry *e, uint64_t now)
{
	if (e->window_end_ms <= now) {
		e->failures = 0;
		e->window_end_ms = now + (uint64_t)t->p.window_s * 1000u;
		if (e->window_end_ms == now)
			e->window_end_ms = now + 1;
	}
	if (e->failures < UINT32_MAX)
		e->failures++;
	return e->failures;
}

bool
throttle_blocked(struct throttle *t, const char *peer_ip)
{
	unsigned char key[THROTTLE_KEY_LEN];
	uint64_t now;
	struct throttle_entry *e;

	if (t == NULL || peer_ip == NULL)
		return false;
	now = t->clock_cb(t->clock_arg);
	throttle_addr_key(t, peer_ip, key);
	e = throttle_find(t->addrs, key, now, false);
	return e != NULL && e->blocked_until_ms > now;
}

void
throttle_fail(struct throttle *t, const char *peer_ip, const char *user,
	      struct throttle_fail *r)
{
	unsigned char key[THROTTLE_KEY_LEN];
	struct throttle_entry *e;
	uint64_t now;

	memset(r, 0, sizeof(*r));
	if (t == NULL)
		return;
	now = t->clock_cb(t->clock_arg);
	if (peer_ip != NULL) {
		throttle_addr_key(t, peer_ip, key);
		e = throttle_find(t->addrs, key, now, true);
		r->addr_failures = throttle_count(t, e, now);
		if (t->p.block_failures > 0 && e->blocked_until_ms <= now &&
		    r->addr_failures >= t->p.block_failures) {
			/* A fresh count after the block: a client that goes
			 * on guessing is blocked again just as soon. */
			e->blocked_until_ms = now +
				(uint64_t)t->p.block_s * 1000u;
			e->failures = 0;
			e->window_end_ms = e->blocked_until_ms +
				(uint64_t)t->p.window_s * 1000u;
			r->blocked = t->p.block_s > 0;
		}
	}
	if (user != NULL && user[0] != '\0') {
		throttle_account_key(t, user, key);
		e = throttle_find(t->accounts, key, now, true);
		r->account_failures = throttle_count(t, e, now);
	}
}
