-- Postel store schema: migration from version 4 to version 5 (the outbound
-- queue, issue 9; store_queue.h). Portable SQL: the PostgreSQL backend
-- reads "INTEGER PRIMARY KEY AUTOINCREMENT" as in schema.sql.
-- store_sqlite_schema.c embeds a copy of this text; test_store checks
-- that the two are identical.

-- One row per queued message. blob_id holds one reference on the blob
-- (blobs.refcount), so the file stays while the message is queued.
-- qid: the acceptance id shown to administrators. envid: RFC 3461 ENVID,
-- '' when not given. ret: enum store_ret; flags: enum store_queue_flag.
CREATE TABLE queue_msgs (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	qid TEXT NOT NULL UNIQUE,
	blob_id BIGINT NOT NULL REFERENCES blobs(id),
	size BIGINT NOT NULL,
	env_from TEXT NOT NULL,
	envid TEXT NOT NULL DEFAULT '',
	ret INTEGER NOT NULL DEFAULT 0,
	flags INTEGER NOT NULL DEFAULT 0,
	created BIGINT NOT NULL,
	held INTEGER NOT NULL DEFAULT 0
);

-- One row per recipient. domain: lower-case, the routing key. state:
-- enum store_queue_state; notice: enum store_queue_notice (owed to the
-- sender); notify: enum store_notify (RFC 3461 NOTIFY). lease_owner and
-- lease_until: who is trying it, until when ('' and 0: nobody).
CREATE TABLE queue_rcpts (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	msg_id BIGINT NOT NULL REFERENCES queue_msgs(id) ON DELETE CASCADE,
	addr TEXT NOT NULL,
	domain TEXT NOT NULL,
	orcpt TEXT NOT NULL DEFAULT '',
	notify INTEGER NOT NULL DEFAULT 0,
	state INTEGER NOT NULL DEFAULT 0,
	notice INTEGER NOT NULL DEFAULT 0,
	warned INTEGER NOT NULL DEFAULT 0,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt BIGINT NOT NULL,
	last_attempt BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL DEFAULT '',
	reply TEXT NOT NULL DEFAULT '',
	remote_mta TEXT NOT NULL DEFAULT '',
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0
);

-- The scheduler's questions: what is due (pending, by next_attempt),
-- when the first lease ends, which recipients go to a domain, which
-- messages owe a notice; and the recipients of one message, the
-- messages of one blob.
CREATE INDEX queue_rcpts_due ON queue_rcpts (next_attempt) WHERE state = 0;
CREATE INDEX queue_rcpts_lease ON queue_rcpts (lease_until)
	WHERE state = 0 AND lease_until > 0;
CREATE INDEX queue_rcpts_domain ON queue_rcpts (domain, state);
CREATE INDEX queue_rcpts_notice ON queue_rcpts (msg_id) WHERE notice <> 0;
CREATE INDEX queue_rcpts_msg ON queue_rcpts (msg_id);
CREATE INDEX queue_msgs_blob ON queue_msgs (blob_id);

-- The queue serial (store_queue_serial): one row, raised by every change
-- an administrator makes and by every message queued, so the server
-- notices `postel queue ...` by polling one row.
CREATE TABLE queue_serial (
	id INTEGER PRIMARY KEY,
	serial BIGINT NOT NULL
);
INSERT INTO queue_serial (id, serial) VALUES (1, 0);
