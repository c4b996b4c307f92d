/*
 * PREVIEW (RFC 8970): a message's short plain-text summary, and the
 * decoding of one text part that SEARCH shares. Pure.
 */
#ifndef POSTEL_IMAP_PREVIEW_H
#define POSTEL_IMAP_PREVIEW_H

#include <stddef.h>

struct buf;
struct mime_part;
/* RFC 8970 §3.1: "no more than 256 characters". */
#define IMAP_PREVIEW_CHARS 256
/* Appends the preview of msg[0..len) to out: UTF-8, white space folded,
 * at most IMAP_PREVIEW_CHARS characters; nothing when the message has no
 * text part. 0, or -1 when memory runs out. */
int imap_preview(const char *msg, size_t len, struct buf *out);
/* The text of leaf part p of msg (at most max octets of its body),
 * transfer-decoded and converted to UTF-8, in *text_r: it points into msg,
 * tmp or tmp2 (scratch buffers the caller owns). 0, or -1 when the part
 * lies outside msg. */
int imap_leaf_text(const char *msg, size_t msglen, const struct mime_part *p,
		   size_t max, struct buf *tmp, struct buf *tmp2,
		   const char **text_r, size_t *len_r);

#endif
