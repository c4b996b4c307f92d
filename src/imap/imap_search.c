/*
 * SEARCH evaluation (RFC 9051 §6.4.4, RFC 7162 §3.1.5 MODSEQ). One call
 * decides one message; everything derived from the message's bytes (the
 * header block, the decoded header text, the decoded body text, the Date:
 * header) is computed at most once per call and only when a key needs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include "../mime/mime.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "imap_preview.h"
#include "imap_search.h"

/* Decoded text may be longer than the raw bytes (a Latin-1 octet becomes
 * two UTF-8 bytes, an undecodable one three), never by more than this. */
#define SEARCH_TEXT_GROWTH 4
#define SEARCH_TEXT_SLACK 4096

enum search_state { SEARCH_UNKNOWN = 0, SEARCH_OK, SEARCH_BAD };

struct search_ctx {
	const struct imap_search_msg *m;
	uint32_t max_seq, max_uid;
	size_t hdr_len;            /* valid when hdr_state == SEARCH_OK */
	enum search_state hdr_state;
	enum search_state date_state;
	int64_t sent_day;
	bool hdr_text_done, body_text_done;
	struct buf hdr_text;  /* folded, decoded "Name: value\n" lines */
	struct buf body_text; /* folded, decoded text parts, NUL-separated */
	struct buf needle;    /* folded search string of the current key */
	struct buf tmp, tmp2; /* scratch for decoding */
	struct mime_part *root;
};

static bool search_node(struct search_ctx *c, const struct imap_search_node *n);

static void
search_ctx_init(struct search_ctx *c, const struct imap_search_msg *m,
		uint32_t max_seq, uint32_t max_uid)
{
	size_t max = (m->data != NULL ? m->len : m->fields_len) *
		     SEARCH_TEXT_GROWTH + SEARCH_TEXT_SLACK;

	memset(c, 0, sizeof(*c));
	c->m = m;
	c->max_seq = max_seq;
	c->max_uid = max_uid;
	buf_init(&c->hdr_text, max);
	buf_init(&c->body_text, max);
	buf_init(&c->needle, max);
	buf_init(&c->tmp, max);
	buf_init(&c->tmp2, max);
}

static void
search_ctx_fini(struct search_ctx *c)
{
	buf_fini(&c->hdr_text);
	buf_fini(&c->body_text);
	buf_fini(&c->needle);
	buf_fini(&c->tmp);
	buf_fini(&c->tmp2);
	mime_free(&c->root);
}

static bool
search_header(struct search_ctx *c, const char **hdr_r, size_t *len_r)
{
	if (c->m->data == NULL)
		return false;
	if (c->hdr_state == SEARCH_UNKNOWN) {
		c->hdr_len = mime_header_block_len(c->m->data, c->m->len);
		c->hdr_state = SEARCH_OK;
	}
	*hdr_r = c->m->data;
	*len_r = c->hdr_len;
	return true;
}

/* The header block holding field name: the stored search fields when
 * they have it (no file read), else the message's header. */
static bool
search_field_block(struct search_ctx *c, const char *name,
		   const char **hdr_r, size_t *len_r)
{
	if (c->m->fields != NULL && mime_is_search_field(name, strlen(name))) {
		*hdr_r = c->m->fields;
		*len_r = c->m->fields_len;
		return true;
	}
	return search_header(c, hdr_r, len_r);
}

/* Decodes a header value (RFC 2047) into c->tmp2; raw on failure. */
static void
decode_value(struct search_ctx *c, const char *v, size_t len,
	     const char **out_r, size_t *out_len_r)
{
	buf_reset(&c->tmp2);
	if (imap_text_blank(v, len)) {
		*out_r = "";
		*out_len_r = 0;
	} else if (mime_decode_header(v, len, &c->tmp2) == 0) {
		*out_r = (const char *)c->tmp2.data;
		*out_len_r = c->tmp2.len;
	} else {
		*out_r = v;
		*out_len_r = len;
	}
}

/* Appends the decoded, folded fields of a header block to dst as
 * "name: value\n" lines (the TEXT key and embedded message headers). */
static void
append_header_text(struct search_ctx *c, const char *hdr, size_t len,
		   struct buf *dst)
{
	struct mime_field f;
	size_t pos = 0;

	while (mime_next_field(hdr, len, &pos, &f) == 1) {
		const char *v;
		size_t vlen;

		decode_value(c, f.value, f.value_len, &v, &vlen);
		buf_reset(&c->tmp);
		if (buf_append(&c->tmp, f.name, f.name_len) != 0 ||
		    buf_append(&c->tmp, ": ", 2) != 0 ||
		    buf_append(&c->tmp, v, vlen) != 0 ||
		    buf_append(&c->tmp, "\n", 1) != 0)
			return;
		if (imap_text_fold((const char *)c->tmp.data, c->tmp.len,
				   dst) != 0)
			return;
	}
}

static bool
set_needle(struct search_ctx *c, const char *s)
{
	buf_reset(&c->needle);
	return s != NULL && imap_text_fold(s, strlen(s), &c->needle) == 0;
}

static bool
needle_in(const struct search_ctx *c, const struct buf *hay)
{
	return imap_text_find((const char *)hay->data, hay->len,
			      (const char *)c->needle.data, c->needle.len);
}

/* RFC 9051 §6.4.4 FROM/TO/CC/BCC/SUBJECT/HEADER: the string occurs in the
 * decoded value of some instance of the field; HEADER with an empty string
 * matches every message that has the field. */
static bool
match_field(struct search_ctx *c, const char *name, const char *str)
{
	struct mime_field f;
	const char *hdr;
	size_t len, pos = 0, name_len = strlen(name);

	if (!search_field_block(c, name, &hdr, &len) || !set_needle(c, str))
		return false;
	while (mime_next_field(hdr, len, &pos, &f) == 1) {
		const char *v;
		size_t vlen;

		if (f.name_len != name_len ||
		    strncasecmp(f.name, name, name_len) != 0)
			continue;
		if (c->needle.len == 0)
			return true;
		decode_value(c, f.value, f.value_len, &v, &vlen);
		buf_reset(&c->tmp);
		if (imap_text_fold(v, vlen, &c->tmp) == 0 &&
		    needle_in(c, &c->tmp))
			return true;
	}
	return false;
}

/* One text leaf: transfer-decode, convert to UTF-8, fold, append. */
static void
append_leaf_text(struct search_ctx *c, const struct mime_part *p)
{
	const char *text;
	size_t len;

	if (imap_leaf_text(c->m->data, c->m->len, p, SIZE_MAX, &c->tmp,
			   &c->tmp2, &text, &len) < 0)
		return;
	/* NUL between parts: a search string cannot contain NUL, so no match
	 * spans two parts. */
	if (c->body_text.len > 0 && buf_append(&c->body_text, "", 1) != 0)
		return;
	(void)imap_text_fold(text, len, &c->body_text);
}

/* RFC 9051 §6.4.4 BODY: the text of every "text" part; message/rfc822
 * parts contribute their embedded header and, recursively, their body. */
static void
append_part_text(struct search_ctx *c, const struct mime_part *p)
{
	const struct mime_part *inner;

	switch (p->kind) {
	case MIME_KIND_MULTIPART:
		for (size_t i = 0; i < p->n_children; i++)
			append_part_text(c, &p->children[i]);
		break;
	case MIME_KIND_MESSAGE:
		if (p->n_children == 0)
			break;
		inner = &p->children[0];
		if (inner->header_off <= c->m->len &&
		    inner->header_len <= c->m->len - inner->header_off) {
			if (c->body_text.len > 0)
				(void)buf_append(&c->body_text, "", 1);
			append_header_text(c, c->m->data + inner->header_off,
					   inner->header_len, &c->body_text);
		}
		append_part_text(c, inner);
		break;
	case MIME_KIND_LEAF:
		if (p->type == NULL || strcasecmp(p->type, "text") == 0)
			append_leaf_text(c, p);
		break;
	}
}

static bool
search_body_text(struct search_ctx *c)
{
	const char *hdr;
	size_t hlen;

	if (c->body_text_done)
		return true;
	if (!search_header(c, &hdr, &hlen))
		return false;
	c->body_text_done = true;
	if (mime_parse(c->m->data, c->m->len, &c->root) == 0 &&
	    c->root != NULL) {
		append_part_text(c, c->root);
	} else {
		/* Out of memory in the parser: search the raw body. */
		(void)imap_text_fold(c->m->data + hlen, c->m->len - hlen,
				     &c->body_text);
	}
	return true;
}

static bool
match_body(struct search_ctx *c, const char *str, bool with_header)
{
	const char *hdr;
	size_t hlen;

	if (!search_header(c, &hdr, &hlen) || !set_needle(c, str))
		return false;
	if (with_header) {
		if (!c->hdr_text_done) {
			c->hdr_text_done = true;
			append_header_text(c, hdr, hlen, &c->hdr_text);
		}
		if (needle_in(c, &c->hdr_text))
			return true;
	}
	return search_body_text(c) && needle_in(c, &c->body_text);
}

static int64_t
day_of(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

/* The Date: header's calendar day as written (its own zone). false when
 * there is none or it does not parse: SENT* then never matches. */
static bool
sent_day(struct search_ctx *c, int64_t *day_r)
{
	if (c->date_state == SEARCH_UNKNOWN) {
		struct mime_field f;
		const char *hdr;
		size_t len, pos = 0;
		int64_t t;

		c->date_state = SEARCH_BAD;
		if (!search_field_block(c, "date", &hdr, &len))
			return false;
		while (mime_next_field(hdr, len, &pos, &f) == 1) {
			if (f.name_len != 4 || strncasecmp(f.name, "date", 4))
				continue;
			if (mime_parse_date(f.value, f.value_len, &t,
					    &c->sent_day) == 0)
				c->date_state = SEARCH_OK;
			break;
		}
	}
	*day_r = c->sent_day;
	return c->date_state == SEARCH_OK;
}

static bool
set_has(const struct imap_seqset *set, uint32_t n, uint32_t max)
{
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo, hi;

		imap_range_bounds(&set->r[i], max, &lo, &hi);
		if (n >= lo && n <= hi)
			return true;
	}
	return false;
}

/* KEYWORD: case-insensitive among the message's keywords (a system flag
 * is not a flag-keyword: the parser answers BAD, RFC 9051 §9). */
static bool
has_keyword(const struct imap_search_msg *m, const char *kw)
{
	const char *p = m->keywords;
	size_t kl;

	if (kw == NULL)
		return false;
	kl = strlen(kw);
	while (p != NULL && *p != '\0') {
		size_t wl = strcspn(p, " ");

		if (wl == kl && wl > 0 && strncasecmp(p, kw, kl) == 0)
			return true;
		p += wl;
		p += strspn(p, " ");
	}
	return false;
}

static bool
search_flag(const struct imap_search_msg *m, enum imap_search_key k)
{
	switch (k) {
	case IMAP_SK_ANSWERED:
		return (m->flags & STORE_FLAG_ANSWERED) != 0;
	case IMAP_SK_DELETED:
		return (m->flags & STORE_FLAG_DELETED) != 0;
	case IMAP_SK_DRAFT:
		return (m->flags & STORE_FLAG_DRAFT) != 0;
	case IMAP_SK_FLAGGED:
		return (m->flags & STORE_FLAG_FLAGGED) != 0;
	case IMAP_SK_SEEN:
		return (m->flags & STORE_FLAG_SEEN) != 0;
	case IMAP_SK_RECENT:
		return m->recent;
	case IMAP_SK_NEW: /* RFC 3501: RECENT UNSEEN */
		return m->recent && (m->flags & STORE_FLAG_SEEN) == 0;
	case IMAP_SK_OLD:
		return !m->recent;
	case IMAP_SK_UNANSWERED:
		return (m->flags & STORE_FLAG_ANSWERED) == 0;
	case IMAP_SK_UNDELETED:
		return (m->flags & STORE_FLAG_DELETED) == 0;
	case IMAP_SK_UNDRAFT:
		return (m->flags & STORE_FLAG_DRAFT) == 0;
	case IMAP_SK_UNFLAGGED:
		return (m->flags & STORE_FLAG_FLAGGED) == 0;
	case IMAP_SK_UNSEEN:
		return (m->flags & STORE_FLAG_SEEN) == 0;
	default:
		return false;
	}
}

/* true when id is "M<blob_id>" as FETCH EMAILID writes it. */
static bool
emailid_is(int64_t blob_id, const char *id)
{
	char want[32];

	snprintf(want, sizeof(want), "M%lld", (long long)blob_id);
	return strcmp(want, id) == 0;
}

static bool
search_date(struct search_ctx *c, const struct imap_search_node *n)
{
	int64_t want = day_of(n->date), have;

	switch (n->key) {
	case IMAP_SK_BEFORE:
	case IMAP_SK_ON:
	case IMAP_SK_SINCE:
		have = day_of(c->m->internaldate);
		break;
	case IMAP_SK_SAVEDBEFORE:
	case IMAP_SK_SAVEDON:
	case IMAP_SK_SAVEDSINCE:
		have = day_of(c->m->savedate);
		break;
	default:
		if (!sent_day(c, &have))
			return false;
		break;
	}
	switch (n->key) {
	case IMAP_SK_BEFORE:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SAVEDBEFORE:
		return have < want;
	case IMAP_SK_ON:
	case IMAP_SK_SENTON:
	case IMAP_SK_SAVEDON:
		return have == want;
	default: /* SINCE, SENTSINCE, SAVEDSINCE */
		return have >= want;
	}
}

static bool
key_needs_text(const struct imap_search_node *n)
{
	switch (n->key) {
	case IMAP_SK_BCC:
	case IMAP_SK_CC:
	case IMAP_SK_FROM:
	case IMAP_SK_TO:
	case IMAP_SK_SUBJECT:
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
	case IMAP_SK_HEADER:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		return true;
	default:
		return false;
	}
}

/* HEADER of a field outside the search fields, BODY and TEXT: the
 * message itself. */
static bool
key_needs_file(const struct imap_search_node *n)
{
	if (n->key == IMAP_SK_HEADER)
		return n->field == NULL ||
		       !mime_is_search_field(n->field, strlen(n->field));
	return n->key == IMAP_SK_BODY || n->key == IMAP_SK_TEXT;
}

/* The other text keys read only the search fields (mime.h). */
static bool
key_needs_fields(const struct imap_search_node *n)
{
	return key_needs_text(n) && !key_needs_file(n);
}

/* What a selected view does not hold: the file, the size or the date. */
static bool
key_needs_row(const struct imap_search_node *n)
{
	switch (n->key) {
	case IMAP_SK_BEFORE:
	case IMAP_SK_ON:
	case IMAP_SK_SINCE:
	case IMAP_SK_LARGER:
	case IMAP_SK_SMALLER:
	case IMAP_SK_OLDER:
	case IMAP_SK_YOUNGER:
	case IMAP_SK_SAVEDBEFORE:
	case IMAP_SK_SAVEDON:
	case IMAP_SK_SAVEDSINCE:
	case IMAP_SK_EMAILID:
		return true;
	default:
		return key_needs_file(n);
	}
}

/* true when a key of the tree satisfies pred. */
static bool
node_needs(const struct imap_search_node *n,
	   bool (*pred)(const struct imap_search_node *))
{
	switch (n->key) {
	case IMAP_SK_AND:
		for (const struct imap_search_node *k = n->a; k != NULL;
		     k = k->next)
			if (node_needs(k, pred))
				return true;
		return false;
	case IMAP_SK_OR:
		return (n->a != NULL && node_needs(n->a, pred)) ||
		       (n->b != NULL && node_needs(n->b, pred));
	case IMAP_SK_NOT:
		return n->a != NULL && node_needs(n->a, pred);
	default:
		return pred(n);
	}
}

static bool
node_needs_text(const struct imap_search_node *n)
{
	return node_needs(n, key_needs_text);
}

bool
imap_search_needs_text(const struct imap_search_node *root)
{
	return root != NULL && node_needs_text(root);
}

bool
imap_search_needs_file(const struct imap_search_node *root)
{
	return root != NULL && node_needs(root, key_needs_file);
}

bool
imap_search_needs_fields(const struct imap_search_node *root)
{
	return root != NULL && node_needs(root, key_needs_fields);
}

bool
imap_search_needs_row(const struct imap_search_node *root)
{
	return root != NULL && node_needs(root, key_needs_row);
}

/* AND: the cheap keys (flags, sets, sizes, dates) first, so a message
 * they reject is never read or decoded. */
static bool
search_and(struct search_ctx *c, const struct imap_search_node *n)
{
	const struct imap_search_node *k;

	for (k = n->a; k != NULL; k = k->next)
		if (!node_needs_text(k) && !search_node(c, k))
			return false;
	for (k = n->a; k != NULL; k = k->next)
		if (node_needs_text(k) && !search_node(c, k))
			return false;
	return true;
}

static bool
search_text_key(struct search_ctx *c, const struct imap_search_node *n)
{
	switch (n->key) {
	case IMAP_SK_BCC:
		return match_field(c, "bcc", n->str);
	case IMAP_SK_CC:
		return match_field(c, "cc", n->str);
	case IMAP_SK_FROM:
		return match_field(c, "from", n->str);
	case IMAP_SK_TO:
		return match_field(c, "to", n->str);
	case IMAP_SK_SUBJECT:
		return match_field(c, "subject", n->str);
	case IMAP_SK_HEADER:
		return n->field != NULL && match_field(c, n->field, n->str);
	case IMAP_SK_BODY:
		return match_body(c, n->str, false);
	default: /* TEXT */
		return match_body(c, n->str, true);
	}
}

static bool
search_node(struct search_ctx *c, const struct imap_search_node *n)
{
	const struct imap_search_msg *m = c->m;

	switch (n->key) {
	case IMAP_SK_ALL:
		return true;
	case IMAP_SK_AND:
		return search_and(c, n);
	case IMAP_SK_OR:
		return (n->a != NULL && search_node(c, n->a)) ||
		       (n->b != NULL && search_node(c, n->b));
	case IMAP_SK_NOT:
		return n->a != NULL && !search_node(c, n->a);
	case IMAP_SK_SEQSET:
		return set_has(&n->set, m->seq, c->max_seq);
	case IMAP_SK_UID:
		return set_has(&n->set, m->uid, c->max_uid);
	case IMAP_SK_KEYWORD:
		return has_keyword(m, n->str);
	case IMAP_SK_UNKEYWORD:
		return !has_keyword(m, n->str);
	case IMAP_SK_BCC:
	case IMAP_SK_CC:
	case IMAP_SK_FROM:
	case IMAP_SK_TO:
	case IMAP_SK_SUBJECT:
	case IMAP_SK_HEADER:
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		return search_text_key(c, n);
	case IMAP_SK_BEFORE:
	case IMAP_SK_ON:
	case IMAP_SK_SINCE:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
	case IMAP_SK_SAVEDBEFORE:
	case IMAP_SK_SAVEDON:
	case IMAP_SK_SAVEDSINCE:
		return search_date(c, n);
	/* RFC 5032 §3: the internal date against now minus the interval
	 * (m->size < 0: expunged meanwhile, its date unknown). */
	case IMAP_SK_OLDER:
		return m->size >= 0 &&
		       m->internaldate <= (int64_t)time(NULL) - (int64_t)n->num;
	case IMAP_SK_YOUNGER:
		return m->size >= 0 &&
		       m->internaldate >= (int64_t)time(NULL) - (int64_t)n->num;
	/* RFC 8474 §6: EMAILID as FETCH shows it; no thread ids kept. */
	case IMAP_SK_EMAILID:
		return m->size >= 0 && emailid_is(m->blob_id, n->str);
	case IMAP_SK_THREADID:
		return false;
	/* RFC 8514 §4: every mailbox keeps a save date. */
	case IMAP_SK_SAVEDATESUPPORTED:
		return true;
	case IMAP_SK_LARGER: /* RFC 9051: strictly larger / smaller */
		return m->size >= 0 && (uint64_t)m->size > n->num;
	case IMAP_SK_SMALLER:
		return m->size >= 0 && (uint64_t)m->size < n->num;
	case IMAP_SK_MODSEQ: /* RFC 7162 §3.1.5: mod-sequence >= value */
		return m->modseq >= n->num;
	default:
		return search_flag(m, n->key);
	}
}

int
imap_search_match(const struct imap_search_node *root,
		  const struct imap_search_msg *m, uint32_t max_seq,
		  uint32_t max_uid)
{
	struct search_ctx c;
	bool r;

	if (root == NULL)
		return 1;
	search_ctx_init(&c, m, max_seq, max_uid);
	r = search_node(&c, root);
	search_ctx_fini(&c);
	return r ? 1 : 0;
}
