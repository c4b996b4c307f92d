/*
 * Text helpers for SEARCH and SORT: case folding of UTF-8 for the
 * case-insensitive substring match of RFC 9051 §6.4.4 ("In all search keys
 * that use strings ... case-insensitive"). The RFC 5322 §3.3 date parser
 * used by SENT* and SORT DATE is mime_parse_date (src/mime/date.c).
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "imap_search.h"

/*
 * Simple case folding for the scripts our users write in most: the
 * mappings below follow Unicode's CaseFolding.txt (status C and S) for
 * U+0000..U+052F. A FOLD_RANGE entry adds delta to every code point in
 * [lo, hi]; a FOLD_PAIRS entry maps each even-offset code point (upper
 * case) to the next one (its lower case), as Latin Extended-A and the
 * Cyrillic supplement alternate. Sorted by lo.
 */
enum fold_kind { FOLD_RANGE = 0, FOLD_PAIRS };

struct fold_entry {
	uint32_t lo, hi;
	int32_t delta;
	enum fold_kind kind;
};

static const struct fold_entry fold_table[] = {
	{0x00B5, 0x00B5, 0x03BC - 0x00B5, FOLD_RANGE}, /* micro -> mu */
	{0x00C0, 0x00D6, 0x20, FOLD_RANGE},
	{0x00D8, 0x00DE, 0x20, FOLD_RANGE},
	{0x0100, 0x012F, 1, FOLD_PAIRS},
	{0x0130, 0x0130, 0x0069 - 0x0130, FOLD_RANGE}, /* dotted I -> i */
	{0x0132, 0x0137, 1, FOLD_PAIRS},
	{0x0139, 0x0148, 1, FOLD_PAIRS},
	{0x014A, 0x0177, 1, FOLD_PAIRS},
	{0x0178, 0x0178, 0x00FF - 0x0178, FOLD_RANGE}, /* Y diaeresis */
	{0x0179, 0x017E, 1, FOLD_PAIRS},
	{0x017F, 0x017F, 0x0073 - 0x017F, FOLD_RANGE}, /* long s -> s */
	{0x0386, 0x0386, 0x03AC - 0x0386, FOLD_RANGE},
	{0x0388, 0x038A, 0x03AD - 0x0388, FOLD_RANGE},
	{0x038C, 0x038C, 0x03CC - 0x038C, FOLD_RANGE},
	{0x038E, 0x038F, 0x03CD - 0x038E, FOLD_RANGE},
	{0x0391, 0x03A1, 0x20, FOLD_RANGE},
	{0x03A3, 0x03AB, 0x20, FOLD_RANGE},
	{0x03C2, 0x03C2, 1, FOLD_RANGE}, /* final sigma -> sigma */
	{0x03D8, 0x03EF, 1, FOLD_PAIRS},
	{0x0400, 0x040F, 0x50, FOLD_RANGE},
	{0x0410, 0x042F, 0x20, FOLD_RANGE},
	{0x0460, 0x0481, 1, FOLD_PAIRS},
	{0x048A, 0x04BF, 1, FOLD_PAIRS},
	{0x04C0, 0x04C0, 0x04CF - 0x04C0, FOLD_RANGE},
	{0x04C1, 0x04CE, 1, FOLD_PAIRS},
	{0x04D0, 0x052F, 1, FOLD_PAIRS},
};

#define FOLD_TABLE_N (sizeof(fold_table) / sizeof(fold_table[0]))
#define FOLD_LAST 0x052F

static uint32_t
fold_cp(uint32_t c)
{
	size_t lo = 0, hi = FOLD_TABLE_N;

	if (c < fold_table[0].lo || c > FOLD_LAST)
		return c;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct fold_entry *e = &fold_table[mid];

		if (c < e->lo) {
			hi = mid;
		} else if (c > e->hi) {
			lo = mid + 1;
		} else {
			if (e->kind == FOLD_PAIRS && ((c - e->lo) & 1) != 0)
				return c;
			return (uint32_t)((int32_t)c + e->delta);
		}
	}
	return c;
}

/* Decodes one UTF-8 sequence at s[0..len) (s[0] >= 0x80). Returns its
 * length and *cp_r, or 0 when it is not a valid, shortest-form sequence. */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t c;
	size_t n;

	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		c = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp_r = c;
	return n;
}

/* Writes the UTF-8 form of c (< 0x800, which is all fold_cp produces from a
 * 2-byte input) and returns its length. */
static size_t
utf8_encode_short(uint32_t c, unsigned char *out)
{
	if (c < 0x80) {
		out[0] = (unsigned char)c;
		return 1;
	}
	out[0] = (unsigned char)(0xC0 | (c >> 6));
	out[1] = (unsigned char)(0x80 | (c & 0x3F));
	return 2;
}

int
imap_text_fold(const char *s, size_t len, struct buf *out)
{
	const unsigned char *in = (const unsigned char *)s;
	unsigned char *o;
	size_t i = 0;

	/* Folding never lengthens text (every mapping stays within the same
	 * or a shorter UTF-8 length), so one reservation is enough. */
	if (len == 0)
		return 0;
	if (buf_reserve(out, len) != 0)
		return -1;
	o = out->data + out->len;
	while (i < len) {
		uint32_t c;
		size_t n;

		if (in[i] < 0x80) {
			unsigned char b = in[i++];

			*o++ = (b >= 'A' && b <= 'Z') ? (unsigned char)(b + 32)
						      : b;
			continue;
		}
		n = utf8_decode(in + i, len - i, &c);
		if (n == 0) {
			*o++ = in[i++]; /* invalid: the byte itself */
		} else if (n == 2) {
			o += utf8_encode_short(fold_cp(c), o);
			i += 2;
		} else {
			memcpy(o, in + i, n);
			o += n;
			i += n;
		}
	}
	out->len = (size_t)(o - out->data);
	return 0;
}

bool
imap_text_find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return true;
	if (nlen > hlen)
		return false;
	return memmem(hay, hlen, needle, nlen) != NULL;
}

bool
imap_text_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\r' && s[i] != '\n' && s[i] != '\0' &&
		    s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}
