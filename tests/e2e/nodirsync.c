/*
 * An LD_PRELOAD library for test_powercut.py: fsync/fdatasync of a
 * directory called from libsqlite3 does nothing, as in an SQLite built
 * with SQLITE_DISABLE_DIRSYNC (as several distributions build it), so the
 * tests can show the server does not rely on SQLite to make the names in
 * its data directory durable. Everything else is passed on.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
from_sqlite(const void *caller)
{
	Dl_info info;

	return dladdr(caller, &info) != 0 && info.dli_fname != NULL &&
	       strstr(info.dli_fname, "libsqlite3") != NULL;
}

static int
is_dir(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

int
fsync(int fd)
{
	static int (*real)(int);

	if (is_dir(fd) && from_sqlite(__builtin_return_address(0)))
		return 0;
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}

int
fdatasync(int fd)
{
	static int (*real)(int);

	if (is_dir(fd) && from_sqlite(__builtin_return_address(0)))
		return 0;
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return real(fd);
}
