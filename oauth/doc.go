// Package oauth logs llmgw in to subscription accounts (Claude Pro/Max,
// ChatGPT/Codex, Gemini CLI) and keeps their tokens fresh, so that each
// account can be a provider in the policy like any API-key provider.
//
// The pieces, in the order a request meets them:
//
//   - Flow is one interactive login: the authorization-code grant with PKCE
//     (S256). It prints an authorization URL, accepts the callback on a
//     loopback listener or a pasted code ("code", "code#state" or the whole
//     redirect URL), verifies the state and exchanges the code for tokens.
//   - Store keeps accounts in a table of the gateway's SQLite database.
//     Tokens (and any client secret) are sealed with AES-256-GCM under a key
//     that never enters the database (LoadKey): a random 12-byte nonce per
//     record and the account name as additional data, so a sealed record
//     cannot be read under another account's name or with another key.
//   - Manager hands out access tokens. It refreshes a token shortly before
//     it expires and when an upstream rejects it (Invalidate, on a 401), one
//     refresh per account at a time (singleflight) so concurrent requests do
//     not spend a rotating refresh token twice. A refresh the authorization
//     server rejects marks the account failed with a reason for
//     /api/providers (Status) until the user logs in again.
//   - AuthHeaders and Manager.Header give the headers that OAuth inference
//     needs per provider kind (for Anthropic, anthropic-beta:
//     oauth-2025-04-20; for ChatGPT, the chatgpt-account-id of the account).
//
// Secrets never appear in errors, in Account's String, Format or LogValue
// output, or in the database in the clear.
//
// oauth imports only the standard library and golang.org/x/sync; it takes
// an open *sql.DB (database/sql) and does not register a driver. It may be
// imported by gateway and cmd/llmgw; it imports no other llmgw package.
// The fake authorization server for tests is in oauth/oauthtest.
package oauth
