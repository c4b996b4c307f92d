/*
 * Bounded string helpers that know nothing about mail.
 */
#ifndef POSTEL_STR_H
#define POSTEL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies at most dstsize-1 bytes and always terminates; returns strlen(src)
 * so truncation is detectable (as OpenBSD's strlcpy). */
size_t str_lcpy(char *dst, const char *src, size_t dstsize);
/* ASCII lower-casing in place. */
void str_lower(char *s);
/* Case-insensitive ASCII compare of a length-delimited token with a C
 * string: true when they are equal. */
bool str_ieq(const char *tok, size_t len, const char *word);
/* Parses a decimal number in [min, max]; 0 ok, -1 otherwise. */
int str_tonum(const char *s, long long min, long long max, long long *out_r);
/* Returns a newly allocated copy of s[0..len) with a NUL, or NULL. */
char *str_ndup(const char *s, size_t len);
/* The same, ASCII lower-cased (up to the first NUL). */
char *str_lower_ndup(const char *s, size_t len);
/* A size in octets: digits with an optional K, M, G or T suffix (powers
 * of 1024, either case, "B" after it allowed: "512M", "1GB"); 0 or -1
 * when malformed or above max. */
int str_tosize(const char *s, uint64_t max, uint64_t *out_r);

/* Writes code point cp (at most 0x10ffff; the caller checks it is a
 * scalar value where that matters) as UTF-8 into out; returns the number
 * of octets, 1 to 4. */
size_t str_utf8_encode(uint32_t cp, char out[4]);

/* Value 0-15 of a hex digit (either case), or -1. */
int str_hex_value(unsigned char c);

/* true when some octet of p[0..len) is 0x80 or above (8-bit content,
 * RFC 6152). */
bool str_has_8bit(const void *p, size_t len);
/* Writes v in decimal at p (at most STR_U64_MAX bytes, no NUL) and returns
 * the end: for replies that format numbers per message, where printf's
 * cost shows (FETCH 1:* FLAGS, SEARCH of 100,000 messages). */
#define STR_U64_MAX 20
char *str_u64(char *p, uint64_t v);

#endif
