/*
 * smtp_load: a small SMTP load generator that times every transaction.
 * smtp-source(1) prints no per-message times, so this one measures, for
 * each message, the time from sending MAIL FROM to reading the 250 after
 * the final dot, and prints the rate plus p50/p90/p99/max.
 * Bounded by message count (-m) and wall time (-T); loopback use only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "benchutil.h"

#define LOAD_MAX_SESSIONS 1000
#define LOAD_MAX_MESSAGES 10000000
#define LOAD_MAX_LENGTH (64 * 1024 * 1024)
#define LOAD_REPLY_MAX 4096     /* one reply line, RFC 5321 §4.5.3.1.5 */
#define LOAD_IO_TIMEOUT_S 30
#define LOAD_BODY_LINE 78       /* body line length without CRLF */
#define LOAD_MAX_CONNECTS 100   /* reconnects per session, bounded */

struct load_opts {
	const char *host;
	int port;
	int sessions;
	long messages;
	long length;
	const char *from;
	const char *to;
	double timeout_s;
	bool pipelining;
	bool reconnect_each;    /* one connection per message, like smtp-source without -d */
	bool starttls;          /* STARTTLS after EHLO (certificate not checked) */
	const char *auth;       /* "user:password" for AUTH PLAIN, or NULL */
	const char *file;       /* a message to send instead of -l's body */
};

struct load_shared {
	const struct load_opts *opts;
	atomic_long next;       /* next message number to claim */
	atomic_long ok;
	atomic_long failed;
	atomic_long conn_errors;
	double *lat_ms;         /* per message; < 0 when not completed */
	char *body;             /* dot-free body, CRLF lines, with final dot */
	size_t body_len;
	double deadline;
	SSL_CTX *tls;           /* when opts->starttls */
	char auth_b64[700];     /* AUTH PLAIN initial response */
};

struct load_conn {
	int fd;
	SSL *ssl;               /* after STARTTLS */
	char buf[LOAD_REPLY_MAX * 4];
	size_t len;
};

static int
load_write_all(struct load_conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w;

		if (c->ssl != NULL) {
			int k = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX
								  : (int)n);

			if (k <= 0)
				return -1;
			w = k;
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
		}

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Reads one complete reply (RFC 5321 §4.2.1: lines "ddd-" continue, the
 * line "ddd " ends it). Returns the reply code, or -1 on I/O error.
 */
static int
load_read_reply(struct load_conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl != NULL) {
			size_t linelen = (size_t)(nl - c->buf) + 1;
			bool last = linelen < 4 || c->buf[3] != '-';
			int code = atoi(c->buf);

			memmove(c->buf, nl + 1, c->len - linelen);
			c->len -= linelen;
			if (last)
				return code > 0 ? code : -1;
			continue;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		ssize_t r;

		if (c->ssl != NULL) {
			int k = SSL_read(c->ssl, c->buf + c->len,
					 (int)(sizeof(c->buf) - c->len));

			r = k > 0 ? k : -1;
		} else {
			r = recv(c->fd, c->buf + c->len,
				 sizeof(c->buf) - c->len, 0);
		}

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static int
load_command(struct load_conn *c, const char *line, size_t n)
{
	if (load_write_all(c, line, n) < 0)
		return -1;
	return load_read_reply(c);
}

static void
load_close(struct load_conn *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* STARTTLS (RFC 3207), the second EHLO, then AUTH PLAIN (RFC 4616) when
 * asked: what a submission client does before its first MAIL. */
static int
load_secure(struct load_shared *sh, struct load_conn *c)
{
	static const char ehlo[] = "EHLO load.bench.test\r\n";
	char line[800];

	if (sh->opts->starttls) {
		if (load_command(c, "STARTTLS\r\n", 10) != 220 || c->len != 0)
			return -1;
		if ((c->ssl = SSL_new(sh->tls)) == NULL ||
		    SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1)
			return -1;
		if (load_command(c, ehlo, sizeof(ehlo) - 1) != 250)
			return -1;
	}
	if (sh->opts->auth != NULL) {
		int n = snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n",
				 sh->auth_b64);

		if (n < 0 || (size_t)n >= sizeof(line) ||
		    load_command(c, line, (size_t)n) != 235)
			return -1;
	}
	return 0;
}

static int
load_connect(struct load_shared *sh, struct load_conn *c)
{
	const struct load_opts *o = sh->opts;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = LOAD_IO_TIMEOUT_S };
	char line[300];
	int one = 1;

	c->len = 0;
	sa.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1)
		return -1;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	if (load_read_reply(c) != 220)
		goto fail;
	int n = snprintf(line, sizeof(line), "EHLO load.bench.test\r\n");

	if (load_command(c, line, (size_t)n) != 250 || load_secure(sh, c) < 0)
		goto fail;
	return 0;
fail:
	load_close(c);
	return -1;
}

static void
load_quit(struct load_conn *c)
{
	if (c->fd < 0)
		return;
	load_command(c, "QUIT\r\n", 6);
	load_close(c);
}

/* One transaction: MAIL, RCPT, DATA, body, final reply. 0 ok, 1 refused,
 * -1 connection broken. */
static int
load_transaction(struct load_shared *sh, struct load_conn *c, long msgno)
{
	const struct load_opts *o = sh->opts;
	char cmds[700];
	char hdr[600];
	int nm, nr, nd, nh;

	nm = snprintf(cmds, sizeof(cmds), "MAIL FROM:<%s>\r\n", o->from);
	nr = snprintf(cmds + nm, sizeof(cmds) - (size_t)nm, "RCPT TO:<%s>\r\n",
		      o->to);
	nd = snprintf(cmds + nm + nr, sizeof(cmds) - (size_t)(nm + nr),
		      "DATA\r\n");
	nh = snprintf(hdr, sizeof(hdr),
		      "From: <%s>\r\nTo: <%s>\r\nSubject: bench %ld\r\n"
		      "Message-ID: <%ld.load@bench.test>\r\n\r\n",
		      o->from, o->to, msgno, msgno);
	if (nm < 0 || nr < 0 || nd < 0 || nh < 0)
		return -1;
	if (o->file != NULL)
		nh = 0; /* -F: the file is the whole message */
	if (o->pipelining) {
		/* RFC 2920 §3.1: MAIL, RCPT and DATA may be sent as a group. */
		if (load_write_all(c, cmds, (size_t)(nm + nr + nd)) < 0)
			return -1;
		int r1 = load_read_reply(c), r2 = load_read_reply(c);
		int r3 = load_read_reply(c);

		if (r1 < 0 || r2 < 0 || r3 < 0)
			return -1;
		if (r1 != 250 || r2 != 250 || r3 != 354)
			return 1;
	} else {
		int r = load_command(c, cmds, (size_t)nm);

		if (r != 250)
			return r < 0 ? -1 : 1;
		r = load_command(c, cmds + nm, (size_t)nr);
		if (r != 250)
			return r < 0 ? -1 : 1;
		r = load_command(c, cmds + nm + nr, (size_t)nd);
		if (r != 354)
			return r < 0 ? -1 : 1;
	}
	if (load_write_all(c, hdr, (size_t)nh) < 0 ||
	    load_write_all(c, sh->body, sh->body_len) < 0)
		return -1;
	int r = load_read_reply(c);

	return r == 250 ? 0 : r < 0 ? -1 : 1;
}

static void
load_reset(struct load_conn *c)
{
	if (load_command(c, "RSET\r\n", 6) != 250)
		load_close(c);
}

static void *
load_session(void *arg)
{
	struct load_shared *sh = arg;
	const struct load_opts *o = sh->opts;
	struct load_conn *c = calloc(1, sizeof(*c));
	int connects = 0;

	if (c == NULL)
		return NULL;
	c->fd = -1;
	while (bench_now() < sh->deadline) {
		if (c->fd < 0) {
			if (connects++ >= LOAD_MAX_CONNECTS ||
			    load_connect(sh, c) < 0) {
				atomic_fetch_add(&sh->conn_errors, 1);
				if (connects > LOAD_MAX_CONNECTS)
					break;
				usleep(100000);
				continue;
			}
		}
		long m = atomic_fetch_add(&sh->next, 1);

		if (m >= o->messages)
			break;
		double t0 = bench_now();
		int r = load_transaction(sh, c, m);

		if (r == 0) {
			sh->lat_ms[m] = (bench_now() - t0) * 1e3;
			atomic_fetch_add(&sh->ok, 1);
		} else {
			atomic_fetch_add(&sh->failed, 1);
			if (r < 0) {
				load_close(c);
			} else {
				load_reset(c);
			}
		}
		if (o->reconnect_each && c->fd >= 0) {
			load_quit(c);
			connects = 0;
		}
	}
	load_quit(c);
	free(c);
	return NULL;
}

/* Body of about `length` bytes in CRLF lines, then the final dot. Lines
 * start with 'x', so no dot-stuffing is needed (RFC 5321 §4.5.2). */
static int
load_make_body(struct load_shared *sh, long length)
{
	size_t cap = (size_t)length + LOAD_BODY_LINE + 8;
	size_t n = 0;

	sh->body = malloc(cap);
	if (sh->body == NULL)
		return -1;
	while (n + 2 < (size_t)length) {
		size_t line = (size_t)length - n - 2;

		if (line > LOAD_BODY_LINE)
			line = LOAD_BODY_LINE;
		memset(sh->body + n, 'x', line);
		n += line;
		memcpy(sh->body + n, "\r\n", 2);
		n += 2;
	}
	memcpy(sh->body + n, ".\r\n", 3);
	sh->body_len = n + 3;
	return 0;
}

/* The message in file (lines ending in LF or CRLF) as DATA text: CRLF
 * line ends, dot-stuffed (RFC 5321 §4.5.2), then the final dot; at most
 * LOAD_MAX_LENGTH octets. */
static int
load_file_body(struct load_shared *sh, const char *file)
{
	FILE *f = fopen(file, "rb");
	size_t n = 0, cap = 4096;
	bool bol = true;
	int c;

	if (f == NULL || (sh->body = malloc(cap)) == NULL) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	while ((c = getc(f)) != EOF) {
		if (n + 8 > cap) {
			char *nb = cap < LOAD_MAX_LENGTH ? realloc(sh->body,
								   cap * 2)
							 : NULL;
			if (nb == NULL) {
				fclose(f);
				return -1;
			}
			sh->body = nb;
			cap *= 2;
		}
		if (bol && c == '.')
			sh->body[n++] = '.';
		if (c == '\r')
			continue;
		if (c == '\n')
			sh->body[n++] = '\r';
		sh->body[n++] = (char)c;
		bol = c == '\n';
	}
	fclose(f);
	if (!bol) {
		memcpy(sh->body + n, "\r\n", 2);
		n += 2;
	}
	memcpy(sh->body + n, ".\r\n", 3);
	sh->body_len = n + 3;
	return 0;
}

/* The TLS context (no certificate check: a loopback benchmark against a
 * self-signed test certificate) and the AUTH PLAIN response
 * "\0user\0password" in base64. */
static int
load_tls_setup(struct load_shared *sh)
{
	const struct load_opts *o = sh->opts;
	unsigned char plain[520];
	size_t n = 0;

	if (o->starttls) {
		sh->tls = SSL_CTX_new(TLS_client_method());
		if (sh->tls == NULL)
			return -1;
		SSL_CTX_set_verify(sh->tls, SSL_VERIFY_NONE, NULL);
	}
	if (o->auth != NULL) {
		const char *colon = strchr(o->auth, ':');
		size_t ulen = (size_t)(colon - o->auth);

		plain[n++] = '\0';
		memcpy(plain + n, o->auth, ulen);
		n += ulen;
		plain[n++] = '\0';
		memcpy(plain + n, colon + 1, strlen(colon + 1));
		n += strlen(colon + 1);
		EVP_EncodeBlock((unsigned char *)sh->auth_b64, plain, (int)n);
	}
	return 0;
}

static int
load_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
load_pct(const double *v, long n, double p)
{
	if (n == 0)
		return 0;
	long i = (long)(p * (double)(n - 1) + 0.5);

	return v[i];
}

static void
load_report(struct load_shared *sh, double wall)
{
	const struct load_opts *o = sh->opts;
	long n = 0;

	for (long i = 0; i < o->messages; i++)
		if (sh->lat_ms[i] >= 0)
			sh->lat_ms[n++] = sh->lat_ms[i];
	qsort(sh->lat_ms, (size_t)n, sizeof(double), load_cmp);
	printf("ok=%ld failed=%ld conn_errors=%ld wall_s=%.3f rate=%.1f "
	       "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
	       (long)atomic_load(&sh->ok), (long)atomic_load(&sh->failed),
	       (long)atomic_load(&sh->conn_errors), wall,
	       wall > 0 ? (double)n / wall : 0, load_pct(sh->lat_ms, n, 0.50),
	       load_pct(sh->lat_ms, n, 0.90), load_pct(sh->lat_ms, n, 0.99),
	       n > 0 ? sh->lat_ms[n - 1] : 0);
}

static void
load_usage(void)
{
	fprintf(stderr, "usage: smtp_load [-P] [-r] [-S] [-a user:password] "
		"[-s sessions] [-m messages] "
		"[-l length] [-F message-file] [-f from] [-t to] "
		"[-T seconds] host port\n"
		"  -F  send this message (e.g. a DKIM-signed one) instead of "
		"-l's body\n"
		"  -P  pipeline MAIL/RCPT/DATA (RFC 2920)\n"
		"  -r  new connection per message (default: reuse)\n"
		"  -S  STARTTLS before anything else (certificate not checked)\n"
		"  -a  AUTH PLAIN with these credentials\n");
	exit(2);
}

static int
load_parse(int argc, char **argv, struct load_opts *o)
{
	int ch;

	while ((ch = getopt(argc, argv, "PrSa:s:m:l:F:f:t:T:")) != -1) {
		switch (ch) {
		case 'P': o->pipelining = true; break;
		case 'r': o->reconnect_each = true; break;
		case 'S': o->starttls = true; break;
		case 'a': o->auth = optarg; break;
		case 's': o->sessions = atoi(optarg); break;
		case 'm': o->messages = atol(optarg); break;
		case 'l': o->length = atol(optarg); break;
		case 'F': o->file = optarg; break;
		case 'f': o->from = optarg; break;
		case 't': o->to = optarg; break;
		case 'T': o->timeout_s = atof(optarg); break;
		default: return -1;
		}
	}
	if (argc - optind != 2)
		return -1;
	o->host = argv[optind];
	o->port = atoi(argv[optind + 1]);
	if (o->sessions < 1 || o->sessions > LOAD_MAX_SESSIONS ||
	    o->messages < 1 || o->messages > LOAD_MAX_MESSAGES ||
	    o->length < 0 || o->length > LOAD_MAX_LENGTH ||
	    o->timeout_s <= 0 || o->port < 1 || o->port > 65535 ||
	    strlen(o->from) > 256 || strlen(o->to) > 256 ||
	    (o->auth != NULL && (strlen(o->auth) > 400 ||
				 strchr(o->auth, ':') == NULL)))
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct load_opts o = {
		.sessions = 20, .messages = 1000, .length = 4096,
		.from = "sender@bench.test", .to = "u1@bench.test",
		.timeout_s = 300,
	};
	struct load_shared sh = { .opts = &o };
	pthread_t th[LOAD_MAX_SESSIONS];

	if (load_parse(argc, argv, &o) < 0)
		load_usage();
	sh.lat_ms = malloc(sizeof(double) * (size_t)o.messages);
	if (sh.lat_ms == NULL ||
	    (o.file != NULL ? load_file_body(&sh, o.file)
			    : load_make_body(&sh, o.length)) < 0) {
		fprintf(stderr, "smtp_load: cannot make the message\n");
		return 1;
	}
	for (long i = 0; i < o.messages; i++)
		sh.lat_ms[i] = -1;
	if (load_tls_setup(&sh) < 0)
		return 1;
	double t0 = bench_now();

	sh.deadline = t0 + o.timeout_s;
	int started = 0;

	for (; started < o.sessions; started++)
		if (pthread_create(&th[started], NULL, load_session, &sh) != 0)
			break;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	load_report(&sh, bench_now() - t0);
	free(sh.lat_ms);
	free(sh.body);
	SSL_CTX_free(sh.tls);
	return atomic_load(&sh.ok) == o.messages ? 0 : 1;
}
