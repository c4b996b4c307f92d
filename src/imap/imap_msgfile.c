/*
 * Message bytes and metadata for FETCH and SEARCH, on worker threads only:
 * reads a blob file whole and gets its ENVELOPE/BODY/BODYSTRUCTURE/part
 * map from the store, computing and storing them once when a message was
 * stored before metadata existed (mime.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mime/mime.h"
#include "../store/blob.h"
#include "../util/str.h"
#include "imap_msgfile.h"

int
imap_msgfile_read(const char *data_dir, const char *blob, int64_t size,
		  char **data_r, size_t *len_r)
{
	int fd = blob_open(data_dir, blob);
	size_t cap = size > 0 ? (size_t)size : 0, len = 0;
	char *data;

	*data_r = NULL;
	*len_r = 0;
	if (fd < 0)
		return -1;
	data = malloc(cap + 1);
	if (data == NULL) {
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
	/* A file shorter than its stored size (damaged, or a read error)
	 * would be served under the wrong RFC822.SIZE and part offsets. */
	if (len != cap) {
		free(data);
		return -1;
	}
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	return 0;
}

/* The same computation as SMTP delivery (mime_compute_meta), into the
 * store's struct. */
int
imap_meta_compute(const char *msg, size_t len, struct store_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	if (mime_compute_meta(msg, len, &meta->envelope, &meta->body,
			      &meta->bodystructure, &meta->partmap,
			      &meta->partmap_len) < 0) {
		store_meta_free(meta);
		return -1;
	}
	(void)mime_search_fields(msg, len, &meta->fields, &meta->fields_len);
	return 0;
}

int
imap_meta_load(struct store *st, int64_t blob_id, const char *msg,
	       size_t len, struct store_meta *meta)
{
	const char *err = NULL;
	int r = store_meta_get(st, blob_id, meta);

	if (r == 1)
		return 0;
	if (r < 0 || msg == NULL)
		return -1;
	if (imap_meta_compute(msg, len, meta) < 0)
		return -1;
	/* Kept so the next FETCH does not parse again; a failure to store
	 * only costs a parse later. Outside the step's read snapshot (read
	 * jobs run in one): a write inside it could not wait for the lock,
	 * and once it had it would hold it for the rest of the step. */
	store_read_end(st);
	(void)store_meta_put(st, blob_id, meta, &err);
	return store_read_begin(st, &err) < 0 ? -1 : 0;
}
