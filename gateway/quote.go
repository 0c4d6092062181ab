package gateway

import (
	"strconv"
	"unicode/utf8"
)

// maxQuoted is how many bytes of client input an error message quotes.
// Messages travel back to the client and into the request log, which is
// written before authentication: quoting a 9 MiB model name whole would let
// an anonymous caller grow the database and every listing that reads it.
const maxQuoted = 200

// quoteInput returns s quoted as by strconv.Quote, cut to maxQuoted bytes
// (on a rune boundary) with its full length noted when longer, so that a
// message names what the client sent without echoing it unboundedly.
func quoteInput(s string) string {
	return strconv.Quote(clip(s, maxQuoted)) + clipNote(s, maxQuoted)
}

// capInput is quoteInput without the quotes: s itself when short, else its
// first maxQuoted bytes followed by "… (N bytes)".
func capInput(s string) string {
	return clip(s, maxQuoted) + clipNote(s, maxQuoted)
}

// clip returns at most n bytes of s, never splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// clipNote is the suffix that says s was cut at n bytes, or "".
func clipNote(s string, n int) string {
	if len(s) <= n {
		return ""
	}
	return "… (" + strconv.Itoa(len(s)) + " bytes)"
}
