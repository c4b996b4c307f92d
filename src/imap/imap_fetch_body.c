/*
 * FETCH body sections (RFC 9051 §6.4.5 section-spec, RFC 3516 BINARY):
 * finds a section's bytes through the stored part map, filters header
 * fields, applies <partial> and decodes for BINARY. Pure: bytes in, bytes
 * out; runs on the worker that reads the message.
 */
#include <string.h>

#include "../mime/mime.h"
#include "../util/str.h"
#include "imap_fetch_body.h"

static bool
imap_field_listed(const struct imap_fetch_item *it, const char *name,
		  size_t len)
{
	for (size_t i = 0; i < it->n_fields; i++)
		if (str_ieq(name, len, it->fields[i]))
			return true;
	return false;
}

/* HEADER.FIELDS (.NOT): the selected fields as written, then the blank
 * line that ends a header (RFC 9051 §6.4.5). */
static int
imap_fetch_fields(const struct imap_fetch_item *it, const char *hdr,
		  size_t len, struct buf *out)
{
	size_t pos = 0, start = 0;
	struct mime_field f;
	bool not = it->text == IMAP_SECTION_HEADER_FIELDS_NOT;

	while (mime_next_field(hdr, len, &pos, &f) == 1) {
		bool listed = imap_field_listed(it, f.name, f.name_len);

		if (listed != not && buf_append(out, hdr + start, pos - start) < 0)
			return -1;
		start = pos;
	}
	return buf_append(out, "\r\n", 2);
}

/* Header and body of the section a FETCH item names, in message offsets. */
struct imap_section_span {
	size_t hoff, hlen, boff, blen;
};

/* Finds the section's span: 1 found, 0 missing (the reply is empty),
 * -1 error. */
static int
imap_section_span(const struct imap_fetch_item *it,
		  const struct store_meta *meta, struct imap_section_span *sp)
{
	struct mime_section sec;
	int r;

	r = mime_partmap_find(meta->partmap, meta->partmap_len, it->path,
			      it->depth, &sec);
	if (r <= 0)
		return r;
	sp->hoff = sec.header_off;
	sp->hlen = sec.header_len;
	sp->boff = sec.body_off;
	sp->blen = sec.body_len;
	/* "1.2.HEADER"/"1.2.TEXT" address the message inside a
	 * message/rfc822 part. */
	if (it->depth > 0 && it->text != IMAP_SECTION_ALL &&
	    it->text != IMAP_SECTION_MIME) {
		if (!sec.has_msg)
			return 0;
		sp->hoff = sec.msg_header_off;
		sp->hlen = sec.msg_header_len;
		sp->boff = sec.msg_body_off;
		sp->blen = sec.msg_body_len;
	}
	return 1;
}

/* The bytes of a found section for the item's section text. */
static int
imap_section_bytes(const struct imap_fetch_item *it, const char *msg,
		   size_t len, const struct imap_section_span *sp,
		   struct buf *tmp, const char **p_r, size_t *n_r)
{
	switch (it->text) {
	case IMAP_SECTION_ALL:
		if (it->depth == 0) {
			*p_r = msg;
			*n_r = len;
		} else {
			*p_r = msg + sp->boff;
			*n_r = sp->blen;
		}
		break;
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_MIME:
		*p_r = msg + sp->hoff;
		*n_r = sp->hlen;
		break;
	case IMAP_SECTION_TEXT:
		*p_r = msg + sp->boff;
		*n_r = sp->blen;
		break;
	default:
		buf_reset(tmp);
		if (imap_fetch_fields(it, msg + sp->hoff, sp->hlen, tmp) < 0)
			return -1;
		*p_r = (const char *)tmp->data;
		*n_r = tmp->len;
		break;
	}
	return 0;
}

int
imap_fetch_section(const struct imap_fetch_item *it, const char *msg,
		   size_t len, const struct store_meta *meta, struct buf *tmp,
		   const char **p_r, size_t *n_r, bool *missing_r)
{
	struct imap_section_span sp;
	int r;

	*missing_r = false;
	r = imap_section_span(it, meta, &sp);
	if (r <= 0) {
		*missing_r = true;
		*p_r = "";
		*n_r = 0;
		return r < 0 ? -1 : 0;
	}
	if (sp.hoff + sp.hlen > len || sp.boff + sp.blen > len)
		return -1;
	return imap_section_bytes(it, msg, len, &sp, tmp, p_r, n_r);
}

int
imap_fetch_binary(const struct imap_fetch_item *it, const char *msg,
		  size_t len, const struct store_meta *meta, struct buf *tmp,
		  const char **p_r, size_t *n_r, bool *unknown_cte_r)
{
	struct mime_section sec;
	int r;

	*unknown_cte_r = false;
	if (it->depth == 0) {
		*p_r = msg;
		*n_r = len;
		return 0;
	}
	r = mime_partmap_find(meta->partmap, meta->partmap_len, it->path,
			      it->depth, &sec);
	if (r <= 0 || sec.body_off + sec.body_len > len) {
		*p_r = "";
		*n_r = 0;
		return r < 0 ? -1 : 0;
	}
	buf_reset(tmp);
	r = mime_decode_body(sec.encoding, msg + sec.body_off, sec.body_len,
			     tmp);
	if (r < 0) {
		/* -1 only: an encoding we do not know (RFC 3516 §4.1);
		 * -2, out of room, is a failure of ours. */
		*unknown_cte_r = r == -1;
		return -1;
	}
	*p_r = (const char *)tmp->data;
	*n_r = tmp->len;
	return 0;
}

void
imap_fetch_partial(const struct imap_fetch_item *it, const char **p,
		   size_t *n)
{
	if (!it->partial)
		return;
	if (it->partial_off >= *n) {
		*p += *n;
		*n = 0;
		return;
	}
	*p += it->partial_off;
	*n -= (size_t)it->partial_off;
	if (it->partial_len < *n)
		*n = (size_t)it->partial_len;
}
