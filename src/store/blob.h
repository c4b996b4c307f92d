/*
 * Message bodies ("blobs"). One immutable body per accepted message, shared
 * by all its local recipients and its queue entry, named by a path relative
 * to the data directory:
 *
 *  - "msg/YYYYMMDD/<id>": a file, written and fdatasync'ed here; the
 *    directory entry is made durable by blob_sync_dir() (once per group
 *    commit) before the database rows that reference it are committed.
 *  - "db/<id>": the octets live in the store (blob_data, schema v8),
 *    written in the same transaction as the rows that reference them. A
 *    message small enough to arrive whole in memory (SMTP) is kept so: no
 *    file to create, sync and unlink, which on a busy file system costs
 *    more than the rest of the delivery (docs/BENCHMARKS.md).
 *
 * Readers do not care which: blob_open and blob_read serve both.
 */
#ifndef POSTEL_BLOB_H
#define POSTEL_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct store;

#define BLOB_PATH_MAX 64
#define BLOB_STORED_PREFIX "db/"

/* The largest body a writer that holds the whole message in memory keeps
 * in the store rather than in a file (IMAP APPEND; SMTP stores what fits
 * its spool's first buffer, about 64 KB). */
#define BLOB_STORED_MAX (64 * 1024)

/* True for a body kept in the store ("db/<id>"). */
bool blob_is_stored(const char *path);
/* A new "db/<id>" path (the id as blob_new_id). */
void blob_stored_path(char path_r[BLOB_PATH_MAX]);
/* The store's key of a stored body: its 16 hex digits as a number. 0, or
 * -1 when path is not a well-formed stored-body path. */
int blob_stored_key(const char *path, int64_t *key_r);

/* Writes the iovec-like pair (head, body) as one new file and fdatasyncs
 * it. path_r receives the path relative to data_dir ("msg/20261123/<id>"),
 * id_r (may be NULL) the <id> part, at most 32 bytes with NUL. 0 or -1 (with
 * errno). Safe from any thread. */
int blob_write(const char *data_dir, const void *head, size_t head_len,
	       const void *body, size_t body_len, char path_r[BLOB_PATH_MAX],
	       char *id_r);
/* Creates a new, empty message file (O_EXCL, read-write) under today's
 * directory for a message written as it arrives; returns its fd (path_r,
 * id_r as blob_write) or -1 with errno. The caller writes, fdatasyncs,
 * closes, and unlinks it (blob_unlink) when the message is not kept; a
 * crash leaves at most an unreferenced file for the start-up sweep. */
int blob_create(const char *data_dir, char path_r[BLOB_PATH_MAX], char *id_r);
/* write(2) until len bytes are written (EINTR retried); 0 or -1. */
int blob_write_all(int fd, const void *data, size_t len);
/* fsyncs the directory that holds path (relative); nothing for a stored
 * body. 0 or -1. */
int blob_sync_dir(const char *data_dir, const char *path);
/* Opens a blob for reading: its file, or for a stored body an anonymous
 * memory file holding its octets, read through st (a handle of the
 * calling thread: store_thread_handle). fd or -1 (errno). */
int blob_open(struct store *st, const char *data_dir, const char *path);
/* Reads a whole blob of size octets into a new NUL-terminated buffer
 * (*data_r, freed by the caller). One that is not size octets long is
 * damaged and fails: it would be served with wrong sizes and offsets.
 * 0 or -1. */
int blob_read(struct store *st, const char *data_dir, const char *path,
	      int64_t size, char **data_r, size_t *len_r);
/* Unlinks a blob no longer referenced; errors are ignored (logged). A
 * stored body needs nothing: it went with its row. */
void blob_unlink(const char *data_dir, const char *path);
/* The same for each path of a NULL-terminated list (the orphans a
 * committed change returned); NULL: nothing. */
void blob_unlink_all(const char *data_dir, char *const *paths);
/* A new unique message id: 16 lower-case hex characters + NUL. */
void blob_new_id(char id_r[17]);

/* Final delivery (RFC 5321 §4.4) puts "Return-Path: <sender>" and, for a
 * message with one local recipient, "Delivered-To: address" at the top of
 * the shared file, before our Received field. Those lines are for the
 * local mailboxes only: the outbound queue relays (and returns in a DSN)
 * the file from after them. blob_delivery_head writes them into out
 * (outlen >= BLOB_DELIVERY_HEAD_MAX); delivered_to may be NULL. Returns
 * the length, 0 when they do not fit (never with valid addresses). */
#define BLOB_DELIVERY_HEAD_MAX (2 * 320 + 64)
size_t blob_delivery_head(const char *return_path, const char *delivered_to,
			  char *out, size_t outlen);
/* The length of those lines at the front of p[0..len) (0 when none).
 * BLOB_DELIVERY_HEAD_MAX octets of the file's head are enough. */
size_t blob_delivery_prefix(const void *p, size_t len);

#endif
