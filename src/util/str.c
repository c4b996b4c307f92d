/* Bounded string helpers. */
#include "str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t
str_lcpy(char *dst, const char *src, size_t dstsize)
{
	size_t len = strlen(src);

	if (dstsize > 0) {
		size_t n = len < dstsize - 1 ? len : dstsize - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

void
str_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool
str_ieq(const char *tok, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (word[i] == '\0' || ascii_lower(tok[i]) != ascii_lower(word[i]))
			return false;
	}
	return word[i] == '\0';
}

int
str_tonum(const char *s, long long min, long long max, long long *out_r)
{
	char *end;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out_r = v;
	return 0;
}

char *
str_ndup(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
str_lower_ndup(const char *s, size_t len)
{
	char *p = str_ndup(s, len);

	if (p != NULL)
		str_lower(p);
	return p;
}

int
str_tosize(const char *s, uint64_t max, uint64_t *out_r)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		char c = (char)(end[0] & ~0x20);
		const char *u = c != '\0' ? strchr(units, c) : NULL;

		if (u == NULL)
			return -1;
		shift = 10 * (unsigned)(u - units + 1);
		end++;
		if ((*end & ~0x20) == 'B')
			end++;
		if (*end != '\0')
			return -1;
	}
	if (v > (max >> shift))
		return -1;
	*out_r = (uint64_t)v << shift;
	return 0;
}

int
str_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool
str_has_8bit(const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i = 0;

	/* Eight octets at a time: every message body passes here once. */
	for (; i + sizeof(uint64_t) <= len; i += sizeof(uint64_t)) {
		uint64_t w;

		memcpy(&w, c + i, sizeof(w));
		if (w & UINT64_C(0x8080808080808080))
			return true;
	}
	for (; i < len; i++)
		if (c[i] >= 0x80)
			return true;
	return false;
}

char *
str_u64(char *p, uint64_t v)
{
	char t[STR_U64_MAX];
	size_t n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = t[--n];
	return p;
}

size_t
str_utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}
