/*
 * The outbound queue's rows (schema v5): one queue_msgs row per queued
 * message (its file, envelope sender, DSN envelope parameters) and one
 * queue_rcpts row per recipient (state, attempts, next attempt, last
 * reply, the notice still owed to the sender, and a lease so that several
 * nodes can share one queue on PostgreSQL later). A queued message holds
 * one reference on its blob (blobs.refcount), so neither an expunge of a
 * local copy nor the orphan sweep removes the file while it is queued.
 *
 * The queue ID shown to administrators is the message's acceptance id
 * (the SMTP session's msg=, 16 hex digits), unique per queued message.
 *
 * Included by store.h; see there for return conventions.
 */
#ifndef POSTEL_STORE_QUEUE_H
#define POSTEL_STORE_QUEUE_H

/* Recipient state. */
enum store_queue_state {
	STORE_QUEUE_PENDING = 0, /* to be tried at next_attempt */
	STORE_QUEUE_SENT = 1,    /* the next hop took it (or delivered here) */
	STORE_QUEUE_FAILED = 2,  /* permanent failure, expiry, or given up */
};

/* The notice (RFC 3464 Action) the sender is still owed for a
 * recipient; the queue builds one DSN per message for every recipient
 * with a notice, then clears them (store_queue_notice_done). */
enum store_queue_notice {
	STORE_NOTICE_NONE = 0,
	STORE_NOTICE_FAILED,    /* Action: failed */
	STORE_NOTICE_DELAYED,   /* Action: delayed (delay_warning) */
	STORE_NOTICE_DELIVERED, /* Action: delivered (NOTIFY=SUCCESS, local) */
	STORE_NOTICE_RELAYED,   /* Action: relayed (next hop without DSN) */
};

/* RFC 3461 §4.1 NOTIFY; 0 = not given (failures are reported, delays
 * too when delay_warning is on). */
enum store_notify {
	STORE_NOTIFY_SUCCESS = 1 << 0,
	STORE_NOTIFY_FAILURE = 1 << 1,
	STORE_NOTIFY_DELAY = 1 << 2,
	STORE_NOTIFY_NEVER = 1 << 3,
};

/* RFC 3461 §4.3 RET. */
enum store_ret { STORE_RET_DEFAULT = 0, STORE_RET_FULL, STORE_RET_HDRS };

/* queue_msgs.flags */
enum store_queue_flag {
	STORE_QMSG_SMTPUTF8 = 1 << 0,  /* MAIL ... SMTPUTF8 (RFC 6531) */
	STORE_QMSG_8BIT = 1 << 1,      /* BODY=8BITMIME, or 8-bit octets seen */
	STORE_QMSG_NOTICE = 1 << 2,    /* a DSN we made: never answered by a
					* DSN to its (null) sender */
	STORE_QMSG_POSTMASTER = 1 << 3,/* a failed DSN sent to postmaster:
					* failing again stops there */
	STORE_QMSG_REQUIRETLS = 1 << 4,/* MAIL ... REQUIRETLS (RFC 8689) */
	STORE_QMSG_TLS_OPTIONAL = 1 << 5,/* "TLS-Required: No" (RFC 8689
					* §3), without REQUIRETLS */
};

#define STORE_QUEUE_ID_LEN 16     /* hex digits */
#define STORE_QUEUE_ENVID_MAX 100 /* RFC 3461 §4.4 */
#define STORE_QUEUE_REPLY_MAX 512 /* last reply/error kept per recipient */
/* The header fields sent before a queued message (schema v6 prefix:
 * its DKIM signatures, two take about 1.5 KB). */
#define STORE_QUEUE_PREFIX_MAX 4096

/* One recipient to queue (store_queue_add). */
struct store_queue_rcpt_new {
	const char *addr;          /* the address to deliver to */
	const char *orcpt;         /* "rfc822;user@example.org" (decoded
				    * xtext), or NULL/"" when not given */
	unsigned notify;           /* enum store_notify */
	/* Normally PENDING/NONE. A recipient delivered here at once whose
	 * sender asked NOTIFY=SUCCESS is queued SENT/DELIVERED: the queue
	 * owes only the notice. */
	enum store_queue_state state;
	enum store_queue_notice notice;
	const char *reply;         /* for a row queued SENT or FAILED */
	const char *status;        /* its RFC 3463 code, "2.0.0" */
};

/* One message to queue. The file is already written and fsynced (or its
 * octets are given, as in struct store_delivery); the blob row is made
 * (or its refcount raised by one) by store_queue_add. */
struct store_queue_new {
	char qid[STORE_QUEUE_ID_LEN + 1]; /* acceptance id */
	char blob[64];             /* relative path (blob.h) */
	const void *data;          /* NULL, or the octets of a new row */
	size_t data_len;
	int64_t size;
	const char *from;          /* envelope sender, "" = null sender */
	const char *envid;         /* RFC 3461 ENVID (decoded), or NULL */
	enum store_ret ret;
	unsigned flags;            /* enum store_queue_flag */
	int64_t created;           /* arrival, unix seconds */
	/* Header fields (each ending CRLF) sent before the message when it
	 * is relayed: its DKIM-Signature fields (RFC 6376), made once when
	 * queued. NULL or "" for none; at most STORE_QUEUE_PREFIX_MAX. */
	const char *prefix;
	const struct store_queue_rcpt_new *rcpts;
	size_t n_rcpts;
};

/* A queued message as stored. */
struct store_queue_msg {
	int64_t id;                /* queue_msgs.id */
	char qid[STORE_QUEUE_ID_LEN + 1];
	char blob[64];
	int64_t size;
	char from[320 + 1];
	char envid[STORE_QUEUE_ENVID_MAX + 1];
	enum store_ret ret;
	unsigned flags;
	int64_t created;
	bool held;                 /* queue hold: not tried until release */
};

/* A recipient as stored. */
struct store_queue_rcpt {
	int64_t id;                /* queue_rcpts.id */
	int64_t msg_id;
	char addr[320 + 1];
	char domain[255 + 1];      /* lower-case, the routing key */
	char orcpt[320 + 16];
	unsigned notify;
	enum store_queue_state state;
	enum store_queue_notice notice;
	bool warned;               /* a delay notice was sent */
	unsigned attempts;
	int64_t next_attempt;      /* unix seconds */
	int64_t last_attempt;      /* 0: never tried */
	char status[16];           /* last RFC 3463 code, "4.4.1", or "" */
	char reply[STORE_QUEUE_REPLY_MAX + 1]; /* last reply or error */
	char remote_mta[256 + 64]; /* "mx.example.org[192.0.2.1]" or "" */
	char lease_owner[64];      /* "" when not leased */
	int64_t lease_until;
};

/* A recipient with its message, as the scheduler takes work. */
struct store_queue_item {
	struct store_queue_msg msg;
	struct store_queue_rcpt rcpt;
	/* The message's header prefix (store_queue_new), malloc'ed, or
	 * NULL when it has none: only the scheduler's reads carry it, so
	 * the administrator's lists hold no signatures in memory. */
	char *prefix;
};
/* Frees each item's prefix, then the array. */
void store_queue_items_free(struct store_queue_item *items, size_t n);

/* A message with all its recipients (queue list/show, notices). */
struct store_queue_entry {
	struct store_queue_msg msg;
	struct store_queue_rcpt *rcpts; /* malloc'ed */
	size_t n_rcpts;
};
/* Frees the recipients of each of the n entries, then the array e. */
void store_queue_entries_free(struct store_queue_entry *e, size_t n);
/* Frees the recipients of one entry the caller holds (store_queue_get). */
void store_queue_entry_fini(struct store_queue_entry *e);

/* The outcome of one attempt for one recipient (store_queue_update). */
struct store_queue_update {
	int64_t rcpt_id;
	enum store_queue_state state;
	enum store_queue_notice notice; /* NONE leaves it as it is */
	bool warned;               /* set (never cleared) */
	unsigned attempts;
	int64_t next_attempt;
	int64_t last_attempt;
	const char *status;        /* may be NULL: unchanged */
	const char *reply;
	const char *remote_mta;
};

/* Queues a message for its recipients in the caller's transaction (a
 * group-commit job, beside store_deliver for local recipients); each
 * pending recipient gets next_attempt = created, attempts 0. The domain
 * of each recipient is taken from its address, lower-cased. Bumps the
 * queue serial. msg_id_r may be NULL. Errors: "queue id already exists",
 * "invalid address", "ENVID too long", "header prefix
 * too long", "incomplete queue entry" (no qid,
 * blob or recipient). */
static inline int
store_queue_add(struct store *st, const struct store_queue_new *m,
		int64_t *msg_id_r, const char **err_r)
{
	return st->ops->queue_add(st, m, msg_id_r, err_r);
}

/* Up to limit pending recipients of messages not held, whose
 * next_attempt <= now and whose lease is free (lease_until < now), in
 * next_attempt order, each with its message. *items_r malloc'ed. */
static inline int
store_queue_due(struct store *st, int64_t now, size_t limit,
		struct store_queue_item **items_r, size_t *n_r,
		const char **err_r)
{
	return st->ops->queue_due(st, now, limit, items_r, n_r, err_r);
}

/* The earliest time a pending recipient of a message not held becomes
 * due: its next_attempt, or for a leased one the end of its lease
 * (lease_until + 1), so work in flight does not look overdue. 1
 * (*when_r), 0 none, -1 error. */
static inline int
store_queue_next_due(struct store *st, int64_t *when_r)
{
	return st->ops->queue_next_due(st, when_r);
}

/* A counter raised by every change an administrator makes (hold,
 * release, flush, delete, bounce) and by store_queue_add: the server
 * polls it to notice the CLI within a second. 0 or -1. */
static inline int
store_queue_serial(struct store *st, int64_t *serial_r)
{
	return st->ops->queue_serial(st, serial_r);
}

/* Takes the lease of each listed recipient that is still pending and
 * free (lease_until < now), of a message not held, for owner (1..63
 * bytes) until `until`; *taken_r (may be
 * NULL) gets how many were taken. Only leased recipients may be tried;
 * on PostgreSQL this is where nodes share the queue (SKIP LOCKED). */
static inline int
store_queue_lease(struct store *st, const int64_t *rcpt_ids, size_t n,
		  const char *owner, int64_t now, int64_t until,
		  size_t *taken_r, const char **err_r)
{
	return st->ops->queue_lease(st, rcpt_ids, n, owner, now, until,
				    taken_r, err_r);
}

/* Frees the leases still in force (lease_until >= now) of pending
 * recipients whose owner starts with prefix ("hostname:"), except
 * keep_owner's: at start, the leases a crashed earlier process of this
 * node left (they would block those recipients until they expire).
 * *freed_r (may be NULL) gets how many. (Added by the scheduler.) */
static inline int
store_queue_unlease(struct store *st, const char *prefix,
		    const char *keep_owner, int64_t now, size_t *freed_r,
		    const char **err_r)
{
	return st->ops->queue_unlease(st, prefix, keep_owner, now, freed_r,
				      err_r);
}

/* Records one attempt's outcome and frees the lease. Call inside a
 * transaction (group commit). status, reply and remote_mta NULL leave
 * them unchanged; reply is kept to STORE_QUEUE_REPLY_MAX bytes. A
 * recipient no longer pending (bounced or deleted by the administrator
 * while it was tried) is left as it is, and that is not an error. */
static inline int
store_queue_update(struct store *st, const struct store_queue_update *u,
		   const char **err_r)
{
	return st->ops->queue_update(st, u, err_r);
}

/* Up to limit messages that owe their sender a notice (some recipient
 * with notice != NONE), each with ALL its recipients. */
static inline int
store_queue_notices(struct store *st, size_t limit,
		    struct store_queue_entry **entries_r, size_t *n_r,
		    const char **err_r)
{
	return st->ops->queue_notices(st, limit, entries_r, n_r, err_r);
}

/* The notice of these recipients was sent (or queued): notice = NONE
 * (a DELAYED notice also sets warned). In a transaction. */
static inline int
store_queue_notice_done(struct store *st, const int64_t *rcpt_ids, size_t n,
			const char **err_r)
{
	return st->ops->queue_notice_done(st, rcpt_ids, n, err_r);
}

/* Removes the message when every recipient is final (SENT/FAILED) with
 * no notice owed, dropping its blob reference; 1 removed, 0 not yet, -1
 * error. *orphans_r as store_user_del (the commit job's orphans). */
static inline int
store_queue_retire(struct store *st, int64_t msg_id, char ***orphans_r,
		   const char **err_r)
{
	return st->ops->queue_retire(st, msg_id, orphans_r, err_r);
}

/* ---- Administration (postel queue ...) ---------------------------- */

/* Messages with their recipients, oldest first: all, only those with a
 * recipient in domain (lower-case compare), only held ones. */
static inline int
store_queue_list(struct store *st, const char *domain_or_null, bool held_only,
		 struct store_queue_entry **entries_r, size_t *n_r,
		 const char **err_r)
{
	return st->ops->queue_list(st, domain_or_null, held_only, entries_r,
				   n_r, err_r);
}

/* One message by queue id: 1 found (*e filled, free its recipients with
 * store_queue_entry_fini(e)), 0 no such id, -1 error (st->err). */
static inline int
store_queue_get(struct store *st, const char *qid,
		struct store_queue_entry *e)
{
	return st->ops->queue_get(st, qid, e);
}

/* hold = true: the message is not tried (nor leased) until released.
 * Errors: "no such queue id". */
static inline int
store_queue_hold(struct store *st, const char *qid, bool hold,
		 const char **err_r)
{
	return st->ops->queue_hold(st, qid, hold, err_r);
}

/* Pending recipients of one message (qid), of every message with a
 * recipient in domain, or of all (both NULL) become due now (held ones
 * stay held and are not counted); *n_r (may be NULL) gets how many.
 * Errors: "no such queue id". */
static inline int
store_queue_flush(struct store *st, const char *qid_or_null,
		  const char *domain_or_null, size_t *n_r, const char **err_r)
{
	return st->ops->queue_flush(st, qid_or_null, domain_or_null, n_r,
				    err_r);
}

/* Removes the message without any notice; *orphans_r as
 * store_queue_retire. Errors: "no such queue id". */
static inline int
store_queue_delete(struct store *st, const char *qid, char ***orphans_r,
		   const char **err_r)
{
	return st->ops->queue_delete(st, qid, orphans_r, err_r);
}

/* Gives up now: every pending recipient becomes FAILED with status
 * "5.0.0" and reply "given up by the administrator", notice FAILED
 * unless its NOTIFY excludes failures (the queue then sends the DSN).
 * Errors: "no such queue id" (a message without pending recipients is
 * no error). */
static inline int
store_queue_bounce(struct store *st, const char *qid, const char **err_r)
{
	return st->ops->queue_bounce(st, qid, err_r);
}

#endif
