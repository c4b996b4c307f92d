-- Postel store schema: migration from version 1 to version 2 (IMAP,
-- issue 3). A new database runs schema.sql (version 1), then this step,
-- so every install takes the same path as an upgrade. Portable SQL:
-- BLOB is BYTEA in PostgreSQL. store_sqlite_schema.c embeds a copy of
-- this text; test_store checks that the two are identical.

-- RFC 9051 §6.3.7: subscriptions are names, whether or not a mailbox
-- of that name exists. Replaces mailboxes.subscribed (no longer read).
CREATE TABLE subscriptions (
	account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	PRIMARY KEY (account_id, name)
);
INSERT INTO subscriptions (account_id, name)
	SELECT account_id, name FROM mailboxes WHERE subscribed <> 0;

-- RFC 7162 §3.2.10: UIDs expunged from a mailbox with the modseq of
-- the expunge, so a QRESYNC client learns what vanished since its
-- last HIGHESTMODSEQ.
CREATE TABLE vanished (
	mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid BIGINT NOT NULL,
	modseq BIGINT NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX vanished_modseq ON vanished (mailbox_id, modseq);

-- ENVELOPE, BODY and BODYSTRUCTURE in IMAP syntax and the part map
-- (mime.h), computed once per message file. BLOB: an envelope may
-- hold 8-bit header text that is not UTF-8.
CREATE TABLE blob_meta (
	blob_id BIGINT PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
	envelope BLOB NOT NULL,
	body BLOB NOT NULL,
	bodystructure BLOB NOT NULL,
	partmap BLOB NOT NULL
);

-- STATUS and LIST-STATUS counters (RFC 9051 §6.3.11), kept up to date
-- by every write so they cost one row read, also with 100k messages.
-- unseen: messages without \Seen; deleted: with \Deleted.
ALTER TABLE mailboxes ADD COLUMN messages BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN unseen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN deleted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE mailboxes SET
	messages = (SELECT COUNT(*) FROM messages m
		    WHERE m.mailbox_id = mailboxes.id),
	unseen = (SELECT COUNT(*) FROM messages m
		  WHERE m.mailbox_id = mailboxes.id AND m.flags % 2 = 0),
	deleted = (SELECT COUNT(*) FROM messages m
		   WHERE m.mailbox_id = mailboxes.id AND (m.flags / 8) % 2 = 1),
	size = (SELECT COALESCE(SUM(m.size), 0) FROM messages m
		WHERE m.mailbox_id = mailboxes.id);
