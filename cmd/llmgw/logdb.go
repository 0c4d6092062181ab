package main

import "github.com/llmgw/llmgw/requestlog"

// oauthDBFile is the SQLite file that holds the OAuth accounts when the
// request log is on PostgreSQL (--db postgres://…): the token store's SQL
// is SQLite's, so it stays in a local file, in the working directory, with
// its key file llmgw.key beside it unless LLMGW_SECRET_KEY is set. Replicas
// that share the log share the key through LLMGW_SECRET_KEY, and each has
// its copy of this file (`llmgw oauth login` with the same --db writes it).
const oauthDBFile = "llmgw-oauth.db"

// oauthDBPath is the SQLite file of the OAuth accounts for a --db value:
// the log's own file, or oauthDBFile when the log is on PostgreSQL.
func oauthDBPath(db string) string {
	if requestlog.IsURL(db) {
		return oauthDBFile
	}
	return db
}
