/*
 * The SQL text of every statement of the SQLite backend, indexed by enum
 * store_sq_stmt. Kept apart from the code so the statements read as one
 * list; portable SQL (RETURNING, ON CONFLICT and row-value UPDATE exist in
 * PostgreSQL too) for the backend that will share them.
 */
#include "store_sqlite_int.h"

/* The columns of struct store_mailbox, in sq_mailbox_from_row order. */
#define SQ_MAILBOX_COLS \
	"b.id, b.name, b.special_use, b.uidvalidity, b.uidnext," \
	" b.highestmodseq, b.messages, b.unseen, b.deleted, b.size," \
	" CASE WHEN EXISTS (SELECT 1 FROM subscriptions s" \
	" WHERE s.account_id = b.account_id AND s.name = b.name)" \
	" THEN 1 ELSE 0 END, b.recent_uid"

/* The columns of struct store_queue_msg and struct store_queue_rcpt, in
 * the order store_sqlite_queue.c reads them. */
#define SQ_QMSG_COLS \
	"m.id, m.qid, b.path, m.size, m.env_from, m.envid, m.ret, m.flags," \
	" m.created, m.held"
#define SQ_QRCPT_COLS \
	"r.id, r.msg_id, r.addr, r.domain, r.orcpt, r.notify, r.state," \
	" r.notice, r.warned, r.attempts, r.next_attempt, r.last_attempt," \
	" r.status, r.reply, r.remote_mta, r.lease_owner, r.lease_until"
/* A message (m) selected by queue id ?1 (all when ''), by a recipient
 * domain ?2 (all when '') and, with ?3 <> 0, held. */
#define SQ_QMSG_FILTER \
	" (?1 = '' OR m.qid = ?1) AND (?2 = '' OR EXISTS (SELECT 1" \
	" FROM queue_rcpts d WHERE d.msg_id = m.id AND d.domain = ?2))" \
	" AND (?3 = 0 OR m.held <> 0)"

/* Every statement, portable SQL (RETURNING and ON CONFLICT exist in
 * PostgreSQL too). Prepared once per handle, on first use. */
const char *const store_sq_sql[SQ_COUNT] = {
	[SQ_DOMAIN_ADD] =
		"INSERT INTO domains (name, created) VALUES (?1, ?2)",
	[SQ_DOMAIN_ID] = "SELECT id FROM domains WHERE name = ?1",
	[SQ_DOMAIN_DEL] = "DELETE FROM domains WHERE id = ?1",
	[SQ_DOMAIN_LIST] = "SELECT name FROM domains ORDER BY name",
	[SQ_DOMAIN_IN_USE] =
		"SELECT (SELECT COUNT(*) FROM accounts WHERE domain_id = ?1)"
		" + (SELECT COUNT(*) FROM aliases WHERE domain_id = ?1)",
	[SQ_ACCOUNT_ADD] =
		"INSERT INTO accounts (domain_id, localpart, pwhash, created)"
		" VALUES (?1, ?2, ?3, ?4) RETURNING id",
	[SQ_ACCOUNT_GET] =
		"SELECT a.id, a.pwhash FROM accounts a"
		" JOIN domains d ON d.id = a.domain_id"
		" WHERE d.name = ?1 AND a.localpart = ?2",
	[SQ_ACCOUNT_PASSWD] = "UPDATE accounts SET pwhash = ?2 WHERE id = ?1",
	[SQ_ACCOUNT_DEL] = "DELETE FROM accounts WHERE id = ?1",
	[SQ_ACCOUNT_LIST] =
		"SELECT a.localpart || '@' || d.name FROM accounts a"
		" JOIN domains d ON d.id = a.domain_id"
		" ORDER BY d.name, a.localpart",
	[SQ_ACCOUNT_LIST_DOMAIN] =
		"SELECT a.localpart || '@' || d.name FROM accounts a"
		" JOIN domains d ON d.id = a.domain_id"
		" WHERE d.name = ?1 ORDER BY a.localpart",
	[SQ_ALIAS_ADD] =
		"INSERT INTO aliases (domain_id, localpart, target)"
		" VALUES (?1, ?2, ?3)",
	[SQ_ALIAS_DEL] =
		"DELETE FROM aliases WHERE domain_id = ?1 AND localpart = ?2"
		" AND target = ?3",
	[SQ_ALIAS_DEL_ALL] =
		"DELETE FROM aliases WHERE domain_id = ?1 AND localpart = ?2",
	[SQ_ALIAS_LIST] =
		"SELECT a.localpart || '@' || d.name || ' ' || a.target"
		" FROM aliases a JOIN domains d ON d.id = a.domain_id"
		" ORDER BY d.name, a.localpart, a.target",
	[SQ_ALIAS_LIST_DOMAIN] =
		"SELECT a.localpart || '@' || d.name || ' ' || a.target"
		" FROM aliases a JOIN domains d ON d.id = a.domain_id"
		" WHERE d.name = ?1 ORDER BY a.localpart, a.target",
	[SQ_ALIAS_TARGETS] =
		"SELECT target FROM aliases WHERE domain_id = ?1"
		" AND localpart = ?2 ORDER BY target",
	[SQ_MAILBOX_ADD] =
		"INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext,"
		" highestmodseq, special_use, subscribed)"
		" VALUES (?1, ?2, ?3, 1, 1, ?4, 1)",
	/* DMARC quarantine: the \Junk mailbox (RFC 6154), else "Junk". */
	[SQ_MAILBOX_JUNK] =
		"SELECT id, uidvalidity, uidnext, highestmodseq FROM mailboxes"
		" WHERE account_id = ?1 AND (special_use = '\\Junk'"
		" OR name = 'Junk')"
		" ORDER BY special_use IS NOT '\\Junk', id LIMIT 1",
	[SQ_MAILBOX_GET] =
		"SELECT id, uidvalidity, uidnext, highestmodseq FROM mailboxes"
		" WHERE account_id = ?1 AND name = ?2",
	/* One statement takes ?2 UIDs and one new MODSEQ for new messages
	 * and adds them to the counters: returns the first UID. */
	[SQ_MAILBOX_BUMP] =
		"UPDATE mailboxes SET uidnext = uidnext + ?2,"
		" highestmodseq = highestmodseq + 1, messages = messages + ?2,"
		" unseen = unseen + ?3, deleted = deleted + ?4,"
		" size = size + ?5 WHERE id = ?1"
		" RETURNING uidnext - ?2, highestmodseq",
	[SQ_MAILBOX_DEL_ACCOUNT] =
		"DELETE FROM mailboxes WHERE account_id = ?1",
	[SQ_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[SQ_META_SET] =
		"INSERT INTO meta (key, value) VALUES (?1, ?2)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	/* A blob delivered in several calls (e.g. per recipient batch by the
	 * queue) adds to its reference count. */
	[SQ_BLOB_KNOWN] =
		"SELECT 1 FROM blobs WHERE path = ?1",
	[SQ_BLOB_ADD] =
		"INSERT INTO blobs (path, size, refcount) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (path) DO UPDATE"
		" SET refcount = blobs.refcount + excluded.refcount"
		" RETURNING id",
	[SQ_BLOB_UNREF] =
		"UPDATE blobs SET refcount = refcount - 1 WHERE id = ?1"
		" RETURNING id, refcount, path",
	[SQ_BLOB_UNREF_ACCOUNT] =
		"UPDATE blobs SET refcount = refcount - (SELECT COUNT(*)"
		" FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
		" WHERE b.account_id = ?1 AND m.blob_id = blobs.id)"
		" WHERE id IN (SELECT m.blob_id FROM messages m"
		" JOIN mailboxes b ON b.id = m.mailbox_id"
		" WHERE b.account_id = ?1) RETURNING id, refcount, path",
	[SQ_BLOB_DEL] = "DELETE FROM blobs WHERE id = ?1",
	[SQ_MSG_ADD] =
		"INSERT INTO messages (mailbox_id, uid, blob_id, size,"
		" internaldate, flags, keywords, modseq, savedate)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SQ_MSG_LIST] =
		"SELECT m.id, m.uid, m.flags, m.modseq, m.size, m.internaldate,"
		" b.path FROM messages m JOIN blobs b ON b.id = m.blob_id"
		" WHERE m.mailbox_id = ?1 ORDER BY m.uid",
	/* Both deletes return what the expunge bookkeeping needs. */
	[SQ_MSG_DEL] =
		"DELETE FROM messages WHERE id = ?2 AND mailbox_id = ?1"
		" RETURNING blob_id, uid, flags, size",
	[SQ_MSG_DEL_UID] =
		"DELETE FROM messages WHERE uid = ?2 AND mailbox_id = ?1"
		" RETURNING blob_id, uid, flags, size",
	[SQ_MSG_DEL_ACCOUNT] =
		"DELETE FROM messages WHERE mailbox_id IN"
		" (SELECT id FROM mailboxes WHERE account_id = ?1)",
	/* ---- IMAP ---- */
	[SQ_MAILBOX_ROW] =
		"SELECT " SQ_MAILBOX_COLS " FROM mailboxes b"
		" WHERE b.account_id = ?1 AND b.name = ?2",
	/* RFC 9051 §6.3.9: INBOX first, then by name. */
	[SQ_MAILBOX_ROWS] =
		"SELECT " SQ_MAILBOX_COLS " FROM mailboxes b"
		" WHERE b.account_id = ?1"
		" ORDER BY CASE WHEN b.name = 'INBOX' THEN 0 ELSE 1 END, b.name",
	[SQ_MAILBOX_NAMES] =
		"SELECT id, name FROM mailboxes WHERE account_id = ?1"
		" ORDER BY name",
	[SQ_MAILBOX_BY_ID] =
		"SELECT highestmodseq, uidnext FROM mailboxes WHERE id = ?1",
	[SQ_MAILBOX_DEL] = "DELETE FROM mailboxes WHERE id = ?1",
	[SQ_MAILBOX_SETNAME] = "UPDATE mailboxes SET name = ?2 WHERE id = ?1",
	[SQ_MAILBOX_NEXTMODSEQ] =
		"UPDATE mailboxes SET highestmodseq = highestmodseq + 1"
		" WHERE id = ?1 RETURNING highestmodseq",
	/* RFC 3501 §2.3.2 \Recent: a claim raises recent_uid to the last
	 * UID given out. */
	[SQ_RECENT_GET] =
		"SELECT recent_uid, uidnext FROM mailboxes WHERE id = ?1",
	[SQ_RECENT_SET] =
		"UPDATE mailboxes SET recent_uid = ?2 WHERE id = ?1",
	[SQ_RECENT_COUNT] =
		"SELECT count(*) FROM messages WHERE mailbox_id = ?1"
		" AND uid > ?2",
	[SQ_MAILBOX_COUNTERS] =
		"UPDATE mailboxes SET messages = messages + ?2,"
		" unseen = unseen + ?3, deleted = deleted + ?4,"
		" size = size + ?5 WHERE id = ?1",
	/* RENAME INBOX: the new mailbox takes over INBOX's UIDs and
	 * counters; INBOX is left empty with a new MODSEQ. */
	[SQ_MAILBOX_TAKE] =
		"UPDATE mailboxes SET (uidnext, highestmodseq, messages, unseen,"
		" deleted, size) = (SELECT uidnext, highestmodseq, messages,"
		" unseen, deleted, size FROM mailboxes WHERE id = ?2)"
		" WHERE id = ?1",
	[SQ_MAILBOX_EMPTIED] =
		"UPDATE mailboxes SET highestmodseq = highestmodseq + 1,"
		" messages = 0, unseen = 0, deleted = 0, size = 0"
		" WHERE id = ?1 RETURNING highestmodseq",
	[SQ_MSG_MOVE_ALL] =
		"UPDATE messages SET mailbox_id = ?2 WHERE mailbox_id = ?1",
	[SQ_MSG_DEL_MAILBOX] = "DELETE FROM messages WHERE mailbox_id = ?1",
	[SQ_BLOB_UNREF_MAILBOX] =
		"UPDATE blobs SET refcount = refcount - (SELECT COUNT(*)"
		" FROM messages m WHERE m.mailbox_id = ?1"
		" AND m.blob_id = blobs.id) WHERE id IN (SELECT blob_id"
		" FROM messages WHERE mailbox_id = ?1)"
		" RETURNING id, refcount, path",
	[SQ_BLOB_REF] =
		"UPDATE blobs SET refcount = refcount + 1 WHERE id = ?1",
	[SQ_SUB_ADD] =
		"INSERT INTO subscriptions (account_id, name) VALUES (?1, ?2)"
		" ON CONFLICT (account_id, name) DO NOTHING",
	[SQ_SUB_DEL] =
		"DELETE FROM subscriptions WHERE account_id = ?1 AND name = ?2",
	[SQ_SUB_LIST] =
		"SELECT name FROM subscriptions WHERE account_id = ?1"
		" ORDER BY CASE WHEN name = 'INBOX' THEN 0 ELSE 1 END, name",
	[SQ_IMSG_LIST] =
		"SELECT m.id, m.uid, m.flags, m.modseq, m.size, m.internaldate,"
		" m.blob_id, b.path, m.keywords, m.savedate FROM messages m"
		" JOIN blobs b ON b.id = m.blob_id"
		" WHERE m.mailbox_id = ?1 AND m.modseq > ?2 ORDER BY m.uid",
	[SQ_IMSG_RANGE] =
		"SELECT m.id, m.uid, m.flags, m.modseq, m.size, m.internaldate,"
		" m.blob_id, b.path, m.keywords, m.savedate FROM messages m"
		" JOIN blobs b ON b.id = m.blob_id"
		" WHERE m.mailbox_id = ?1 AND m.uid BETWEEN ?2 AND ?3"
		" ORDER BY m.uid",
	[SQ_IMSG_ONE] =
		"SELECT m.id, m.uid, m.flags, m.modseq, m.size, m.internaldate,"
		" m.blob_id, b.path, m.keywords, m.savedate FROM messages m"
		" JOIN blobs b ON b.id = m.blob_id"
		" WHERE m.mailbox_id = ?1 AND m.uid = ?2",
	/* Changes since a modseq: few rows, found by modseq (a covering
	 * index would scan the whole mailbox). */
	[SQ_VMSG_LIST] =
		"SELECT uid, flags, modseq, keywords FROM messages"
		" INDEXED BY messages_modseq"
		" WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
	/* The whole list: from messages_view alone, already in UID order. */
	[SQ_VMSG_ALL] =
		"SELECT uid, flags, modseq, keywords FROM messages"
		" WHERE mailbox_id = ?1 ORDER BY uid",
	[SQ_MSG_BY_UID] =
		"SELECT id, flags, keywords, modseq, blob_id, size, internaldate"
		" FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
	[SQ_MSG_SETFLAGS] =
		"UPDATE messages SET flags = ?2, keywords = ?3, modseq = ?4"
		" WHERE id = ?1",
	/* UIDs are never reused in a mailbox, so a conflict only comes
	 * from a UID moved back by RENAME INBOX; the later expunge wins. */
	[SQ_VANISHED_ADD] =
		"INSERT INTO vanished (mailbox_id, uid, modseq)"
		" VALUES (?1, ?2, ?3) ON CONFLICT (mailbox_id, uid)"
		" DO UPDATE SET modseq = excluded.modseq",
	[SQ_VANISHED_ALL] =
		"INSERT INTO vanished (mailbox_id, uid, modseq)"
		" SELECT mailbox_id, uid, ?2 FROM messages WHERE mailbox_id = ?1"
		" ON CONFLICT (mailbox_id, uid) DO UPDATE"
		" SET modseq = excluded.modseq",
	[SQ_VANISHED_LIST] =
		"SELECT uid FROM vanished WHERE mailbox_id = ?1 AND modseq > ?2"
		" ORDER BY uid",
	[SQ_BLOB_META_GET] =
		"SELECT envelope, body, bodystructure, partmap FROM blob_meta"
		" WHERE blob_id = ?1",
	/* Once per blob: the first metadata stored wins. */
	[SQ_BLOB_META_PUT] =
		"INSERT INTO blob_meta (blob_id, envelope, body, bodystructure,"
		" partmap) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (blob_id) DO NOTHING",
	[SQ_BLOB_DATA_ADD] = "INSERT INTO blob_data (id, data) VALUES (?1, ?2)",
	[SQ_BLOB_DATA_GET] = "SELECT data FROM blob_data WHERE id = ?1",
	[SQ_BLOB_DATA_DEL] = "DELETE FROM blob_data WHERE id = ?1",
	[SQ_BLOB_TRASH_ADD] =
		"INSERT INTO blob_trash (id, since) VALUES (?1, ?2)"
		" ON CONFLICT (id) DO NOTHING",
	[SQ_BLOB_TRASH_DEL] = "DELETE FROM blob_trash WHERE id = ?1",
	[SQ_GRANT_ADD] =
		"INSERT INTO sender_grants (account_id, pattern, created)"
		" VALUES (?1, ?2, ?3)",
	[SQ_GRANT_DEL] =
		"DELETE FROM sender_grants WHERE account_id = ?1"
		" AND pattern = ?2",
	[SQ_GRANT_LIST] =
		"SELECT pattern FROM sender_grants WHERE account_id = ?1"
		" ORDER BY pattern",
	[SQ_GRANT_MATCH] =
		"SELECT 1 FROM sender_grants WHERE account_id = ?1"
		" AND pattern IN (?2, ?3, ?4) LIMIT 1",
	/* quota_bytes NULL (follow the default) reads as -1. */
	[SQ_QUOTA_GET] =
		"SELECT COALESCE(a.quota_bytes, -1),"
		" (SELECT COALESCE(SUM(m.size), 0) FROM mailboxes m"
		" WHERE m.account_id = a.id)"
		" FROM accounts a WHERE a.id = ?1",
	[SQ_QUOTA_SET] =
		"UPDATE accounts SET quota_bytes = ?2 WHERE id = ?1",
	[SQ_BLOB_FIELDS_PUT] =
		"INSERT INTO blob_fields (blob_id, fields) VALUES (?1, ?2)"
		" ON CONFLICT (blob_id) DO NOTHING",
	[SQ_FIELDS_LIST] =
		"SELECT m.uid, f.fields FROM messages m"
		" LEFT JOIN blob_fields f ON f.blob_id = m.blob_id"
		" WHERE m.mailbox_id = ?1 ORDER BY m.uid",
	/* ---- The outbound queue (store_queue.h) ---- */
	[SQ_QUEUE_MSG_ADD] =
		"INSERT INTO queue_msgs (qid, blob_id, size, env_from, envid,"
		" ret, flags, created, held, prefix)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9) RETURNING id",
	[SQ_QUEUE_RCPT_ADD] =
		"INSERT INTO queue_rcpts (msg_id, addr, domain, orcpt, notify,"
		" state, notice, next_attempt, last_attempt, status, reply)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[SQ_QUEUE_SERIAL] = "SELECT serial FROM queue_serial WHERE id = 1",
	[SQ_QUEUE_SERIAL_BUMP] =
		"UPDATE queue_serial SET serial = serial + 1 WHERE id = 1",
	/* state = 0 literally: the partial index queue_rcpts_due. */
	[SQ_QUEUE_DUE] =
		"SELECT m.prefix, " SQ_QMSG_COLS ", " SQ_QRCPT_COLS
		" FROM queue_rcpts r JOIN queue_msgs m ON m.id = r.msg_id"
		" JOIN blobs b ON b.id = m.blob_id"
		" WHERE r.state = 0 AND r.next_attempt <= ?1"
		" AND r.lease_until < ?1 AND m.held = 0"
		" ORDER BY r.next_attempt, r.id LIMIT ?2",
	/* The earliest time a pending recipient is due: its next_attempt,
	 * or for a leased one the end of its lease. Two index walks that
	 * stop at their first row (not one MIN over every pending row):
	 * the first free one in next_attempt order, the first lease to
	 * end. */
	[SQ_QUEUE_NEXT_DUE] =
		"SELECT MIN(t) FROM (SELECT t FROM (SELECT r.next_attempt AS t"
		" FROM queue_rcpts r JOIN queue_msgs m ON m.id = r.msg_id"
		" WHERE r.state = 0 AND (r.lease_until < r.next_attempt"
		" OR r.lease_until = 0) AND m.held = 0"
		" ORDER BY r.next_attempt LIMIT 1) a"
		" UNION ALL SELECT t FROM (SELECT r.lease_until + 1 AS t"
		" FROM queue_rcpts r JOIN queue_msgs m ON m.id = r.msg_id"
		" WHERE r.state = 0 AND r.lease_until > 0"
		" AND r.lease_until >= r.next_attempt AND m.held = 0"
		" ORDER BY r.lease_until LIMIT 1) b) u",
	[SQ_QUEUE_LEASE] =
		"UPDATE queue_rcpts SET lease_owner = ?2, lease_until = ?4"
		" WHERE id = ?1 AND state = 0 AND lease_until < ?3"
		" AND NOT EXISTS (SELECT 1 FROM queue_msgs m"
		" WHERE m.id = queue_rcpts.msg_id AND m.held <> 0)",
	/* Leases of earlier processes of this node (?1 "hostname:", ?2 the
	 * current owner): rows with a lease in force only (the index). */
	[SQ_QUEUE_UNLEASE] =
		"UPDATE queue_rcpts SET lease_owner = '', lease_until = 0"
		" WHERE lease_until >= ?3 AND state = 0"
		" AND substr(lease_owner, 1, length(?1)) = ?1"
		" AND lease_owner <> ?2",
	/* Only a pending recipient: one the administrator bounced (or
	 * deleted) while it was being tried stays as it is. */
	[SQ_QUEUE_UPDATE] =
		"UPDATE queue_rcpts SET state = ?2,"
		" notice = CASE WHEN ?3 <> 0 THEN ?3 ELSE notice END,"
		" warned = CASE WHEN ?4 <> 0 THEN 1 ELSE warned END,"
		" attempts = ?5, next_attempt = ?6, last_attempt = ?7,"
		" status = COALESCE(?8, status), reply = COALESCE(?9, reply),"
		" remote_mta = COALESCE(?10, remote_mta),"
		" lease_owner = '', lease_until = 0"
		" WHERE id = ?1 AND state = 0",
	[SQ_QUEUE_NOTICE_MSGS] =
		"SELECT DISTINCT msg_id FROM queue_rcpts WHERE notice <> 0"
		" ORDER BY msg_id LIMIT ?1",
	/* RFC 3464 Action: delayed is sent once (warned). */
	[SQ_QUEUE_NOTICE_DONE] =
		"UPDATE queue_rcpts SET warned = CASE WHEN notice = 2 THEN 1"
		" ELSE warned END, notice = 0 WHERE id = ?1",
	[SQ_QUEUE_RETIRE] =
		"DELETE FROM queue_msgs WHERE id = ?1 AND NOT EXISTS (SELECT 1"
		" FROM queue_rcpts r WHERE r.msg_id = ?1"
		" AND (r.state = 0 OR r.notice <> 0)) RETURNING blob_id",
	/* ?4: one message by its id (0: by the filter). */
	[SQ_QUEUE_MSG_LIST] =
		"SELECT " SQ_QMSG_COLS " FROM queue_msgs m"
		" JOIN blobs b ON b.id = m.blob_id WHERE" SQ_QMSG_FILTER
		" AND (?4 = 0 OR m.id = ?4) ORDER BY m.created, m.id",
	[SQ_QUEUE_MSG_GET] =
		"SELECT m.id FROM queue_msgs m WHERE m.qid = ?1",
	[SQ_QUEUE_RCPTS] =
		"SELECT " SQ_QRCPT_COLS " FROM queue_rcpts r"
		" WHERE r.msg_id = ?1 ORDER BY r.id",
	[SQ_QUEUE_HOLD] = "UPDATE queue_msgs SET held = ?2 WHERE qid = ?1",
	/* Held messages stay held (and are not counted). */
	[SQ_QUEUE_FLUSH] =
		"UPDATE queue_rcpts SET next_attempt = CASE WHEN next_attempt"
		" > ?4 THEN ?4 ELSE next_attempt END WHERE state = 0"
		" AND msg_id IN (SELECT m.id FROM queue_msgs m WHERE"
		SQ_QMSG_FILTER " AND m.held = 0)",
	[SQ_QUEUE_DELETE] =
		"DELETE FROM queue_msgs WHERE qid = ?1 RETURNING blob_id",
	/* RFC 3461 §4.1: no failure notice when NOTIFY=NEVER, or NOTIFY
	 * given without FAILURE. */
	[SQ_QUEUE_BOUNCE] =
		"UPDATE queue_rcpts SET state = 2, status = '5.0.0',"
		" reply = 'given up by the administrator',"
		" notice = CASE WHEN (notify & 8) <> 0 OR (notify <> 0"
		" AND (notify & 2) = 0) THEN notice ELSE 1 END,"
		" lease_owner = '', lease_until = 0"
		" WHERE state = 0 AND msg_id IN (SELECT id FROM queue_msgs"
		" WHERE qid = ?1)",
	/* RFC 5464 METADATA (schema v6). */
	[SQ_MD_LIST] =
		"SELECT name, value FROM metadata"
		" WHERE account_id = ?1 AND mailbox_id = ?2 ORDER BY name",
	[SQ_MD_SET] =
		"INSERT INTO metadata (account_id, mailbox_id, name, value)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_id, mailbox_id,"
		" name) DO UPDATE SET value = excluded.value",
	[SQ_MD_DEL] =
		"DELETE FROM metadata WHERE account_id = ?1 AND mailbox_id = ?2"
		" AND name = ?3",
	[SQ_MD_COUNT] = "SELECT COUNT(*) FROM metadata WHERE account_id = ?1",
	[SQ_MD_DEL_MAILBOX] = "DELETE FROM metadata WHERE mailbox_id = ?1",
	[SQ_MD_DEL_ACCOUNT] = "DELETE FROM metadata WHERE account_id = ?1",
	/* TLS-RPT counts (schema v7): added up per key. */
	[SQ_TLSRPT_ADD] =
		"INSERT INTO tlsrpt_results (day, domain, mx, result, count,"
		" policy_type, policy_string, rua)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT (day, domain, mx, result) DO UPDATE SET"
		" count = tlsrpt_results.count + excluded.count,"
		" policy_type = excluded.policy_type,"
		" policy_string = excluded.policy_string, rua = excluded.rua",
	[SQ_TLSRPT_LIST] =
		"SELECT day, domain, mx, result, count, policy_type,"
		" policy_string, rua FROM tlsrpt_results WHERE day <= ?1"
		" ORDER BY day, domain, mx, result",
	[SQ_TLSRPT_DEL] =
		"DELETE FROM tlsrpt_results WHERE day = ?1 AND domain = ?2",
	[SQ_TX_BEGIN] = "BEGIN",
	[SQ_TX_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[SQ_TX_COMMIT] = "COMMIT",
	[SQ_TX_ROLLBACK] = "ROLLBACK",
	/* "op": one store operation inside a caller's transaction; "job": one
	 * group-commit job inside the batch's transaction. */
	[SQ_TX_SAVEPOINT_OP] = "SAVEPOINT op",
	[SQ_TX_RELEASE_OP] = "RELEASE op",
	[SQ_TX_ROLLBACK_TO_OP] = "ROLLBACK TO op",
	[SQ_TX_SAVEPOINT_JOB] = "SAVEPOINT job",
	[SQ_TX_RELEASE_JOB] = "RELEASE job",
	[SQ_TX_ROLLBACK_TO_JOB] = "ROLLBACK TO job",
};
