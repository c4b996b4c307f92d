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
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	return 0;
}

static char *
imap_msgfile_take(struct buf *b)
{
	char *s = str_ndup((const char *)b->data, b->len);

	buf_reset(b);
	return s;
}

int
imap_meta_compute(const char *msg, size_t len, struct store_meta *meta)
{
	struct mime_part *root = NULL;
	struct buf b;
	int rc = -1;

	memset(meta, 0, sizeof(*meta));
	buf_init(&b, 64 * 1024 * 1024);
	if (mime_parse(msg, len, &root) < 0)
		goto out;
	if (mime_envelope(msg + root->header_off, root->header_len, &b) < 0)
		goto out;
	meta->envelope = imap_msgfile_take(&b);
	if (mime_bodystructure(msg, len, root, false, &b) < 0)
		goto out;
	meta->body = imap_msgfile_take(&b);
	if (mime_bodystructure(msg, len, root, true, &b) < 0)
		goto out;
	meta->bodystructure = imap_msgfile_take(&b);
	if (mime_partmap_build(root, &b) < 0)
		goto out;
	meta->partmap_len = b.len;
	meta->partmap = malloc(b.len + 1);
	if (meta->partmap != NULL)
		memcpy(meta->partmap, b.data, b.len);
	rc = meta->envelope && meta->body && meta->bodystructure &&
			     meta->partmap
		     ? 0
		     : -1;
out:
	mime_free(&root);
	buf_fini(&b);
	if (rc < 0)
		store_meta_free(meta);
	return rc;
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
	 * only costs a parse later. */
	(void)store_meta_put(st, blob_id, meta, &err);
	return 0;
}
