/*
 * libFuzzer target for IMAP literal framing (RFC 9051 §4.3, RFC 7888
 * {N+}): the input is a client's byte stream, cut into commands the way
 * imap_session.c reads them from its evbuffer (a line up to LF or CRLF,
 * evbuffer_search_eol EVBUFFER_EOL_CRLF; imap_line_literal on the line;
 * then N raw octets and the next line; the lines stored with CRLF), and
 * each complete command given to imap_parse_command. Checks:
 * - the stream arriving in two or three pieces cut at every offset (and
 *   one octet at a time; each piece its own evbuffer chain) gives the same
 *   commands as the stream in one piece;
 * - the line-level framing and the parser agree: a command that parses
 *   has exactly the literals the framing read, in order, each with the
 *   announced length and pointing at the octets read for it, but those
 *   inside a fetch attribute's atom (BODY[HEADER.FIELDS ({4}..)]) (a parser
 *   seeing a literal the framing did not read, or the other way round,
 *   would let one command's data be taken as another command);
 * - imap_literal_inline reads back each literal of the stored command.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "imap/imap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LIT_MAX 64          /* literals kept per command */
#define FUZZ_LIT_LIMIT 2048      /* a larger literal is refused */
#define FUZZ_LIT_ALL_SPLITS 512  /* beyond: every 5th offset */

/* What the reader did, as a byte log compared between runs. */
struct fuzz_log {
	unsigned char *p;
	size_t len, cap;
};

struct fuzz_reader {
	struct evbuffer *in;
	char *cmd;               /* the command being read */
	size_t cmd_len, cmd_cap;
	uint64_t lit_left;       /* literal octets still to read */
	size_t lit_off[FUZZ_LIT_MAX], lit_len[FUZZ_LIT_MAX];
	size_t n_lits;
	bool closed;             /* a refused {N+}: the session closes */
	struct fuzz_log *log;
};

static void
fuzz_log_add(struct fuzz_log *l, const void *p, size_t n)
{
	if (l->len + n > l->cap) {
		l->cap = (l->len + n) * 2;
		l->p = realloc(l->p, l->cap);
		if (l->p == NULL)
			abort();
	}
	memcpy(l->p + l->len, p, n);
	l->len += n;
}

static void
fuzz_lit_cmd_add(struct fuzz_reader *r, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (r->cmd_len + n > r->cmd_cap) {
		r->cmd_cap = (r->cmd_len + n) * 2;
		r->cmd = realloc(r->cmd, r->cmd_cap);
		if (r->cmd == NULL)
			abort();
	}
	memcpy(r->cmd + r->cmd_len, p, n);
	r->cmd_len += n;
}

/* The literal and atom arguments of a parsed command, depth first
 * (textual order). */
struct fuzz_lit_args {
	const struct imap_arg *lit[FUZZ_LIT_MAX], *atom[FUZZ_LIT_MAX];
	size_t n_lit, n_atom;
};

static void
fuzz_lit_collect(const struct imap_arg *a, size_t n, struct fuzz_lit_args *o)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == IMAP_ARG_LIST)
			fuzz_lit_collect(a[i].list, a[i].list_n, o);
		else if (a[i].type == IMAP_ARG_LITERAL &&
			 o->n_lit++ < FUZZ_LIT_MAX)
			o->lit[o->n_lit - 1] = &a[i];
		else if (a[i].type == IMAP_ARG_ATOM &&
			 o->n_atom++ < FUZZ_LIT_MAX)
			o->atom[o->n_atom - 1] = &a[i];
	}
}

/* The literal read at off (len octets) is inside an atom: a fetch
 * attribute's header list, BODY[HEADER.FIELDS ({4}CRLF DATE)], is one
 * atom, literals included (imap_parse.h). */
static bool
fuzz_lit_in_atom(const struct fuzz_lit_args *o, const char *p, size_t len)
{
	for (size_t i = 0; i < o->n_atom && i < FUZZ_LIT_MAX; i++)
		if (p >= o->atom[i]->str &&
		    p + len <= o->atom[i]->str + o->atom[i]->len)
			return true;
	return false;
}

/* Every literal the framing read is the parser's next literal argument,
 * or inside an atom; and the parser has no literal the framing missed. */
static void
fuzz_lit_match(const struct fuzz_reader *r, const struct imap_cmd *cmd)
{
	struct fuzz_lit_args o;
	size_t next = 0;

	memset(&o, 0, sizeof(o));
	fuzz_lit_collect(cmd->args, cmd->n_args, &o);
	if (o.n_lit > FUZZ_LIT_MAX || o.n_atom > FUZZ_LIT_MAX ||
	    r->n_lits > FUZZ_LIT_MAX)
		return; /* more than kept: not checked */
	for (size_t i = 0; i < r->n_lits; i++) {
		const char *p = r->cmd + r->lit_off[i], *data;
		size_t n, at = r->lit_off[i];

		if (next < o.n_lit && o.lit[next]->str == p) {
			if (o.lit[next]->len != r->lit_len[i])
				abort();
			next++;
		} else if (!fuzz_lit_in_atom(&o, p, r->lit_len[i])) {
			abort();
		}
		/* Back from the octets to their announcement. */
		while (at > 0 && r->cmd[at - 1] != '{')
			at--;
		if (at == 0 ||
		    imap_literal_inline(r->cmd + at - 1, r->cmd_len - at + 1,
					&data, &n) == 0 ||
		    data != p || n != r->lit_len[i])
			abort();
	}
	if (next != o.n_lit)
		abort();
}

/* A complete command: parse it, check the literals, log it. */
static void
fuzz_lit_command(struct fuzz_reader *r)
{
	struct imap_cmd cmd;
	const char *err = NULL;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	rc = imap_parse_command(r->cmd, r->cmd_len, &cmd, &err);
	fuzz_log_add(r->log, "C", 1);
	fuzz_log_add(r->log, &r->cmd_len, sizeof(r->cmd_len));
	fuzz_log_add(r->log, r->cmd, r->cmd_len);
	fuzz_log_add(r->log, &rc, sizeof(rc));
	if (rc == 0)
		fuzz_lit_match(r, &cmd);
	else if (err == NULL || err[0] == '\0')
		abort();
	imap_cmd_free(&cmd);
	r->cmd_len = 0;
	r->n_lits = 0;
}

/* imap_session_step, without the session: 1 did something, 0 waits. */
static int
fuzz_lit_step(struct fuzz_reader *r)
{
	size_t eol_len = 0, len;
	struct evbuffer_ptr eol;
	uint64_t size;
	bool nonsync, lit8;
	int lr;

	if (r->lit_left > 0) {
		size_t have = evbuffer_get_length(r->in);
		size_t take = have < r->lit_left ? have : (size_t)r->lit_left;

		if (take == 0)
			return 0;
		if (r->cmd_len + take > r->cmd_cap) {
			r->cmd_cap = (r->cmd_len + take) * 2;
			r->cmd = realloc(r->cmd, r->cmd_cap);
			if (r->cmd == NULL)
				abort();
		}
		evbuffer_remove(r->in, r->cmd + r->cmd_len, take);
		r->cmd_len += take;
		r->lit_left -= take;
		return 1;
	}
	eol = evbuffer_search_eol(r->in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (eol.pos < 0)
		return 0;
	len = (size_t)eol.pos;
	size_t start = r->cmd_len;
	char *line = malloc(len ? len : 1);

	if (line == NULL)
		abort();
	evbuffer_remove(r->in, line, len);
	evbuffer_drain(r->in, eol_len);
	fuzz_lit_cmd_add(r, line, len);
	fuzz_lit_cmd_add(r, "\r\n", 2);
	free(line);
	lr = imap_line_literal(r->cmd + start, len, &size, &nonsync, &lit8);
	if (lr < 0 || (lr == 1 && size > FUZZ_LIT_LIMIT)) {
		fuzz_log_add(r->log, lr < 0 ? "M" : "B", 1);
		r->cmd_len = 0;
		r->n_lits = 0;
		if (lr == 1 && nonsync) {
			r->closed = true; /* RFC 7888 §4 */
			fuzz_log_add(r->log, "X", 1);
		}
		return 1;
	}
	if (lr == 0) {
		fuzz_lit_command(r);
		return 1;
	}
	if (r->n_lits < FUZZ_LIT_MAX) {
		r->lit_off[r->n_lits] = r->cmd_len;
		r->lit_len[r->n_lits] = (size_t)size;
	}
	r->n_lits++;
	r->lit_left = size;
	if (!nonsync)
		fuzz_log_add(r->log, "+", 1);
	return 1;
}

/* Feeds the stream in pieces ending at cuts[] (the last is size). */
static void
fuzz_lit_run(const uint8_t *data, size_t size, const size_t *cuts,
	     size_t n_cuts, struct fuzz_log *log)
{
	struct fuzz_reader r;
	size_t pos = 0;

	memset(&r, 0, sizeof(r));
	r.in = evbuffer_new();
	r.log = log;
	log->len = 0;
	if (r.in == NULL)
		abort();
	for (size_t c = 0; c < n_cuts && !r.closed; c++) {
		struct evbuffer *piece = evbuffer_new();

		/* Its own chain, so lines and CRLFs straddle chains. */
		if (piece == NULL ||
		    evbuffer_add(piece, data + pos, cuts[c] - pos) < 0 ||
		    evbuffer_add_buffer(r.in, piece) < 0)
			abort();
		evbuffer_free(piece);
		pos = cuts[c];
		while (!r.closed && fuzz_lit_step(&r) == 1)
			;
	}
	/* Where the stream stopped: mid-literal, mid-command. */
	fuzz_log_add(log, "E", 1);
	fuzz_log_add(log, &r.lit_left, sizeof(r.lit_left));
	fuzz_log_add(log, &r.cmd_len, sizeof(r.cmd_len));
	evbuffer_free(r.in);
	free(r.cmd);
}

static void
fuzz_lit_same(const struct fuzz_log *a, const struct fuzz_log *b)
{
	if (a->len != b->len || memcmp(a->p, b->p, a->len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_log whole, split;
	size_t cuts[3], step = size <= FUZZ_LIT_ALL_SPLITS ? 1 : 5;

	cuts[0] = size;
	fuzz_lit_run(data, size, cuts, 1, &whole);
	for (size_t k = 0; k <= size; k += step) {
		cuts[0] = k;
		cuts[1] = size;
		fuzz_lit_run(data, size, cuts, 2, &split);
		fuzz_lit_same(&whole, &split);
		if (k + 2 < size) {
			cuts[1] = k + 2;
			cuts[2] = size;
			fuzz_lit_run(data, size, cuts, 3, &split);
			fuzz_lit_same(&whole, &split);
		}
	}
	if (size <= 4 * FUZZ_LIT_ALL_SPLITS) {
		size_t *one = malloc((size + 1) * sizeof(*one));

		if (one == NULL)
			abort();
		for (size_t i = 0; i < size; i++)
			one[i] = i + 1;
		fuzz_lit_run(data, size, one, size, &split);
		fuzz_lit_same(&whole, &split);
		free(one);
	}
	return 0;
}
