-- Postel store schema: migration from version 7 to version 8 (message
-- bodies in the store, issue 12). Portable SQL.
-- store_sqlite_schema.c embeds a copy of this text; test_store checks
-- that the two are identical.

-- The octets of a message kept in the database instead of a file: its
-- blobs.path is "db/<16 hex digits>" and id is that number (blob.h). A
-- message small enough to arrive whole in memory is committed with its
-- rows in the same transaction, so it costs no file, no fdatasync of its
-- own and no unlink. The row goes in the transaction that drops the last
-- reference, except after an IMAP expunge (below).
CREATE TABLE blob_data (
	id INTEGER PRIMARY KEY,
	data BLOB NOT NULL
);

-- Stored bodies whose last reference an IMAP expunge removed while other
-- sessions may still read them (RFC 2180 §4.1): deleted with their
-- blob_data row once released, or by the start-up sweep when since
-- (unix seconds) is older than the server's start.
CREATE TABLE blob_trash (
	id INTEGER PRIMARY KEY,
	since BIGINT NOT NULL
);
