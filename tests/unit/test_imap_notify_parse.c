/*
 * Unit tests for the NOTIFY argument parser (RFC 5465 §8): filters, event
 * groups, STATUS, the BAD rules of §3.1/§5 and BADEVENT for events Postel
 * does not deliver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_notify_parse.h"

static struct imap_cmd tcmd;
static struct imap_notify_spec spec;

/* Parses "t NOTIFY <args>" and runs the NOTIFY parser on its args. */
static int
notify(const char *args, const char **err_r)
{
	char buf[4096];
	const char *err = NULL;
	int len = snprintf(buf, sizeof(buf), "t NOTIFY %s\r\n", args);

	imap_cmd_free(&tcmd);
	assert_true(len > 0 && (size_t)len < sizeof(buf));
	if (imap_parse_command(buf, (size_t)len, &tcmd, &err) != 0)
		print_error("tokenizer refused \"%s\": %s\n", args, err);
	*err_r = NULL;
	return imap_notify_parse(tcmd.args, tcmd.n_args, &spec, err_r);
}

static void
test_none_and_set(void **state)
{
	const char *err;

	assert_int_equal(notify("NONE", &err), 0);
	assert_true(spec.none);
	assert_int_equal(notify("SET (selected (MessageNew (UID FLAGS) "
				"MessageExpunge FlagChange)) (personal "
				"(MessageNew MessageExpunge MailboxName "
				"SubscriptionChange))", &err), 0);
	assert_false(spec.none);
	assert_false(spec.status);
	assert_int_equal(spec.n, 2);
	assert_int_equal(spec.groups[0].filter, IMAP_NF_SELECTED);
	assert_int_equal(spec.groups[0].events,
			 IMAP_NEV_MESSAGE_NEW | IMAP_NEV_MESSAGE_EXPUNGE |
			 IMAP_NEV_FLAG_CHANGE);
	assert_non_null(spec.groups[0].fetch);
	assert_int_equal(spec.groups[0].fetch->list_n, 2);
	assert_int_equal(spec.groups[1].filter, IMAP_NF_PERSONAL);
	assert_true(spec.groups[1].events & IMAP_NEV_MAILBOX_NAME);
	assert_true(spec.groups[1].events & IMAP_NEV_SUBSCRIPTION_CHANGE);
	assert_null(spec.groups[1].fetch);
}

static void
test_filters_and_names(void **state)
{
	const char *err;

	assert_int_equal(notify("set status (subtree Lists (MessageNew "
				"MessageExpunge)) (mailboxes (a \"b c\" {1+}\r\n"
				"d) NONE) (inboxes NONE) (subscribed "
				"(MailboxName)) (selected-delayed NONE)", &err),
			 0);
	assert_true(spec.status);
	assert_int_equal(spec.n, 5);
	assert_int_equal(spec.groups[0].filter, IMAP_NF_SUBTREE);
	assert_int_equal(spec.groups[0].n_names, 1);
	assert_memory_equal(spec.groups[0].names[0].str, "Lists", 5);
	assert_int_equal(spec.groups[1].filter, IMAP_NF_MAILBOXES);
	assert_int_equal(spec.groups[1].n_names, 3);
	assert_memory_equal(spec.groups[1].names[1].str, "b c", 3);
	assert_memory_equal(spec.groups[1].names[2].str, "d", 1);
	assert_int_equal(spec.groups[1].events, 0);
	assert_int_equal(spec.groups[2].filter, IMAP_NF_INBOXES);
	assert_int_equal(spec.groups[3].filter, IMAP_NF_SUBSCRIBED);
	assert_int_equal(spec.groups[3].events, IMAP_NEV_MAILBOX_NAME);
	assert_int_equal(spec.groups[4].filter, IMAP_NF_SELECTED_DELAYED);
}

static void
test_badevent(void **state)
{
	const char *err;

	/* Known but not delivered, and unknown (event-ext) atoms. */
	assert_int_equal(notify("SET (personal (MessageNew MessageExpunge "
				"AnnotationChange))", &err), 1);
	assert_int_equal(notify("SET (personal (ServerMetadataChange "
				"MailboxMetadataChange))", &err), 0);
	assert_int_equal(spec.groups[0].events,
			 IMAP_NEV_SERVER_METADATA_CHANGE |
			 IMAP_NEV_MAILBOX_METADATA_CHANGE);
	assert_int_equal(notify("SET (personal (X-Weird))", &err), 1);
	/* A syntax error wins over a bad event. */
	assert_int_equal(notify("SET (personal (X-Weird MessageNew))", &err),
			 -1);
}

static void
test_bad(void **state)
{
	static const char *const bad[] = {
		"SET",
		"SET STATUS",
		"NONE extra",
		"FROB",
		"SET personal",
		"SET ()",
		"SET (personal)",
		"SET (nowhere NONE)",
		"SET (personal (MessageNew))",
		"SET (personal (MessageExpunge))",
		"SET (personal (FlagChange))",
		"SET (personal (MessageNew (UID) MessageExpunge))",
		"SET (selected ((UID) MessageNew MessageExpunge))",
		"SET (selected (MessageNew () MessageExpunge))",
		"SET (selected NONE) (selected NONE)",
		"SET (selected NONE) (selected-delayed NONE)",
		"SET (subtree NONE)",
		"SET (mailboxes () NONE)",
		"SET (mailboxes a b NONE)",
		"SET (personal NONE extra)",
		"SET (personal \"NONE\")",
		"SET (personal ())",
		"SET (mailboxes ((a)) NONE)",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *err;
		int r = notify(bad[i], &err);

		if (r != -1)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_int_equal(r, -1);
		assert_non_null(err);
	}
}

static void
test_group_limit(void **state)
{
	char buf[4000];
	size_t len = 0;
	const char *err;

	len += (size_t)snprintf(buf, sizeof(buf), "SET");
	for (int i = 0; i <= IMAP_NOTIFY_GROUPS_MAX; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					" (mailboxes m%d NONE)", i);
	assert_true(len < sizeof(buf));
	assert_int_equal(notify(buf, &err), -1);
	assert_int_equal(spec.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none_and_set),
		cmocka_unit_test(test_filters_and_names),
		cmocka_unit_test(test_badevent),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_group_limit),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	imap_cmd_free(&tcmd);
	return r;
}
