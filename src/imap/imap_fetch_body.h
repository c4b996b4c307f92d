/*
 * FETCH body sections and BINARY decoding (RFC 9051 §6.4.5, RFC 3516).
 */
#ifndef POSTEL_IMAP_FETCH_BODY_H
#define POSTEL_IMAP_FETCH_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "imap_parse.h"

/* The bytes of section it of msg: *p_r points into msg or tmp. A part
 * that does not exist gives "" with *missing_r. 0 or -1 (bad map). */
int imap_fetch_section(const struct imap_fetch_item *it, const char *msg,
		       size_t len, const struct store_meta *meta,
		       struct buf *tmp, const char **p_r, size_t *n_r,
		       bool *missing_r);
/* BINARY[part]: the decoded body in tmp. -1 with *unknown_cte_r for an
 * encoding we cannot decode (NO [UNKNOWN-CTE]). */
int imap_fetch_binary(const struct imap_fetch_item *it, const char *msg,
		      size_t len, const struct store_meta *meta,
		      struct buf *tmp, const char **p_r, size_t *n_r,
		      bool *unknown_cte_r);
/* Applies <offset.length>. */
void imap_fetch_partial(const struct imap_fetch_item *it, const char **p,
			size_t *n);

#endif
