/*
 * The DSN parameters of MAIL and RCPT (RFC 3461 §4), part of the command
 * parser (smtp_parse.h): pure, fuzzed through smtp_parse_command. Every
 * decoded value later lands in a header of a delivery status notification
 * (Original-Envelope-Id, Original-Recipient), so control characters are
 * refused after decoding, never passed on.
 */
#include <string.h>

#include "../util/str.h"
#include "../util/xtext.h"
#include "smtp_parse.h"

static int
dsn_fail(struct smtp_parse_error *err, const char *text)
{
	err->code = 501;
	err->enh = "5.5.4";
	err->text = text;
	return -1;
}

/* No controls (they would end up in a DSN header); non-ASCII only where
 * allowed, and then well-formed UTF-8. */
static bool
dsn_printable(const char *s, bool utf8)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 32 || c == 127 || (c >= 0x80 && !utf8))
			return false;
	}
	return !utf8 || smtp_utf8_valid((const unsigned char *)s, n);
}

/* RFC 3461 §4.3: RET=FULL / RET=HDRS. */
static int
dsn_ret(const struct smtp_param *p, struct smtp_cmd *cmd,
	struct smtp_parse_error *err)
{
	if (p->val != NULL && str_ieq(p->val, p->val_len, "FULL"))
		cmd->dsn_ret = SMTP_RET_FULL;
	else if (p->val != NULL && str_ieq(p->val, p->val_len, "HDRS"))
		cmd->dsn_ret = SMTP_RET_HDRS;
	else
		return dsn_fail(err, "Bad RET value (FULL or HDRS)");
	return 0;
}

/* RFC 3461 §4.4: ENVID=xtext, at most 100 octets decoded. */
static int
dsn_envid(const struct smtp_param *p, struct smtp_cmd *cmd,
	  struct smtp_parse_error *err)
{
	if (p->val == NULL ||
	    xtext_decode(p->val, p->val_len, cmd->envid,
			 sizeof(cmd->envid)) < 0 ||
	    !dsn_printable(cmd->envid, false)) {
		cmd->envid[0] = '\0';
		return dsn_fail(err, "Bad ENVID value (xtext, at most 100 "
				"octets)");
	}
	return 0;
}

/* RFC 3461 §4.1: NOTIFY=NEVER, or a comma list of SUCCESS, FAILURE and
 * DELAY, each at most once; case-insensitive. */
static int
dsn_notify(const struct smtp_param *p, struct smtp_cmd *cmd,
	   struct smtp_parse_error *err)
{
	static const struct { const char *name; unsigned bit; } words[] = {
		{ "SUCCESS", SMTP_NOTIFY_SUCCESS },
		{ "FAILURE", SMTP_NOTIFY_FAILURE },
		{ "DELAY", SMTP_NOTIFY_DELAY },
		{ "NEVER", SMTP_NOTIFY_NEVER },
	};
	size_t pos = 0;
	unsigned bits = 0;

	if (p->val == NULL)
		return dsn_fail(err, "Bad NOTIFY value");
	for (bool more = true; more;) {
		const char *v = p->val + pos;
		const char *c = memchr(v, ',', p->val_len - pos);
		size_t n = c != NULL ? (size_t)(c - v) : p->val_len - pos;
		unsigned bit = 0;

		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (str_ieq(v, n, words[i].name))
				bit = words[i].bit;
		if (bit == 0 || (bits & bit))
			return dsn_fail(err, "Bad NOTIFY value (NEVER, or "
					"SUCCESS,FAILURE,DELAY)");
		bits |= bit;
		more = c != NULL;
		pos += n + 1;
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return dsn_fail(err, "NOTIFY=NEVER cannot be combined");
	cmd->notify = bits;
	return 0;
}

/* One code point as UTF-8 into out[*o..cap); -1 when not a scalar value
 * or no room. */
static int
dsn_put_utf8(unsigned long cp, char *out, size_t *o, size_t cap)
{
	char b[4];
	size_t n;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	n = str_utf8_encode((uint32_t)cp, b);
	if (*o + n >= cap)
		return -1;
	memcpy(out + *o, b, n);
	*o += n;
	return 0;
}

/* RFC 6533 §3 utf-8-addr-xtext / utf-8-addr-unitext: QCHAR (printable
 * ASCII but "+", "=", "\"), UTF-8 octets, and EmbeddedUnicodeChar
 * "\x{HEX}" (1 to 6 hex digits), which is decoded. 0 or -1. */
static int
dsn_utf8_addr(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned long cp = 0;
		size_t k = i + 3;

		if (in[i] != '\\') {
			if (in[i] == '+' || in[i] == '=' || o + 1 >= cap)
				return -1;
			out[o++] = in[i];
			continue;
		}
		if (n - i < 5 || in[i + 1] != 'x' || in[i + 2] != '{')
			return -1;
		for (; k < n && in[k] != '}' && k - i - 3 < 6; k++) {
			if (str_hex_value((unsigned char)in[k]) < 0)
				return -1;
			cp = cp * 16 + (unsigned long)str_hex_value((unsigned char)in[k]);
		}
		if (k >= n || in[k] != '}' || k == i + 3 ||
		    dsn_put_utf8(cp, out, &o, cap) < 0)
			return -1;
		i = k;
	}
	out[o] = '\0';
	return 0;
}

/* RFC 3461 §4.2 ORCPT=addr-type;xtext, addr-type "rfc822" or "utf-8"
 * (RFC 6533 §3), at most 500 octets; kept as "type;decoded-address". */
static int
dsn_orcpt(const struct smtp_param *p, struct smtp_cmd *cmd,
	  struct smtp_parse_error *err)
{
	const char *semi = p->val != NULL ? memchr(p->val, ';', p->val_len)
					  : NULL;
	size_t tlen = semi != NULL ? (size_t)(semi - p->val) : 0;
	const char *a = semi != NULL ? semi + 1 : NULL;
	size_t alen = semi != NULL ? p->val_len - tlen - 1 : 0;
	bool utf8 = tlen == 5 && str_ieq(p->val, 5, "utf-8");
	char *out = cmd->orcpt + (utf8 ? 6 : 7);
	size_t cap = sizeof(cmd->orcpt) - (utf8 ? 6 : 7);
	int rc;

	if (p->val != NULL && p->val_len > SMTP_ORCPT_WIRE_MAX)
		return dsn_fail(err, "ORCPT too long (at most 500 octets)");
	if (semi == NULL || alen == 0 ||
	    (!utf8 && !(tlen == 6 && str_ieq(p->val, 6, "rfc822"))))
		return dsn_fail(err, "Bad ORCPT value (rfc822;xtext or "
				"utf-8;address)");
	memcpy(cmd->orcpt, utf8 ? "utf-8;" : "rfc822;", utf8 ? 6 : 7);
	rc = utf8 ? dsn_utf8_addr(a, alen, out, cap)
		  : xtext_decode(a, alen, out, cap);
	if (rc < 0 || out[0] == '\0' || strlen(out) > LIMIT_ADDRESS ||
	    !dsn_printable(out, utf8)) {
		cmd->orcpt[0] = '\0';
		return dsn_fail(err, "Bad ORCPT address (undecodable or over "
				"the address limit)");
	}
	return 0;
}

int
smtp_parse_dsn(struct smtp_cmd *cmd, bool is_mail,
	       struct smtp_parse_error *err)
{
	for (size_t i = 0; i < cmd->n_params; i++) {
		const struct smtp_param *p = &cmd->params[i];
		int rc = 0;

		if (is_mail && str_ieq(p->key, p->key_len, "RET"))
			rc = dsn_ret(p, cmd, err);
		else if (is_mail && str_ieq(p->key, p->key_len, "ENVID"))
			rc = dsn_envid(p, cmd, err);
		else if (!is_mail && str_ieq(p->key, p->key_len, "NOTIFY"))
			rc = dsn_notify(p, cmd, err);
		else if (!is_mail && str_ieq(p->key, p->key_len, "ORCPT"))
			rc = dsn_orcpt(p, cmd, err);
		if (rc < 0)
			return -1;
	}
	return 0;
}
