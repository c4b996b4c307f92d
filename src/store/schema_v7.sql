-- Postel store schema: migration from version 6 to version 7 (TLS-RPT,
-- issue 10). Portable SQL.
-- store_sqlite_schema.c embeds a copy of this text; test_store checks
-- that the two are identical.

-- RFC 8460 TLS-RPT: outbound TLS sessions counted per UTC day (unix
-- seconds of its start), policy domain, receiving MX ('' when no MX was
-- reached, a policy fetch error) and result type ('' for a success),
-- until the day's aggregate report has been queued (then the rows go).
-- policy_type: 'sts' (RFC 8460 §4.4); policy_string: the policy's lines,
-- LF-separated; rua: the domain's mailto: addresses when last counted,
-- comma-separated.
CREATE TABLE tlsrpt_results (
	day BIGINT NOT NULL,
	domain TEXT NOT NULL,
	mx TEXT NOT NULL,
	result TEXT NOT NULL,
	count BIGINT NOT NULL,
	policy_type TEXT NOT NULL,
	policy_string TEXT NOT NULL,
	rua TEXT NOT NULL,
	PRIMARY KEY (day, domain, mx, result)
);
