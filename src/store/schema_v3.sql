-- Postel store schema: migration from version 2 to version 3. The header
-- fields SEARCH and SORT read (From, To, Cc, Bcc, Subject, Date; mime.h
-- mime_search_fields) as a small header block per message file, so a
-- search over a mailbox reads rows instead of opening every file. A table
-- of its own: its rows are small, so a search reads few pages. No row:
-- not computed (messages stored before); readers then use the file.
CREATE TABLE blob_fields (
	blob_id BIGINT PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
	fields BLOB NOT NULL
);

-- What a selected view and a search read of every message of a mailbox,
-- in UID order, from the index alone: rows of one mailbox lie together
-- here, while the table holds them in arrival order, mixed with every
-- other mailbox's (one page read per message instead of a few per
-- mailbox).
CREATE INDEX messages_view ON messages
	(mailbox_id, uid, flags, modseq, blob_id, keywords);
