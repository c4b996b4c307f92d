/*
 * Path handling for a process running as root in directories that a less
 * privileged user may control (the data dir belongs to `postel`): every
 * component is opened relative to its parent's fd with O_NOFOLLOW, and a
 * symbolic link is followed only when root owns it.
 */
#ifndef POSTEL_SAFEPATH_H
#define POSTEL_SAFEPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Largest certificate chain or key file read (a chain is a few KB). */
#define SAFEPATH_PEM_MAX (1024 * 1024)

/* Opens directory `path` component by component, never following a link
 * that root does not own. With `create`, missing components are made:
 * parents 0755 (owned by the caller), the last one with `mode`; *created_r
 * tells whether the last one was made by this call. An fd (O_CLOEXEC) or
 * -1 with err. */
int safepath_open_dir(const char *path, bool create, mode_t mode,
		      bool *created_r, char *err, size_t errlen);

/* Opens directory `comp` (one name, no slash) below dirfd, following a
 * symbolic link only when root or the caller owns it (a link the service
 * user planted could point anywhere). `path` names it in err. An fd or -1
 * with errno and err set. */
int safepath_open_at(int dirfd, const char *comp, const char *path,
		     char *err, size_t errlen);

/* Reads a whole regular file of at most `max` bytes into a new buffer
 * (freed by the caller with safepath_free_buf, which wipes it: it may be
 * a private key). As root the path is walked as safepath_open_dir does,
 * and in a directory that is not root's alone a file with several hard
 * links is refused (it could be a link to a root-only file). 0 or -1 with
 * err. */
int safepath_read(const char *path, size_t max, char **buf_r, size_t *len_r,
		  char *err, size_t errlen);
void safepath_free_buf(char *buf, size_t len);

#endif
