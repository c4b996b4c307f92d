/*
 * libFuzzer target for the HTTP request parser (src/http/http_parse.h):
 * no crash; on success every pointer lies inside the input, the lengths
 * are within the limits, the body length within LIMIT_HTTP_BODY; on
 * refusal a status the endpoint knows. The query and XML readers run on
 * the same bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "http/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_http_inside(const char *buf, size_t size, const char *p, size_t len)
{
	if (p != NULL && (p < buf || p + len > buf + size))
		abort();
}

static void
fuzz_http_check(const char *buf, size_t size, const struct http_request *r)
{
	if (r->head_len > size || r->head_len > LIMIT_HTTP_HEAD + 4 + 2 ||
	    r->content_length > LIMIT_HTTP_BODY ||
	    r->n_headers > LIMIT_HTTP_HEADERS || r->path == NULL ||
	    r->path_len == 0 || r->method < HTTP_METHOD_GET ||
	    r->method > HTTP_METHOD_POST)
		abort();
	if (r->path[0] != '/')
		abort();
	fuzz_http_inside(buf, size, r->query, r->query_len);
	fuzz_http_inside(buf, size, r->host, r->host_len);
	fuzz_http_inside(buf, size, r->authorization, r->authorization_len);
	for (size_t i = 0; i < r->n_headers; i++) {
		fuzz_http_inside(buf, size, r->headers[i].name,
				 r->headers[i].name_len);
		fuzz_http_inside(buf, size, r->headers[i].value,
				 r->headers[i].value_len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request *req = malloc(sizeof(*req));
	char *buf = malloc(size ? size : 1);
	char out[LIMIT_ADDRESS + 1];
	int status = 0, r;
	const char *dom;

	if (req == NULL || buf == NULL)
		abort();
	memcpy(buf, data, size);
	r = http_parse_head(buf, size, req, &status);
	if (r == 1) {
		fuzz_http_check(buf, size, req);
		if (http_query_param(req->query, req->query_len,
				     "emailaddress", out, sizeof(out)) == 1) {
			if (strlen(out) >= sizeof(out))
				abort();
			(void)http_address_ok(out, &dom);
		}
	} else if (r < 0) {
		static const int known[] = { 400, 405, 411, 413, 414, 431,
					     501, 505 };
		bool ok = false;

		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok |= status == known[i];
		if (!ok)
			abort();
	} else if (size > LIMIT_HTTP_HEAD + 4 + 2) {
		abort(); /* a head this long must have been refused */
	}
	if (http_xml_element(buf, size, "EMailAddress", out, sizeof(out)) ==
	    1 && (strlen(out) >= sizeof(out) || strchr(out, '<') != NULL))
		abort();
	free(buf);
	free(req);
	return 0;
}
