/* The admin change counter (changes.h). */
#include "changes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"

#define CHANGES_FILE_MODE 0640

static volatile uint64_t *
changes_open_map(const char *data_dir)
{
	char path[4096];
	struct stat sb;
	void *map = MAP_FAILED;
	int fd;

	if (snprintf(path, sizeof(path), "%s/changes", data_dir)
	    >= (int)sizeof(path))
		return NULL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  CHANGES_FILE_MODE);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)
	    && (sb.st_size >= (off_t)sizeof(uint64_t)
		|| ftruncate(fd, sizeof(uint64_t)) == 0))
		map = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE,
			   MAP_SHARED, fd, 0);
	close(fd);
	return map == MAP_FAILED ? NULL : map;
}

const volatile uint64_t *
store_changes_map(const char *data_dir)
{
	const volatile uint64_t *m = changes_open_map(data_dir);

	if (m == NULL)
		log_warn(NULL, "changes_map", " errno=%d", errno);
	return m;
}

void
store_changes_bump(const char *data_dir)
{
	volatile uint64_t *m = changes_open_map(data_dir);

	if (m == NULL) {
		log_warn(NULL, "changes_bump", " errno=%d", errno);
		return;
	}
	/* Atomic across processes: the page is shared. */
	__atomic_fetch_add(m, 1, __ATOMIC_SEQ_CST);
	munmap((void *)m, sizeof(uint64_t));
}
