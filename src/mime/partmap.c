/*
 * The part map: every part's offsets, kind and transfer encoding in a
 * compact text form stored beside ENVELOPE/BODYSTRUCTURE, so that FETCH
 * BODY[section] (RFC 9051 §6.4.5) finds its bytes without parsing the
 * message again. Format (ASCII, one record per part, depth-first):
 *   "M1\n" then  "<kind> <children> <hoff> <hlen> <boff> <blen> <enc>\n"
 * kind L (leaf), M (multipart), R (message/rfc822); enc "-" when absent.
 * Also mime_compute_meta, what delivery and APPEND store per message.
 */
#include <stdlib.h>
#include <string.h>

#include "mime_int.h"

#define MIME_PARTMAP_MAGIC "M1\n"

struct mime_rec {
	char kind;
	size_t n_children;
	size_t hoff, hlen, boff, blen;
	char enc[32];
};

struct mime_cursor {
	const char *p;
	size_t len, pos;
};

static int
mime_partmap_rec(const struct mime_part *p, struct buf *out)
{
	char kind = p->kind == MIME_KIND_MULTIPART ? 'M'
		    : p->kind == MIME_KIND_MESSAGE ? 'R'
						     : 'L';
	const char *enc = p->encoding != NULL ? p->encoding : "-";

	if (buf_printf(out, "%c %zu %zu %zu %zu %zu %s\n", kind,
		       p->n_children, p->header_off, p->header_len,
		       p->body_off, p->body_len, enc) < 0)
		return -1;
	for (size_t i = 0; i < p->n_children; i++)
		if (mime_partmap_rec(&p->children[i], out) < 0)
			return -1;
	return 0;
}

int
mime_partmap_build(const struct mime_part *root, struct buf *out)
{
	if (buf_append(out, MIME_PARTMAP_MAGIC, 3) < 0)
		return -1;
	return mime_partmap_rec(root, out);
}

static int
mime_cur_num(struct mime_cursor *c, size_t *n_r)
{
	size_t n = 0, start = c->pos;

	while (c->pos < c->len && c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
		size_t d = (size_t)(c->p[c->pos] - '0');

		if (n > (SIZE_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
		c->pos++;
	}
	if (c->pos == start || c->pos >= c->len || c->p[c->pos] != ' ')
		return -1;
	c->pos++;
	*n_r = n;
	return 0;
}

static int
mime_cur_rec(struct mime_cursor *c, struct mime_rec *r)
{
	size_t e;

	if (c->pos + 2 > c->len || strchr("LMR", c->p[c->pos]) == NULL ||
	    c->p[c->pos] == '\0' || c->p[c->pos + 1] != ' ')
		return -1;
	r->kind = c->p[c->pos];
	c->pos += 2;
	if (mime_cur_num(c, &r->n_children) < 0 ||
	    mime_cur_num(c, &r->hoff) < 0 || mime_cur_num(c, &r->hlen) < 0 ||
	    mime_cur_num(c, &r->boff) < 0 || mime_cur_num(c, &r->blen) < 0)
		return -1;
	for (e = c->pos; e < c->len && c->p[e] != '\n';)
		e++;
	if (e >= c->len || e == c->pos || r->hoff + r->hlen < r->hoff ||
	    r->boff + r->blen < r->boff ||
	    (r->kind == 'R' && r->n_children != 1) ||
	    (r->kind == 'L' && r->n_children != 0))
		return -1;
	/* An encoding too long to be a known one stays unknown. */
	if (e - c->pos >= sizeof(r->enc))
		memcpy(r->enc, "x-unknown", 10);
	else if (e - c->pos == 1 && c->p[c->pos] == '-')
		r->enc[0] = '\0';
	else {
		memcpy(r->enc, c->p + c->pos, e - c->pos);
		r->enc[e - c->pos] = '\0';
	}
	c->pos = e + 1;
	return 0;
}

static int
mime_cur_skip(struct mime_cursor *c, size_t depth)
{
	struct mime_rec r;

	if (depth > 2 * MIME_MAX_DEPTH + 2 || mime_cur_rec(c, &r) < 0)
		return -1;
	for (size_t i = 0; i < r.n_children; i++)
		if (mime_cur_skip(c, depth + 1) < 0)
			return -1;
	return 0;
}

static void
mime_section_fill(struct mime_section *sec, const struct mime_rec *r)
{
	memset(sec, 0, sizeof(*sec));
	sec->kind = r->kind == 'M'   ? MIME_KIND_MULTIPART
		    : r->kind == 'R' ? MIME_KIND_MESSAGE
				     : MIME_KIND_LEAF;
	sec->header_off = r->hoff;
	sec->header_len = r->hlen;
	sec->body_off = r->boff;
	sec->body_len = r->blen;
	memcpy(sec->encoding, r->enc, sizeof(sec->encoding));
}

/* Selects part n of entity e (RFC 9051 §6.4.5: the parts of a multipart;
 * a non-multipart entity has only part 1, itself). 1, 0 or -1. */
static int
mime_cur_select(struct mime_cursor *c, const struct mime_rec *e, uint32_t n,
		struct mime_rec *sel)
{
	if (e->kind != 'M') {
		*sel = *e;
		return n == 1 ? 1 : 0;
	}
	if (n < 1 || n > e->n_children)
		return 0;
	for (uint32_t k = 1; k < n; k++)
		if (mime_cur_skip(c, 0) < 0)
			return -1;
	return mime_cur_rec(c, sel) < 0 ? -1 : 1;
}

int
mime_partmap_find(const char *map, size_t maplen, const uint32_t *path,
		  size_t depth, struct mime_section *sec_r)
{
	struct mime_cursor c = {map, maplen, 3};
	struct mime_rec e, sel;

	if (maplen < 3 || memcmp(map, MIME_PARTMAP_MAGIC, 3) != 0 ||
	    mime_cur_rec(&c, &e) < 0)
		return -1;
	sel = e;
	for (size_t i = 0; i < depth; i++) {
		int r = mime_cur_select(&c, &e, path[i], &sel);

		if (r <= 0)
			return r;
		if (i + 1 == depth)
			break;
		/* Numbers after a message/rfc822 part count the parts of
		 * the embedded message; after a multipart, its parts. */
		if (sel.kind == 'R') {
			if (mime_cur_rec(&c, &e) < 0)
				return -1;
		} else if (sel.kind == 'M')
			e = sel;
		else
			return 0;
	}
	mime_section_fill(sec_r, &sel);
	if (depth == 0 || sel.kind == 'R') {
		struct mime_rec m = sel;

		if (depth > 0 && mime_cur_rec(&c, &m) < 0)
			return -1;
		sec_r->has_msg = true;
		sec_r->msg_header_off = m.hoff;
		sec_r->msg_header_len = m.hlen;
		sec_r->msg_body_off = m.boff;
		sec_r->msg_body_len = m.blen;
	}
	return 1;
}

char *
mime_buf_steal(struct buf *b)
{
	char *s;

	if (buf_append(b, "", 1) < 0)
		return NULL;
	s = (char *)b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

int
mime_compute_meta(const char *msg, size_t len, char **envelope_r,
		  char **body_r, char **bodystructure_r, char **partmap_r,
		  size_t *partmap_len_r)
{
	struct mime_part *root;
	struct buf b[4];
	char **res[4] = {envelope_r, body_r, bodystructure_r, partmap_r};
	int ret = -1;

	for (int i = 0; i < 4; i++) {
		buf_init(&b[i], MIME_META_MAX);
		*res[i] = NULL;
	}
	*partmap_len_r = 0;
	if (mime_parse(msg, len, &root) < 0)
		return -1;
	if (mime_envelope(msg + root->header_off, root->header_len, &b[0]) < 0 ||
	    mime_bodystructure(msg, len, root, false, &b[1]) < 0 ||
	    mime_bodystructure(msg, len, root, true, &b[2]) < 0 ||
	    mime_partmap_build(root, &b[3]) < 0)
		goto out;
	*partmap_len_r = b[3].len;
	for (int i = 0; i < 4; i++)
		if ((*res[i] = mime_buf_steal(&b[i])) == NULL)
			goto out;
	ret = 0;
out:
	if (ret < 0)
		for (int i = 0; i < 4; i++) {
			free(*res[i]);
			*res[i] = NULL;
		}
	for (int i = 0; i < 4; i++)
		buf_fini(&b[i]);
	mime_free(&root);
	return ret;
}
