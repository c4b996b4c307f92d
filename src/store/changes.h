/*
 * The admin change counter: DATA_DIR/changes holds one 64-bit counter that
 * every admin command (the CLI, another process) bumps after it changed
 * the store. The server maps it and compares it with what it saw when it
 * cached something derived from the store (SMTP's recipient answers), so a
 * change made with the CLI applies to the next command at once, with no
 * query and no system call per lookup.
 */
#ifndef POSTEL_CHANGES_H
#define POSTEL_CHANGES_H

#include <stdint.h>

/* Maps the counter (creating the file); NULL when it cannot (the caller
 * then caches nothing). The mapping lives as long as the process. */
const volatile uint64_t *store_changes_map(const char *data_dir);
/* Adds one to the counter; errors are ignored (logged): a server that
 * misses a bump still drops what it cached within a second. */
void store_changes_bump(const char *data_dir);

#endif
