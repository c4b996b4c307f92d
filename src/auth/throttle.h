/*
 * Failed-login throttle shared by SMTP AUTH, IMAP and POP3: counts failures
 * per client address (IPv6 grouped by /64) and per account name over a
 * window, and blocks an address for a while after too many. Fixed-size
 * tables, loop thread only (no lock).
 */
#ifndef POSTEL_THROTTLE_H
#define POSTEL_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

/* Each table: THROTTLE_SETS buckets of THROTTLE_WAYS entries (40 bytes),
 * about 160 KB, allocated once. A full bucket evicts its least useful
 * entry (expired, else fewest failures, blocks kept longest). */
#define THROTTLE_WAYS 8
#define THROTTLE_SETS 512
#define THROTTLE_CAPACITY (THROTTLE_WAYS * THROTTLE_SETS)

struct throttle;

/* Monotonic milliseconds; replaceable in unit tests. */
typedef uint64_t (*throttle_clock_cb)(void *arg);

struct throttle_params {
	unsigned block_failures; /* per address and window; 0: never block */
	unsigned window_s;       /* failures older than this are forgotten */
	unsigned block_s;        /* how long a blocked address stays so */
};

/* What one failure did (throttle_fail). */
struct throttle_fail {
	unsigned addr_failures;    /* in the address's window, this included */
	unsigned account_failures; /* the same for the account name */
	bool blocked;              /* this failure started a block */
};

/* NULL when memory or randomness is not available. */
struct throttle *throttle_new(const struct throttle_params *p);
/* Frees, sets *tp to NULL. Accepts NULL / *tp NULL. */
void throttle_free(struct throttle **tp);
/* For tests: the clock (default CLOCK_MONOTONIC). */
void throttle_set_clock(struct throttle *t, throttle_clock_cb cb, void *arg);

/* true while peer_ip (numeric, as conn_peer() gives it) is blocked. */
bool throttle_blocked(struct throttle *t, const char *peer_ip);
/* Records one failed login from peer_ip for the account name user (any
 * case; need not exist). Fills *r. */
void throttle_fail(struct throttle *t, const char *peer_ip, const char *user,
		   struct throttle_fail *r);

#endif
