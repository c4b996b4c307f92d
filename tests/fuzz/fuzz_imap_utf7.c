/*
 * libFuzzer target for modified UTF-7 mailbox names (imap_utf7.c, RFC 3501
 * §5.1.3), both directions and their round trip:
 * - any valid UTF-8 without NUL encodes, and decodes back to itself;
 * - what decodes, re-encodes to itself (the decoder takes canonical forms
 *   only; two base64 runs side by side aside), and to a form that decodes
 *   to the same text and is its own canonical form;
 * - the encoder's output is printable US-ASCII only;
 * - an output buffer of exactly the size needed (+ NUL) suffices, one
 *   octet less is refused: neither direction writes past outcap.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*fuzz_utf7_fn)(const char *, size_t, char *, size_t);

/* Runs fn into a heap buffer of exactly outcap octets (ASan sees any write
 * past it). Returns the output (to free) or NULL when fn refused. */
static char *
fuzz_utf7_call(fuzz_utf7_fn fn, const char *in, size_t len, size_t outcap)
{
	char *out = malloc(outcap ? outcap : 1);

	if (out == NULL)
		abort();
	if (fn(in, len, out, outcap) < 0) {
		free(out);
		return NULL;
	}
	if (strlen(out) >= outcap)
		abort();
	return out;
}

/* fn with ample room, then again with exactly the room its output needs
 * and with one octet less. */
static char *
fuzz_utf7_convert(fuzz_utf7_fn fn, const char *in, size_t len)
{
	size_t cap = 8 * len + 16, n;
	char *out = fuzz_utf7_call(fn, in, len, cap), *again;

	if (out == NULL)
		return NULL;
	n = strlen(out);
	again = fuzz_utf7_call(fn, in, len, n + 1);
	if (again == NULL || strcmp(again, out) != 0)
		abort();
	free(again);
	if (fuzz_utf7_call(fn, in, len, n) != NULL)
		abort();
	return out;
}

/* Valid UTF-8 (no overlong forms, surrogates or values past U+10FFFF),
 * written independently of the decoder under test. */
static bool
fuzz_utf7_valid_utf8(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k;

		if (s[i] == 0)
			return false;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			k = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			k = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			k = 3;
			cp = s[i] & 0x07;
		} else {
			return false;
		}
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
		    (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);
	char *m, *u, *back;

	if (in == NULL)
		return 0;
	memcpy(in, data, size);

	/* UTF-8 -> modified UTF-7 -> UTF-8. */
	m = fuzz_utf7_convert(imap_utf8_to_mutf7, in, size);
	if (fuzz_utf7_valid_utf8(data, size) != (m != NULL))
		abort();
	if (m != NULL) {
		for (const char *p = m; *p != '\0'; p++)
			if (*p < 0x20 || *p > 0x7e)
				abort();
		back = fuzz_utf7_convert(imap_mutf7_to_utf8, m, strlen(m));
		if (back == NULL || strlen(back) != size ||
		    memcmp(back, data, size) != 0)
			abort();
		free(back);
		free(m);
	}

	/* Modified UTF-7 -> UTF-8 -> modified UTF-7 -> UTF-8. */
	u = fuzz_utf7_convert(imap_mutf7_to_utf8, in, size);
	if (u != NULL) {
		char *e = fuzz_utf7_convert(imap_utf8_to_mutf7, u, strlen(u));
		char *u2, *e2;

		if (e == NULL || !fuzz_utf7_valid_utf8((const uint8_t *)u,
						       strlen(u)))
			abort();
		/* RFC 3501 §5.1.3 forms are canonical (no base64 for what
		 * can stand for itself, "&-", no padding bits), so what
		 * decodes re-encodes to itself; but two runs side by side
		 * ("&AOk-&AOk-") re-encode as one. */
		if (memmem(in, size, "-&", 2) == NULL &&
		    (strlen(e) != size || memcmp(e, in, size) != 0))
			abort();
		u2 = fuzz_utf7_convert(imap_mutf7_to_utf8, e, strlen(e));
		if (u2 == NULL || strcmp(u2, u) != 0)
			abort();
		e2 = fuzz_utf7_convert(imap_utf8_to_mutf7, u2, strlen(u2));
		if (e2 == NULL || strcmp(e2, e) != 0)
			abort();
		free(e2);
		free(u2);
		free(e);
		free(u);
	}
	free(in);
	return 0;
}
