/*
 * Modified UTF-7 mailbox names (RFC 3501 §5.1.3), for IMAP4rev1 clients;
 * IMAP4rev2 uses UTF-8 directly (RFC 9051 §5.1). Printable US-ASCII but
 * "&" stands for itself, "&-" is "&", and everything else is UTF-16BE in
 * base64 (with "," for "/") between "&" and "-". Both directions refuse
 * what RFC 3501 forbids: non-canonical encodings, 8-bit octets, bad
 * surrogates, and invalid UTF-8.
 */
#include "imap_parse.h"

#include <string.h>

#include "../util/str.h"

static const char imap_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

struct imap_out {
	char *p;
	size_t n, cap;
};

static int
imap_out_byte(struct imap_out *o, char c)
{
	if (o->n + 1 >= o->cap) /* keep room for the NUL */
		return -1;
	o->p[o->n++] = c;
	return 0;
}

static int
imap_out_utf8(struct imap_out *o, uint32_t cp)
{
	char b[4];
	size_t n = str_utf8_encode(cp, b);

	for (size_t i = 0; i < n; i++)
		if (imap_out_byte(o, b[i]) < 0)
			return -1;
	return 0;
}

static int
imap_b64_value(char c)
{
	const char *p = c != '\0' ? strchr(imap_b64, c) : NULL;

	return p != NULL ? (int)(p - imap_b64) : -1;
}

/* Decodes the base64 run at in[*i] up to its "-"; advances *i past it. */
static int
imap_mutf7_run(const char *in, size_t len, size_t *i, struct imap_out *o)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	size_t start = *i;

	for (; *i < len && in[*i] != '-'; (*i)++) {
		int v = imap_b64_value(in[*i]);

		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		if (high != 0) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			u = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
			high = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			high = u;
			continue;
		} else if (u == 0 || (u >= 0xdc00 && u <= 0xdfff) ||
			   (u >= 0x20 && u <= 0x7e)) {
			return -1; /* lone low surrogate; printable ASCII */
		}
		if (imap_out_utf8(o, u) < 0)
			return -1;
	}
	/* Ends with "-", not empty, no pending surrogate, zero pad bits. */
	if (*i >= len || *i == start || high != 0 || nbits >= 6 || bits != 0)
		return -1;
	(*i)++;
	return 0;
}

int
imap_mutf7_to_utf8(const char *in, size_t len, char *out, size_t outcap)
{
	struct imap_out o = {out, 0, outcap};
	size_t i = 0;

	if (outcap == 0)
		return -1;
	while (i < len) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x20 || c > 0x7e)
			return -1;
		if (c != '&') {
			if (imap_out_byte(&o, (char)c) < 0)
				return -1;
			i++;
		} else if (i + 1 < len && in[i + 1] == '-') {
			if (imap_out_byte(&o, '&') < 0)
				return -1;
			i += 2;
		} else {
			i++;
			if (imap_mutf7_run(in, len, &i, &o) < 0)
				return -1;
		}
	}
	out[o.n] = '\0';
	return 0;
}

/* One UTF-8 sequence at in[*i]: the code point, or -1 (overlong,
 * surrogate, above U+10FFFF, truncated). */
static int32_t
imap_utf8_next(const unsigned char *in, size_t len, size_t *i)
{
	unsigned char c = in[*i];
	size_t n;
	uint32_t cp, min;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3; cp = c & 0x07; min = 0x10000;
	} else {
		return -1;
	}
	if (len - *i <= n)
		return -1;
	for (size_t k = 1; k <= n; k++) {
		if ((in[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (in[*i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += n + 1;
	return (int32_t)cp;
}

struct imap_b64_state {
	uint32_t bits;
	unsigned nbits;
};

static int
imap_b64_put16(struct imap_out *o, struct imap_b64_state *b, uint32_t u)
{
	b->bits = (b->bits << 16) | u;
	b->nbits += 16;
	while (b->nbits >= 6) {
		b->nbits -= 6;
		if (imap_out_byte(o, imap_b64[(b->bits >> b->nbits) & 0x3f]) < 0)
			return -1;
	}
	b->bits &= (1u << b->nbits) - 1;
	return 0;
}

/* Encodes the non-printable run starting at in[*i]; closes it with "-". */
static int
imap_utf7_run(const unsigned char *in, size_t len, size_t *i,
	      struct imap_out *o)
{
	struct imap_b64_state b = {0, 0};

	if (imap_out_byte(o, '&') < 0)
		return -1;
	while (*i < len && (in[*i] < 0x20 || in[*i] > 0x7e)) {
		int32_t cp = imap_utf8_next(in, len, i);

		if (cp <= 0) /* NUL never belongs in a mailbox name */
			return -1;
		if (cp >= 0x10000) {
			uint32_t v = (uint32_t)cp - 0x10000;
			if (imap_b64_put16(o, &b, 0xd800 | (v >> 10)) < 0 ||
			    imap_b64_put16(o, &b, 0xdc00 | (v & 0x3ff)) < 0)
				return -1;
		} else if (imap_b64_put16(o, &b, (uint32_t)cp) < 0) {
			return -1;
		}
	}
	if (b.nbits > 0 &&
	    imap_out_byte(o, imap_b64[(b.bits << (6 - b.nbits)) & 0x3f]) < 0)
		return -1;
	return imap_out_byte(o, '-');
}

int
imap_utf8_to_mutf7(const char *in, size_t len, char *out, size_t outcap)
{
	const unsigned char *u = (const unsigned char *)in;
	struct imap_out o = {out, 0, outcap};
	size_t i = 0;

	if (outcap == 0)
		return -1;
	while (i < len) {
		if (u[i] >= 0x20 && u[i] <= 0x7e) {
			if (imap_out_byte(&o, (char)u[i]) < 0 ||
			    (u[i] == '&' && imap_out_byte(&o, '-') < 0))
				return -1;
			i++;
		} else if (imap_utf7_run(u, len, &i, &o) < 0) {
			return -1;
		}
	}
	out[o.n] = '\0';
	return 0;
}
