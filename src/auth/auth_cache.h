/*
 * Verified-login cache: remembers, for auth_cache_ttl seconds, that a
 * password was verified against an account's stored hash, so clients that
 * reconnect all the time do not pay a full yescrypt hash per login.
 * Entries are keyed by HMAC-SHA256 under a per-process random key; no
 * password or unkeyed hash of one is kept. Thread-safe (one mutex).
 */
#ifndef POSTEL_AUTH_CACHE_H
#define POSTEL_AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fixed capacity: AUTH_CACHE_SETS buckets of AUTH_CACHE_WAYS entries each
 * (about 300 KB), allocated once; the oldest entry of a full bucket is
 * replaced, so memory never grows with the number of users. */
#define AUTH_CACHE_WAYS 8
#define AUTH_CACHE_SETS 512
#define AUTH_CACHE_CAPACITY (AUTH_CACHE_WAYS * AUTH_CACHE_SETS)

struct auth_cache;

/* Monotonic milliseconds; replaceable in unit tests. */
typedef uint64_t (*auth_cache_clock_cb)(void *arg);

/* A new cache whose entries live ttl_seconds. ttl_seconds 0 makes a
 * disabled cache (nothing stored, every lookup misses). NULL when memory
 * or randomness for the key is not available. Free with auth_cache_free. */
struct auth_cache *auth_cache_new(unsigned ttl_seconds);
/* Wipes key and entries, frees, sets *cp to NULL. Accepts NULL / *cp NULL. */
void auth_cache_free(struct auth_cache **cp);
/* For tests: the clock used for expiry (default CLOCK_MONOTONIC). */
void auth_cache_set_clock(struct auth_cache *c, auth_cache_clock_cb cb,
	                  void *arg);

/* true when password was verified for address (the store's canonical
 * address) while its stored hash was exactly pwhash, and that entry has not
 * expired. A NULL cache, an empty pwhash or over-long input miss. A stale
 * entry (stored hash changed, or expired) found on the way is dropped. */
bool auth_cache_lookup(struct auth_cache *c, const char *address,
	               const char *password, const char *pwhash);
/* Records a successful verification (call only after passwd_verify said
 * true for exactly these values). No-op on a NULL or disabled cache. */
void auth_cache_insert(struct auth_cache *c, const char *address,
	               const char *password, const char *pwhash);
/* Live (unexpired) entries; for tests and diagnostics. */
size_t auth_cache_count(struct auth_cache *c);

#endif
