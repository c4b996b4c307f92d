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

#define STORE_SCHEMA_VERSION 1

/* IMAP system flags (RFC 9051 §2.3.2), kept as a bit mask. */
enum store_flag {
	STORE_FLAG_SEEN = 1 << 0,
	STORE_FLAG_ANSWERED = 1 << 1,
	STORE_FLAG_FLAGGED = 1 << 2,
	STORE_FLAG_DELETED = 1 << 3,
	STORE_FLAG_DRAFT = 1 << 4,
};

/* Result of resolving an envelope recipient. */
enum store_rcpt_status {
	STORE_RCPT_OK = 0,        /* *accounts_r holds >= 1 account ids */
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
};

/* A message to deliver into the INBOX of each listed account, in one
 * transaction. The blob file is already written and fsynced (blob.h). */
struct store_delivery {
	char blob[64];            /* relative path, from blob_write() */
	int64_t size;
	int64_t internaldate;
	const int64_t *accounts;  /* distinct account ids */
	size_t n_accounts;
	const struct store_meta *meta; /* may be NULL (computed on demand) */
};

/* ---- IMAP (issue 3) ------------------------------------------------- */

struct store;

#define STORE_MAILBOX_NAME_MAX 512

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
};

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
};

/* Result of a flag change for one message (STORE, RFC 7162). */
struct store_flag_change {
	uint32_t uid;
	uint32_t flags;
	char *keywords;   /* malloc'ed or NULL */
	uint64_t modseq;
};

enum store_flag_mode { STORE_FLAGS_SET = 0, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };

/* Every mailbox of the account, sorted by name (INBOX first), with
 * counters. */
int store_mailbox_list(struct store *st, int64_t account_id,
		       struct store_mailbox **boxes_r, size_t *n_r,
		       const char **err_r);
/* 1 found (with counters), 0 no such mailbox, -1 error. "INBOX" matches
 * case-insensitively (RFC 9051 §5.1). */
int store_mailbox_get(struct store *st, int64_t account_id, const char *name,
		      struct store_mailbox *box_r);
/* New mailbox with a fresh UIDVALIDITY; special_use may be NULL. Errors:
 * "mailbox already exists". Parents are not created (the caller does). */
int store_mailbox_create(struct store *st, int64_t account_id,
			 const char *name, const char *special_use,
			 int64_t *id_r, const char **err_r);
/* Deletes the mailbox and its messages (orphans as in store_user_del).
 * INBOX cannot be deleted; children are left alone. */
int store_mailbox_delete(struct store *st, int64_t account_id,
			 const char *name, char ***orphan_blobs_r,
			 const char **err_r);
/* Renames the mailbox and every child ("a" -> "b" makes "a/x" "b/x"); the
 * renamed mailboxes keep their UIDVALIDITY. Renaming INBOX moves its
 * messages to a new mailbox and leaves INBOX empty (RFC 9051 §6.3.6). */
int store_mailbox_rename(struct store *st, int64_t account_id,
			 const char *from, const char *to, const char **err_r);
/* Subscriptions are names, whether or not the mailbox exists. */
int store_subscribe(struct store *st, int64_t account_id, const char *name,
		    bool on, const char **err_r);
int store_subscriptions(struct store *st, int64_t account_id,
			char ***names_r, const char **err_r);

/* Messages of the mailbox in UID order; with changedsince > 0 only those
 * whose modseq is greater. */
int store_mailbox_imsgs(struct store *st, int64_t mailbox_id,
			uint64_t changedsince, struct store_imsg **msgs_r,
			size_t *n_r, const char **err_r);
void store_imsgs_free(struct store_imsg *msgs, size_t n);
/* UIDs expunged from the mailbox with a modseq greater than since
 * (QRESYNC VANISHED, RFC 7162 §3.2.10). */
int store_vanished_since(struct store *st, int64_t mailbox_id, uint64_t since,
			 uint32_t **uids_r, size_t *n_r, const char **err_r);

/* The stored ENVELOPE/BODY/BODYSTRUCTURE/part map of a blob: 1 found, 0
 * none stored, -1 error. Free with store_meta_free. */
int store_meta_get(struct store *st, int64_t blob_id, struct store_meta *r);
/* Stores metadata for a blob that has none (messages delivered before). */
int store_meta_put(struct store *st, int64_t blob_id,
		   const struct store_meta *meta, const char **err_r);
void store_meta_free(struct store_meta *m);

/* APPEND: one message into one mailbox with flags and keywords, next UID,
 * bumps UIDNEXT and HIGHESTMODSEQ. In a transaction (commit thread). */
int store_append(struct store *st, int64_t mailbox_id,
		 const struct store_delivery *d, uint32_t flags,
		 char *const *keywords, size_t n_keywords, uint32_t *uid_r,
		 const char **err_r);
/* STORE: changes flags of the listed UIDs (missing ones are skipped). With
 * unchangedsince > 0, a message whose modseq is greater is left alone and
 * its UID reported in *failed_r (RFC 7162 §3.1.3). Each changed message
 * gets a new modseq; messages whose flags do not change keep theirs. */
int store_flags_change(struct store *st, int64_t mailbox_id,
		       const uint32_t *uids, size_t n,
		       enum store_flag_mode mode, uint32_t flags,
		       char *const *keywords, size_t n_keywords,
		       uint64_t unchangedsince,
		       struct store_flag_change **changes_r, size_t *n_changes_r,
		       uint32_t **failed_r, size_t *n_failed_r,
		       const char **err_r);
void store_flag_changes_free(struct store_flag_change *c, size_t n);
/* COPY: copies the listed UIDs (missing ones skipped) with their flags
 * and keywords, sharing the blob (refcount). *src_uids_r and *dst_uids_r give
 * the COPYUID mapping (RFC 4315), in the same order. */
int store_copy(struct store *st, int64_t src_mailbox, int64_t dst_mailbox,
	       const uint32_t *uids, size_t n, uint32_t **src_uids_r,
	       uint32_t **dst_uids_r, size_t *n_copied_r, const char **err_r);
/* EXPUNGE by UID (IMAP), recording each UID as vanished with the new
 * modseq. Orphans as in store_user_del. */
int store_expunge_uids(struct store *st, int64_t mailbox_id,
		       const uint32_t *uids, size_t n,
		       char ***orphan_blobs_r, const char **err_r);

struct store;

struct store_ops {
	const char *name;
	int (*open)(struct store *st, const char *data_dir, const char **err_r);
	void (*close)(struct store *st);
	int (*begin)(struct store *st, const char **err_r);
	int (*commit)(struct store *st, const char **err_r);
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

	int (*alias_add)(struct store *st, const char *source,
			 const char *target, const char **err_r);
	int (*alias_del)(struct store *st, const char *source,
			 const char *target_or_null, const char **err_r);
	int (*alias_list)(struct store *st, const char *domain_or_null,
			  char ***lines_r, const char **err_r);

	enum store_rcpt_status (*resolve_rcpt)(struct store *st,
					       const char *address,
					       int64_t **accounts_r,
					       size_t *n_r);

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
};

struct store {
	const struct store_ops *ops;
	void *impl;            /* backend state */
	char err[256];         /* backing for *err_r strings */
};

/* Opens the backend named by url (NULL or "sqlite" = embedded SQLite in
 * data_dir), creating and migrating the schema when needed. NULL on
 * failure with a reason in err (errlen bytes). */
struct store *store_open(const char *url, const char *data_dir, char *err,
			 size_t errlen);
void store_close(struct store **stp);

/* Transactions: writes outside begin/commit are each their own. */
int store_begin(struct store *st, const char **err_r);
int store_commit(struct store *st, const char **err_r);
int store_rollback(struct store *st);
/* Nested savepoint inside a transaction: one failed job of a group commit
 * is undone without aborting the others. */
int store_savepoint(struct store *st, const char **err_r);
int store_release(struct store *st, const char **err_r);
int store_rollback_to(struct store *st);

/* Admin. Names are validated by the caller (cli); the store lower-cases
 * domains and local parts. Errors: "domain already exists", "no such
 * domain", "domain still has users or aliases", "user already exists",
 * "no such user", "alias already exists", "no such alias", "source domain
 * is not hosted", "invalid address". */
int store_domain_add(struct store *st, const char *domain, const char **err_r);
/* Refuses while the domain still has users or aliases. */
int store_domain_del(struct store *st, const char *domain, const char **err_r);
/* *names_r: NULL-terminated, sorted; free with store_strv_free. */
int store_domain_list(struct store *st, char ***names_r, const char **err_r);
/* 1 hosted, 0 not, -1 error. */
int store_domain_exists(struct store *st, const char *domain);

/* Creates the account and its mailboxes: INBOX, Drafts, Sent, Junk, Trash,
 * Archive (with SPECIAL-USE attributes). The domain must exist. */
int store_user_add(struct store *st, const char *address, const char *pwhash,
		   const char **err_r);
int store_user_passwd(struct store *st, const char *address,
		      const char *pwhash, const char **err_r);
/* Removes the account, its mailboxes and messages; *orphan_blobs_r lists
 * blob paths no longer referenced (the caller unlinks them after commit). */
int store_user_del(struct store *st, const char *address,
		   char ***orphan_blobs_r, const char **err_r);
int store_user_list(struct store *st, const char *domain_or_null,
		    char ***addresses_r, const char **err_r);
/* 1 found (acct_r filled), 0 no such account, -1 error. */
int store_account_lookup(struct store *st, const char *address,
			 struct store_account *acct_r);

/* source is "local@domain" or "@domain" (catch-all); target is any address.
 * The source domain must be hosted. */
int store_alias_add(struct store *st, const char *source, const char *target,
		    const char **err_r);
/* target NULL removes every target of source. */
int store_alias_del(struct store *st, const char *source,
		    const char *target_or_null, const char **err_r);
/* Lines "source target", sorted. */
int store_alias_list(struct store *st, const char *domain_or_null,
		     char ***lines_r, const char **err_r);

/* Resolves an envelope recipient to local accounts: exact account, then
 * "local+tag" -> "local", then aliases (expanded recursively, at most 8
 * levels, loops ignored), then the domain's catch-all. Domain matching is
 * case-insensitive. *accounts_r is malloc'ed, distinct ids. Alias targets
 * outside our domains are ignored until the outbound queue exists. */
enum store_rcpt_status store_resolve_rcpt(struct store *st,
					  const char *address,
					  int64_t **accounts_r, size_t *n_r);

/* Inserts one message row per account into its INBOX: next UID, bumps
 * UIDNEXT and HIGHESTMODSEQ, and one blob row with the refcount. Call
 * inside a transaction. */
int store_deliver(struct store *st, const struct store_delivery *d,
		  const char **err_r);
/* 1 found, 0 no such mailbox, -1 error. mailbox is the name ("INBOX"). */
int store_mailbox_info(struct store *st, int64_t account_id,
		       const char *mailbox, struct store_mailbox_info *info_r);
/* All messages of the mailbox in UID order; *msgs_r malloc'ed. */
int store_mailbox_messages(struct store *st, int64_t mailbox_id,
			   struct store_msg **msgs_r, size_t *n_r,
			   const char **err_r);
/* Removes the listed messages (ids not in the mailbox are ignored),
 * bumping HIGHESTMODSEQ; *orphan_blobs_r as in store_user_del. */
int store_messages_expunge(struct store *st, int64_t mailbox_id,
			   const int64_t *msg_ids, size_t n,
			   char ***orphan_blobs_r, const char **err_r);

void store_strv_free(char **v);

extern const struct store_ops store_sqlite_ops;

#endif
