/*
 * NOTIFY internals shared by cmd_notify.c (the command, the watch, the
 * passes) and imap_notify_diff.c (which events a mailbox gets, and the
 * STATUS/LIST responses a scan's difference becomes).
 */
#ifndef POSTEL_IMAP_NOTIFY_INT_H
#define POSTEL_IMAP_NOTIFY_INT_H

#include "imap_int.h"
#include "imap_notify_parse.h"

/* What the client was last told of one mailbox. */
struct imap_notify_box {
	int64_t id;
	char *name;
	uint32_t uidvalidity, uidnext, messages, unseen;
	uint64_t highestmodseq;
};

/* A group for mailboxes other than the selected one, names decoded. */
struct imap_notify_grp {
	enum imap_notify_filter filter;
	char **names;
	size_t n_names;
	unsigned events;
};

enum imap_notify_phase {
	IMAP_NOTIFY_IDLE = 0,
	IMAP_NOTIFY_REFRESH, /* step 1 runs */
	IMAP_NOTIFY_SCAN,    /* step 2 runs */
};

struct imap_notify {
	struct server_watch watch;
	/* SELECTED / SELECTED-DELAYED */
	bool sel_set, sel_delayed;
	unsigned sel_events;
	/* MessageNew's attributes: those the view holds ('U'ID, 'F'LAGS,
	 * 'M'ODSEQ, as the client listed them) are written at once; any
	 * other item makes it a FETCH job (att_job, with att). */
	char att_order[8];
	bool att_job;
	struct imap_fetch att;
	struct imap_notify_grp *grps;
	size_t n_grps;
	unsigned other_events; /* union over grps */
	/* The snapshot (after the first scan). */
	bool have_snap;
	struct imap_notify_box *boxes;
	size_t n_boxes;
	char **subs;
	bool dirty;              /* the account changed since the scan */
	enum imap_notify_phase phase;
	size_t unread;           /* notification octets since a command */
};

void imap_notify_boxes_free(struct imap_notify_box *b, size_t n);
/* RFC 5465 §6: the events of the first group whose filter holds name. */
unsigned imap_notify_events_for(const struct imap_notify *n, const char *name,
				bool subscribed);
bool imap_notify_is_selected(const struct imap_session *s, int64_t id);
/* "* STATUS name (MESSAGES UIDNEXT UIDVALIDITY UNSEEN [HIGHESTMODSEQ])" */
void imap_notify_status(struct imap_session *s, const struct store_mailbox *b);
/* The scan b[0..nb) and subs against the snapshot: STATUS and LIST. */
void imap_notify_diff(struct imap_session *s, const struct store_mailbox *b,
		      size_t nb, char **subs);
/* The scan becomes the snapshot (takes subs). 0 or -1 (no memory). */
int imap_notify_keep(struct imap_notify *n, const struct store_mailbox *b,
		     size_t nb, char **subs);

#endif
