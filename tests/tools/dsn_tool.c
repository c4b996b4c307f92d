/*
 * Builds one DSN with dsn_build and writes it to stdout, so that tests can
 * read it with an independent parser (tests/e2e/test_dsn_format.py reads
 * it with Python's email package).
 *
 *   dsn_tool [--host H] [--to ADDR] [--envid ID] [--qid QID]
 *            [--ret default|full|hdrs] [--smtputf8] [--arrival T] [--now T]
 *            [--max N] [--orig FILE]
 *            --rcpt 'final|orcpt|action|status|remote|diagnostic|last|until'
 *            [--rcpt ...]
 *
 * action is failed, delayed, delivered or relayed; empty fields are NULL
 * (or 0 for the times).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/dsn.h"

#define DSN_TOOL_RCPTS 64
#define DSN_TOOL_ORIG_MAX (64 * 1024 * 1024)

static const char *
dsn_tool_opt(char *s)
{
	return s[0] != '\0' ? s : NULL;
}

static int
dsn_tool_action(const char *s, enum store_queue_notice *a_r)
{
	static const char *const names[] = {"none", "failed", "delayed",
	                                    "delivered", "relayed"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*a_r = (enum store_queue_notice)i;
			return 0;
		}
	return -1;
}

/* Splits one --rcpt value at "|" into r (pointers into s). */
static int
dsn_tool_rcpt(char *s, struct dsn_rcpt *r)
{
	char *f[8];
	size_t n = 0;

	for (char *p = s; n < 8; n++) {
		f[n] = p;
		p = strchr(p, '|');
		if (p == NULL) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	if (n != 8 || dsn_tool_action(f[2], &r->action) < 0)
		return -1;
	r->final_rcpt = f[0];
	r->orcpt = dsn_tool_opt(f[1]);
	r->status = dsn_tool_opt(f[3]);
	r->remote_mta = dsn_tool_opt(f[4]);
	r->diagnostic = dsn_tool_opt(f[5]);
	r->last_attempt = (time_t)strtoll(f[6], NULL, 10);
	r->will_retry_until = (time_t)strtoll(f[7], NULL, 10);
	return 0;
}

static char *
dsn_tool_read(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *p = malloc(DSN_TOOL_ORIG_MAX);

	*len_r = 0;
	if (f == NULL || p == NULL) {
		if (f != NULL)
			fclose(f);
		free(p);
		return NULL;
	}
	*len_r = fread(p, 1, DSN_TOOL_ORIG_MAX, f);
	fclose(f);
	return p;
}

static int
dsn_tool_usage(void)
{
	fprintf(stderr, "usage: dsn_tool [options] --rcpt "
	                "'final|orcpt|action|status|remote|diag|last|until'\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct dsn_info info = {"mx.example.test",
	                        NULL,
	                        "sender@example.test",
	                        "postmaster@mx.example.test",
	                        "0123456789AB",
	                        1700000000,
	                        STORE_RET_DEFAULT,
	                        false,
	                        1700003600};
	struct dsn_rcpt rcpts[DSN_TOOL_RCPTS];
	size_t n = 0, orig_len = 0, max = 0;
	char *orig = NULL;
	struct buf out;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--smtputf8") == 0) {
			info.smtputf8 = true;
			continue;
		}
		if (v == NULL)
			return dsn_tool_usage();
		i++;
		if (strcmp(o, "--host") == 0)
			info.reporting_mta = v;
		else if (strcmp(o, "--to") == 0)
			info.to = v;
		else if (strcmp(o, "--postmaster") == 0)
			info.postmaster = v;
		else if (strcmp(o, "--envid") == 0)
			info.envid = v;
		else if (strcmp(o, "--qid") == 0)
			info.qid = v;
		else if (strcmp(o, "--ret") == 0)
			info.ret = strcmp(v, "full") == 0   ? STORE_RET_FULL
			           : strcmp(v, "hdrs") == 0 ? STORE_RET_HDRS
			                                    : STORE_RET_DEFAULT;
		else if (strcmp(o, "--arrival") == 0)
			info.arrival = (time_t)strtoll(v, NULL, 10);
		else if (strcmp(o, "--now") == 0)
			info.now = (time_t)strtoll(v, NULL, 10);
		else if (strcmp(o, "--max") == 0)
			max = (size_t)strtoull(v, NULL, 10);
		else if (strcmp(o, "--orig") == 0) {
			free(orig);
			if ((orig = dsn_tool_read(v, &orig_len)) == NULL) {
				perror(v);
				return 1;
			}
		} else if (strcmp(o, "--rcpt") == 0) {
			if (n == DSN_TOOL_RCPTS ||
			    dsn_tool_rcpt(v, &rcpts[n++]) < 0)
				return dsn_tool_usage();
		} else
			return dsn_tool_usage();
	}
	buf_init(&out, (size_t)1 << 30);
	if (dsn_build(&info, rcpts, n, orig, orig_len, max, &out) < 0) {
		fprintf(stderr, "dsn_build failed\n");
		return 1;
	}
	fwrite(out.data, 1, out.len, stdout);
	buf_fini(&out);
	free(orig);
	return 0;
}
