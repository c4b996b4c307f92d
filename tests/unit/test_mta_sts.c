/*
 * Unit tests for MTA-STS's pure parts (src/queue/mta_sts.h): the TXT
 * record (RFC 8461 §3.1), the policy file (§3.2), MX matching (§4.1) and
 * the HTTP response head the policy comes in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "queue/mta_sts.h"

static int
txt(const char *s, char *id)
{
	return mta_sts_txt_parse(s, strlen(s), id);
}

static void
test_txt(void **state)
{
	char id[MTA_STS_ID_MAX + 1];

	assert_int_equal(txt("v=STSv1; id=20160831085700Z;", id), 1);
	assert_string_equal(id, "20160831085700Z");
	assert_int_equal(txt("v=STSv1;id=abc", id), 1);
	assert_string_equal(id, "abc");
	assert_int_equal(txt("v=STSv1 ; id=x1 ; ext=val ;", id), 1);
	assert_string_equal(id, "x1");
	/* Not an STSv1 record at all: other TXT at the name. */
	assert_int_equal(txt("v=spf1 -all", id), 0);
	assert_int_equal(txt("v=STSv10; id=1", id), 0);
	assert_int_equal(txt("", id), 0);
	/* STSv1 but broken: no id, bad id, two ids, junk. */
	assert_int_equal(txt("v=STSv1;", id), -1);
	assert_int_equal(txt("v=STSv1; id=", id), -1);
	assert_int_equal(txt("v=STSv1; id=a-b", id), -1);
	assert_int_equal(txt("v=STSv1; id=123456789012345678901234567890123",
			     id), -1);
	assert_int_equal(txt("v=STSv1; id=1; id=2", id), -1);
	assert_int_equal(txt("v=STSv1; noequals", id), -1);
	assert_int_equal(txt("v=STSv1 id=1", id), -1);
}

static int
pol(const char *s, struct mta_sts_policy *p)
{
	char err[64];

	return mta_sts_policy_parse(s, strlen(s), p, err, sizeof(err));
}

static void
test_policy(void **state)
{
	struct mta_sts_policy p;

	/* The RFC 8461 §3.2 example, CRLF line ends. */
	assert_int_equal(pol("version: STSv1\r\nmode: enforce\r\n"
			     "mx: mail.example.com\r\nmx: *.example.net\r\n"
			     "mx: backupmx.example.com\r\n"
			     "max_age: 604800\r\n", &p), 0);
	assert_int_equal(p.mode, MTA_STS_ENFORCE);
	assert_int_equal(p.max_age, 604800);
	assert_int_equal(p.n_mx, 3);
	assert_string_equal(p.mx[1], "*.example.net");
	/* LF, no final line end, extensions ignored, case folded. */
	assert_int_equal(pol("version: STSv1\nmode: testing\nfoo: bar baz\n"
			     "mx: MX.Example.ORG\nmax_age:86400", &p), 0);
	assert_int_equal(p.mode, MTA_STS_TESTING);
	assert_string_equal(p.mx[0], "mx.example.org");
	/* mode none needs no mx. */
	assert_int_equal(pol("version: STSv1\nmode: none\nmax_age: 0\n", &p),
			 0);
	assert_int_equal(p.mode, MTA_STS_NONE);
	/* Invalid ones. */
	assert_int_equal(pol("mode: enforce\nmx: a.b\nmax_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv2\nmode: enforce\nmx: a.b\n"
			     "max_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: strict\nmx: a.b\n"
			     "max_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmax_age: 1\n",
			     &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b\n", &p),
			 -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b\n"
			     "max_age: 31557601\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b\n"
			     "max_age: 12345678901\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a..b\n"
			     "max_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b\n"
			     "max_age: 1\njunk line\n", &p), -1);
	assert_int_equal(pol("<html>redirected</html>", &p), -1);
}

static void
test_mx_match(void **state)
{
	struct mta_sts_policy p;

	assert_int_equal(pol("version: STSv1\nmode: enforce\n"
			     "mx: mail.example.com\nmx: *.example.net\n"
			     "max_age: 1\n", &p), 0);
	assert_true(mta_sts_mx_match(&p, "mail.example.com"));
	assert_true(mta_sts_mx_match(&p, "MAIL.example.com."));
	assert_true(mta_sts_mx_match(&p, "mx1.example.net"));
	assert_false(mta_sts_mx_match(&p, "example.net"));
	assert_false(mta_sts_mx_match(&p, "a.b.example.net"));
	assert_false(mta_sts_mx_match(&p, "mail.example.com.evil"));
	assert_false(mta_sts_mx_match(&p, "xmail.example.com"));
	assert_false(mta_sts_mx_match(&p, ".example.net"));
}

static void
test_format_roundtrip(void **state)
{
	struct mta_sts_policy p, q;
	char buf[4096];
	int n;

	assert_int_equal(pol("version: STSv1\nmode: testing\nmx: a.b\n"
			     "mx: *.c.d\nmax_age: 77\n", &p), 0);
	n = mta_sts_policy_format(&p, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(mta_sts_policy_parse(buf, (size_t)n, &q, buf + n + 1,
					      64), 0);
	assert_memory_equal(&p, &q, sizeof(p));
	assert_int_equal(mta_sts_policy_format(&p, buf, 10), -1);
}

static int
head(const char *s, int *status, size_t *hl, int64_t *clen, bool *plain)
{
	return mta_sts_http_head(s, strlen(s), status, hl, clen, plain);
}

static void
test_http_head(void **state)
{
	int status;
	size_t hl;
	int64_t clen;
	bool plain;
	const char *ok = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; "
			 "charset=utf-8\r\nContent-Length: 5\r\n\r\nhello";

	assert_int_equal(head(ok, &status, &hl, &clen, &plain), 1);
	assert_int_equal(status, 200);
	assert_int_equal(clen, 5);
	assert_true(plain);
	assert_int_equal(hl, strlen(ok) - 5);
	assert_int_equal(head("HTTP/1.1 301 Moved\r\nLocation: https://x/\r\n"
			      "\r\n", &status, &hl, &clen, &plain), 1);
	assert_int_equal(status, 301);
	assert_int_equal(clen, -1);
	assert_false(plain);
	assert_int_equal(head("HTTP/1.0 200", &status, &hl, &clen, &plain),
			 0);
	assert_int_equal(head("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n"
			      "\r\n", &status, &hl, &clen, &plain), 1);
	assert_false(plain);
	assert_int_equal(head("HTTP/1.0 200 OK\r\nContent-Type: text/plainx"
			      "\r\n\r\n", &status, &hl, &clen, &plain), 1);
	assert_false(plain);
	assert_int_equal(head("HTTP/2 200\r\n\r\n", &status, &hl, &clen,
			      &plain), -1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
			      "\r\n\r\n", &status, &hl, &clen, &plain), -1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
			      "Content-Length: 1\r\n\r\n", &status, &hl,
			      &clen, &plain), -1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
			      &status, &hl, &clen, &plain), -1);
	assert_int_equal(head("SMTP/1.1 200 OK\r\n\r\n", &status, &hl, &clen,
			      &plain), -1);
}

static void
test_http_head_limit(void **state)
{
	static char big[MTA_STS_HTTP_HEAD_MAX + 100];
	int status;
	size_t hl;
	int64_t clen;
	bool plain;

	memcpy(big, "HTTP/1.0 200 OK\r\nX: ", 21);
	memset(big + 21, 'a', sizeof(big) - 22);
	assert_int_equal(mta_sts_http_head(big, sizeof(big) - 1, &status, &hl,
					   &clen, &plain), -1);
	assert_string_equal(mta_sts_result_name(MTA_STS_POLICY_FETCH_ERROR),
			    "sts-policy-fetch-error");
	assert_string_equal(mta_sts_result_name(MTA_STS_RESULT_COUNT), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_mx_match),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_http_head),
		cmocka_unit_test(test_http_head_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
