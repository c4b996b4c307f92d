/*
 * The first mailbox of an address list (RFC 5322 §3.4) as IMAP SORT reads
 * it (RFC 5256 §3, RFC 5957 §7): display name and addr-spec as text, not
 * the ENVELOPE structure of envelope.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "mime.h"

static void
addr_put(char *dst, size_t *len, char c)
{
	bool ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';

	if (ws && (*len == 0 || dst[*len - 1] == ' '))
		return;
	if (*len + 1 < MIME_PHRASE_MAX)
		dst[(*len)++] = ws ? ' ' : c;
}

/* Skips a comment or copies a quoted string starting at v[*i]. */
static void
addr_special(const char *v, size_t len, size_t *i, char *dst, size_t *dlen)
{
	char open = v[*i];
	int depth = 0;

	for (; *i < len; (*i)++) {
		char c = v[*i];

		if (c == '\\' && *i + 1 < len) {
			(*i)++;
			if (open == '"')
				addr_put(dst, dlen, v[*i]);
			continue;
		}
		if (open == '(') {
			depth += c == '(' ? 1 : c == ')' ? -1 : 0;
			if (depth == 0)
				break;
		} else if (c == '"' && depth++ > 0) {
			break;
		} else if (c != '"') {
			addr_put(dst, dlen, c);
		}
	}
	if (*i < len)
		(*i)++;
}

/* Reads <...> at v[*i] into a->spec, dropping an obsolete route. */
static void
addr_angle(const char *v, size_t len, size_t *i, struct mime_mailbox *a)
{
	a->slen = 0;
	for ((*i)++; *i < len && v[*i] != '>';) {
		if (v[*i] == '"' || v[*i] == '(') {
			addr_special(v, len, i, a->spec, &a->slen);
			continue;
		}
		if (v[*i] == ':') /* "@route,@route:" precedes the address */
			a->slen = 0;
		else if (v[*i] != ' ' && v[*i] != '\t' && v[*i] != '\r' &&
			 v[*i] != '\n')
			addr_put(a->spec, &a->slen, v[*i]);
		(*i)++;
	}
}

static void
addr_trim(char *s, size_t *len)
{
	while (*len > 0 && s[*len - 1] == ' ')
		(*len)--;
}

bool
mime_first_mailbox(const char *v, size_t len, struct mime_mailbox *a)
{
	size_t i = 0;

	a->plen = a->slen = 0;
	while (i < len) {
		char c = v[i];

		if (c == '"' || c == '(') {
			/* quoted words join the phrase; comments vanish */
			addr_special(v, len, &i, a->phrase, &a->plen);
			continue;
		}
		if (c == '<') {
			addr_angle(v, len, &i, a);
			addr_trim(a->phrase, &a->plen);
			if (a->slen > 0)
				return true;
			a->plen = 0;
		} else if (c == ':') {
			a->plen = 0; /* group name */
		} else if (c == ',' || c == ';') {
			addr_trim(a->phrase, &a->plen);
			if (a->plen > 0)
				break;
		} else {
			addr_put(a->phrase, &a->plen, c);
		}
		i++;
	}
	addr_trim(a->phrase, &a->plen);
	if (a->plen == 0)
		return false;
	/* No angle brackets: the words read were the addr-spec itself. */
	memcpy(a->spec, a->phrase, a->plen);
	a->slen = a->plen;
	a->plen = 0;
	return true;
}
