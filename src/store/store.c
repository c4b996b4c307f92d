/*
 * Backend selection and the thin store_* dispatch functions (store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static const struct store_ops *
store_backend(const char *url)
{
	if (url == NULL || url[0] == '\0' || strcmp(url, "sqlite") == 0)
		return &store_sqlite_ops;
	return NULL;
}

struct store *
store_open(const char *url, const char *data_dir, char *err, size_t errlen)
{
	const struct store_ops *ops = store_backend(url);
	struct store *st;
	const char *why = NULL;

	if (ops == NULL) {
		/* Only the scheme: a URL may carry a password. */
		snprintf(err, errlen, "unknown store backend \"%.*s\"",
			 (int)strcspn(url, ":"), url);
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->ops = ops;
	if (ops->open(st, data_dir, &why) < 0) {
		snprintf(err, errlen, "%s", why != NULL ? why : "open failed");
		free(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store **stp)
{
	struct store *st = *stp;

	if (st == NULL)
		return;
	st->ops->close(st);
	free(st);
	*stp = NULL;
}

int
store_begin(struct store *st, const char **err_r)
{
	return st->ops->begin(st, err_r);
}

int
store_read_begin(struct store *st, const char **err_r)
{
	return st->ops->read_begin(st, err_r);
}

void
store_read_end(struct store *st)
{
	st->ops->read_end(st);
}

int
store_commit(struct store *st, const char **err_r)
{
	return st->ops->commit(st, err_r);
}

int
store_rollback(struct store *st)
{
	return st->ops->rollback(st);
}

int
store_savepoint(struct store *st, const char **err_r)
{
	return st->ops->savepoint(st, err_r);
}

int
store_release(struct store *st, const char **err_r)
{
	return st->ops->release(st, err_r);
}

int
store_rollback_to(struct store *st)
{
	return st->ops->rollback_to(st);
}

int
store_domain_add(struct store *st, const char *domain, const char **err_r)
{
	return st->ops->domain_add(st, domain, err_r);
}

int
store_domain_del(struct store *st, const char *domain, const char **err_r)
{
	return st->ops->domain_del(st, domain, err_r);
}

int
store_domain_list(struct store *st, char ***names_r, const char **err_r)
{
	return st->ops->domain_list(st, names_r, err_r);
}

int
store_domain_exists(struct store *st, const char *domain)
{
	return st->ops->domain_exists(st, domain);
}

int
store_user_add(struct store *st, const char *address, const char *pwhash,
	       const char **err_r)
{
	return st->ops->user_add(st, address, pwhash, err_r);
}

int
store_user_passwd(struct store *st, const char *address, const char *pwhash,
		  const char **err_r)
{
	return st->ops->user_passwd(st, address, pwhash, err_r);
}

int
store_user_del(struct store *st, const char *address, char ***orphan_blobs_r,
	       const char **err_r)
{
	return st->ops->user_del(st, address, orphan_blobs_r, err_r);
}

int
store_user_list(struct store *st, const char *domain_or_null,
		char ***addresses_r, const char **err_r)
{
	return st->ops->user_list(st, domain_or_null, addresses_r, err_r);
}

int
store_account_lookup(struct store *st, const char *address,
		     struct store_account *acct_r)
{
	return st->ops->account_lookup(st, address, acct_r);
}

int
store_alias_add(struct store *st, const char *source, const char *target,
		const char **err_r)
{
	return st->ops->alias_add(st, source, target, err_r);
}

int
store_alias_del(struct store *st, const char *source,
		const char *target_or_null, const char **err_r)
{
	return st->ops->alias_del(st, source, target_or_null, err_r);
}

int
store_alias_list(struct store *st, const char *domain_or_null, char ***lines_r,
		 const char **err_r)
{
	return st->ops->alias_list(st, domain_or_null, lines_r, err_r);
}

int
store_sender_allowed(struct store *st, int64_t account_id, const char *address)
{
	return st->ops->sender_allowed(st, account_id, address);
}

int
store_sender_grant_add(struct store *st, const char *account,
		       const char *pattern, const char **err_r)
{
	return st->ops->sender_grant_add(st, account, pattern, err_r);
}

int
store_sender_grant_del(struct store *st, const char *account,
		       const char *pattern, const char **err_r)
{
	return st->ops->sender_grant_del(st, account, pattern, err_r);
}

int
store_sender_grant_list(struct store *st, const char *account,
			char ***patterns_r, const char **err_r)
{
	return st->ops->sender_grant_list(st, account, patterns_r, err_r);
}

enum store_rcpt_status
store_resolve_rcpt(struct store *st, const char *address, int64_t **accounts_r,
		   size_t *n_r)
{
	return st->ops->resolve_rcpt(st, address, accounts_r, n_r);
}

int
store_deliver(struct store *st, const struct store_delivery *d,
	      const char **err_r)
{
	return st->ops->deliver(st, d, err_r);
}

int
store_mailbox_info(struct store *st, int64_t account_id, const char *mailbox,
		   struct store_mailbox_info *info_r)
{
	return st->ops->mailbox_info(st, account_id, mailbox, info_r);
}

int
store_mailbox_messages(struct store *st, int64_t mailbox_id,
		       struct store_msg **msgs_r, size_t *n_r,
		       const char **err_r)
{
	return st->ops->mailbox_messages(st, mailbox_id, msgs_r, n_r, err_r);
}

int
store_messages_expunge(struct store *st, int64_t mailbox_id,
		       const int64_t *msg_ids, size_t n,
		       char ***orphan_blobs_r, const char **err_r)
{
	return st->ops->messages_expunge(st, mailbox_id, msg_ids, n,
					 orphan_blobs_r, err_r);
}

void
store_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* ---- IMAP (issue 3) ------------------------------------------------- */

int
store_mailbox_list(struct store *st, int64_t account_id,
		   struct store_mailbox **boxes_r, size_t *n_r,
		   const char **err_r)
{
	return st->ops->mailbox_list(st, account_id, boxes_r, n_r, err_r);
}

int
store_mailbox_get(struct store *st, int64_t account_id, const char *name,
		  struct store_mailbox *box_r)
{
	return st->ops->mailbox_get(st, account_id, name, box_r);
}

int
store_mailbox_create(struct store *st, int64_t account_id, const char *name,
		     const char *special_use, int64_t *id_r,
		     const char **err_r)
{
	return st->ops->mailbox_create(st, account_id, name, special_use, id_r,
				       err_r);
}

int
store_mailbox_delete(struct store *st, int64_t account_id, const char *name,
		     char ***orphan_blobs_r, const char **err_r)
{
	return st->ops->mailbox_delete(st, account_id, name, orphan_blobs_r,
				       err_r);
}

int
store_mailbox_rename(struct store *st, int64_t account_id, const char *from,
		     const char *to, const char **err_r)
{
	return st->ops->mailbox_rename(st, account_id, from, to, err_r);
}

int
store_subscribe(struct store *st, int64_t account_id, const char *name,
		bool on, const char **err_r)
{
	return st->ops->subscribe(st, account_id, name, on, err_r);
}

int
store_subscriptions(struct store *st, int64_t account_id, char ***names_r,
		    const char **err_r)
{
	return st->ops->subscriptions(st, account_id, names_r, err_r);
}

int
store_mailbox_imsgs(struct store *st, int64_t mailbox_id,
		    uint64_t changedsince, struct store_imsg **msgs_r,
		    size_t *n_r, const char **err_r)
{
	return st->ops->mailbox_imsgs(st, mailbox_id, changedsince, msgs_r,
				      n_r, err_r);
}

void
store_imsgs_free(struct store_imsg *msgs, size_t n)
{
	if (msgs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(msgs[i].keywords);
	free(msgs);
}

int
store_mailbox_vmsgs(struct store *st, int64_t mailbox_id,
		    uint64_t changedsince, struct store_vmsg **msgs_r,
		    size_t *n_r, const char **err_r)
{
	return st->ops->mailbox_vmsgs(st, mailbox_id, changedsince, msgs_r,
				      n_r, err_r);
}

void
store_vmsgs_free(struct store_vmsg *msgs, size_t n)
{
	if (msgs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(msgs[i].keywords);
	free(msgs);
}

int
store_mailbox_fields(struct store *st, int64_t mailbox_id,
		     struct store_fields **fields_r, size_t *n_r,
		     const char **err_r)
{
	*fields_r = NULL;
	*n_r = 0;
	return st->ops->mailbox_fields(st, mailbox_id, fields_r, n_r, err_r);
}

void
store_fields_free(struct store_fields *f, size_t n)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(f[i].fields);
	free(f);
}

int
store_mailbox_imsgs_uids(struct store *st, int64_t mailbox_id,
			 const uint32_t *uids, size_t n,
			 struct store_imsg **msgs_r, size_t *n_r,
			 const char **err_r)
{
	*msgs_r = NULL;
	*n_r = 0;
	if (n > STORE_IMSGS_UIDS_MAX) {
		*err_r = "too many UIDs";
		return -1;
	}
	return st->ops->mailbox_imsgs_uids(st, mailbox_id, uids, n, msgs_r,
					   n_r, err_r);
}

int
store_vanished_since(struct store *st, int64_t mailbox_id, uint64_t since,
		     uint32_t **uids_r, size_t *n_r, const char **err_r)
{
	return st->ops->vanished_since(st, mailbox_id, since, uids_r, n_r,
				       err_r);
}

int
store_meta_get(struct store *st, int64_t blob_id, struct store_meta *r)
{
	return st->ops->meta_get(st, blob_id, r);
}

int
store_blob_known(struct store *st, const char *path)
{
	return st->ops->blob_known(st, path);
}

int
store_meta_put(struct store *st, int64_t blob_id,
	       const struct store_meta *meta, const char **err_r)
{
	return st->ops->meta_put(st, blob_id, meta, err_r);
}

void
store_meta_free(struct store_meta *m)
{
	if (m == NULL)
		return;
	free(m->envelope);
	free(m->body);
	free(m->bodystructure);
	free(m->partmap);
	free(m->fields);
	memset(m, 0, sizeof(*m));
}

int
store_append(struct store *st, int64_t mailbox_id,
	     const struct store_delivery *d, uint32_t flags,
	     char *const *keywords, size_t n_keywords, uint32_t *uid_r,
	     const char **err_r)
{
	return st->ops->append(st, mailbox_id, d, flags, keywords, n_keywords,
			       uid_r, err_r);
}

int
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

void
store_flag_changes_free(struct store_flag_change *c, size_t n)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(c[i].keywords);
	free(c);
}

int
store_copy(struct store *st, int64_t src_mailbox, int64_t dst_mailbox,
	   const uint32_t *uids, size_t n, uint32_t **src_uids_r,
	   uint32_t **dst_uids_r, size_t *n_copied_r, const char **err_r)
{
	return st->ops->copy(st, src_mailbox, dst_mailbox, uids, n, src_uids_r,
			     dst_uids_r, n_copied_r, err_r);
}

int
store_expunge_uids(struct store *st, int64_t mailbox_id, const uint32_t *uids,
		   size_t n, char ***orphan_blobs_r, const char **err_r)
{
	return st->ops->expunge_uids(st, mailbox_id, uids, n, orphan_blobs_r,
				     err_r);
}

int
store_quota_get(struct store *st, int64_t account_id, int64_t *quota_r,
		uint64_t *usage_r, const char **err_r)
{
	return st->ops->quota_get(st, account_id, quota_r, usage_r, err_r);
}

int
store_quota_set(struct store *st, const char *address, int64_t quota,
		const char **err_r)
{
	return st->ops->quota_set(st, address, quota, err_r);
}

uint64_t
store_quota_limit(int64_t quota, uint64_t quota_default)
{
	return quota < 0 ? quota_default : (uint64_t)quota;
}

bool
store_quota_exceeded(uint64_t limit, uint64_t usage, uint64_t add)
{
	/* Written so that no sum can wrap. */
	return limit > 0 && (usage > limit || add > limit - usage);
}
