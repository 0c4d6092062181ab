package oauth

// Endpoints describes an OAuth client of one authorization server. The
// zero value of each field means "not set"; DefaultEndpoints gives the
// public clients' values and a policy or flag overrides them field by
// field.
type Endpoints struct {
	// AuthURL is the authorization endpoint the user opens in a browser.
	AuthURL string
	// TokenURL is the token endpoint for the code exchange and refreshes.
	TokenURL string
	// ClientID and ClientSecret identify the client. Public (installed)
	// clients have no secret, or one that is not really secret (Google's).
	ClientID     string
	ClientSecret string
	// RedirectURL is the redirect_uri. An http URL on localhost, 127.0.0.1
	// or [::1] means a loopback listener (port 0: any free port); any other
	// URL is a page that shows the code for the user to paste. Empty means
	// http://127.0.0.1:0/callback.
	RedirectURL string
	// Scopes are requested space-separated in the authorization URL.
	Scopes []string
	// ExtraAuthParams are added to the authorization URL's query.
	ExtraAuthParams map[string]string
	// TokenJSON sends token requests as a JSON object rather than a form
	// (Anthropic's token endpoint expects JSON, with the state).
	TokenJSON bool
}

// Provider kinds that support subscription logins.
const (
	KindAnthropic = "anthropic"
	KindOpenAI    = "openai"
	KindGemini    = "gemini"
)

// DefaultEndpoints returns the endpoints of the public client that the
// official CLI of a provider kind uses: Claude Code for anthropic, Codex
// CLI for openai (ChatGPT accounts), Gemini CLI for gemini. The values are
// those the CLIs embed in their source; providers may change them without
// notice, which is why every field can be overridden.
func DefaultEndpoints(kind string) (Endpoints, bool) {
	switch kind {
	case KindAnthropic:
		// Claude Code's client. Its token endpoint is also reachable as
		// https://api.anthropic.com/v1/oauth/token and newer Claude Code
		// releases use https://platform.claude.com/v1/oauth/token; the
		// console host is the long-standing one. The redirect is the hosted
		// page that shows "code#state" for pasting (Claude Code's manual
		// flow); pass a loopback redirect (http://localhost:0/callback) to
		// receive the callback directly instead.
		return Endpoints{
			AuthURL:         "https://claude.ai/oauth/authorize",
			TokenURL:        "https://console.anthropic.com/v1/oauth/token",
			ClientID:        "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
			RedirectURL:     "https://console.anthropic.com/oauth/code/callback",
			Scopes:          []string{"org:create_api_key", "user:profile", "user:inference"},
			ExtraAuthParams: map[string]string{"code": "true"},
			TokenJSON:       true,
		}, true
	case KindOpenAI:
		// Codex CLI's client (codex-rs/login/src/server.rs). OpenAI only
		// accepts its registered loopback redirects: port 1455 (1457 as
		// the fallback), path /auth/callback.
		return Endpoints{
			AuthURL:     "https://auth.openai.com/oauth/authorize",
			TokenURL:    "https://auth.openai.com/oauth/token",
			ClientID:    "app_EMoamEEZ73f0CkXaXp7hrann",
			RedirectURL: "http://localhost:1455/auth/callback",
			Scopes:      []string{"openid", "profile", "email", "offline_access"},
			ExtraAuthParams: map[string]string{
				"id_token_add_organizations": "true",
				"codex_cli_simplified_flow":  "true",
				"originator":                 "codex_cli_rs",
			},
		}, true
	case KindGemini:
		// Gemini CLI's installed-app client (packages/core/src/code_assist/
		// oauth2.ts). Google documents that an installed app's client
		// secret is not confidential. access_type=offline and
		// prompt=consent make Google return a refresh token.
		return Endpoints{
			AuthURL:      "https://accounts.google.com/o/oauth2/v2/auth",
			TokenURL:     "https://oauth2.googleapis.com/token",
			ClientID:     "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com",
			ClientSecret: "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",
			RedirectURL:  "http://127.0.0.1:0/oauth2callback",
			Scopes: []string{
				"https://www.googleapis.com/auth/cloud-platform",
				"https://www.googleapis.com/auth/userinfo.email",
				"https://www.googleapis.com/auth/userinfo.profile",
			},
			ExtraAuthParams: map[string]string{"access_type": "offline", "prompt": "consent"},
		}, true
	}
	return Endpoints{}, false
}

// Override returns e with every non-empty field of o in place of e's.
func (e Endpoints) Override(o Endpoints) Endpoints {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&e.AuthURL, o.AuthURL)
	set(&e.TokenURL, o.TokenURL)
	set(&e.ClientID, o.ClientID)
	set(&e.ClientSecret, o.ClientSecret)
	set(&e.RedirectURL, o.RedirectURL)
	if len(o.Scopes) > 0 {
		e.Scopes = o.Scopes
	}
	if len(o.ExtraAuthParams) > 0 {
		e.ExtraAuthParams = o.ExtraAuthParams
	}
	e.TokenJSON = e.TokenJSON || o.TokenJSON
	return e
}

// AuthHeaders returns the headers, besides "Authorization: Bearer TOKEN",
// that inference with an OAuth token of the provider kind requires. The
// map is fresh on each call; the caller may modify it.
//
//   - anthropic: anthropic-beta: oauth-2025-04-20. The gateway must add it
//     to the client's own anthropic-beta list (comma-separated), not
//     replace that list, and must drop the client's x-api-key.
//   - openai: none for every account. ChatGPT accounts are served by
//     https://chatgpt.com/backend-api/codex (Responses API only), which
//     wants the account's chatgpt-account-id: that header is per account,
//     so Manager.Header adds it, not this function.
//   - gemini: none. Note that Gemini CLI accounts are served by the Code
//     Assist API (cloudcode-pa.googleapis.com), not by the public Gemini
//     API, which rejects these tokens' scopes.
func AuthHeaders(kind string) map[string]string {
	switch kind {
	case KindAnthropic:
		return map[string]string{"anthropic-beta": AnthropicOAuthBeta}
	}
	return map[string]string{}
}

// AnthropicOAuthBeta is the anthropic-beta value that Anthropic's API
// requires for requests authenticated with a Claude subscription token.
const AnthropicOAuthBeta = "oauth-2025-04-20"

// ChatGPTAccountHeader carries the ChatGPT account id on requests to the
// ChatGPT backend, as Codex CLI sends it.
const ChatGPTAccountHeader = "chatgpt-account-id"
