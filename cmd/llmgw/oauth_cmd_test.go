package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgw/llmgw/oauth"
	"github.com/llmgw/llmgw/oauth/oauthtest"
)

// syncBuffer is an io.Writer safe for the command's and the test's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// oauthEnv is a test environment: a database in a temporary directory and
// the key in a generated key file, unless vars say otherwise.
func oauthEnv(t *testing.T, vars map[string]string) (env, *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{"LLMGW_DB": filepath.Join(dir, "llmgw.db")}
	for k, v := range vars {
		all[k] = v
	}
	out := &syncBuffer{}
	return env{getenv: func(k string) string { return all[k] }, stdin: strings.NewReader(""), stdout: out, stderr: out}, out
}

func fakeFlags(fake *oauthtest.Server, redirect string) []string {
	ep := fake.Endpoints()
	return []string{"--kind", "anthropic", "--auth-url", ep.AuthURL, "--token-url", ep.TokenURL,
		"--client-id", ep.ClientID, "--redirect-url", redirect, "--no-browser"}
}

// TestOAuthLoginLoopback drives `llmgw oauth login` with the browser coming
// back to the loopback listener, then status, refresh and logout.
func TestOAuthLoginLoopback(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	e, _ := oauthEnv(t, nil)
	stdinR, stdinW := io.Pipe() // nothing is pasted
	defer stdinW.Close()
	outR, outW := io.Pipe()
	e.stdin, e.stdout = stdinR, outW

	args := append([]string{"login", "claude-max-1"}, fakeFlags(fake, "http://127.0.0.1:0/callback")...)
	done := make(chan error, 1)
	go func() { done <- runOAuth(ctx, args, e); outW.Close() }()

	var printed strings.Builder
	sc := bufio.NewScanner(outR)
	var authURL string
	for sc.Scan() {
		line := sc.Text()
		printed.WriteString(line + "\n")
		if u := strings.TrimSpace(line); strings.HasPrefix(u, fake.URL) {
			authURL = u
			break
		}
	}
	if authURL == "" {
		t.Fatalf("login printed no authorization URL:\n%s", printed.String())
	}
	location, err := fake.Authorize(ctx, authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(location) // the browser returns to the listener
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	go io.Copy(&printed, outR)
	if err := <-done; err != nil {
		t.Fatalf("login = %v", err)
	}
	if fake.Exchanges() != 1 {
		t.Errorf("exchanges = %d, want 1", fake.Exchanges())
	}
	keyFile := filepath.Join(filepath.Dir(e.getenv("LLMGW_DB")), oauth.KeyFileName)
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file %s: %v, want mode 0600", keyFile, err)
	}

	e.stdin, e.stdout = strings.NewReader(""), &syncBuffer{}
	status := e.stdout.(*syncBuffer)
	if err := runOAuth(ctx, []string{"status", "--json"}, e); err != nil {
		t.Fatalf("status = %v", err)
	}
	var rows []struct{ Name, Kind, State string }
	if err := json.Unmarshal([]byte(status.String()), &rows); err != nil {
		t.Fatalf("status --json: %v\n%s", err, status)
	}
	if len(rows) != 1 || rows[0].Name != "claude-max-1" || rows[0].Kind != "anthropic" || rows[0].State != "ok" {
		t.Errorf("status --json = %+v, want claude-max-1 anthropic ok", rows)
	}
	if strings.Contains(status.String(), "fake-at-") || strings.Contains(status.String(), "fake-rt-") {
		t.Errorf("status printed a token:\n%s", status)
	}

	if err := runOAuth(ctx, []string{"refresh", "claude-max-1"}, e); err != nil {
		t.Fatalf("refresh = %v", err)
	}
	if fake.Refreshes() != 1 {
		t.Errorf("refreshes = %d, want 1", fake.Refreshes())
	}
	if err := runOAuth(ctx, []string{"logout", "claude-max-1"}, e); err != nil {
		t.Fatalf("logout = %v", err)
	}
	if err := runOAuth(ctx, []string{"logout", "claude-max-1"}, e); err == nil {
		t.Error("second logout = nil, want an error")
	}
}

// TestOAuthLoginPasted pastes the redirect URL on stdin (a hosted redirect
// page, no listener), with the key in LLMGW_SECRET_KEY.
func TestOAuthLoginPasted(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	e, out := oauthEnv(t, map[string]string{"LLMGW_SECRET_KEY": strings.Repeat("ab", 32)})
	pasteR, pasteW := io.Pipe()
	e.stdin = pasteR
	args := append([]string{"login", "max-2"}, fakeFlags(fake, "https://console.example/oauth/code/callback")...)
	done := make(chan error, 1)
	go func() { done <- runOAuth(ctx, args, e) }()

	var authURL string
	for i := 0; authURL == "" && i < 5000; i++ { // bounded wait for the printed URL
		for _, l := range strings.Split(out.String(), "\n") {
			if u := strings.TrimSpace(l); strings.HasPrefix(u, fake.URL) {
				authURL = u
			}
		}
		if authURL == "" {
			waitABit()
		}
	}
	location, err := fake.Authorize(ctx, authURL)
	if err != nil {
		t.Fatalf("authorize %q: %v", authURL, err)
	}
	io.WriteString(pasteW, location+"\n")
	if err := <-done; err != nil {
		t.Fatalf("login = %v\n%s", err, out)
	}
	pasteW.Close()
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.getenv("LLMGW_DB")), oauth.KeyFileName)); !os.IsNotExist(err) {
		t.Error("a key file was created although LLMGW_SECRET_KEY is set")
	}

	var buf syncBuffer
	e.stdout = &buf
	if err := runOAuth(ctx, []string{"status"}, e); err != nil {
		t.Fatalf("status = %v", err)
	}
	if !strings.Contains(buf.String(), "max-2") || !strings.Contains(buf.String(), "LAST REFRESH") {
		t.Errorf("status =\n%s\nwant a table with max-2", buf.String())
	}

	// Another key cannot read the database.
	e2 := e
	e2.getenv = func(k string) string {
		if k == "LLMGW_SECRET_KEY" {
			return strings.Repeat("cd", 32)
		}
		return e.getenv(k)
	}
	if err := runOAuth(ctx, []string{"status"}, e2); err == nil || !strings.Contains(err.Error(), "LLMGW_SECRET_KEY") {
		t.Errorf("status with another key = %v, want a wrong-key error", err)
	}
}

func TestOAuthUsageErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "unknown subcommand"},
		{[]string{"login", "x", "--kind", "cohere"}, "--kind"},
		{[]string{"login", "--kind", "anthropic"}, "NAME"},
		{[]string{"refresh"}, "NAME"},
		{[]string{"status", "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		e, _ := oauthEnv(t, nil)
		err := runOAuth(ctx, tt.args, e)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("runOAuth(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

func waitABit() { time.Sleep(2 * time.Millisecond) }
