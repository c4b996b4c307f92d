/*
 * HTTP/1.1 request parser (http_parse.h). RFC 9112 §2.1: request-line
 * *( field-line CRLF ) CRLF; §3: method SP request-target SP version;
 * §5: field-name ":" OWS field-value OWS.
 */
#include "http_parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../util/str.h"

/* RFC 9110 §5.6.2: tchar. */
static bool
http_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || (c != '\0' &&
					  strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
http_token(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!http_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static bool
http_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

/* The next line of buf from pos: its length without CRLF in *len_r. 1
 * found, 0 no LF yet, -1 a bare LF or a CR/NUL inside (RFC 9112 §2.2
 * allows refusing them; a lone CR or LF is how requests get smuggled). */
static int
http_line(const char *buf, size_t len, size_t pos, size_t *len_r)
{
	const char *lf = memchr(buf + pos, '\n', len - pos);
	size_t n;

	if (lf == NULL)
		return 0;
	n = (size_t)(lf - (buf + pos));
	if (n == 0 || buf[pos + n - 1] != '\r')
		return -1;
	n--;
	if (memchr(buf + pos, '\r', n) != NULL ||
	    memchr(buf + pos, '\0', n) != NULL)
		return -1;
	*len_r = n;
	return 1;
}

/* RFC 9110 §9: the methods we serve, those we know but refuse. */
static int
http_method(const char *m, size_t len, struct http_request *req)
{
	static const char *const known[] = { "PUT", "DELETE", "CONNECT",
					     "OPTIONS", "TRACE", "PATCH" };

	if (!http_token(m, len))
		return 400;
	if (len == 3 && memcmp(m, "GET", 3) == 0)
		req->method = HTTP_METHOD_GET;
	else if (len == 4 && memcmp(m, "HEAD", 4) == 0)
		req->method = HTTP_METHOD_HEAD;
	else if (len == 4 && memcmp(m, "POST", 4) == 0)
		req->method = HTTP_METHOD_POST;
	else {
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strlen(known[i]) == len &&
			    memcmp(m, known[i], len) == 0)
				return 405;
		return 501;
	}
	return 0;
}

/* RFC 9112 §3.2: origin-form, or absolute-form whose authority replaces
 * Host (§3.2.2). Visible ASCII only. */
static int
http_target(const char *t, size_t len, struct http_request *req)
{
	const char *q;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 400;
	if (len > 7 && strncasecmp(t, "http://", 7) == 0) {
		t += 7, len -= 7;
	} else if (len > 8 && strncasecmp(t, "https://", 8) == 0) {
		t += 8, len -= 8;
	} else if (len == 0 || t[0] != '/') {
		return 400;
	} else {
		goto path;
	}
	{
		const char *slash = memchr(t, '/', len);
		size_t alen = slash != NULL ? (size_t)(slash - t) : len;

		if (alen == 0 || memchr(t, '@', alen) != NULL)
			return 400;
		req->host = t;
		req->host_len = alen;
		t += alen, len -= alen;
		if (len == 0) {
			req->path = "/";
			req->path_len = 1;
			return 0;
		}
	}
path:
	q = memchr(t, '?', len);
	req->path = t;
	req->path_len = q != NULL ? (size_t)(q - t) : len;
	if (q != NULL) {
		req->query = q + 1;
		req->query_len = len - req->path_len - 1;
	}
	if (memchr(req->path, '#', req->path_len) != NULL)
		return 400;
	return 0;
}

static int
http_request_line(const char *l, size_t len, struct http_request *req)
{
	const char *sp1 = memchr(l, ' ', len), *sp2;
	const char *v;
	int r;

	if (sp1 == NULL)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - l));
	if (sp2 == NULL)
		return 400;
	v = sp2 + 1;
	/* RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT */
	if ((size_t)(l + len - v) != 8 || memcmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' ||
	    v[7] > '9')
		return 400;
	if ((r = http_method(l, (size_t)(sp1 - l), req)) != 0)
		return r;
	if (v[5] != '1')
		return 505;
	req->version_minor = v[7] == '0' ? 0 : 1;
	req->keep_alive = req->version_minor >= 1;
	return http_target(sp1 + 1, (size_t)(sp2 - sp1 - 1), req);
}

/* Connection: a comma list of tokens (RFC 9110 §7.6.1). */
static void
http_connection(const char *v, size_t len, struct http_request *req)
{
	size_t i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (http_eq(v + start, end - start, "close"))
			req->keep_alive = false;
		else if (http_eq(v + start, end - start, "keep-alive") &&
			 req->version_minor == 0)
			req->keep_alive = true;
	}
}

/* The fields we act on; others are only checked and counted. */
static int
http_field(const struct http_header *h, struct http_request *req,
	   bool *host_seen)
{
	long long n;
	char num[24];

	if (http_eq(h->name, h->name_len, "Host")) {
		/* RFC 9112 §3.2: exactly one Host. */
		if (*host_seen)
			return 400;
		*host_seen = true;
		if (req->host == NULL) {
			req->host = h->value;
			req->host_len = h->value_len;
		}
	} else if (http_eq(h->name, h->name_len, "Content-Length")) {
		/* RFC 9112 §6.3: a bad or conflicting length is an error. */
		if (h->value_len == 0 || h->value_len >= sizeof(num) ||
		    strspn(h->value, "0123456789") < h->value_len)
			return 400;
		memcpy(num, h->value, h->value_len);
		num[h->value_len] = '\0';
		if (str_tonum(num, 0, (1LL << 62), &n) < 0)
			return 400;
		if (req->has_length && req->content_length != (uint64_t)n)
			return 400;
		req->has_length = true;
		req->content_length = (uint64_t)n;
	} else if (http_eq(h->name, h->name_len, "Transfer-Encoding")) {
		return 501;
	} else if (http_eq(h->name, h->name_len, "Connection")) {
		http_connection(h->value, h->value_len, req);
	} else if (http_eq(h->name, h->name_len, "Expect")) {
		req->expect_continue =
			http_eq(h->value, h->value_len, "100-continue");
	} else if (http_eq(h->name, h->name_len, "Authorization")) {
		if (req->authorization != NULL)
			return 400;
		req->authorization = h->value;
		req->authorization_len = h->value_len;
	}
	return 0;
}

static int
http_field_line(const char *l, size_t len, struct http_request *req,
		bool *host_seen)
{
	const char *colon = memchr(l, ':', len);
	struct http_header *h;
	size_t vs, ve;

	/* RFC 9112 §5.2: obs-fold may be refused with 400; §5.1: no
	 * whitespace between name and colon. */
	if (colon == NULL || !http_token(l, (size_t)(colon - l)))
		return 400;
	if (req->n_headers >= LIMIT_HTTP_HEADERS)
		return 431;
	h = &req->headers[req->n_headers++];
	h->name = l;
	h->name_len = (size_t)(colon - l);
	vs = h->name_len + 1;
	ve = len;
	while (vs < ve && (l[vs] == ' ' || l[vs] == '\t'))
		vs++;
	while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
		ve--;
	for (size_t i = vs; i < ve; i++)
		if (((unsigned char)l[i] < 0x20 && l[i] != '\t') ||
		    (unsigned char)l[i] == 0x7f)
			return 400;
	h->value = l + vs;
	h->value_len = ve - vs;
	return http_field(h, req, host_seen);
}

/* After the empty line: what the whole head says together. */
static int
http_head_done(struct http_request *req, bool host_seen)
{
	if (req->version_minor >= 1 && !host_seen)
		return 400;
	if (req->method == HTTP_METHOD_POST && !req->has_length)
		return 411;
	if (req->content_length > LIMIT_HTTP_BODY)
		return 413;
	return 0;
}

int
http_parse_head(const char *buf, size_t len, struct http_request *req,
		int *status_r)
{
	size_t pos = 0, n = 0;
	bool host_seen = false;
	int r;

	memset(req, 0, sizeof(*req));
	*status_r = 400;
	/* RFC 9112 §2.2: an empty line or two before a request (after a
	 * POST body some clients add a CRLF) is skipped. */
	while (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n' &&
	       pos < 4)
		pos += 2;
	r = http_line(buf, len, pos, &n);
	if (r == 0) {
		*status_r = 414;
		return len - pos > LIMIT_HTTP_REQUEST_LINE ? -1 : 0;
	}
	if (r < 0)
		return -1;
	if (n > LIMIT_HTTP_REQUEST_LINE) {
		*status_r = 414;
		return -1;
	}
	if ((*status_r = http_request_line(buf + pos, n, req)) != 0)
		return -1;
	pos += n + 2;
	for (;;) {
		r = http_line(buf, len, pos, &n);
		if (r == 0 || (r > 0 && pos + n + 2 > LIMIT_HTTP_HEAD)) {
			*status_r = 431;
			return len > LIMIT_HTTP_HEAD || r > 0 ? -1 : 0;
		}
		if (r < 0) {
			/* An empty line with a bare LF is malformed too. */
			*status_r = 400;
			return -1;
		}
		if (n == 0)
			break;
		if ((*status_r = http_field_line(buf + pos, n, req,
						 &host_seen)) != 0)
			return -1;
		pos += n + 2;
	}
	req->head_len = pos + 2;
	if ((*status_r = http_head_done(req, host_seen)) != 0)
		return -1;
	*status_r = 0;
	return 1;
}

/* %XX and '+' decoding of s[0..len) into out; -1 as http_query_param. */
static int
http_unescape(const char *s, size_t len, char *out, size_t outcap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = str_hex_value((unsigned char)s[i + 1]);
			lo = str_hex_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= outcap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 1;
}

int
http_query_param(const char *q, size_t qlen, const char *name, char *out,
		 size_t outcap)
{
	size_t nlen = strlen(name), i = 0;

	if (outcap == 0)
		return -1;
	while (q != NULL && i < qlen) {
		const char *amp = memchr(q + i, '&', qlen - i);
		size_t end = amp != NULL ? (size_t)(amp - q) : qlen;

		if (end - i > nlen && q[i + nlen] == '=' &&
		    memcmp(q + i, name, nlen) == 0)
			return http_unescape(q + i + nlen + 1,
					     end - i - nlen - 1, out, outcap);
		i = end + 1;
	}
	return 0;
}

int
http_xml_element(const char *doc, size_t len, const char *name, char *out,
		 size_t outcap)
{
	char open[64], close[64];
	const char *s, *e;
	size_t olen, clen, n;

	if (outcap == 0 || strlen(name) + 4 > sizeof(open))
		return -1;
	olen = (size_t)snprintf(open, sizeof(open), "<%s>", name);
	clen = (size_t)snprintf(close, sizeof(close), "</%s>", name);
	s = memmem(doc, len, open, olen);
	if (s == NULL)
		return 0;
	s += olen;
	e = memmem(s, len - (size_t)(s - doc), close, clen);
	if (e == NULL)
		return -1;
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		e--;
	n = (size_t)(e - s);
	if (n == 0 || n >= outcap)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == '<' || s[i] == '&')
			return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 1;
}

bool
http_domain_ok(const char *d, size_t len)
{
	if (len == 0 || len > LIMIT_DOMAIN || d[0] == '.' || d[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = d[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
		if (c == '.' && i + 1 < len && d[i + 1] == '.')
			return false;
	}
	return true;
}

bool
http_address_ok(const char *addr, const char **domain_r)
{
	const char *at = strrchr(addr, '@');
	size_t len = strlen(addr);

	if (at == NULL || at == addr || len > LIMIT_ADDRESS ||
	    (size_t)(at - addr) > LIMIT_LOCALPART)
		return false;
	for (const char *p = addr; p < at; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\"'<>&", *p) != NULL)
			return false;
	if (!http_domain_ok(at + 1, strlen(at + 1)))
		return false;
	*domain_r = at + 1;
	return true;
}
