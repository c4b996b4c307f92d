-- Postel store schema: migration from version 3 to version 4 (hardening).
-- Per-account storage quota: NULL follows the configured default
-- (quota_default), 0 means no limit, otherwise a limit in octets over
-- the sizes of every message of the account's mailboxes (RFC 9208
-- STORAGE resource).
ALTER TABLE accounts ADD COLUMN quota_bytes BIGINT;

-- Sender addresses an administrator lets an account use on submission
-- beyond its own (its address, its +tag forms, aliases that deliver to
-- it): a whole address "local@domain", or "@domain" for every address of
-- a domain. Stored lower-case.
CREATE TABLE sender_grants (
	account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	pattern TEXT NOT NULL,
	created BIGINT NOT NULL,
	PRIMARY KEY (account_id, pattern)
);
