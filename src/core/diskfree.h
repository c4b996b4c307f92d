/*
 * Free space of the data directory's filesystem (a full disk
 * never loses or corrupts mail). Callers refuse new mail below the
 * configured minimum; reads and deletions never ask.
 */
#ifndef POSTEL_DISKFREE_H
#define POSTEL_DISKFREE_H

#include <stdbool.h>
#include <stdint.h>

/* true when the filesystem holding dir has fewer than min_free octets
 * available to unprivileged users (statvfs f_bavail; root's reserve does
 * not count: the server runs as the service user). min_free 0: never.
 * The reading is reused for LIMIT_DISKFREE_CACHE_MS; safe from any thread.
 * statvfs only reads the filesystem's in-memory counters (no disk I/O;
 * about a microsecond), so calling it on the loop once a second costs
 * nothing. A failing statvfs counts as enough space: the writes then
 * report their own errors. */
bool diskfree_low(const char *dir, uint64_t min_free);

#endif
