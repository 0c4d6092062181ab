package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/oauth"
	"github.com/llmgw/llmgw/oauth/oauthtest"
)

// TestFlowLoopback runs the whole login with the callback on the loopback
// listener; the fake server verifies PKCE.
func TestFlowLoopback(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	fake.SetAccountID("acct-42")
	f, err := oauth.NewFlow(fake.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	redirectURL, wait, err := f.ListenLoopback(ctx)
	if err != nil {
		t.Fatalf("ListenLoopback = %v", err)
	}
	if strings.Contains(redirectURL, ":0/") || redirectURL != f.RedirectURL() {
		t.Fatalf("ListenLoopback redirect = %q (flow says %q), want the bound port", redirectURL, f.RedirectURL())
	}
	authURL := f.AuthURL()
	if q := mustQuery(t, authURL); q.Get("redirect_uri") != redirectURL {
		t.Errorf("AuthURL redirect_uri = %q, want %q", q.Get("redirect_uri"), redirectURL)
	}
	location, err := fake.Authorize(ctx, authURL)
	if err != nil {
		t.Fatal(err)
	}

	// A stray request with another state is refused and does not end the wait.
	stray := strings.Replace(location, "state=", "state=x", 1)
	if got := browse(t, stray); got != http.StatusBadRequest {
		t.Errorf("callback with a foreign state = %d, want 400", got)
	}
	if got := browse(t, location); got != http.StatusOK {
		t.Errorf("callback = %d, want 200", got)
	}
	code, err := wait()
	if err != nil || code == "" {
		t.Fatalf("wait() = %q, %v, want the code", code, err)
	}
	a, err := f.Exchange(ctx, nil, code)
	if err != nil {
		t.Fatalf("Exchange = %v", err)
	}
	if !fake.ValidToken(a.AccessToken) || a.RefreshToken == "" {
		t.Errorf("Exchange gave access %q (valid %v), refresh %q", a.AccessToken, fake.ValidToken(a.AccessToken), a.RefreshToken)
	}
	if a.AccountID != "acct-42" || a.TokenURL != fake.Endpoints().TokenURL || a.ClientID != oauthtest.ClientID || a.Expiry.IsZero() {
		t.Errorf("Exchange = %+v, want account id, token URL, client and expiry", a)
	}
	if got := strings.Join(a.Scopes, " "); got != oauthtest.Scope {
		t.Errorf("Exchange scopes = %q, want %q", got, oauthtest.Scope)
	}
	// The listener is gone after wait.
	if _, err := http.Get(location); err == nil {
		t.Error("loopback listener still answers after wait returned")
	}
}

func TestFlowPasted(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	tests := []struct {
		name  string
		paste func(location string) string
		want  string // error substring; empty for success
	}{
		{"redirect URL", func(l string) string { return "  " + l + "\n" }, ""},
		{"code#state", func(l string) string { q := mustQuery(t, l); return q.Get("code") + "#" + q.Get("state") }, ""},
		{"bare code", func(l string) string { return mustQuery(t, l).Get("code") }, ""},
		{"query string", func(l string) string { u, _ := url.Parse(l); return "?" + u.RawQuery }, ""},
		{"foreign state", func(l string) string { return mustQuery(t, l).Get("code") + "#someone-else" }, "state mismatch"},
		{"unknown code", func(string) string { return "forged-code" }, "invalid_grant"},
		{"empty", func(string) string { return " " }, "no code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := fake.Endpoints()
			ep.RedirectURL = "https://console.example/oauth/code/callback" // a hosted page: paste only
			f, err := oauth.NewFlow(ep)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.ListenLoopback(ctx); !errors.Is(err, oauth.ErrNoLoopback) {
				t.Errorf("ListenLoopback(hosted redirect) = %v, want ErrNoLoopback", err)
			}
			location, err := fake.Authorize(ctx, f.AuthURL())
			if err != nil {
				t.Fatal(err)
			}
			a, err := f.Exchange(ctx, nil, tt.paste(location))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Exchange = %v, want an error containing %q", err, tt.want)
				}
				return
			}
			if err != nil || !fake.ValidToken(a.AccessToken) {
				t.Fatalf("Exchange = %v, %v, want a valid token", a, err)
			}
		})
	}
}

// TestFlowPKCEVerified checks that the fake server is not fooled by a code
// exchanged with another flow's verifier: the PKCE check is real.
func TestFlowPKCEVerified(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	f1, _ := oauth.NewFlow(fake.Endpoints())
	f2, _ := oauth.NewFlow(fake.Endpoints())
	location, err := fake.Authorize(ctx, f1.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	_, err = f2.Exchange(ctx, nil, mustQuery(t, location).Get("code"))
	var te *oauth.TokenError
	if !errors.As(err, &te) || te.Code != "invalid_grant" || !strings.Contains(te.Description, "PKCE") {
		t.Fatalf("Exchange with another verifier = %v, want invalid_grant (PKCE)", err)
	}
	params := fake.LastRequest()
	if params["code_verifier"] == "" || oauth.Challenge(params["code_verifier"]) == mustQuery(t, f1.AuthURL()).Get("code_challenge") {
		t.Errorf("token request verifier %q, want f2's own", params["code_verifier"])
	}
}

func TestFlowAuthURL(t *testing.T) {
	ep, ok := oauth.DefaultEndpoints(oauth.KindOpenAI)
	if !ok {
		t.Fatal("DefaultEndpoints(openai) missing")
	}
	f, err := oauth.NewFlow(ep)
	if err != nil {
		t.Fatal(err)
	}
	q := mustQuery(t, f.AuthURL())
	want := map[string]string{
		"response_type":         "code",
		"client_id":             ep.ClientID,
		"redirect_uri":          "http://localhost:1455/auth/callback",
		"scope":                 "openid profile email offline_access",
		"code_challenge_method": "S256",
		"originator":            "codex_cli_rs",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("AuthURL %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 32 {
		t.Errorf("AuthURL challenge %q, state %q: want 43 and 32+ characters", q.Get("code_challenge"), q.Get("state"))
	}
	f2, _ := oauth.NewFlow(ep)
	if q2 := mustQuery(t, f2.AuthURL()); q2.Get("state") == q.Get("state") || q2.Get("code_challenge") == q.Get("code_challenge") {
		t.Error("two flows share a state or challenge")
	}
	if _, err := oauth.NewFlow(oauth.Endpoints{AuthURL: "https://a"}); err == nil {
		t.Error("NewFlow(no token URL, no client) = nil error")
	}
}

func TestFlowDenied(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	fake.Deny(true)
	f, _ := oauth.NewFlow(fake.Endpoints())
	_, wait, err := f.ListenLoopback(ctx)
	if err != nil {
		t.Fatal(err)
	}
	location, err := fake.Authorize(ctx, f.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	browse(t, location)
	if _, err := wait(); err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Errorf("wait() after a denial = %v, want access_denied", err)
	}
	if _, err := f.Exchange(ctx, nil, location); err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Errorf("Exchange(denied redirect) = %v, want access_denied", err)
	}
}

func TestFlowListenerEndsWithContext(t *testing.T) {
	fake := oauthtest.NewServer(t)
	f, _ := oauth.NewFlow(fake.Endpoints())
	ctx, cancel := context.WithCancel(context.Background())
	_, wait, err := f.ListenLoopback(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("wait() after cancel = %v, want context.Canceled", err)
	}
}

// TestExchangeJSON checks the Anthropic style: a JSON token request that
// carries the state.
func TestExchangeJSON(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	ep := fake.Endpoints()
	ep.TokenJSON = true
	f, _ := oauth.NewFlow(ep)
	location, err := fake.Authorize(ctx, f.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Exchange(ctx, nil, location); err != nil {
		t.Fatalf("Exchange = %v", err)
	}
	if got, want := fake.LastRequest()["state"], mustQuery(t, location).Get("state"); got != want {
		t.Errorf("JSON token request state = %q, want %q", got, want)
	}
}

func TestParseCallback(t *testing.T) {
	tests := []struct {
		in, code, state string
		wantErr         bool
	}{
		{"abc", "abc", "", false},
		{"abc#st", "abc", "st", false},
		{"http://localhost:1455/auth/callback?code=abc&state=st", "abc", "st", false},
		{"https://console.anthropic.com/oauth/code/callback?code=abc%23st", "abc", "st", false},
		{"code=abc&state=st", "abc", "st", false},
		{"http://localhost/cb#code=abc&state=st", "abc", "st", false},
		{"http://localhost/cb?error=access_denied", "", "", true},
		{"http://localhost/cb?foo=bar", "", "", true},
		{"two words", "", "", true},
		{"", "", "", true},
	}
	for _, tt := range tests {
		code, state, err := oauth.ParseCallback(tt.in)
		if (err != nil) != tt.wantErr || code != tt.code || state != tt.state {
			t.Errorf("ParseCallback(%q) = %q, %q, %v, want %q, %q, error %v", tt.in, code, state, err, tt.code, tt.state, tt.wantErr)
		}
	}
}

func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{"abc#st", "http://x/cb?code=a&state=b", "code=a", "?error=e", "http://x/#code=a", "%zz://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		code, _, err := oauth.ParseCallback(in)
		if err == nil && code == "" {
			t.Errorf("ParseCallback(%q) = empty code, nil error", in)
		}
	})
}

func ExampleChallenge() {
	// The example of RFC 7636, appendix B.
	fmt.Println(oauth.Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
	// Output: E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// browse visits a URL as the user's browser would and returns the status.
func browse(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
