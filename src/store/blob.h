/*
 * Message files. One immutable file per accepted message, shared by all its
 * local recipients, under DATA_DIR/msg/YYYYMMDD/<id>. Written and fdatasync'ed
 * here; the directory entry is made durable by blob_sync_dir() (once per
 * group commit) before the database rows that reference it are committed.
 */
#ifndef POSTEL_BLOB_H
#define POSTEL_BLOB_H

#include <stddef.h>
#include <sys/types.h>

#define BLOB_PATH_MAX 64

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
/* fsyncs the directory that holds path (relative). 0 or -1. */
int blob_sync_dir(const char *data_dir, const char *path);
/* Opens a blob for reading; fd or -1. */
int blob_open(const char *data_dir, const char *path);
/* Unlinks a blob no longer referenced; errors are ignored (logged). */
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
