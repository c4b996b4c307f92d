/*
 * The IMAP operations of the store (mailboxes, UIDs, flags, metadata):
 * part of the interface of store.h, which includes this file at its end;
 * include store.h.
 */
#ifndef POSTEL_STORE_IMAP_H
#define POSTEL_STORE_IMAP_H

#include "store.h"

/* Mailbox names: 1..STORE_MAILBOX_NAME_MAX octets, else "invalid mailbox
 * name" / "mailbox name too long" (a lookup of such a name finds nothing).
 * "INBOX" in any case, alone or as the first level ("inbox/x"), is stored
 * and matched as "INBOX" (RFC 9051 §5.1); other names are case-sensitive.
 * Counters (messages, unseen = without \Seen, deleted = with \Deleted,
 * size) are kept in the mailbox row by every write, so reading them costs
 * one row whatever the mailbox size. */

/* Every mailbox of the account, INBOX first, then in byte order of the
 * name, with counters; *boxes_r malloc'ed (NULL when n is 0). */
static inline int
store_mailbox_list(struct store *st, int64_t account_id,
		   struct store_mailbox **boxes_r, size_t *n_r,
		   const char **err_r)
{
	return st->ops->mailbox_list(st, account_id, boxes_r, n_r, err_r);
}

/* 1 found (with counters), 0 no such mailbox, -1 error. "INBOX" matches
 * case-insensitively (RFC 9051 §5.1). */
static inline int
store_mailbox_get(struct store *st, int64_t account_id, const char *name,
		  struct store_mailbox *box_r)
{
	return st->ops->mailbox_get(st, account_id, name, box_r);
}

/* New mailbox with a fresh UIDVALIDITY (store-wide counter: a name never
 * gets a UIDVALIDITY it had before), UIDNEXT 1, not subscribed;
 * special_use may be NULL or "". id_r may be NULL. Errors: "mailbox
 * already exists", "invalid special-use attribute" (15 octets at most),
 * "no such account", name errors. Parents are not created (the caller
 * does). */
static inline int
store_mailbox_create(struct store *st, int64_t account_id, const char *name,
		     const char *special_use, int64_t *id_r,
		     const char **err_r)
{
	return st->ops->mailbox_create(st, account_id, name, special_use, id_r,
				       err_r);
}

/* Deletes the mailbox, its messages and vanished records (orphans as in
 * store_user_del). Errors: "cannot delete INBOX", "no such mailbox".
 * Children and subscriptions are left alone (RFC 9051 §6.3.4, §6.3.9). */
static inline int
store_mailbox_delete(struct store *st, int64_t account_id, const char *name,
		     char ***orphan_blobs_r, const char **err_r)
{
	return st->ops->mailbox_delete(st, account_id, name, orphan_blobs_r,
				       err_r);
}

/* Renames the mailbox and every child ("a" -> "b" makes "a/x" "b/x", not
 * "ab"); the renamed mailboxes keep id, UIDVALIDITY, UIDs and MODSEQs, and
 * their subscriptions move with them. Renaming INBOX moves its messages to
 * a new mailbox (fresh UIDVALIDITY, same UIDs and UIDNEXT) and leaves INBOX
 * empty with its UIDVALIDITY and UIDNEXT, the moved UIDs recorded as
 * vanished with a new MODSEQ; children of INBOX stay (RFC 9051 §6.3.6).
 * Errors: "no such mailbox", "mailbox already exists" (the target or any
 * new child name exists, also when from equals to), "cannot rename a
 * mailbox into itself" (to below from), "mailbox name too long"; nothing
 * changes on error. Missing parents of to are not created. */
static inline int
store_mailbox_rename(struct store *st, int64_t account_id, const char *from,
		     const char *to, const char **err_r)
{
	return st->ops->mailbox_rename(st, account_id, from, to, err_r);
}

/* Subscriptions are names, whether or not the mailbox exists. Both
 * directions are idempotent (subscribing twice or unsubscribing a name
 * that is not subscribed succeeds). Errors: name errors, "no such
 * account". The standard mailboxes of a new account start subscribed.
 * store_subscriptions: NULL-terminated, INBOX first then byte order;
 * free with store_strv_free. */
static inline int
store_subscribe(struct store *st, int64_t account_id, const char *name,
		bool on, const char **err_r)
{
	return st->ops->subscribe(st, account_id, name, on, err_r);
}

static inline int
store_subscriptions(struct store *st, int64_t account_id, char ***names_r,
		    const char **err_r)
{
	return st->ops->subscriptions(st, account_id, names_r, err_r);
}

/* RFC 5464 METADATA entries of (account_id, mailbox_id): mailbox_id 0
 * holds the server entries (account_id 0: the server's /shared ones, an
 * account: its /private ones). List: by name; *v_r NULL when none, free
 * with store_metadata_free. Set: value NULL deletes; with max_entries > 0
 * an account holding more entries after the write fails with "too many
 * entries" (inside the caller's transaction, which then undoes it). */
static inline int
store_metadata_list(struct store *st, int64_t account_id, int64_t mailbox_id,
		    struct store_metadata **v_r, size_t *n_r,
		    const char **err_r)
{
	return st->ops->metadata_list(st, account_id, mailbox_id, v_r, n_r,
				      err_r);
}

static inline int
store_metadata_set(struct store *st, int64_t account_id, int64_t mailbox_id,
		   const char *name, const char *value, size_t len,
		   size_t max_entries, const char **err_r)
{
	return st->ops->metadata_set(st, account_id, mailbox_id, name, value,
				     len, max_entries, err_r);
}

/* Messages of the mailbox in UID order; with changedsince > 0 only those
 * whose modseq is greater. *msgs_r NULL when none. Error: "no such
 * mailbox". */
static inline int
store_mailbox_imsgs(struct store *st, int64_t mailbox_id,
		    uint64_t changedsince, struct store_imsg **msgs_r,
		    size_t *n_r, const char **err_r)
{
	return st->ops->mailbox_imsgs(st, mailbox_id, changedsince, msgs_r,
				      n_r, err_r);
}

void store_imsgs_free(struct store_imsg *msgs, size_t n);
/* As store_mailbox_imsgs, only what a selected view keeps; the array is
 * exactly n long. */
static inline int
store_mailbox_vmsgs(struct store *st, int64_t mailbox_id,
		    uint64_t changedsince, struct store_vmsg **msgs_r,
		    size_t *n_r, const char **err_r)
{
	return st->ops->mailbox_vmsgs(st, mailbox_id, changedsince, msgs_r,
				      n_r, err_r);
}

void store_vmsgs_free(struct store_vmsg *msgs, size_t n);
/* RFC 3501 §2.3.2 \Recent, in a transaction (commit thread): claims the
 * messages no session has claimed yet, raising the mailbox's recent_uid
 * to UIDNEXT - 1. The claimed UIDs are (*from_r, *to_r]; equal when there
 * was nothing to claim (also for a mailbox that does not exist). */
static inline int
store_recent_claim(struct store *st, int64_t mailbox_id, uint32_t *from_r,
		   uint32_t *to_r, const char **err_r)
{
	return st->ops->recent_claim(st, mailbox_id, from_r, to_r, err_r);
}

/* How many messages of the mailbox have a UID above `above` (STATUS
 * RECENT with the mailbox's recent_uid). */
static inline int
store_recent_count(struct store *st, int64_t mailbox_id, uint32_t above,
		   uint32_t *count_r, const char **err_r)
{
	return st->ops->recent_count(st, mailbox_id, above, count_r, err_r);
}
/* The search fields of every message of the mailbox, in UID order (for
 * SEARCH and SORT); fields NULL where they are not stored. Free with
 * store_fields_free. Error: "no such mailbox". */
int store_mailbox_fields(struct store *st, int64_t mailbox_id,
			 struct store_fields **fields_r, size_t *n_r,
			 const char **err_r);
void store_fields_free(struct store_fields *f, size_t n);
/* The messages of the mailbox with the given UIDs (ascending, at most
 * STORE_IMSGS_UIDS_MAX), in UID order; UIDs no longer there are left
 * out. Error: "no such mailbox", "too many UIDs". */
#define STORE_IMSGS_UIDS_MAX 1024
int store_mailbox_imsgs_uids(struct store *st, int64_t mailbox_id,
			     const uint32_t *uids, size_t n,
			     struct store_imsg **msgs_r, size_t *n_r,
			     const char **err_r);
/* UIDs expunged from the mailbox with a modseq greater than since
 * (QRESYNC VANISHED, RFC 7162 §3.2.10), ascending; since 0 gives every
 * UID ever expunged (the history is kept for the mailbox's lifetime).
 * Covers IMAP EXPUNGE/MOVE, POP3 deletions and RENAME INBOX. *uids_r
 * malloc'ed, NULL when none. Error: "no such mailbox". */
static inline int
store_vanished_since(struct store *st, int64_t mailbox_id, uint64_t since,
		     uint32_t **uids_r, size_t *n_r, const char **err_r)
{
	return st->ops->vanished_since(st, mailbox_id, since, uids_r, n_r,
				       err_r);
}

/* The stored ENVELOPE/BODY/BODYSTRUCTURE/part map of a blob: 1 found, 0
 * none stored (or no such blob), -1 error. The strings are NUL-terminated;
 * partmap is NULL when partmap_len is 0. *r is zeroed unless 1. Free with
 * store_meta_free. */
static inline int
store_meta_get(struct store *st, int64_t blob_id, struct store_meta *r)
{
	return st->ops->meta_get(st, blob_id, r);
}

/* Stores metadata for a blob that has none (messages delivered before);
 * when it has some already, the first stays and this succeeds. envelope,
 * body and bodystructure must be non-empty ("incomplete message
 * metadata"); partmap may be NULL. Error: "no such blob". store_deliver
 * and store_append store d->meta the same way. */
static inline int
store_meta_put(struct store *st, int64_t blob_id,
	       const struct store_meta *meta, const char **err_r)
{
	return st->ops->meta_put(st, blob_id, meta, err_r);
}

void store_meta_free(struct store_meta *m);

/* 1 when a blob row references the message file path (relative to the
 * data dir, "msg/YYYYMMDD/<id>"), 0 when none does, -1 on error. */
static inline int
store_blob_known(struct store *st, const char *path)
{
	return st->ops->blob_known(st, path);
}

/* The octets of a message kept in the store ("db/" path, blob.h) in a
 * new NUL-terminated buffer the caller frees; 0, or -1 with *err_r (also
 * when the store has no such body). Any thread, with its own handle. */
static inline int
store_blob_data(struct store *st, const char *path, char **data_r,
		size_t *len_r, const char **err_r)
{
	return st->ops->blob_data(st, path, data_r, len_r, err_r);
}

/* The stored bodies among paths (NULL-terminated) that an IMAP expunge
 * kept for its readers (blob_trash), released now: deleted. Files are
 * ignored (the caller unlinks them). 0 or -1 (*err_r). */
static inline int
store_blob_drop(struct store *st, char *const *paths, const char **err_r)
{
	return st->ops->blob_drop(st, paths, err_r);
}

/* The start-up sweep of stored bodies kept in blob_trash since before
 * (unix seconds; their server is gone): deleted, *n_r of them. 0 or -1. */
static inline int
store_blob_trash_sweep(struct store *st, int64_t before, size_t *n_r,
		       const char **err_r)
{
	return st->ops->blob_trash_sweep(st, before, n_r, err_r);
}

/* APPEND: one message into one mailbox with flags and keywords, next UID,
 * bumps UIDNEXT and HIGHESTMODSEQ. In a transaction (commit thread).
 * d->accounts is ignored; the blob gets one more reference (a new row
 * when its path is new). Flags outside enum store_flag are dropped;
 * keywords are de-duplicated case-insensitively. uid_r may be NULL.
 * Errors: "no such mailbox", "invalid keyword", "too many keywords",
 * "invalid message" (empty blob path), "mailbox UID space exhausted". */
static inline int
store_append(struct store *st, int64_t mailbox_id,
	     const struct store_delivery *d, uint32_t flags,
	     char *const *keywords, size_t n_keywords, uint32_t *uid_r,
	     const char **err_r)
{
	return st->ops->append(st, mailbox_id, d, flags, keywords, n_keywords,
			       uid_r, err_r);
}

/* STORE: changes flags of the listed UIDs (missing ones are skipped;
 * duplicates and 0 ignored). SET replaces flags and keywords (no keywords
 * = none), ADD/REMOVE add or drop the given ones (keywords compared
 * case-insensitively). With unchangedsince > 0, a message whose modseq is
 * greater is left alone and its UID reported in *failed_r (RFC 7162
 * §3.1.3; UNCHANGEDSINCE 0 is the caller's: every message fails). Changed
 * messages all get the same new modseq (HIGHESTMODSEQ + 1, one bump per
 * call, none when nothing changed); messages whose flags and keywords do
 * not change keep theirs and are not reported. *changes_r and *failed_r
 * are malloc'ed in ascending UID order, NULL when empty. Errors: "no such
 * mailbox", "invalid keyword", "too many keywords" (more than
 * STORE_KEYWORDS_MAX on one message: nothing is changed). */
static inline int
store_flags_change(struct store *st, int64_t mailbox_id, const uint32_t *uids,
		   size_t n, enum store_flag_mode mode, uint32_t flags,
		   char *const *keywords, size_t n_keywords,
		   uint64_t unchangedsince,
		   struct store_flag_change **changes_r, size_t *n_changes_r,
		   uint32_t **failed_r, size_t *n_failed_r, const char **err_r)
{
	return st->ops->flags_change(st, mailbox_id, uids, n, mode, flags,
				     keywords, n_keywords, unchangedsince,
				     changes_r, n_changes_r, failed_r,
				     n_failed_r, err_r);
}

void store_flag_changes_free(struct store_flag_change *c, size_t n);
/* COPY: copies the listed UIDs (missing ones skipped) with their flags
 * and keywords, sharing the blob (refcount). *src_uids_r and *dst_uids_r give
 * the COPYUID mapping (RFC 4315), in the same order. The source UIDs come
 * ascending (duplicates dropped) and the new UIDs are consecutive from
 * the destination's UIDNEXT, all with one new modseq; src may equal dst.
 * Nothing copied: 0 with *n_copied_r 0, NULL arrays, no change. Errors:
 * "no such mailbox" (either one), "mailbox UID space exhausted". */
static inline int
store_copy(struct store *st, int64_t src_mailbox, int64_t dst_mailbox,
	   const uint32_t *uids, size_t n, uint32_t **src_uids_r,
	   uint32_t **dst_uids_r, size_t *n_copied_r, const char **err_r)
{
	return st->ops->copy(st, src_mailbox, dst_mailbox, uids, n, src_uids_r,
			     dst_uids_r, n_copied_r, err_r);
}

/* EXPUNGE by UID (IMAP), recording each UID as vanished with the new
 * modseq. Orphans as in store_user_del. Removes the listed messages
 * whatever their flags (the caller picks \Deleted ones; MOVE uses it
 * too); missing UIDs are skipped; nothing removed = no new modseq and no
 * error, also for a mailbox that does not exist. */
static inline int
store_expunge_uids(struct store *st, int64_t mailbox_id, const uint32_t *uids,
		   size_t n, char ***orphan_blobs_r, const char **err_r)
{
	return st->ops->expunge_uids(st, mailbox_id, uids, n, orphan_blobs_r,
				     err_r);
}

#endif
