/*
 * Base64 (RFC 4648 §4) for SASL exchanges and MIME.
 */
#ifndef POSTEL_BASE64_H
#define POSTEL_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Size of the encoding of n bytes, without NUL. */
#define BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/* Writes the encoding and a NUL; out must hold BASE64_ENCODED_LEN(n) + 1. */
void base64_encode(const void *in, size_t n, char *out);
/* Strict decode (padding required, no whitespace); "=" alone is the empty
 * string as RFC 4954 allows. 0 ok with *outlen_r set; -1 malformed or when
 * the result exceeds outcap. */
int base64_decode(const char *in, size_t n, uint8_t *out, size_t outcap,
		  size_t *outlen_r);

/* Value 0-63 of one base64 alphabet character, or -1 (MIME's tolerant
 * body decoder skips what is not in the alphabet). */
int base64_value(unsigned char c);

#endif
