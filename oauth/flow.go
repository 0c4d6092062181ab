package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ErrNoLoopback reports that a flow's redirect URL is not a loopback URL,
// so the code can only be pasted.
var ErrNoLoopback = errors.New("oauth: redirect URL is not a loopback URL; paste the code instead")

// defaultRedirect is the redirect of an Endpoints without one.
const defaultRedirect = "http://127.0.0.1:0/callback"

// Flow is one interactive login: the authorization-code grant with PKCE
// (RFC 7636, method S256). Create it with NewFlow, call ListenLoopback first
// if the callback should reach this process, then show AuthURL to the user
// and pass what comes back to Exchange. A Flow is used by one goroutine.
type Flow struct {
	// Now is the clock for the tokens' expiry; nil means time.Now.
	Now func() time.Time

	ep       Endpoints
	redirect string
	verifier string
	state    string
}

// NewFlow starts a login with the client ep. AuthURL, TokenURL and
// ClientID are required.
func NewFlow(ep Endpoints) (*Flow, error) {
	for _, f := range []struct{ name, v string }{{"auth URL", ep.AuthURL}, {"token URL", ep.TokenURL}, {"client id", ep.ClientID}} {
		if f.v == "" {
			return nil, fmt.Errorf("oauth: endpoints have no %s", f.name)
		}
	}
	if _, err := url.Parse(ep.AuthURL); err != nil {
		return nil, fmt.Errorf("oauth: auth URL: %w", err)
	}
	f := &Flow{ep: ep, redirect: ep.RedirectURL, verifier: randomString(), state: randomString()}
	if f.redirect == "" {
		f.redirect = defaultRedirect
	}
	return f, nil
}

// randomString returns 32 random bytes in unpadded base64url: 43
// characters, a valid PKCE verifier (RFC 7636 §4.1) and an unguessable
// state.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand doc)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Challenge returns the S256 code challenge of a PKCE verifier.
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// RedirectURL returns the redirect_uri of the flow (with the actual port
// once ListenLoopback has bound one).
func (f *Flow) RedirectURL() string { return f.redirect }

// AuthURL returns the URL the user opens to authorize the client.
func (f *Flow) AuthURL() string {
	u, _ := url.Parse(f.ep.AuthURL) // checked by NewFlow
	q := u.Query()
	for k, v := range f.ep.ExtraAuthParams {
		q.Set(k, v)
	}
	q.Set("response_type", "code")
	q.Set("client_id", f.ep.ClientID)
	q.Set("redirect_uri", f.redirect)
	if len(f.ep.Scopes) > 0 {
		q.Set("scope", strings.Join(f.ep.Scopes, " "))
	}
	q.Set("code_challenge", Challenge(f.verifier))
	q.Set("code_challenge_method", "S256")
	q.Set("state", f.state)
	u.RawQuery = q.Encode()
	return u.String()
}

// ListenLoopback listens for the authorization server's redirect on the
// loopback address of the flow's redirect URL (port 0 picks a free port)
// and returns the redirect URL to authorize with. wait blocks until a
// callback with this flow's state brings a code or an error, or ctx ends;
// it then closes the listener. The listener also closes when ctx ends, so
// a caller that gives up may skip wait. A redirect URL that is not an http
// loopback URL gives ErrNoLoopback.
func (f *Flow) ListenLoopback(ctx context.Context) (redirectURL string, wait func() (code string, err error), err error) {
	u, err := url.Parse(f.redirect)
	if err != nil || u.Scheme != "http" || !isLoopbackHost(u.Hostname()) {
		return "", nil, ErrNoLoopback
	}
	bindHost := "127.0.0.1"
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.To4() == nil {
		bindHost = "::1"
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(bindHost, port))
	if err != nil {
		return "", nil, fmt.Errorf("oauth: loopback listener: %w", err)
	}
	u.Host = net.JoinHostPort(u.Hostname(), fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
	if u.Path == "" {
		u.Path = "/"
	}
	f.redirect = u.String()

	cb := &callback{path: u.Path, state: f.state, done: make(chan struct{}), result: make(chan callbackResult, 1)}
	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) // returns when srv closes below
	var once sync.Once
	stop := func() {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if srv.Shutdown(sctx) != nil {
				srv.Close()
			}
		})
	}
	go func() { // owned by this flow: ends with ctx or with wait
		select {
		case <-ctx.Done():
		case <-cb.done:
		}
		stop()
	}()
	wait = func() (string, error) {
		defer cb.finish()
		select {
		case r := <-cb.result:
			return r.code, r.err
		case <-ctx.Done():
			return "", fmt.Errorf("oauth: waiting for the login callback: %w", ctx.Err())
		}
	}
	return f.redirect, wait, nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// callback serves the loopback redirect.
type callback struct {
	path, state string
	result      chan callbackResult // buffered: the first callback wins
	done        chan struct{}       // closed by finish
	finishOnce  sync.Once
}

type callbackResult struct {
	code string
	err  error
}

func (c *callback) finish() { c.finishOnce.Do(func() { close(c.done) }) }

func (c *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != c.path {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(c.state)) != 1 {
		// A stray or forged request: refuse it and keep waiting.
		http.Error(w, "state mismatch: this callback does not belong to the login in progress", http.StatusBadRequest)
		return
	}
	res := callbackResult{code: q.Get("code")}
	page := "Login complete. You can close this tab and return to llmgw."
	switch {
	case q.Get("error") != "":
		res = callbackResult{err: authError(q)}
		page = "Login failed: " + res.err.Error()
	case res.code == "":
		res = callbackResult{err: errors.New("oauth: callback has no code")}
		page = "Login failed: the callback has no code."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>llmgw login</title><p>%s</p>\n", html.EscapeString(page))
	http.NewResponseController(w).Flush() // the page first: the listener closes once the result is taken
	select {
	case c.result <- res:
	default: // a result is already pending
	}
}

func authError(q url.Values) error {
	msg := "oauth: authorization denied: " + shorten(q.Get("error"), 64)
	if d := q.Get("error_description"); d != "" {
		msg += ": " + shorten(d, 200)
	}
	return errors.New(msg)
}

// ParseCallback extracts the authorization code, and the state when
// present, from what a user pastes: a bare code, Anthropic's "code#state",
// a query string, or the whole redirect URL.
func ParseCallback(input string) (code, state string, err error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return "", "", errors.New("oauth: no code given")
	}
	var q url.Values
	switch {
	case strings.Contains(s, "://"):
		u, err := url.Parse(s)
		if err != nil {
			return "", "", errors.New("oauth: the pasted redirect URL does not parse")
		}
		q = u.Query()
		if q.Get("code") == "" && q.Get("error") == "" && u.Fragment != "" {
			q, _ = url.ParseQuery(u.Fragment) // some servers answer in the fragment
		}
	case strings.Contains(s, "code=") || strings.Contains(s, "error="):
		q, _ = url.ParseQuery(strings.TrimPrefix(s, "?"))
	default:
		code, state, _ = strings.Cut(s, "#")
		if code == "" || strings.ContainsAny(code, " \t\r\n") {
			return "", "", errors.New("oauth: the pasted text is not a code")
		}
		return code, state, nil
	}
	if q.Get("error") != "" {
		return "", "", authError(q)
	}
	if q.Get("code") == "" {
		return "", "", errors.New("oauth: the pasted URL has no code")
	}
	// Anthropic's hosted page puts "code#state" in the code parameter.
	code, state, _ = strings.Cut(q.Get("code"), "#")
	if code == "" {
		return "", "", errors.New("oauth: the pasted URL has no code")
	}
	if s := q.Get("state"); s != "" {
		state = s
	}
	return code, state, nil
}

// Exchange trades the code in codeOrRedirectURL (anything ParseCallback
// accepts) for tokens at the token endpoint, using the PKCE verifier. A
// state that differs from the flow's is refused. The returned account has
// its tokens, expiry, scopes and client, but no Name or Kind.
func (f *Flow) Exchange(ctx context.Context, client *http.Client, codeOrRedirectURL string) (Account, error) {
	code, state, err := ParseCallback(codeOrRedirectURL)
	if err != nil {
		return Account{}, err
	}
	if state != "" && subtle.ConstantTimeCompare([]byte(state), []byte(f.state)) != 1 {
		return Account{}, errors.New("oauth: state mismatch: the code belongs to another login attempt; start again")
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	params := map[string]string{
		"grant_type":    "authorization_code",
		"code":          code,
		"redirect_uri":  f.redirect,
		"client_id":     f.ep.ClientID,
		"code_verifier": f.verifier,
	}
	if f.ep.ClientSecret != "" {
		params["client_secret"] = f.ep.ClientSecret
	}
	if f.ep.TokenJSON {
		params["state"] = f.state // Anthropic's endpoint wants it back
	}
	now := f.now()
	ts, err := postToken(ctx, client, f.ep.TokenURL, params, f.ep.TokenJSON, now)
	if err != nil {
		return Account{}, fmt.Errorf("oauth: exchange code: %w", err)
	}
	scopes := ts.Scopes
	if len(scopes) == 0 {
		scopes = f.ep.Scopes
	}
	return Account{
		AccessToken:  ts.AccessToken,
		RefreshToken: ts.RefreshToken,
		Expiry:       ts.Expiry,
		LastRefresh:  now.UTC(),
		Scopes:       scopes,
		Status:       StatusOK,
		AccountID:    ts.AccountID,
		TokenURL:     f.ep.TokenURL,
		ClientID:     f.ep.ClientID,
		ClientSecret: f.ep.ClientSecret,
	}, nil
}

func (f *Flow) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}
