/*
 * TLS-RPT reports (RFC 8460): the _smtp._tls TXT record (§3), the JSON
 * aggregate report of one day and policy domain (§4.4), and its mail
 * (§5.3: multipart/report; report-type="tlsrpt" with the report gzipped
 * as application/tlsrpt+gzip) queued to the domain's rua through our own
 * queue: the file written and fsynced, then one transaction queues it and
 * deletes the rows it reports, so a crash neither loses nor repeats one.
 */
#include "tlsrpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <zlib.h>

#include "../core/config.h"
#include "../store/blob.h"
#include "../store/store.h"
#include "../store/store_queue.h"
#include "../store/store_tlsrpt.h"
#include "../util/base64.h"
#include "../util/buf.h"

/* Recipients of one report (rua addresses we use). */
#define TLSRPT_RCPTS_MAX 8

int64_t
tlsrpt_day(int64_t t)
{
	return t - ((t % 86400) + 86400) % 86400;
}

/* ---- The TXT record (RFC 8460 §3) ----------------------------------- */

/* One rua URI: a mailto: address appended to out (comma-separated). */
static void
rua_uri(const char *u, size_t n, char *out, size_t outlen)
{
	size_t ol = strlen(out);

	while (n > 0 && (u[0] == ' ' || u[0] == '\t')) {
		u++;
		n--;
	}
	while (n > 0 && (u[n - 1] == ' ' || u[n - 1] == '\t'))
		n--;
	if (n <= 7 || strncasecmp(u, "mailto:", 7) != 0)
		return; /* https: reports are not sent by us */
	u += 7;
	n -= 7;
	/* An address we can put in RCPT TO as it is. */
	if (memchr(u, '@', n) == NULL || n > 254)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == '<' || u[i] == '>' ||
		    u[i] == ',' || u[i] == '%' || (unsigned char)u[i] >= 127)
			return;
	if (ol + (ol > 0) + n + 1 > outlen)
		return;
	if (ol > 0)
		out[ol++] = ',';
	memcpy(out + ol, u, n);
	out[ol + n] = '\0';
}

/* tlsrpt-record = tlsrpt-version 1*(field-delim tlsrpt-field)
 * [field-delim]; tlsrpt-version = "v=TLSRPTv1"; field-delim = *WSP ";"
 * *WSP; tlsrpt-rua = "rua=" uri *("," uri). */
int
tlsrpt_txt_parse(const char *txt, size_t len, char *rua_r, size_t rualen)
{
	size_t i = 10;
	bool have_rua = false;

	rua_r[0] = '\0';
	if (len < 10 || memcmp(txt, "v=TLSRPTv1", 10) != 0 ||
	    (len > 10 && txt[10] != ';' && txt[10] != ' ' && txt[10] != '\t'))
		return 0;
	while (i < len) {
		size_t s, e;

		while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (txt[i++] != ';')
			return -1;
		while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
			i++;
		s = i;
		while (i < len && txt[i] != ';')
			i++;
		e = i;
		if (e == s)
			continue;
		if (e - s > 4 && memcmp(txt + s, "rua=", 4) == 0) {
			if (have_rua)
				return -1;
			have_rua = true;
			for (size_t u = s + 4, c; u <= e; u = c + 1) {
				for (c = u; c < e && txt[c] != ','; c++)
					;
				rua_uri(txt + u, c - u, rua_r, rualen);
			}
		} else if (memchr(txt + s, '=', e - s) == NULL) {
			return -1;
		}
	}
	if (!have_rua)
		return -1;
	return rua_r[0] != '\0' ? 1 : 0;
}

/* ---- The JSON report (RFC 8460 §4.4) ----------------------------------- */

/* A report is a few KB; more means something is wrong. */
#define TLSRPT_JSON_MAX (4 * 1024 * 1024)

/* The text being built; fail: an append failed (the text is unusable). */
struct jbuf {
	struct buf b;
	bool fail;
};

static void
jput(struct jbuf *j, const void *d, size_t n)
{
	if (buf_append(&j->b, d, n) < 0)
		j->fail = true;
}

static void
json_str(struct jbuf *j, const char *s)
{
	jput(j, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jput(j, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jput(j, esc, 6);
		} else {
			jput(j, s, 1);
		}
	}
	jput(j, "\"", 1);
}

static void
json_time(struct jbuf *j, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
	jput(j, s, strlen(s));
}

/* The policy: its lines as policy-string, its mx patterns as mx-host. */
static void
json_policy(struct jbuf *j, const struct store_tlsrpt_row *r)
{
	const char *p = r->policy_string;
	bool first = true;

	jput(j, "{\"policy-type\":", 15);
	json_str(j, p[0] != '\0' ? r->policy_type : "no-policy-found");
	jput(j, ",\"policy-string\":[", 18);
	while (*p) {
		size_t l = strcspn(p, "\n");
		char line[400];

		snprintf(line, sizeof(line), "%.*s", (int)l, p);
		if (!first)
			jput(j, ",", 1);
		json_str(j, line);
		first = false;
		p += l + (p[l] == '\n');
	}
	jput(j, "],\"policy-domain\":", 18);
	json_str(j, r->domain);
	jput(j, ",\"mx-host\":[", 12);
	first = true;
	for (p = r->policy_string; *p;) {
		size_t l = strcspn(p, "\n");
		char line[400];

		if (l > 4 && strncmp(p, "mx: ", 4) == 0) {
			snprintf(line, sizeof(line), "%.*s", (int)l - 4, p + 4);
			if (!first)
				jput(j, ",", 1);
			json_str(j, line);
			first = false;
		}
		p += l + (p[l] == '\n');
	}
	jput(j, "]}", 2);
}

char *
tlsrpt_json(const struct store_tlsrpt_row *rows, size_t n,
	    const char *submitter, const char *report_id)
{
	struct jbuf j = { .fail = false };
	int64_t ok = 0, bad = 0;
	char num[64], contact[300];
	bool first = true;

	if (n == 0)
		return NULL;
	buf_init(&j.b, TLSRPT_JSON_MAX);
	for (size_t i = 0; i < n; i++) {
		if (rows[i].result[0] == '\0')
			ok += rows[i].count;
		else
			bad += rows[i].count;
	}
	snprintf(contact, sizeof(contact), "postmaster@%s", submitter);
	jput(&j, "{\"organization-name\":", 21);
	json_str(&j, submitter);
	jput(&j, ",\"date-range\":{\"start-datetime\":", 32);
	json_time(&j, rows[0].day);
	jput(&j, ",\"end-datetime\":", 16);
	json_time(&j, rows[0].day + 86399);
	jput(&j, "},\"contact-info\":", 17);
	json_str(&j, contact);
	jput(&j, ",\"report-id\":", 13);
	json_str(&j, report_id);
	jput(&j, ",\"policies\":[{\"policy\":", 23);
	json_policy(&j, &rows[n - 1]);
	snprintf(num, sizeof(num), ",\"summary\":{\"total-successful-session-"
		 "count\":%lld,", (long long)ok);
	jput(&j, num, strlen(num));
	snprintf(num, sizeof(num), "\"total-failure-session-count\":%lld}",
		 (long long)bad);
	jput(&j, num, strlen(num));
	jput(&j, ",\"failure-details\":[", 20);
	for (size_t i = 0; i < n; i++) {
		if (rows[i].result[0] == '\0')
			continue;
		jput(&j, first ? "{\"result-type\":"
				     : ",{\"result-type\":", first ? 15 : 16);
		json_str(&j, rows[i].result);
		if (rows[i].mx[0] != '\0') {
			jput(&j, ",\"receiving-mx-hostname\":", 25);
			json_str(&j, rows[i].mx);
		}
		snprintf(num, sizeof(num), ",\"failed-session-count\":%lld}",
			 (long long)rows[i].count);
		jput(&j, num, strlen(num));
		first = false;
	}
	jput(&j, "]}]}", 5); /* with the NUL */
	if (j.fail) {
		buf_fini(&j.b);
		return NULL;
	}
	return (char *)j.b.data;
}

/* ---- The mail (RFC 8460 §5.3) ------------------------------------------ */

/* gzip (RFC 1952) of in into out. 0 or -1. */
static int
gzip_buf(const char *in, size_t n, struct buf *out)
{
	z_stream z;
	unsigned char chunk[16384];
	int rc;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper instead of zlib's. */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		if ((rc != Z_OK && rc != Z_STREAM_END) ||
		    buf_append(out, chunk, sizeof(chunk) - z.avail_out) < 0) {
			deflateEnd(&z);
			return -1;
		}
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return 0;
}

/* Base64 in lines of 76 (RFC 2045 §6.8). */
static int
b64_lines(const struct buf *in, struct buf *out)
{
	char line[77 + 2];

	for (size_t off = 0; off < in->len; off += 57) {
		size_t l = in->len - off < 57 ? in->len - off : 57;
		base64_encode(in->data + off, l, line);
		if (buf_append(out, line, strlen(line)) < 0 ||
		    buf_append(out, "\r\n", 2) < 0)
			return -1;
	}
	return 0;
}

struct report {
	const struct config *cfg;
	const struct store_tlsrpt_row *rows;
	size_t n;
	char id[128];              /* Report-ID, without <> */
	char *rcpts[TLSRPT_RCPTS_MAX];
	size_t n_rcpts;
};

/* The whole message into out. 0 or -1. */
static int
report_mail(struct report *r, struct buf *out)
{
	const char *host = r->cfg->hostname, *dom = r->rows[0].domain;
	char *json = tlsrpt_json(r->rows, r->n, host, r->id);
	struct buf gz;
	char date[64], boundary[64];
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1;

	buf_init(&gz, TLSRPT_JSON_MAX);
	if (json == NULL || gzip_buf(json, strlen(json), &gz) < 0)
		goto out;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(boundary, sizeof(boundary), "tlsrpt-%s", r->id);
	boundary[strcspn(boundary, "@")] = '\0';
	if (buf_printf(out, "From: TLS reports <postmaster@%s>\r\n", host) < 0)
		goto out;
	for (size_t i = 0; i < r->n_rcpts; i++)
		if (buf_printf(out, "%s%s", i == 0 ? "To: " : ",\r\n ",
			       r->rcpts[i]) < 0)
			goto out;
	/* §5.3: the subject and the two TLS-Report fields. */
	if (buf_printf(out, "\r\nDate: %s\r\nSubject: Report Domain: %s "
		       "Submitter: %s Report-ID: <%s>\r\nTLS-Report-Domain: "
		       "%s\r\nTLS-Report-Submitter: %s\r\nMessage-ID: <%s>\r\n"
		       "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
		       "report-type=\"tlsrpt\";\r\n boundary=\"%s\"\r\n\r\n"
		       "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
		       "\r\nThis is an aggregate TLS report (RFC 8460) from "
		       "%s for %s.\r\n\r\n--%s\r\nContent-Type: "
		       "application/tlsrpt+gzip\r\nContent-Transfer-Encoding: "
		       "base64\r\nContent-Disposition: attachment;\r\n "
		       "filename=\"%s!%s!%lld!%lld.json.gz\"\r\n\r\n", date,
		       dom, host, r->id, dom, host, r->id, boundary, boundary,
		       host, dom, boundary, host, dom,
		       (long long)r->rows[0].day,
		       (long long)r->rows[0].day + 86399) < 0 ||
	    b64_lines(&gz, out) < 0 ||
	    buf_printf(out, "\r\n--%s--\r\n", boundary) < 0)
		goto out;
	rc = 0;
out:
	free(json);
	buf_fini(&gz);
	return rc;
}

/* The rua of the rows (the latest counted), split. */
static void
report_rcpts(struct report *r)
{
	const char *p = r->rows[r->n - 1].rua;

	while (*p && r->n_rcpts < TLSRPT_RCPTS_MAX) {
		size_t l = strcspn(p, ",");
		if (l > 0 && (r->rcpts[r->n_rcpts] = strndup(p, l)) != NULL)
			r->n_rcpts++;
		p += l + (p[l] == ',');
	}
}

/* Writes, queues and forgets one report. 0 or -1. */
static int
report_queue(struct report *r, struct store *st, const char **err_r)
{
	struct store_queue_rcpt_new rc[TLSRPT_RCPTS_MAX];
	struct store_queue_new m = { 0 };
	char path[BLOB_PATH_MAX];
	struct buf out;
	int rv = -1;

	memset(rc, 0, sizeof(rc));
	buf_init(&out, TLSRPT_JSON_MAX * 2);
	if (report_mail(r, &out) < 0 ||
	    blob_write(r->cfg->data_dir, NULL, 0, out.data, out.len, path,
		       NULL) < 0) {
		*err_r = "cannot write the report";
		buf_fini(&out);
		return -1;
	}
	for (size_t i = 0; i < r->n_rcpts; i++)
		rc[i].addr = r->rcpts[i];
	blob_new_id(m.qid);
	snprintf(m.blob, sizeof(m.blob), "%s", path);
	m.size = (int64_t)out.len;
	m.from = ""; /* no bounce of a report (as DSNs, RFC 3464 §2) */
	m.created = (int64_t)time(NULL);
	m.rcpts = rc;
	m.n_rcpts = r->n_rcpts;
	if (store_begin(st, err_r) == 0) {
		if (store_queue_add(st, &m, NULL, err_r) == 0 &&
		    store_tlsrpt_delete(st, r->rows[0].day, r->rows[0].domain,
					err_r) == 0 &&
		    store_commit(st, err_r) == 0)
			rv = 0;
		else
			store_rollback(st);
	}
	if (rv < 0)
		blob_unlink(r->cfg->data_dir, path);
	buf_fini(&out);
	return rv;
}

int
tlsrpt_send_reports(const struct config *cfg, struct store *st,
		    int64_t day_max, unsigned *sent_r, const char **err_r)
{
	struct store_tlsrpt_row *rows = NULL;
	size_t n = 0, i = 0;
	int rc = 0;

	*sent_r = 0;
	if (store_tlsrpt_list(st, day_max, &rows, &n, err_r) < 0)
		return -1;
	while (i < n && rc == 0) {
		struct report r = { .cfg = cfg, .rows = &rows[i] };
		char rnd[9];
		size_t k = i;

		while (k < n && rows[k].day == rows[i].day &&
		       strcmp(rows[k].domain, rows[i].domain) == 0)
			k++;
		r.n = k - i;
		/* Unique per report: the day, the domain, 32 random bits. */
		blob_new_id(r.id);
		memcpy(rnd, r.id, 8);
		rnd[8] = '\0';
		snprintf(r.id, sizeof(r.id), "%lld.%s.%s@%s",
			 (long long)rows[i].day, rnd,
			 rows[i].domain, cfg->hostname);
		report_rcpts(&r);
		if (r.n_rcpts > 0)
			rc = report_queue(&r, st, err_r);
		else
			rc = store_tlsrpt_delete(st, rows[i].day,
						 rows[i].domain, err_r);
		if (rc == 0 && r.n_rcpts > 0)
			(*sent_r)++;
		for (size_t x = 0; x < r.n_rcpts; x++)
			free(r.rcpts[x]);
		i = k;
	}
	store_tlsrpt_rows_free(rows, n);
	return rc;
}
