/*
 * Privileges: when started as root, the server binds its ports and reads its
 * key, then becomes cfg->run_user. The admin commands, run as root, become
 * that user too before touching the data directory, so every file they create
 * is usable by the server.
 */
#ifndef POSTEL_PRIVDROP_H
#define POSTEL_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

/* Creates data_dir (mode 0750, parents 0755) if missing, never following
 * a symbolic link root does not own. As root with an existing run_user,
 * hands the directory to that user only when this call created it; an
 * existing directory must already belong to run_user, or it is an error
 * (so `--data /etc` never gives /etc away). 0 or -1 with err. */
int privdrop_prepare_dir(const char *data_dir, const char *run_user,
			 char *err, size_t errlen);
/* As root with an existing run_user: its ids, 0. Otherwise -1. */
int privdrop_user_ids(const char *run_user, uid_t *uid_r, gid_t *gid_r);
/* As root: setgroups/setgid/setuid to run_user (refusing to go on as root
 * if that fails). Not root: does nothing. 0 or -1 with err. */
int privdrop_to_user(const char *run_user, char *err, size_t errlen);

#endif
