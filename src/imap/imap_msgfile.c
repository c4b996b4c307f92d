/*
 * Message metadata for FETCH and SEARCH, on worker threads only: gets a
 * message's ENVELOPE/BODY/BODYSTRUCTURE/part map from the store, computing
 * and storing them once when a message was stored before metadata existed
 * (mime.h). The octets themselves come from blob_read (blob.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mime/mime.h"
#include "../store/blob.h"
#include "../util/str.h"
#include "imap_msgfile.h"

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
