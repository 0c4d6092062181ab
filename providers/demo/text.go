package demo

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CountTokens is the demo provider's tokenizer approximation: every run of
// letters and digits is one token and so is every other visible character
// (punctuation, symbols); white space is free. "Hello, world!" is 4 tokens.
// Real tokenizers give counts of the same order for English prose.
func CountTokens(s string) int {
	n := 0
	inWord := false
	for _, r := range s {
		switch {
		case isWordRune(r):
			if !inWord {
				n++
			}
			inWord = true
		case unicode.IsSpace(r):
			inWord = false
		default:
			n++
			inWord = false
		}
	}
	return n
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// splitTokens cuts s into pieces of one token each (as CountTokens counts
// them), every piece carrying the white space that precedes it, so that
// concatenating the pieces gives s back. Trailing white space joins the last
// piece.
func splitTokens(s string) []string {
	var pieces []string
	start := 0
	content := false // the current piece holds its token
	prevWord := false
	cut := func(i int) {
		pieces = append(pieces, s[start:i])
		start, content = i, false
	}
	for i, r := range s {
		if unicode.IsSpace(r) {
			if content {
				cut(i)
			}
			prevWord = false
			continue
		}
		word := isWordRune(r)
		if content && !(word && prevWord) {
			cut(i) // a token right after another, no space between
		}
		content, prevWord = true, word
	}
	switch {
	case start == len(s):
	case !content && len(pieces) > 0:
		pieces[len(pieces)-1] += s[start:]
	default:
		pieces = append(pieces, s[start:])
	}
	return pieces
}

// banner opens every reply.
const banner = "This is llmgw's offline demo provider."

// sentences are appended to the reply, starting at an index chosen by the
// request's hash, to make replies of plausible length.
var sentences = [...]string{
	"No request left this machine and no key was needed.",
	"Point a provider of another kind at a real API when you are ready.",
	"Every request through llmgw is logged with its token usage.",
	"The routing policy is a Starlark file that reloads when you save it.",
	"Streaming, tool calls and errors pass through byte for byte when the protocols match.",
	"When the protocols differ, llmgw converts between them on the fly.",
	"Failover walks the providers your policy returns, in order.",
	"Sticky sessions keep a conversation on the provider that started it.",
}

// maxQuoteTokens bounds how much of the user's message a reply repeats.
const maxQuoteTokens = 40

// reply is a generated answer, cut into stream chunks.
type reply struct {
	text   string
	chunks []string // concatenated they give text
	tokens int      // output tokens
	// truncated reports that a max-tokens limit cut the reply.
	truncated bool
}

// compose builds the reply to a prompt whose last user message is last.
// chunks is the number of stream chunks wanted (0: one per token) and
// maxTokens caps the output (0: no cap). hash picks the canned sentences.
func compose(last string, hash uint64, chunks, maxTokens int) reply {
	var b strings.Builder
	b.WriteString(banner)
	if q := quote(last); q != "" {
		b.WriteString(" You said: \"")
		b.WriteString(q)
		b.WriteString("\".")
	} else {
		b.WriteString(" Your message had no text.")
	}
	start := int(hash % uint64(len(sentences)))
	for i := 0; i < 2; i++ {
		b.WriteByte(' ')
		b.WriteString(sentences[(start+i)%len(sentences)])
	}
	pieces := splitTokens(b.String())
	// Lengthen the reply until every requested chunk has a token to carry.
	for i := 2; len(pieces) < chunks; i++ {
		more := splitTokens(" " + sentences[(start+i)%len(sentences)])
		pieces = append(pieces, more...)
	}
	r := reply{}
	if maxTokens > 0 && len(pieces) > maxTokens {
		pieces = pieces[:maxTokens]
		r.truncated = true
	}
	r.tokens = len(pieces)
	r.text = strings.Join(pieces, "")
	r.chunks = group(pieces, chunks)
	return r
}

// quote returns the user's text on one line, cut to maxQuoteTokens.
func quote(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	pieces := splitTokens(s)
	if len(pieces) <= maxQuoteTokens {
		return s
	}
	return strings.Join(pieces[:maxQuoteTokens], "") + "…"
}

// group joins pieces into n chunks of near-equal token counts; n <= 0 or
// n > len(pieces) gives one chunk per piece.
func group(pieces []string, n int) []string {
	if n <= 0 || n >= len(pieces) {
		return pieces
	}
	out := make([]string, n)
	for i := range n {
		lo, hi := i*len(pieces)/n, (i+1)*len(pieces)/n
		out[i] = strings.Join(pieces[lo:hi], "")
	}
	return out
}

// fingerprint identifies a request deterministically: ids and canned
// sentence choices derive from it.
type fingerprint [sha256.Size]byte

func newFingerprint(seed, protocol, model string, texts []string) fingerprint {
	h := sha256.New()
	for _, s := range append([]string{seed, protocol, model}, texts...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var f fingerprint
	h.Sum(f[:0])
	return f
}

// uint64 returns the first 8 bytes as a number.
func (f fingerprint) uint64() uint64 { return binary.BigEndian.Uint64(f[:8]) }

// id returns prefix followed by n hex digits of the fingerprint (n <= 64).
func (f fingerprint) id(prefix string, n int) string {
	return prefix + hex.EncodeToString(f[:])[:n]
}

// vector returns a deterministic unit vector of dims dimensions for text:
// a hash of the seed and the text drives a xorshift generator.
func vector(seed, text string, dims int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(seed))
	h.Write([]byte{0})
	h.Write([]byte(text))
	x := h.Sum64() | 1
	v := make([]float32, dims)
	var norm float64
	for i := range v {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		f := float64(int64(x>>11))/float64(1<<52) - 1 // in [-1, 1)
		v[i] = float32(f)
		norm += f * f
	}
	if norm = math.Sqrt(norm); norm > 0 {
		for i := range v {
			v[i] = float32(float64(v[i]) / norm)
		}
	}
	return v
}

// base64Floats encodes v as OpenAI's encoding_format "base64" does: the
// little-endian float32 bytes, base64-encoded.
func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}
