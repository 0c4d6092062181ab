package gateway

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/oauth"
	"github.com/llmgw/llmgw/oauth/oauthtest"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/requestlog"
)

// managerTokens adapts *oauth.Manager to Tokens, as cmd/llmgw does.
type managerTokens struct{ m *oauth.Manager }

func (t managerTokens) Token(ctx context.Context, a string) (string, error) { return t.m.Token(ctx, a) }
func (t managerTokens) Invalidate(ctx context.Context, a string) (string, error) {
	return t.m.Invalidate(ctx, a)
}
func (t managerTokens) Headers(kind string) map[string]string { return oauth.AuthHeaders(kind) }
func (t managerTokens) Status(a string) (string, string)      { return t.m.Status(a) }

// TestOAuthAccountsFailOverToEachOther: two subscription accounts of one
// provider, each a provider in the policy. Requests carry the account's
// bearer token and the OAuth beta header, never the client's key; when the
// first account is revoked the request fails over to the second.
func TestOAuthAccountsFailOverToEachOther(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	db, err := requestlog.Open(ctx, filepath.Join(t.TempDir(), "llmgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := oauth.OpenStore(ctx, db.SQL(), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	acct1, err := fake.Login(ctx, store, "claude-max-1", "anthropic")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Login(ctx, store, "claude-max-2", "anthropic"); err != nil {
		t.Fatal(err)
	}
	mgr := oauth.NewManager(store, oauth.ManagerConfig{MinRefreshInterval: -1, Endpoints: func(string) oauth.Endpoints { return fake.Endpoints() }})

	up := providertest.New(t, providertest.Reply{})
	ok := providertest.FixtureReply(t, "anthropic_nonstream_tool_use_response.json")
	up.Handle(fake.RequireToken(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { providertest.Write(w, r, ok) })).ServeHTTP)

	h := newHarness(t, `key("team", "sk-client-secret")
m1 = provider("claude-max-1", kind = "anthropic", base_url = "`+up.URL+`", oauth = "claude-max-1")
m2 = provider("claude-max-2", kind = "anthropic", base_url = "`+up.URL+`", oauth = "claude-max-2", priority = 2)
def route(req, ctx):
    return [m1, m2]
`, func(c *Config) { c.Tokens = managerTokens{mgr} })

	body := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	hdr := []string{"x-api-key", "sk-client-secret", "anthropic-version", "2023-06-01", "anthropic-beta", "tools-2024-04-04"}
	resp, b := h.post("/v1/messages", body, hdr...)
	if resp.StatusCode != 200 || resp.Header.Get("X-LLMGW-Provider") != "claude-max-1" {
		t.Fatalf("first request: %d via %s: %s", resp.StatusCode, resp.Header.Get("X-LLMGW-Provider"), b)
	}
	got := up.Requests()[0].Header
	if got.Get("Authorization") != "Bearer "+acct1.AccessToken || got.Get("x-api-key") != "" {
		t.Errorf("upstream auth headers: Authorization %q, x-api-key %q", got.Get("Authorization"), got.Get("x-api-key"))
	}
	if beta := got.Get("anthropic-beta"); !strings.Contains(beta, "oauth-2025-04-20") || !strings.Contains(beta, "tools-2024-04-04") {
		t.Errorf("anthropic-beta = %q, want the client's betas plus the OAuth one", beta)
	}

	// Account 1 is revoked at the provider: its token is refused and its
	// refresh fails, so the request fails over to account 2.
	fake.ExpireAccess(acct1.AccessToken)
	fake.Revoke(acct1.RefreshToken)
	resp, b = h.post("/v1/messages", body, hdr...)
	if resp.StatusCode != 200 || resp.Header.Get("X-LLMGW-Provider") != "claude-max-2" {
		t.Fatalf("after revocation: %d via %s: %s", resp.StatusCode, resp.Header.Get("X-LLMGW-Provider"), b)
	}
	if state, reason := mgr.Status("claude-max-1"); state != "failed" || reason == "" {
		t.Errorf("Status(claude-max-1) = %q %q, want failed with a reason", state, reason)
	}
	for _, r := range up.Requests() {
		if strings.Contains(strings.Join(r.Header.Values("Authorization"), ""), "sk-client-secret") {
			t.Error("the client's key reached the upstream")
		}
	}
}
