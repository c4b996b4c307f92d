/* Unit tests for server/privdrop.c: after privdrop_to_user() a process
 * cannot become root again, and the "still able to regain root" check
 * refuses a drop that left root reachable. Each case runs in a forked
 * child, since a drop cannot be undone; the child reports through its
 * exit status. Needs root (skipped otherwise) and the service user
 * `postel` (scripts/setup.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/privdrop.h"

#define MAX_GROUPS 64

/* Runs fn in a child; its return value becomes the exit status (0 = ok,
 * otherwise the number of the check that failed). */
static int
in_child(int (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
need_root_and_user(void)
{
	if (geteuid() != 0 || getpwnam("postel") == NULL)
		skip();
}

static int
drop_then_try_root(void)
{
	struct passwd *pw = getpwnam("postel");
	gid_t groups[MAX_GROUPS], zero = 0, roots[2] = { 0, 4242 };
	uid_t r, e, s;
	gid_t gr, ge, gs;
	char err[256];
	int n;

	if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0)
		return 1;
	/* Start with supplementary groups, as root often has (the test may
	 * run with none); the drop must shed them. */
	if (setgroups(2, roots) != 0)
		return 9;
	if (privdrop_to_user("postel", err, sizeof(err)) != 0)
		return 2;
	/* All three ids of each kind are the service user's. */
	if (getresuid(&r, &e, &s) != 0 || r != pw->pw_uid ||
	    e != pw->pw_uid || s != pw->pw_uid)
		return 3;
	if (getresgid(&gr, &ge, &gs) != 0 || gr != pw->pw_gid ||
	    ge != pw->pw_gid || gs != pw->pw_gid)
		return 4;
	/* root's supplementary groups are gone: only the user's own gid. */
	n = getgroups(MAX_GROUPS, groups);
	if (n < 0 || n > 1 || (n == 1 && groups[0] != pw->pw_gid))
		return 5;
	/* And nothing brings root back. */
	if (setuid(0) == 0 || errno != EPERM)
		return 6;
	if (seteuid(0) == 0 || setreuid(0, 0) == 0 || setresuid(0, 0, 0) == 0)
		return 7;
	if (setgid(0) == 0 || setegid(0) == 0 || setgroups(1, &zero) == 0)
		return 8;
	return 0;
}

static void
test_drop_cannot_regain_root(void **state)
{
	(void)state;
	need_root_and_user();
	assert_int_equal(in_child(drop_then_try_root), 0);
}

/* A "drop" to a uid-0 account leaves setuid(0) working: the check after
 * the drop must see that and refuse, whatever the name says. */
static int
drop_to_root_is_refused(void)
{
	char err[256] = "";

	if (privdrop_to_user("root", err, sizeof(err)) != -1)
		return 1;
	if (strstr(err, "regain root") == NULL)
		return 2;
	return 0;
}

static void
test_drop_to_uid_zero_refused(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(in_child(drop_to_root_is_refused), 0);
}

static int
unknown_user_is_refused(void)
{
	char err[256] = "";

	if (privdrop_to_user("no-such-user-postel-test", err,
			     sizeof(err)) != -1)
		return 1;
	if (strstr(err, "does not exist") == NULL)
		return 2;
	/* Still root: nothing was half done. */
	if (geteuid() != 0 || getuid() != 0)
		return 3;
	return 0;
}

static void
test_unknown_user_refused(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(in_child(unknown_user_is_refused), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_cannot_regain_root),
		cmocka_unit_test(test_drop_to_uid_zero_refused),
		cmocka_unit_test(test_unknown_user_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
