/*
 * Unit tests for the HTTP request parser (RFC 9112) and its small readers
 * (src/http/http_parse.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/limits.h"
#include "http/http_parse.h"

static struct http_request req;

static int
parse(const char *s, int *status_r)
{
	return http_parse_head(s, strlen(s), &req, status_r);
}

static void
expect_status(const char *s, int want)
{
	int status = 0;
	int r = parse(s, &status);

	if (r != -1 || status != want)
		print_error("\"%s\": r=%d status=%d, want %d\n", s, r, status,
			    want);
	assert_int_equal(r, -1);
	assert_int_equal(status, want);
}

static void
test_simple(void **state)
{
	int status;
	const char *s = "GET /mail/config-v1.1.xml?emailaddress=a%40b.c "
			"HTTP/1.1\r\nHost: autoconfig.b.c:80\r\n"
			"User-Agent: t\r\n\r\nGET /next";

	assert_int_equal(parse(s, &status), 1);
	assert_int_equal(req.method, HTTP_METHOD_GET);
	assert_int_equal(req.version_minor, 1);
	assert_true(req.keep_alive);
	assert_int_equal(req.path_len, strlen("/mail/config-v1.1.xml"));
	assert_memory_equal(req.query, "emailaddress=a%40b.c", 20);
	assert_int_equal(req.host_len, strlen("autoconfig.b.c:80"));
	assert_int_equal(req.n_headers, 2);
	assert_int_equal(req.head_len, strlen(s) - strlen("GET /next"));
	assert_false(req.has_length);
}

static void
test_incomplete(void **state)
{
	int status;

	assert_int_equal(parse("", &status), 0);
	assert_int_equal(parse("GET / HTTP/1.1", &status), 0);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n", &status), 0);
	/* A bad request line is refused before the headers arrive. */
	expect_status("BREW / HTTP/1.1\r\n", 501);
}

static void
test_methods(void **state)
{
	int status;

	assert_int_equal(parse("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", &status),
			 1);
	assert_int_equal(req.method, HTTP_METHOD_HEAD);
	expect_status("PUT / HTTP/1.1\r\nHost: x\r\n\r\n", 405);
	expect_status("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 405);
	expect_status("FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 501);
	expect_status("get / HTTP/1.1\r\nHost: x\r\n\r\n", 501);
	expect_status("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

static void
test_versions(void **state)
{
	int status;

	expect_status("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
	expect_status("GET / HTTP/1\r\nHost: x\r\n\r\n", 400);
	expect_status("GET / http/1.1\r\nHost: x\r\n\r\n", 400);
	/* HTTP/1.1 needs Host (RFC 9112 §3.2); 1.0 does not. */
	expect_status("GET / HTTP/1.1\r\n\r\n", 400);
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &status), 1);
	assert_false(req.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive"
			       "\r\n\r\n", &status), 1);
	assert_true(req.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: "
			       "foo, close\r\n\r\n", &status), 1);
	assert_false(req.keep_alive);
}

static void
test_targets(void **state)
{
	int status;

	assert_int_equal(parse("GET http://Mta-Sts.b.c/.well-known/mta-sts.txt"
			       " HTTP/1.1\r\nHost: other\r\n\r\n", &status), 1);
	assert_int_equal(req.host_len, strlen("Mta-Sts.b.c"));
	assert_memory_equal(req.host, "Mta-Sts.b.c", req.host_len);
	assert_memory_equal(req.path, "/.well-known/mta-sts.txt",
			    req.path_len);
	assert_int_equal(parse("GET https://h HTTP/1.1\r\nHost: h\r\n\r\n",
			       &status), 1);
	assert_int_equal(req.path_len, 1);
	expect_status("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	expect_status("GET a HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	expect_status("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	expect_status("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	expect_status("GET /\x80 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	expect_status("GET http://u@h/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

static void
test_fields(void **state)
{
	int status;

	expect_status("GET / HTTP/1.1\nHost: x\r\n\r\n", 400);
	expect_status("GET / HTTP/1.1\r\nHost: x\n\r\n", 400);
	expect_status("GET / HTTP/1.1\r\nHost: x\r\n\n", 400);
	expect_status("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
	expect_status("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400);
	expect_status("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400);
	expect_status("GET / HTTP/1.1\r\nHost: x\rY\r\n\r\n", 400);
	expect_status("GET / HTTP/1.1\r\nHost: x\r\nA: \x01\r\n\r\n", 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nhost:\tx \r\n"
			       "Authorization: Bearer t\r\n\r\n", &status), 1);
	assert_int_equal(req.host_len, 1);
	assert_int_equal(req.authorization_len, 8);
}

static void
test_bodies(void **state)
{
	int status;
	char big[128];

	assert_int_equal(parse("POST /a HTTP/1.1\r\nHost: x\r\n"
			       "Content-Length: 5\r\n\r\nhello", &status), 1);
	assert_true(req.has_length);
	assert_int_equal(req.content_length, 5);
	expect_status("POST /a HTTP/1.1\r\nHost: x\r\n\r\n", 411);
	expect_status("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
		      "chunked\r\n\r\n", 501);
	expect_status("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
		      "Content-Length: 2\r\n\r\n", 400);
	expect_status("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1"
		      "\r\n\r\n", 400);
	expect_status("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1"
		      "\r\n\r\n", 400);
	snprintf(big, sizeof(big), "POST /a HTTP/1.1\r\nHost: x\r\n"
		 "Content-Length: %d\r\n\r\n", LIMIT_HTTP_BODY + 1);
	expect_status(big, 413);
	expect_status("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: "
		      "99999999999999999999999\r\n\r\n", 400);
}

static void
test_limits(void **state)
{
	size_t n = LIMIT_HTTP_HEAD + 64;
	char *s = malloc(n + 1);
	size_t pos;

	/* An overlong request line, complete or not: 414. */
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', LIMIT_HTTP_REQUEST_LINE);
	s[5 + LIMIT_HTTP_REQUEST_LINE] = '\0';
	expect_status(s, 414);
	strcpy(s + 5 + LIMIT_HTTP_REQUEST_LINE, " HTTP/1.1\r\n");
	expect_status(s, 414);
	/* A header section over LIMIT_HTTP_HEAD: 431. */
	pos = (size_t)snprintf(s, n, "GET / HTTP/1.1\r\nHost: x\r\nX: ");
	memset(s + pos, 'a', n - pos);
	s[n] = '\0';
	expect_status(s, 431);
	/* Too many fields: 431. */
	pos = (size_t)snprintf(s, n, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < LIMIT_HTTP_HEADERS; i++)
		pos += (size_t)snprintf(s + pos, n - pos, "X%d: y\r\n", i);
	snprintf(s + pos, n - pos, "\r\n");
	expect_status(s, 431);
	free(s);
}

static void
test_query_xml_address(void **state)
{
	char out[64];
	const char *q = "a=1&emailaddress=Jo+Doe%40ex.org&x";
	const char *dom = NULL;

	assert_int_equal(http_query_param(q, strlen(q), "emailaddress", out,
					  sizeof(out)), 1);
	assert_string_equal(out, "Jo Doe@ex.org");
	assert_int_equal(http_query_param(q, strlen(q), "b", out,
					  sizeof(out)), 0);
	assert_int_equal(http_query_param("e=%4", 5, "e", out, sizeof(out)),
			 -1);
	assert_int_equal(http_query_param("e=%00", 5, "e", out, sizeof(out)),
			 -1);
	assert_int_equal(http_query_param("e=abcdef", 8, "e", out, 4), -1);
	assert_int_equal(http_query_param(NULL, 0, "e", out, sizeof(out)), 0);

	q = "<Request>\n <EMailAddress> a@b.c </EMailAddress></Request>";
	assert_int_equal(http_xml_element(q, strlen(q), "EMailAddress", out,
					  sizeof(out)), 1);
	assert_string_equal(out, "a@b.c");
	q = "<EMailAddress>a@b.c";
	assert_int_equal(http_xml_element(q, strlen(q), "EMailAddress", out,
					  sizeof(out)), -1);
	q = "<EMailAddress><x/></EMailAddress>";
	assert_int_equal(http_xml_element(q, strlen(q), "EMailAddress", out,
					  sizeof(out)), -1);
	assert_int_equal(http_xml_element("<a/>", 4, "EMailAddress", out,
					  sizeof(out)), 0);

	assert_true(http_address_ok("user+tag@Example.test", &dom));
	assert_string_equal(dom, "Example.test");
	assert_false(http_address_ok("a<b@example.test", &dom));
	assert_false(http_address_ok("a@exa_mple.test", &dom));
	assert_false(http_address_ok("@example.test", &dom));
	assert_false(http_address_ok("a@..test", &dom));
	assert_false(http_address_ok("a b@example.test", &dom));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_query_xml_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
