/*
 * HTTP/1.1 request parser (RFC 9112): the request line and header section
 * of one request, bytes to struct http_request, plus the small readers the
 * endpoint needs (a query parameter, one XML element). Pure: no I/O, no
 * session; every pointer in a result points into the caller's buffer.
 * Strict on purpose (one client kind, no proxy): CRLF line ends only, no
 * obs-fold, no Transfer-Encoding, limits from core/limits.h.
 */
#ifndef POSTEL_HTTP_PARSE_H
#define POSTEL_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/limits.h"

enum http_method {
	HTTP_METHOD_GET = 1,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_POST,
};

struct http_header {
	const char *name;
	size_t name_len;
	const char *value;  /* without leading and trailing whitespace */
	size_t value_len;
};

struct http_request {
	enum http_method method;
	int version_minor;          /* HTTP/1.0 or 1.1 */
	const char *path;           /* starts with '/', before any '?' */
	size_t path_len;
	const char *query;          /* after '?' (NULL: none) */
	size_t query_len;
	const char *host;           /* Host, or the absolute-form authority */
	size_t host_len;            /* 0: none */
	const char *authorization;  /* NULL: none */
	size_t authorization_len;
	bool keep_alive;            /* RFC 9112 §9.3: persistence */
	bool has_length;
	bool expect_continue;       /* Expect: 100-continue (RFC 9110 §10.1.1) */
	uint64_t content_length;    /* at most LIMIT_HTTP_BODY */
	size_t head_len;            /* octets up to and with the empty line */
	struct http_header headers[LIMIT_HTTP_HEADERS];
	size_t n_headers;
};

/* Parses the head of the request at the front of buf (len octets; more
 * may follow: a body, or the next pipelined request).
 *   1  complete: *req filled, the body (content_length octets) follows
 *      at buf + req->head_len;
 *   0  incomplete and nothing wrong so far: wait for more;
 *  -1  refused: *status_r is the HTTP status to answer (then close):
 *      400 malformed, 405 a method we do not allow (GET, HEAD and POST
 *      are), 411 POST without Content-Length, 413 body over
 *      LIMIT_HTTP_BODY, 414 request line over LIMIT_HTTP_REQUEST_LINE,
 *      431 header section over LIMIT_HTTP_HEAD or more than
 *      LIMIT_HTTP_HEADERS fields, 501 an unknown method or any
 *      Transfer-Encoding (chunked requests are not supported), 505 an
 *      HTTP major version other than 1. */
int http_parse_head(const char *buf, size_t len, struct http_request *req,
		    int *status_r);

/* The value of parameter name in a query string (a=b&c=d), with %XX and
 * '+' decoded, into out (NUL-terminated). 1 found, 0 absent, -1 malformed
 * (bad escape, a control octet or NUL, longer than outcap - 1). */
int http_query_param(const char *q, size_t qlen, const char *name,
		     char *out, size_t outcap);

/* The text of the first <name>...</name> element in an XML document (no
 * attributes on it; surrounding whitespace trimmed) into out,
 * NUL-terminated. 1 found, 0 absent, -1 empty, longer than outcap - 1,
 * or holding markup or a control octet. */
int http_xml_element(const char *doc, size_t len, const char *name,
		     char *out, size_t outcap);

/* A mail address the endpoint may echo: local@domain, at most
 * LIMIT_ADDRESS octets, a local part of printable ASCII other than
 * whitespace, quotes and <>&, a domain of letters, digits, '-' and '.'.
 * On success *domain_r points at the domain inside addr. */
bool http_address_ok(const char *addr, const char **domain_r);

/* A host name label sequence (letters, digits, '-', '.'), 1..255 octets. */
bool http_domain_ok(const char *d, size_t len);

#endif
