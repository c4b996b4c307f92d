/*
 * The MIME part tree (RFC 2045 §5-6, RFC 2046 §5). Each entity is parsed
 * from a byte range of the message: its header, then for multiparts the
 * boundary lines (RFC 2046 §5.1.1) split the body into child ranges, and
 * a message/rfc822 body is one embedded entity. Every level scans only its
 * own range once, so the cost is at most MIME_MAX_DEPTH passes over the
 * message, and MIME_MAX_PARTS bounds the tree.
 */
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "mime_int.h"

struct mime_ctx {
	const char *msg;
	size_t len;
	size_t n_parts;
};

/* A child's byte range inside a multipart body. */
struct mime_range {
	size_t start, end;
};

static void
mime_part_fini(struct mime_part *p)
{
	for (size_t i = 0; i < p->n_children; i++)
		mime_part_fini(&p->children[i]);
	free(p->children);
	free(p->type);
	free(p->subtype);
	mime_params_free(p->params, p->n_params);
	free(p->id);
	free(p->description);
	free(p->encoding);
	free(p->md5);
	free(p->disposition);
	mime_params_free(p->disp_params, p->n_disp_params);
	free(p->language);
	free(p->location);
}

void
mime_free(struct mime_part **rootp)
{
	if (rootp == NULL || *rootp == NULL)
		return;
	mime_part_fini(*rootp);
	free(*rootp);
	*rootp = NULL;
}

static const char *
mime_param_get(const struct mime_part *p, const char *name)
{
	for (size_t i = 0; i < p->n_params; i++)
		if (strcmp(p->params[i].name, name) == 0)
			return p->params[i].value;
	return NULL;
}

/* Stores an unfolded copy of the first occurrence of a field. */
static int
mime_keep_first(char **slot, const struct mime_field *f)
{
	if (*slot != NULL)
		return 0;
	*slot = mime_unfold_dup(f->value, f->value_len);
	return *slot != NULL ? 0 : -1;
}

static int
mime_header_field(struct mime_part *p, const struct mime_field *f,
		  bool *seen_ct)
{
	if (mime_field_is(f, "content-type")) {
		if (*seen_ct)
			return 0;
		*seen_ct = true;
		return mime_parse_ctype(f->value, f->value_len, &p->type,
					&p->subtype, &p->params, &p->n_params);
	}
	if (mime_field_is(f, "content-transfer-encoding"))
		return p->encoding != NULL ? 0
					   : mime_parse_token(f->value,
							      f->value_len,
							      &p->encoding);
	if (mime_field_is(f, "content-disposition"))
		return p->disposition != NULL || p->n_disp_params > 0
			       ? 0
			       : mime_parse_disposition(
					 f->value, f->value_len,
					 &p->disposition, &p->disp_params,
					 &p->n_disp_params);
	if (mime_field_is(f, "content-id"))
		return mime_keep_first(&p->id, f);
	if (mime_field_is(f, "content-description"))
		return mime_keep_first(&p->description, f);
	if (mime_field_is(f, "content-md5"))
		return mime_keep_first(&p->md5, f);
	if (mime_field_is(f, "content-language"))
		return mime_keep_first(&p->language, f);
	if (mime_field_is(f, "content-location"))
		return mime_keep_first(&p->location, f);
	return 0;
}

static int
mime_set_type(struct mime_part *p, const char *type, const char *subtype)
{
	free(p->type);
	free(p->subtype);
	p->type = strdup(type);
	p->subtype = strdup(subtype);
	return p->type != NULL && p->subtype != NULL ? 0 : -1;
}

static int
mime_add_param(struct mime_part *p, const char *name, const char *value)
{
	struct mime_param *np = realloc(p->params,
					(p->n_params + 1) * sizeof(*np));

	if (np == NULL)
		return -1;
	p->params = np;
	np[p->n_params].name = strdup(name);
	np[p->n_params].value = strdup(value);
	p->n_params++;
	return np[p->n_params - 1].name != NULL &&
			       np[p->n_params - 1].value != NULL
		       ? 0
		       : -1;
}

static int
mime_part_headers(struct mime_ctx *ctx, struct mime_part *p, bool in_digest)
{
	struct mime_field f;
	size_t pos = 0;
	bool seen_ct = false;

	while (mime_next_field(ctx->msg + p->header_off, p->header_len, &pos,
			       &f) == 1)
		if (mime_header_field(p, &f, &seen_ct) < 0)
			return -1;
	if (p->type == NULL) {
		/* RFC 2045 §5.2 default, or RFC 2046 §5.1.5 in a digest.
		 * Parameters of an invalid Content-Type go with it. */
		mime_params_free(p->params, p->n_params);
		p->params = NULL;
		p->n_params = 0;
		if (in_digest)
			return mime_set_type(p, "message", "rfc822");
		if (mime_set_type(p, "text", "plain") < 0)
			return -1;
	}
	/* RFC 2045 §5.2: text without a charset is us-ascii; IMAP clients
	 * expect it spelled out (as Dovecot does). */
	if (strcmp(p->type, "text") == 0 && mime_param_get(p, "charset") == NULL)
		return mime_add_param(p, "charset", "us-ascii");
	return 0;
}

/* 0: no boundary line at pos; 1: a delimiter; 2: the close delimiter. */
static int
mime_delimiter_at(const char *m, size_t pos, size_t end, const char *b,
		  size_t blen)
{
	size_t after = pos + 2 + blen;

	if (after > end || m[pos] != '-' || m[pos + 1] != '-' ||
	    memcmp(m + pos + 2, b, blen) != 0)
		return 0;
	if (after + 2 <= end && m[after] == '-' && m[after + 1] == '-')
		return 2;
	/* RFC 2046 §5.1.1: only white space may follow a boundary. */
	if (after == end || (m[after] != '\0' && strchr(" \t\r\n", m[after])))
		return 1;
	return 0;
}

struct mime_split {
	struct mime_range *r;
	size_t n, cap;
};

static int
mime_split_push(struct mime_split *sp, size_t start, size_t end)
{
	if (sp->n == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 8;
		struct mime_range *r = realloc(sp->r, cap * sizeof(*r));

		if (r == NULL)
			return -1;
		sp->r = r;
		sp->cap = cap;
	}
	sp->r[sp->n].start = start;
	sp->r[sp->n].end = end;
	sp->n++;
	return 0;
}

/* Finds the child ranges of a multipart body. */
static int
mime_split_ranges(struct mime_ctx *ctx, const struct mime_part *p,
		  const char *b, struct mime_split *sp)
{
	const char *m = ctx->msg;
	size_t pos = p->body_off, end = p->body_off + p->body_len;
	size_t blen = strlen(b), start = pos;
	bool in_part = false;

	while (pos < end) {
		const char *lf = memchr(m + pos, '\n', end - pos);
		size_t next = lf ? (size_t)(lf - m) + 1 : end, cend = pos;
		int d = mime_delimiter_at(m, pos, end, b, blen);

		/* Past MIME_MAX_PARTS, delimiters are plain text. */
		if (d == 0 || (d == 1 && in_part &&
			       ctx->n_parts >= MIME_MAX_PARTS)) {
			pos = next;
			continue;
		}
		/* RFC 2046 §5.1.1: the line break before the boundary
		 * belongs to the boundary. */
		if (cend > start && m[cend - 1] == '\n')
			cend--;
		if (cend > start && m[cend - 1] == '\r')
			cend--;
		if (in_part && mime_split_push(sp, start, cend) < 0)
			return -1;
		in_part = d == 1 && ctx->n_parts < MIME_MAX_PARTS;
		if (d == 2)
			return 0; /* the epilogue is not a part */
		if (in_part)
			ctx->n_parts++;
		start = pos = next;
	}
	/* The close delimiter is missing: the last part runs to the end. */
	if (in_part)
		return mime_split_push(sp, start, end);
	return 0;
}

static int mime_parse_entity(struct mime_ctx *ctx, struct mime_part *p,
			     size_t off, size_t end, size_t depth,
			     bool in_digest);

static int
mime_parse_multipart(struct mime_ctx *ctx, struct mime_part *p, size_t depth)
{
	const char *b = mime_param_get(p, "boundary");
	struct mime_split sp = {NULL, 0, 0};
	bool digest = strcmp(p->subtype, "digest") == 0;
	int ret = -1;

	p->kind = MIME_KIND_MULTIPART;
	/* Without a boundary there are no parts; BODYSTRUCTURE then shows
	 * an empty text/plain part, as Dovecot does. */
	if (b == NULL || b[0] == '\0')
		return 0;
	if (mime_split_ranges(ctx, p, b, &sp) < 0)
		goto out;
	if (sp.n > 0) {
		p->children = calloc(sp.n, sizeof(*p->children));
		if (p->children == NULL)
			goto out;
		p->n_children = sp.n;
	}
	for (size_t i = 0; i < sp.n; i++)
		if (mime_parse_entity(ctx, &p->children[i], sp.r[i].start,
				      sp.r[i].end, depth + 1, digest) < 0)
			goto out;
	ret = 0;
out:
	free(sp.r);
	return ret;
}

static int
mime_parse_message(struct mime_ctx *ctx, struct mime_part *p, size_t depth)
{
	p->kind = MIME_KIND_MESSAGE;
	p->children = calloc(1, sizeof(*p->children));
	if (p->children == NULL)
		return -1;
	p->n_children = 1;
	ctx->n_parts++;
	return mime_parse_entity(ctx, p->children, p->body_off,
				 p->body_off + p->body_len, depth + 1, false);
}

static int
mime_parse_entity(struct mime_ctx *ctx, struct mime_part *p, size_t off,
		  size_t end, size_t depth, bool in_digest)
{
	bool room = depth + 1 < MIME_MAX_DEPTH;

	p->header_off = off;
	p->header_len = mime_header_block_len(ctx->msg + off, end - off);
	p->body_off = off + p->header_len;
	p->body_len = end - p->body_off;
	p->body_lines = mime_count_lines(ctx->msg + p->body_off, p->body_len);
	if (mime_part_headers(ctx, p, in_digest) < 0)
		return -1;
	bool multi = strcmp(p->type, "multipart") == 0;
	bool message = strcmp(p->type, "message") == 0 &&
		       (strcmp(p->subtype, "rfc822") == 0 ||
			strcmp(p->subtype, "global") == 0);

	if ((multi || message) &&
	    (!room || (message && ctx->n_parts >= MIME_MAX_PARTS)))
		/* Too deep or too many: opaque data, so that no client
		 * looks for parts we did not parse. */
		return mime_set_type(p, "application", "octet-stream");
	if (multi)
		return mime_parse_multipart(ctx, p, depth);
	if (message)
		return mime_parse_message(ctx, p, depth);
	return 0;
}

int
mime_parse(const char *msg, size_t len, struct mime_part **root_r)
{
	struct mime_ctx ctx = {msg, len, 1};
	struct mime_part *root = calloc(1, sizeof(*root));

	*root_r = NULL;
	if (root == NULL)
		return -1;
	if (mime_parse_entity(&ctx, root, 0, len, 0, false) < 0) {
		mime_free(&root);
		return -1;
	}
	*root_r = root;
	return 0;
}
