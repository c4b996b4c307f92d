/*
 * The control socket's line protocol (control_proto.h): request and reply
 * line parsers, field escaping.
 */
#include "control_proto.h"

#include <stdbool.h>
#include <string.h>

#include "../util/str.h"

static const struct {
	const char *name;
	enum control_verb verb;
	int args; /* 0 none, 1 one, 2 optional one */
} control_verbs[] = {
	{ "STATUS", CONTROL_STATUS, 0 },
	{ "WHO", CONTROL_WHO, 2 },
	{ "KICK", CONTROL_KICK, 1 },
};

/* A request argument: printable ASCII without space, 1..CONTROL_ARG_MAX. */
static int
control_arg_ok(const char *p, size_t len)
{
	if (len == 0 || len > CONTROL_ARG_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			return -1;
	return 0;
}

int
control_parse_request(const char *line, size_t len, struct control_req *req,
		       const char **err_r)
{
	const char *sp;
	size_t vlen;

	memset(req, 0, sizeof(*req));
	if (len > CONTROL_LINE_MAX) {
		*err_r = "line too long";
		return -1;
	}
	sp = memchr(line, ' ', len);
	vlen = sp != NULL ? (size_t)(sp - line) : len;
	for (size_t i = 0; i < sizeof(control_verbs) / sizeof(control_verbs[0]);
	     i++) {
		const char *rest = sp != NULL ? sp + 1 : NULL;
		size_t rlen = sp != NULL ? len - vlen - 1 : 0;

		if (!str_ieq(line, vlen, control_verbs[i].name))
			continue;
		req->verb = control_verbs[i].verb;
		if (rest == NULL && control_verbs[i].args == 1) {
			*err_r = "missing argument";
			return -1;
		}
		if (rest != NULL && control_verbs[i].args == 0) {
			*err_r = "unexpected argument";
			return -1;
		}
		if (rest == NULL)
			return 0;
		if (control_arg_ok(rest, rlen) < 0) {
			*err_r = "invalid argument";
			return -1;
		}
		memcpy(req->arg, rest, rlen);
		req->arg[rlen] = '\0';
		return 0;
	}
	*err_r = "unknown command";
	return -1;
}

/* Unescapes one field p[0..len) into out (CONTROL_FIELD_MAX + 1). */
static int
control_unescape(const char *p, size_t len, char *out, const char **err_r)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= ' ' || c >= 0x7f) {
			*err_r = "unescaped octet in a field";
			return -1;
		}
		if (c == '%') {
			int hi = i + 1 < len
					 ? str_hex_value((unsigned char)p[i + 1])
					 : -1;
			int lo = i + 2 < len
					 ? str_hex_value((unsigned char)p[i + 2])
					 : -1;

			if (hi < 0 || lo < 0) {
				*err_r = "bad escape";
				return -1;
			}
			c = (unsigned char)(hi << 4 | lo);
			if (c == 0) {
				*err_r = "NUL in a field";
				return -1;
			}
			i += 2;
		}
		if (o >= CONTROL_FIELD_MAX) {
			*err_r = "field too long";
			return -1;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static int
control_parse_data(const char *p, size_t len, struct control_reply *rep,
		   const char **err_r)
{
	size_t i = 0;

	while (i < len) {
		const char *sp = memchr(p + i, ' ', len - i);
		size_t flen = sp != NULL ? (size_t)(sp - (p + i)) : len - i;

		if (flen == 0) {
			*err_r = "empty field";
			return -1;
		}
		if (rep->n_fields == CONTROL_FIELDS_MAX) {
			*err_r = "too many fields";
			return -1;
		}
		if (control_unescape(p + i, flen, rep->fields[rep->n_fields],
				     err_r) < 0)
			return -1;
		rep->n_fields++;
		i += flen + (sp != NULL ? 1 : 0);
		if (sp != NULL && i == len) {
			*err_r = "empty field";
			return -1;
		}
	}
	if (rep->n_fields == 0) {
		*err_r = "no fields";
		return -1;
	}
	return 0;
}

int
control_parse_reply(const char *line, size_t len, struct control_reply *rep,
		    const char **err_r)
{
	rep->kind = CONTROL_LINE_DATA;
	rep->n_fields = 0;
	rep->text[0] = '\0';
	if (len > CONTROL_LINE_MAX) {
		*err_r = "line too long";
		return -1;
	}
	if (len == 2 && memcmp(line, "OK", 2) == 0) {
		rep->kind = CONTROL_LINE_OK;
		return 0;
	}
	if (len >= 4 && memcmp(line, "ERR ", 4) == 0) {
		rep->kind = CONTROL_LINE_ERR;
		for (size_t i = 4; i < len; i++) {
			unsigned char c = (unsigned char)line[i];
			rep->text[i - 4] = c < ' ' || c >= 0x7f ? '?' : (char)c;
		}
		rep->text[len - 4] = '\0';
		return 0;
	}
	if (len >= 3 && memcmp(line, "* ", 2) == 0)
		return control_parse_data(line + 2, len - 2, rep, err_r);
	*err_r = "malformed reply line";
	return -1;
}

int
control_escape(const char *in, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		bool esc = c <= ' ' || c >= 0x7f || c == '%';

		if (o + (esc ? 3 : 1) >= outlen)
			return -1;
		if (esc) {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return (int)o;
}
