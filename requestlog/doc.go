// Package requestlog is llmgw's request log: one SQLite file (pure Go
// modernc.org/sqlite, WAL, synchronous=NORMAL), or one PostgreSQL database
// that several replicas share (Open with a postgres:// URL; pgx), with a
// row per client request and a row per upstream attempt, the single
// batched writer that fills it, and the queries behind `llmgw stats`,
// `llmgw replay` and the dashboard's JSON API (/api/summary, /api/requests,
// /api/requests/{id}), whose JSON shapes are the result types of this
// package.
//
// Both engines have the same columns under the same names, and the
// readers send both the same query texts: counts are written with CASE and
// sums cast to BIGINT, which each engine reads alike, and DB.rebind numbers
// the placeholders for PostgreSQL. What differs is said where it differs:
// the list columns' caps (itemCols), the session of a sticky hit
// (requestlog_session in pg_schema_v1.sql), the writer (insert.go for
// SQLite, pgwriter.go for PostgreSQL: COPY, and rows held in memory while
// the server is unreachable), and retention (deleted rows for SQLite, day
// partitions dropped whole for PostgreSQL; pgschema.go).
//
// Lifecycle: Open the file, build a Writer with NewWriter, start
// Writer.Run(ctx) under main's errgroup, call Writer.Record from request
// goroutines, and cancel ctx to stop: Run then commits everything queued
// before it returns. Close the DB after Run has returned.
//
// Durability: a record is committed at most WriterConfig.BatchDelay
// (100 ms by default) after Record, or sooner when its batch fills. A
// committed transaction is in the WAL file, and with synchronous=NORMAL
// that survives a crash of the process (kill -9), though not necessarily
// a power loss; the next Open recovers the WAL. So a killed gateway loses
// only the requests recorded in the last BatchDelay plus one commit, and
// those still in flight. On PostgreSQL a commit is on the server, so the
// same holds for a replica killed with kill -9 (the server's own fsync
// covers the rest).
//
// Pacing: with one core (GOMAXPROCS=1) every SQLite statement and commit
// holds the only processor, so the writer shares it. A batch closed by
// BatchDelay (the log keeps up) is written in short transactions and
// statements, and after each the writer waits until the scheduler has
// polled the network and served the requests whose bytes arrived (see
// netpollYield); a full batch or a backlog is written whole, at the least
// CPU per row. See quietPace and busyPace. On PostgreSQL only the COPY's
// encoding holds the processor: a quiet batch yields behind the network
// every pgQuietRows rows of it, a busy one to runnable goroutines every
// pgBusyRows.
//
// Overflow: Record never drops silently. The queue is bounded
// (WriterConfig.QueueSize); when it is full, Record waits up to
// WriterConfig.MaxWait for room (back-pressure on the request that is
// finishing, never on one in flight), and only then sheds the row, counting
// it in WriterStats.Shed (exported as llmgw_log_rows_shed_total). A Record
// after Run has stopped is shed and counted the same way. On PostgreSQL
// the writer also holds rows while the server does not answer, up to
// WriterConfig.BufferRows and BufferBytes; past them a row is shed and
// counted the same way (WriterStats.Buffered, Unavailable and Outages say
// what it holds and why).
//
// Nothing here redacts: the Record has no field for a secret (Key is the
// client key's name), and the gateway redacts error messages and notes
// before recording them. Features is the routing input without content.
//
// requestlog imports llm, database/sql, the sqlite driver and pgx; only
// the gateway and cmd/llmgw import it.
package requestlog
