/* Dropping root after binding ports and loading keys. */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int
privdrop_prepare_dir(const char *data_dir, const char *run_user, char *err,
		     size_t errlen)
{
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (mkdir(data_dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", data_dir,
			 strerror(errno));
		return -1;
	}
	if (stat(data_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", data_dir);
		return -1;
	}
	if (geteuid() != 0 || lookup_user(run_user, &uid, &gid) < 0)
		return 0;
	/* Root hands the top directory to the service user; everything
	 * below is created by that user after privdrop_to_user(). */
	if ((st.st_uid != uid || st.st_gid != gid) &&
	    chown(data_dir, uid, gid) < 0) {
		snprintf(err, errlen, "cannot chown %s: %s", data_dir,
			 strerror(errno));
		return -1;
	}
	return 0;
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
