/*
 * Unit tests for the SMTP command parser: valid commands, lenient forms real
 * clients send, and hostile input (NUL, huge lines, bad UTF-8, overflow).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_parse.h"

static struct smtp_cmd test_cmd;

/* Parses a C string that must succeed with verb v. */
static struct smtp_cmd *
parse_ok(const char *line, enum smtp_verb v)
{
	struct smtp_parse_error err = {0};
	int r = smtp_parse_command(line, strlen(line), &test_cmd, &err);

	if (r != 0)
		print_error("unexpected failure for \"%s\": %d %s %s\n", line,
			    err.code, err.enh, err.text);
	assert_int_equal(r, 0);
	assert_int_equal(test_cmd.verb, v);
	return &test_cmd;
}

/* Parses bytes that must fail with code and enhanced code. */
static void
parse_bad_n(const char *line, size_t len, int code, const char *enh)
{
	struct smtp_parse_error err = {0};
	int r = smtp_parse_command(line, len, &test_cmd, &err);

	if (r == 0)
		print_error("unexpected success for \"%.*s\"\n", (int)len, line);
	assert_int_equal(r, -1);
	if (err.code != code || strcmp(err.enh, enh) != 0)
		print_error("for \"%.*s\"\n", (int)len, line);
	assert_int_equal(err.code, code);
	assert_string_equal(err.enh, enh);
	assert_non_null(err.text);
}

static void
parse_bad(const char *line, int code, const char *enh)
{
	parse_bad_n(line, strlen(line), code, enh);
}

static void
test_verbs_case_insensitive(void **state)
{
	parse_ok("QUIT", SMTP_VERB_QUIT);
	parse_ok("quit", SMTP_VERB_QUIT);
	parse_ok("QuIt", SMTP_VERB_QUIT);
	parse_ok("DATA", SMTP_VERB_DATA);
	parse_ok("rset", SMTP_VERB_RSET);
	parse_ok("StartTLS", SMTP_VERB_STARTTLS);
	parse_ok("NOOP", SMTP_VERB_NOOP);
	parse_ok("HELP", SMTP_VERB_HELP);
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_UNKNOWN), "UNKNOWN");
	assert_string_equal(smtp_verb_name(SMTP_VERB_MAIL), "MAIL");
}

static void
test_unknown_verbs(void **state)
{
	parse_bad("FOO", 500, "5.5.1");
	parse_bad("", 500, "5.5.1");
	parse_bad(" QUIT", 500, "5.5.1");
	parse_bad("QUITX", 500, "5.5.1");
	parse_bad("QUI", 500, "5.5.1");
	parse_bad("MAILFROM:<a@b.c>", 500, "5.5.1");
	parse_bad("STARTTLSX", 500, "5.5.1");
	parse_bad("\xc3\xa9HLO x", 500, "5.5.1");
	parse_bad("GET / HTTP/1.1", 500, "5.5.1");
}

static void
test_nul_and_length(void **state)
{
	static const char nul1[] = "EHLO a\0b";
	static const char nul2[] = "\0QUIT";
	static const char nul3[] = "QUIT\0";
	char *big;

	parse_bad_n(nul1, sizeof(nul1) - 1, 500, "5.5.2");
	parse_bad_n(nul2, sizeof(nul2) - 1, 500, "5.5.2");
	parse_bad_n(nul3, sizeof(nul3) - 1, 500, "5.5.2");

	big = malloc(100 * 1024);
	assert_non_null(big);
	memcpy(big, "NOOP ", 5);
	memset(big + 5, 'a', 100 * 1024 - 5);
	parse_bad_n(big, 100 * 1024, 500, "5.5.2");
	/* The longest accepted line, and one octet more. */
	parse_bad_n(big, LIMIT_SMTP_LINE - 1, 500, "5.5.2");
	assert_int_equal(
		smtp_parse_command(big, LIMIT_SMTP_LINE - 2, &test_cmd,
				   &(struct smtp_parse_error){0}),
		0);
	assert_int_equal(test_cmd.arg_len, LIMIT_SMTP_LINE - 7);
	free(big);
}

static void
test_no_arg_verbs(void **state)
{
	parse_ok("DATA   ", SMTP_VERB_DATA);
	parse_ok("QUIT\t", SMTP_VERB_QUIT);
	parse_bad("DATA x", 501, "5.5.4");
	parse_bad("RSET now", 501, "5.5.4");
	parse_bad("QUIT bye", 501, "5.5.4");
	parse_bad("STARTTLS x", 501, "5.5.4");
}

static void
test_text_verbs(void **state)
{
	struct smtp_cmd *c;

	c = parse_ok("NOOP", SMTP_VERB_NOOP);
	assert_null(c->arg);
	assert_int_equal(c->arg_len, 0);
	c = parse_ok("NOOP hello world", SMTP_VERB_NOOP);
	assert_int_equal(c->arg_len, 11);
	assert_memory_equal(c->arg, "hello world", 11);
	parse_ok("HELP MAIL", SMTP_VERB_HELP);
	c = parse_ok("VRFY  postmaster ", SMTP_VERB_VRFY);
	assert_int_equal(c->arg_len, 10);
	parse_ok("EXPN staff", SMTP_VERB_EXPN);
	parse_bad("VRFY", 501, "5.5.4");
	parse_bad("EXPN   ", 501, "5.5.4");
}

static void
test_helo(void **state)
{
	struct smtp_cmd *c;

	c = parse_ok("EHLO mail.example.com", SMTP_VERB_EHLO);
	assert_int_equal(c->arg_len, 16);
	assert_memory_equal(c->arg, "mail.example.com", 16);
	parse_ok("HELO localhost", SMTP_VERB_HELO);
	parse_ok("ehlo example.com.", SMTP_VERB_EHLO);
	parse_ok("EHLO [127.0.0.1]", SMTP_VERB_EHLO);
	parse_ok("EHLO [IPv6:::1]", SMTP_VERB_EHLO);
	parse_ok("EHLO [ipv6:2001:db8::1]", SMTP_VERB_EHLO);
	parse_ok("EHLO 192.0.2.1", SMTP_VERB_EHLO);
	parse_ok("EHLO DESKTOP-AB12_X", SMTP_VERB_EHLO);
	/* Single-label names are domains too (tools say EHLO localhost). */
	parse_ok("EHLO x", SMTP_VERB_EHLO);
	parse_ok("HELO test", SMTP_VERB_HELO);
	parse_ok("EHLO 0", SMTP_VERB_EHLO);
	parse_ok("EHLO a-b.c-d.example", SMTP_VERB_EHLO);
	/* An IDN as its A-label is plain LDH. */
	parse_ok("EHLO xn--bcher-kva.example", SMTP_VERB_EHLO);
	parse_ok("EHLO [IPv6:2001:db8::192.0.2.1]", SMTP_VERB_EHLO);
	/* RFC 6531 §3.7.1: the client sends only ASCII in EHLO, so a
	 * U-label is refused even though paths may carry UTF-8. */
	parse_bad("EHLO b\xc3\xbc" "cher.example", 501, "5.5.2");
	parse_bad("HELO b\xc3\xbc" "cher.example", 501, "5.5.2");
	assert_true(smtp_valid_domain("b\xc3\xbc" "cher.example", 14));
	assert_false(smtp_valid_helo("b\xc3\xbc" "cher.example", 14));
	parse_bad("EHLO a.example,b.example", 501, "5.5.2");
	parse_bad("EHLO a/b", 501, "5.5.2");
	parse_bad("EHLO [IPv4:1.2.3.4]", 501, "5.5.2");
	parse_bad("EHLO [1.2.3.4]x", 501, "5.5.2");
	parse_bad("EHLO 1.2.3.4]", 501, "5.5.2");
	parse_bad("EHLO a.-b.example", 501, "5.5.2");
	parse_bad("EHLO", 501, "5.5.4");
	parse_bad("HELO ", 501, "5.5.4");
	parse_bad("EHLO a b", 501, "5.5.2");
	parse_bad("EHLO -a.example", 501, "5.5.2");
	parse_bad("EHLO a-.example", 501, "5.5.2");
	parse_bad("EHLO a..example", 501, "5.5.2");
	parse_bad("EHLO .example", 501, "5.5.2");
	parse_bad("EHLO .", 501, "5.5.2");
	parse_bad("EHLO example..", 501, "5.5.2");
	parse_bad("EHLO [1.2.3]", 501, "5.5.2");
	parse_bad("EHLO [300.1.1.1]", 501, "5.5.2");
	parse_bad("EHLO [IPv6:zz::]", 501, "5.5.2");
	parse_bad("EHLO [127.0.0.1", 501, "5.5.2");
	parse_bad("EHLO []", 501, "5.5.2");
	parse_bad("EHLO a\x01.example", 501, "5.5.2");
	parse_bad("EHLO a<b>.example", 501, "5.5.2");
	/* Invalid UTF-8: lone continuation, overlong, surrogate, truncated. */
	parse_bad("EHLO a\x80.example", 501, "5.5.2");
	parse_bad("EHLO a\xc0\xaf.example", 501, "5.5.2");
	parse_bad("EHLO a\xed\xa0\x80.example", 501, "5.5.2");
	parse_bad("EHLO a\xe2\x82", 501, "5.5.2");
}

static void
test_valid_domain_limits(void **state)
{
	char buf[LIMIT_DOMAIN + 8];
	size_t n = 0;

	/* 63-octet labels are the maximum (RFC 1035 §2.3.4). */
	memset(buf, 'a', 64);
	assert_true(smtp_valid_domain(buf, 63));
	assert_false(smtp_valid_domain(buf, 64));
	/* Build a 255-octet name of 63-octet labels, then one octet more. */
	while (n + 64 <= LIMIT_DOMAIN) {
		memset(buf + n, 'b', 63);
		buf[n + 63] = '.';
		n += 64;
	}
	memset(buf + n, 'c', LIMIT_DOMAIN - n);
	assert_true(smtp_valid_domain(buf, LIMIT_DOMAIN));
	buf[LIMIT_DOMAIN] = 'c';
	assert_false(smtp_valid_domain(buf, LIMIT_DOMAIN + 1));
	/* ...but a trailing dot does not count. */
	buf[LIMIT_DOMAIN] = '.';
	assert_true(smtp_valid_domain(buf, LIMIT_DOMAIN + 1));
	assert_false(smtp_valid_domain("", 0));
	assert_false(smtp_valid_domain(NULL, 0));
	assert_false(smtp_valid_domain("[1.2.3.4]\0x", 11));
	assert_false(smtp_valid_domain("a\0b", 3));
	/* The same limits for HELO. */
	assert_true(smtp_valid_helo(buf, LIMIT_DOMAIN));
	buf[LIMIT_DOMAIN + 1] = 'c';
	assert_false(smtp_valid_helo(buf, LIMIT_DOMAIN + 2));
	memset(buf, 'a', 64);
	assert_true(smtp_valid_helo(buf, 63));
	assert_false(smtp_valid_helo(buf, 64));
	assert_false(smtp_valid_helo(NULL, 0));
	assert_false(smtp_valid_helo("", 0));
}

static void
test_mail_from(void **state)
{
	struct smtp_cmd *c;

	c = parse_ok("MAIL FROM:<alice@example.com>", SMTP_VERB_MAIL);
	assert_string_equal(c->path, "alice@example.com");
	assert_int_equal(c->n_params, 0);
	assert_false(c->path_has_utf8);
	c = parse_ok("mail from:<Alice@Example.COM>", SMTP_VERB_MAIL);
	assert_string_equal(c->path, "Alice@Example.COM");
	c = parse_ok("MAIL FROM:<>", SMTP_VERB_MAIL);
	assert_string_equal(c->path, "");
	c = parse_ok("MAIL FROM: <>", SMTP_VERB_MAIL);
	assert_string_equal(c->path, "");
	/* Lenient: space after the colon, missing brackets. */
	c = parse_ok("MAIL FROM: <bob@example.org>", SMTP_VERB_MAIL);
	assert_string_equal(c->path, "bob@example.org");
	c = parse_ok("MAIL FROM:bob@example.org", SMTP_VERB_MAIL);
	assert_string_equal(c->path, "bob@example.org");
	c = parse_ok("MAIL FROM: bob@example.org SIZE=10", SMTP_VERB_MAIL);
	assert_string_equal(c->path, "bob@example.org");
	assert_int_equal(c->n_params, 1);
	c = parse_ok("MAIL FROM:<a@[192.0.2.1]>", SMTP_VERB_MAIL);
	assert_string_equal(c->path, "a@[192.0.2.1]");
	c = parse_ok("MAIL FROM:<a+tag.x_y@sub.example.com>", SMTP_VERB_MAIL);
	assert_string_equal(c->path, "a+tag.x_y@sub.example.com");
	/* Tolerated: dots where RFC 5321 forbids them (real mailboxes). */
	c = parse_ok("MAIL FROM:<foo..bar.@example.jp>", SMTP_VERB_MAIL);
	assert_string_equal(c->path, "foo..bar.@example.jp");
}

static void
test_mail_from_bad(void **state)
{
	parse_bad("MAIL", 501, "5.5.4");
	parse_bad("MAIL TO:<a@b.c>", 501, "5.5.4");
	parse_bad("MAIL FROM", 501, "5.5.4");
	parse_bad("MAIL FROM:", 501, "5.5.4");
	parse_bad("MAIL FROM:   ", 501, "5.5.4");
	parse_bad("MAIL FROM<a@b.c>", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.c", 501, "5.1.7");
	parse_bad("MAIL FROM:<postmaster>", 501, "5.1.7");
	parse_bad("MAIL FROM:<ab.c>", 501, "5.1.7");
	parse_bad("MAIL FROM:<@b.c>", 501, "5.1.7");
	parse_bad("MAIL FROM:<a@>", 501, "5.1.7");
	parse_bad("MAIL FROM:<a b@c.d>", 501, "5.1.7");
	parse_bad("MAIL FROM:<a\tb@c.d>", 501, "5.1.7");
	parse_bad("MAIL FROM:<a\x7f@c.d>", 501, "5.1.7");
	parse_bad("MAIL FROM:<a@c d>", 501, "5.1.7");
	parse_bad("MAIL FROM:<a@-c.d>", 501, "5.1.7");
	parse_bad("MAIL FROM:<<a@b.c>>", 501, "5.5.4");
	parse_bad("MAIL FROM:<<a@b.c>", 501, "5.1.7");
	parse_bad("MAIL FROM:<a(b)@c.d>", 501, "5.1.7");
	parse_bad("MAIL FROM:<a@b.c>x", 501, "5.5.4");
	parse_bad("MAIL FROM:<\"unterminated@b.c>", 501, "5.1.7");
	parse_bad("MAIL FROM:<a\xff@b.c>", 501, "5.1.7");
}

static void
test_rcpt_to(void **state)
{
	struct smtp_cmd *c;

	c = parse_ok("RCPT TO:<bob@example.org>", SMTP_VERB_RCPT);
	assert_string_equal(c->path, "bob@example.org");
	c = parse_ok("rcpt to: <bob@example.org> NOTIFY=NEVER", SMTP_VERB_RCPT);
	assert_string_equal(c->path, "bob@example.org");
	assert_int_equal(c->n_params, 1);
	c = parse_ok("RCPT TO:<postmaster>", SMTP_VERB_RCPT);
	assert_string_equal(c->path, "postmaster");
	c = parse_ok("RCPT TO:<PostMaster>", SMTP_VERB_RCPT);
	assert_string_equal(c->path, "postmaster");
	c = parse_ok("RCPT TO:postmaster", SMTP_VERB_RCPT);
	assert_string_equal(c->path, "postmaster");
	c = parse_ok("RCPT TO:<postmaster@example.org>", SMTP_VERB_RCPT);
	assert_string_equal(c->path, "postmaster@example.org");
	parse_bad("RCPT TO:<>", 501, "5.1.3");
	parse_bad("RCPT TO: <>", 501, "5.1.3");
	parse_bad("RCPT FROM:<a@b.c>", 501, "5.5.4");
	parse_bad("RCPT TO:", 501, "5.5.4");
	parse_bad("RCPT TO:<bob>", 501, "5.1.3");
	parse_bad("RCPT TO:<bob@>", 501, "5.1.3");
	parse_bad("RCPT TO:<bob@example.org", 501, "5.1.3");
	parse_bad("RCPT TO:<b\x01ob@example.org>", 501, "5.1.3");
}

static void
test_source_route_and_quotes(void **state)
{
	struct smtp_cmd *c;

	c = parse_ok("RCPT TO:<@relay.example:u@d.example>", SMTP_VERB_RCPT);
	assert_string_equal(c->path, "u@d.example");
	c = parse_ok("RCPT TO:<@a.example,@b.example:u@d.example>",
		     SMTP_VERB_RCPT);
	assert_string_equal(c->path, "u@d.example");
	c = parse_ok("MAIL FROM:<@[IPv6:::1]:u@d.example>", SMTP_VERB_MAIL);
	assert_string_equal(c->path, "u@d.example");
	parse_bad("RCPT TO:<@a.example u@d.example>", 501, "5.1.3");
	parse_bad("RCPT TO:<@:u@d.example>", 501, "5.1.3");
	parse_bad("RCPT TO:<@a.example,u@d.example>", 501, "5.1.3");
	parse_bad("RCPT TO:<@a.example:>", 501, "5.1.3");
	parse_bad("MAIL FROM:<@a.example;u@d.example>", 501, "5.1.7");

	/* Quoted local parts are kept as written. */
	c = parse_ok("RCPT TO:<\"john smith\"@example.com>", SMTP_VERB_RCPT);
	assert_string_equal(c->path, "\"john smith\"@example.com");
	c = parse_ok("RCPT TO:<\"a@b>c\"@example.com> SIZE=5", SMTP_VERB_RCPT);
	assert_string_equal(c->path, "\"a@b>c\"@example.com");
	assert_int_equal(c->n_params, 1);
	c = parse_ok("RCPT TO:<\"a\\\"b\\\\\"@example.com>", SMTP_VERB_RCPT);
	assert_string_equal(c->path, "\"a\\\"b\\\\\"@example.com");
	parse_bad("RCPT TO:<\"a\"b\"@example.com>", 501, "5.1.3");
	parse_bad("RCPT TO:<\"a\x01\"@example.com>", 501, "5.1.3");
	parse_bad("RCPT TO:<a\"b\"@example.com>", 501, "5.1.3");
	parse_bad("RCPT TO:<\"\\\x01\"@example.com>", 501, "5.1.3");

	size_t at;
	assert_int_equal(smtp_split_address("\"a@b\"@c.d", &at), 0);
	assert_int_equal(at, 5);
	assert_int_equal(smtp_split_address("nodomain", &at), -1);
	assert_int_equal(smtp_split_address("@d", &at), -1);
	assert_int_equal(smtp_split_address("u@", &at), -1);
	assert_int_equal(smtp_split_address("a@b@c", &at), 0);
	assert_int_equal(at, 3);
}

static void
test_path_limits(void **state)
{
	char line[1024];
	char local[LIMIT_LOCALPART + 2];
	char dom[LIMIT_DOMAIN + 2];
	size_t i;

	memset(local, 'l', sizeof(local));
	local[LIMIT_LOCALPART] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.com>", local);
	parse_ok(line, SMTP_VERB_RCPT);
	local[LIMIT_LOCALPART] = 'l';
	local[LIMIT_LOCALPART + 1] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.com>", local);
	parse_bad(line, 501, "5.1.3");

	/* A domain of 255 octets is fine, 256 is not. */
	for (i = 0; i < LIMIT_DOMAIN; i++)
		dom[i] = (i % 50 == 49) ? '.' : 'd';
	dom[LIMIT_DOMAIN] = '\0';
	snprintf(line, sizeof(line), "MAIL FROM:<u@%s>", dom);
	parse_ok(line, SMTP_VERB_MAIL);
	dom[LIMIT_DOMAIN] = 'd';
	dom[LIMIT_DOMAIN + 1] = '\0';
	snprintf(line, sizeof(line), "MAIL FROM:<u@%s>", dom);
	parse_bad(line, 501, "5.1.7");

	/* A path longer than LIMIT_ADDRESS, even with a short local part
	 * (quoted parts and routes cannot make it fit). */
	memset(line, 0, sizeof(line));
	memcpy(line, "MAIL FROM:<", 11);
	memset(line + 11, 'x', LIMIT_ADDRESS + 10);
	line[11 + 5] = '@';
	line[11 + LIMIT_ADDRESS + 10] = '>';
	parse_bad(line, 501, "5.1.7");
}

static void
test_utf8_paths(void **state)
{
	struct smtp_cmd *c;

	c = parse_ok("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.example> "
		     "SMTPUTF8",
		     SMTP_VERB_MAIL);
	assert_true(c->path_has_utf8);
	assert_string_equal(c->path, "j\xc3\xb6rg@b\xc3\xbc" "cher.example");
	assert_non_null(smtp_cmd_param(c, "smtputf8"));
	c = parse_ok("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b.example>",
		     SMTP_VERB_RCPT);
	assert_true(c->path_has_utf8);
	c = parse_ok("RCPT TO:<\xf0\x9f\x98\x80@example.com>", SMTP_VERB_RCPT);
	assert_true(c->path_has_utf8);
	parse_bad("RCPT TO:<\xc3@example.com>", 501, "5.1.3");
	parse_bad("RCPT TO:<\xf5\x80\x80\x80@example.com>", 501, "5.1.3");
	parse_bad("RCPT TO:<\xe0\x80\x80@example.com>", 501, "5.1.3");
}

static void
test_params(void **state)
{
	struct smtp_cmd *c;
	const struct smtp_param *p;

	c = parse_ok("MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME "
		     "SMTPUTF8  AUTH=<>  RET=HDRS ENVID=QQ314159",
		     SMTP_VERB_MAIL);
	assert_int_equal(c->n_params, 6);
	p = smtp_cmd_param(c, "size");
	assert_non_null(p);
	assert_int_equal(p->val_len, 4);
	assert_memory_equal(p->val, "1000", 4);
	p = smtp_cmd_param(c, "SMTPUTF8");
	assert_non_null(p);
	assert_null(p->val);
	p = smtp_cmd_param(c, "Auth");
	assert_non_null(p);
	assert_memory_equal(p->val, "<>", 2);
	assert_null(smtp_cmd_param(c, "SIZ"));
	assert_null(smtp_cmd_param(c, "NOTIFY"));

	c = parse_ok("RCPT TO:<a@b.example> ORCPT=rfc822;a+2Bb@b.example "
		     "X-FOO-1=v\xc3\xa9",
		     SMTP_VERB_RCPT);
	assert_int_equal(c->n_params, 2);

	parse_bad("MAIL FROM:<a@b.example> SIZE=", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> =1", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> -X=1", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> S_Z=1", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> A=b=c", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> A=b\x7f", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> A=b\x01", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> A=\xff", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> A=b\tB=c", 501, "5.5.4");
}

/* RFC 3461 §4: DSN parameters, decoded, and their refusals. */
static void
test_dsn_mail(void **state)
{
	struct smtp_cmd *c;
	char line[512];

	c = parse_ok("MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ+3D314",
		     SMTP_VERB_MAIL);
	assert_int_equal(c->dsn_ret, SMTP_RET_HDRS);
	assert_string_equal(c->envid, "QQ=314");
	c = parse_ok("MAIL FROM:<a@b.example> ret=full envid=Q+2BQ+20x",
		     SMTP_VERB_MAIL);
	assert_int_equal(c->dsn_ret, SMTP_RET_FULL);
	assert_string_equal(c->envid, "Q+Q x");
	c = parse_ok("MAIL FROM:<> RET=Hdrs", SMTP_VERB_MAIL);
	assert_int_equal(c->dsn_ret, SMTP_RET_HDRS);
	assert_string_equal(c->envid, "");
	c = parse_ok("MAIL FROM:<a@b.example>", SMTP_VERB_MAIL);
	assert_int_equal(c->dsn_ret, SMTP_RET_DEFAULT);
	/* NOTIFY/ORCPT belong to RCPT: left for the handler to refuse. */
	c = parse_ok("MAIL FROM:<a@b.example> NOTIFY=bogus", SMTP_VERB_MAIL);
	assert_int_equal(c->notify, 0);

	parse_bad("MAIL FROM:<a@b.example> RET=ALL", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> RET", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> RET=FULL RET=HDRS", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> RET=FULL ret=FULL", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> ENVID=a ENVID=b", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> ENVID", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> ENVID=a+2", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> ENVID=a+2b", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> ENVID=a+00", 501, "5.5.4");
	/* A decoded CR or LF would land in a DSN header. */
	parse_bad("MAIL FROM:<a@b.example> ENVID=a+0D+0AX:y", 501, "5.5.4");
	parse_bad("MAIL FROM:<a@b.example> ENVID=\xc3\xa9", 501, "5.5.4");
	/* 100 decoded octets pass, 101 do not. */
	snprintf(line, sizeof(line), "MAIL FROM:<a@b.example> ENVID=%0100d", 0);
	assert_int_equal(strlen(parse_ok(line, SMTP_VERB_MAIL)->envid), 100);
	snprintf(line, sizeof(line), "MAIL FROM:<a@b.example> ENVID=%0101d", 0);
	parse_bad(line, 501, "5.5.4");
}

static void
test_dsn_rcpt(void **state)
{
	struct smtp_cmd *c;
	char line[1200];
	size_t n;

	c = parse_ok("RCPT TO:<a@b.example> NOTIFY=SUCCESS,delay,Failure "
		     "ORCPT=rfc822;x+2By@c.example", SMTP_VERB_RCPT);
	assert_int_equal(c->notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY |
					    SMTP_NOTIFY_FAILURE);
	assert_string_equal(c->orcpt, "rfc822;x+y@c.example");
	c = parse_ok("RCPT TO:<a@b.example> notify=never ORCPT=RFC822;a@b",
		     SMTP_VERB_RCPT);
	assert_int_equal(c->notify, SMTP_NOTIFY_NEVER);
	assert_string_equal(c->orcpt, "rfc822;a@b");
	c = parse_ok("RCPT TO:<a@b.example>", SMTP_VERB_RCPT);
	assert_int_equal(c->notify, 0);
	assert_string_equal(c->orcpt, "");
	/* RFC 6533 §3: utf-8 address type, \x{HEX} decoded. */
	c = parse_ok("RCPT TO:<a@b.example> ORCPT=UTF-8;j\\x{E9}r\\x{f4}me@b",
		     SMTP_VERB_RCPT);
	assert_string_equal(c->orcpt, "utf-8;j\xc3\xa9r\xc3\xb4me@b");
	c = parse_ok("RCPT TO:<a@b.example> ORCPT=utf-8;\xc3\xa9@b",
		     SMTP_VERB_RCPT);
	assert_string_equal(c->orcpt, "utf-8;\xc3\xa9@b");

	parse_bad("RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> NOTIFY=SUCCESS,NEVER", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS", 501,
		  "5.5.4");
	parse_bad("RCPT TO:<a@b.example> NOTIFY=SUCCESS,", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> NOTIFY=,SUCCESS", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> NOTIFY=ALWAYS", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> NOTIFY", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> NOTIFY=NEVER NOTIFY=NEVER", 501,
		  "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=a@b", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=x400;a@b", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=rfc822;", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=rfc822;a+2", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=rfc822;a+0Ab", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=rfc822;\xc3\xa9@b", 501,
		  "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=utf-8;a+2Bb", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=utf-8;a\\x{D800}", 501,
		  "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=utf-8;a\\x{110000}", 501,
		  "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=utf-8;a\\x{}", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=utf-8;a\\x{41", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=utf-8;a\\x{0}", 501, "5.5.4");
	parse_bad("RCPT TO:<a@b.example> ORCPT=rfc822;a@b ORCPT=rfc822;a@b",
		  501, "5.5.4");
	/* The address limit (decoded), then the 500-octet wire limit. */
	n = (size_t)snprintf(line, sizeof(line),
			     "RCPT TO:<a@b.example> ORCPT=rfc822;");
	memset(line + n, 'a', LIMIT_ADDRESS);
	line[n + LIMIT_ADDRESS] = '\0';
	assert_int_equal(strlen(parse_ok(line, SMTP_VERB_RCPT)->orcpt),
			 7 + LIMIT_ADDRESS);
	memcpy(line + n + LIMIT_ADDRESS, "a", 2);
	parse_bad(line, 501, "5.5.4");
	memset(line + n, 'a', 495);
	line[n + 495] = '\0';
	parse_bad(line, 501, "5.5.4");
	/* NOTIFY/ORCPT are not MAIL parameters, RET/ENVID not RCPT ones:
	 * passed through, undecoded, for the handler's 555. */
	c = parse_ok("RCPT TO:<a@b.example> RET=bogus", SMTP_VERB_RCPT);
	assert_int_equal(c->dsn_ret, SMTP_RET_DEFAULT);
}

static void
test_too_many_params(void **state)
{
	char line[512];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<a@b.example>");
	for (int i = 0; i < SMTP_MAX_PARAMS; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " P%d=v", i);
	assert_int_equal(parse_ok(line, SMTP_VERB_MAIL)->n_params,
			 SMTP_MAX_PARAMS);
	snprintf(line + n, sizeof(line) - n, " EXTRA");
	parse_bad(line, 501, "5.5.4");
}

static void
test_auth(void **state)
{
	struct smtp_cmd *c;

	c = parse_ok("AUTH PLAIN", SMTP_VERB_AUTH);
	assert_int_equal(c->arg_len, 5);
	c = parse_ok("auth plain AGFsaWNlAHNlY3JldA==", SMTP_VERB_AUTH);
	assert_memory_equal(c->arg, "plain AGFsaWNlAHNlY3JldA==", c->arg_len);
	parse_ok("AUTH LOGIN =", SMTP_VERB_AUTH);
	parse_ok("AUTH SCRAM-SHA-256", SMTP_VERB_AUTH);
	parse_ok("AUTH X_MECH", SMTP_VERB_AUTH);
	parse_bad("AUTH", 501, "5.5.4");
	parse_bad("AUTH PLAIN a b", 501, "5.5.4");
	parse_bad("AUTH PL/AIN", 501, "5.5.4");
	parse_bad("AUTH ABCDEFGHIJKLMNOPQRSTU", 501, "5.5.4");
	parse_ok("AUTH ABCDEFGHIJKLMNOPQRST", SMTP_VERB_AUTH);
}

static void
test_bdat(void **state)
{
	struct smtp_cmd *c;

	c = parse_ok("BDAT 1000", SMTP_VERB_BDAT);
	assert_int_equal(c->bdat_size, 1000);
	assert_false(c->bdat_last);
	c = parse_ok("bdat 0 last", SMTP_VERB_BDAT);
	assert_int_equal(c->bdat_size, 0);
	assert_true(c->bdat_last);
	c = parse_ok("BDAT 9223372036854775807 LAST", SMTP_VERB_BDAT);
	assert_true(c->bdat_size == 9223372036854775807ULL);
	c = parse_ok("BDAT 000042", SMTP_VERB_BDAT);
	assert_int_equal(c->bdat_size, 42);
	parse_bad("BDAT", 501, "5.5.4");
	parse_bad("BDAT 9223372036854775808", 501, "5.5.4");
	parse_bad("BDAT 18446744073709551616", 501, "5.5.4");
	parse_bad("BDAT 99999999999999999999999999999", 501, "5.5.4");
	parse_bad("BDAT -1", 501, "5.5.4");
	parse_bad("BDAT +1", 501, "5.5.4");
	parse_bad("BDAT 1x", 501, "5.5.4");
	parse_bad("BDAT 10 FIRST", 501, "5.5.4");
	parse_bad("BDAT 10 LAST x", 501, "5.5.4");
	parse_bad("BDAT LAST", 501, "5.5.4");
}

/* A refused BDAT's chunk is still read (RFC 3030 §2): the size is known
 * whenever it parsed, even when what follows it did not. */
static void
test_bdat_size_on_error(void **state)
{
	parse_bad("BDAT 10 FIRST", 501, "5.5.4");
	assert_true(test_cmd.bdat_size_ok);
	assert_int_equal(test_cmd.bdat_size, 10);
	parse_bad("BDAT 7 LAST x", 501, "5.5.4");
	assert_true(test_cmd.bdat_size_ok);
	assert_int_equal(test_cmd.bdat_size, 7);
	parse_bad("BDAT x", 501, "5.5.4");
	assert_false(test_cmd.bdat_size_ok);
	parse_bad("BDAT 99999999999999999999999", 501, "5.5.4");
	assert_false(test_cmd.bdat_size_ok);
	parse_bad("BDAT", 501, "5.5.4");
	assert_false(test_cmd.bdat_size_ok);
	assert_true(parse_ok("BDAT 5", SMTP_VERB_BDAT)->bdat_size_ok);
	assert_true(smtp_line_is_bdat("BDAT", 4));
	assert_true(smtp_line_is_bdat("bdat 5\0", 7));
	assert_true(smtp_line_is_bdat("BdAt x", 6));
	assert_true(smtp_line_is_bdat("BDAT\t5", 6));
	assert_false(smtp_line_is_bdat("BDATX 5", 7));
	assert_false(smtp_line_is_bdat("BDA", 3));
	assert_false(smtp_line_is_bdat("DATA", 4));
	assert_false(smtp_line_is_bdat(" BDAT 5", 7));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs_case_insensitive),
		cmocka_unit_test(test_bdat_size_on_error),
		cmocka_unit_test(test_unknown_verbs),
		cmocka_unit_test(test_nul_and_length),
		cmocka_unit_test(test_no_arg_verbs),
		cmocka_unit_test(test_text_verbs),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_valid_domain_limits),
		cmocka_unit_test(test_mail_from),
		cmocka_unit_test(test_mail_from_bad),
		cmocka_unit_test(test_rcpt_to),
		cmocka_unit_test(test_source_route_and_quotes),
		cmocka_unit_test(test_path_limits),
		cmocka_unit_test(test_utf8_paths),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_too_many_params),
		cmocka_unit_test(test_dsn_mail),
		cmocka_unit_test(test_dsn_rcpt),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_bdat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
