/*
 * The stored MIME metadata of messages for FETCH and SEARCH. Worker threads
 * only: these query the store.
 */
#ifndef POSTEL_IMAP_MSGFILE_H
#define POSTEL_IMAP_MSGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"

/* ENVELOPE/BODY/BODYSTRUCTURE/part map of msg[0..len). 0 or -1. */
int imap_meta_compute(const char *msg, size_t len, struct store_meta *meta);
/* The stored metadata of a blob, computed from msg and stored when
 * missing (msg may be NULL when it is known to exist). 0 or -1. */
int imap_meta_load(struct store *st, int64_t blob_id, const char *msg,
		   size_t len, struct store_meta *meta);

#endif
