/*
 * Message files (blob.h). A file is created with O_EXCL under its final
 * name, written, fdatasync'ed and never changed. A crash between the write
 * and the commit of the rows that reference it leaves an unreferenced file:
 * harmless garbage (a later sweep may remove it), never a half message
 * that the database points at.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../util/str.h"
#include "blob.h"
#include "store.h"
#include "store_imap.h"

#define BLOB_DIR_MODE 0750
#define BLOB_FILE_MODE 0640
/* Retries when a new id collides with an existing file (O_EXCL). */
#define BLOB_CREATE_TRIES 8

/* The low 20 bits of an id; starts at a random value so two processes
 * started in the same millisecond do not count in step. */
static atomic_uint_fast32_t blob_counter;
static atomic_bool blob_counter_seeded;

static uint32_t
blob_random32(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
		struct timespec ts;

		/* No entropy yet (early boot): the clock still differs. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid();
	}
	return v;
}

void
blob_new_id(char id_r[17])
{
	struct timespec ts;
	uint64_t ms, seq;

	if (!atomic_exchange(&blob_counter_seeded, true))
		atomic_fetch_add(&blob_counter, blob_random32());
	seq = atomic_fetch_add(&blob_counter, 1) & 0xfffff;
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* 44 bits of milliseconds (until year 2527), 20 bits of sequence:
	 * ids sort by arrival time. */
	snprintf(id_r, 17, "%016" PRIx64,
		 (uint64_t)(((ms & 0xfffffffffffULL) << 20) | seq));
}

/* Makes dir exist and fsyncs its parent, so its entry survives a power
 * loss. Also when dir already existed: whoever made it (another thread
 * of ours, between its mkdir and its fsync; a process killed there; the
 * start-up's mkdir of msg/) may not have synced the parent yet, and the
 * rows we commit next would point into a directory a power cut loses.
 * Callers cache the day's directory, so this runs once per thread and
 * day. */
static int
blob_mkdir(const char *dir, const char *parent)
{
	int fd;

	if (mkdir(dir, BLOB_DIR_MODE) < 0 && errno != EEXIST)
		return -1;
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fsync(fd) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

int
blob_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
blob_fill(int fd, const void *head, size_t head_len, const void *body,
	  size_t body_len)
{
	if (blob_write_all(fd, head, head_len) < 0
	    || blob_write_all(fd, body, body_len) < 0)
		return -1;
	while (fdatasync(fd) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

static _Thread_local char blob_known_dir[4096];

/* Creates the day's directory; rel_dir_r gets "msg/YYYYMMDD". */
static int
blob_day_dir(const char *data_dir, char rel_dir_r[16], char *abs, size_t len)
{
	char msg_dir[4096];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	snprintf(rel_dir_r, 16, "msg/%04d%02d%02d", (tm.tm_year + 1900) % 10000,
		 (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
	if (snprintf(msg_dir, sizeof(msg_dir), "%s/msg", data_dir)
		    >= (int)sizeof(msg_dir)
	    || snprintf(abs, len, "%s/%s", data_dir, rel_dir_r) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* The day's directory exists after the first message of the day:
	 * skip two mkdir calls per message (blob_write retries on ENOENT). */
	if (strcmp(abs, blob_known_dir) == 0)
		return 0;
	if (blob_mkdir(msg_dir, data_dir) < 0 || blob_mkdir(abs, msg_dir) < 0)
		return -1;
	snprintf(blob_known_dir, sizeof(blob_known_dir), "%s", abs);
	return 0;
}

int
blob_create(const char *data_dir, char path_r[BLOB_PATH_MAX], char *id_r)
{
	char rel_dir[16], dir[4096], file[4096 + 32], id[17];
	int fd = -1;
	bool remade = false;

	if (blob_day_dir(data_dir, rel_dir, dir, sizeof(dir)) < 0)
		return -1;
	for (int i = 0; i < BLOB_CREATE_TRIES && fd < 0; i++) {
		blob_new_id(id);
		snprintf(file, sizeof(file), "%s/%s", dir, id);
		/* O_RDWR: a streamed message is mapped back for its MIME
		 * metadata once written (smtp_spool.c). */
		fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			  BLOB_FILE_MODE);
		if (fd < 0 && errno == ENOENT && !remade) {
			/* The directory went away under us: make it again. */
			blob_known_dir[0] = '\0';
			remade = true;
			if (blob_day_dir(data_dir, rel_dir, dir, sizeof(dir)) < 0)
				return -1;
			i--;
			continue;
		}
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	if (fd < 0)
		return -1;
	snprintf(path_r, BLOB_PATH_MAX, "%s/%s", rel_dir, id);
	if (id_r != NULL)
		memcpy(id_r, id, sizeof(id));
	return fd;
}

int
blob_write(const char *data_dir, const void *head, size_t head_len,
	   const void *body, size_t body_len, char path_r[BLOB_PATH_MAX],
	   char *id_r)
{
	char path[BLOB_PATH_MAX];
	int fd = blob_create(data_dir, path, id_r), e;

	if (fd < 0)
		return -1;
	if (blob_fill(fd, head, head_len, body, body_len) < 0) {
		e = errno;
		close(fd);
		blob_unlink(data_dir, path);
		errno = e;
		return -1;
	}
	if (close(fd) < 0) {
		e = errno;
		blob_unlink(data_dir, path);
		errno = e;
		return -1;
	}
	memcpy(path_r, path, BLOB_PATH_MAX);
	return 0;
}

bool
blob_is_stored(const char *path)
{
	return strncmp(path, BLOB_STORED_PREFIX,
		       sizeof(BLOB_STORED_PREFIX) - 1) == 0;
}

void
blob_stored_path(char path_r[BLOB_PATH_MAX])
{
	char id[17];

	blob_new_id(id);
	snprintf(path_r, BLOB_PATH_MAX, BLOB_STORED_PREFIX "%s", id);
}

int
blob_stored_key(const char *path, int64_t *key_r)
{
	const char *hex = path + sizeof(BLOB_STORED_PREFIX) - 1;
	uint64_t v = 0;

	if (!blob_is_stored(path) || strlen(hex) != 16)
		return -1;
	for (size_t i = 0; i < 16; i++) {
		int d = str_hex_value((unsigned char)hex[i]);

		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*key_r = (int64_t)v;
	return 0;
}

int
blob_sync_dir(const char *data_dir, const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (blob_is_stored(path))
		return 0;
	if (slash == NULL)
		return -1;
	if (snprintf(dir, sizeof(dir), "%s/%.*s", data_dir,
		     (int)(slash - path), path) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc < 0 ? -1 : 0;
}

/* Paths come from our database; still refuse anything that could leave
 * the data directory. */
static int
blob_path(const char *data_dir, const char *path, char *out, size_t len)
{
	if (path[0] == '/' || strstr(path, "..") != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (snprintf(out, len, "%s/%s", data_dir, path) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* A stored body from the store; -1 with errno EIO when it is missing. */
static int
blob_stored_read(struct store *st, const char *path, char **data_r,
		 size_t *len_r)
{
	const char *err = NULL;

	if (st == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (store_blob_data(st, path, data_r, len_r, &err) < 0) {
		log_error(NULL, "blob_read", " path=%s reason=%s",
			  log_qs(path), log_qs(err));
		errno = EIO;
		return -1;
	}
	return 0;
}

int
blob_open(struct store *st, const char *data_dir, const char *path)
{
	char file[4096], *data;
	size_t len;
	int fd, e;

	if (!blob_is_stored(path)) {
		if (blob_path(data_dir, path, file, sizeof(file)) < 0)
			return -1;
		return open(file, O_RDONLY | O_CLOEXEC);
	}
	/* Callers read, pread, map or send it like a file. */
	if (blob_stored_read(st, path, &data, &len) < 0)
		return -1;
	fd = memfd_create("postel-blob", MFD_CLOEXEC);
	if (fd >= 0 && (blob_write_all(fd, data, len) < 0
			|| lseek(fd, 0, SEEK_SET) < 0)) {
		e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	free(data);
	return fd;
}

int
blob_read(struct store *st, const char *data_dir, const char *path,
	  int64_t size, char **data_r, size_t *len_r)
{
	size_t cap = size > 0 ? (size_t)size : 0, len = 0;
	char *data;
	int fd;

	*data_r = NULL;
	*len_r = 0;
	if (blob_is_stored(path)) {
		if (blob_stored_read(st, path, &data, &len) < 0)
			return -1;
	} else {
		if ((fd = blob_open(st, data_dir, path)) < 0)
			return -1;
		if ((data = malloc(cap + 1)) == NULL) {
			close(fd);
			return -1;
		}
		while (len < cap) {
			ssize_t r = read(fd, data + len, cap - len);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			len += (size_t)r;
		}
		close(fd);
		data[len] = '\0';
	}
	if (len != cap) {
		free(data);
		errno = EIO;
		return -1;
	}
	*data_r = data;
	*len_r = len;
	return 0;
}

void
blob_unlink(const char *data_dir, const char *path)
{
	char file[4096];

	if (blob_is_stored(path))
		return;
	if (blob_path(data_dir, path, file, sizeof(file)) < 0
	    || (unlink(file) < 0 && errno != ENOENT))
		log_warn(NULL, "blob_unlink", " path=%s error=%s",
			 log_qs(path), log_qs(strerror(errno)));
}

void
blob_unlink_all(const char *data_dir, char *const *paths)
{
	for (size_t i = 0; paths != NULL && paths[i] != NULL; i++)
		blob_unlink(data_dir, paths[i]);
}

size_t
blob_delivery_head(const char *return_path, const char *delivered_to,
		   char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "Return-Path: <%s>\r\n%s%s%s",
			 return_path, delivered_to != NULL ? "Delivered-To: "
							    : "",
			 delivered_to != NULL ? delivered_to : "",
			 delivered_to != NULL ? "\r\n" : "");

	return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

/* One "Name: value CRLF" line of ours at p[0..len): its length, or 0. */
static size_t
blob_prefix_line(const char *p, size_t len, const char *name)
{
	size_t nl = strlen(name);
	const char *lf;

	if (len < nl || strncasecmp(p, name, nl) != 0)
		return 0;
	lf = memchr(p + nl, '\n', len - nl);
	if (lf == NULL || lf == p + nl || lf[-1] != '\r')
		return 0;
	return (size_t)(lf - p) + 1;
}

size_t
blob_delivery_prefix(const void *data, size_t len)
{
	const char *p = data;
	size_t off = blob_prefix_line(p, len, "Return-Path: ");

	if (off == 0)
		return 0;
	off += blob_prefix_line(p + off, len - off, "Delivered-To: ");
	return off;
}
