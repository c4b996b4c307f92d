/*
 * The header fields that SEARCH and SORT read (RFC 9051 §6.4.4 FROM, TO,
 * CC, BCC, SUBJECT, SENT*, HEADER of those; RFC 5256 sort keys), kept as a
 * small header block beside the ENVELOPE so that a search over a whole
 * mailbox reads the store instead of opening every message file.
 */
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "mime_int.h"

static const char *const mime_search_field_names[] = {
	"from", "to", "cc", "bcc", "subject", "date",
};

bool
mime_is_search_field(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(mime_search_field_names) /
				    sizeof(mime_search_field_names[0]); i++)
		if (str_ieq(name, len, mime_search_field_names[i]))
			return true;
	return false;
}

int
mime_search_fields(const char *msg, size_t len, char **fields_r,
		   size_t *fields_len_r)
{
	size_t hlen = mime_header_block_len(msg, len), pos = 0;
	struct mime_field f;
	struct buf b;

	*fields_r = NULL;
	*fields_len_r = 0;
	buf_init(&b, MIME_SEARCH_FIELDS_MAX);
	while (mime_next_field(msg, hlen, &pos, &f) == 1) {
		if (!mime_is_search_field(f.name, f.name_len))
			continue;
		/* As written, folding kept: the block parses like a header. */
		if (buf_append(&b, f.name,
			       (size_t)(f.value + f.value_len - f.name)) < 0 ||
		    buf_append(&b, "\r\n", 2) < 0) {
			buf_fini(&b);
			/* Too big (or no memory): readers use the file. */
			return -1;
		}
	}
	/* An empty block still says "none of these fields": one byte. */
	if (b.len == 0 && buf_append(&b, "\r\n", 2) < 0) {
		buf_fini(&b);
		return -1;
	}
	*fields_len_r = b.len;
	*fields_r = mime_buf_steal(&b);
	return *fields_r != NULL ? 0 : -1;
}

size_t
mime_message_id(const char *msg, size_t len, char *out, size_t outlen)
{
	size_t hlen = mime_header_block_len(msg, len), pos = 0, o = 0;
	struct mime_field f;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	while (mime_next_field(msg, hlen, &pos, &f) == 1) {
		if (!str_ieq(f.name, f.name_len, "message-id"))
			continue;
		/* Unfolded, without the blanks around it; the logger quotes
		 * and escapes whatever else it holds. */
		for (size_t i = 0; i < f.value_len && o + 1 < outlen; i++) {
			char c = f.value[i];
			if (c == '\r' || c == '\n')
				continue;
			if ((c == ' ' || c == '\t') &&
			    (o == 0 || out[o - 1] == ' '))
				continue;
			out[o++] = c == '\t' ? ' ' : c;
		}
		while (o > 0 && out[o - 1] == ' ')
			o--;
		out[o] = '\0';
		return o;
	}
	return 0;
}
