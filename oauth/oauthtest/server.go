// Package oauthtest provides a fake OAuth 2.0 authorization and token
// server for tests of the oauth package and of the gateway: the
// authorization-code grant with PKCE (S256, verified), refresh-token
// rotation, revocation, failure injection and a bearer-token check for
// fake upstreams. It listens on 127.0.0.1 only.
package oauthtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgw/llmgw/oauth"
)

// ClientID is the only client the fake server knows.
const ClientID = "llmgw-test-client"

// Scope is the scope the fake server grants.
const Scope = "user:inference user:profile"

// Server is a fake authorization server. Its methods are safe for
// concurrent use.
type Server struct {
	// URL is the server's base URL; /authorize and /token hang below it.
	URL string

	// mu guards the following.
	mu        sync.Mutex
	grants    map[string]*grant       // authorization code → grant
	refresh   map[string]*refreshInfo // refresh token → state
	access    map[string]bool         // access token → still valid
	exchanges int
	refreshes int
	expiresIn time.Duration
	accountID string
	deny      bool
	failures  []int         // statuses for the next token requests
	hold      chan struct{} // non-nil: refresh requests wait for it to close
	lastForm  map[string]string
}

type grant struct {
	challenge, redirect string
	used                bool
}

type refreshInfo struct {
	revoked, used bool
}

// NewServer starts a fake authorization server, closed when the test ends.
// Tokens expire after one hour unless SetExpiresIn says otherwise.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		grants:    map[string]*grant{},
		refresh:   map[string]*refreshInfo{},
		access:    map[string]bool{},
		expiresIn: time.Hour,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		s.mu.Lock()
		if s.hold != nil {
			close(s.hold)
			s.hold = nil
		}
		s.mu.Unlock()
		hs.Close()
	})
	s.URL = hs.URL
	return s
}

// Endpoints returns the client of the fake server, with a loopback
// redirect on any free port.
func (s *Server) Endpoints() oauth.Endpoints {
	return oauth.Endpoints{
		AuthURL:     s.URL + "/authorize",
		TokenURL:    s.URL + "/token",
		ClientID:    ClientID,
		RedirectURL: "http://127.0.0.1:0/callback",
		Scopes:      strings.Fields(Scope),
	}
}

// Authorize plays the user approving the login in a browser: it opens
// authURL and returns the redirect URL (with code and state, or an error)
// that the browser would then visit, without visiting it.
func (s *Server) Authorize(ctx context.Context, authURL string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return "", err
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("oauthtest: authorize answered %s", resp.Status)
	}
	return resp.Header.Get("Location"), nil
}

// Login runs a whole login against the server (authorization with PKCE,
// pasted redirect, code exchange) and stores the account as name of kind.
// It is the shortest way for a gateway test to get an OAuth provider.
func (s *Server) Login(ctx context.Context, st *oauth.Store, name, kind string) (oauth.Account, error) {
	ep := s.Endpoints()
	ep.TokenJSON = kind == oauth.KindAnthropic
	f, err := oauth.NewFlow(ep)
	if err != nil {
		return oauth.Account{}, err
	}
	redirect, err := s.Authorize(ctx, f.AuthURL())
	if err != nil {
		return oauth.Account{}, err
	}
	a, err := f.Exchange(ctx, nil, redirect)
	if err != nil {
		return oauth.Account{}, err
	}
	a.Name, a.Kind = name, kind
	return a, st.Put(ctx, a)
}

// SetExpiresIn sets the lifetime of the access tokens issued next
// (expires_in); zero or less omits expires_in.
func (s *Server) SetExpiresIn(d time.Duration) {
	s.mu.Lock()
	s.expiresIn = d
	s.mu.Unlock()
}

// SetAccountID makes the server issue an id_token carrying the ChatGPT
// account id claim, as OpenAI's does.
func (s *Server) SetAccountID(id string) {
	s.mu.Lock()
	s.accountID = id
	s.mu.Unlock()
}

// Deny makes /authorize refuse (error=access_denied) while on.
func (s *Server) Deny(on bool) {
	s.mu.Lock()
	s.deny = on
	s.mu.Unlock()
}

// FailNext makes the next len(statuses) token requests fail with these
// HTTP statuses and a temporarily_unavailable error body.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	s.failures = append(s.failures, statuses...)
	s.mu.Unlock()
}

// HoldRefreshes makes refresh requests wait until release is called (or
// the test ends), so that a test can pile up concurrent callers.
func (s *Server) HoldRefreshes() (release func()) {
	s.mu.Lock()
	ch := make(chan struct{})
	s.hold = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == ch {
				close(ch)
				s.hold = nil
			}
			s.mu.Unlock()
		})
	}
}

// RevokeAll revokes every refresh and access token issued so far, as a
// user signing out everywhere or a provider disabling the client would.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refresh {
		r.revoked = true
	}
	for t := range s.access {
		s.access[t] = false
	}
}

// Revoke revokes one refresh token.
func (s *Server) Revoke(refreshToken string) {
	s.mu.Lock()
	if r := s.refresh[refreshToken]; r != nil {
		r.revoked = true
	}
	s.mu.Unlock()
}

// ExpireAccess invalidates one access token (ValidToken then reports
// false), as an upstream would before its nominal expiry.
func (s *Server) ExpireAccess(token string) {
	s.mu.Lock()
	if _, ok := s.access[token]; ok {
		s.access[token] = false
	}
	s.mu.Unlock()
}

// ValidToken reports whether token is an access token this server issued
// and has not revoked or expired through ExpireAccess. Expiry in time is
// not checked: tests drive time with their own clocks.
func (s *Server) ValidToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access[token]
}

// RequireToken wraps an upstream handler: requests without a valid
// "Authorization: Bearer" access token of this server get 401.
func (s *Server) RequireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.ValidToken(tok) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid bearer token"}}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Exchanges returns how many authorization-code grants were requested.
func (s *Server) Exchanges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exchanges
}

// Refreshes returns how many refresh-token grants were requested,
// successful or not.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// LastRequest returns the parameters of the last token request, form or
// JSON alike.
func (s *Server) LastRequest() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastForm
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("redirect_uri") == "" || err != nil || !redirect.IsAbs() {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("client_id") != ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	s.mu.Lock()
	deny := s.deny
	s.mu.Unlock()
	switch {
	case deny:
		back.Set("error", "access_denied")
		back.Set("error_description", "the user declined")
	case q.Get("response_type") != "code" || q.Get("state") == "":
		back.Set("error", "invalid_request")
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		back.Set("error", "invalid_request")
		back.Set("error_description", "PKCE with S256 is required")
	default:
		code := "fake-code-" + randomHex()
		s.mu.Lock()
		s.grants[code] = &grant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		s.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	params, err := readParams(r)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	s.mu.Lock()
	s.lastForm = params
	var fail int
	if len(s.failures) > 0 {
		fail, s.failures = s.failures[0], s.failures[1:]
	}
	s.mu.Unlock()
	if params["client_id"] != ClientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	switch params["grant_type"] {
	case "authorization_code":
		s.mu.Lock()
		s.exchanges++
		s.mu.Unlock()
		if fail != 0 {
			oauthError(w, fail, "temporarily_unavailable", "injected failure")
			return
		}
		s.exchangeCode(w, params)
	case "refresh_token":
		s.mu.Lock()
		s.refreshes++
		hold := s.hold
		s.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		if fail != 0 {
			oauthError(w, fail, "temporarily_unavailable", "injected failure")
			return
		}
		s.refreshToken(w, params)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

func (s *Server) exchangeCode(w http.ResponseWriter, p map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grants[p["code"]]
	switch {
	case g == nil || g.used:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
	case p["redirect_uri"] != g.redirect:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request")
	case p["code_verifier"] == "" || challenge(p["code_verifier"]) != g.challenge:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
	default:
		g.used = true
		s.issue(w)
	}
}

func (s *Server) refreshToken(w http.ResponseWriter, p map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.refresh[p["refresh_token"]]
	switch {
	case rt == nil:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown refresh token")
	case rt.revoked:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token revoked")
	case rt.used:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token already used")
	default:
		rt.used = true // rotation: each refresh token works once
		s.issue(w)
	}
}

// issue writes a new token pair; s.mu is held.
func (s *Server) issue(w http.ResponseWriter) {
	at, rt := "fake-at-"+randomHex(), "fake-rt-"+randomHex()
	s.access[at] = true
	s.refresh[rt] = &refreshInfo{}
	body := map[string]any{
		"access_token":  at,
		"refresh_token": rt,
		"token_type":    "Bearer",
		"scope":         Scope,
	}
	if s.expiresIn > 0 {
		body["expires_in"] = int(s.expiresIn / time.Second)
	}
	if s.accountID != "" {
		body["id_token"] = idToken(s.accountID)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func readParams(r *http.Request) (map[string]string, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	out := map[string]string{}
	if mt == "application/json" {
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&out); err != nil {
			return nil, errors.New("body is not a JSON object of strings")
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k := range r.PostForm {
		out[k] = r.PostForm.Get(k)
	}
	return out, nil
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// idToken returns an unsigned JWT with OpenAI's account claim.
func idToken(accountID string) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(map[string]any{
		"sub":                         "user-1",
		"https://api.openai.com/auth": map[string]string{"chatgpt_account_id": accountID},
	})
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + ".sig"
}

func randomHex() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
