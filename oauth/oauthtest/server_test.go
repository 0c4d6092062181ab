package oauthtest_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/llmgw/llmgw/oauth"
	"github.com/llmgw/llmgw/oauth/oauthtest"
	_ "modernc.org/sqlite"
)

func TestLogin(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "llmgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := oauth.OpenStore(ctx, db, make([]byte, oauth.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	a, err := fake.Login(ctx, st, "max-1", oauth.KindAnthropic)
	if err != nil {
		t.Fatalf("Login = %v", err)
	}
	if !fake.ValidToken(a.AccessToken) || fake.Exchanges() != 1 {
		t.Errorf("Login gave a token valid %v after %d exchanges, want valid after 1", fake.ValidToken(a.AccessToken), fake.Exchanges())
	}
	if got, err := st.Get(ctx, "max-1"); err != nil || got.AccessToken != a.AccessToken {
		t.Errorf("stored account = %v, %v", got, err)
	}
	fake.RevokeAll()
	if fake.ValidToken(a.AccessToken) {
		t.Error("ValidToken after RevokeAll = true")
	}
}
