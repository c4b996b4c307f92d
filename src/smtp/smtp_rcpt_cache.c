/*
 * Recipient answers kept on the loop (smtp_int.h, smtp_rcpt_cache_*), so
 * the usual RCPT needs no worker round trip (two thread wake-ups).
 *
 * Only the plain success is kept: an address that delivers to at most
 * SMTP_RCPT_CACHE_ACCOUNTS local accounts, none of them with a quota (the
 * usage changes with every message; such accounts are looked up each
 * time), and reaches no address elsewhere. Refusals (unknown user, not
 * hosted, mailbox full) are never kept, so a user or alias just added is
 * found at once. An entry is dropped when the admin change counter
 * (store/changes.h, bumped by every CLI command that changes accounts,
 * aliases, domains or quotas) has moved since its lookup started, and in
 * any case after SMTP_RCPT_CACHE_TTL seconds, so a change made any other
 * way (another tool writing the database) applies within that time.
 *
 * A fixed table of SMTP_RCPT_CACHE_SIZE slots, indexed by a hash of the
 * address as the client wrote it; a colliding address replaces the slot.
 * Allocated on first use, loop thread only, no locking.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/limits.h"
#include "../store/changes.h"
#include "smtp_int.h"

#define SMTP_RCPT_CACHE_SIZE 256
#define SMTP_RCPT_CACHE_TTL 1 /* seconds */

struct rcpt_slot {
	char addr[LIMIT_ADDRESS + 1]; /* "" when empty */
	int64_t accounts[SMTP_RCPT_CACHE_ACCOUNTS];
	size_t n;
	uint64_t serial;
	time_t born; /* CLOCK_MONOTONIC_COARSE seconds */
};

static struct rcpt_slot *rcpt_slots;
static const volatile uint64_t *rcpt_serial;
static bool rcpt_tried; /* the counter was mapped, or could not be */

static time_t
rcpt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static struct rcpt_slot *
rcpt_slot(const char *addr)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &rcpt_slots[h % SMTP_RCPT_CACHE_SIZE];
}

bool
smtp_rcpt_cache_serial(const char *data_dir, uint64_t *serial_r)
{
	if (!rcpt_tried) {
		rcpt_tried = true;
		rcpt_serial = store_changes_map(data_dir);
		if (rcpt_serial != NULL)
			rcpt_slots = calloc(SMTP_RCPT_CACHE_SIZE,
					    sizeof(*rcpt_slots));
	}
	if (rcpt_serial == NULL || rcpt_slots == NULL)
		return false;
	*serial_r = __atomic_load_n(rcpt_serial, __ATOMIC_ACQUIRE);
	return true;
}

int
smtp_rcpt_cache_get(const char *data_dir, const char *addr,
		    int64_t **accounts_r, size_t *n_r)
{
	struct rcpt_slot *e;
	uint64_t serial;

	if (!smtp_rcpt_cache_serial(data_dir, &serial))
		return 0;
	e = rcpt_slot(addr);
	if (e->addr[0] == '\0' || strcmp(e->addr, addr) != 0)
		return 0;
	if (e->serial != serial || rcpt_now() - e->born >= SMTP_RCPT_CACHE_TTL) {
		e->addr[0] = '\0';
		return 0;
	}
	*accounts_r = malloc(e->n * sizeof(int64_t));
	if (*accounts_r == NULL)
		return 0;
	memcpy(*accounts_r, e->accounts, e->n * sizeof(int64_t));
	*n_r = e->n;
	return 1;
}

void
smtp_rcpt_cache_put(const char *addr, const int64_t *accounts, size_t n,
		    uint64_t serial)
{
	struct rcpt_slot *e;

	if (rcpt_slots == NULL || n == 0 || n > SMTP_RCPT_CACHE_ACCOUNTS
	    || strlen(addr) > LIMIT_ADDRESS)
		return;
	/* A change since the lookup began: what it found may be stale. */
	if (__atomic_load_n(rcpt_serial, __ATOMIC_ACQUIRE) != serial)
		return;
	e = rcpt_slot(addr);
	strcpy(e->addr, addr);
	memcpy(e->accounts, accounts, n * sizeof(int64_t));
	e->n = n;
	e->serial = serial;
	e->born = rcpt_now();
}
