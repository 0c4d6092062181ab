package oauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrLoginRequired reports that the authorization server rejected the
// refresh token (revoked, expired or from another client): only a new
// `llmgw oauth login` brings the account back.
var ErrLoginRequired = errors.New("oauth: login required")

// TokenError is an error response of a token endpoint. Its message holds
// only the standard error code and description, never a token.
type TokenError struct {
	Status      int    // HTTP status
	Code        string // OAuth error code, such as invalid_grant; may be empty
	Description string // error_description, shortened
}

func (e *TokenError) Error() string {
	msg := fmt.Sprintf("oauth: token endpoint: HTTP %d", e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Permanent reports whether retrying with the same grant cannot succeed:
// the grant or the client was rejected.
func (e *TokenError) Permanent() bool {
	switch e.Code {
	case "invalid_grant", "invalid_client", "unauthorized_client", "access_denied":
		return true
	}
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// tokenSet is what a token endpoint returned, parsed.
type tokenSet struct {
	AccessToken  string
	RefreshToken string
	Expiry       time.Time // zero when expires_in was absent
	Scopes       []string
	AccountID    string
}

// maxTokenBody bounds what is read from a token endpoint.
const maxTokenBody = 1 << 20

// postToken sends a token request and parses the answer. params are the
// form fields (or JSON members when asJSON).
func postToken(ctx context.Context, client *http.Client, tokenURL string, params map[string]string, asJSON bool, now time.Time) (tokenSet, error) {
	var body io.Reader
	contentType := "application/x-www-form-urlencoded"
	if asJSON {
		b, err := json.Marshal(params)
		if err != nil {
			return tokenSet{}, fmt.Errorf("oauth: encode token request: %w", err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	} else {
		form := url.Values{}
		for k, v := range params {
			form.Set(k, v)
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, body)
	if err != nil {
		return tokenSet{}, fmt.Errorf("oauth: token request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return tokenSet{}, fmt.Errorf("oauth: token endpoint: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return tokenSet{}, fmt.Errorf("oauth: token endpoint: read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return tokenSet{}, tokenError(resp.StatusCode, scrubParams(raw, params))
	}
	return parseTokenResponse(raw, now)
}

// redactURLError keeps a transport error's cause but not its URL, which is
// configuration, not a secret, but keeps messages short.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, hostOf(ue.URL), ue.Err)
	}
	return err
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "token endpoint"
}

// secretParams are the token request fields that are secrets.
var secretParams = []string{"refresh_token", "client_secret", "code", "code_verifier"}

// scrubParams removes the secrets of a token request from the token
// endpoint's answer: an error that quotes the request must not put the
// refresh token or client secret into the account's last error, which is
// stored in the clear and shown by status, logs and /api/providers.
func scrubParams(raw []byte, params map[string]string) []byte {
	for _, k := range secretParams {
		v := params[k]
		if len(v) < 8 {
			continue
		}
		for _, form := range []string{v, url.QueryEscape(v)} {
			raw = bytes.ReplaceAll(raw, []byte(form), []byte("[REDACTED]"))
		}
	}
	return raw
}

func tokenError(status int, raw []byte) error {
	var body struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	e := &TokenError{Status: status}
	if json.Unmarshal(raw, &body) == nil {
		// error is a string in RFC 6749; some servers nest an object
		// {"type","message"} (Anthropic's API style).
		var code string
		var nested struct{ Type, Message, Code string }
		if json.Unmarshal(body.Error, &code) == nil {
			e.Code = code
		} else if json.Unmarshal(body.Error, &nested) == nil {
			e.Code = firstNonEmpty(nested.Code, nested.Type)
			if body.ErrorDescription == "" {
				body.ErrorDescription = nested.Message
			}
		}
		e.Description = body.ErrorDescription
	}
	e.Code = shorten(e.Code, 64)
	e.Description = shorten(e.Description, 200)
	return e
}

func parseTokenResponse(raw []byte, now time.Time) (tokenSet, error) {
	var body struct {
		AccessToken  string          `json:"access_token"`
		RefreshToken string          `json:"refresh_token"`
		ExpiresIn    json.RawMessage `json:"expires_in"`
		Scope        string          `json:"scope"`
		IDToken      string          `json:"id_token"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return tokenSet{}, errors.New("oauth: token endpoint: response is not JSON")
	}
	if body.AccessToken == "" {
		return tokenSet{}, errors.New("oauth: token endpoint: response has no access_token")
	}
	ts := tokenSet{
		AccessToken:  body.AccessToken,
		RefreshToken: body.RefreshToken,
		Scopes:       strings.Fields(body.Scope),
		AccountID:    firstNonEmpty(chatGPTAccountID(body.IDToken), chatGPTAccountID(body.AccessToken)),
	}
	if secs, ok := parseExpiresIn(body.ExpiresIn); ok {
		ts.Expiry = now.Add(time.Duration(secs) * time.Second).UTC()
	}
	return ts, nil
}

// parseExpiresIn accepts a number or a numeric string (some servers quote it).
func parseExpiresIn(raw json.RawMessage) (int64, bool) {
	s := strings.Trim(string(raw), `"`)
	if s == "" || s == "null" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 10*365*24*3600 {
		return 0, false
	}
	return int64(f), true
}

// chatGPTAccountID reads the chatgpt_account_id claim that OpenAI puts in
// its JWTs under "https://api.openai.com/auth". The signature is not
// checked: the token came straight from the token endpoint over TLS, and
// the id only routes requests within the account it authenticates.
func chatGPTAccountID(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		Auth struct {
			AccountID string `json:"chatgpt_account_id"`
		} `json:"https://api.openai.com/auth"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.Auth.AccountID
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
