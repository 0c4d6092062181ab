package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/oauth"
	"github.com/llmgw/llmgw/requestlog"
)

// secret is a credential the test plants; it must never come out.
type secret struct{ name, value string }

// newSecret returns a unique credential with a readable prefix.
func newSecret(name, prefix string) secret {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return secret{name, prefix + hex.EncodeToString(b)}
}

// leakForms returns strings that any text embedding the secret contains:
// the secret itself, its random part alone (catches a key shown without
// its prefix) and, for standard and URL-safe base64 at each of the three
// alignments, the characters that encode only the secret's bytes
// (catches Basic auth, JWT-style and base64-wrapped copies).
func leakForms(s string) []string {
	forms := []string{s}
	if i := strings.LastIndexByte(s, '-'); i >= 0 && len(s)-i > 12 {
		forms = append(forms, s[i+1:])
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for pad := range 3 {
			e := enc.EncodeToString(append(make([]byte, pad), s...))
			from, to := (pad*8+5)/6, (pad+len(s))*8/6
			forms = append(forms, e[from:to])
		}
	}
	return forms
}

func TestLeakForms(t *testing.T) {
	const s = "sk-test-0123456789abcdef01234567"
	for _, tc := range []struct {
		name, text string
		leaks      bool
	}{
		{"plain", "error: key " + s + " rejected", true},
		{"random part only", "key ...0123456789abcdef01234567", true},
		{"basic auth", "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+s)), true},
		{"base64, aligned", base64.StdEncoding.EncodeToString([]byte(s)), true},
		{"base64, offset 1", base64.StdEncoding.EncodeToString([]byte("{" + s + "}")), true},
		{"base64url, offset 2", base64.RawURLEncoding.EncodeToString([]byte("ab" + s + `"`)), true},
		{"last four", "key sk-test-...4567", false},
		{"other secret", "sk-test-fedcba9876543210fedcba98", false},
	} {
		found := false
		for _, f := range leakForms(s) {
			found = found || strings.Contains(tc.text, f)
		}
		if found != tc.leaks {
			t.Errorf("leakForms(%q) found in %s = %v, want %v", s, tc.name, found, tc.leaks)
		}
	}
}

// surfaces collects everything the gateway let out, by where it came from.
type surfaces map[string][]byte

func (s surfaces) add(name string, b []byte) {
	for n := 2; s[name] != nil; n++ {
		name = fmt.Sprintf("%s #%d", strings.TrimSuffix(name, fmt.Sprintf(" #%d", n-1)), n)
	}
	s[name] = b
}

// addFiles adds the bytes of the database and its -wal and -shm files.
func (s surfaces) addFiles(t *testing.T, when, db string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(db + suffix)
		if err == nil {
			s.add("file llmgw.db"+suffix+" "+when, b)
		}
	}
}

// check fails the test for every form of every secret found anywhere.
func (s surfaces) check(t *testing.T, secrets []secret) {
	t.Helper()
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, sec := range secrets {
		for _, n := range names {
			b := string(s[n])
			for _, form := range leakForms(sec.value) {
				if i := strings.Index(b, form); i >= 0 {
					ctx := b[max(0, i-120):min(len(b), i+len(form)+60)]
					t.Errorf("%s (as %q) leaks into %s: ...%s...", sec.name, form, n, ctx)
					break
				}
			}
		}
	}
}

// dumpResponse is what a client saw: status, headers and body.
func dumpResponse(resp *http.Response, body []byte) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", resp.Status)
	_ = resp.Header.Write(&b)
	b.Write(body)
	return []byte(b.String())
}

// hostileBody is an upstream error that quotes the request it got,
// credentials included, as some proxies and misconfigured servers do.
func hostileBody(r *http.Request) string {
	return fmt.Sprintf("you sent %s %s with headers %v", r.Method, r.URL.String(), r.Header)
}

// fakeUpstreams serves the three protocols, each checking the credential
// the gateway must send, and a hostile endpoint whose errors echo the
// request's headers. Wrong credentials are test failures: they would make
// the leak search vacuous.
func fakeUpstreams(t *testing.T, oaiKey, antKey, gemKey, oauthToken secret) (good, hostile *httptest.Server) {
	t.Helper()
	good = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/chat/completions" && r.Header.Get("Authorization") == "Bearer "+oaiKey.value:
			io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
		case r.URL.Path == "/v1/messages" && (r.Header.Get("x-api-key") == antKey.value || r.Header.Get("Authorization") == "Bearer "+oauthToken.value):
			io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}`)
		case strings.HasSuffix(r.URL.Path, ":generateContent") && r.Header.Get("x-goog-api-key") == gemKey.value:
			io.WriteString(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"totalTokenCount":6},"modelVersion":"gemini-2.5-flash"}`)
		case strings.HasSuffix(r.URL.Path, "/models"):
			io.WriteString(w, `{"object":"list","data":[],"models":[]}`)
		default:
			t.Errorf("upstream: %s %s with unexpected credentials (%d headers)", r.Method, r.URL.Path, len(r.Header))
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"bad credentials"}}`)
		}
	}))
	t.Cleanup(good.Close)
	hostile = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		echo := hostileBody(r) + " and body " + string(b)
		msg, _ := json.Marshal(echo)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo-Authorization", r.Header.Get("Authorization")+r.Header.Get("x-api-key"))
		switch {
		case r.URL.Path == "/token": // an OAuth token endpoint refusing the refresh, quoting it first
			desc, _ := json.Marshal("bad grant " + string(b))
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%s}`, desc)
			return
		case strings.Contains(string(b), "hostile-stream-error"):
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":0}}}\n\n")
			fmt.Fprintf(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":%s}}\n\n", msg)
			return
		}
		status := http.StatusBadRequest
		switch {
		case strings.Contains(string(b), "hostile-500"):
			status = http.StatusInternalServerError
		case strings.Contains(string(b), "hostile-401"):
			status = http.StatusUnauthorized
		case strings.Contains(string(b), "hostile-200"): // an error body with a 200
			status = http.StatusOK
		}
		w.WriteHeader(status)
		if strings.HasPrefix(r.URL.Path, "/v1/messages") {
			fmt.Fprintf(w, `{"type":"error","error":{"type":"invalid_request_error","message":%s}}`, msg)
			return
		}
		fmt.Fprintf(w, `{"error":{"message":%s,"type":"invalid_request_error","param":null,"code":null}}`, msg)
	}))
	t.Cleanup(hostile.Close)
	return good, hostile
}

const secretsPolicy = `oai = provider("oai", kind = "openai", base_url = env("GOOD_URL") + "/v1", api_key = env("OAI_KEY"))
ant = provider("ant", kind = "anthropic", base_url = env("GOOD_URL"), api_key = env("ANT_KEY"))
gem = provider("gem", kind = "gemini", base_url = env("GOOD_URL"), api_key = env("GEM_KEY"))
acct = provider("acct", kind = "anthropic", base_url = env("GOOD_URL"), oauth = "acct")
hostile = provider("hostile", kind = "openai", base_url = env("HOSTILE_URL") + "/v1", api_key = env("HOSTILE_KEY"))
hostile_ant = provider("hostile-ant", kind = "anthropic", base_url = env("HOSTILE_URL"), api_key = env("HOSTILE_ANT_KEY"))
acct_hostile = provider("acct-hostile", kind = "anthropic", base_url = env("HOSTILE_URL"), oauth = "acct")
down = provider("down", kind = "gemini", base_url = "http://127.0.0.1:1", api_key = env("DOWN_KEY"))

key("team", env("CLIENT_KEY"))
admin_key(env("ADMIN_KEY"))

def route(req, ctx):
    note("headers " + str(req.headers))
    m = req.model
    if m == "claude-oauth":
        return [acct]
    if m.startswith("claude"):
        return [ant]
    if m.startswith("gemini"):
        return [gem]
    if m in ("hostile-400", "hostile-200"):
        return [hostile]
    if m == "hostile-500":
        return [hostile, target(down, priority = 2)]
    if m in ("hostile-ant-400", "hostile-stream-error"):
        return [hostile_ant]
    if m == "hostile-401":
        return [acct_hostile]
    return [oai]
`

const secretsPolicyTest = `def test_routes():
    assert_eq(decide({"model": "gpt-4o"})["providers"], ["oai"])
    assert_eq(decide({"model": "claude-oauth"})["providers"], ["acct"])
`

// clientCall is one request a client sends in the secrets test.
type clientCall struct {
	name   string
	path   string // may carry ?key=
	body   string
	header []string // name, value pairs
	status int      // expected
}

// TestSecretsNeverLeak runs the gateway with known, unique secrets
// (provider keys, client and admin keys, an OAuth account's tokens and
// client secret, the token store's key, wrong keys clients send) through
// successes and refusals, then searches every output for every secret: the
// debug log, the bytes of the database files, every admin endpoint and
// /metrics, what clients received, and the output of eval, test, stats,
// replay and oauth status.
func TestSecretsNeverLeak(t *testing.T) { checkSecrets(t, false) }

// TestSecretsEchoedByUpstreamNeverLeak is the same search after upstream
// errors whose bodies quote the request they received, provider key
// included: the gateway must scrub the credentials it sent from what it
// passes on, logs and stores.
func TestSecretsEchoedByUpstreamNeverLeak(t *testing.T) { checkSecrets(t, true) }

// checkSecrets runs the secrets scenario, with the hostile upstream's
// calls or the ordinary ones.
func checkSecrets(t *testing.T, hostileCalls bool) {
	ctx := context.Background()
	sec := map[string]secret{}
	for _, s := range []secret{
		newSecret("openai provider key", "sk-oai-"), newSecret("anthropic provider key", "sk-ant-"),
		newSecret("gemini provider key", "AIza-gem-"), newSecret("hostile provider key", "sk-hostile-"),
		newSecret("hostile anthropic key", "sk-hant-"), newSecret("unreachable provider key", "AIza-down-"),
		newSecret("client key", "llmgw-team-"), newSecret("admin key", "llmgw-admin-"),
		newSecret("oauth access token", "oat-access-"), newSecret("oauth refresh token", "oat-refresh-"),
		newSecret("oauth client secret", "oat-client-"),
		newSecret("wrong bearer key", "sk-wrong1-"), newSecret("wrong x-api-key", "sk-wrong2-"),
		newSecret("wrong x-goog-api-key", "sk-wrong3-"), newSecret("wrong ?key=", "sk-wrong4-"),
		newSecret("basic auth password", "pw-basic-"), newSecret("wrong admin key", "llmgw-wadmin-"),
	} {
		sec[s.name] = s
	}
	storeKey := make([]byte, oauth.KeySize)
	_, _ = rand.Read(storeKey)
	sec["token store key"] = secret{"token store key", base64.StdEncoding.EncodeToString(storeKey)}
	sec["token store key (hex)"] = secret{"token store key (hex)", hex.EncodeToString(storeKey)}

	good, hostile := fakeUpstreams(t, sec["openai provider key"], sec["anthropic provider key"], sec["gemini provider key"], sec["oauth access token"])
	vars := map[string]string{
		"GOOD_URL": good.URL, "HOSTILE_URL": hostile.URL,
		"OAI_KEY": sec["openai provider key"].value, "ANT_KEY": sec["anthropic provider key"].value,
		"GEM_KEY": sec["gemini provider key"].value, "HOSTILE_KEY": sec["hostile provider key"].value,
		"HOSTILE_ANT_KEY": sec["hostile anthropic key"].value, "DOWN_KEY": sec["unreachable provider key"].value,
		"CLIENT_KEY": sec["client key"].value, "ADMIN_KEY": sec["admin key"].value,
		oauth.KeyEnv: sec["token store key"].value,
	}
	getenv := func(k string) string { return vars[k] }

	dir := t.TempDir()
	polDir := filepath.Join(dir, "policy")
	os.Mkdir(polDir, 0o755)
	os.WriteFile(filepath.Join(polDir, "main.star"), []byte(secretsPolicy), 0o644)
	os.WriteFile(filepath.Join(polDir, "main_test.star"), []byte(secretsPolicyTest), 0o644)
	db := filepath.Join(dir, "llmgw.db")
	seedOAuthAccount(t, ctx, db, storeKey, oauth.Account{
		Name: "acct", Kind: "anthropic",
		AccessToken: sec["oauth access token"].value, RefreshToken: sec["oauth refresh token"].value,
		ClientSecret: sec["oauth client secret"].value, ClientID: "llmgw-test",
		TokenURL: hostile.URL + "/token", Expiry: time.Now().Add(24 * time.Hour), LastRefresh: time.Now().Add(-time.Hour),
	})

	out := surfaces{}
	g := startGateway(t, vars, "--policy", polDir, "--db", db, "--log-level", "debug")
	client := &http.Client{Timeout: 30 * time.Second}
	do := func(c clientCall) []byte {
		t.Helper()
		method := http.MethodPost
		if c.body == "" {
			method = http.MethodGet
		}
		req, _ := http.NewRequest(method, g.url+c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(c.header); i += 2 {
			req.Header.Set(c.header[i], c.header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if c.status != 0 && resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.status, b)
		}
		out.add("response to "+c.name, dumpResponse(resp, b))
		return b
	}

	client1, admin := sec["client key"].value, sec["admin key"].value
	chat := func(model string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
	}
	msgs := func(model string) string {
		return `{"model":"` + model + `","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	}
	gemini := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	anthropicV := []string{"anthropic-version", "2023-06-01"}
	calls := []clientCall{
		{"openai chat with Bearer", "/v1/chat/completions", chat("gpt-4o"), []string{"Authorization", "Bearer " + client1}, 200},
		{"anthropic messages with x-api-key", "/v1/messages", msgs("claude-sonnet-4-5"), append([]string{"x-api-key", client1}, anthropicV...), 200},
		{"oauth account", "/v1/messages", msgs("claude-oauth"), append([]string{"x-api-key", client1}, anthropicV...), 200},
		{"gemini with x-goog-api-key", "/v1beta/models/gemini-2.5-flash:generateContent", gemini, []string{"x-goog-api-key", client1}, 200},
		{"gemini with ?key=", "/v1beta/models/gemini-2.5-flash:generateContent?key=" + url.QueryEscape(client1), gemini, nil, 200},
		{"wrong Bearer", "/v1/chat/completions", chat("gpt-4o"), []string{"Authorization", "Bearer " + sec["wrong bearer key"].value}, 401},
		{"wrong x-api-key", "/v1/messages", msgs("claude-sonnet-4-5"), append([]string{"x-api-key", sec["wrong x-api-key"].value}, anthropicV...), 401},
		{"wrong x-goog-api-key", "/v1beta/models/gemini-2.5-flash:generateContent", gemini, []string{"x-goog-api-key", sec["wrong x-goog-api-key"].value}, 401},
		{"wrong ?key=", "/v1beta/models/gemini-2.5-flash:generateContent?key=" + sec["wrong ?key="].value, gemini, nil, 401},
		{"Basic auth", "/v1/chat/completions", chat("gpt-4o"), []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("team:"+sec["basic auth password"].value))}, 401},
		{"models with key", "/v1/models", "", []string{"Authorization", "Bearer " + client1}, 200},
		{"gemini models with key", "/v1beta/models?key=" + client1, "", nil, 0},
		{"admin with wrong key", "/api/summary", "", []string{"Authorization", "Bearer " + sec["wrong admin key"].value}, 401},
	}
	if hostileCalls {
		calls = []clientCall{
			{"hostile 400, same protocol", "/v1/chat/completions", chat("hostile-400"), []string{"Authorization", "Bearer " + client1}, 400},
			{"hostile error body with 200", "/v1/messages", msgs("hostile-200"), append([]string{"x-api-key", client1}, anthropicV...), 0},
			{"hostile 400, other protocol", "/v1/chat/completions", chat("hostile-ant-400"), []string{"Authorization", "Bearer " + client1}, 400},
			{"hostile stream error event, same protocol", "/v1/messages", `{"model":"hostile-stream-error","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, append([]string{"x-api-key", client1}, anthropicV...), 200},
			{"hostile stream error event, other protocol", "/v1/chat/completions", `{"model":"hostile-stream-error","stream":true,"messages":[{"role":"user","content":"hi"}]}`, []string{"Authorization", "Bearer " + client1}, 200},
			{"oauth token rejected, refresh refused", "/v1/messages", msgs("hostile-401"), append([]string{"x-api-key", client1}, anthropicV...), 0},
			{"hostile 400, stream", "/v1/chat/completions", `{"model":"hostile-400","stream":true,"messages":[{"role":"user","content":"hi"}]}`, []string{"Authorization", "Bearer " + client1}, 400},
			{"hostile 500 then unreachable", "/v1/chat/completions", chat("hostile-500"), []string{"Authorization", "Bearer " + client1}, 0},
		}
	}
	for _, c := range calls {
		do(c)
	}

	adminHdr := []string{"Authorization", "Bearer " + admin}
	for _, p := range []string{"/api/summary", "/api/providers", "/api/policy", "/metrics", "/health", "/ready", "/"} {
		do(clientCall{name: "GET " + p, path: p, header: adminHdr})
	}
	do(clientCall{name: "POST /api/eval", path: "/api/eval?simulate_errors=oai=503", body: chat("gpt-4o"), header: adminHdr, status: 200})
	logged := 0
	for _, c := range calls {
		if c.body != "" {
			logged++
		}
	}
	waitLogged(t, g.url, adminHdr, logged)
	page := do(clientCall{name: "GET /api/requests", path: "/api/requests?limit=500", header: adminHdr, status: 200})
	var list requestlog.RequestPage
	if err := json.Unmarshal(page, &list); err != nil {
		t.Fatalf("/api/requests: %v", err)
	}
	refused := 0
	for _, it := range list.Items {
		if it.Status == http.StatusUnauthorized {
			refused++
		}
	}
	if want := countStatus(calls, http.StatusUnauthorized, true); refused != want {
		t.Errorf("/api/requests lists %d refused requests, want %d (each wrong key is logged)", refused, want)
	}
	for _, it := range list.Items {
		do(clientCall{name: "GET /api/requests/{id} (" + it.Model + ")", path: "/api/requests/" + it.RequestID, header: adminHdr, status: 200})
	}
	out.addFiles(t, "while running", db)

	if err := g.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	out.add("gateway log", []byte(g.logs.String()))
	out.addFiles(t, "after shutdown", db)

	// The offline commands over the same policy and database.
	reqFile := filepath.Join(dir, "req.json")
	os.WriteFile(reqFile, []byte(chat("hostile-500")), 0o644)
	for _, args := range [][]string{
		{"eval", "--policy", polDir, "--request", reqFile, "--explain", "--simulate-errors", "hostile=500"},
		{"eval", "--policy", polDir, "--request", reqFile, "--json"},
		{"test", "--policy", polDir, "-v"},
		{"oauth", "status", "--db", db},
		{"oauth", "status", "--db", db, "--json"},
		{"stats", "--db", db},
		{"replay", "--policy", polDir, "--db", db},
	} {
		var b syncBuffer
		if err := run(ctx, args, getenv, strings.NewReader(""), &b, &b); err != nil {
			t.Errorf("llmgw %s: %v\n%s", strings.Join(args, " "), err, b.String())
		}
		out.add("llmgw "+strings.Join(args[:2], " "), []byte(b.String()))
	}

	all := make([]secret, 0, len(sec))
	for _, s := range sec {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b secret) int { return strings.Compare(a.name, b.name) })
	out.check(t, all)
}

// countStatus counts the calls expecting status; with llmOnly, only
// those to the LLM front doors (which are logged).
func countStatus(calls []clientCall, status int, llmOnly bool) int {
	n := 0
	for _, c := range calls {
		if c.status == status && (!llmOnly || c.body != "") {
			n++
		}
	}
	return n
}

// seedOAuthAccount stores a logged-in account, as `llmgw oauth login`
// would, in the database at path.
func seedOAuthAccount(t *testing.T, ctx context.Context, path string, key []byte, a oauth.Account) {
	t.Helper()
	db, err := requestlog.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := oauth.OpenStore(ctx, db.SQL(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
}

// waitLogged polls /api/requests until it lists at least n requests (the
// log writer commits in batches), for at most 10 s.
func waitLogged(t *testing.T, base string, hdr []string, n int) {
	t.Helper()
	for range 200 {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/requests?limit=1", nil)
		req.Header.Set(hdr[0], hdr[1])
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var page requestlog.RequestPage
			_ = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if page.Total >= int64(n) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the request log did not reach %d requests", n)
}
