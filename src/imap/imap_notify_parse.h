/*
 * NOTIFY arguments (RFC 5465 §8 grammar): the tokenized arguments of
 * "NOTIFY SET [STATUS] (filter events) ..." or "NOTIFY NONE" -> a struct
 * of event groups. Pure: no I/O, no session; the result points into the
 * command's arguments (mailbox names and fetch attributes stay as
 * arguments for the session to decode).
 */
#ifndef POSTEL_IMAP_NOTIFY_PARSE_H
#define POSTEL_IMAP_NOTIFY_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "imap_parse.h"

/* Events (RFC 5465 §5), as bits. */
enum imap_notify_event {
	IMAP_NEV_MESSAGE_NEW = 1 << 0,
	IMAP_NEV_MESSAGE_EXPUNGE = 1 << 1,
	IMAP_NEV_FLAG_CHANGE = 1 << 2,
	IMAP_NEV_ANNOTATION_CHANGE = 1 << 3,
	IMAP_NEV_MAILBOX_NAME = 1 << 4,
	IMAP_NEV_SUBSCRIPTION_CHANGE = 1 << 5,
	IMAP_NEV_MAILBOX_METADATA_CHANGE = 1 << 6,
	IMAP_NEV_SERVER_METADATA_CHANGE = 1 << 7,
};
/* The ones Postel delivers; any other named event is a BADEVENT. */
#define IMAP_NEV_SUPPORTED                                                   \
	(IMAP_NEV_MESSAGE_NEW | IMAP_NEV_MESSAGE_EXPUNGE |                   \
	 IMAP_NEV_FLAG_CHANGE | IMAP_NEV_MAILBOX_NAME |                      \
	 IMAP_NEV_SUBSCRIPTION_CHANGE | IMAP_NEV_MAILBOX_METADATA_CHANGE |   \
	 IMAP_NEV_SERVER_METADATA_CHANGE)
/* The BADEVENT response code text listing them (RFC 5465 §5.9). */
#define IMAP_NOTIFY_BADEVENT                                                 \
	"BADEVENT (MessageNew MessageExpunge FlagChange MailboxName "        \
	"SubscriptionChange MailboxMetadataChange ServerMetadataChange)"

/* RFC 5465 §6: mailbox filters. */
enum imap_notify_filter {
	IMAP_NF_SELECTED = 0,
	IMAP_NF_SELECTED_DELAYED,
	IMAP_NF_INBOXES,
	IMAP_NF_PERSONAL,
	IMAP_NF_SUBSCRIBED,
	IMAP_NF_SUBTREE,
	IMAP_NF_MAILBOXES,
};

#define IMAP_NOTIFY_GROUPS_MAX 32   /* event groups of one NOTIFY SET */
#define IMAP_NOTIFY_NAMES_MAX 256   /* mailbox names of one group */

struct imap_notify_group {
	enum imap_notify_filter filter;
	/* SUBTREE / MAILBOXES: the mailbox arguments as sent (an array:
	 * the one argument, or the members of the list). */
	const struct imap_arg *names;
	size_t n_names;
	unsigned events;  /* enum imap_notify_event; 0 = NONE */
	/* MessageNew's fetch-att list (SELECTED filters only), or NULL. */
	const struct imap_arg *fetch;
};

struct imap_notify_spec {
	bool none;        /* NOTIFY NONE */
	bool status;      /* SET STATUS: initial STATUS responses */
	struct imap_notify_group groups[IMAP_NOTIFY_GROUPS_MAX];
	size_t n;
	/* Events named that Postel does not deliver (any, incl. unknown). */
	bool bad_event;
};

/* args[0..n) follow the command name. 0 ok; 1 the syntax is fine but an
 * event is not supported (NO [BADEVENT ...], RFC 5465 §3.1); -1 BAD with
 * *err_r (constant text). */
int imap_notify_parse(const struct imap_arg *args, size_t n,
		      struct imap_notify_spec *spec, const char **err_r);

/* Is filter one of SELECTED / SELECTED-DELAYED? */
static inline bool
imap_notify_filter_selected(enum imap_notify_filter f)
{
	return f == IMAP_NF_SELECTED || f == IMAP_NF_SELECTED_DELAYED;
}

#endif
