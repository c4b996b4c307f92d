/*
 * imap_load: a mixed IMAP workload that times and checks every command.
 *
 * Each of -c client threads loops { SELECT INBOX, FETCH 1:20 (FLAGS
 * ENVELOPE), FETCH n BODY.PEEK[], STORE n +FLAGS (\Seen), SEARCH UNSEEN,
 * SEARCH SUBJECT x, APPEND, IDLE + DONE }, logging in (new connection,
 * LOGIN) every -r loops and LOGOUT at the end of each session (-r 1 is the
 * login-heavy mix; -r 0 keeps one session per client). Client i's session
 * s uses user u((i + s * clients) % users + 1). Every reply is checked
 * against the seeded messages (see load_message), and a NO, BAD, missing
 * or wrong reply counts as an error of its command. Prints one line of
 * key=value totals, then one per command: count, errors, p50/p90/p99/max.
 * -S seeds instead: APPENDs -N messages to every user's INBOX.
 * Bounded by loop count (-n) and wall time (-T); loopback use only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

#define LOAD_MAX_CLIENTS 1000
#define LOAD_MAX_USERS 100000
#define LOAD_MAX_SEED 100000
#define LOAD_MAX_LOOPS 10000000
#define LOAD_MSG_MAX (16 * 1024)        /* a seeded message, at most */
#define LOAD_RESP_MAX (8 * 1024 * 1024) /* one command's whole answer */
#define LOAD_LINE_MAX 1024
#define LOAD_IO_TIMEOUT_S 30
#define LOAD_FETCH_HDRS 20

enum load_op {
	OP_LOGIN, OP_SELECT, OP_FETCH_HDR, OP_FETCH_BODY, OP_STORE,
	OP_SEARCH_UNSEEN, OP_SEARCH_SUBJ, OP_APPEND, OP_IDLE, OP_LOGOUT,
	OP_COUNT
};

static const char *const load_op_names[OP_COUNT] = {
	"LOGIN", "SELECT", "FETCH_HDR", "FETCH_BODY", "STORE",
	"SEARCH_UNSEEN", "SEARCH_SUBJECT", "APPEND", "IDLE", "LOGOUT",
};

struct load_opts {
	const char *host;
	int port;
	int clients;
	int users;
	int seeded;             /* messages seeded per INBOX */
	long loops;
	int per_session;        /* loops per login; 0 = one session */
	double timeout_s;
	const char *domain;
	const char *pass;
	bool seed;
};

struct load_lat {
	double *v;
	size_t n, cap;
};

struct load_client {
	const struct load_opts *o;
	int id;
	int fd;
	SSL *ssl;               /* with -t: implicit TLS (RFC 8314) */
	char *rbuf;             /* read buffer */
	size_t rpos, rlen;
	char *resp;             /* the current command's untagged data */
	size_t resp_len;
	unsigned tagno;
	uint64_t rng;
	long exists;
	long bits_cap;          /* size of the SEARCH bitmap */
	struct load_lat lat[OP_COUNT];
	long errors[OP_COUNT];
	char last_err[256];
};

static SSL_CTX *load_tls;       /* NULL: plaintext */
static atomic_long load_next_loop;
static atomic_long load_next_user;
static double load_deadline;

/*
 * Seeded message k (1-based) of user u: 2-8 KB, every third one a
 * multipart/alternative, subject tagged "zq<k%10>zq" for SEARCH SUBJECT.
 * Deterministic, so a FETCH of BODY[] can be compared byte for byte.
 */
static size_t
load_message(int u, int k, const char *domain, char *out, size_t cap)
{
	size_t target = 2048 + ((size_t)k * 7919u) % 6144, n;
	bool multi = k % 3 == 0;
	static const char *const words[] = {
		"alpha", "bravo", "charlie", "delta", "echo", "foxtrot",
		"golf", "hotel", "india", "juliet", "kilo", "lima", "mike",
	};

	n = (size_t)snprintf(out, cap,
		"Return-Path: <sender%d@example.org>\r\n"
		"From: Sender %d <sender%d@example.org>\r\n"
		"To: u%d <u%d@%s>\r\n"
		"Subject: Bench message %d about zq%dzq\r\n"
		"Date: Mon, 23 Nov 2026 09:%02d:%02d +0000\r\n"
		"Message-ID: <%d.%d@bench.example>\r\n"
		"X-Bench-Seq: %d\r\n"
		"MIME-Version: 1.0\r\n"
		"%s\r\n",
		k % 17, k % 17, k % 17, u, u, domain, k, k % 10, k / 60 % 60,
		k % 60, k, u, k,
		multi ? "Content-Type: multipart/alternative; boundary=\"b-x\"\r\n"
		      : "Content-Type: text/plain; charset=us-ascii\r\n");
	if (multi)
		n += (size_t)snprintf(out + n, cap - n, "--b-x\r\n"
			"Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	for (unsigned w = (unsigned)k; n + 80 < target && n + 200 < cap; w++) {
		size_t line = 0;

		while (line < 64) {
			int m = snprintf(out + n, cap - n, "%s ",
					 words[(w * 31u + line) % 13]);
			n += (size_t)m;
			line += (size_t)m;
		}
		n += (size_t)snprintf(out + n, cap - n, "\r\n");
	}
	if (multi)
		n += (size_t)snprintf(out + n, cap - n, "--b-x\r\n"
			"Content-Type: text/html; charset=us-ascii\r\n\r\n"
			"<p>message %d</p>\r\n--b-x--\r\n", k);
	return n;
}

static size_t
load_small_message(int u, long loop, const char *domain, char *out,
		   size_t cap)
{
	return (size_t)snprintf(out, cap,
		"From: Appender <appender@example.org>\r\n"
		"To: u%d@%s\r\n"
		"Subject: appended %ld\r\n"
		"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
		"Message-ID: <a%ld.%d@bench.example>\r\n"
		"\r\n"
		"A short appended message, loop %ld.\r\n", u, domain, loop, loop,
		u, loop);
}

/* --- connection --------------------------------------------------------- */

static ssize_t
load_send(struct load_client *c, const char *p, size_t n)
{
	if (c->ssl == NULL)
		return send(c->fd, p, n, MSG_NOSIGNAL);
	int w = SSL_write(c->ssl, p, (int)n);

	return w > 0 ? w : -1;
}

static ssize_t
load_recv(struct load_client *c, char *p, size_t n)
{
	if (c->ssl == NULL)
		return recv(c->fd, p, n, 0);
	int r = SSL_read(c->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));

	return r > 0 ? r : -1;
}

static int
load_write_all(struct load_client *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = load_send(c, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
load_fill(struct load_client *c)
{
	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->rlen == LOAD_RESP_MAX)
		return -1;
	for (;;) {
		ssize_t r = load_recv(c, c->rbuf + c->rlen,
				      LOAD_RESP_MAX - c->rlen);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->rlen += (size_t)r;
		return 0;
	}
}

/* Appends n bytes of the read buffer to resp. */
static int
load_take(struct load_client *c, size_t n)
{
	if (c->resp_len + n + 1 > LOAD_RESP_MAX)
		return -1;
	memcpy(c->resp + c->resp_len, c->rbuf + c->rpos, n);
	c->resp_len += n;
	c->resp[c->resp_len] = '\0';
	c->rpos += n;
	return 0;
}

/*
 * Reads one line (with any literals it announces, RFC 9051 §4.3) into
 * resp; *start is where it begins there.
 */
static int
load_read_line(struct load_client *c, size_t *start)
{
	*start = c->resp_len;
	for (;;) {
		char *nl = memchr(c->rbuf + c->rpos, '\n', c->rlen - c->rpos);

		if (nl == NULL) {
			if (load_fill(c) < 0)
				return -1;
			continue;
		}
		size_t len = (size_t)(nl - (c->rbuf + c->rpos)) + 1;
		size_t lit = 0;
		char *end = nl;

		if (end > c->rbuf + c->rpos && end[-1] == '\r')
			end--;
		if (end > c->rbuf + c->rpos && end[-1] == '}') {
			char *b = end - 1;

			while (b > c->rbuf + c->rpos && b[-1] != '{')
				b--;
			lit = (size_t)strtoul(b, NULL, 10);
		}
		if (load_take(c, len) < 0)
			return -1;
		if (lit == 0)
			return 0;
		while (c->rlen - c->rpos < lit)
			if (load_fill(c) < 0)
				return -1;
		if (load_take(c, lit) < 0)
			return -1;
	}
}

/*
 * Reads the answer to the command tagged tag: untagged data stays in resp.
 * Returns 0 for OK, 1 for NO/BAD (reason in last_err), -1 on I/O error.
 */
static int
load_read_tagged(struct load_client *c, const char *tag)
{
	size_t tl = strlen(tag), start;

	c->resp_len = 0;
	c->resp[0] = '\0';
	for (;;) {
		if (load_read_line(c, &start) < 0)
			return -1;
		char *l = c->resp + start;

		if (strncmp(l, tag, tl) == 0 && l[tl] == ' ') {
			if (strncmp(l + tl + 1, "OK", 2) == 0)
				return 0;
			snprintf(c->last_err, sizeof(c->last_err), "%.200s", l);
			return 1;
		}
	}
}

static void load_close(struct load_client *c);

static int
load_connect(struct load_client *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = LOAD_IO_TIMEOUT_S };
	int one = 1;
	size_t start;

	sa.sin_port = htons((uint16_t)c->o->port);
	if (inet_pton(AF_INET, c->o->host, &sa.sin_addr) != 1)
		return -1;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->rpos = c->rlen = 0;
	c->resp_len = 0;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	if (load_tls != NULL) {
		c->ssl = SSL_new(load_tls);
		if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
		    SSL_connect(c->ssl) != 1)
			goto fail;
	}
	if (load_read_line(c, &start) < 0 ||
	    strncmp(c->resp + start, "* OK", 4) != 0)
		goto fail;
	return 0;
fail:
	load_close(c);
	return -1;
}

static void
load_close(struct load_client *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void
load_record(struct load_client *c, enum load_op op, double t0)
{
	struct load_lat *l = &c->lat[op];

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (l->v == NULL)
			abort();
	}
	l->v[l->n++] = (bench_now() - t0) * 1000.0;
}

static void
load_error(struct load_client *c, enum load_op op, const char *why)
{
	c->errors[op]++;
	if (why != NULL)
		snprintf(c->last_err, sizeof(c->last_err), "%s: %.200s",
			 load_op_names[op], why);
	fprintf(stderr, "imap_load: client %d %s error: %s\n", c->id,
		load_op_names[op], c->last_err);
}

/*
 * Sends one command (and optional LITERAL+ data) and reads its answer;
 * on OK records the latency. Returns 0 on OK, 1 on NO/BAD, -1 on I/O.
 */
static int
load_cmd(struct load_client *c, enum load_op op, const char *fmt,
	 const char *arg, const char *lit, size_t lit_len, double *t0_r)
{
	char line[LOAD_LINE_MAX], tag[16];
	int n, rc;

	snprintf(tag, sizeof(tag), "t%u", ++c->tagno);
	n = snprintf(line, sizeof(line), "%s ", tag);
	n += snprintf(line + n, sizeof(line) - (size_t)n, fmt, arg);
	*t0_r = bench_now();
	if (load_write_all(c, line, (size_t)n) < 0 ||
	    (lit != NULL && load_write_all(c, lit, lit_len) < 0) ||
	    (lit != NULL && load_write_all(c, "\r\n", 2) < 0))
		rc = -1;
	else
		rc = load_read_tagged(c, tag);
	if (rc < 0)
		load_error(c, op, "connection lost or timed out");
	else if (rc > 0)
		load_error(c, op, NULL);
	return rc;
}

/* --- checks ------------------------------------------------------------- */

static long
load_exists(const char *resp)
{
	const char *p = resp;
	long e = -1;

	while ((p = strstr(p, " EXISTS")) != NULL) {
		const char *b = p;

		while (b > resp && b[-1] >= '0' && b[-1] <= '9')
			b--;
		e = strtol(b, NULL, 10);
		p++;
	}
	return e;
}

/* Parses the "* SEARCH n n n" line into a bitmap of 1..max. */
static int
load_search_set(const char *resp, unsigned char *bits, long max)
{
	const char *p = strstr(resp, "* SEARCH");

	if (p == NULL)
		return -1;
	memset(bits, 0, (size_t)max + 1);
	p += 8;
	while (*p == ' ') {
		char *e;
		long v = strtol(p + 1, &e, 10);

		if (e == p + 1 || v < 1 || v > max)
			return -1;
		bits[v] = 1;
		p = e;
	}
	return (*p == '\r' || *p == '\n') ? 0 : -1;
}

static void
load_track_exists(struct load_client *c)
{
	long e = load_exists(c->resp);

	if (e > c->exists)
		c->exists = e;
}

static uint64_t
load_rand(struct load_client *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

static int
load_login(struct load_client *c, int u)
{
	char arg[256];
	double t0;

	if (load_connect(c) < 0) {
		load_error(c, OP_LOGIN, "connect or greeting failed");
		return -1;
	}
	snprintf(arg, sizeof(arg), "u%d@%s %s", u, c->o->domain, c->o->pass);
	if (load_cmd(c, OP_LOGIN, "LOGIN %s\r\n", arg, NULL, 0, &t0) != 0) {
		load_close(c);
		return -1;
	}
	load_record(c, OP_LOGIN, t0);
	return 0;
}

static void
load_logout(struct load_client *c)
{
	double t0;

	if (load_cmd(c, OP_LOGOUT, "LOGOUT\r\n", NULL, NULL, 0, &t0) == 0) {
		if (strstr(c->resp, "* BYE") == NULL)
			load_error(c, OP_LOGOUT, "no BYE");
		else
			load_record(c, OP_LOGOUT, t0);
	}
	load_close(c);
}

static int
load_select(struct load_client *c)
{
	double t0;
	int rc = load_cmd(c, OP_SELECT, "SELECT INBOX\r\n", NULL, NULL, 0, &t0);

	if (rc != 0)
		return rc;
	c->exists = load_exists(c->resp);
	if (c->exists < c->o->seeded || strstr(c->resp, "UIDVALIDITY") == NULL) {
		load_error(c, OP_SELECT, "EXISTS below the seeded count or no "
			   "UIDVALIDITY");
		return 1;
	}
	load_record(c, OP_SELECT, t0);
	return 0;
}

/* FETCH 1:20 (FLAGS ENVELOPE): 20 answers, each with its own subject. */
static int
load_fetch_hdr(struct load_client *c)
{
	char subj[64];
	double t0;
	int n = c->o->seeded < LOAD_FETCH_HDRS ? c->o->seeded : LOAD_FETCH_HDRS;
	char arg[32];

	snprintf(arg, sizeof(arg), "1:%d", n);
	int rc = load_cmd(c, OP_FETCH_HDR, "FETCH %s (FLAGS ENVELOPE)\r\n", arg,
			  NULL, 0, &t0);

	if (rc != 0)
		return rc;
	for (int k = 1; k <= n; k++) {
		snprintf(subj, sizeof(subj), "\"Bench message %d about zq", k);
		if (strstr(c->resp, subj) == NULL) {
			load_error(c, OP_FETCH_HDR, subj);
			return 1;
		}
	}
	load_record(c, OP_FETCH_HDR, t0);
	return 0;
}

/* FETCH k BODY.PEEK[]: the literal must be seeded message k exactly. */
static int
load_fetch_body(struct load_client *c, int u, int k, char *msg)
{
	char arg[16];
	double t0;

	snprintf(arg, sizeof(arg), "%d", k);
	int rc = load_cmd(c, OP_FETCH_BODY, "FETCH %s BODY.PEEK[]\r\n", arg,
			  NULL, 0, &t0);

	if (rc != 0)
		return rc;
	size_t len = load_message(u, k, c->o->domain, msg, LOAD_MSG_MAX);
	const char *p = strstr(c->resp, "BODY[] {");

	if (p == NULL || (size_t)strtoul(p + 8, NULL, 10) != len ||
	    (p = strstr(p, "}\r\n")) == NULL ||
	    (size_t)(c->resp + c->resp_len - (p + 3)) < len ||
	    memcmp(p + 3, msg, len) != 0) {
		load_error(c, OP_FETCH_BODY, "BODY[] differs from the seeded message");
		return 1;
	}
	load_record(c, OP_FETCH_BODY, t0);
	return 0;
}

static int
load_store(struct load_client *c, int k)
{
	char arg[16], want[32];
	double t0;

	snprintf(arg, sizeof(arg), "%d", k);
	int rc = load_cmd(c, OP_STORE, "STORE %s +FLAGS (\\Seen)\r\n", arg,
			  NULL, 0, &t0);

	if (rc != 0)
		return rc;
	/* A server may leave out the FETCH when the flags did not change
	 * (Dovecot does); if there is one it must show \Seen. SEARCH
	 * UNSEEN then checks that k really is \Seen. */
	snprintf(want, sizeof(want), "* %d FETCH (", k);
	const char *p = strstr(c->resp, want);

	if (p != NULL && strstr(p, "\\Seen") == NULL) {
		load_error(c, OP_STORE, "FETCH FLAGS without \\Seen");
		return 1;
	}
	load_record(c, OP_STORE, t0);
	return 0;
}

/* SEARCH UNSEEN: every number a message; k (just made \Seen) absent. */
static int
load_search_unseen(struct load_client *c, int k, unsigned char *bits)
{
	double t0;
	int rc = load_cmd(c, OP_SEARCH_UNSEEN, "SEARCH UNSEEN\r\n", NULL, NULL,
			  0, &t0);

	if (rc != 0)
		return rc;
	load_track_exists(c);
	if (c->exists >= c->bits_cap ||
	    load_search_set(c->resp, bits, c->exists) < 0 || bits[k]) {
		load_error(c, OP_SEARCH_UNSEEN, "bad SEARCH UNSEEN result");
		return 1;
	}
	load_record(c, OP_SEARCH_UNSEEN, t0);
	return 0;
}

/* SEARCH SUBJECT zqDzq: exactly the seeded k with k % 10 == D. */
static int
load_search_subj(struct load_client *c, int d, unsigned char *bits)
{
	char arg[16];
	double t0;

	snprintf(arg, sizeof(arg), "zq%dzq", d);
	int rc = load_cmd(c, OP_SEARCH_SUBJ, "SEARCH SUBJECT %s\r\n", arg, NULL,
			  0, &t0);

	if (rc != 0)
		return rc;
	load_track_exists(c);
	if (c->exists >= c->bits_cap ||
	    load_search_set(c->resp, bits, c->exists) < 0)
		goto bad;
	for (long k = 1; k <= c->exists; k++)
		if (bits[k] != (k <= c->o->seeded && k % 10 == d))
			goto bad;
	load_record(c, OP_SEARCH_SUBJ, t0);
	return 0;
bad:
	load_error(c, OP_SEARCH_SUBJ, "wrong SEARCH SUBJECT result");
	return 1;
}

/* APPEND with a LITERAL+ literal (RFC 7888): one round trip. */
static int
load_append(struct load_client *c, const char *flags, const char *msg,
	    size_t len, bool timed)
{
	char arg[64];
	double t0;

	snprintf(arg, sizeof(arg), "%s{%zu+}", flags, len);
	int rc = load_cmd(c, OP_APPEND, "APPEND INBOX %s\r\n", arg, msg, len,
			  &t0);

	if (rc == 0 && timed)
		load_record(c, OP_APPEND, t0);
	return rc;
}

/* IDLE, then DONE as soon as the continuation arrives (RFC 2177). */
static int
load_idle(struct load_client *c)
{
	char tag[16], line[32];
	size_t start;
	double t0 = bench_now();
	int n;

	snprintf(tag, sizeof(tag), "t%u", ++c->tagno);
	n = snprintf(line, sizeof(line), "%s IDLE\r\n", tag);
	if (load_write_all(c, line, (size_t)n) < 0)
		goto io;
	c->resp_len = 0;
	do {
		if (load_read_line(c, &start) < 0)
			goto io;
		if (strncmp(c->resp + start, tag, strlen(tag)) == 0) {
			snprintf(c->last_err, sizeof(c->last_err), "%.200s",
				 c->resp + start);
			load_error(c, OP_IDLE, NULL);
			return 1;
		}
	} while (c->resp[start] != '+');
	if (load_write_all(c, "DONE\r\n", 6) < 0)
		goto io;
	n = load_read_tagged(c, tag);
	if (n < 0)
		goto io;
	if (n > 0) {
		load_error(c, OP_IDLE, NULL);
		return 1;
	}
	load_record(c, OP_IDLE, t0);
	return 0;
io:
	load_error(c, OP_IDLE, "connection lost or timed out");
	return -1;
}

/* One loop of the workload on the selected session; -1 if the
 * connection is unusable. */
static int
load_one(struct load_client *c, int u, long loop, char *msg,
	 unsigned char *bits)
{
	int k = (int)(load_rand(c) % (uint64_t)c->o->seeded) + 1;
	int rc;

	if ((rc = load_select(c)) < 0 || (rc = load_fetch_hdr(c)) < 0 ||
	    (rc = load_fetch_body(c, u, k, msg)) < 0 ||
	    (rc = load_store(c, k)) < 0 ||
	    (rc = load_search_unseen(c, k, bits)) < 0 ||
	    (rc = load_search_subj(c, (int)(load_rand(c) % 10), bits)) < 0)
		return -1;
	size_t len = load_small_message(u, loop, c->o->domain, msg,
					LOAD_MSG_MAX);

	if (load_append(c, "(\\Seen) ", msg, len, true) < 0 ||
	    load_idle(c) < 0)
		return -1;
	return 0;
}

static void *
load_client_main(void *arg)
{
	struct load_client *c = arg;
	char *msg = malloc(LOAD_MSG_MAX);
	unsigned char *bits;
	long session = 0, in_session = 0, loop;
	int u = 0;

	c->bits_cap = c->o->seeded + c->o->loops + 100000;
	bits = malloc((size_t)c->bits_cap + 1);
	while (msg != NULL && bits != NULL && bench_now() < load_deadline &&
	       (loop = atomic_fetch_add(&load_next_loop, 1)) < c->o->loops) {
		if (c->fd < 0) {
			u = (int)((c->id + session * c->o->clients) %
				  c->o->users) + 1;
			session++;
			in_session = 0;
			if (load_login(c, u) < 0)
				continue;
		}
		if (load_one(c, u, loop, msg, bits) < 0) {
			load_close(c);
			continue;
		}
		if (c->o->per_session > 0 && ++in_session >= c->o->per_session)
			load_logout(c);
	}
	if (c->fd >= 0)
		load_logout(c);
	free(msg);
	free(bits);
	return NULL;
}

/* Seeds users taken from a shared counter: N messages each, in order. */
static void *
load_seed_main(void *arg)
{
	struct load_client *c = arg;
	char *msg = malloc(LOAD_MSG_MAX);
	long u;

	while (msg != NULL && bench_now() < load_deadline &&
	       (u = atomic_fetch_add(&load_next_user, 1)) < c->o->users) {
		if (load_login(c, (int)u + 1) < 0)
			continue;
		for (int k = 1; k <= c->o->seeded; k++) {
			size_t len = load_message((int)u + 1, k, c->o->domain,
						  msg, LOAD_MSG_MAX);

			if (load_append(c, "", msg, len, false) != 0)
				break;
		}
		load_logout(c);
	}
	free(msg);
	return NULL;
}

/* --- report ------------------------------------------------------------- */

static int
load_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
load_pct(const double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return v[i];
}

static void
load_report(struct load_client *cs, int nc, double wall, bool seed)
{
	struct load_lat all = { 0 }, per[OP_COUNT] = { 0 };
	long errs[OP_COUNT] = { 0 }, total_err = 0;

	for (int op = 0; op < OP_COUNT; op++) {
		for (int i = 0; i < nc; i++) {
			struct load_lat *l = &cs[i].lat[op];

			per[op].v = realloc(per[op].v, (per[op].n + l->n + 1) *
					    sizeof(double));
			all.v = realloc(all.v, (all.n + l->n + 1) * sizeof(double));
			if (per[op].v == NULL || all.v == NULL)
				abort();
			memcpy(per[op].v + per[op].n, l->v, l->n * sizeof(double));
			memcpy(all.v + all.n, l->v, l->n * sizeof(double));
			per[op].n += l->n;
			all.n += l->n;
			errs[op] += cs[i].errors[op];
		}
		total_err += errs[op];
		qsort(per[op].v, per[op].n, sizeof(double), load_cmp);
	}
	qsort(all.v, all.n, sizeof(double), load_cmp);
	printf("%s ops=%zu errors=%ld wall_s=%.3f rate=%.1f p50_ms=%.2f "
	       "p90_ms=%.2f p99_ms=%.2f max_ms=%.2f loops=%zu\n",
	       seed ? "seed" : "total", all.n, total_err, wall,
	       (double)all.n / wall, load_pct(all.v, all.n, 0.5),
	       load_pct(all.v, all.n, 0.9), load_pct(all.v, all.n, 0.99),
	       all.n ? all.v[all.n - 1] : 0, per[OP_IDLE].n);
	for (int op = 0; op < OP_COUNT; op++) {
		printf("op=%s n=%zu errors=%ld p50_ms=%.2f p90_ms=%.2f "
		       "p99_ms=%.2f max_ms=%.2f\n", load_op_names[op], per[op].n,
		       errs[op], load_pct(per[op].v, per[op].n, 0.5),
		       load_pct(per[op].v, per[op].n, 0.9),
		       load_pct(per[op].v, per[op].n, 0.99),
		       per[op].n ? per[op].v[per[op].n - 1] : 0);
		free(per[op].v);
	}
	free(all.v);
}

static void
load_usage(void)
{
	fprintf(stderr, "usage: imap_load [-S] [-c clients] [-u users] "
		"[-N seeded] [-n loops] [-r loops_per_login] [-T seconds] "
		"[-d domain] [-p password] [-t (TLS)] ipv4-addr port\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct load_opts o = {
		.clients = 50, .users = 100, .seeded = 200, .loops = 10000,
		.per_session = 1, .timeout_s = 60, .domain = "bench.test",
		.pass = "pass",
	};
	int ch;

	while ((ch = getopt(argc, argv, "Stc:u:N:n:r:T:d:p:")) != -1) {
		switch (ch) {
		case 't':
			load_tls = SSL_CTX_new(TLS_client_method());
			if (load_tls == NULL)
				return 1;
			/* Loopback benchmark against self-signed certificates. */
			SSL_CTX_set_verify(load_tls, SSL_VERIFY_NONE, NULL);
			break;
		case 'S': o.seed = true; break;
		case 'c': o.clients = atoi(optarg); break;
		case 'u': o.users = atoi(optarg); break;
		case 'N': o.seeded = atoi(optarg); break;
		case 'n': o.loops = atol(optarg); break;
		case 'r': o.per_session = atoi(optarg); break;
		case 'T': o.timeout_s = atof(optarg); break;
		case 'd': o.domain = optarg; break;
		case 'p': o.pass = optarg; break;
		default: load_usage();
		}
	}
	if (argc - optind != 2 || o.clients < 1 || o.clients > LOAD_MAX_CLIENTS ||
	    o.users < 1 || o.users > LOAD_MAX_USERS || o.seeded < 1 ||
	    o.seeded > LOAD_MAX_SEED || o.loops < 1 || o.loops > LOAD_MAX_LOOPS ||
	    o.per_session < 0 || o.timeout_s <= 0)
		load_usage();
	o.host = argv[optind];
	o.port = atoi(argv[optind + 1]);

	struct load_client *cs = calloc((size_t)o.clients, sizeof(*cs));
	pthread_t *th = calloc((size_t)o.clients, sizeof(*th));

	if (cs == NULL || th == NULL)
		return 1;
	double t0 = bench_now();

	load_deadline = t0 + o.timeout_s;
	for (int i = 0; i < o.clients; i++) {
		cs[i].o = &o;
		cs[i].id = i;
		cs[i].fd = -1;
		cs[i].rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)i * 0x100000001b3ull);
		cs[i].rbuf = malloc(LOAD_RESP_MAX);
		cs[i].resp = malloc(LOAD_RESP_MAX);
		if (cs[i].rbuf == NULL || cs[i].resp == NULL ||
		    pthread_create(&th[i], NULL, o.seed ? load_seed_main :
				   load_client_main, &cs[i]) != 0)
			return 1;
	}
	for (int i = 0; i < o.clients; i++)
		pthread_join(th[i], NULL);
	load_report(cs, o.clients, bench_now() - t0, o.seed);
	long errs = 0;

	for (int i = 0; i < o.clients; i++) {
		for (int op = 0; op < OP_COUNT; op++) {
			errs += cs[i].errors[op];
			free(cs[i].lat[op].v);
		}
		free(cs[i].rbuf);
		free(cs[i].resp);
	}
	free(cs);
	free(th);
	return errs == 0 ? 0 : 1;
}
