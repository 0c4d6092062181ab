package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/llmgw/llmgw/engine"
)

// clientSecret returns the credential a client sent, in whichever style its
// SDK uses: Authorization: Bearer (OpenAI, Claude Code with an auth token),
// x-api-key (Anthropic), x-goog-api-key or ?key= (Gemini). An
// Authorization header of another scheme (Basic, added by a proxy in front)
// is not a gateway key and must not hide one sent in another header.
func clientSecret(r *http.Request) string {
	if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		if tok := strings.TrimSpace(v[7:]); tok != "" {
			return tok
		}
	}
	if v := r.Header.Get("x-api-key"); v != "" {
		return v
	}
	if v := r.Header.Get("x-goog-api-key"); v != "" {
		return v
	}
	if v := r.Header.Get("api-key"); v != "" { // Azure-style clients
		return v
	}
	return r.URL.Query().Get("key")
}

// authenticate returns the name of the client key the request carries. A
// policy without key() declarations leaves the gateway open: every request
// is the anonymous client "". Comparison is constant-time over SHA-256
// digests, so neither the secret's content nor its length leaks through
// timing.
func authenticate(r *http.Request, pol *engine.Policy) (string, *HTTPError) {
	if len(pol.Keys) == 0 {
		return "", nil
	}
	secret := clientSecret(r)
	if secret == "" {
		return "", errorf(http.StatusUnauthorized, "missing API key: send it as Authorization: Bearer, x-api-key, x-goog-api-key or ?key=")
	}
	got := sha256.Sum256([]byte(secret))
	name, found := "", 0
	for _, k := range pol.Keys {
		want := sha256.Sum256([]byte(k.Secret))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			name, found = k.Name, 1
		}
	}
	if found == 0 {
		return "", errorf(http.StatusUnauthorized, "invalid API key")
	}
	return name, nil
}

// secretHeaders are client credentials, by lower-case name: never
// forwarded upstream, never logged, redacted from what a policy sees.
var secretHeaders = map[string]bool{
	"authorization":       true,
	"x-api-key":           true,
	"x-goog-api-key":      true,
	"api-key":             true,
	"cookie":              true,
	"proxy-authorization": true,
}
