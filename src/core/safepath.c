/* Link-safe directory walking and file reading for root. See safepath.h. */
#include "safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
safepath_open_at(int dirfd, const char *comp, const char *path, char *err,
		 size_t errlen)
{
	struct stat st;
	int fd;

	fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				 O_CLOEXEC);
	if (fd >= 0 || (errno != ELOOP && errno != ENOTDIR))
		goto out;
	if (fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
		goto out;
	if (!S_ISLNK(st.st_mode)) {
		errno = ENOTDIR;
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: '%s' is a symbolic link owned by "
			 "uid %u; refusing to follow it as root", path, comp,
			 (unsigned)st.st_uid);
		errno = EPERM;
		return -1;
	}
	fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
out:
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
	}
	return fd;
}

/* Makes the missing component `comp` below dirfd and opens it. */
static int
safepath_make(int dirfd, const char *comp, mode_t mode, bool *made_r,
	      const char *path, char *err, size_t errlen)
{
	int fd;

	*made_r = false;
	if (mkdirat(dirfd, comp, mode) == 0)
		*made_r = true;
	else if (errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path,
			 strerror(errno));
		return -1;
	}
	fd = safepath_open_at(dirfd, comp, path, err, errlen);
	/* The umask may have narrowed the mode. */
	if (fd >= 0 && *made_r && fchmod(fd, mode) < 0) {
		snprintf(err, errlen, "cannot chmod %s: %s", path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
safepath_open_dir(const char *path, bool create, mode_t mode,
		  bool *created_r, char *err, size_t errlen)
{
	char buf[4096], *save = NULL, *comp, *next;
	int fd;
	bool made = false;

	err[0] = '\0';
	if (created_r != NULL)
		*created_r = false;
	if (strlen(path) >= sizeof(buf) || path[0] == '\0') {
		snprintf(err, errlen, "bad directory name '%s'", path);
		return -1;
	}
	memcpy(buf, path, strlen(path) + 1);
	fd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY |
		  O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	comp = strtok_r(buf, "/", &save);
	while (comp != NULL) {
		int nfd;

		next = strtok_r(NULL, "/", &save);
		if (strcmp(comp, ".") == 0) {
			comp = next;
			continue;
		}
		nfd = safepath_open_at(fd, comp, path, err, errlen);
		made = false;
		if (nfd < 0 && errno == ENOENT && create) {
			err[0] = '\0';
			nfd = safepath_make(fd, comp, next ? 0755 : mode, &made,
					    path, err, errlen);
		}
		close(fd);
		if (nfd < 0)
			return -1;
		fd = nfd;
		comp = next;
	}
	if (created_r != NULL)
		*created_r = made;
	return fd;
}

/* A directory only root can change: what is in it was put there by root. */
static bool
safepath_dir_trusted(int dirfd)
{
	struct stat st;

	return fstat(dirfd, &st) == 0 && st.st_uid == 0 &&
	       (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* Opens the last component of a path for reading, as root. */
static int
safepath_open_file_root(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	const char *slash = strrchr(path, '/'), *base;
	struct stat st;
	int dfd, fd;

	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	} else {
		snprintf(dir, sizeof(dir), "%.*s",
			 slash == path ? 1 : (int)(slash - path), path);
		base = slash + 1;
	}
	dfd = safepath_open_dir(dir, false, 0, NULL, err, errlen);
	if (dfd < 0)
		return -1;
	fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP &&
	    fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (st.st_uid != 0) {
			snprintf(err, errlen, "%s is a symbolic link owned by "
				 "uid %u; refusing to follow it as root", path,
				 (unsigned)st.st_uid);
			close(dfd);
			return -1;
		}
		fd = openat(dfd, base, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	/* A hard link to a root-only file can be made by anyone who can
	 * write the directory (when fs.protected_hardlinks is off). */
	else if (!safepath_dir_trusted(dfd) && fstat(fd, &st) == 0 &&
		 st.st_nlink > 1) {
		snprintf(err, errlen, "%s has %lu hard links in a directory "
			 "not owned by root alone; refusing to read it as root",
			 path, (unsigned long)st.st_nlink);
		close(fd);
		fd = -1;
	}
	close(dfd);
	return fd;
}

static int
safepath_read_fd(int fd, const char *path, size_t max, char **buf_r,
		 size_t *len_r, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len = 0;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		return -1;
	}
	if ((unsigned long long)st.st_size > max) {
		snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
		return -1;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			safepath_free_buf(buf, max + 1);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			snprintf(err, errlen, "%s is larger than %zu bytes",
				 path, max);
			safepath_free_buf(buf, max + 1);
			return -1;
		}
	}
	buf[len] = '\0';
	*buf_r = buf;
	*len_r = len;
	return 0;
}

int
safepath_read(const char *path, size_t max, char **buf_r, size_t *len_r,
	      char *err, size_t errlen)
{
	int fd, rc;

	err[0] = '\0';
	if (geteuid() == 0)
		fd = safepath_open_file_root(path, err, errlen);
	else
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = safepath_read_fd(fd, path, max, buf_r, len_r, err, errlen);
	close(fd);
	return rc;
}

void
safepath_free_buf(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	explicit_bzero(buf, len);
	free(buf);
}
