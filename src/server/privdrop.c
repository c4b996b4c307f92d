/* Dropping root after binding ports and loading keys. */
#include "privdrop.h"

#include <errno.h>
#include <stdbool.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/safepath.h"

static int
lookup_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (user == NULL || *user == '\0')
		return -1;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return -1;
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

/* Hole closed here: an existing directory (say /etc) given as the data
 * dir must never be handed to the service user; only one we make is. */
static int
privdrop_check_owner(int fd, const char *data_dir, const char *run_user,
		     uid_t uid, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", data_dir, strerror(errno));
		return -1;
	}
	if (st.st_uid == uid)
		return 0;
	snprintf(err, errlen, "data directory %s already exists and belongs "
		 "to uid %u, not to the service user %s; postel only hands over "
		 "a directory it creates itself: give a new path, or run "
		 "`chown %s: %s` first if it really is meant for postel",
		 data_dir, (unsigned)st.st_uid, run_user, run_user, data_dir);
	return -1;
}

int
privdrop_prepare_dir(const char *data_dir, const char *run_user, char *err,
		     size_t errlen)
{
	bool created = false;
	uid_t uid;
	gid_t gid;
	int fd, rc = 0;

	/* Parents are made too (root's, 0755); the final directory 0750. */
	fd = safepath_open_dir(data_dir, true, 0750, &created, err, errlen);
	if (fd < 0)
		return -1;
	if (geteuid() != 0 || lookup_user(run_user, &uid, &gid) < 0) {
		close(fd);
		return 0;
	}
	/* Root hands over the directory it just made (by its fd, so a
	 * rename under us cannot redirect the chown); everything below is
	 * created by that user after privdrop_to_user(). */
	if (created) {
		if (fchown(fd, uid, gid) < 0) {
			snprintf(err, errlen, "cannot chown %s: %s", data_dir,
				 strerror(errno));
			rc = -1;
		}
	} else {
		rc = privdrop_check_owner(fd, data_dir, run_user, uid, err,
					  errlen);
	}
	close(fd);
	return rc;
}

int
privdrop_user_ids(const char *run_user, uid_t *uid_r, gid_t *gid_r)
{
	if (geteuid() != 0)
		return -1;
	return lookup_user(run_user, uid_r, gid_r);
}

int
privdrop_to_user(const char *run_user, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return 0;
	if (lookup_user(run_user, &uid, &gid) < 0) {
		snprintf(err, errlen, "refusing to run as root: user '%s' does "
			 "not exist (run scripts/setup.sh or set 'user' in the "
			 "config)", run_user ? run_user : "");
		return -1;
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		snprintf(err, errlen, "cannot become %s: %s", run_user,
			 strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "still able to regain root; refusing");
		return -1;
	}
	return 0;
}
