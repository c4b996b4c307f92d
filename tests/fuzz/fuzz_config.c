/*
 * libFuzzer target for the configuration file parser (config_parse_text,
 * what config_load parses a file's contents with). Besides "no crash":
 * - success leaves every string terminated inside its array, listeners
 *   within CONFIG_MAX_LISTENERS with a known protocol and a port (0:
 *   none given, the default), and the numeric keys within the bounds the
 *   key table sets;
 * - failure says where: "NAME:LINE: reason" with LINE one of the lines;
 * - parsing is deterministic: a second run gives the same struct;
 * - a comment line added in front, however long, changes nothing but
 *   the line numbers.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CONFIG_NAME "fuzz.conf"

static void
fuzz_config_terminated(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

static void
fuzz_config_valid(const struct config *c)
{
	fuzz_config_terminated(c->hostname, sizeof(c->hostname));
	fuzz_config_terminated(c->data_dir, sizeof(c->data_dir));
	fuzz_config_terminated(c->cert_path, sizeof(c->cert_path));
	fuzz_config_terminated(c->key_path, sizeof(c->key_path));
	fuzz_config_terminated(c->run_user, sizeof(c->run_user));
	fuzz_config_terminated(c->store_url, sizeof(c->store_url));
	fuzz_config_terminated(c->tls_min_version,
			       sizeof(c->tls_min_version));
	fuzz_config_terminated(c->tls_ciphers, sizeof(c->tls_ciphers));
	fuzz_config_terminated(c->tls_ciphersuites,
			       sizeof(c->tls_ciphersuites));
	fuzz_config_terminated(c->connection_rate_exempt,
			       sizeof(c->connection_rate_exempt));
	if (c->n_listeners > CONFIG_MAX_LISTENERS)
		abort();
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct config_listen *l = &c->listeners[i];

		/* Port 0: none given, config_finish sets the default. */
		if ((int)l->proto < 0 || l->proto >= PROTO_COUNT ||
		    l->port < 0 || l->port > 65535)
			abort();
		fuzz_config_terminated(l->addr, sizeof(l->addr));
	}
	/* The key table's bounds (config.c). */
	if (c->max_message_size < 1024 ||
	    c->max_message_size > (size_t)1 << 31 || c->max_rcpts < 1 ||
	    c->max_rcpts > 100000 || c->smtp_cmd_timeout < 1 ||
	    c->smtp_data_timeout < 1 || c->pop3_timeout < 1 ||
	    c->imap_timeout < 1 || c->smtp_cmd_timeout > 86400 ||
	    c->smtp_data_timeout > 86400 || c->pop3_timeout > 86400 ||
	    c->imap_timeout > 86400 || c->worker_threads < 1 ||
	    c->worker_threads > 64 || c->max_connections < 1 ||
	    c->max_connections_per_ip < 1 || c->command_deadline < 0 ||
	    c->smtp_data_min_rate < 0 || c->smtp_data_grace < 1 ||
	    c->preauth_timeout < 0 || c->max_connection_rate_per_ip < 0)
		abort();
}

/* "NAME:LINE: ..." with 1 <= LINE <= lines; or "NAME: ..." never (that
 * is config_load's form for the file itself). */
static void
fuzz_config_err(const char *err, int lines, int shift)
{
	size_t nl = strlen(FUZZ_CONFIG_NAME);
	char *end;
	long line;

	if (strncmp(err, FUZZ_CONFIG_NAME ":", nl + 1) != 0)
		abort();
	line = strtol(err + nl + 1, &end, 10);
	if (end == err + nl + 1 || *end != ':' || line < 1 + shift ||
	    line > lines + shift)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config a, b;
	char err_a[600], err_b[600];
	int ra, rb, lines = 0;
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n' || i + 1 == size)
			lines++;
	config_defaults(&a, false);
	config_defaults(&b, false);
	err_a[0] = err_b[0] = '\0';
	memcpy(text, data, size);
	ra = config_parse_text(&a, text, size, FUZZ_CONFIG_NAME, err_a,
			       sizeof(err_a));
	rb = config_parse_text(&b, text, size, FUZZ_CONFIG_NAME, err_b,
			       sizeof(err_b));
	if (ra != rb || strcmp(err_a, err_b) != 0 ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (ra == 0) {
		fuzz_config_valid(&a);
		config_finish(&a);
		fuzz_config_valid(&a);
	} else if (ra != -1) {
		abort();
	} else {
		fuzz_config_err(err_a, lines, 0);
	}
	/* A comment in front (the input on one line, however long): the
	 * same result, one line later. */
	free(text);
	text = malloc(2 * size + 2);
	if (text == NULL)
		abort();
	text[0] = '#';
	for (size_t i = 0; i < size; i++)
		text[1 + i] = data[i] == '\n' ? ' ' : (char)data[i];
	text[1 + size] = '\n';
	memcpy(text + 2 + size, data, size);
	config_defaults(&b, false);
	rb = config_parse_text(&b, text, 2 * size + 2, FUZZ_CONFIG_NAME, err_b,
			       sizeof(err_b));
	if (rb != ra)
		abort();
	if (ra == 0) {
		config_finish(&b);
		if (memcmp(&a, &b, sizeof(a)) != 0)
			abort();
	}
	if (ra < 0)
		fuzz_config_err(err_b, lines, 1);
	free(text);
	return 0;
}
