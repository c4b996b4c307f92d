/*
 * POP3 command parser (RFC 1939 §3). A command is a 3-4 character keyword,
 * case-insensitive, followed by arguments separated by spaces. A table gives
 * each keyword its argument count, numeric arguments and argument length;
 * nothing here knows about session state (that is pop3_cmds.c's table).
 */
#include "pop3_parse.h"

#include <limits.h>
#include <string.h>

#include "../core/limits.h"

/* RFC 1939 §3: "each argument may be up to 40 characters long". */
#define POP3_ARG_MAX 40
/* RFC 2449 §4 raised the command line to 255 octets; user names are often
 * full e-mail addresses longer than 40 octets, so USER/APOP names may be
 * as long as an address, and an AUTH initial response (RFC 5034 §4) as
 * long as the line allows. */
#define POP3_NAME_MAX LIMIT_ADDRESS
#define POP3_AUTH_ARG_MAX LIMIT_POP3_LINE

/* Argument kinds: which arguments are numbers, and their lower bound. */
enum pop3_argkind {
	POP3_ARG_TEXT = 0, /* free text */
	POP3_ARG_MSGNUM,   /* message number, >= 1 (RFC 1939 §5) */
	POP3_ARG_COUNT,    /* TOP line count, >= 0 (RFC 1939 §7) */
	POP3_ARG_REST,     /* the rest of the line, spaces included */
};

struct pop3_verb_def {
	const char *name; /* the one place each verb is spelled */
	unsigned char min_args, max_args;
	enum pop3_argkind kind[POP3_MAX_ARGS];
	size_t arg_max; /* longest argument, octets */
};

/* Indexed by verb. */
static const struct pop3_verb_def pop3_verbs[POP3_VERB_COUNT] = {
	[POP3_VERB_USER] = {"USER", 1, 1, {0}, POP3_NAME_MAX},
	[POP3_VERB_PASS] = {"PASS", 1, 1, {POP3_ARG_REST}, LIMIT_POP3_LINE},
	[POP3_VERB_APOP] = {"APOP", 2, 2, {0}, POP3_NAME_MAX},
	/* RFC 5034 §4 / RFC 1734: AUTH without arguments lists mechanisms. */
	[POP3_VERB_AUTH] = {"AUTH", 0, 2, {0}, POP3_AUTH_ARG_MAX},
	[POP3_VERB_STAT] = {"STAT", 0, 0, {0}, POP3_ARG_MAX},
	[POP3_VERB_LIST] = {"LIST", 0, 1, {POP3_ARG_MSGNUM}, POP3_ARG_MAX},
	[POP3_VERB_RETR] = {"RETR", 1, 1, {POP3_ARG_MSGNUM}, POP3_ARG_MAX},
	[POP3_VERB_TOP] = {"TOP", 2, 2, {POP3_ARG_MSGNUM, POP3_ARG_COUNT},
	 POP3_ARG_MAX},
	[POP3_VERB_UIDL] = {"UIDL", 0, 1, {POP3_ARG_MSGNUM}, POP3_ARG_MAX},
	[POP3_VERB_DELE] = {"DELE", 1, 1, {POP3_ARG_MSGNUM}, POP3_ARG_MAX},
	[POP3_VERB_RSET] = {"RSET", 0, 0, {0}, POP3_ARG_MAX},
	[POP3_VERB_NOOP] = {"NOOP", 0, 0, {0}, POP3_ARG_MAX},
	[POP3_VERB_QUIT] = {"QUIT", 0, 0, {0}, POP3_ARG_MAX},
	[POP3_VERB_CAPA] = {"CAPA", 0, 0, {0}, POP3_ARG_MAX},
	[POP3_VERB_STLS] = {"STLS", 0, 0, {0}, POP3_ARG_MAX},
};

#define POP3_NVERBS (sizeof(pop3_verbs) / sizeof(pop3_verbs[0]))

static const char POP3_ERR_LINE[] = "Command line too long";
static const char POP3_ERR_NUL[] = "NUL byte in command";
static const char POP3_ERR_UNKNOWN[] = "Unknown command";
static const char POP3_ERR_NARGS[] = "Wrong number of arguments";
static const char POP3_ERR_ARGLEN[] = "Argument too long";
static const char POP3_ERR_ARGCHAR[] = "Invalid character in argument";
static const char POP3_ERR_NUMBER[] = "Invalid message number";
static const char POP3_ERR_COUNT[] = "Invalid line count";

/* Table lookup of a keyword; NULL when unknown. */
static const struct pop3_verb_def *
pop3_verb_lookup(const char *kw, size_t len)
{
	char up[4];

	if (len < 3 || len > 4)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)kw[i];

		up[i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
	}
	for (size_t i = 0; i < POP3_NVERBS; i++)
		if (pop3_verbs[i].name != NULL &&
		    strlen(pop3_verbs[i].name) == len &&
		    memcmp(pop3_verbs[i].name, up, len) == 0)
			return &pop3_verbs[i];
	return NULL;
}

const char *
pop3_verb_name(enum pop3_verb verb)
{
	if ((int)verb <= (int)POP3_VERB_UNKNOWN || verb >= POP3_VERB_COUNT)
		return "?";
	return pop3_verbs[verb].name;
}

/* Decimal without sign, overflow checked, at least min. 0 ok, -1 not. */
static int
pop3_parse_number(const char *s, size_t len, unsigned long min,
		  unsigned long *out_r)
{
	unsigned long v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (ULONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min)
		return -1;
	*out_r = v;
	return 0;
}

/* Splits space-separated words of [p, end) into cmd->args. Runs of spaces
 * are tolerated (lenient clients). -1 with err_r on a bad argument. */
static int
pop3_split_args(const struct pop3_verb_def *def, const char *p,
		const char *end, struct pop3_cmd *cmd, const char **err_r)
{
	while (p < end) {
		const char *w;

		if (*p == ' ') {
			p++;
			continue;
		}
		w = p;
		while (p < end && *p != ' ') {
			unsigned char c = (unsigned char)*p;

			/* RFC 1939 §3: arguments are printable ASCII. */
			if (c < 0x21 || c == 0x7f) {
				*err_r = POP3_ERR_ARGCHAR;
				return -1;
			}
			p++;
		}
		if (cmd->nargs >= def->max_args) {
			*err_r = POP3_ERR_NARGS;
			return -1;
		}
		if ((size_t)(p - w) > def->arg_max) {
			*err_r = POP3_ERR_ARGLEN;
			return -1;
		}
		cmd->args[cmd->nargs] = w;
		cmd->arg_lens[cmd->nargs] = (size_t)(p - w);
		cmd->nargs++;
	}
	return 0;
}

/* Checks numeric arguments of a parsed command and fills cmd->num. */
static int
pop3_check_numbers(const struct pop3_verb_def *def, struct pop3_cmd *cmd,
		   const char **err_r)
{
	for (size_t i = 0; i < cmd->nargs; i++) {
		unsigned long min;

		if (def->kind[i] == POP3_ARG_MSGNUM)
			min = 1;
		else if (def->kind[i] == POP3_ARG_COUNT)
			min = 0;
		else
			continue;
		if (pop3_parse_number(cmd->args[i], cmd->arg_lens[i], min,
				      &cmd->num[i]) < 0) {
			*err_r = def->kind[i] == POP3_ARG_MSGNUM
					 ? POP3_ERR_NUMBER
					 : POP3_ERR_COUNT;
			return -1;
		}
	}
	return 0;
}

/* PASS takes everything after "PASS " verbatim: RFC 1939 §7 notes that a
 * password may contain spaces. Only CR/LF (never part of a line) and
 * nothing at all are refused. */
static int
pop3_parse_rest(const char *p, const char *end, struct pop3_cmd *cmd,
		const char **err_r)
{
	if (p >= end) {
		*err_r = POP3_ERR_NARGS;
		return -1;
	}
	if (memchr(p, '\r', (size_t)(end - p)) != NULL ||
	    memchr(p, '\n', (size_t)(end - p)) != NULL) {
		*err_r = POP3_ERR_ARGCHAR;
		return -1;
	}
	cmd->rest = p;
	cmd->rest_len = (size_t)(end - p);
	cmd->args[0] = p;
	cmd->arg_lens[0] = cmd->rest_len;
	cmd->nargs = 1;
	return 0;
}

int
pop3_parse_command(const char *line, size_t len, struct pop3_cmd *cmd,
		   const char **err_r)
{
	const char *end = line + len, *p = line, *kw;
	const struct pop3_verb_def *def;

	memset(cmd, 0, sizeof(*cmd));
	/* LIMIT_POP3_LINE counts the CRLF that the caller stripped. */
	if (len > LIMIT_POP3_LINE - 2) {
		*err_r = POP3_ERR_LINE;
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*err_r = POP3_ERR_NUL;
		return -1;
	}
	kw = p;
	while (p < end && *p != ' ')
		p++;
	def = pop3_verb_lookup(kw, (size_t)(p - kw));
	if (def == NULL) {
		*err_r = POP3_ERR_UNKNOWN;
		return -1;
	}
	cmd->verb = (enum pop3_verb)(def - pop3_verbs);
	if (def->kind[0] == POP3_ARG_REST)
		return pop3_parse_rest(p < end ? p + 1 : p, end, cmd, err_r);
	if (pop3_split_args(def, p, end, cmd, err_r) < 0)
		return -1;
	if (cmd->nargs < def->min_args) {
		*err_r = POP3_ERR_NARGS;
		return -1;
	}
	return pop3_check_numbers(def, cmd, err_r);
}
