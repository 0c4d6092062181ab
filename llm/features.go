package llm

// Features are the routing features of a client's request, read from its
// body by the client protocol's adapter (a FeatureScanner) so that the
// policy engine sees the same values whatever the wire and needs no JSON
// scanner of its own. They are read, never validated: a member of the
// wrong type reads as absent.
type Features struct {
	Model  string // "" when the body names none (Gemini names it in the URL)
	Stream bool
	User   string // the end user the body names, "" when none
	// Metadata is the body's metadata object: string values as they are,
	// others as compact JSON; nil when absent or empty.
	Metadata map[string]string
	// Session is the session id the body carries (Anthropic's
	// metadata.user_id, OpenAI's prompt_cache_key, then the user), ""
	// when none. A session header, which the engine reads, wins over it.
	Session         string
	HasTools        bool
	HasImages       bool // images, audio or documents in the input
	HasThinking     bool // extended thinking or reasoning asked for
	MaxOutputTokens int
}

// FeatureScanner collects a body's Features from its top-level members:
// a caller walking the body once (the gateway checks it in the same pass)
// feeds it every member with Take, then reads Features. Its values may be
// sub-slices of the body, which must outlive the scanner until Features
// is called.
type FeatureScanner interface {
	// Take records one top-level member; like encoding/json, a later
	// duplicate wins. It always asks for more (returns true).
	Take(key, value []byte) bool
	// Features are the features of the members taken.
	Features() Features
}
