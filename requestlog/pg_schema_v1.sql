-- Version 1 of the request log on PostgreSQL: the SQLite log's tables and
-- meanings (schema.sql to schema_v3.sql), with the same column names so that
-- the readers' queries are shared. Times are Unix milliseconds (UTC),
-- durations microseconds, money micro-USD. Text columns compare and sort
-- bytewise (COLLATE "C"), as SQLite does, so that listings order alike.
--
-- requests and attempts are partitioned by day on time_ms (an attempt
-- carries its request's time): retention drops a day's partitions whole,
-- which leaves no dead rows behind, and the writer creates each day's
-- partitions ahead of time (see pgschema.go). Request ids come from
-- requests_id_seq in blocks (INCREMENT BY 4096): each writer takes one
-- value per batch and numbers the batch's rows from it, so replicas never
-- collide and attempts can refer to their request within one COPY.

CREATE SEQUENCE requests_id_seq INCREMENT BY 4096 MINVALUE 1 START WITH 1;

-- One row per client request, failures included.
CREATE TABLE requests (
	id                    bigint  NOT NULL,
	request_id            text    COLLATE "C" NOT NULL DEFAULT '',
	time_ms               bigint  NOT NULL,
	key                   text    COLLATE "C" NOT NULL DEFAULT '',  -- client key NAME, never its secret
	endpoint              text    COLLATE "C" NOT NULL DEFAULT '',
	protocol_in           text    COLLATE "C" NOT NULL DEFAULT '',
	protocol_out          text    COLLATE "C" NOT NULL DEFAULT '',
	model                 text    COLLATE "C" NOT NULL DEFAULT '',
	upstream_model        text    COLLATE "C" NOT NULL DEFAULT '',
	provider              text    COLLATE "C" NOT NULL DEFAULT '',
	stream                boolean NOT NULL DEFAULT false,
	status                integer NOT NULL DEFAULT 0,   -- 0: no HTTP status (client gone, timeout)
	error_class           text    COLLATE "C" NOT NULL DEFAULT '',
	error_message         text    COLLATE "C" NOT NULL DEFAULT '',
	latency_us            bigint  NOT NULL DEFAULT 0,
	ttft_us               bigint  NOT NULL DEFAULT 0,
	input_tokens          bigint  NOT NULL DEFAULT 0,   -- excludes cache reads and writes
	output_tokens         bigint  NOT NULL DEFAULT 0,   -- includes reasoning
	cache_read_tokens     bigint  NOT NULL DEFAULT 0,
	cache_write_tokens    bigint  NOT NULL DEFAULT 0,
	cache_write_1h_tokens bigint  NOT NULL DEFAULT 0,   -- part of cache_write_tokens
	reasoning_tokens      bigint  NOT NULL DEFAULT 0,
	usage_estimated       boolean NOT NULL DEFAULT false,
	cost_micros           bigint,                       -- NULL: unpriced, never 0 for unknown
	price_source          text    COLLATE "C" NOT NULL DEFAULT '',
	policy_hash           text    COLLATE "C" NOT NULL DEFAULT '',
	sticky_key            text    COLLATE "C" NOT NULL DEFAULT '',
	sticky                text    COLLATE "C" NOT NULL DEFAULT '',  -- 'hit', 'miss' or ''
	notes                 text,                         -- JSON array of strings
	features              text                          -- JSON routing features (no content), kept byte for byte
) PARTITION BY RANGE (time_ms);
CREATE INDEX requests_time ON requests (time_ms);
CREATE INDEX requests_rid  ON requests (request_id);

-- One row per upstream attempt of a request (no foreign key: a partitioned
-- table's key would have to include time_ms, and the day's partitions of
-- both tables are dropped together).
CREATE TABLE attempts (
	request_row bigint  NOT NULL,
	time_ms     bigint  NOT NULL,                       -- the request's time_ms: the partition key
	n           integer NOT NULL,
	provider    text    COLLATE "C" NOT NULL DEFAULT '',
	model       text    COLLATE "C" NOT NULL DEFAULT '',
	status      integer NOT NULL DEFAULT 0,
	class       text    COLLATE "C" NOT NULL DEFAULT '',
	error       text    COLLATE "C" NOT NULL DEFAULT '',
	latency_us  bigint  NOT NULL DEFAULT 0,
	first_byte  boolean NOT NULL DEFAULT false
) PARTITION BY RANGE (time_ms);
CREATE INDEX attempts_request ON attempts (request_row, n);

-- Each policy version's source, stored once by its hash (as schema_v3.sql).
CREATE TABLE policy_sources (
	hash     text   COLLATE "C" PRIMARY KEY,
	files    text   NOT NULL,
	saved_ms bigint NOT NULL
);

-- The session of a row's routing inputs, '' when they name none or are not
-- JSON: SQLite's json_valid/json_extract in the sticky-hit summary.
-- PostgreSQL 15 has no IS JSON test, so a cast that fails means no session.
CREATE FUNCTION requestlog_session(features text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	IF features IS NULL THEN
		RETURN '';
	END IF;
	RETURN COALESCE(features::json ->> 'session', '');
EXCEPTION WHEN others THEN
	RETURN '';
END;
$$;
