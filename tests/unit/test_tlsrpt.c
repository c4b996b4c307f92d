/*
 * Unit tests for TLS-RPT's pure parts (src/queue/tlsrpt.h): the
 * _smtp._tls TXT record (RFC 8460 §3) and the JSON report (§4.4).
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

#include "queue/tlsrpt.h"
#include "store/store_tlsrpt.h"

static int
rec(const char *s, char *rua)
{
	return tlsrpt_txt_parse(s, strlen(s), rua, TLSRPT_RUA_MAX);
}

static void
test_txt(void **state)
{
	char rua[TLSRPT_RUA_MAX];

	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:reports@example.com",
			     rua), 1);
	assert_string_equal(rua, "reports@example.com");
	assert_int_equal(rec("v=TLSRPTv1;rua=mailto:a@b.test,"
			     "https://r.example/x, mailto:c@d.test ;", rua),
			 1);
	assert_string_equal(rua, "a@b.test,c@d.test");
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:A@B.test; ext=1", rua),
			 1);
	assert_string_equal(rua, "A@B.test");
	/* Only https: nothing we send to. */
	assert_int_equal(rec("v=TLSRPTv1; rua=https://r.example/x", rua), 0);
	/* Not ours. */
	assert_int_equal(rec("v=spf1 -all", rua), 0);
	assert_int_equal(rec("v=TLSRPTv10; rua=mailto:a@b", rua), 0);
	/* Broken. */
	assert_int_equal(rec("v=TLSRPTv1", rua), -1);
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:a@b; rua=mailto:c@d",
			     rua), -1);
	assert_int_equal(rec("v=TLSRPTv1; junk", rua), -1);
	assert_int_equal(rec("v=TLSRPTv1 rua=mailto:a@b", rua), -1);
	/* Unusable addresses are skipped. */
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:noat,mailto:a b@c,"
			     "mailto:<x@y>", rua), 0);
}

static void
test_json(void **state)
{
	struct store_tlsrpt_row rows[] = {
		{ .day = 86400, .domain = "d.test", .mx = "mx.d.test",
		  .result = "", .count = 3, .policy_type = "sts",
		  .policy_string = "version: STSv1\nmode: enforce\n"
				   "max_age: 10\nmx: mx.d.test\nmx: *.d.test",
		  .rua = "r@d.test" },
		{ .day = 86400, .domain = "d.test", .mx = "mx.d.test",
		  .result = "certificate-expired", .count = 2,
		  .policy_type = "sts",
		  .policy_string = "version: STSv1\nmode: enforce\n"
				   "max_age: 10\nmx: mx.d.test\nmx: *.d.test",
		  .rua = "r@d.test" },
	};
	char *j = tlsrpt_json(rows, 2, "mail.\"x\".test", "id-1");

	assert_non_null(j);
	assert_non_null(strstr(j, "\"organization-name\":"
				  "\"mail.\\\"x\\\".test\""));
	assert_non_null(strstr(j, "\"start-datetime\":"
				  "\"1970-01-02T00:00:00Z\""));
	assert_non_null(strstr(j, "\"end-datetime\":"
				  "\"1970-01-02T23:59:59Z\""));
	assert_non_null(strstr(j, "\"policy-string\":[\"version: STSv1\","
				  "\"mode: enforce\",\"max_age: 10\","
				  "\"mx: mx.d.test\",\"mx: *.d.test\"]"));
	assert_non_null(strstr(j, "\"mx-host\":[\"mx.d.test\",\"*.d.test\"]"));
	assert_non_null(strstr(j, "\"total-successful-session-count\":3"));
	assert_non_null(strstr(j, "\"total-failure-session-count\":2"));
	assert_non_null(strstr(j, "{\"result-type\":\"certificate-expired\","
				  "\"receiving-mx-hostname\":\"mx.d.test\","
				  "\"failed-session-count\":2}"));
	assert_int_equal(j[strlen(j) - 1], '}');
	free(j);
	assert_null(tlsrpt_json(rows, 0, "h", "i"));
	assert_int_equal(tlsrpt_day(86400 * 3 + 5), 86400 * 3);
	assert_int_equal(tlsrpt_day(86400 * 3), 86400 * 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
