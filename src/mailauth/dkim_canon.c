/*
 * DKIM canonicalisation (RFC 6376 §3.4): header fields (simple, relaxed),
 * the streaming body hasher (both, with l=), and splitting a message's
 * header section into its fields.
 *
 * Line ends: CRLF and a bare LF both end a line (a stored message is
 * CRLF; the outbound client sends a bare LF as CRLF, so hashing it as
 * CRLF matches what the receiver sees). A CR not before LF is data.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../util/buf.h"
#include "dkim.h"

static bool
dkim_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* ---- header fields -------------------------------------------------- */

/* RFC 6376 §3.4.2: name lower-cased, unfolded, WSP runs one SP, WSP
 * around the colon and at the end removed. */
static int
dkim_canon_relaxed(const char *raw, size_t n, bool crlf, struct buf *out)
{
	const char *colon = memchr(raw, ':', n);
	size_t name_end, i;
	bool wsp = false, any = false;
	char c;

	if (colon == NULL)
		return -1;
	name_end = (size_t)(colon - raw);
	while (name_end > 0 && dkim_wsp(raw[name_end - 1]))
		name_end--;
	if (buf_reserve(out, n + 2) < 0)
		return -1;
	for (i = 0; i < name_end; i++) {
		c = raw[i];
		out->data[out->len++] = (uint8_t)(c >= 'A' && c <= 'Z'
						  ? c + 32 : c);
	}
	out->data[out->len++] = ':';
	for (i = (size_t)(colon - raw) + 1; i < n; i++) {
		c = raw[i];
		if (c == '\r' || c == '\n' || dkim_wsp(c)) {
			/* CR alone is data in the body, but in a header a CR
			 * is only ever part of a fold or the end. */
			wsp = any;
			continue;
		}
		if (wsp)
			out->data[out->len++] = ' ';
		wsp = false;
		any = true;
		out->data[out->len++] = (uint8_t)c;
	}
	if (crlf) {
		out->data[out->len++] = '\r';
		out->data[out->len++] = '\n';
	}
	return 0;
}

/* RFC 6376 §3.4.1: unchanged (a bare LF made CRLF). */
static int
dkim_canon_simple(const char *raw, size_t n, bool crlf, struct buf *out)
{
	size_t end = n;

	if (end > 0 && raw[end - 1] == '\n')
		end--;
	if (end > 0 && raw[end - 1] == '\r')
		end--;
	if (buf_reserve(out, n + 2) < 0)
		return -1;
	for (size_t i = 0; i < end; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			out->data[out->len++] = '\r';
		if (buf_reserve(out, 3) < 0)
			return -1;
		out->data[out->len++] = (uint8_t)raw[i];
	}
	if (crlf) {
		out->data[out->len++] = '\r';
		out->data[out->len++] = '\n';
	}
	return 0;
}

int
dkim_canon_header(enum dkim_canon c, const char *raw, size_t n, bool crlf,
		  struct buf *out)
{
	return c == DKIM_CANON_RELAXED ? dkim_canon_relaxed(raw, n, crlf, out)
				       : dkim_canon_simple(raw, n, crlf, out);
}

/* ---- the body --------------------------------------------------------- */

#define DKIM_BODY_CHUNK 4096

struct dkim_body {
	EVP_MD_CTX *md;
	enum dkim_canon c;
	uint64_t limit;      /* canonical octets to hash */
	uint64_t total;      /* canonical octets produced */
	uint64_t blank;      /* empty lines held back (trailing ones vanish) */
	bool wsp;            /* relaxed: whitespace held back */
	bool cr;             /* a CR held back (LF may follow) */
	bool line;           /* the current line has content */
	size_t n;
	uint8_t out[DKIM_BODY_CHUNK];
};

struct dkim_body *
dkim_body_new(enum dkim_canon c, const char *md, uint64_t limit)
{
	struct dkim_body *b = calloc(1, sizeof(*b));
	const EVP_MD *m = strcmp(md, "sha1") == 0 ? EVP_sha1() : EVP_sha256();

	if (b == NULL)
		return NULL;
	b->md = EVP_MD_CTX_new();
	if (b->md == NULL || EVP_DigestInit_ex(b->md, m, NULL) != 1) {
		dkim_body_free(&b);
		return NULL;
	}
	b->c = c;
	b->limit = limit;
	return b;
}

static void
dkim_body_flush(struct dkim_body *b)
{
	uint64_t room = b->limit > b->total ? b->limit - b->total : 0;
	size_t take = b->n < room ? b->n : (size_t)room;

	if (take > 0)
		EVP_DigestUpdate(b->md, b->out, take);
	b->total += b->n;
	b->n = 0;
}

static inline void
dkim_body_put(struct dkim_body *b, uint8_t c)
{
	if (b->n == sizeof(b->out))
		dkim_body_flush(b);
	b->out[b->n++] = c;
}

/* A content octet of the current line. */
static inline void
dkim_body_content(struct dkim_body *b, uint8_t c)
{
	if (!b->line || b->wsp) {
		for (; b->blank > 0; b->blank--) {
			dkim_body_put(b, '\r');
			dkim_body_put(b, '\n');
		}
		if (b->wsp)
			dkim_body_put(b, ' ');
		b->wsp = false;
		b->line = true;
	}
	dkim_body_put(b, c);
}

static inline void
dkim_body_eol(struct dkim_body *b)
{
	if (b->line) {
		dkim_body_put(b, '\r');
		dkim_body_put(b, '\n');
	} else {
		b->blank++;
	}
	b->line = false;
	b->wsp = false;
}

/* A run of octets that are content as they are, copied in one go. */
static void
dkim_body_put_run(struct dkim_body *b, const uint8_t *s, size_t n)
{
	while (n > 0) {
		size_t take = sizeof(b->out) - b->n;

		if (take == 0) {
			dkim_body_flush(b);
			take = sizeof(b->out);
		}
		if (take > n)
			take = n;
		memcpy(b->out + b->n, s, take);
		b->n += take;
		s += take;
		n -= take;
	}
}

/* How many octets from s are plain content: neither CR nor LF, nor
 * (relaxed) whitespace. */
static size_t
dkim_body_plain(const struct dkim_body *b, const uint8_t *s, size_t n)
{
	size_t i = 0;

	if (b->c == DKIM_CANON_RELAXED)
		while (i < n && s[i] != '\r' && s[i] != '\n' && s[i] != ' ' &&
		       s[i] != '\t')
			i++;
	else
		while (i < n && s[i] != '\r' && s[i] != '\n')
			i++;
	return i;
}

void
dkim_body_update(struct dkim_body *b, const void *p, size_t n)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < n; i++) {
		uint8_t c;

		/* Inside a line with nothing held back, plain octets go
		 * out unchanged: copied by the run, not one by one (the
		 * per-octet state machine was most of a 4 KB message's
		 * canonicalisation). */
		if (b->line && !b->wsp && !b->cr) {
			size_t run = dkim_body_plain(b, s + i, n - i);

			dkim_body_put_run(b, s + i, run);
			i += run;
			if (i == n)
				break;
		}
		c = s[i];

		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				dkim_body_eol(b);
				continue;
			}
			dkim_body_content(b, '\r');
		}
		if (c == '\r')
			b->cr = true;
		else if (c == '\n')
			dkim_body_eol(b);
		else if (b->c == DKIM_CANON_RELAXED && dkim_wsp((char)c))
			b->wsp = true;
		else
			dkim_body_content(b, c);
	}
}

int
dkim_body_final(struct dkim_body *b, uint8_t *out, uint64_t *total_r)
{
	unsigned len = 0;

	if (b->cr)
		dkim_body_content(b, '\r');
	b->cr = false;
	b->wsp = false;
	/* An unfinished last line gets its CRLF; trailing empty lines are
	 * dropped; simple turns an empty body into one CRLF (§3.4.3). */
	if (b->line)
		dkim_body_eol(b);
	if (b->total + b->n == 0 && b->c == DKIM_CANON_SIMPLE) {
		dkim_body_put(b, '\r');
		dkim_body_put(b, '\n');
	}
	dkim_body_flush(b);
	*total_r = b->total;
	if (EVP_DigestFinal_ex(b->md, out, &len) != 1)
		return -1;
	return (int)len;
}

void
dkim_body_free(struct dkim_body **bp)
{
	if (*bp == NULL)
		return;
	EVP_MD_CTX_free((*bp)->md);
	free(*bp);
	*bp = NULL;
}

/* ---- header split --------------------------------------------------- */

int
dkim_header_split(const char *msg, size_t len, struct dkim_field *f,
		  size_t max, size_t *n_r, size_t *body_off_r)
{
	size_t i = 0, n = 0;

	*n_r = 0;
	*body_off_r = len;
	while (i < len) {
		size_t start = i;
		const char *colon;

		/* The empty line ending the header. */
		if (msg[i] == '\n' || (msg[i] == '\r' && i + 1 < len &&
				       msg[i + 1] == '\n')) {
			*body_off_r = i + (msg[i] == '\r' ? 2 : 1);
			break;
		}
		/* The field: its first line and every continuation. */
		for (;;) {
			const char *nl = memchr(msg + i, '\n', len - i);
			i = nl != NULL ? (size_t)(nl - msg) + 1 : len;
			if (i >= len || !dkim_wsp(msg[i]))
				break;
		}
		colon = memchr(msg + start, ':', i - start);
		if (colon == NULL || n == max)
			return -1;
		f[n].raw = msg + start;
		f[n].len = i - start;
		f[n].name_len = (size_t)(colon - (msg + start));
		while (f[n].name_len > 0 &&
		       dkim_wsp(msg[start + f[n].name_len - 1]))
			f[n].name_len--;
		n++;
	}
	*n_r = n;
	return 0;
}
