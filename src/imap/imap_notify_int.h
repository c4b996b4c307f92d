/*
 * NOTIFY internals shared by cmd_notify.c (the command, the watch, the
 * passes) and imap_notify_diff.c (which events a mailbox gets, and the
 * STATUS/LIST responses a scan's difference becomes).
 */
#ifndef POSTEL_IMAP_NOTIFY_INT_H
#define POSTEL_IMAP_NOTIFY_INT_H

#include "imap_int.h"
#include "imap_notify_parse.h"

/* METADATA entries as last seen (imap_notify_meta.c): sorted names with
 * a hash of each value. */
struct imap_notify_meta {
	char *name;
	uint64_t h;
};
struct imap_notify_metaset {
	struct imap_notify_meta *v;
	size_t n;
};

/* What the client was last told of one mailbox. */
struct imap_notify_box {
	int64_t id;
	char *name;
	uint32_t uidvalidity, uidnext, messages, unseen;
	uint64_t highestmodseq;
	struct imap_notify_metaset meta; /* MailboxMetadataChange only */
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
	struct imap_notify_metaset server_meta; /* ServerMetadataChange */
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
/* A scan of the account: the mailboxes with their counters, the
 * subscriptions, and METADATA when asked for (bmeta parallel to boxes). */
struct imap_notify_scan_data {
	struct store_mailbox *boxes;
	size_t n_boxes;
	char **subs;
	struct imap_notify_metaset *bmeta;   /* NULL when not read */
	struct imap_notify_metaset server_meta;
	bool have_server_meta;
};
/* The scan against the snapshot: STATUS, LIST and METADATA. */
void imap_notify_diff(struct imap_session *s,
		      const struct imap_notify_scan_data *d);
/* The scan becomes the snapshot (takes subs and the METADATA lists from
 * d). 0 or -1 (no memory: the snapshot stays as it was). */
int imap_notify_keep(struct imap_notify *n, struct imap_notify_scan_data *d);

/* imap_notify_meta.c */
void imap_notify_meta_free(struct imap_notify_metaset *m);
/* Worker: the entries of a mailbox, or of the server (mailbox_id 0). */
int imap_notify_meta_scan(struct store *st, int64_t account_id,
			  int64_t mailbox_id, struct imap_notify_metaset *m);
/* "* METADATA mailbox name ..." of the names that differ; mailbox "" is
 * the server. Nothing when none does. */
void imap_notify_meta_diff(struct imap_session *s, const char *mailbox,
			   const struct imap_notify_metaset *old,
			   const struct imap_notify_metaset *now);

#endif
