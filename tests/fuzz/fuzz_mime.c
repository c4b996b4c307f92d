/*
 * libFuzzer target for the MIME parser: no crash or leak; every part's
 * offsets inside the message; ENVELOPE/BODY/BODYSTRUCTURE well-formed
 * IMAP (balanced lists, literals of the announced length, no NUL); every
 * part map lookup inside the message; decoders survive any input; the
 * search fields hold only search fields; the first mailbox of an address
 * list (SORT) stays within its bounds.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A minimal IMAP reader: atoms, quoted strings, literals and lists. */
static void
fuzz_mime_check_imap(const char *s)
{
	size_t i = 0, len = strlen(s);
	int depth = 0;

	while (i < len) {
		char c = s[i];

		if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			if (--depth < 0)
				abort();
			i++;
		} else if (c == ' ') {
			i++;
		} else if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if ((unsigned char)s[i] >= 0x80 ||
				    s[i] == '\r' || s[i] == '\n')
					abort();
				if (s[i] == '\\')
					i++;
			}
			if (i >= len)
				abort();
			i++;
		} else if (c == '{') {
			char *end;
			unsigned long n = strtoul(s + i + 1, &end, 10);

			if (end[0] != '}' || end[1] != '\r' || end[2] != '\n')
				abort();
			i = (size_t)(end - s) + 3;
			if (n > len - i)
				abort();
			i += n;
		} else {
			/* NIL or a number. */
			if (!(c >= '0' && c <= '9') && strncmp(s + i, "NIL", 3))
				abort();
			while (i < len && s[i] != ' ' && s[i] != ')')
				i++;
		}
	}
	if (depth != 0 || len == 0 || s[0] != '(')
		abort();
}

static void
fuzz_mime_walk(const struct mime_part *p, size_t len, const char *msg)
{
	struct buf b;

	if (p->header_off + p->header_len > p->body_off ||
	    p->body_off + p->body_len > len || p->type == NULL ||
	    p->subtype == NULL)
		abort();
	if ((p->kind == MIME_KIND_MESSAGE) != (p->n_children == 1 &&
					      p->kind != MIME_KIND_MULTIPART) &&
	    p->kind != MIME_KIND_MULTIPART)
		abort();
	buf_init(&b, 1 << 22);
	(void)mime_decode_body(p->encoding, msg + p->body_off, p->body_len,
			       &b);
	buf_fini(&b);
	for (size_t i = 0; i < p->n_children; i++) {
		if (p->children[i].header_off < p->body_off)
			abort();
		fuzz_mime_walk(&p->children[i], len, msg);
	}
}

static void
fuzz_mime_paths(const char *map, size_t maplen, const uint8_t *data,
		size_t size, size_t len)
{
	uint32_t path[8];
	struct mime_section sec;

	for (size_t k = 0; k < 8 && k < size; k++) {
		size_t depth = (size_t)(data[k] % 5);

		for (size_t j = 0; j < depth; j++)
			path[j] = (uint32_t)(data[(k + j + 1) % size] % 4);
		int r = mime_partmap_find(map, maplen, path, depth, &sec);
		if (r < 0)
			abort(); /* our own map is never malformed */
		if (r == 1 && (sec.header_off + sec.header_len > len ||
			       sec.body_off + sec.body_len > len ||
			       (sec.has_msg &&
				sec.msg_body_off + sec.msg_body_len > len)))
			abort();
	}
}

/* The search fields: a header block of only From/To/Cc/Bcc/Subject/Date
 * fields, each taken from the message's own header, CRLF-terminated. */
static void
fuzz_mime_fields(const char *msg, size_t size)
{
	struct mime_field f;
	size_t len, pos = 0;
	char *out;

	if (mime_search_fields(msg, size, &out, &len) < 0)
		return;
	/* Each field gains at most a CRLF (bare LF or none at the end). */
	if (len < 2 || len > 2 * size + 2 || out[len] != '\0' ||
	    out[len - 2] != '\r' || out[len - 1] != '\n')
		abort();
	while (mime_next_field(out, len, &pos, &f) == 1)
		if (!mime_is_search_field(f.name, f.name_len))
			abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct mime_part *root;
	char *env, *body, *bs, *map;
	size_t maplen;
	struct buf b;
	struct mime_mailbox mb;

	if (mime_first_mailbox(msg, size, &mb) &&
	    (mb.plen >= MIME_PHRASE_MAX || mb.slen >= MIME_PHRASE_MAX ||
	     mb.slen == 0))
		abort();
	if (mime_parse(msg, size, &root) < 0)
		return 0;
	fuzz_mime_walk(root, size, msg);
	mime_free(&root);
	if (mime_compute_meta(msg, size, &env, &body, &bs, &map, &maplen) < 0)
		return 0;
	fuzz_mime_check_imap(env);
	fuzz_mime_check_imap(body);
	fuzz_mime_check_imap(bs);
	fuzz_mime_paths(map, maplen, data, size, size);
	free(env);
	free(body);
	free(bs);
	free(map);
	buf_init(&b, 1 << 22);
	(void)mime_decode_header(msg, size, &b);
	buf_fini(&b);
	fuzz_mime_fields(msg, size);
	return 0;
}
