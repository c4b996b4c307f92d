/*
 * The one storage interface. Every backend (SQLite now, PostgreSQL later)
 * implements struct store_ops; callers use only the store_* functions below.
 *
 * Threading: a struct store is one connection and is used by one thread at
 * a time. The server opens one per worker thread (reads) and one for the
 * commit thread (all writes from sessions, batched: see commit.h). The CLI
 * opens one and calls these directly.
 *
 * Return values unless noted: 0 success, -1 failure with a one-line reason
 * in *err_r (a string owned by the store handle, valid until its next call).
 * Lookups return 1 found, 0 not found, -1 error.
 */
#ifndef POSTEL_STORE_H
#define POSTEL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* 1: domains, accounts, aliases, mailboxes, messages, blobs (schema.sql).
 * 2: subscriptions, vanished, blob_meta, mailbox counters (IMAP).
 * 3: blob_fields (search fields).
 * 4: accounts.quota_bytes, sender grants (quotas, sender identity).
 * 5: queue_msgs, queue_rcpts, queue_serial (the outbound queue).
 * 6: recent_uid, savedate, metadata, queue_msgs.prefix.
 * 7: tlsrpt_results (TLS-RPT counts, store_tlsrpt.h).
 * 8: blob_data (small message bodies kept in the store, blob.h).
 * 9: blob_meta and blob_fields keyed by their rowid (one b-tree each).
 * Each step is schema_vN.sql, embedded in store_sqlite_schema.c. */
#define STORE_SCHEMA_VERSION 9

/* IMAP system flags (RFC 9051 §2.3.2), kept as a bit mask. */
enum store_flag {
	STORE_FLAG_SEEN = 1 << 0,
	STORE_FLAG_ANSWERED = 1 << 1,
	STORE_FLAG_FLAGGED = 1 << 2,
	STORE_FLAG_DELETED = 1 << 3,
	STORE_FLAG_DRAFT = 1 << 4,
};
#define STORE_FLAGS_ALL                                                    \
	(STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED        \
	 | STORE_FLAG_DELETED | STORE_FLAG_DRAFT)

/* Result of resolving an envelope recipient. */
enum store_rcpt_status {
	STORE_RCPT_OK = 0,        /* >= 1 account ids in *accounts_r, or
				   * remote targets in *remote_r */
	STORE_RCPT_NOT_HOSTED,    /* the domain is not one of ours */
	STORE_RCPT_NO_USER,       /* hosted domain, no such user or alias */
	STORE_RCPT_ERROR = -1,    /* temporary failure */
};

struct store_account {
	int64_t id;
	char address[320 + 1]; /* localpart@domain, lower-case domain */
	char pwhash[256];
};

/* One message of a mailbox, as POP3 and IMAP list them. */
struct store_msg {
	int64_t id;          /* messages.id, unique in the store */
	uint32_t uid;        /* IMAP UID in its mailbox */
	uint32_t flags;      /* enum store_flag */
	uint64_t modseq;
	int64_t size;        /* octets of the stored file (CRLF lines) */
	int64_t internaldate;/* unix seconds */
	char blob[64];       /* blob path relative to the data dir */
};

struct store_mailbox_info {
	int64_t id;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
};

/* What IMAP needs of a message without parsing it again (mime.h): its
 * ENVELOPE, BODY and BODYSTRUCTURE in IMAP syntax and the part map. Kept
 * once per blob. */
struct store_meta {
	char *envelope;
	char *body;
	char *bodystructure;
	char *partmap;
	size_t partmap_len;
	/* The search fields (mime_search_fields), stored when given (also
	 * for a blob whose metadata was stored without them); read back by
	 * store_mailbox_fields only, never by store_meta_get. */
	char *fields;
	size_t fields_len;
};

/* A message to deliver into the INBOX of each listed account, in one
 * transaction. The blob file is already written and fsynced (blob.h), or
 * its octets are given (data, a "db/" path) and stored with the rows. */
struct store_delivery {
	char blob[64];            /* relative path, from blob_write() */
	const void *data;         /* NULL: the octets are in the file */
	size_t data_len;
	int64_t size;
	int64_t internaldate;
	const int64_t *accounts;  /* distinct account ids */
	size_t n_accounts;
	const struct store_meta *meta; /* may be NULL (computed on demand) */
	/* NULL: INBOX. STORE_DELIVER_JUNK: the account's \Junk mailbox
	 * (RFC 6154), else the one named Junk, created (with \Junk) when
	 * there is none (DMARC quarantine). */
	const char *mailbox;
};
#define STORE_DELIVER_JUNK "Junk"

/* ---- IMAP -------------------------------------------------------- */

struct store;
struct store_queue_new;
struct store_queue_item;
struct store_queue_update;
struct store_queue_entry;

#define STORE_MAILBOX_NAME_MAX 512
/* Keywords per message; a STORE or APPEND that would exceed it fails with
 * "too many keywords" and changes nothing. */
#define STORE_KEYWORDS_MAX 64
/* Octets of one keyword (an IMAP atom; syntax checked by the caller). */
#define STORE_KEYWORD_LEN_MAX 128

/* A mailbox with its counters, as LIST-STATUS/STATUS/SELECT need them. */
struct store_mailbox {
	int64_t id;
	char name[STORE_MAILBOX_NAME_MAX + 1]; /* UTF-8, "/" separated */
	char special_use[16];  /* "\\Sent" ... or "" */
	bool subscribed;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t messages;
	uint32_t unseen;
	uint32_t deleted;
	uint64_t size;         /* sum of message sizes (STATUS=SIZE) */
	/* RFC 3501 §2.3.2: messages with a greater UID are not yet claimed
	 * as \Recent by any session (store_recent_claim). */
	uint32_t recent_uid;
	/* Messages above recent_uid: 0 from the mailbox reads; filled by
	 * whoever needs it with store_recent_count (STATUS RECENT). */
	uint32_t recent;
};

/* One RFC 5464 METADATA entry: name in lower case ("/private/comment"),
 * value bytes (NUL-terminated for convenience, may hold NUL). */
struct store_metadata {
	char *name;
	char *value;
	size_t len;
};
void store_metadata_free(struct store_metadata *v, size_t n);
/* RFC 5464 §3.2 entry names, the one rule for IMAP and the admin command:
 * "/private" or "/shared", then components of printable US-ASCII without
 * "*" or "%", never "//" or a final "/"; a top name alone only when
 * whole_ok. Writes the name in lower case to out (len + 1 bytes); 0 or -1
 * (empty, longer than LIMIT_IMAP_METADATA_NAME, or malformed). */
int store_metadata_name(const char *in, size_t len, char *out, bool whole_ok);

/* One message as an IMAP session keeps it. keywords: space-separated,
 * malloc'ed (NULL when none); freed by store_imsgs_free. */
struct store_imsg {
	int64_t id;
	uint32_t uid;
	uint32_t flags;
	uint64_t modseq;
	int64_t size;
	int64_t internaldate;
	int64_t blob_id;
	char blob[64];
	char *keywords;
	int64_t savedate; /* RFC 8514: saved in this mailbox (unix time) */
};

/* What an IMAP session keeps per message of its selected mailbox (24
 * bytes), so 10,000 sessions in IDLE on large mailboxes stay small; size,
 * date and message file are read with store_mailbox_imsgs_uids when a
 * command needs them. keywords as in store_imsg; free with
 * store_vmsgs_free. */
struct store_vmsg {
	uint32_t uid;
	uint32_t flags;
	uint64_t modseq;
	char *keywords;
};

/* Result of a flag change for one message (STORE, RFC 7162). */
struct store_flag_change {
	uint32_t uid;
	uint32_t flags;
	char *keywords;   /* malloc'ed or NULL */
	uint64_t modseq;
};

enum store_flag_mode { STORE_FLAGS_SET = 0, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };

/* Search fields of one message (store_mailbox_fields). */
struct store_fields {
	uint32_t uid;
	char *fields;
	size_t len;
};

struct store_tlsrpt_row;

/* A backend fills a struct store_ops. The store_* functions that only pass
 * a call on are static inline below, documented where they are defined. */
struct store_ops {
	const char *name;
	int (*open)(struct store *st, const char *data_dir, const char **err_r);
	void (*close)(struct store *st);
	int (*begin)(struct store *st, const char **err_r);
	int (*commit)(struct store *st, const char **err_r);
	int (*read_begin)(struct store *st, const char **err_r);
	void (*read_end)(struct store *st);
	int (*rollback)(struct store *st);
	int (*savepoint)(struct store *st, const char **err_r);
	int (*release)(struct store *st, const char **err_r);
	int (*rollback_to)(struct store *st);
	int (*domain_add)(struct store *st, const char *domain,
			  const char **err_r);
	int (*domain_del)(struct store *st, const char *domain,
			  const char **err_r);
	int (*domain_list)(struct store *st, char ***names_r,
			   const char **err_r);
	int (*domain_exists)(struct store *st, const char *domain);
	int (*user_add)(struct store *st, const char *address,
			const char *pwhash, const char **err_r);
	int (*user_passwd)(struct store *st, const char *address,
			   const char *pwhash, const char **err_r);
	int (*user_del)(struct store *st, const char *address,
			char ***orphan_blobs_r, const char **err_r);
	int (*user_list)(struct store *st, const char *domain_or_null,
			 char ***addresses_r, const char **err_r);
	int (*account_lookup)(struct store *st, const char *address,
			      struct store_account *acct_r);
	int (*alias_check)(struct store *st, const char *source,
			   const char *target, const char **err_r);
	int (*alias_dangling)(struct store *st, char ***lines_r,
			      const char **err_r);
	int (*alias_add)(struct store *st, const char *source,
			 const char *target, const char **err_r);
	int (*alias_del)(struct store *st, const char *source,
			 const char *target_or_null, const char **err_r);
	int (*alias_list)(struct store *st, const char *domain_or_null,
			  char ***lines_r, const char **err_r);
	enum store_rcpt_status (*resolve_rcpt)(struct store *st,
					       const char *address,
					       int64_t **accounts_r,
					       size_t *n_r, char ***remote_r);
	int (*deliver)(struct store *st, const struct store_delivery *d,
		       const char **err_r);
	int (*mailbox_info)(struct store *st, int64_t account_id,
			    const char *mailbox,
			    struct store_mailbox_info *info_r);
	int (*mailbox_messages)(struct store *st, int64_t mailbox_id,
				struct store_msg **msgs_r, size_t *n_r,
				const char **err_r);
	int (*messages_expunge)(struct store *st, int64_t mailbox_id,
				const int64_t *msg_ids, size_t n,
				char ***orphan_blobs_r, const char **err_r);
	/* IMAP: see the store_* functions of the same names. */
	int (*mailbox_list)(struct store *st, int64_t account_id,
			    struct store_mailbox **boxes_r, size_t *n_r,
			    const char **err_r);
	int (*mailbox_get)(struct store *st, int64_t account_id,
			   const char *name, struct store_mailbox *box_r);
	int (*mailbox_create)(struct store *st, int64_t account_id,
			      const char *name, const char *special_use,
			      int64_t *id_r, const char **err_r);
	int (*mailbox_delete)(struct store *st, int64_t account_id,
			      const char *name, char ***orphan_blobs_r,
			      const char **err_r);
	int (*mailbox_rename)(struct store *st, int64_t account_id,
			      const char *from, const char *to,
			      const char **err_r);
	int (*subscribe)(struct store *st, int64_t account_id,
			 const char *name, bool on, const char **err_r);
	int (*subscriptions)(struct store *st, int64_t account_id,
			     char ***names_r, const char **err_r);
	int (*metadata_list)(struct store *st, int64_t account_id,
			     int64_t mailbox_id, struct store_metadata **v_r,
			     size_t *n_r, const char **err_r);
	int (*metadata_set)(struct store *st, int64_t account_id,
			    int64_t mailbox_id, const char *name,
			    const char *value, size_t len, size_t max_entries,
			    const char **err_r);
	int (*mailbox_imsgs)(struct store *st, int64_t mailbox_id,
			     uint64_t changedsince, struct store_imsg **msgs_r,
			     size_t *n_r, const char **err_r);
	int (*mailbox_vmsgs)(struct store *st, int64_t mailbox_id,
			     uint64_t changedsince, struct store_vmsg **msgs_r,
			     size_t *n_r, const char **err_r);
	int (*recent_claim)(struct store *st, int64_t mailbox_id,
			    uint32_t *from_r, uint32_t *to_r,
			    const char **err_r);
	int (*recent_count)(struct store *st, int64_t mailbox_id,
			    uint32_t above, uint32_t *count_r,
			    const char **err_r);
	int (*mailbox_fields)(struct store *st, int64_t mailbox_id,
			      struct store_fields **fields_r, size_t *n_r,
			      const char **err_r);
	int (*mailbox_imsgs_uids)(struct store *st, int64_t mailbox_id,
				  const uint32_t *uids, size_t n,
				  struct store_imsg **msgs_r, size_t *n_r,
				  const char **err_r);
	int (*vanished_since)(struct store *st, int64_t mailbox_id,
			      uint64_t since, uint32_t **uids_r, size_t *n_r,
			      const char **err_r);
	int (*meta_get)(struct store *st, int64_t blob_id,
			struct store_meta *r);
	int (*blob_known)(struct store *st, const char *path);
	int (*blob_data)(struct store *st, const char *path, char **data_r,
			 size_t *len_r, const char **err_r);
	int (*blob_drop)(struct store *st, char *const *paths,
			 const char **err_r);
	int (*blob_trash_sweep)(struct store *st, int64_t before, size_t *n_r,
				const char **err_r);
	int (*meta_put)(struct store *st, int64_t blob_id,
			const struct store_meta *meta, const char **err_r);
	int (*append)(struct store *st, int64_t mailbox_id,
		      const struct store_delivery *d, uint32_t flags,
		      char *const *keywords, size_t n_keywords,
		      uint32_t *uid_r, const char **err_r);
	int (*flags_change)(struct store *st, int64_t mailbox_id,
			    const uint32_t *uids, size_t n,
			    enum store_flag_mode mode, uint32_t flags,
			    char *const *keywords, size_t n_keywords,
			    uint64_t unchangedsince,
			    struct store_flag_change **changes_r,
			    size_t *n_changes_r, uint32_t **failed_r,
			    size_t *n_failed_r, const char **err_r);
	int (*copy)(struct store *st, int64_t src_mailbox, int64_t dst_mailbox,
		    const uint32_t *uids, size_t n, uint32_t **src_uids_r,
		    uint32_t **dst_uids_r, size_t *n_copied_r,
		    const char **err_r);
	int (*expunge_uids)(struct store *st, int64_t mailbox_id,
			    const uint32_t *uids, size_t n,
			    char ***orphan_blobs_r, const char **err_r);
	/* Sender identity: see store_sender_*. */
	int (*sender_allowed)(struct store *st, int64_t account_id,
			      const char *address);
	int (*sender_grant_add)(struct store *st, const char *account,
				const char *pattern, const char **err_r);
	int (*sender_grant_del)(struct store *st, const char *account,
				const char *pattern, const char **err_r);
	int (*sender_grant_list)(struct store *st, const char *account,
				 char ***patterns_r, const char **err_r);
	/* Quotas. */
	int (*quota_get)(struct store *st, int64_t account_id,
			 int64_t *quota_r, uint64_t *usage_r,
			 const char **err_r);
	int (*quota_set)(struct store *st, const char *address, int64_t quota,
			 const char **err_r);
	/* The outbound queue: see store_queue.h. */
	int (*queue_add)(struct store *st, const struct store_queue_new *m,
			 int64_t *msg_id_r, const char **err_r);
	int (*queue_due)(struct store *st, int64_t now, size_t limit,
			 struct store_queue_item **items_r, size_t *n_r,
			 const char **err_r);
	int (*queue_next_due)(struct store *st, int64_t *when_r);
	int (*queue_serial)(struct store *st, int64_t *serial_r);
	int (*queue_lease)(struct store *st, const int64_t *rcpt_ids, size_t n,
			   const char *owner, int64_t now, int64_t until,
			   size_t *taken_r, const char **err_r);
	int (*queue_unlease)(struct store *st, const char *prefix,
			     const char *keep_owner, int64_t now,
			     size_t *freed_r, const char **err_r);
	int (*queue_update)(struct store *st,
			    const struct store_queue_update *u,
			    const char **err_r);
	int (*queue_notices)(struct store *st, size_t limit,
			     struct store_queue_entry **entries_r, size_t *n_r,
			     const char **err_r);
	int (*queue_notice_done)(struct store *st, const int64_t *rcpt_ids,
				 size_t n, const char **err_r);
	int (*queue_retire)(struct store *st, int64_t msg_id,
			    char ***orphans_r, const char **err_r);
	int (*queue_list)(struct store *st, const char *domain_or_null,
			  bool held_only, struct store_queue_entry **entries_r,
			  size_t *n_r, const char **err_r);
	int (*queue_get)(struct store *st, const char *qid,
			 struct store_queue_entry *e);
	int (*queue_hold)(struct store *st, const char *qid, bool hold,
			  const char **err_r);
	int (*queue_flush)(struct store *st, const char *qid_or_null,
			   const char *domain_or_null, size_t *n_r,
			   const char **err_r);
	int (*queue_delete)(struct store *st, const char *qid,
			    char ***orphans_r, const char **err_r);
	int (*queue_bounce)(struct store *st, const char *qid,
			    const char **err_r);
	/* TLS-RPT (store_tlsrpt.h). */
	int (*tlsrpt_add)(struct store *st,
			  const struct store_tlsrpt_row *r,
			  const char **err_r);
	int (*tlsrpt_list)(struct store *st, int64_t day_max,
			   struct store_tlsrpt_row **rows_r, size_t *n_r,
			   const char **err_r);
	int (*tlsrpt_delete)(struct store *st, int64_t day,
			     const char *domain, const char **err_r);
};

struct store {
	const struct store_ops *ops;
	void *impl;            /* backend state */
	char err[256];         /* backing for *err_r strings */
};

/* ---- Quotas (RFC 9208 STORAGE) ----------------------------------- */

/* An account's stored quota: STORE_QUOTA_DEFAULT follows the configured
 * quota_default (accounts.quota_bytes NULL), 0 means no limit, otherwise
 * octets. */
#define STORE_QUOTA_DEFAULT (-1)
/* The account's stored quota (as above) and its usage: the sum of the
 * sizes of every message in its mailboxes (the per-mailbox size
 * counters, so one row per mailbox whatever their size; a message copied
 * twice counts twice, as RFC 9208 §5.1 STORAGE counts messages). 1 found,
 * 0 no such account, -1 error. Inside a write transaction it sees that
 * transaction's changes: the group commit checks APPEND/COPY against it
 * serially. */
static inline int
store_quota_get(struct store *st, int64_t account_id, int64_t *quota_r,
		uint64_t *usage_r, const char **err_r)
{
	return st->ops->quota_get(st, account_id, quota_r, usage_r, err_r);
}

/* Sets the stored quota of the account (quota as above, >= -1). Errors:
 * "no such user", "invalid quota". */
static inline int
store_quota_set(struct store *st, const char *address, int64_t quota,
		const char **err_r)
{
	return st->ops->quota_set(st, address, quota, err_r);
}

/* The limit in force: the stored quota, or quota_default when it follows
 * the default; 0 means unlimited. */
uint64_t store_quota_limit(int64_t quota, uint64_t quota_default);
/* true when usage + add exceeds limit (0 = unlimited). */
bool store_quota_exceeded(uint64_t limit, uint64_t usage, uint64_t add);

/* Opens the backend named by url (NULL or "sqlite" = embedded SQLite in
 * data_dir), creating and migrating the schema when needed. NULL on
 * failure with a reason in err (errlen bytes). */
struct store *store_open(const char *url, const char *data_dir, char *err,
			 size_t errlen);
void store_close(struct store **stp);

/* The store handle of the calling worker thread, opened from
 * cfg->store_url and cfg->data_dir on first use and closed when the thread
 * ends; NULL (logged) when it cannot be opened. Never call on the loop
 * thread. */
struct config;
struct store *store_thread_handle(const struct config *cfg);

/* Transactions: writes outside begin/commit are each their own. */
static inline int
store_begin(struct store *st, const char **err_r)
{
	return st->ops->begin(st, err_r);
}

static inline int
store_commit(struct store *st, const char **err_r)
{
	return st->ops->commit(st, err_r);
}

static inline int
store_rollback(struct store *st)
{
	return st->ops->rollback(st);
}

/* A read snapshot: the reads between these see one state of the store,
 * and pages read by one are not read again by the next (a write by
 * another connection between two lone reads makes SQLite drop its page
 * cache). A write inside may fail; it then changes nothing. */
static inline int
store_read_begin(struct store *st, const char **err_r)
{
	return st->ops->read_begin(st, err_r);
}

static inline void
store_read_end(struct store *st)
{
	st->ops->read_end(st);
}

/* Nested savepoint inside a transaction: one failed job of a group commit
 * is undone without aborting the others. */
static inline int
store_savepoint(struct store *st, const char **err_r)
{
	return st->ops->savepoint(st, err_r);
}

static inline int
store_release(struct store *st, const char **err_r)
{
	return st->ops->release(st, err_r);
}

static inline int
store_rollback_to(struct store *st)
{
	return st->ops->rollback_to(st);
}

/* Admin. Names are validated by the caller (cli); the store lower-cases
 * domains and local parts. Errors: "domain already exists", "no such
 * domain", "domain still has users or aliases", "user already exists",
 * "no such user", "alias already exists", "no such alias", "source domain
 * is not hosted", "invalid address". */
static inline int
store_domain_add(struct store *st, const char *domain, const char **err_r)
{
	return st->ops->domain_add(st, domain, err_r);
}

/* Refuses while the domain still has users or aliases. */
static inline int
store_domain_del(struct store *st, const char *domain, const char **err_r)
{
	return st->ops->domain_del(st, domain, err_r);
}

/* *names_r: NULL-terminated, sorted; free with store_strv_free. */
static inline int
store_domain_list(struct store *st, char ***names_r, const char **err_r)
{
	return st->ops->domain_list(st, names_r, err_r);
}

/* 1 hosted, 0 not, -1 error. */
static inline int
store_domain_exists(struct store *st, const char *domain)
{
	return st->ops->domain_exists(st, domain);
}

/* Creates the account and its mailboxes: INBOX, Drafts, Sent, Junk, Trash,
 * Archive (with SPECIAL-USE attributes). The domain must exist. */
static inline int
store_user_add(struct store *st, const char *address, const char *pwhash,
	       const char **err_r)
{
	return st->ops->user_add(st, address, pwhash, err_r);
}

static inline int
store_user_passwd(struct store *st, const char *address, const char *pwhash,
		  const char **err_r)
{
	return st->ops->user_passwd(st, address, pwhash, err_r);
}

/* Removes the account, its mailboxes and messages; *orphan_blobs_r lists
 * blob paths no longer referenced (the caller unlinks them after commit). */
static inline int
store_user_del(struct store *st, const char *address, char ***orphan_blobs_r,
	       const char **err_r)
{
	return st->ops->user_del(st, address, orphan_blobs_r, err_r);
}

static inline int
store_user_list(struct store *st, const char *domain_or_null,
		char ***addresses_r, const char **err_r)
{
	return st->ops->user_list(st, domain_or_null, addresses_r, err_r);
}

/* 1 found (acct_r filled), 0 no such account, -1 error. */
static inline int
store_account_lookup(struct store *st, const char *address,
		     struct store_account *acct_r)
{
	return st->ops->account_lookup(st, address, acct_r);
}

/* source is "local@domain" or "@domain" (catch-all); target is any address.
 * The source domain must be hosted. */
/* What "postel alias add" refuses before store_alias_add (the store
 * itself takes any alias: tests build odd ones, and a user deleted later
 * leaves them anyway): "source is a user" (mail to it reaches that
 * mailbox, the alias would never apply), "target does not exist" (a
 * hosted address that reaches nobody), "alias would make a loop" (the
 * target's aliases lead back to the source). Run in the same transaction
 * as the add. */
/* The aliases ("source target", as store_alias_list) whose target
 * reaches no account and no external address, a catch-all not counted:
 * what "postel user del" removes when the user was what they reached.
 * NULL when none. */
static inline int
store_alias_dangling(struct store *st, char ***lines_r, const char **err_r)
{
	return st->ops->alias_dangling(st, lines_r, err_r);
}

static inline int
store_alias_check(struct store *st, const char *source, const char *target,
		  const char **err_r)
{
	return st->ops->alias_check(st, source, target, err_r);
}

static inline int
store_alias_add(struct store *st, const char *source, const char *target,
		const char **err_r)
{
	return st->ops->alias_add(st, source, target, err_r);
}

/* target NULL removes every target of source. */
static inline int
store_alias_del(struct store *st, const char *source,
		const char *target_or_null, const char **err_r)
{
	return st->ops->alias_del(st, source, target_or_null, err_r);
}

/* Lines "source target", sorted. */
static inline int
store_alias_list(struct store *st, const char *domain_or_null, char ***lines_r,
		 const char **err_r)
{
	return st->ops->alias_list(st, domain_or_null, lines_r, err_r);
}

/* Resolves an envelope recipient to local accounts: exact account, then
 * "local+tag" -> "local", then aliases (expanded recursively, at most 8
 * levels, loops ignored), then the domain's catch-all. Domain matching is
 * case-insensitive. *accounts_r is malloc'ed, distinct ids (NULL, *n_r 0
 * when none). Alias targets outside our domains, reached the same way,
 * go to *remote_r: a NULL-terminated malloc'ed list of distinct
 * addresses (domain lower-cased) for the outbound queue, NULL when there
 * are none; free with store_strv_free. STORE_RCPT_OK when there are
 * accounts or remote targets. remote_r may be NULL: external targets are
 * then ignored (an alias with only those resolves to NO_USER). */
static inline enum store_rcpt_status
store_resolve_rcpt(struct store *st, const char *address, int64_t **accounts_r,
		   size_t *n_r, char ***remote_r)
{
	return st->ops->resolve_rcpt(st, address, accounts_r, n_r, remote_r);
}

/* Inserts one message row per account into its INBOX: next UID, bumps
 * UIDNEXT and HIGHESTMODSEQ, and one blob row with the refcount; stores
 * d->meta for the blob when given (once per blob, as store_meta_put).
 * Call inside a transaction. */
static inline int
store_deliver(struct store *st, const struct store_delivery *d,
	      const char **err_r)
{
	return st->ops->deliver(st, d, err_r);
}

/* 1 found, 0 no such mailbox, -1 error. mailbox is the name ("INBOX"). */
static inline int
store_mailbox_info(struct store *st, int64_t account_id, const char *mailbox,
		   struct store_mailbox_info *info_r)
{
	return st->ops->mailbox_info(st, account_id, mailbox, info_r);
}

/* All messages of the mailbox in UID order; *msgs_r malloc'ed. */
static inline int
store_mailbox_messages(struct store *st, int64_t mailbox_id,
		       struct store_msg **msgs_r, size_t *n_r,
		       const char **err_r)
{
	return st->ops->mailbox_messages(st, mailbox_id, msgs_r, n_r, err_r);
}

/* Removes the listed messages (ids not in the mailbox are ignored),
 * bumping HIGHESTMODSEQ and recording their UIDs as vanished with it (so
 * QRESYNC clients see POP3 deletions); *orphan_blobs_r as in
 * store_user_del. */
static inline int
store_messages_expunge(struct store *st, int64_t mailbox_id,
		       const int64_t *msg_ids, size_t n,
		       char ***orphan_blobs_r, const char **err_r)
{
	return st->ops->messages_expunge(st, mailbox_id, msg_ids, n,
					 orphan_blobs_r, err_r);
}

/* ---- Sender identity on submission ------------------------------- */

/* May the account send as address (MAIL FROM, From:, Sender:)? 1 yes, 0
 * no, -1 error (st->err). Yes when the address (case-insensitive) is the
 * account's own or a "+tag" form of it, an alias that delivers to it by
 * the rules of store_resolve_rcpt WITHOUT any catch-all (a catch-all is
 * for receiving: it would hand every address of the domain to whoever it
 * delivers to), or matches one of the account's grants: "local@domain"
 * (and its "+tag" forms) or "@domain" (every address of the domain). */
static inline int
store_sender_allowed(struct store *st, int64_t account_id, const char *address)
{
	return st->ops->sender_allowed(st, account_id, address);
}

/* Grants: account is an existing account's address; pattern is
 * "local@domain" or "@domain", stored lower-case. Errors: "no such user",
 * "invalid sender pattern", "grant already exists" (add), "no such grant"
 * (del). Deleting the account deletes its grants (ON DELETE CASCADE). */
static inline int
store_sender_grant_add(struct store *st, const char *account,
		       const char *pattern, const char **err_r)
{
	return st->ops->sender_grant_add(st, account, pattern, err_r);
}

static inline int
store_sender_grant_del(struct store *st, const char *account,
		       const char *pattern, const char **err_r)
{
	return st->ops->sender_grant_del(st, account, pattern, err_r);
}

/* *patterns_r: NULL-terminated, sorted; free with store_strv_free. */
static inline int
store_sender_grant_list(struct store *st, const char *account,
			char ***patterns_r, const char **err_r)
{
	return st->ops->sender_grant_list(st, account, patterns_r, err_r);
}

void store_strv_free(char **v);

extern const struct store_ops store_sqlite_ops;

#include "store_imap.h" /* the IMAP operations */
#include "store_queue.h" /* the outbound queue's rows */

#endif
