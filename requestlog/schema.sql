-- Version 1 of the request log. Times are Unix milliseconds (UTC),
-- durations microseconds, money micro-USD. Applied by migrate() in one
-- transaction that also sets PRAGMA user_version = 1.

-- One row per client request, failures included.
CREATE TABLE requests (
	id                    INTEGER PRIMARY KEY,
	request_id            TEXT    NOT NULL,
	time_ms               INTEGER NOT NULL,
	key                   TEXT    NOT NULL DEFAULT '',  -- client key NAME, never its secret
	endpoint              TEXT    NOT NULL DEFAULT '',
	protocol_in           TEXT    NOT NULL DEFAULT '',
	protocol_out          TEXT    NOT NULL DEFAULT '',
	model                 TEXT    NOT NULL DEFAULT '',
	upstream_model        TEXT    NOT NULL DEFAULT '',
	provider              TEXT    NOT NULL DEFAULT '',
	stream                INTEGER NOT NULL DEFAULT 0,
	status                INTEGER NOT NULL DEFAULT 0,   -- 0: no HTTP status (client gone, timeout)
	error_class           TEXT    NOT NULL DEFAULT '',
	error_message         TEXT    NOT NULL DEFAULT '',
	latency_us            INTEGER NOT NULL DEFAULT 0,
	ttft_us               INTEGER NOT NULL DEFAULT 0,
	input_tokens          INTEGER NOT NULL DEFAULT 0,   -- excludes cache reads and writes
	output_tokens         INTEGER NOT NULL DEFAULT 0,   -- includes reasoning
	cache_read_tokens     INTEGER NOT NULL DEFAULT 0,
	cache_write_tokens    INTEGER NOT NULL DEFAULT 0,
	cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,   -- part of cache_write_tokens
	reasoning_tokens      INTEGER NOT NULL DEFAULT 0,
	usage_estimated       INTEGER NOT NULL DEFAULT 0,
	cost_micros           INTEGER,                      -- NULL: unpriced, never 0 for unknown
	price_source          TEXT    NOT NULL DEFAULT '',
	policy_hash           TEXT    NOT NULL DEFAULT '',
	sticky_key            TEXT    NOT NULL DEFAULT '',
	sticky                TEXT    NOT NULL DEFAULT '',  -- 'hit', 'miss' or ''
	notes                 TEXT,                         -- JSON array of strings
	features              TEXT                          -- JSON routing features (no content)
);
CREATE INDEX requests_time     ON requests (time_ms);
CREATE INDEX requests_rid      ON requests (request_id);
CREATE INDEX requests_provider ON requests (provider, time_ms);
CREATE INDEX requests_model    ON requests (model, time_ms);
CREATE INDEX requests_key      ON requests (key, time_ms);

-- One row per upstream attempt of a request.
CREATE TABLE attempts (
	request_row INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
	n           INTEGER NOT NULL,
	provider    TEXT    NOT NULL DEFAULT '',
	model       TEXT    NOT NULL DEFAULT '',
	status      INTEGER NOT NULL DEFAULT 0,
	class       TEXT    NOT NULL DEFAULT '',
	error       TEXT    NOT NULL DEFAULT '',
	latency_us  INTEGER NOT NULL DEFAULT 0,
	first_byte  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attempts_request ON attempts (request_row, n);
