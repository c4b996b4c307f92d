/*
 * Authentication-Results (RFC 8601): the header field Postel adds to a
 * received message, and the recognition of incoming ones that claim our
 * authserv-id (forgeries, removed before ours is added, §5). Pure.
 */
#ifndef POSTEL_AUTHRES_H
#define POSTEL_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

#define AUTHRES_PROPS_MAX 4

/* A property of a result (RFC 8601 §2.3): "header.d" = "example.org". */
struct authres_prop {
	const char *name;     /* "smtp.mailfrom", "header.d", ...; NULL:
			       * unused (and the ones after it too) */
	const char *value;    /* written quoted when it needs to be */
};

/* One method's result (RFC 8601 §2.2 resinfo), e.g. spf=pass
 * smtp.mailfrom=user@example.org. reason may be NULL. */
struct authres_item {
	const char *method;   /* "spf", "dkim", ... */
	const char *result;   /* "pass", "fail", ... */
	const char *reason;   /* a comment after the result, or NULL */
	struct authres_prop props[AUTHRES_PROPS_MAX];
};

/* Appends "Authentication-Results: ID;" and the items (or "none" when
 * there are none), folded, ending in CRLF. 0, or -1 when out is full. */
int authres_header(struct buf *out, const char *authserv_id,
		   const struct authres_item *items, size_t n);

/* The header field f[0..len) (name, colon, value with its folding, with
 * or without the final line end): 1 when it is an Authentication-Results
 * field whose authserv-id is id (case-insensitive), or whose authserv-id
 * cannot be read (it is removed as well); 0 when it is another field or
 * another ADMD's result. */
int authres_is_ours(const char *f, size_t len, const char *id);

#endif
