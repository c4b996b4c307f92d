/*
 * ENVELOPE, BODY and BODYSTRUCTURE in IMAP syntax (RFC 9051 §7.5.2), as
 * Dovecot writes them where the RFC leaves room: lower-case media types,
 * "7bit" when Content-Transfer-Encoding is absent, charset us-ascii
 * spelled out for text parts, language always as a list, and an empty
 * text/plain part for a multipart without parts.
 */
#include <stdlib.h>
#include <string.h>

#include "mime_int.h"

enum mime_env_field {
	MIME_ENV_DATE = 0,
	MIME_ENV_SUBJECT,
	MIME_ENV_FROM,
	MIME_ENV_SENDER,
	MIME_ENV_REPLY_TO,
	MIME_ENV_TO,
	MIME_ENV_CC,
	MIME_ENV_BCC,
	MIME_ENV_IN_REPLY_TO,
	MIME_ENV_MESSAGE_ID,
	MIME_ENV_COUNT,
};

static const char *const mime_env_names[MIME_ENV_COUNT] = {
	"date", "subject", "from", "sender", "reply-to",
	"to", "cc", "bcc", "in-reply-to", "message-id",
};

/* An unstructured field as an nstring: unfolded, NIL when absent. */
static int
mime_env_string(struct buf *out, const struct mime_field *f)
{
	struct buf b;
	int ret;

	if (f->name == NULL)
		return buf_append(out, "NIL", 3);
	buf_init(&b, f->value_len + 1);
	ret = mime_unfold(f->value, f->value_len, &b);
	if (ret == 0)
		ret = mime_imap_string(out, (const char *)b.data, b.len);
	buf_fini(&b);
	return ret;
}

static int
mime_env_addrs(struct buf *out, const struct mime_field *f)
{
	if (f->name == NULL)
		return buf_append(out, "NIL", 3);
	return mime_imap_addresses(out, f->value, f->value_len);
}

/* Sender and Reply-To: RFC 9051 §7.5.2, absent or empty means the same
 * as From. */
static int
mime_env_from_default(struct buf *out, const struct mime_field *f,
		      const struct buf *from)
{
	size_t mark = out->len;

	if (mime_env_addrs(out, f) < 0)
		return -1;
	if (out->len - mark == 3 && memcmp(out->data + mark, "NIL", 3) == 0) {
		out->len = mark;
		return buf_append(out, from->data, from->len);
	}
	return 0;
}

int
mime_envelope(const char *hdr, size_t len, struct buf *out)
{
	struct mime_field fields[MIME_ENV_COUNT] = {{NULL, 0, NULL, 0}};
	struct mime_field f;
	struct buf from;
	size_t pos = 0;
	int ret = -1;

	while (mime_next_field(hdr, len, &pos, &f) == 1) {
		for (int i = 0; i < MIME_ENV_COUNT; i++)
			if (fields[i].name == NULL &&
			    mime_field_is(&f, mime_env_names[i]))
				fields[i] = f;
	}
	buf_init(&from, out->max);
	if (mime_env_addrs(&from, &fields[MIME_ENV_FROM]) < 0)
		goto out;
	if (buf_append(out, "(", 1) < 0 ||
	    mime_env_string(out, &fields[MIME_ENV_DATE]) < 0 ||
	    buf_append(out, " ", 1) < 0 ||
	    mime_env_string(out, &fields[MIME_ENV_SUBJECT]) < 0 ||
	    buf_append(out, " ", 1) < 0 ||
	    buf_append(out, from.data, from.len) < 0 ||
	    buf_append(out, " ", 1) < 0 ||
	    mime_env_from_default(out, &fields[MIME_ENV_SENDER], &from) < 0 ||
	    buf_append(out, " ", 1) < 0 ||
	    mime_env_from_default(out, &fields[MIME_ENV_REPLY_TO], &from) < 0)
		goto out;
	for (int i = MIME_ENV_TO; i <= MIME_ENV_BCC; i++)
		if (buf_append(out, " ", 1) < 0 ||
		    mime_env_addrs(out, &fields[i]) < 0)
			goto out;
	if (buf_append(out, " ", 1) < 0 ||
	    mime_env_string(out, &fields[MIME_ENV_IN_REPLY_TO]) < 0 ||
	    buf_append(out, " ", 1) < 0 ||
	    mime_env_string(out, &fields[MIME_ENV_MESSAGE_ID]) < 0 ||
	    buf_append(out, ")", 1) < 0)
		goto out;
	ret = 0;
out:
	buf_fini(&from);
	return ret;
}

/* ---- BODY / BODYSTRUCTURE ---- */

static bool
mime_is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80 || (unsigned char)*s < 0x20)
			return false;
	return true;
}

/* A non-ASCII value goes out RFC 2231 encoded ("name*" "utf-8''%C3%A4"),
 * so that clients see plain ASCII and know the charset. */
static int
mime_write_param(struct buf *out, const struct mime_param *p)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf v;
	int ret = -1;

	if (mime_is_ascii(p->value))
		return mime_imap_nstring(out, p->name) < 0 ||
				       buf_append(out, " ", 1) < 0
			       ? -1
			       : mime_imap_nstring(out, p->value);
	buf_init(&v, out->max);
	if (buf_append(&v, p->name, strlen(p->name)) < 0 ||
	    buf_append(&v, "* utf-8''", 9) < 0)
		goto out;
	size_t value_at = v.len - 7;
	for (const unsigned char *s = (const unsigned char *)p->value; *s; s++) {
		char enc[3] = {'%', hex[*s >> 4], hex[*s & 15]};
		bool plain = *s > 0x20 && *s < 0x7f && !strchr("*'%()<>@,;:\\\"/[]?=", *s);

		if (buf_append(&v, plain ? (const char *)s : enc, plain ? 1 : 3) < 0)
			goto out;
	}
	ret = mime_imap_string(out, (const char *)v.data, value_at - 1) < 0 ||
			      buf_append(out, " ", 1) < 0 ||
			      mime_imap_string(out, (const char *)v.data + value_at,
					       v.len - value_at) < 0
		      ? -1
		      : 0;
out:
	buf_fini(&v);
	return ret;
}

static int
mime_write_params(struct buf *out, const struct mime_param *params, size_t n)
{
	if (n == 0)
		return buf_append(out, "NIL", 3);
	if (buf_append(out, "(", 1) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((i > 0 && buf_append(out, " ", 1) < 0) ||
		    mime_write_param(out, &params[i]) < 0)
			return -1;
	return buf_append(out, ")", 1);
}

/* RFC 3282 Content-Language: a comma-separated list of tags. */
static int
mime_write_language(struct buf *out, const char *lang)
{
	size_t n = 0;

	for (const char *s = lang; s != NULL && *s != '\0';) {
		size_t len;

		s += strspn(s, " \t,");
		len = strcspn(s, " \t,");
		if (len == 0)
			break;
		if (buf_append(out, n++ == 0 ? "(" : " ", 1) < 0 ||
		    mime_imap_string(out, s, len) < 0)
			return -1;
		s += len;
	}
	return buf_append(out, n > 0 ? ")" : "NIL", n > 0 ? 1 : 3);
}

/* body-ext-1part/body-ext-mpart after md5 or params: disposition,
 * language, location. */
static int
mime_write_ext_common(struct buf *out, const struct mime_part *p)
{
	if (buf_append(out, " ", 1) < 0)
		return -1;
	if (p->disposition == NULL) {
		if (buf_append(out, "NIL", 3) < 0)
			return -1;
	} else if (buf_append(out, "(", 1) < 0 ||
		   mime_imap_nstring(out, p->disposition) < 0 ||
		   buf_append(out, " ", 1) < 0 ||
		   mime_write_params(out, p->disp_params, p->n_disp_params) < 0 ||
		   buf_append(out, ")", 1) < 0)
		return -1;
	if (buf_append(out, " ", 1) < 0 ||
	    mime_write_language(out, p->language) < 0 ||
	    buf_append(out, " ", 1) < 0)
		return -1;
	return mime_imap_nstring(out, p->location);
}

static int mime_write_body(const char *msg, size_t len,
			   const struct mime_part *p, bool ext,
			   struct buf *out);

static int
mime_write_multipart(const char *msg, size_t len, const struct mime_part *p,
		     bool ext, struct buf *out)
{
	/* RFC 9051 §7.5.2 needs at least one part (as Dovecot does). */
	if (p->n_children == 0 &&
	    buf_printf(out, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") "
			    "NIL NIL \"7bit\" 0 0%s)",
		       ext ? " NIL NIL NIL NIL" : "") < 0)
		return -1;
	for (size_t i = 0; i < p->n_children; i++)
		if (mime_write_body(msg, len, &p->children[i], ext, out) < 0)
			return -1;
	if (buf_append(out, " ", 1) < 0 ||
	    mime_imap_nstring(out, p->subtype) < 0)
		return -1;
	if (!ext)
		return 0;
	if (buf_append(out, " ", 1) < 0 ||
	    mime_write_params(out, p->params, p->n_params) < 0)
		return -1;
	return mime_write_ext_common(out, p);
}

static int
mime_write_onepart(const char *msg, size_t len, const struct mime_part *p,
		   bool ext, struct buf *out)
{
	if (mime_imap_nstring(out, p->type) < 0 || buf_append(out, " ", 1) < 0 ||
	    mime_imap_nstring(out, p->subtype) < 0 ||
	    buf_append(out, " ", 1) < 0 ||
	    mime_write_params(out, p->params, p->n_params) < 0 ||
	    buf_append(out, " ", 1) < 0 || mime_imap_nstring(out, p->id) < 0 ||
	    buf_append(out, " ", 1) < 0 ||
	    mime_imap_nstring(out, p->description) < 0 ||
	    buf_append(out, " ", 1) < 0 ||
	    mime_imap_nstring(out, p->encoding ? p->encoding : "7bit") < 0 ||
	    buf_printf(out, " %zu", p->body_len) < 0)
		return -1;
	if (p->kind == MIME_KIND_MESSAGE) {
		const struct mime_part *c = &p->children[0];

		/* body-type-msg: envelope, body and lines of the message. */
		if (buf_append(out, " ", 1) < 0 ||
		    mime_envelope(msg + c->header_off, c->header_len, out) < 0 ||
		    buf_append(out, " ", 1) < 0 ||
		    mime_write_body(msg, len, c, ext, out) < 0 ||
		    buf_printf(out, " %zu", p->body_lines) < 0)
			return -1;
	} else if (strcmp(p->type, "text") == 0 &&
		   buf_printf(out, " %zu", p->body_lines) < 0)
		return -1;
	if (!ext)
		return 0;
	if (buf_append(out, " ", 1) < 0 || mime_imap_nstring(out, p->md5) < 0)
		return -1;
	return mime_write_ext_common(out, p);
}

static int
mime_write_body(const char *msg, size_t len, const struct mime_part *p,
		bool ext, struct buf *out)
{
	int ret;

	if (buf_append(out, "(", 1) < 0)
		return -1;
	if (p->kind == MIME_KIND_MULTIPART)
		ret = mime_write_multipart(msg, len, p, ext, out);
	else
		ret = mime_write_onepart(msg, len, p, ext, out);
	if (ret < 0)
		return -1;
	return buf_append(out, ")", 1);
}

int
mime_bodystructure(const char *msg, size_t len, const struct mime_part *part,
		   bool extended, struct buf *out)
{
	return mime_write_body(msg, len, part, extended, out);
}
