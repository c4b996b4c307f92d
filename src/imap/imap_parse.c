/*
 * IMAP command tokenizer (RFC 9051 §9 formal syntax, §4 data formats):
 * tag, command name, then atoms, quoted strings, literals {N} {N+} ~{N},
 * parenthesised lists and NIL. Pure: bytes in, struct imap_cmd out.
 *
 * Two passes over the same grammar: the first validates and counts the
 * arguments and the quoted-string bytes, the second fills exactly-sized
 * arrays. A list's children are contiguous in cmd->pool (they are moved
 * there when the list closes), so handlers index them as an array.
 */
#include "imap_parse.h"

#include <stdlib.h>
#include <string.h>

#include "../core/limits.h"
#include "../util/str.h"

/* Constant BAD texts (RFC 9051 §7.1.3: BAD for syntax errors). */
static const char IMAP_ERR_TAG[] = "Missing or invalid tag";
static const char IMAP_ERR_TAG_LONG[] = "Tag too long";
static const char IMAP_ERR_NAME[] = "Missing or invalid command name";
static const char IMAP_ERR_UID[] = "Missing command after UID";
static const char IMAP_ERR_LINE[] = "Command line too long";
static const char IMAP_ERR_NARGS[] = "Too many arguments";
static const char IMAP_ERR_DEPTH[] = "Lists nested too deeply";
static const char IMAP_ERR_CLOSE[] = "Unexpected ')'";
static const char IMAP_ERR_OPEN[] = "Missing ')'";
static const char IMAP_ERR_SP[] = "Expected a single space between arguments";
static const char IMAP_ERR_ATOM[] = "Invalid character in atom";
static const char IMAP_ERR_QUOTED[] = "Invalid or unterminated quoted string";
static const char IMAP_ERR_LITERAL[] = "Invalid literal";
static const char IMAP_ERR_LIT_LEN[] = "Literal longer than the command";
static const char IMAP_ERR_LIT_NUL[] = "NUL in literal (use literal8 ~{N})";
static const char IMAP_ERR_NOMEM[] = "Out of memory";

/* Decimal digits accepted in a literal size: INT64_MAX has 19. */
#define IMAP_LITERAL_DIGITS 19

struct imap_pctx {
	const char *buf;
	size_t len, pos;
	size_t line_start;
	bool fill;               /* second pass: write args */
	size_t n_args;           /* first pass: total count */
	size_t quoted_bytes;     /* first pass: scratch needed */
	struct imap_arg *pool;   /* second pass */
	size_t pool_used;
	struct imap_arg *stk;    /* second pass: open lists' children */
	size_t stk_n;
	char *scratch;
	size_t scratch_used;
	const char *err;
};

static int imap_parse_list(struct imap_pctx *p, size_t depth);

bool
imap_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

/* RFC 9051 §9 tag: 1*<any ASTRING-CHAR except "+">. */
static bool
imap_is_tag_char(unsigned char c)
{
	return c != '+' && (imap_is_atom_char(c) || c == ']');
}

/* The command ends here: nothing left but its final CRLF (or LF). */
static bool
imap_at_end(const struct imap_pctx *p)
{
	size_t rest = p->len - p->pos;
	const char *s = p->buf + p->pos;

	return rest == 0 || (rest == 1 && s[0] == '\n') ||
	       (rest == 2 && s[0] == '\r' && s[1] == '\n');
}

static int
imap_fail(struct imap_pctx *p, const char *err)
{
	if (p->err == NULL)
		p->err = err;
	return -1;
}

/* RFC 9051 §4.3 / RFC 7888: a line ends at a literal announcement or at
 * the end of the command; either way it must fit LIMIT_IMAP_LINE. */
static int
imap_check_line(struct imap_pctx *p)
{
	if (p->pos - p->line_start > LIMIT_IMAP_LINE)
		return imap_fail(p, IMAP_ERR_LINE);
	return 0;
}

static int
imap_push(struct imap_pctx *p, const struct imap_arg *a)
{
	if (!p->fill) {
		if (++p->n_args > IMAP_MAX_ARGS)
			return imap_fail(p, IMAP_ERR_NARGS);
		return 0;
	}
	p->stk[p->stk_n++] = *a;
	return 0;
}

/* Moves stk[start..) into the pool: they become one list's children (or,
 * at the end, the top-level arguments). */
static struct imap_arg *
imap_pop_to_pool(struct imap_pctx *p, size_t start, size_t *n_r)
{
	size_t n = p->stk_n - start;
	struct imap_arg *dst = p->pool + p->pool_used;

	if (n > 0)
		memcpy(dst, p->stk + start, n * sizeof(*dst));
	p->pool_used += n;
	p->stk_n = start;
	*n_r = n;
	return n > 0 ? dst : NULL;
}

/* RFC 9051 §4.3 quoted = DQUOTE *QUOTED-CHAR DQUOTE; only \" and \\ are
 * escapes. 8-bit octets are allowed (UTF-8 in IMAP4rev2, §4.3). */
static int
imap_parse_quoted(struct imap_pctx *p)
{
	size_t start = ++p->pos;
	char *out = p->fill ? p->scratch + p->scratch_used : NULL;
	size_t n = 0;

	for (; p->pos < p->len; p->pos++) {
		unsigned char c = (unsigned char)p->buf[p->pos];

		if (c == '"')
			break;
		if (c == '\0' || c == '\r' || c == '\n')
			return imap_fail(p, IMAP_ERR_QUOTED);
		if (c == '\\') {
			if (++p->pos >= p->len)
				return imap_fail(p, IMAP_ERR_QUOTED);
			c = (unsigned char)p->buf[p->pos];
			if (c != '"' && c != '\\')
				return imap_fail(p, IMAP_ERR_QUOTED);
		}
		if (out != NULL)
			out[n] = (char)c;
		n++;
	}
	if (p->pos >= p->len)
		return imap_fail(p, IMAP_ERR_QUOTED);
	p->quoted_bytes += p->pos - start;
	p->pos++;
	struct imap_arg a = {.type = IMAP_ARG_STRING, .str = out, .len = n};
	if (p->fill) {
		a.str = out != NULL ? out : "";
		p->scratch_used += n;
	}
	return imap_push(p, &a);
}

/* Reads "{N}" / "{N+}" starting at s[0] == '{'; returns the octets used,
 * 0 when malformed. */
static size_t
imap_literal_spec(const char *s, size_t len, uint64_t *n_r, bool *plus_r)
{
	size_t i = 1, digits = 0;
	uint64_t n = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (++digits > IMAP_LITERAL_DIGITS)
			return 0;
		n = n * 10 + (uint64_t)(s[i] - '0');
		i++;
	}
	/* RFC 9051 §9 number64: at most 2^63 - 1. */
	if (digits == 0 || n > (uint64_t)INT64_MAX)
		return 0;
	*plus_r = false;
	if (i < len && s[i] == '+') {
		*plus_r = true;
		i++;
	}
	if (i >= len || s[i] != '}')
		return 0;
	*n_r = n;
	return i + 1;
}

size_t
imap_literal_inline(const char *s, size_t len, const char **data_r,
		    size_t *n_r)
{
	uint64_t n;
	bool plus;
	size_t i = imap_literal_spec(s, len, &n, &plus);

	if (i == 0)
		return 0;
	if (i < len && s[i] == '\r')
		i++;
	if (i >= len || s[i] != '\n')
		return 0;
	i++;
	if (n > len - i)
		return 0;
	*data_r = s + i;
	*n_r = (size_t)n;
	return i + (size_t)n;
}

/* RFC 9051 §4.3 literal, RFC 7888 {N+}, RFC 3516 literal8 ~{N}. */
static int
imap_parse_literal(struct imap_pctx *p)
{
	bool lit8 = p->buf[p->pos] == '~', plus;
	uint64_t n;

	if (lit8 && (++p->pos >= p->len || p->buf[p->pos] != '{'))
		return imap_fail(p, IMAP_ERR_LITERAL);
	size_t used = imap_literal_spec(p->buf + p->pos, p->len - p->pos, &n,
					&plus);
	if (used == 0)
		return imap_fail(p, IMAP_ERR_LITERAL);
	p->pos += used;
	if (imap_check_line(p) < 0)
		return -1;
	if (p->pos < p->len && p->buf[p->pos] == '\r')
		p->pos++;
	if (p->pos >= p->len || p->buf[p->pos] != '\n')
		return imap_fail(p, IMAP_ERR_LITERAL);
	p->pos++;
	if (n > p->len - p->pos)
		return imap_fail(p, IMAP_ERR_LIT_LEN);
	const char *data = p->buf + p->pos;
	/* RFC 9051 §4.3: CHAR8 excludes NUL; only literal8 may carry it. */
	if (!lit8 && memchr(data, '\0', (size_t)n) != NULL)
		return imap_fail(p, IMAP_ERR_LIT_NUL);
	p->pos += (size_t)n;
	p->line_start = p->pos;
	struct imap_arg a = {.type = IMAP_ARG_LITERAL, .str = data,
			     .len = (size_t)n, .literal8 = lit8};
	return imap_push(p, &a);
}

/* At s[i] == '[': the end of a fetch section "[...]" (RFC 9051 §9
 * section), which may hold spaces, one level of parentheses and quoted or
 * literal header names; 0 when there is no closing ']', in which case
 * '[' is an ordinary atom character (mailbox "foo[bar"). */
static size_t
imap_section_end(const char *s, size_t len, size_t i)
{
	size_t depth = 0;
	bool quoted = false;

	for (i++; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			return 0;
		if (quoted) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '"')
				quoted = false;
		} else if (c == '"') {
			quoted = true;
		} else if (c == '{' && depth > 0) {
			/* A header-fld-name may be a literal (astring). */
			const char *data;
			size_t n, used = imap_literal_inline(s + i, len - i,
							     &data, &n);

			if (used == 0)
				return 0;
			i += used - 1;
		} else if (c == '(') {
			if (++depth > IMAP_MAX_DEPTH)
				return 0;
		} else if (c == ')') {
			if (depth-- == 0)
				return 0;
		} else if (c == ']' && depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

/* After a section: a partial "<digits[.digits]>", kept in the atom. */
static size_t
imap_partial_end(const char *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '>')
			return i + 1;
		if ((s[i] < '0' || s[i] > '9') && s[i] != '.')
			return 0;
	}
	return 0;
}

/* An atom, or NIL. Flags ("\Seen") keep their backslash; fetch attributes
 * keep their section and partial (see imap_parse.h). */
static int
imap_parse_atom(struct imap_pctx *p)
{
	size_t start = p->pos;

	if (p->buf[p->pos] == '\\')
		p->pos++; /* RFC 9051 §9 flag: "\" atom */
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->buf[p->pos];
		size_t end;

		if (c == ' ' || c == '(' || c == ')' || c == '\r' ||
		    c == '\n' || c == '{' || c == '"')
			break;
		if (c == '[' &&
		    (end = imap_section_end(p->buf, p->len, p->pos)) > 0) {
			p->pos = end;
			if (p->pos < p->len && p->buf[p->pos] == '<' &&
			    (end = imap_partial_end(p->buf, p->len, p->pos)) > 0)
				p->pos = end;
			continue;
		}
		/* list-wildcards and "*" of sequence sets, "]" of astrings */
		if (!imap_is_atom_char(c) && c != '%' && c != '*' && c != ']')
			return imap_fail(p, IMAP_ERR_ATOM);
		p->pos++;
	}
	if (p->pos == start || (p->pos == start + 1 && p->buf[start] == '\\'))
		return imap_fail(p, p->pos < p->len && p->buf[p->pos] == ')'
					    ? IMAP_ERR_CLOSE : IMAP_ERR_ATOM);
	struct imap_arg a = {.type = IMAP_ARG_ATOM, .str = p->buf + start,
			     .len = p->pos - start};
	if (str_ieq(a.str, a.len, "NIL"))
		a.type = IMAP_ARG_NIL;
	return imap_push(p, &a);
}

static int
imap_parse_one(struct imap_pctx *p, size_t depth)
{
	switch (p->buf[p->pos]) {
	case '(':
		return imap_parse_list(p, depth + 1);
	case '"':
		return imap_parse_quoted(p);
	case '{':
		return imap_parse_literal(p);
	case '~':
		/* "~{" is literal8; any other "~" starts an atom ("~/Mail") */
		if (p->pos + 1 < p->len && p->buf[p->pos + 1] == '{')
			return imap_parse_literal(p);
		return imap_parse_atom(p);
	case ')':
		return imap_fail(p, IMAP_ERR_CLOSE);
	default:
		return imap_parse_atom(p);
	}
}

/* Arguments separated by single spaces, until ')' (depth > 0) or the end
 * of the command (depth 0). RFC 9051 §9 allows no leading, trailing or
 * doubled spaces. */
static int
imap_parse_seq(struct imap_pctx *p, size_t depth)
{
	bool first = true;

	for (;;) {
		bool end = imap_at_end(p);

		if (depth > 0 && !end && p->buf[p->pos] == ')') {
			if (!first && p->buf[p->pos - 1] == ' ')
				return imap_fail(p, IMAP_ERR_SP);
			return 0;
		}
		if (end) {
			if (depth > 0)
				return imap_fail(p, IMAP_ERR_OPEN);
			return imap_check_line(p);
		}
		if (!first) {
			if (p->buf[p->pos] != ' ')
				return imap_fail(p, IMAP_ERR_SP);
			p->pos++;
			if (imap_at_end(p) || p->buf[p->pos] == ' ' ||
			    p->buf[p->pos] == ')')
				return imap_fail(p, IMAP_ERR_SP);
		}
		if (imap_parse_one(p, depth) < 0)
			return -1;
		first = false;
	}
}

static int
imap_parse_list(struct imap_pctx *p, size_t depth)
{
	size_t start = p->stk_n;

	if (depth > IMAP_MAX_DEPTH)
		return imap_fail(p, IMAP_ERR_DEPTH);
	p->pos++; /* '(' */
	if (imap_parse_seq(p, depth) < 0)
		return -1;
	p->pos++; /* ')' */
	struct imap_arg a = {.type = IMAP_ARG_LIST};
	if (p->fill)
		a.list = imap_pop_to_pool(p, start, &a.list_n);
	return imap_push(p, &a);
}

/* Reads one word into out (upper-cased): the command name. */
static int
imap_parse_name(struct imap_pctx *p, char *out, size_t cap)
{
	size_t n = 0;

	while (p->pos < p->len && p->buf[p->pos] != ' ' && !imap_at_end(p)) {
		unsigned char c = (unsigned char)p->buf[p->pos++];

		if (!imap_is_atom_char(c) || n + 1 >= cap)
			return imap_fail(p, IMAP_ERR_NAME);
		out[n++] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
	}
	out[n] = '\0';
	return n > 0 ? 0 : imap_fail(p, IMAP_ERR_NAME);
}

/* tag SP name [SP "UID" name]; leaves p at the first argument's SP. */
static int
imap_parse_head(struct imap_pctx *p, struct imap_cmd *cmd)
{
	size_t n = 0;

	while (!imap_at_end(p) && p->buf[p->pos] != ' ') {
		if (!imap_is_tag_char((unsigned char)p->buf[p->pos]))
			return imap_fail(p, IMAP_ERR_TAG);
		if (++n > IMAP_TAG_MAX)
			return imap_fail(p, IMAP_ERR_TAG_LONG);
		p->pos++;
	}
	if (n == 0)
		return imap_fail(p, IMAP_ERR_TAG);
	memcpy(cmd->tag, p->buf, n);
	cmd->tag[n] = '\0';
	if (imap_at_end(p))
		return imap_fail(p, IMAP_ERR_NAME);
	p->pos++;
	if (imap_parse_name(p, cmd->name, sizeof(cmd->name)) < 0)
		return -1;
	if (strcmp(cmd->name, "UID") == 0) {
		cmd->uid = true;
		if (imap_at_end(p) || p->buf[p->pos] != ' ') {
			p->err = IMAP_ERR_UID;
			return -1;
		}
		p->pos++;
		if (imap_parse_name(p, cmd->name, sizeof(cmd->name)) < 0)
			return -1;
	}
	return 0;
}

/* The arguments after the head: nothing, or SP and a sequence. */
static int
imap_parse_args(struct imap_pctx *p)
{
	if (imap_at_end(p))
		return imap_check_line(p);
	if (p->buf[p->pos] != ' ')
		return imap_fail(p, IMAP_ERR_NAME);
	p->pos++;
	if (imap_at_end(p) || p->buf[p->pos] == ' ')
		return imap_fail(p, IMAP_ERR_SP);
	return imap_parse_seq(p, 0);
}

/* Second pass: fills cmd->pool; cannot fail on input the first accepted. */
static int
imap_fill(struct imap_cmd *cmd, struct imap_pctx *p, size_t args_start)
{
	size_t n = p->n_args;

	cmd->pool = calloc(n > 0 ? n : 1, sizeof(*cmd->pool));
	p->stk = calloc(n > 0 ? n : 1, sizeof(*p->stk));
	cmd->scratch = malloc(p->quoted_bytes + 1);
	if (cmd->pool == NULL || p->stk == NULL || cmd->scratch == NULL) {
		free(p->stk);
		return imap_fail(p, IMAP_ERR_NOMEM);
	}
	cmd->pool_n = n;
	p->pool = cmd->pool;
	p->scratch = cmd->scratch;
	p->fill = true;
	p->pos = args_start;
	p->line_start = 0;
	int r = imap_parse_args(p);
	if (r == 0)
		cmd->args = imap_pop_to_pool(p, 0, &cmd->n_args);
	free(p->stk);
	p->stk = NULL;
	return r;
}

int
imap_parse_command(const char *buf, size_t len, struct imap_cmd *cmd,
		   const char **err_r)
{
	struct imap_pctx p = {.buf = buf, .len = len};

	memset(cmd, 0, sizeof(*cmd));
	cmd->tag[0] = '*';
	if (imap_parse_head(&p, cmd) < 0)
		goto fail;
	size_t args_start = p.pos;
	if (imap_parse_args(&p) < 0 || imap_fill(cmd, &p, args_start) < 0)
		goto fail;
	return 0;
fail:
	if (p.err == IMAP_ERR_TAG || p.err == IMAP_ERR_TAG_LONG) {
		cmd->tag[0] = '*';
		cmd->tag[1] = '\0';
	}
	imap_cmd_free(cmd);
	*err_r = p.err != NULL ? p.err : IMAP_ERR_NAME;
	return -1;
}

void
imap_cmd_free(struct imap_cmd *cmd)
{
	if (cmd == NULL)
		return;
	free(cmd->pool);
	free(cmd->scratch);
	cmd->pool = NULL;
	cmd->scratch = NULL;
	cmd->args = NULL;
	cmd->n_args = 0;
	cmd->pool_n = 0;
}

int
imap_line_literal(const char *line, size_t len, uint64_t *size_r,
		  bool *nonsync_r, bool *literal8_r)
{
	size_t brace = SIZE_MAX;
	bool quoted = false;

	/* A line starts at a token boundary (after the tag or a literal's
	 * octets) and quoted strings never span lines, so this scan knows
	 * whether a '{' is inside a quoted string. */
	for (size_t i = 0; i < len; i++) {
		if (quoted) {
			if (line[i] == '\\' && i + 1 < len)
				i++;
			else if (line[i] == '"')
				quoted = false;
		} else if (line[i] == '"') {
			quoted = true;
		} else if (line[i] == '{') {
			brace = i;
		}
	}
	if (quoted || len == 0 || line[len - 1] != '}' || brace == SIZE_MAX)
		return 0;
	uint64_t n;
	bool plus;
	size_t used = imap_literal_spec(line + brace, len - brace, &n, &plus);
	/* '{' is an atom-special: outside a quoted string it can only start
	 * a literal, so a malformed announcement is a syntax error. */
	if (used != len - brace)
		return -1;
	*size_r = n;
	*nonsync_r = plus;
	*literal8_r = brace > 0 && line[brace - 1] == '~';
	return 1;
}

bool
imap_arg_is_string(const struct imap_arg *a)
{
	/* An atom "NIL" is still a valid astring (a mailbox named NIL). */
	return a != NULL &&
	       (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_STRING ||
		a->type == IMAP_ARG_LITERAL || a->type == IMAP_ARG_NIL);
}

char *
imap_arg_dup(const struct imap_arg *a)
{
	if (!imap_arg_is_string(a) || memchr(a->str, '\0', a->len) != NULL)
		return NULL;
	return str_ndup(a->str, a->len);
}

bool
imap_arg_atom_is(const struct imap_arg *a, const char *word)
{
	return a != NULL &&
	       (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL) &&
	       str_ieq(a->str, a->len, word);
}
