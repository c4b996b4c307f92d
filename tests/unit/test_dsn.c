/*
 * Unit tests for the DSN builder (RFC 3464, RFC 3461, RFC 6533): the
 * header a sender's mail client shows, the three parts and their types
 * per occasion and RET, the delivery-status fields per recipient, the
 * returned message intact, CRLF lines of at most 998 octets, and no
 * header injection through any value. An independent parser reads the
 * same output in tests/e2e/test_dsn_format.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue/dsn.h"

#define MAX_OUT (1 << 22)

static const char orig[] = "From: Alice <alice@example.test>\r\n"
                           "To: bob@remote.test\r\n"
                           "Subject: hello\r\n"
                           "Message-ID: <abc.123@example.test>\r\n"
                           "\r\n"
                           "Hello Bob,\r\n"
                           "the body.\r\n";

static struct dsn_info
info_default(void)
{
	struct dsn_info info = {
	    .reporting_mta = "mx.example.test",
	    .envid = NULL,
	    .to = "alice@example.test",
	    .postmaster = "postmaster@mx.example.test",
	    .qid = "0123456789AB",
	    .arrival = 1700000000,
	    .ret = STORE_RET_DEFAULT,
	    .smtputf8 = false,
	    .now = 1700003600,
	};
	return info;
}

static struct dsn_rcpt
rcpt_failed(void)
{
	struct dsn_rcpt r = {
	    .final_rcpt = "bob@remote.test",
	    .orcpt = "rfc822;bob@remote.test",
	    .action = STORE_NOTICE_FAILED,
	    .status = "5.1.1",
	    .remote_mta = "mx.remote.test[127.0.0.5]",
	    .diagnostic = "550 5.1.1 <bob@remote.test>: User unknown",
	    .last_attempt = 1700003000,
	    .will_retry_until = 0,
	};
	return r;
}

/* Builds; the result is NUL-terminated (not counted) for strstr. */
static struct buf
build(const struct dsn_info *info, const struct dsn_rcpt *r, size_t n,
      const char *o, size_t olen, size_t max_return)
{
	struct buf out;

	buf_init(&out, MAX_OUT);
	assert_int_equal(dsn_build(info, r, n, o, olen, max_return, &out), 0);
	assert_int_equal(buf_append(&out, "", 1), 0);
	out.len--;
	return out;
}

/* CRLF everywhere, no line above 998 octets (RFC 5322 §2.1.1). */
static void
assert_lines(const struct buf *b)
{
	size_t col = 0;

	for (size_t i = 0; i < b->len; i++) {
		char c = (char)b->data[i];

		if (c == '\r') {
			assert_true(i + 1 < b->len && b->data[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(c != '\n');
		assert_true(++col <= 998);
	}
}

static bool
is_7bit(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] >= 0x80)
			return false;
	return true;
}

/* A whole line, anywhere in the output. */
static bool
has_line(const struct buf *b, const char *line)
{
	char pat[2048];

	snprintf(pat, sizeof(pat), "\r\n%s\r\n", line);
	return strstr((const char *)b->data, pat) != NULL;
}

static const char *
after(const struct buf *b, const char *s)
{
	const char *p = strstr((const char *)b->data, s);

	assert_non_null(p);
	return p + strlen(s);
}

static void
test_failure_full(void **state)
{
	struct dsn_info info = info_default();
	struct dsn_rcpt r = rcpt_failed();
	struct buf out;

	(void)state;
	info.envid = "ENV-42";
	out = build(&info, &r, 1, orig, sizeof(orig) - 1, 0);
	const char *s = (const char *)out.data;

	assert_lines(&out);
	assert_true(is_7bit(&out));
	assert_ptr_equal(strstr(s, "From: \"Mail Delivery System\" "
	                           "<postmaster@mx.example.test>\r\n"),
	                 s);
	assert_true(has_line(&out, "To: <alice@example.test>"));
	assert_true(
	    has_line(&out, "Subject: Undelivered Mail Returned to Sender"));
	assert_true(has_line(&out, "Date: Tue, 14 Nov 2023 23:13:20 +0000"));
	assert_non_null(strstr(s, "\r\nMessage-ID: <1700003600."));
	assert_true(has_line(&out, "In-Reply-To: <abc.123@example.test>"));
	assert_true(has_line(&out, "References: <abc.123@example.test>"));
	assert_true(has_line(&out, "Auto-Submitted: auto-replied"));
	assert_true(has_line(&out, "MIME-Version: 1.0"));
	assert_non_null(strstr(s, "\r\nContent-Type: multipart/report; "
	                          "report-type=delivery-status;"));
	/* Per message, then per recipient, in RFC 3464 §2 order. */
	assert_non_null(strstr(s,
	                       "Content-Type: message/delivery-status\r\n"
	                       "\r\nReporting-MTA: dns; mx.example.test\r\n"
	                       "X-Postel-Queue-ID: 0123456789AB\r\n"
	                       "Original-Envelope-Id: ENV-42\r\n"
	                       "Arrival-Date: Tue, 14 Nov 2023 22:13:20 "
	                       "+0000\r\n\r\n"
	                       "Original-Recipient: rfc822;bob@remote.test\r\n"
	                       "Final-Recipient: rfc822; bob@remote.test\r\n"
	                       "Action: failed\r\n"
	                       "Status: 5.1.1\r\n"
	                       "Remote-MTA: dns; mx.remote.test\r\n"
	                       "Diagnostic-Code: smtp; 550 5.1.1 "
	                       "<bob@remote.test>: User unknown\r\n"
	                       "Last-Attempt-Date: Tue, 14 Nov 2023 "
	                       "23:03:20 +0000\r\n"));
	/* The human part names the recipient and the reason. */
	assert_non_null(strstr(s, "  <bob@remote.test>\r\n    The mail server "
	                          "mx.remote.test[127.0.0.5] answered: 550 "
	                          "5.1.1\r\n    <bob@remote.test>: User "
	                          "unknown\r\n"));
	/* The original comes back whole, octet for octet. */
	const char *ret = after(&out, "Content-Type: message/rfc822\r\n\r\n");

	assert_memory_equal(ret, orig, sizeof(orig) - 1);
	assert_int_equal(
	    strncmp(ret + sizeof(orig) - 1, "\r\n--=_postel-dsn", 16), 0);
	assert_int_equal(strcmp(s + out.len - 4, "--\r\n"), 0);
	buf_fini(&out);
}

static void
test_ret_hdrs(void **state)
{
	struct dsn_info info = info_default();
	struct dsn_rcpt r = rcpt_failed();
	struct buf out;

	(void)state;
	info.ret = STORE_RET_HDRS;
	out = build(&info, &r, 1, orig, sizeof(orig) - 1, 0);
	assert_lines(&out);
	const char *h =
	    after(&out, "Content-Type: text/rfc822-headers\r\n\r\n");

	assert_memory_equal(h, orig, sizeof(orig) - 1 - 25);
	assert_int_equal(
	    strncmp(h + sizeof(orig) - 1 - 25, "\r\n--=_postel-dsn", 16), 0);
	assert_null(strstr((const char *)out.data, "Hello Bob"));
	assert_null(strstr((const char *)out.data, "message/rfc822"));
	buf_fini(&out);
}

static void
test_delay(void **state)
{
	struct dsn_info info = info_default();
	struct dsn_rcpt r = rcpt_failed();
	struct buf out;

	(void)state;
	info.ret = STORE_RET_FULL; /* delay notices return the header only */
	r.action = STORE_NOTICE_DELAYED;
	r.status = "4.4.1";
	r.remote_mta = NULL;
	r.diagnostic = "connect to mx.remote.test: Connection refused";
	r.will_retry_until = 1700400000;
	out = build(&info, &r, 1, orig, sizeof(orig) - 1, 0);
	assert_lines(&out);
	assert_true(
	    has_line(&out, "Subject: Delayed Mail (still being retried)"));
	assert_true(has_line(&out, "Action: delayed"));
	assert_true(has_line(&out, "Status: 4.4.1"));
	assert_true(has_line(&out, "Diagnostic-Code: X-Postel; connect to "
	                           "mx.remote.test: Connection refused"));
	assert_true(has_line(
	    &out, "Will-Retry-Until: Sun, 19 Nov 2023 13:20:00 +0000"));
	assert_null(strstr((const char *)out.data, "Remote-MTA"));
	assert_true(has_line(&out, "Content-Type: text/rfc822-headers"));
	assert_non_null(
	    strstr((const char *)out.data, "you do not need to send it again"));
	buf_fini(&out);
}

static void
test_success_and_relayed(void **state)
{
	struct dsn_info info = info_default();
	struct dsn_rcpt r[2] = {rcpt_failed(), rcpt_failed()};
	struct buf out;

	(void)state;
	r[0].action = STORE_NOTICE_DELIVERED;
	r[0].status = "2.0.0";
	r[0].diagnostic = "250 2.0.0 Ok: queued as 1234";
	r[1].action = STORE_NOTICE_RELAYED;
	r[1].final_rcpt = "carol@remote.test";
	r[1].orcpt = NULL;
	r[1].status = "2.0.0";
	out = build(&info, r, 2, orig, sizeof(orig) - 1, 0);
	assert_true(has_line(&out, "Subject: Successful Mail Delivery Report"));
	assert_true(has_line(&out, "Action: delivered"));
	assert_true(has_line(&out, "Action: relayed"));
	assert_true(
	    has_line(&out, "Final-Recipient: rfc822; carol@remote.test"));
	assert_true(has_line(&out, "Content-Type: text/rfc822-headers"));
	buf_fini(&out);

	r[0].action = STORE_NOTICE_RELAYED;
	out = build(&info, r, 2, orig, sizeof(orig) - 1, 0);
	assert_true(has_line(&out, "Subject: Relayed Mail Report"));
	buf_fini(&out);
}

static void
test_too_large(void **state)
{
	struct dsn_info info = info_default();
	struct dsn_rcpt r = rcpt_failed();
	struct buf out;

	(void)state;
	out = build(&info, &r, 1, orig, sizeof(orig) - 1, 20);
	assert_true(has_line(&out, "Content-Type: text/rfc822-headers"));
	assert_null(strstr((const char *)out.data, "Hello Bob"));
	assert_non_null(strstr((const char *)out.data, "too large"));
	buf_fini(&out);
}

static void
test_smtputf8(void **state)
{
	static const char u[] =
	    "From: J\xc3\xb6rg <j\xc3\xb6rg@example.test>\r\n"
	    "Subject: gr\xc3\xbc\xc3\x9f\x65\r\n\r\n"
	    "K\xc3\xa4se\r\n";
	struct dsn_info info = info_default();
	struct dsn_rcpt r = rcpt_failed();
	struct buf out;

	(void)state;
	info.smtputf8 = true;
	r.final_rcpt = "b\xc3\xb8"
	               "b@remote.test";
	r.orcpt = "utf-8;b\xc3\xb8"
	          "b@remote.test";
	out = build(&info, &r, 1, u, sizeof(u) - 1, 0);
	assert_lines(&out);
	assert_true(
	    has_line(&out, "Content-Type: message/global-delivery-status"));
	assert_true(has_line(&out, "Final-Recipient: utf-8; b\xc3\xb8"
	                           "b@remote.test"));
	assert_true(has_line(&out, "Original-Recipient: utf-8;b\xc3\xb8"
	                           "b@remote.test"));
	assert_true(has_line(&out, "Content-Type: message/global"));
	assert_true(has_line(&out, "Content-Type: text/plain; charset=utf-8"));
	assert_true(has_line(&out, "Content-Transfer-Encoding: 8bit"));
	const char *ret =
	    after(&out, "Content-Type: message/global\r\n"
	                "Content-Transfer-Encoding: 8bit\r\n\r\n");

	assert_memory_equal(ret, u, sizeof(u) - 1);

	/* A UTF-8 address alone makes the report global as well. */
	buf_fini(&out);
	info.smtputf8 = false;
	info.ret = STORE_RET_HDRS;
	out = build(&info, &r, 1, orig, sizeof(orig) - 1, 0);
	assert_true(
	    has_line(&out, "Content-Type: message/global-delivery-status"));
	assert_true(has_line(&out, "Content-Type: message/global-headers"));
	buf_fini(&out);
}

/* No value may start a header line of its own. */
static void
test_no_injection(void **state)
{
	struct dsn_info info = info_default();
	struct dsn_rcpt r = rcpt_failed();
	struct buf out;

	(void)state;
	info.envid = "x\r\nBcc: evil@example.test";
	info.to = "a@b\r\nBcc: evil@example.test";
	r.final_rcpt = "bob@remote.test\r\nBcc: evil@example.test";
	r.orcpt = "rfc822;\nBcc: evil@example.test";
	r.diagnostic = "550-5.1.1 first line\r\n550 5.1.1 second\r\n\r\nBcc: x";
	r.remote_mta = "mx\r\nBcc: y";
	r.status = "5.1.1\r\nBcc: z";
	out = build(&info, &r, 1, orig, sizeof(orig) - 1, 0);
	assert_lines(&out);
	assert_null(strstr((const char *)out.data, "\nBcc"));
	assert_true(has_line(&out, "Diagnostic-Code: smtp; 550-5.1.1 first "
	                           "line 550 5.1.1 second Bcc: x"));
	assert_true(has_line(&out, "Status: 5.0.0"));
	buf_fini(&out);
}

/* A long reply is folded; a word longer than a line is cut. Lone LF and
 * over-long lines of the original are repaired. */
static void
test_long_lines(void **state)
{
	struct dsn_info info = info_default();
	struct dsn_rcpt r = rcpt_failed();
	char diag[4000], *o = malloc(8000);
	struct buf out;
	size_t n;

	(void)state;
	memcpy(diag, "550 ", 4);
	memset(diag + 4, 'x', 2500);
	diag[2504] = '\0';
	r.diagnostic = diag;
	n = (size_t)snprintf(o, 8000, "Subject: s\nX-Long: ");
	memset(o + n, 'h', 1500);
	n += 1500;
	n += (size_t)snprintf(o + n, 8000 - n, "\n\nbody\rline\n");
	memset(o + n, 'b', 2500);
	n += 2500;
	out = build(&info, &r, 1, o, n, 0);
	assert_lines(&out);
	assert_non_null(strstr((const char *)out.data, "Subject: s\r\nX-Long: "
	                                               "hhh"));
	assert_non_null(strstr((const char *)out.data, "\r\n hhh"));
	assert_non_null(strstr((const char *)out.data, "body\r\nline\r\n"));
	buf_fini(&out);
	free(o);
}

static void
test_no_message_id(void **state)
{
	static const char o[] = "Subject: x\r\n\r\nbody\r\n";
	struct dsn_info info = info_default();
	struct dsn_rcpt r = rcpt_failed();
	struct buf out;

	(void)state;
	info.envid = NULL;
	info.arrival = 0;
	r.orcpt = NULL;
	r.last_attempt = 0;
	out = build(&info, &r, 1, o, sizeof(o) - 1, 0);
	assert_null(strstr((const char *)out.data, "In-Reply-To"));
	assert_null(strstr((const char *)out.data, "Original-Envelope-Id"));
	assert_null(strstr((const char *)out.data, "Original-Recipient"));
	assert_null(strstr((const char *)out.data, "Arrival-Date"));
	assert_null(strstr((const char *)out.data, "Last-Attempt-Date"));
	buf_fini(&out);
}

static void
test_out_full(void **state)
{
	struct dsn_info info = info_default();
	struct dsn_rcpt r = rcpt_failed();
	struct buf out;

	(void)state;
	buf_init(&out, 600);
	assert_int_equal(buf_append(&out, "keep", 4), 0);
	assert_int_equal(
	    dsn_build(&info, &r, 1, orig, sizeof(orig) - 1, 0, &out), -1);
	assert_int_equal(out.len, 4);
	buf_fini(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failure_full),
	    cmocka_unit_test(test_ret_hdrs),
	    cmocka_unit_test(test_delay),
	    cmocka_unit_test(test_success_and_relayed),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_smtputf8),
	    cmocka_unit_test(test_no_injection),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_no_message_id),
	    cmocka_unit_test(test_out_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
