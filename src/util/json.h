/*
 * A small JSON reader (RFC 8259) for the ACME client's replies: the text
 * is split into a flat token array (objects, arrays, strings, primitives)
 * that the caller walks by index; nothing is copied until a string is
 * asked for. Pure, bounded, no allocation.
 */
#ifndef POSTEL_JSON_H
#define POSTEL_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* Nesting deeper than this is refused (no reply we read nests past 4). */
#define JSON_DEPTH_MAX 32

enum json_type {
	JSON_OBJECT = 1,
	JSON_ARRAY,
	JSON_STRING,    /* start/len: between the quotes, still escaped */
	JSON_PRIMITIVE, /* number, true, false, null */
};

struct json_tok {
	enum json_type type;
	size_t start, len;
	size_t size; /* members of an object (keys), elements of an array */
	size_t next; /* index of the token after this one's whole subtree */
};

/* Tokenizes one JSON value (whitespace around it allowed, nothing else).
 * Returns the number of tokens (>= 1), or -1 when the text is not JSON,
 * nests deeper than JSON_DEPTH_MAX or needs more than max tokens. An
 * object's tokens are key, value, key, value... */
int json_parse(const char *text, size_t len, struct json_tok *toks,
	       size_t max);

/* The value token of key in the object at index obj, or -1 (not an
 * object, no such key). */
int json_get(const char *text, const struct json_tok *toks, int obj,
	     const char *key);
/* The i-th element of the array at index arr, or -1. */
int json_elem(const struct json_tok *toks, int arr, size_t i);

/* The string token at index t unescaped into out (UTF-8, NUL-ended).
 * -1 when t is not a string, has a bad escape, contains NUL or does not
 * fit outcap. */
int json_str(const char *text, const struct json_tok *toks, int t,
	     char *out, size_t outcap);
/* The string member key of the object at obj into out; -1 as above. */
int json_get_str(const char *text, const struct json_tok *toks, int obj,
		 const char *key, char *out, size_t outcap);

/* Writes s as a JSON string (quotes included) into out; -1 when it does
 * not fit outcap (NUL included). */
int json_quote(const char *s, char *out, size_t outcap);

#endif
