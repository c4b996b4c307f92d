/* Free space of the data directory, cached (see diskfree.h). */
#include "diskfree.h"

#include <stdatomic.h>
#include <sys/statvfs.h>
#include <time.h>

#include "limits.h"

/* One data directory per process: one cached reading. */
static _Atomic int64_t diskfree_at_ms = -1;
static _Atomic uint64_t diskfree_avail = UINT64_MAX;

static int64_t
diskfree_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
diskfree_low(const char *dir, uint64_t min_free)
{
	int64_t now, at;

	if (min_free == 0)
		return false;
	now = diskfree_now_ms();
	at = atomic_load(&diskfree_at_ms);
	if (at < 0 || now - at >= LIMIT_DISKFREE_CACHE_MS) {
		struct statvfs sv;
		uint64_t avail = UINT64_MAX;

		if (statvfs(dir, &sv) == 0)
			avail = (uint64_t)sv.f_bavail * sv.f_frsize;
		/* Two threads may both refresh: same answer, no harm. */
		atomic_store(&diskfree_avail, avail);
		atomic_store(&diskfree_at_ms, now);
	}
	return atomic_load(&diskfree_avail) < min_free;
}
