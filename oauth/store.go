package oauth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Account states, as stored in Account.Status and reported by
// Manager.Status.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
)

// ErrNotFound reports that no account has the given name.
var ErrNotFound = errors.New("oauth: no such account")

// Account is one subscription login. AccessToken, RefreshToken and
// ClientSecret are secrets: they are sealed in the database, and String,
// Format and LogValue never show them.
type Account struct {
	// Name identifies the account; the policy refers to it with
	// provider(..., oauth = NAME).
	Name string
	// Kind is the provider kind: anthropic, openai or gemini.
	Kind         string
	AccessToken  string
	RefreshToken string
	// Expiry is when AccessToken expires; zero when the authorization
	// server did not say (the token is then refreshed only on a 401).
	Expiry time.Time
	// LastRefresh is when the tokens were last issued (login or refresh).
	LastRefresh time.Time
	// Scopes are the scopes granted, as the token endpoint reported them.
	Scopes []string
	// Status is StatusOK, or StatusFailed when the authorization server
	// rejected the refresh token and only a new login helps; LastError
	// then says why. An empty Status reads as StatusOK.
	Status    string
	LastError string
	// AccountID is the provider's account identifier when inference needs
	// it (ChatGPT's chatgpt-account-id, read from the id_token); empty
	// otherwise.
	AccountID string
	// TokenURL, ClientID and ClientSecret are the token endpoint and
	// client that issued the tokens; refreshes go back to them.
	TokenURL     string
	ClientID     string
	ClientSecret string
}

// String describes the account without its secrets.
func (a Account) String() string {
	return fmt.Sprintf("oauth.Account{Name:%q Kind:%q Expiry:%s Status:%q AccessToken:%s RefreshToken:%s}",
		a.Name, a.Kind, a.Expiry.UTC().Format(time.RFC3339), a.Status, redacted(a.AccessToken), redacted(a.RefreshToken))
}

// Format makes every fmt verb, %#v and %+v included, print String.
func (a Account) Format(f fmt.State, verb rune) {
	fmt.Fprint(f, a.String())
}

// LogValue gives log/slog the account without its secrets.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", a.Name),
		slog.String("kind", a.Kind),
		slog.Time("expiry", a.Expiry),
		slog.Time("last_refresh", a.LastRefresh),
		slog.String("status", a.Status),
	)
}

// MarshalJSON encodes the account without its secrets, so that a stray
// json.Marshal (or a logger that uses it) cannot leak them.
func (a Account) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name        string    `json:"name"`
		Kind        string    `json:"kind"`
		Expiry      time.Time `json:"expiry"`
		LastRefresh time.Time `json:"last_refresh"`
		Scopes      []string  `json:"scopes"`
		Status      string    `json:"status"`
		LastError   string    `json:"last_error,omitempty"`
	}{a.Name, a.Kind, a.Expiry, a.LastRefresh, a.Scopes, a.Status, a.LastError})
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED]"
}

// secrets is the sealed part of an account record.
type secrets struct {
	AccessToken  string `json:"a"`
	RefreshToken string `json:"r"`
	ClientSecret string `json:"s,omitempty"`
	AccountID    string `json:"i,omitempty"`
}

// Store keeps accounts in the table oauth_accounts of an existing database.
// Its methods are safe for concurrent use, also by several processes
// sharing the database file (the gateway and `llmgw oauth`).
type Store struct {
	db     *sql.DB
	sealer *sealer
}

const schema = `
CREATE TABLE IF NOT EXISTS oauth_accounts (
	name            TEXT PRIMARY KEY,
	kind            TEXT NOT NULL,
	sealed          BLOB NOT NULL,  -- version || nonce || AES-256-GCM(secrets JSON), additional data: the name
	expiry_ms       INTEGER NOT NULL,
	last_refresh_ms INTEGER NOT NULL,
	scopes          TEXT NOT NULL,
	token_url       TEXT NOT NULL,
	client_id       TEXT NOT NULL,
	status          TEXT NOT NULL,
	last_error      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_keycheck (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	sealed BLOB NOT NULL
);`

// keyCheck is sealed once per database so that a wrong key is reported when
// the store opens, not at the first request.
var keyCheckAD = []byte("llmgw oauth keycheck")

const keyCheckText = "llmgw oauth key check v1"

// OpenStore creates the store's tables in db if absent and checks that key
// (KeySize bytes, from LoadKey) is the one the database was written with:
// otherwise the error wraps ErrWrongKey.
func OpenStore(ctx context.Context, db *sql.DB, key []byte) (*Store, error) {
	sl, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("oauth: create tables: %w", err)
	}
	check, err := sl.seal([]byte(keyCheckText), keyCheckAD)
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO oauth_keycheck (id, sealed) VALUES (1, ?)`, check); err != nil {
		return nil, fmt.Errorf("oauth: key check: %w", err)
	}
	var stored []byte
	if err := db.QueryRowContext(ctx, `SELECT sealed FROM oauth_keycheck WHERE id = 1`).Scan(&stored); err != nil {
		return nil, fmt.Errorf("oauth: key check: %w", err)
	}
	if plain, err := sl.open(stored, keyCheckAD); err != nil || string(plain) != keyCheckText {
		return nil, fmt.Errorf("oauth: the secret key (%s or %s) is not the one this database's accounts were sealed with: %w", KeyEnv, KeyFileName, ErrWrongKey)
	}
	return &Store{db: db, sealer: sl}, nil
}

// Put inserts or replaces the account a.
func (s *Store) Put(ctx context.Context, a Account) error {
	args, err := s.row(a)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT OR REPLACE INTO oauth_accounts
		(name, kind, sealed, expiry_ms, last_refresh_ms, scopes, token_url, client_id, status, last_error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if err != nil {
		return fmt.Errorf("oauth: put account %q: %w", a.Name, err)
	}
	return nil
}

// update replaces an existing account; ErrNotFound when it was deleted
// meanwhile (a logout must not be undone by a refresh in flight).
func (s *Store) update(ctx context.Context, a Account) error {
	args, err := s.row(a)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE oauth_accounts SET
		kind = ?2, sealed = ?3, expiry_ms = ?4, last_refresh_ms = ?5, scopes = ?6,
		token_url = ?7, client_id = ?8, status = ?9, last_error = ?10
		WHERE name = ?1`, args...)
	if err != nil {
		return fmt.Errorf("oauth: update account %q: %w", a.Name, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("oauth: update account %q: %w", a.Name, ErrNotFound)
	}
	return nil
}

func (s *Store) row(a Account) ([]any, error) {
	if a.Name == "" {
		return nil, errors.New("oauth: account has no name")
	}
	plain, err := json.Marshal(secrets{a.AccessToken, a.RefreshToken, a.ClientSecret, a.AccountID})
	if err != nil {
		return nil, fmt.Errorf("oauth: encode account %q: %w", a.Name, err)
	}
	sealed, err := s.sealer.seal(plain, accountAD(a.Name))
	if err != nil {
		return nil, err
	}
	status := a.Status
	if status == "" {
		status = StatusOK
	}
	return []any{a.Name, a.Kind, sealed, unixMilli(a.Expiry), unixMilli(a.LastRefresh),
		strings.Join(a.Scopes, " "), a.TokenURL, a.ClientID, status, a.LastError}, nil
}

// accountAD binds a sealed record to its account name.
func accountAD(name string) []byte { return []byte("llmgw oauth account v1\x00" + name) }

// Get returns the account called name, or an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (Account, error) {
	rows, err := s.db.QueryContext(ctx, selectAccounts+` WHERE name = ?`, name)
	if err != nil {
		return Account{}, fmt.Errorf("oauth: get account %q: %w", name, err)
	}
	as, err := s.scan(rows)
	if err != nil {
		return Account{}, err
	}
	if len(as) == 0 {
		return Account{}, fmt.Errorf("oauth: account %q: %w", name, ErrNotFound)
	}
	return as[0], nil
}

// List returns every account, ordered by name.
func (s *Store) List(ctx context.Context) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, selectAccounts+` ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("oauth: list accounts: %w", err)
	}
	return s.scan(rows)
}

// Delete removes the account called name; ErrNotFound when there is none.
func (s *Store) Delete(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM oauth_accounts WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("oauth: delete account %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("oauth: account %q: %w", name, ErrNotFound)
	}
	return nil
}

const selectAccounts = `SELECT name, kind, sealed, expiry_ms, last_refresh_ms, scopes, token_url, client_id, status, last_error FROM oauth_accounts`

func (s *Store) scan(rows *sql.Rows) ([]Account, error) {
	defer rows.Close()
	var as []Account
	for rows.Next() {
		var (
			a                 Account
			sealed            []byte
			expiry, refreshed int64
			scopes            string
		)
		if err := rows.Scan(&a.Name, &a.Kind, &sealed, &expiry, &refreshed, &scopes, &a.TokenURL, &a.ClientID, &a.Status, &a.LastError); err != nil {
			return nil, fmt.Errorf("oauth: read account: %w", err)
		}
		plain, err := s.sealer.open(sealed, accountAD(a.Name))
		if err != nil {
			return nil, fmt.Errorf("oauth: account %q: %w", a.Name, err)
		}
		var sec secrets
		if err := json.Unmarshal(plain, &sec); err != nil {
			return nil, fmt.Errorf("oauth: account %q: decode secrets: %w", a.Name, err)
		}
		a.AccessToken, a.RefreshToken, a.ClientSecret, a.AccountID = sec.AccessToken, sec.RefreshToken, sec.ClientSecret, sec.AccountID
		a.Expiry, a.LastRefresh = fromUnixMilli(expiry), fromUnixMilli(refreshed)
		a.Scopes = strings.Fields(scopes)
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("oauth: read accounts: %w", err)
	}
	return as, nil
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
