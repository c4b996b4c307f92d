/*
 * Base64 (RFC 4648 §4). The decoder is strict because its input comes from
 * the network (SASL responses): padding is required, no whitespace, no
 * characters outside the alphabet, and the unused bits of the last quantum
 * must be zero (RFC 4648 §3.5), so every byte string has one encoding.
 */
#include "base64.h"

#include <stdbool.h>

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
base64_encode(const void *in, size_t n, char *out)
{
	const uint8_t *p = in;
	size_t o = 0;

	while (n >= 3) {
		out[o++] = base64_alphabet[p[0] >> 2];
		out[o++] = base64_alphabet[((p[0] & 0x03) << 4) | (p[1] >> 4)];
		out[o++] = base64_alphabet[((p[1] & 0x0f) << 2) | (p[2] >> 6)];
		out[o++] = base64_alphabet[p[2] & 0x3f];
		p += 3;
		n -= 3;
	}
	if (n > 0) {
		unsigned b1 = n > 1 ? p[1] : 0;

		out[o++] = base64_alphabet[p[0] >> 2];
		out[o++] = base64_alphabet[((p[0] & 0x03) << 4) | (b1 >> 4)];
		out[o++] = n > 1 ? base64_alphabet[(b1 & 0x0f) << 2] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes one 4-character quantum; last tells whether padding may appear.
 * Returns the number of bytes produced (1-3) or -1. */
static int
base64_quantum(const char *q, bool last, uint8_t b[3])
{
	int v[4];
	int npad = 0;

	for (int i = 0; i < 4; i++) {
		if (q[i] == '=') {
			v[i] = 0;
			npad++;
			continue;
		}
		/* A data character after a pad character is malformed. */
		if (npad > 0)
			return -1;
		v[i] = base64_value((unsigned char)q[i]);
		if (v[i] < 0)
			return -1;
	}
	if (npad > 2 || (npad > 0 && !last))
		return -1;
	/* RFC 4648 §3.5: pad bits must be zero for a canonical encoding. */
	if ((npad == 2 && (v[1] & 0x0f) != 0) ||
	    (npad == 1 && (v[2] & 0x03) != 0))
		return -1;
	b[0] = (uint8_t)((v[0] << 2) | (v[1] >> 4));
	b[1] = (uint8_t)(((v[1] & 0x0f) << 4) | (v[2] >> 2));
	b[2] = (uint8_t)(((v[2] & 0x03) << 6) | v[3]);
	return 3 - npad;
}

int
base64_decode(const char *in, size_t n, uint8_t *out, size_t outcap,
	      size_t *outlen_r)
{
	size_t o = 0;

	/* RFC 4954 §4: a lone "=" stands for an empty response. */
	if (n == 0 || (n == 1 && in[0] == '=')) {
		*outlen_r = 0;
		return 0;
	}
	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		uint8_t b[3];
		int got = base64_quantum(in + i, i + 4 == n, b);

		if (got < 0 || (size_t)got > outcap - o)
			return -1;
		for (int k = 0; k < got; k++)
			out[o++] = b[k];
	}
	*outlen_r = o;
	return 0;
}
