/*
 * libFuzzer target for the IMAP command parser: the literal announcement
 * check on the first line, the tokenizer, and for FETCH / SEARCH / STORE
 * the argument parsers (NOTIFY's event groups too); also mailbox-name and date conversions on the
 * string arguments. No crash, no leak, every argument inside the input or
 * the command's scratch copy, every failure with a BAD text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_notify_parse.h"
#include "imap/imap_parse.h"
#include "imap/imap_search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_imap_check_arg(const struct imap_arg *a, const char *buf, size_t len,
		    size_t depth)
{
	if (depth > IMAP_MAX_DEPTH)
		abort();
	if (a->type == IMAP_ARG_LIST) {
		for (size_t i = 0; i < a->list_n; i++)
			fuzz_imap_check_arg(&a->list[i], buf, len, depth + 1);
		return;
	}
	if (a->type == IMAP_ARG_STRING)
		return; /* in the scratch copy; ASan checks the bytes */
	if (a->str < buf || a->str + a->len > buf + len)
		abort();
}

static void
fuzz_imap_strings(const struct imap_arg *a)
{
	char out[512];
	int64_t t;

	if (!imap_arg_is_string(a))
		return;
	imap_mutf7_to_utf8(a->str, a->len, out, sizeof(out));
	imap_utf8_to_mutf7(a->str, a->len, out, sizeof(out));
	if (imap_parse_datetime(a->str, a->len, &t) == 0) {
		char back[32];
		imap_format_datetime(t, back);
	}
	imap_parse_date(a->str, a->len, &t);
}

/* SORT [RETURN (opts)] (criteria) charset keys (RFC 5256, RFC 5267). */
static void
fuzz_imap_sort(const struct imap_cmd *cmd)
{
	const struct imap_arg *a = cmd->args;
	size_t n = cmd->n_args;
	struct imap_sort_program p;
	struct imap_search q;
	const char *err = NULL;
	bool badcs;

	memset(&q, 0, sizeof(q));
	if (imap_arg_atom_is(&a[0], "RETURN") && n >= 2) {
		(void)imap_search_return(&q, &a[1]);
		a += 2;
		n -= 2;
	}
	if (n < 2 || imap_sort_parse(&a[0], &p, &err) < 0)
		return;
	if (p.n == 0 || p.n > IMAP_SORT_MAX_CRIT)
		abort();
	if (imap_search_parse(a + 2, n - 2, &q, &badcs, &err) == 0)
		imap_search_free(&q);
	else if (err == NULL || err[0] == '\0')
		abort();
}

/* NOTIFY (RFC 5465): groups within bounds, names and fetch lists inside
 * the command's arguments, an error text with every refusal. */
static void
fuzz_imap_notify(const struct imap_cmd *cmd)
{
	static struct imap_notify_spec spec;
	const char *err = NULL;
	int r = imap_notify_parse(cmd->args, cmd->n_args, &spec, &err);

	if (r < 0 && (err == NULL || err[0] == '\0'))
		abort();
	if (r < 0 || spec.n > IMAP_NOTIFY_GROUPS_MAX)
		return;
	for (size_t i = 0; i < spec.n; i++) {
		const struct imap_notify_group *g = &spec.groups[i];

		if (g->n_names > IMAP_NOTIFY_NAMES_MAX ||
		    (g->events & ~(unsigned)IMAP_NEV_SUPPORTED))
			abort();
		for (size_t k = 0; k < g->n_names; k++)
			if (!imap_arg_is_string(&g->names[k]))
				abort();
		if (g->fetch != NULL && g->fetch->type != IMAP_ARG_LIST)
			abort();
	}
}

static void
fuzz_imap_commands(const struct imap_cmd *cmd)
{
	const char *err = NULL;

	if (strcmp(cmd->name, "FETCH") == 0 && cmd->n_args >= 1) {
		struct imap_fetch f;
		struct imap_seqset set;

		if (cmd->args[0].type == IMAP_ARG_ATOM &&
		    imap_seqset_parse(cmd->args[0].str, cmd->args[0].len,
				      &set) == 0) {
			imap_seqset_contains(&set, 7, 100);
			imap_seqset_free(&set);
		}
		if (imap_fetch_parse(cmd->args + 1, cmd->n_args - 1, &f,
				     &err) == 0)
			imap_fetch_free(&f);
		else if (err == NULL || err[0] == '\0')
			abort();
	} else if (strcmp(cmd->name, "SEARCH") == 0) {
		struct imap_search s;
		bool badcs;

		if (imap_search_parse(cmd->args, cmd->n_args, &s, &badcs,
				      &err) == 0)
			imap_search_free(&s);
		else if (err == NULL || err[0] == '\0')
			abort();
	} else if (strcmp(cmd->name, "STORE") == 0 && cmd->n_args >= 1) {
		struct imap_store_args st;

		if (imap_store_parse(cmd->args + 1, cmd->n_args - 1, &st,
				     &err) == 0)
			imap_store_args_free(&st);
		else if (err == NULL || err[0] == '\0')
			abort();
	} else if (strcmp(cmd->name, "SORT") == 0 && cmd->n_args >= 1) {
		fuzz_imap_sort(cmd);
	} else if (strcmp(cmd->name, "NOTIFY") == 0) {
		fuzz_imap_notify(cmd);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	const char *err = NULL;
	struct imap_cmd cmd;
	uint64_t n;
	bool plus, l8;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	const char *lf = memchr(buf, '\n', size);
	size_t line = lf != NULL ? (size_t)(lf - buf) : size;
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	if (imap_line_literal(buf, line, &n, &plus, &l8) == 1 &&
	    n > (uint64_t)INT64_MAX)
		abort();
	if (imap_parse_command(buf, size, &cmd, &err) == 0) {
		if (cmd.tag[0] == '\0' || strlen(cmd.tag) > IMAP_TAG_MAX ||
		    cmd.name[0] == '\0' || cmd.n_args > IMAP_MAX_ARGS)
			abort();
		for (size_t i = 0; i < cmd.n_args; i++) {
			fuzz_imap_check_arg(&cmd.args[i], buf, size, 0);
			fuzz_imap_strings(&cmd.args[i]);
		}
		fuzz_imap_commands(&cmd);
		imap_cmd_free(&cmd);
	} else if (err == NULL || err[0] == '\0' || cmd.tag[0] == '\0') {
		abort();
	}
	free(buf);
	return 0;
}
