package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/requestlog"
)

// door is one front door under test.
type door struct {
	name  string
	shape string // the caller's error shape: openai, anthropic or gemini
	path  string
	good  string // a valid body
}

// doors are every front door, with a valid body each.
var doors = []door{
	{"chat", "openai", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`},
	{"responses", "openai", "/v1/responses", `{"model":"gpt-4o","input":[{"role":"user","content":"hi"}]}`},
	{"embeddings", "openai", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`},
	{"messages", "anthropic", "/v1/messages", `{"model":"claude-sonnet-4","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`},
	{"count_tokens", "anthropic", "/v1/messages/count_tokens", `{"model":"claude-sonnet-4","messages":[{"role":"user","content":"hi"}]}`},
	{"generateContent", "gemini", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
	{"streamGenerateContent sse", "gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
	{"streamGenerateContent array", "gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
	{"countTokens", "gemini", "/v1beta/models/gemini-2.5-flash:countTokens", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
	{"embedContent", "gemini", "/v1beta/models/text-embedding-004:embedContent", `{"content":{"parts":[{"text":"hi"}]}}`},
	{"batchEmbedContents", "gemini", "/v1beta/models/text-embedding-004:batchEmbedContents", `{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"hi"}]}}]}`},
}

// verdict says who must refuse a bad request.
type verdict uint8

const (
	// byGateway: the gateway refuses it itself; the upstream never sees it.
	byGateway verdict = iota
	// forwarded: well-formed JSON the gateway forwards as it is ("forward,
	// don't validate"); the upstream's 400 comes back in the caller's shape.
	forwarded
	// either: refused by the gateway or by the upstream, both are right.
	either
)

func (v verdict) String() string {
	return [...]string{"gateway", "forwarded", "either"}[v]
}

// badCase is one malformed or hostile request.
type badCase struct {
	name   string
	method string // "" means POST
	target string // request target; "" means the door's path
	ctype  string // Content-Type; "" means application/json, "-" none
	hdr    []string
	body   string
	// rawBody, when set, replaces the framing: it is written after the
	// headers as it is (a Content-Length that lies, bad chunking).
	rawBody string
	// hangUp half-closes the connection once the request is written: the
	// client sends nothing more, but still reads the answer.
	hangUp bool
	want   int // exact status; 0 means any 4xx
	who    verdict
	// unlogged is set for refusals net/http makes before any handler runs
	// (431, a request line it cannot parse): no log row, no caller shape.
	unlogged bool
}

// badInputPolicy routes each protocol to a same-protocol provider on one
// fake upstream.
func badInputPolicy(url string) string {
	return providerDecl("o", "openai", url, "") + providerDecl("a", "anthropic", url, "") + providerDecl("g", "gemini", url, "") + `
def route(req, ctx):
    if req.protocol == "anthropic":
        return [a]
    if req.protocol == "gemini":
        return [g]
    return [o]
`
}

// strictUpstream answers like a real provider: 400 in its own protocol's
// shape to everything while reject is set, and a valid answer otherwise.
// settle waits, at most 2 s, until up's request count has not moved for
// 100 ms.
func settle(up *providertest.Server) {
	n := up.Count()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		m := up.Count()
		if m == n {
			return
		}
		n = m
	}
}

func strictUpstream(t *testing.T, reject *atomic.Bool) *providertest.Server {
	up := providertest.New(t, providertest.Reply{})
	up.Handle(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if reject.Load() {
			var body string
			switch {
			case strings.HasPrefix(p, "/v1beta/"):
				body = `{"error":{"code":400,"message":"Invalid JSON payload received.","status":"INVALID_ARGUMENT"}}`
			case strings.HasPrefix(p, "/v1/messages"):
				body = `{"type":"error","error":{"type":"invalid_request_error","message":"messages: Input should be a valid list"}}`
			default:
				body = string(providertest.Fixture(t, "openai_cassette_chat-bad-request.response.400.json"))
			}
			providertest.Write(w, r, providertest.Reply{Status: http.StatusBadRequest, Body: []byte(body)})
			return
		}
		providertest.Write(w, r, goodReply(t, p, r.URL.Query().Get("alt") == "sse"))
	})
	return up
}

// goodReply is a valid provider answer for an upstream path.
func goodReply(t *testing.T, path string, sse bool) providertest.Reply {
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		return okReply(t)
	case strings.HasSuffix(path, "/responses"):
		return providertest.FixtureReply(t, "openai_responses_nonstream_text.response.json")
	case strings.HasSuffix(path, "/embeddings"):
		return providertest.Reply{Body: []byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":1,"total_tokens":1}}`)}
	case strings.HasSuffix(path, "/messages/count_tokens"):
		return providertest.Reply{Body: []byte(`{"input_tokens":3}`)}
	case strings.HasSuffix(path, "/messages"):
		return providertest.FixtureReply(t, "anthropic_nonstream_tool_use_response.json")
	case strings.HasSuffix(path, ":streamGenerateContent") && sse:
		return providertest.Reply{SSE: true, Body: providertest.Fixture(t, "gemini_stream_single_chunk.sse")}
	case strings.HasSuffix(path, ":generateContent"):
		return providertest.FixtureReply(t, "gemini_nonstream_text.response.json")
	case strings.HasSuffix(path, ":countTokens"):
		return providertest.Reply{Body: []byte(`{"totalTokens":3}`)}
	case strings.HasSuffix(path, ":embedContent"):
		return providertest.Reply{Body: []byte(`{"embedding":{"values":[0.1,0.2]}}`)}
	case strings.HasSuffix(path, ":batchEmbedContents"):
		return providertest.Reply{Body: []byte(`{"embeddings":[{"values":[0.1,0.2]}]}`)}
	}
	t.Errorf("fake upstream: unexpected path %s", path)
	return providertest.Reply{Status: http.StatusNotFound}
}

// withField returns the JSON object body with key set to val, inserted
// as it is (it may be invalid or huge), or removed when val is empty.
func withField(t *testing.T, body, key, val string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("withField(%s): %v", body, err)
	}
	delete(m, key)
	rest, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if val == "" {
		return string(rest)
	}
	if len(m) > 0 {
		val += ","
	}
	return fmt.Sprintf("{%q:%s%s", key, val, rest[1:])
}

// listKey is the key holding a door's conversation or inputs.
func listKey(d door) string {
	switch {
	case d.shape == "gemini" && strings.Contains(d.path, "batchEmbed"):
		return "requests"
	case d.shape == "gemini" && strings.Contains(d.path, "embedContent"):
		return "content"
	case d.shape == "gemini":
		return "contents"
	case d.name == "responses", d.name == "embeddings":
		return "input"
	}
	return "messages"
}

// badCases are the shared hostile requests, specialised for a door, plus
// the door's protocol's own.
func badCases(t *testing.T, d door) []badCase {
	gem := d.shape == "gemini"
	// Outside Gemini the gateway reads model and stream from the body
	// itself; Gemini carries them in the URL, so in a Gemini body they are
	// just fields for the upstream to judge.
	parsed := byGateway
	if gem {
		parsed = forwarded
	}
	list := listKey(d)
	good := d.good
	half := good[:len(good)/2]
	many := make([]string, 20000)
	for i := range many {
		if gem {
			many[i] = `{"role":"user","parts":[{"text":"hi"}]}`
		} else {
			many[i] = `{"role":"user","content":"hi"}`
		}
	}
	cases := []badCase{
		{name: "empty body", body: "", want: 400},
		{name: "whitespace body", body: " \t\r\n  ", want: 400},
		{name: "null", body: "null", want: 400},
		{name: "array top level", body: "[" + good + "]", want: 400},
		{name: "empty array", body: "[]", want: 400},
		{name: "string top level", body: `"hello"`, want: 400},
		{name: "number top level", body: `42`, want: 400},
		{name: "bool top level", body: `true`, want: 400},
		{name: "truncated JSON", body: half, want: 400},
		{name: "unterminated string", body: `{"model":"gpt-4o`, want: 400},
		{name: "trailing garbage", body: good + "garbage", want: 400},
		{name: "two objects", body: good + good, want: 400},
		{name: "trailing comma", body: strings.TrimSuffix(good, "}") + ",}", want: 400},
		{name: "single quotes", body: strings.ReplaceAll(good, `"`, `'`), want: 400},
		{name: "invalid UTF-8 in a string", body: strings.Replace(good, `"hi"`, "\"h\xffi\"", 1), want: 400},
		{name: "invalid UTF-8 outside strings", body: good + "\xc3", want: 400},
		{name: "overlong UTF-8 encoding", body: strings.Replace(good, `"hi"`, "\"\xc0\xafhi\"", 1), want: 400},
		{name: "UTF-16 surrogate in UTF-8", body: strings.Replace(good, `"hi"`, "\"\xed\xa0\x80\"", 1), want: 400},
		{name: "raw NUL after the object", body: good + "\x00", want: 400},
		{name: "raw NUL inside a string", body: strings.Replace(good, `"hi"`, "\"h\x00i\"", 1), want: 400},
		{name: "raw control character in a string", body: strings.Replace(good, `"hi"`, "\"h\x07i\"", 1), want: 400},
		{name: "BOM prefix", body: "\xef\xbb\xbf" + good, want: 400},
		{name: "deeply nested unterminated", body: strings.Repeat("[", 100000), want: 400},
		{name: "deeply nested inside a field", body: withField(t, good, "metadata", strings.Repeat("[", 100000)+strings.Repeat("]", 100000)), who: either},
		{name: "escaped NUL in content", body: strings.Replace(good, `"hi"`, `"h\u0000i"`, 1), who: forwarded},
		{name: "huge float", body: withField(t, good, "temperature", "1e999999"), who: either},
		{name: "huge integer", body: withField(t, good, "seed", strings.Repeat("9", 400)), who: either},
		{name: "negative max tokens", body: withField(t, good, "max_tokens", "-1"), who: forwarded},
		{name: "max tokens as a string", body: withField(t, good, "max_tokens", `"ten"`), who: forwarded},
		{name: "list as a string", body: withField(t, good, list, `"x"`), who: forwarded},
		{name: "list of numbers", body: withField(t, good, list, `[1]`), who: forwarded},
		{name: "list as an object", body: withField(t, good, list, `{"a":1}`), who: forwarded},
		{name: "tools as an object", body: withField(t, good, "tools", `{}`), who: forwarded},
		{name: "unknown top-level field", body: withField(t, good, "frobnicate", `{"x":[1,2]}`), who: forwarded},
		{name: "20000 entries", body: withField(t, good, list, "["+strings.Join(many, ",")+"]"), who: forwarded},
		{name: "model as a number", body: withField(t, good, "model", `123`), want: 400, who: parsed},
		{name: "model as an object", body: withField(t, good, "model", `{"name":"gpt-4o"}`), want: 400, who: parsed},
		{name: "model as null", body: withField(t, good, "model", `null`), want: 400, who: parsed},
		{name: "model empty", body: withField(t, good, "model", `""`), want: 400, who: parsed},
		{name: "model with dot segments", body: withField(t, good, "model", `"../../admin"`), want: 400, who: parsed},
		{name: "model with a query", body: withField(t, good, "model", `"a/b?c"`), want: 400, who: parsed},
		{name: "model percent-encoded", body: withField(t, good, "model", `"%2e%2e"`), want: 400, who: parsed},
		{name: "model with CRLF", body: withField(t, good, "model", `"m\r\nX-Injected: 1"`), want: 400, who: parsed},
		{name: "model with NUL", body: withField(t, good, "model", `"m\u0000"`), want: 400, who: parsed},
		{name: "model too long", body: withField(t, good, "model", `"`+strings.Repeat("m", 10000)+`"`), want: 400, who: parsed},
		{name: "duplicate model key", body: strings.Replace(good, "{", `{"model":"other-model",`, 1), want: 400, who: parsed},
		{name: "duplicate model key, escaped", body: strings.Replace(good, "{", `{"mod\u0065l":"other-model",`, 1), want: 400, who: parsed},
		{name: "stream as a string", body: withField(t, good, "stream", `"yes"`), want: 400, who: parsed},
		{name: "stream as a number", body: withField(t, good, "stream", `1`), want: 400, who: parsed},
		{name: "duplicate stream key", body: strings.Replace(good, "{", `{"stream":false,"stream":true,`, 1), want: 400, who: parsed},
		{name: "content type text/xml", ctype: "text/xml", body: good, want: 415},
		{name: "content type multipart", ctype: "multipart/form-data; boundary=x", body: "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" + good + "\r\n--x--\r\n", want: 415},
		{name: "content type form", ctype: "application/x-www-form-urlencoded", body: "model=gpt-4o", want: 415},
		{name: "content type malformed", ctype: "application/json; ;;=", body: good, want: 415},
		{name: "content type mentioning json", ctype: "text/html; x=json", body: good, want: 415},
		{name: "content type text/plain (a browser's simple request)", ctype: "text/plain;charset=UTF-8", body: good, want: 415},
		{name: "cross-site Origin", hdr: []string{"Origin", "https://evil.example"}, body: good, want: 403},
		{name: "Origin null", hdr: []string{"Origin", "null"}, body: good, want: 403},
		{name: "model name of 512 KiB", body: withField(t, good, "model", `"`+strings.Repeat("m", 512<<10)+`"`), want: 400, who: parsed},
		{name: "gzip body without decoding", hdr: []string{"Content-Encoding", "gzip"}, body: "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", want: 400},
		{name: "wrong method PUT", method: http.MethodPut, body: good, want: 405},
		{name: "wrong method DELETE", method: http.MethodDelete, want: 405},
		// The request is whole, but the client half-closes: net/http takes
		// that for a hang-up and cancels the request. The client still
		// reads: it gets 499, or the upstream's 400 if that came first.
		{name: "complete request, then half-close", body: good, hangUp: true, who: either},
		{name: "body stops early", rawBody: "Content-Length: 1000\r\n\r\n" + half, hangUp: true, want: 400},
		{name: "bad chunked framing", rawBody: "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + good + "\r\n0\r\n\r\n", want: 400},
		{name: "chunked body stops early", rawBody: "Transfer-Encoding: chunked\r\n\r\n400\r\n" + half, hangUp: true, want: 400},
		{name: "Content-Length over the limit, body never sent", rawBody: fmt.Sprintf("Content-Length: %d\r\n\r\n", 100*badInputMaxBody), want: 413},
		{name: "Expect 100-continue over the limit", hdr: []string{"Expect", "100-continue"}, rawBody: fmt.Sprintf("Content-Length: %d\r\n\r\n", 100*badInputMaxBody), want: 413},
		{name: "conflicting Content-Lengths", rawBody: fmt.Sprintf("Content-Length: %d\r\nContent-Length: 5\r\n\r\n%s", len(good), good), want: 400, unlogged: true},
		// RFC 9112 §6.3: chunked wins and the connection is closed after.
		// net/http does so, and the gateway rebuilds the upstream request,
		// so nothing is smuggled: the body is what the chunks say.
		{name: "Content-Length and chunked", rawBody: fmt.Sprintf("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(good), good), who: forwarded},
		{name: "NUL in a header value", hdr: []string{"X-Evil", "a\x00b"}, body: good, want: 400, unlogged: true},
		{name: "body larger than the limit", body: withField(t, good, "pad", `"`+strings.Repeat("x", badInputMaxBody)+`"`), want: 413},
		{name: "oversized header", hdr: []string{"X-Big", strings.Repeat("h", 2*badInputMaxHeader)}, body: good, want: 431, unlogged: true},
	}
	if gem {
		model := d.path[len("/v1beta/models/"):strings.LastIndexByte(d.path, ':')]
		at := func(m string) string { return strings.Replace(d.path, model, m, 1) }
		cases = append(cases,
			badCase{name: "URL model with dot segments", target: at("../../admin"), body: good},
			badCase{name: "URL model with escaped slashes", target: at("..%2F..%2Fadmin"), body: good, want: 400},
			badCase{name: "URL model with a query", target: at("a%2Fb%3Fc"), body: good, want: 400},
			badCase{name: "URL model percent-encoded dots", target: at("%2e%2e"), body: good, want: 400},
			badCase{name: "URL model double-encoded", target: at("%252e%252e"), body: good, want: 400},
			badCase{name: "URL model with a bad escape", target: at("m%2Fx%zz"), body: good, want: 400, unlogged: true},
			badCase{name: "URL model with NUL", target: at("m%00"), body: good, want: 400},
			badCase{name: "URL model with a space", target: at("m%20x"), body: good, want: 400},
			badCase{name: "URL model empty", target: at(""), body: good, want: 404},
			badCase{name: "URL without an action", target: "/v1beta/models/" + model, body: good, want: 404},
			badCase{name: "URL unknown action", target: "/v1beta/models/" + model + ":frobnicate", body: good, want: 404},
			badCase{name: "URL model with a colon", target: at(model + ":frobnicate"), body: good, want: 400},
			badCase{name: "model in the body as a number", body: withField(t, good, "model", `123`), who: forwarded},
		)
	} else {
		cases = append(cases,
			badCase{name: "missing model", body: withField(t, good, "model", ""), want: 400},
			badCase{name: "wrong method GET", method: http.MethodGet, want: 405},
			badCase{name: "query string on the path", target: d.path + "?model=../../admin", body: good, who: forwarded},
			badCase{name: "client key as ?api_key=", target: d.path + "?api_key=sk-client", body: good, who: forwarded},
			badCase{name: "billing selectors", hdr: []string{"OpenAI-Organization", "org-x", "OpenAI-Project", "proj-x"}, body: good, who: forwarded},
			badCase{name: "Content-Encoding identity", hdr: []string{"Content-Encoding", "identity"}, body: good, who: forwarded},
			badCase{name: "content of the wrong shape", body: withField(t, good, list, `[{"role":"user","content":{"weird":true}}]`), who: forwarded},
			badCase{name: "unknown content part type", body: withField(t, good, list, `[{"role":"user","content":[{"type":"hologram","data":"x"}]}]`), who: forwarded},
			badCase{name: "role of the wrong type", body: withField(t, good, list, `[{"role":7,"content":"hi"}]`), who: forwarded},
		)
	}
	if gem {
		cases = append(cases,
			badCase{name: "part of the wrong shape", body: withField(t, good, list, `[{"role":"user","parts":"hi"}]`), who: forwarded},
			badCase{name: "unknown part type", body: withField(t, good, list, `[{"role":"user","parts":[{"hologram":{"data":"x"}}]}]`), who: forwarded},
		)
	}
	return cases
}

const (
	badInputMaxBody   = 1 << 20
	badInputMaxHeader = 16 << 10
)

// TestBadInput sends every front door a table of malformed and hostile
// requests through a real http.Server. Each must be answered quickly with
// a 4xx in the caller's shape and logged, and the gateway must serve good
// requests afterwards.
func TestBadInput(t *testing.T) {
	var reject atomic.Bool
	reject.Store(true)
	up := strictUpstream(t, &reject)
	h := newHarness(t, badInputPolicy(up.URL), func(c *Config) {
		c.MaxBodyBytes = badInputMaxBody
		c.MaxHeaderBytes = badInputMaxHeader
	})
	addr := serveHTTP(t, h.gw)

	for _, d := range doors {
		t.Run(d.name, func(t *testing.T) {
			cases := badCases(t, d)
			if len(cases) < 40 {
				t.Errorf("%d cases for %s, want at least 40", len(cases), d.name)
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { checkBadInput(t, h, up, addr, d, c) })
			}
		})
	}

	reject.Store(false)
	for _, d := range doors {
		resp, body := sendRaw(t, addr, rawRequest(d, badCase{body: d.good}), false)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("after the bad input, %s = %d %s, want 200", d.name, resp.StatusCode, body)
		}
	}
}

func checkBadInput(t *testing.T, h *harness, up *providertest.Server, addr string, d door, c badCase) {
	before := up.Count()
	if c.hangUp {
		// A client that hangs up may get its answer (499) while the
		// gateway's upstream request, cancelled, still reaches the
		// upstream: let it land before the next case counts.
		defer settle(up)
	}
	resp, body := sendRaw(t, addr, rawRequest(d, c), c.hangUp)
	st := resp.StatusCode
	if st < 400 || st > 499 || (c.want != 0 && st != c.want) {
		want := "4xx"
		if c.want != 0 {
			want = fmt.Sprint(c.want)
		}
		t.Fatalf("status = %d, want %s; body %.300s", st, want, body)
	}
	hits := up.Count() - before
	switch {
	case c.who == byGateway && hits != 0:
		t.Errorf("the upstream got %d requests, want the gateway to refuse it itself", hits)
	case c.who == forwarded && hits != 1:
		t.Errorf("the upstream got %d requests, want it forwarded once", hits)
	}
	if c.unlogged {
		return
	}
	if err := checkErrorShape(d.shape, st, resp.Header, body); err != nil {
		t.Errorf("error body: %v; body %.300s", err, body)
	}
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatalf("no X-Request-Id on the answer")
	}
	if rec := recordOf(t, h.rec, id); rec.Status != st || rec.ErrorClass == "" || rec.ErrorMessage == "" {
		t.Errorf("log row: status %d, class %q, message %q; want status %d with a class and message", rec.Status, rec.ErrorClass, rec.ErrorMessage, st)
	}
}

// checkErrorShape validates an error body in a protocol's shape: OpenAI's
// {"error":{"message","type","param","code"}}, Anthropic's
// {"type":"error","error":{"type","message"}}, Gemini's
// {"error":{"code","message","status"}}.
func checkErrorShape(shape string, status int, hdr http.Header, body []byte) error {
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("Content-Type = %q, want application/json", ct)
	}
	var v struct {
		Type  *string `json:"type"`
		Error *struct {
			Type    *string `json:"type"`
			Message *string `json:"message"`
			Code    any     `json:"code"`
			Status  *string `json:"status"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	e := v.Error
	if e == nil || e.Message == nil || *e.Message == "" {
		return fmt.Errorf("no error.message")
	}
	switch shape {
	case "openai":
		if v.Type != nil || e.Type == nil || *e.Type == "" {
			return fmt.Errorf("want OpenAI's {error:{message,type}}")
		}
	case "anthropic":
		if v.Type == nil || *v.Type != "error" || e.Type == nil || *e.Type == "" {
			return fmt.Errorf(`want Anthropic's {type:"error",error:{type,message}}`)
		}
	case "gemini":
		code, ok := e.Code.(float64)
		if !ok || int(code) != status || e.Status == nil || *e.Status == "" || v.Type != nil {
			return fmt.Errorf("want Gemini's {error:{code:%d,message,status}}", status)
		}
	default:
		return fmt.Errorf("unknown shape %s", shape)
	}
	return nil
}

// rawRequest builds the bytes of c sent to door d.
func rawRequest(d door, c badCase) []byte {
	method, target := c.method, c.target
	if method == "" {
		method = http.MethodPost
	}
	if target == "" {
		target = d.path
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: llmgw.test\r\nConnection: close\r\n", method, target)
	switch c.ctype {
	case "":
		b.WriteString("Content-Type: application/json\r\n")
	case "-":
	default:
		fmt.Fprintf(&b, "Content-Type: %s\r\n", c.ctype)
	}
	if d.shape == "anthropic" {
		b.WriteString("anthropic-version: 2023-06-01\r\n")
	}
	for i := 0; i+1 < len(c.hdr); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", c.hdr[i], c.hdr[i+1])
	}
	if c.rawBody != "" {
		b.WriteString(c.rawBody)
		return b.Bytes()
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(c.body), c.body)
	return b.Bytes()
}

// sendRaw writes req on a new connection and reads the response. With
// hangUp it then half-closes the connection: the client whose body stops
// early is gone, yet still reads the answer. Every step is bounded: a hang
// fails the test instead of stalling it.
func sendRaw(t *testing.T, addr string, req []byte, hangUp bool) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(15 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// The server may answer and stop reading before the whole request is
	// written (413, 431): a failed write is not the test's verdict, the
	// answer is.
	_, _ = conn.Write(req)
	if hangUp {
		_ = conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer (hang or reset): %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return resp, body
}

// recordOf waits, boundedly, for the log row of request id: the row is
// written after the answer, so it may trail the client by a moment.
func recordOf(t *testing.T, rec *memRecorder, id string) *requestlog.Record {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, r := range rec.all() {
			if r.RequestID == id {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log row for request %s", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkReadBodyChecks measures what readBody adds per request beyond
// reading: the UTF-8 check and the envelope scan, on a 64 KiB chat body.
func BenchmarkReadBodyChecks(b *testing.B) {
	msgs := make([]string, 0, 256)
	for i := 0; len(strings.Join(msgs, ",")) < 64<<10; i++ {
		msgs = append(msgs, fmt.Sprintf(`{"role":"user","content":"message %d with some text in it, and an escaped \"quote\" too"}`, i))
	}
	body := []byte(`{"model":"gpt-4o","stream":true,"messages":[` + strings.Join(msgs, ",") + `],"temperature":0.2}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if !utf8.Valid(body) {
			b.Fatal("invalid UTF-8")
		}
		if err := checkEnvelope(body, false, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestValidModel(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"gpt-4o", true},
		{"openai/gpt-4o", true},
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", true},
		{"claude-3-5-sonnet@20240620", true},
		{"llama3:8b", true},
		{"models/gemini-2.5-flash", true},
		{"v1.2", true},
		{"..foo", true},
		{"", false},
		{"../../admin", false},
		{"a/../b", false},
		{"./a", false},
		{"a/.", false},
		{"a/b?c", false},
		{"a#b", false},
		{"%2e%2e", false},
		{`a\b`, false},
		{"a b", false},
		{"a\tb", false},
		{"m\r\nX: 1", false},
		{"m\x00", false},
		{"m\x7f", false},
		{"modèle", false},
		{`a"b`, false},
		{"<script>", false},
		{strings.Repeat("m", maxModelName), true},
		{strings.Repeat("m", maxModelName+1), false},
	}
	for _, tt := range tests {
		if got := validModel(tt.in); got != tt.want {
			t.Errorf("validModel(%q) = %t, want %t", tt.in, got, tt.want)
		}
	}
}

func TestCheckEnvelope(t *testing.T) {
	tests := []struct {
		body string
		p    llm.Protocol
		want string // a substring of the error message; "" means accepted
	}{
		{`{"model":"gpt-4o","stream":true}`, llm.ProtocolOpenAI, ""},
		{` {"stream":null,"model":"gpt-4o"} `, llm.ProtocolAnthropic, ""},
		{`{"messages":[]}`, llm.ProtocolOpenAI, ""}, // "model is required" comes later
		{`{"model":"gpt-\u0034o"}`, llm.ProtocolOpenAI, ""},
		{`{"input":"hi","model":"m","extra":{"model":1,"stream":"x"}}`, llm.ProtocolResponses, ""},
		{`{"model":123}`, llm.ProtocolGemini, ""},
		{`{"contents":[}`, llm.ProtocolGemini, "invalid JSON"},
		{`{"model":"a"} x`, llm.ProtocolOpenAI, "data after the end"},
		{`[]`, llm.ProtocolGemini, "JSON object"},
		{`"x"`, llm.ProtocolOpenAI, "JSON object"},
		{``, llm.ProtocolOpenAI, "JSON object"},
		{`{"model":123}`, llm.ProtocolOpenAI, "model must be a string"},
		{`{"model":null}`, llm.ProtocolOpenAI, "model must be a string"},
		{`{"model":["a"]}`, llm.ProtocolOpenAI, "model must be a string"},
		{`{"model":"../x"}`, llm.ProtocolAnthropic, "invalid model name"},
		{`{"model":"a\u0000"}`, llm.ProtocolAnthropic, "invalid model name"},
		{`{"stream":"true"}`, llm.ProtocolOpenAI, "stream must be a boolean"},
		{`{"stream":0}`, llm.ProtocolOpenAI, "stream must be a boolean"},
		{`{"model":"a","model":"b"}`, llm.ProtocolOpenAI, "duplicate key"},
		{`{"model":"a","Model":"b"}`, llm.ProtocolOpenAI, "duplicate key"},
		{`{"model":"a","mod\u0065l":"b"}`, llm.ProtocolOpenAI, "duplicate key"},
		{`{"stream":false,"STREAM":true}`, llm.ProtocolAnthropic, "duplicate key"},
		{`{"stream":false,"ſtream":true}`, llm.ProtocolAnthropic, "duplicate key"},
		{`{"model" "a"}`, llm.ProtocolOpenAI, "expected ':'"},
		{`{model:"a"}`, llm.ProtocolOpenAI, "expected a member name"},
		{`{"model":"a`, llm.ProtocolOpenAI, "unterminated"},
	}
	for _, tt := range tests {
		err := checkEnvelope([]byte(tt.body), tt.p == llm.ProtocolGemini, nil) // Gemini's doors name the model in the URL
		got := ""
		if err != nil {
			got = err.Message
			if err.Status != http.StatusBadRequest {
				t.Errorf("checkEnvelope(%s, %s) status = %d, want 400", tt.body, tt.p, err.Status)
			}
		}
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("checkEnvelope(%s, %s) = %q, want %q", tt.body, tt.p, got, tt.want)
		}
	}
}

// FuzzCheckEnvelope checks checkEnvelope against encoding/json: whatever
// it accepts that is valid JSON, encoding/json (which the converters use,
// matching keys case-insensitively) reads as a valid model name and a
// boolean stream flag. It seeds from the shared request fixtures.
func FuzzCheckEnvelope(f *testing.F) {
	for _, d := range doors {
		f.Add([]byte(d.good))
	}
	for _, name := range []string{
		"anthropic_nonstream_tool_use_request.json", "gemini_nonstream_text.request.json",
		"openai_cassette_chat-tools.request.json", "openai_cassette_chat-bad-request.request.json",
	} {
		f.Add(providertest.Fixture(f, name))
	}
	f.Add([]byte(`{"model":"a","Model":"b","stream":true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if checkEnvelope(body, false, nil) != nil || !json.Valid(body) {
			return
		}
		var v struct {
			Model  any `json:"model"`
			Stream any `json:"stream"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", body, err)
		}
		switch m := v.Model.(type) {
		case nil:
		case string:
			if m != "" && !validModel(m) {
				t.Errorf("accepted %q with model %q", body, m)
			}
		default:
			t.Errorf("accepted %q with model %#v", body, m)
		}
		switch v.Stream.(type) {
		case nil, bool:
		default:
			t.Errorf("accepted %q with stream %#v", body, v.Stream)
		}
	})
}
