/* xtext (RFC 3461 §4), see xtext.h. */
#include "xtext.h"

static int
xtext_hex(char c)
{
	/* RFC 3461 §4: hexchar uses upper-case digits only. */
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
xtext_decode(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < 33 || c > 126 || c == '=')
			return -1;
		if (c == '+') {
			int hi, lo;

			if (n - i < 3)
				return -1;
			hi = xtext_hex(in[i + 1]);
			lo = xtext_hex(in[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	if (cap == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

int
xtext_encode(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (*p >= 33 && *p <= 126 && *p != '+' && *p != '=') {
			if (o + 1 >= cap)
				return -1;
			out[o++] = (char)*p;
			continue;
		}
		if (o + 3 >= cap)
			return -1;
		out[o++] = '+';
		out[o++] = hex[*p >> 4];
		out[o++] = hex[*p & 15];
	}
	if (cap == 0)
		return -1;
	out[o] = '\0';
	return 0;
}
