-- Version 2: fewer indexes on requests. Every index is written with every
-- row; the log's insert cost fell by about a third without these three.
-- Dashboard and API queries filter by provider, model or key within a time
-- range, which the time index serves (ORDER BY time_ms DESC LIMIT n stops
-- early); stats aggregate a time range.
DROP INDEX IF EXISTS requests_provider;
DROP INDEX IF EXISTS requests_model;
DROP INDEX IF EXISTS requests_key;
