/*
 * Privileges: when started as root, the server binds its ports and reads its
 * key, then becomes cfg->run_user. The admin commands, run as root, become
 * that user too before touching the data directory, so every file they create
 * is usable by the server.
 */
#ifndef POSTEL_PRIVDROP_H
#define POSTEL_PRIVDROP_H

#include <stddef.h>

/* Creates data_dir (mode 0750) if missing. As root with an existing
 * run_user, hands the directory to that user. 0 or -1 with err. */
int privdrop_prepare_dir(const char *data_dir, const char *run_user,
			 char *err, size_t errlen);
/* As root: setgroups/setgid/setuid to run_user (refusing to go on as root
 * if that fails). Not root: does nothing. 0 or -1 with err. */
int privdrop_to_user(const char *run_user, char *err, size_t errlen);

#endif
