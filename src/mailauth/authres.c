/*
 * Authentication-Results (RFC 8601 §2.2): writing ours, reading the
 * authserv-id of others.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "authres.h"

#define AUTHRES_NAME "Authentication-Results"
#define AUTHRES_NAME_LEN 22
/* Lines are folded before they pass this (RFC 5322 §2.1.1 says 78). */
#define AUTHRES_FOLD 76

/* RFC 8601 §2.2 pvalue: a value that is not a plain token (or
 * local-part@domain of such characters) is written as a quoted-string. */
static bool
value_plain(const char *v)
{
	if (*v == '\0')
		return false;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c <= 0x20 || c >= 0x7f || strchr("()<>,;:\\\"/[]?=", c))
			return false;
	}
	return true;
}

static int
append_value(struct buf *out, const char *v)
{
	int rc = 0;

	if (value_plain(v))
		return buf_append(out, v, strlen(v));
	rc |= buf_append(out, "\"", 1);
	for (; *v && rc == 0; v++) {
		/* No line ends in a header value; quote the rest. */
		if (*v == '\r' || *v == '\n')
			continue;
		if (*v == '"' || *v == '\\')
			rc |= buf_append(out, "\\", 1);
		rc |= buf_append(out, v, 1);
	}
	return rc | buf_append(out, "\"", 1);
}

int
authres_header(struct buf *out, const char *authserv_id,
	       const struct authres_item *items, size_t n)
{
	int rc = buf_printf(out, "%s: %s;", AUTHRES_NAME, authserv_id);
	size_t line = 0; /* where the current line starts in out */

	if (n == 0)
		return rc | buf_append(out, " none\r\n", 7);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct authres_item *it = &items[i];

		/* One resinfo per line: folded before each. */
		rc |= buf_append(out, "\r\n", 2);
		line = out->len;
		rc |= buf_printf(out, "\t%s=%s", it->method, it->result);
		if (it->reason != NULL)
			rc |= buf_printf(out, " (%s)", it->reason);
		for (size_t k = 0; k < AUTHRES_PROPS_MAX &&
				   it->props[k].name != NULL; k++) {
			if (it->props[k].value == NULL)
				continue;
			/* A property that would pass the fold column goes
			 * on a continuation line of its own. */
			if (out->len - line + strlen(it->props[k].name) +
				    strlen(it->props[k].value) + 2 >
			    AUTHRES_FOLD) {
				rc |= buf_append(out, "\r\n\t", 3);
				line = out->len - 1;
			} else {
				rc |= buf_append(out, " ", 1);
			}
			rc |= buf_printf(out, "%s=", it->props[k].name);
			rc |= append_value(out, it->props[k].value);
		}
		if (i + 1 < n)
			rc |= buf_append(out, ";", 1);
	}
	return rc | buf_append(out, "\r\n", 2);
}

/* Skips CFWS (RFC 5322 §3.2.2): spaces, line ends, nested comments.
 * Returns the new position; *bad when a comment does not end. */
static size_t
skip_cfws(const char *f, size_t len, size_t i, bool *bad)
{
	int depth = 0;

	for (; i < len; i++) {
		char c = f[i];

		if (depth > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return i;
	}
	*bad = depth > 0;
	return i;
}

int
authres_is_ours(const char *f, size_t len, const char *id)
{
	size_t i = AUTHRES_NAME_LEN, idl = strlen(id), b;
	bool bad = false;
	char val[256];
	size_t vl = 0;

	if (len < AUTHRES_NAME_LEN ||
	    strncasecmp(f, AUTHRES_NAME, AUTHRES_NAME_LEN) != 0)
		return 0;
	while (i < len && (f[i] == ' ' || f[i] == '\t'))
		i++;
	if (i >= len || f[i] != ':')
		return 0; /* another field whose name starts the same */
	i = skip_cfws(f, len, i + 1, &bad);
	if (bad || i >= len)
		return 1;
	if (f[i] == '"') {
		/* quoted-string */
		for (i++; i < len && f[i] != '"' && vl < sizeof(val); i++) {
			if (f[i] == '\\' && i + 1 < len)
				i++;
			val[vl++] = f[i];
		}
		if (i >= len || vl >= sizeof(val))
			return 1;
	} else {
		/* RFC 2045 token: up to CFWS or ";" */
		for (b = i; i < len && f[i] != ';' && f[i] != '(' &&
			    !isspace((unsigned char)f[i]); i++)
			;
		vl = i - b;
		if (vl == 0 || vl >= sizeof(val))
			return 1;
		memcpy(val, f + b, vl);
	}
	/* RFC 8601 §2.5: authserv-id compared without case. */
	return vl == idl && strncasecmp(val, id, idl) == 0;
}
