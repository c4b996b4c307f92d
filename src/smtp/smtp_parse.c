/*
 * SMTP command parser (RFC 5321 §4.1). One line in, one struct smtp_cmd or
 * one error reply out. The verb is looked up in a table whose entry names
 * the function that checks that verb's arguments. Strict where strictness
 * protects us (NUL, lengths, controls, parameter syntax), lenient where real
 * clients deviate harmlessly (a space after "FROM:", missing brackets,
 * trailing spaces, a trailing dot in EHLO).
 */
#include "smtp_parse.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../util/str.h"

typedef int (*smtp_args_fn)(const char *arg, size_t len, struct smtp_cmd *cmd,
			    struct smtp_parse_error *err);

struct smtp_verb_def {
	const char *name;
	enum smtp_verb verb;
	smtp_args_fn args;
};

/* RFC 1035 §2.3.4: a label is at most 63 octets. */
#define SMTP_LABEL_MAX 63
/* RFC 4422 §3.1: SASL mechanism names are 1 to 20 characters. */
#define SMTP_MECH_MAX 20

/* ---- small byte helpers (no mail knowledge) ---- */

static bool
smtp_is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* Well-formed UTF-8 (RFC 3629 §4): no overlongs, surrogates or values past
 * U+10FFFF. Plain ASCII passes. */
bool
smtp_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return false;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (len - i - 1 < n || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += n + 1;
	}
	return true;
}

static int
smtp_fail(struct smtp_parse_error *err, int code, const char *enh,
	  const char *text)
{
	err->code = code;
	err->enh = enh;
	err->text = text;
	return -1;
}

/* Splits [p, p+len) into words separated by runs of spaces. Returns the
 * number of words, or max + 1 when there are more than max. */
static size_t
smtp_split_words(const char *p, size_t len, const char **w, size_t *wl,
		 size_t max)
{
	const char *end = p + len;
	size_t n = 0;

	while (p < end) {
		const char *s;

		if (*p == ' ') {
			p++;
			continue;
		}
		if (n == max)
			return max + 1;
		s = p;
		while (p < end && *p != ' ')
			p++;
		w[n] = s;
		wl[n] = (size_t)(p - s);
		n++;
	}
	return n;
}

/* ---- domains ---- */

/* RFC 5321 §4.1.2 sub-domain: letters, digits, hyphens, not at either end.
 * We also accept '_' (Windows host names in HELO are full of them) and
 * UTF-8 octets (RFC 6531 §3.3, already checked to be well-formed). */
static bool
smtp_valid_label(const char *l, size_t n)
{
	if (n == 0 || n > SMTP_LABEL_MAX || l[0] == '-' || l[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if (!smtp_is_alnum(c) && c != '-' && c != '_' && c < 0x80)
			return false;
	}
	return true;
}

/* RFC 5321 §4.1.3 address literal: [IPv4] or [IPv6:addr]. General
 * (tagged) literals are not accepted: nothing uses them. */
static bool
smtp_valid_literal(const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned char addr[sizeof(struct in6_addr)];
	int family = AF_INET;

	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return false;
	s++;
	len -= 2;
	if (len >= 5 && str_ieq(s, 5, "IPv6:")) {
		family = AF_INET6;
		s += 5;
		len -= 5;
	}
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(family, buf, addr) == 1;
}

bool
smtp_valid_domain(const char *s, size_t len)
{
	size_t start = 0;

	if (s == NULL || len == 0 || memchr(s, '\0', len) != NULL)
		return false;
	if (s[0] == '[')
		return smtp_valid_literal(s, len);
	/* A trailing dot (absolute name) is harmless; accept it. */
	if (s[len - 1] == '.')
		len--;
	if (len == 0 || len > LIMIT_DOMAIN ||
	    !smtp_utf8_valid((const unsigned char *)s, len))
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (!smtp_valid_label(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

/* HELO/EHLO: RFC 5321 §4.1.2 Domain (labels of letters, digits and inner
 * hyphens, 1 to 63 octets, 255 in all; '_' tolerated as above) or an
 * address literal. ASCII only, whatever the client means to do next:
 * RFC 6531 §3.7.1 -- "Since the SMTP client cannot know whether the SMTP
 * server supports SMTPUTF8 until after it receives the response to the
 * EHLO, the SMTPUTF8-aware SMTP client MUST send only ASCII (LDH label or
 * A-label [RFC5890]) domains in the EHLO command." An internationalized
 * name comes as its A-label (xn--...), which passes as an LDH label; a
 * U-label here is from a client that follows neither RFC. */
bool
smtp_valid_helo(const char *s, size_t len)
{
	if (s == NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return smtp_valid_domain(s, len);
}

/* ---- addresses ---- */

/* Index of the last '@' outside a quoted string, or -1. */
static long
smtp_find_at(const char *s, size_t len)
{
	long at = -1;
	bool inq = false;

	for (size_t i = 0; i < len; i++) {
		if (inq && s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '"')
			inq = !inq;
		else if (!inq && s[i] == '@')
			at = (long)i;
	}
	return at;
}

int
smtp_split_address(const char *addr, size_t *at_r)
{
	size_t len = strlen(addr);
	long at = smtp_find_at(addr, len);

	if (at <= 0 || (size_t)at + 1 >= len || (size_t)at > LIMIT_LOCALPART ||
	    len - (size_t)at - 1 > LIMIT_DOMAIN)
		return -1;
	*at_r = (size_t)at;
	return 0;
}

/* RFC 5322 §3.2.3 atext, plus '.' for the dot-string. Consecutive or
 * leading/trailing dots are tolerated: real mailboxes (some mobile
 * carriers) have them and refusing them loses mail. */
static bool
smtp_is_atext(unsigned char c)
{
	return smtp_is_alnum(c) || c == '.' || c >= 0x80 ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* RFC 5321 §4.1.2 Local-part: Dot-string or Quoted-string (kept quoted). */
static bool
smtp_valid_local(const char *s, size_t n)
{
	if (n == 0)
		return false;
	if (s[0] != '"') {
		for (size_t i = 0; i < n; i++)
			if (!smtp_is_atext((unsigned char)s[i]))
				return false;
		return true;
	}
	if (n < 2 || s[n - 1] != '"')
		return false;
	for (size_t i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		/* quoted-pairSMTP = '\' %d32-126 */
		if (c == '\\') {
			if (i + 1 >= n - 1 || s[i + 1] < 32 || s[i + 1] > 126)
				return false;
			i++;
			continue;
		}
		/* qtextSMTP = %d32-33 / %d35-91 / %d93-126 (+ UTF-8). */
		if (c == '"' || c < 32 || c == 127)
			return false;
	}
	return true;
}

/* Checks a mailbox local@domain, without brackets or route. */
static bool
smtp_valid_mailbox(const char *s, size_t n)
{
	long at = smtp_find_at(s, n);
	size_t dlen;

	if (at <= 0 || !smtp_utf8_valid((const unsigned char *)s, n))
		return false;
	dlen = n - (size_t)at - 1;
	if ((size_t)at > LIMIT_LOCALPART || dlen == 0 || dlen > LIMIT_DOMAIN)
		return false;
	return smtp_valid_local(s, (size_t)at) &&
	       smtp_valid_domain(s + at + 1, dlen);
}

/* RFC 5321 §4.1.2 A-d-l ("@a,@b:"), obsolete source route; §3.6.1 and
 * Appendix C: it SHOULD be ignored. Returns the position after the ':'. */
static const char *
smtp_skip_route(const char *p, const char *end)
{
	for (;;) {
		const char *d;

		if (p >= end || *p != '@')
			return NULL;
		d = ++p;
		if (p < end && *p == '[') {
			p = memchr(p, ']', (size_t)(end - p));
			if (p == NULL)
				return NULL;
			p++;
		} else {
			while (p < end && *p != ',' && *p != ':')
				p++;
		}
		if (p >= end || !smtp_valid_domain(d, (size_t)(p - d)))
			return NULL;
		if (*p == ':')
			return p + 1;
		if (*p != ',')
			return NULL;
		p++;
	}
}

/* Finds the path starting at p: "<...>" up to the '>' that closes it, or
 * (no brackets) up to the first space; quotes are respected either way.
 * Sets [*ms_r, *me_r) to the content and *next_r after it. 0 or -1. */
static int
smtp_path_span(const char *p, const char *end, const char **ms_r,
	       const char **me_r, const char **next_r)
{
	bool bracketed = *p == '<';
	bool inq = false;
	const char *i = p + bracketed;

	for (; i < end; i++) {
		if (inq && *i == '\\' && i + 1 < end)
			i++;
		else if (*i == '"')
			inq = !inq;
		else if (!inq && (bracketed ? *i == '>' : *i == ' '))
			break;
	}
	if (inq || (bracketed && i >= end))
		return -1;
	*ms_r = p + bracketed;
	*me_r = i;
	*next_r = bracketed ? i + 1 : i;
	return 0;
}

/* ---- ESMTP parameters ---- */

/* RFC 5321 §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"),
 * esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 (RFC 6531 §3.3). */
static bool
smtp_valid_param(const char *w, size_t n, struct smtp_param *pr)
{
	const char *eq = memchr(w, '=', n);
	size_t klen = eq != NULL ? (size_t)(eq - w) : n;

	if (klen == 0 || !smtp_is_alnum((unsigned char)w[0]))
		return false;
	for (size_t i = 1; i < klen; i++)
		if (!smtp_is_alnum((unsigned char)w[i]) && w[i] != '-')
			return false;
	pr->key = w;
	pr->key_len = klen;
	if (eq == NULL)
		return true;
	pr->val = eq + 1;
	pr->val_len = n - klen - 1;
	if (pr->val_len == 0)
		return false;
	for (size_t i = 0; i < pr->val_len; i++) {
		unsigned char c = (unsigned char)pr->val[i];

		if (c < 33 || c == '=' || c == 127)
			return false;
	}
	return smtp_utf8_valid((const unsigned char *)pr->val, pr->val_len);
}

static int
smtp_parse_params(const char *p, const char *end, struct smtp_cmd *cmd,
		  struct smtp_parse_error *err)
{
	const char *w[SMTP_MAX_PARAMS];
	size_t wl[SMTP_MAX_PARAMS];
	size_t n = smtp_split_words(p, (size_t)(end - p), w, wl,
				    SMTP_MAX_PARAMS);

	if (n > SMTP_MAX_PARAMS)
		return smtp_fail(err, 501, "5.5.4", "Too many parameters");
	for (size_t i = 0; i < n; i++) {
		const struct smtp_param *pr = &cmd->params[i];

		if (!smtp_valid_param(w[i], wl[i], &cmd->params[i]))
			return smtp_fail(err, 501, "5.5.4",
					 "Invalid parameter syntax");
		/* A keyword twice (RFC 3461 §4: each DSN parameter at most
		 * once; RFC 1869 gives no meaning to a repeat either). */
		for (size_t k = 0; k < i; k++)
			if (cmd->params[k].key_len == pr->key_len &&
			    strncasecmp(cmd->params[k].key, pr->key,
					pr->key_len) == 0)
				return smtp_fail(err, 501, "5.5.4",
						 "Duplicate parameter");
	}
	cmd->n_params = n;
	return 0;
}

/* ---- per-verb argument checks ---- */

static int
smtp_args_none(const char *arg, size_t len, struct smtp_cmd *cmd,
	       struct smtp_parse_error *err)
{
	if (len > 0)
		return smtp_fail(err, 501, "5.5.4", "No parameters allowed");
	return 0;
}

static int
smtp_args_text_opt(const char *arg, size_t len, struct smtp_cmd *cmd,
		   struct smtp_parse_error *err)
{
	return 0;
}

static int
smtp_args_text_req(const char *arg, size_t len, struct smtp_cmd *cmd,
		   struct smtp_parse_error *err)
{
	if (len == 0)
		return smtp_fail(err, 501, "5.5.4", "Argument required");
	return 0;
}

/* RFC 5321 §4.1.1.1: HELO/EHLO take a domain or an address literal
 * (smtp_valid_helo). */
static int
smtp_args_domain(const char *arg, size_t len, struct smtp_cmd *cmd,
		 struct smtp_parse_error *err)
{
	if (len == 0)
		return smtp_fail(err, 501, "5.5.4", "Domain name required");
	/* 5.5.2 (RFC 3463: syntax error), as Postfix answers an invalid
	 * HELO name. */
	if (!smtp_valid_helo(arg, len))
		return smtp_fail(err, 501, "5.5.2", "Invalid domain name");
	return 0;
}

/* Validates the mailbox [ms, me) and copies it into cmd->path. */
static int
smtp_store_path(const char *ms, const char *me, bool is_mail,
		struct smtp_cmd *cmd, struct smtp_parse_error *err)
{
	const char *enh = is_mail ? "5.1.7" : "5.1.3";
	const char *bad = is_mail ? "Bad sender address syntax"
				  : "Bad recipient address syntax";
	size_t n = (size_t)(me - ms);

	if (n > LIMIT_ADDRESS)
		return smtp_fail(err, 501, enh, "Path too long");
	/* RFC 5321 §4.1.1.3: RCPT TO:<postmaster> without a domain. */
	if (!is_mail && str_ieq(ms, n, "postmaster")) {
		memcpy(cmd->path, "postmaster", sizeof("postmaster"));
		return 0;
	}
	if (!smtp_valid_mailbox(ms, n))
		return smtp_fail(err, 501, enh, bad);
	memcpy(cmd->path, ms, n);
	cmd->path[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)ms[i] >= 0x80)
			cmd->path_has_utf8 = true;
	return 0;
}

/* MAIL FROM:<reverse-path> [params] and RCPT TO:<forward-path> [params]
 * (RFC 5321 §4.1.1.2-3, §3.3). */
static int
smtp_args_path(const char *arg, size_t len, struct smtp_cmd *cmd,
	       struct smtp_parse_error *err, bool is_mail)
{
	const char *prefix = is_mail ? "FROM:" : "TO:";
	size_t plen = strlen(prefix);
	const char *end = arg + len, *p, *ms, *me, *next;

	p = len < plen ? end : arg + plen;
	while (p < end && *p == ' ')
		p++;
	if (len < plen || !str_ieq(arg, plen, prefix) || p >= end)
		return smtp_fail(err, 501, "5.5.4",
				 is_mail ? "Syntax: MAIL FROM:<address>"
					 : "Syntax: RCPT TO:<address>");
	if (smtp_path_span(p, end, &ms, &me, &next) < 0)
		return smtp_fail(err, 501, is_mail ? "5.1.7" : "5.1.3",
				 is_mail ? "Bad sender address syntax"
					 : "Bad recipient address syntax");
	/* Parameters are separated from the path by a space (§4.1.2). */
	if (next < end && *next != ' ')
		return smtp_fail(err, 501, "5.5.4", "Syntax error after path");
	if (ms == me) {
		/* RFC 5321 §4.5.5: <> is the null reverse-path, MAIL only. */
		if (!is_mail)
			return smtp_fail(err, 501, "5.1.3",
					 "Null recipient not allowed");
		cmd->path[0] = '\0';
		if (smtp_parse_params(next, end, cmd, err) < 0)
			return -1;
		return smtp_parse_dsn(cmd, is_mail, err);
	}
	if (*ms == '@') {
		ms = smtp_skip_route(ms, me);
		if (ms == NULL || ms == me)
			return smtp_fail(err, 501, is_mail ? "5.1.7" : "5.1.3",
					 "Bad source route");
	}
	if (smtp_store_path(ms, me, is_mail, cmd, err) < 0 ||
	    smtp_parse_params(next, end, cmd, err) < 0)
		return -1;
	return smtp_parse_dsn(cmd, is_mail, err);
}

static int
smtp_args_mail(const char *arg, size_t len, struct smtp_cmd *cmd,
	       struct smtp_parse_error *err)
{
	return smtp_args_path(arg, len, cmd, err, true);
}

static int
smtp_args_rcpt(const char *arg, size_t len, struct smtp_cmd *cmd,
	       struct smtp_parse_error *err)
{
	return smtp_args_path(arg, len, cmd, err, false);
}

/* RFC 4954 §4: AUTH mechanism [initial-response]. */
static int
smtp_args_auth(const char *arg, size_t len, struct smtp_cmd *cmd,
	       struct smtp_parse_error *err)
{
	const char *w[2];
	size_t wl[2];
	size_t n = smtp_split_words(arg, len, w, wl, 2);

	if (n < 1 || n > 2 || wl[0] > SMTP_MECH_MAX)
		return smtp_fail(err, 501, "5.5.4",
				 "Syntax: AUTH mechanism [initial-response]");
	/* RFC 4422 §3.1: mechanism names are [A-Z0-9-_]. */
	for (size_t i = 0; i < wl[0]; i++)
		if (!smtp_is_alnum((unsigned char)w[0][i]) && w[0][i] != '-' &&
		    w[0][i] != '_')
			return smtp_fail(err, 501, "5.5.4",
					 "Invalid mechanism name");
	return 0;
}

/* RFC 3030 §2: BDAT chunk-size [LAST]; chunk-size = 1*DIGIT. We cap it
 * below 2^63 so it fits every signed 64-bit size type downstream. The size
 * is read first: when only what follows it is wrong, bdat_size_ok tells
 * the caller how many chunk octets to skip. */
static int
smtp_args_bdat(const char *arg, size_t len, struct smtp_cmd *cmd,
	       struct smtp_parse_error *err)
{
	const char *w[3];
	size_t wl[3];
	size_t n = smtp_split_words(arg, len, w, wl, 3);
	unsigned long long v = 0;

	if (n < 1)
		return smtp_fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
	for (size_t i = 0; i < wl[0]; i++) {
		unsigned d = (unsigned)(w[0][i] - '0');

		if (w[0][i] < '0' || w[0][i] > '9' ||
		    v > ((unsigned long long)LLONG_MAX - d) / 10)
			return smtp_fail(err, 501, "5.5.4",
					 "Invalid BDAT chunk size");
		v = v * 10 + d;
	}
	cmd->bdat_size = v;
	cmd->bdat_size_ok = true;
	if (n > 2 || (n == 2 && !str_ieq(w[1], wl[1], "LAST")))
		return smtp_fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
	cmd->bdat_last = n == 2;
	return 0;
}

bool
smtp_line_is_bdat(const char *line, size_t len)
{
	return len >= 4 && str_ieq(line, 4, "BDAT") &&
	       (len == 4 || line[4] == ' ' || line[4] == '\t');
}

/* ---- the verb table and entry points ---- */

static const struct smtp_verb_def smtp_verbs[] = {
	{"HELO", SMTP_VERB_HELO, smtp_args_domain},
	{"EHLO", SMTP_VERB_EHLO, smtp_args_domain},
	{"MAIL", SMTP_VERB_MAIL, smtp_args_mail},
	{"RCPT", SMTP_VERB_RCPT, smtp_args_rcpt},
	{"DATA", SMTP_VERB_DATA, smtp_args_none},
	{"BDAT", SMTP_VERB_BDAT, smtp_args_bdat},
	{"RSET", SMTP_VERB_RSET, smtp_args_none},
	{"NOOP", SMTP_VERB_NOOP, smtp_args_text_opt},
	{"QUIT", SMTP_VERB_QUIT, smtp_args_none},
	{"HELP", SMTP_VERB_HELP, smtp_args_text_opt},
	{"VRFY", SMTP_VERB_VRFY, smtp_args_text_req},
	{"EXPN", SMTP_VERB_EXPN, smtp_args_text_req},
	{"STARTTLS", SMTP_VERB_STARTTLS, smtp_args_none},
	{"AUTH", SMTP_VERB_AUTH, smtp_args_auth},
};

#define SMTP_NVERBS (sizeof(smtp_verbs) / sizeof(smtp_verbs[0]))

static const struct smtp_verb_def *
smtp_verb_lookup(const char *tok, size_t len)
{
	for (size_t i = 0; i < SMTP_NVERBS; i++)
		if (str_ieq(tok, len, smtp_verbs[i].name))
			return &smtp_verbs[i];
	return NULL;
}

int
smtp_parse_command(const char *line, size_t len, struct smtp_cmd *cmd,
		   struct smtp_parse_error *err)
{
	const struct smtp_verb_def *def;
	const char *p = line, *end;

	memset(cmd, 0, sizeof(*cmd));
	/* RFC 5321 §4.5.3.1.4; LIMIT_SMTP_LINE counts the CRLF. */
	if (len > LIMIT_SMTP_LINE - 2)
		return smtp_fail(err, 500, "5.5.2", "Line too long");
	if (memchr(line, '\0', len) != NULL)
		return smtp_fail(err, 500, "5.5.2", "NUL byte in command");
	/* Trailing blanks are common and meaningless. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	end = line + len;
	while (p < end && *p != ' ')
		p++;
	def = smtp_verb_lookup(line, (size_t)(p - line));
	if (def == NULL)
		return smtp_fail(err, 500, "5.5.1", "Command unrecognized");
	cmd->verb = def->verb;
	while (p < end && *p == ' ')
		p++;
	if (p < end) {
		cmd->arg = p;
		cmd->arg_len = (size_t)(end - p);
	}
	return def->args(p, (size_t)(end - p), cmd, err);
}

const struct smtp_param *
smtp_cmd_param(const struct smtp_cmd *cmd, const char *key)
{
	for (size_t i = 0; i < cmd->n_params; i++)
		if (str_ieq(cmd->params[i].key, cmd->params[i].key_len, key))
			return &cmd->params[i];
	return NULL;
}

const char *
smtp_verb_name(enum smtp_verb v)
{
	for (size_t i = 0; i < SMTP_NVERBS; i++)
		if (smtp_verbs[i].verb == v)
			return smtp_verbs[i].name;
	return "UNKNOWN";
}
