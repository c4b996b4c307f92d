/*
 * The pure parts of MTA-STS (mta_sts.h): the _mta-sts TXT record (RFC
 * 8461 §3.1), the policy file (§3.2), MX pattern matching (§4.1) and the
 * head of the HTTP response the policy comes in (§3.3). No I/O; every
 * input is bytes plus a length and may hold anything.
 */
#include "mta_sts.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const result_names[MTA_STS_RESULT_COUNT] = {
	[MTA_STS_OK] = "",
	[MTA_STS_STARTTLS_NOT_SUPPORTED] = "starttls-not-supported",
	[MTA_STS_CERT_HOST_MISMATCH] = "certificate-host-mismatch",
	[MTA_STS_CERT_EXPIRED] = "certificate-expired",
	[MTA_STS_CERT_NOT_TRUSTED] = "certificate-not-trusted",
	[MTA_STS_VALIDATION_FAILURE] = "validation-failure",
	[MTA_STS_POLICY_FETCH_ERROR] = "sts-policy-fetch-error",
	[MTA_STS_POLICY_INVALID] = "sts-policy-invalid",
	[MTA_STS_WEBPKI_INVALID] = "sts-webpki-invalid",
};

const char *
mta_sts_result_name(enum mta_sts_result r)
{
	return (unsigned)r < MTA_STS_RESULT_COUNT ? result_names[r] : "";
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* ---- TXT record (RFC 8461 §3.1) ------------------------------------ */

/* sts-text-record = sts-version 1*(sts-field-delim sts-field)
 * [sts-field-delim]; sts-field-delim = *WSP ";" *WSP; the version comes
 * first and exactly as "v=STSv1". */
int
mta_sts_txt_parse(const char *txt, size_t len, char *id_r)
{
	size_t i = 7;
	bool have_id = false;

	id_r[0] = '\0';
	if (len < 7 || memcmp(txt, "v=STSv1", 7) != 0)
		return 0;
	if (len > 7 && txt[7] != ';' && !is_wsp(txt[7]))
		return 0; /* "v=STSv10": not ours */
	while (i < len) {
		size_t s, e, eq;

		while (i < len && is_wsp(txt[i]))
			i++;
		if (i == len)
			break;
		if (txt[i] != ';')
			return -1;
		i++;
		while (i < len && is_wsp(txt[i]))
			i++;
		if (i == len)
			break; /* a trailing delimiter */
		s = i;
		while (i < len && txt[i] != ';' && !is_wsp(txt[i]))
			i++;
		e = i;
		for (eq = s; eq < e && txt[eq] != '='; eq++)
			;
		if (eq == s || eq == e)
			return -1; /* sts-field-name "=" sts-field-value */
		if (eq - s == 2 && memcmp(txt + s, "id", 2) == 0) {
			size_t vl = e - eq - 1;
			if (have_id || vl < 1 || vl > MTA_STS_ID_MAX)
				return -1;
			for (size_t k = eq + 1; k < e; k++)
				if (!is_alnum(txt[k]))
					return -1;
			memcpy(id_r, txt + eq + 1, vl);
			id_r[vl] = '\0';
			have_id = true;
		}
	}
	return have_id ? 1 : -1;
}

/* ---- Policy file (RFC 8461 §3.2) ------------------------------------ */

/* sts-policy-mx-value: a domain name, optionally "*." first; letters,
 * digits, '-' and '.', labels of 1..63, 1..253 octets in all. */
static bool
mx_pattern_ok(const char *v, size_t n)
{
	size_t lab = 0;

	if (n >= 2 && v[0] == '*' && v[1] == '.') {
		v += 2;
		n -= 2;
	}
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '.') {
			if (lab == 0)
				return false;
			lab = 0;
			continue;
		}
		if (!is_alnum(v[i]) && v[i] != '-' && v[i] != '_')
			return false;
		if (++lab > 63)
			return false;
	}
	return lab > 0;
}

struct policy_seen {
	bool version, mode, max_age;
};

static bool
key_is(const char *k, size_t kl, const char *want)
{
	return strlen(want) == kl && strncasecmp(k, want, kl) == 0;
}

/* One "name: value" line. 0 fine, -1 invalid (err set). */
static int
policy_field(const char *k, size_t kl, const char *v, size_t vl,
	     struct mta_sts_policy *p, struct policy_seen *seen, char *err,
	     size_t errlen)
{
	if (key_is(k, kl, "version")) {
		if (seen->version)
			return 0;
		seen->version = true;
		if (vl != 5 || memcmp(v, "STSv1", 5) != 0) {
			snprintf(err, errlen, "version is not STSv1");
			return -1;
		}
	} else if (key_is(k, kl, "mode")) {
		if (seen->mode)
			return 0;
		seen->mode = true;
		if (key_is(v, vl, "enforce"))
			p->mode = MTA_STS_ENFORCE;
		else if (key_is(v, vl, "testing"))
			p->mode = MTA_STS_TESTING;
		else if (key_is(v, vl, "none"))
			p->mode = MTA_STS_NONE;
		else {
			snprintf(err, errlen, "unknown mode");
			return -1;
		}
	} else if (key_is(k, kl, "max_age")) {
		uint64_t a = 0;
		if (seen->max_age)
			return 0;
		seen->max_age = true;
		/* 1*10DIGIT, at most MTA_STS_MAX_AGE_MAX. */
		for (size_t i = 0; i < vl; i++)
			if (v[i] < '0' || v[i] > '9' || i >= 10)
				vl = 0;
			else
				a = a * 10 + (uint64_t)(v[i] - '0');
		if (vl == 0 || a > MTA_STS_MAX_AGE_MAX) {
			snprintf(err, errlen, "bad max_age");
			return -1;
		}
		p->max_age = (uint32_t)a;
	} else if (key_is(k, kl, "mx")) {
		if (!mx_pattern_ok(v, vl)) {
			snprintf(err, errlen, "bad mx pattern");
			return -1;
		}
		/* More than we keep: the rest cannot match, which is safe
		 * (a destination is deferred, never sent in clear). */
		if (p->n_mx < MTA_STS_MX_MAX) {
			for (size_t i = 0; i < vl; i++)
				p->mx[p->n_mx][i] = (char)((v[i] >= 'A' &&
					v[i] <= 'Z') ? v[i] + 32 : v[i]);
			p->mx[p->n_mx][vl] = '\0';
			p->n_mx++;
		}
	}
	/* sts-policy-extension: ignored (§3.2 "MUST be ignored"). */
	return 0;
}

int
mta_sts_policy_parse(const char *text, size_t len, struct mta_sts_policy *p,
		     char *err, size_t errlen)
{
	struct policy_seen seen = { false, false, false };
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	if (len > MTA_STS_POLICY_MAX) {
		snprintf(err, errlen, "policy too long");
		return -1;
	}
	while (i < len) {
		size_t s = i, e, k, v, ve;

		while (i < len && text[i] != '\n')
			i++;
		e = i;
		if (i < len)
			i++;
		if (e > s && text[e - 1] == '\r')
			e--;
		while (e > s && is_wsp(text[e - 1]))
			e--;
		if (e == s)
			continue; /* an empty line (the final one, mostly) */
		for (k = s; k < e && text[k] != ':'; k++)
			if (text[k] == '\0' || text[k] == '\r')
				break;
		if (k == e || text[k] != ':' || k == s) {
			snprintf(err, errlen, "line without \"name:\"");
			return -1;
		}
		for (v = k + 1; v < e && is_wsp(text[v]); v++)
			;
		for (ve = v; ve < e; ve++)
			if ((unsigned char)text[ve] < 0x20 &&
			    !is_wsp(text[ve])) {
				snprintf(err, errlen, "control octet");
				return -1;
			}
		if (policy_field(text + s, k - s, text + v, e - v, p, &seen,
				 err, errlen) < 0)
			return -1;
	}
	if (!seen.version || !seen.mode || !seen.max_age) {
		snprintf(err, errlen, "missing %s", !seen.version ? "version"
			 : !seen.mode ? "mode" : "max_age");
		return -1;
	}
	if (p->mode != MTA_STS_NONE && p->n_mx == 0) {
		snprintf(err, errlen, "no mx");
		return -1;
	}
	return 0;
}

bool
mta_sts_mx_match(const struct mta_sts_policy *p, const char *host)
{
	size_t hl = strlen(host);

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	for (size_t i = 0; i < p->n_mx; i++) {
		const char *m = p->mx[i];
		size_t ml = strlen(m);

		if (m[0] == '*' && m[1] == '.') {
			/* "*.example.com" is "x.example.com", never
			 * "example.com" nor "a.b.example.com". */
			const char *dot = memchr(host, '.', hl);
			if (dot != NULL && dot > host &&
			    (size_t)(host + hl - dot) == ml - 1 &&
			    strncasecmp(dot, m + 1, ml - 1) == 0)
				return true;
		} else if (ml == hl && strncasecmp(m, host, hl) == 0) {
			return true;
		}
	}
	return false;
}

int
mta_sts_policy_format(const struct mta_sts_policy *p, char *out,
		      size_t outlen)
{
	static const char *const modes[] = { "none", "testing", "enforce" };
	size_t off;
	int n = snprintf(out, outlen, "version: STSv1\nmode: %s\n"
			 "max_age: %u\n", modes[p->mode], p->max_age);

	if (n < 0 || (size_t)n >= outlen)
		return -1;
	off = (size_t)n;
	for (size_t i = 0; i < p->n_mx; i++) {
		n = snprintf(out + off, outlen - off, "mx: %s\n", p->mx[i]);
		if (n < 0 || (size_t)n >= outlen - off)
			return -1;
		off += (size_t)n;
	}
	return (int)off;
}

/* ---- HTTP response head (RFC 9112 §4, §6) --------------------------- */

/* The value of one field line "Name: value" when the name is want. */
static bool
field_value(const char *l, size_t n, const char *want, const char **v_r,
	    size_t *vl_r)
{
	size_t wl = strlen(want), v;

	if (n <= wl || l[wl] != ':' || strncasecmp(l, want, wl) != 0)
		return false;
	for (v = wl + 1; v < n && is_wsp(l[v]); v++)
		;
	while (n > v && is_wsp(l[n - 1]))
		n--;
	*v_r = l + v;
	*vl_r = n - v;
	return true;
}

/* One field line of the head: -1 refused. */
static int
http_field(const char *l, size_t n, int64_t *clen_r, bool *text_plain_r)
{
	const char *v;
	size_t vl;

	if (field_value(l, n, "Content-Length", &v, &vl)) {
		int64_t c = 0;
		if (vl == 0 || vl > 12 || *clen_r >= 0)
			return -1;
		for (size_t i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -1;
			c = c * 10 + (v[i] - '0');
		}
		*clen_r = c;
	} else if (field_value(l, n, "Transfer-Encoding", &v, &vl)) {
		return -1; /* HTTP/1.0 was asked: no chunks */
	} else if (field_value(l, n, "Content-Type", &v, &vl)) {
		/* RFC 8461 §3.3: "text/plain", parameters allowed. */
		*text_plain_r = vl >= 10 && strncasecmp(v, "text/plain", 10)
			== 0 && (vl == 10 || v[10] == ';' || is_wsp(v[10]));
	}
	return 0;
}

int
mta_sts_http_head(const char *buf, size_t len, int *status_r,
		  size_t *head_len_r, int64_t *clen_r, bool *text_plain_r)
{
	size_t i = 0, line = 0;

	*status_r = 0;
	*clen_r = -1;
	*text_plain_r = false;
	for (;;) {
		size_t s = i, e;

		while (i < len && buf[i] != '\n')
			i++;
		if (i >= MTA_STS_HTTP_HEAD_MAX)
			return -1;
		if (i == len)
			return 0;
		e = i++;
		if (e > s && buf[e - 1] == '\r')
			e--;
		if (line++ == 0) {
			/* "HTTP/1.x SSS reason" */
			if (e - s < 12 || memcmp(buf + s, "HTTP/1.", 7) != 0 ||
			    buf[s + 8] != ' ' || buf[s + 9] < '1' ||
			    buf[s + 9] > '5' || buf[s + 10] < '0' ||
			    buf[s + 10] > '9' || buf[s + 11] < '0' ||
			    buf[s + 11] > '9' ||
			    (e - s > 12 && buf[s + 12] != ' '))
				return -1;
			*status_r = (buf[s + 9] - '0') * 100 +
				    (buf[s + 10] - '0') * 10 +
				    (buf[s + 11] - '0');
			continue;
		}
		if (e == s) {
			*head_len_r = i;
			return 1;
		}
		for (size_t k = s; k < e; k++)
			if (buf[k] == '\0')
				return -1;
		if (http_field(buf + s, e - s, clen_r, text_plain_r) < 0)
			return -1;
	}
}
