/*
 * Filling struct config (core/config.h): built-in defaults, then the
 * optional config file (docs/CONFIG.md), then command-line --listen
 * options.
 */
#ifndef POSTEL_CONFIG_FILE_H
#define POSTEL_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/config.h"

/* Defaults for a process running as root (ports 25, 587, ...) or not
 * (2525, 2587, ...). */
void config_defaults(struct config *cfg, bool as_root);
/* Reads KEY = VALUE lines; 0 or -1 with "file:line: reason" in err. A
 * file of CONFIG_FILE_MAX octets or more is refused. */
#define CONFIG_FILE_MAX (1024 * 1024)
int config_load(struct config *cfg, const char *path, char *err,
		size_t errlen);
/* The same from text[0..len) (the file's contents); name stands for the
 * file in err. What config_load parses with. */
int config_parse_text(struct config *cfg, const char *text, size_t len,
		      const char *name, char *err, size_t errlen);
/* Parses PROTO=ADDR:PORT (ADDR may be [IPv6]); 0 or -1 with err. */
int config_parse_listen(const char *spec, struct config_listen *out,
			char *err, size_t errlen);
const char *config_proto_name(enum proto p);
/* Fills paths that depend on data_dir (cert, key) when unset. */
void config_finish(struct config *cfg);

#endif
