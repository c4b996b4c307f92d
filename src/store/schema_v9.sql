-- Postel store schema: migration from version 8 to version 9 (issue 12).
-- Portable SQL.
-- store_sqlite_schema.c embeds a copy of this text; test_store checks
-- that the two are identical.

-- blob_meta and blob_fields were keyed by a BIGINT primary key, which
-- SQLite keeps as a second b-tree beside the table's rowid one: every
-- delivery wrote two index entries, and two more pages per commit, for
-- nothing. INTEGER PRIMARY KEY makes blob_id the rowid itself (in
-- PostgreSQL the two spellings are the same type). The rows are copied
-- as they are.
CREATE TABLE blob_meta_v9 (
	blob_id INTEGER PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
	envelope BLOB NOT NULL,
	body BLOB NOT NULL,
	bodystructure BLOB NOT NULL,
	partmap BLOB NOT NULL
);
INSERT INTO blob_meta_v9 (blob_id, envelope, body, bodystructure, partmap)
	SELECT blob_id, envelope, body, bodystructure, partmap FROM blob_meta;
DROP TABLE blob_meta;
ALTER TABLE blob_meta_v9 RENAME TO blob_meta;

CREATE TABLE blob_fields_v9 (
	blob_id INTEGER PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
	fields BLOB NOT NULL
);
INSERT INTO blob_fields_v9 (blob_id, fields)
	SELECT blob_id, fields FROM blob_fields;
DROP TABLE blob_fields;
ALTER TABLE blob_fields_v9 RENAME TO blob_fields;
