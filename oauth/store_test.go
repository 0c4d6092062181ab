package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmgw/llmgw/oauth"
)

func sampleAccount(name string) oauth.Account {
	return oauth.Account{
		Name:         name,
		Kind:         oauth.KindAnthropic,
		AccessToken:  "sk-ant-oat01-ACCESS-" + name,
		RefreshToken: "sk-ant-ort01-REFRESH-" + name,
		Expiry:       time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC),
		LastRefresh:  time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Scopes:       []string{"user:inference", "user:profile"},
		Status:       oauth.StatusOK,
		AccountID:    "acct-" + name,
		TokenURL:     "https://auth.example/token",
		ClientID:     "client-1",
		ClientSecret: "CLIENT-SECRET-" + name,
	}
}

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	want := []oauth.Account{sampleAccount("b-max"), sampleAccount("a-max")}
	for _, a := range want {
		if err := st.Put(ctx, a); err != nil {
			t.Fatalf("Put(%s) = %v", a.Name, err)
		}
	}
	got, err := st.Get(ctx, "b-max")
	if err != nil {
		t.Fatalf("Get(b-max) = %v", err)
	}
	if diff := cmp.Diff(want[0], got); diff != "" {
		t.Errorf("Get(b-max) mismatch (-want +got):\n%s", diff)
	}
	list, err := st.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]oauth.Account{want[1], want[0]}, list); diff != "" {
		t.Errorf("List() mismatch (-want +got):\n%s", diff)
	}

	updated := want[0]
	updated.AccessToken, updated.Status, updated.LastError = "new", oauth.StatusFailed, "revoked"
	if err := st.Put(ctx, updated); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Get(ctx, "b-max"); got.AccessToken != "new" || got.Status != oauth.StatusFailed {
		t.Errorf("Get after replace = %v, want the replaced account", got)
	}

	if err := st.Delete(ctx, "b-max"); err != nil {
		t.Fatalf("Delete(b-max) = %v", err)
	}
	if _, err := st.Get(ctx, "b-max"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("Get(deleted) = %v, want ErrNotFound", err)
	}
	if err := st.Delete(ctx, "b-max"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("Delete(deleted) = %v, want ErrNotFound", err)
	}
	if err := st.Put(ctx, oauth.Account{}); err == nil {
		t.Error("Put(account without name) = nil, want an error")
	}
}

// TestStoreNoSecretOnDisk writes known secrets and greps every file of the
// database (main file, WAL, shared memory) for them.
func TestStoreNoSecretOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "llmgw.db")
	db := openDB(t, path)
	st, err := oauth.OpenStore(ctx, db, testKey)
	if err != nil {
		t.Fatal(err)
	}
	a := sampleAccount("max-1")
	if err := st.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, sampleAccount("max-2")); err != nil { // leave some in the WAL too
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	if len(files) == 0 {
		t.Fatal("no database files written")
	}
	secrets := []string{a.AccessToken, a.RefreshToken, a.ClientSecret, "REFRESH-max-2", "ACCESS-max-2", string(testKey)}
	var seenName bool
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seenName = seenName || bytes.Contains(b, []byte("max-1"))
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains the secret %q in the clear", filepath.Base(f), s)
			}
		}
	}
	if !seenName {
		t.Error("the account name is in no database file: the grep looked at the wrong files")
	}
}

func TestStoreWrongKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "llmgw.db")
	db := openDB(t, path)
	st, err := oauth.OpenStore(ctx, db, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, sampleAccount("max-1")); err != nil {
		t.Fatal(err)
	}
	wrong := bytes.Repeat([]byte{7}, oauth.KeySize)
	_, err = oauth.OpenStore(ctx, db, wrong)
	if !errors.Is(err, oauth.ErrWrongKey) {
		t.Fatalf("OpenStore(wrong key) = %v, want ErrWrongKey", err)
	}
	if !strings.Contains(err.Error(), oauth.KeyEnv) {
		t.Errorf("OpenStore(wrong key) = %q, want a message naming %s", err, oauth.KeyEnv)
	}
	if _, err := oauth.OpenStore(ctx, db, testKey[:16]); err == nil {
		t.Error("OpenStore(16-byte key) = nil, want an error")
	}

	// Even past the key check (a forged check row), records do not open.
	if _, err := db.ExecContext(ctx, "DELETE FROM oauth_keycheck"); err != nil {
		t.Fatal(err)
	}
	st2, err := oauth.OpenStore(ctx, db, wrong)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st2.Get(ctx, "max-1"); !errors.Is(err, oauth.ErrWrongKey) {
		t.Errorf("Get with the wrong key = %v, want ErrWrongKey", err)
	}
	if _, err := st2.List(ctx); !errors.Is(err, oauth.ErrWrongKey) {
		t.Errorf("List with the wrong key = %v, want ErrWrongKey", err)
	}
}

// TestStoreRecordBoundToName moves a sealed record to another account: it
// must not open there.
func TestStoreRecordBoundToName(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "llmgw.db")
	db := openDB(t, path)
	st, err := oauth.OpenStore(ctx, db, testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"max-1", "max-2"} {
		if err := st.Put(ctx, sampleAccount(n)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.ExecContext(ctx, `UPDATE oauth_accounts SET sealed = (SELECT sealed FROM oauth_accounts WHERE name = 'max-1') WHERE name = 'max-2'`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "max-2"); !errors.Is(err, oauth.ErrWrongKey) {
		t.Errorf("Get(max-2 holding max-1's record) = %v, want ErrWrongKey", err)
	}
	if _, err := st.Get(ctx, "max-1"); err != nil {
		t.Errorf("Get(max-1) = %v", err)
	}
}

func TestAccountRedacted(t *testing.T) {
	a := sampleAccount("max-1")
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("account", "account", a)
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":          fmt.Sprintf("%v", a),
		"%+v":         fmt.Sprintf("%+v", a),
		"%#v":         fmt.Sprintf("%#v", a),
		"%s":          fmt.Sprintf("%s", a),
		"%v pointer":  fmt.Sprintf("%v", &a),
		"%v in slice": fmt.Sprintf("%v", []oauth.Account{a}),
		"String":      a.String(),
		"json":        string(js),
		"slog":        logged.String(),
	}
	for how, out := range outputs {
		for _, secret := range []string{a.AccessToken, a.RefreshToken, a.ClientSecret} {
			if strings.Contains(out, secret) {
				t.Errorf("%s of an account = %q, shows a secret", how, out)
			}
		}
		if !strings.Contains(out, "max-1") {
			t.Errorf("%s of an account = %q, want its name", how, out)
		}
	}
}
