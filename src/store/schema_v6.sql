-- Postel store schema: migration from version 5 to version 6 (IMAP
-- conformance, issue 11; DKIM signing, issue 10). Portable SQL.
-- store_sqlite_schema.c embeds a copy of this text; test_store checks
-- that the two are identical.

-- RFC 3501 §2.3.2 \Recent: messages with a UID above recent_uid have not
-- yet been seen by any session; the first session to see them claims
-- them (raises recent_uid) and is the one that shows them as \Recent.
ALTER TABLE mailboxes ADD COLUMN recent_uid BIGINT NOT NULL DEFAULT 0;

-- RFC 8514 SAVEDATE: when the message was saved in this mailbox (COPY,
-- MOVE and APPEND make a new date; INTERNALDATE is kept). Rows from
-- before this version take their INTERNALDATE.
ALTER TABLE messages ADD COLUMN savedate BIGINT NOT NULL DEFAULT 0;
UPDATE messages SET savedate = internaldate;

-- RFC 5464 METADATA entries. account_id: the owner (0: the server's
-- own /shared entries); mailbox_id: 0 for server entries. name: the full
-- entry name in lower case, starting /private/ or /shared/.
CREATE TABLE metadata (
	account_id BIGINT NOT NULL,
	mailbox_id BIGINT NOT NULL,
	name TEXT NOT NULL,
	value BLOB NOT NULL,
	PRIMARY KEY (account_id, mailbox_id, name)
);

-- Header fields sent before the stored message when it is relayed:
-- the DKIM-Signature fields made once when it was queued (RFC 6376), each
-- ending CRLF; '' when none.
ALTER TABLE queue_msgs ADD COLUMN prefix TEXT NOT NULL DEFAULT '';
