/*
 * IMAP keywords of a message (RFC 9051 §2.3.2), stored as one normalised
 * text: keywords separated by one space, each at most once (compared
 * ASCII case-insensitively, as flags are), first spelling kept. Shared by
 * every backend.
 */
#ifndef POSTEL_STORE_KW_H
#define POSTEL_STORE_KW_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

/* true when every keyword is an IMAP atom (RFC 9051 §9 atom-char: 0x21-0x7e
 * except ( ) { % * " \ ]) of 1..STORE_KEYWORD_LEN_MAX octets. */
bool store_kw_valid(char *const *kw, size_t n);

/* Applies a STORE mode to the current text cur (NULL or "" when none) and
 * the given keywords: SET replaces, ADD appends those not present, REMOVE
 * drops those present. *out_r is malloc'ed and normalised ("" when none).
 * 0, or -1 with *err_r "invalid keyword", "too many keywords" (more than
 * STORE_KEYWORDS_MAX after SET/ADD) or "out of memory". */
int store_kw_apply(const char *cur, enum store_flag_mode mode,
		   char *const *kw, size_t n, char **out_r,
		   const char **err_r);

/* true when the two texts (NULL = none) hold the same keywords, compared
 * case-insensitively and in any order; false also when out of memory. */
bool store_kw_equal(const char *a, const char *b);

#endif
