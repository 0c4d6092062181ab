package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/sse"
)

// call serves one request with h and returns the recorded response.
func call(t testing.TB, h http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// event is a parsed server-sent event.
type event struct {
	Name string
	Data string
}

// readEvents parses an SSE body.
func readEvents(t testing.TB, body []byte) []event {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(body))
	var out []event
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read events: %v", err)
		}
		out = append(out, event{Name: ev.Name, Data: string(ev.Data)})
	}
}

// jsonOf decodes s into a generic value.
func jsonOf(t testing.TB, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

// path walks a generic JSON value: string keys index objects, ints arrays.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

const (
	userText = "Hello, how are you?"
	chatBody = `{"model":"demo","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello, how are you?"}]}`
	respBody = `{"model":"demo","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"Hello, how are you?"}]}]}`
	msgBody  = `{"model":"demo","max_tokens":1000,"system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":"Hello, how are you?"}]}`
	gemBody  = `{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Hello, how are you?"}]}]}`
)

// wantInput is the input token count of the bodies above.
var wantInput = CountTokens("Be brief.") + CountTokens(userText)

func TestCountTokens(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"   \n\t", 0},
		{"Hello", 1},
		{"Hello, world!", 4},
		{"llmgw's demo", 4},
		{"x=1+2", 5},
		{"über straße", 2},
		{"今日は 晴れ", 2},
		{"a…b", 3},
	}
	for _, tt := range tests {
		if got := CountTokens(tt.in); got != tt.want {
			t.Errorf("CountTokens(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestSplitTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello, world!", []string{"Hello", ",", " world", "!"}},
		{" lead and trail  ", []string{" lead", " and", " trail  "}},
		{"a\n\nb", []string{"a", "\n\nb"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, splitTokens(tt.in)); diff != "" {
			t.Errorf("splitTokens(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func FuzzSplitTokens(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", " a  b ", "今日は…", "x=1+2\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pieces := splitTokens(s)
		if got := strings.Join(pieces, ""); got != s {
			t.Fatalf("splitTokens(%q) joined = %q, want the input back", s, got)
		}
		if got, want := len(pieces), CountTokens(s); got != want && strings.TrimSpace(s) != "" {
			t.Fatalf("len(splitTokens(%q)) = %d, want CountTokens = %d", s, got, want)
		}
		for _, p := range pieces {
			if CountTokens(p) != 1 && strings.TrimSpace(s) != "" {
				t.Fatalf("splitTokens(%q) has piece %q of %d tokens, want 1", s, p, CountTokens(p))
			}
		}
	})
}

func TestCompose(t *testing.T) {
	r := compose(userText, 3, 0, 0)
	if !strings.HasPrefix(r.text, banner+` You said: "Hello, how are you?".`) {
		t.Errorf("compose text = %q, want the banner and the quote first", r.text)
	}
	if got, want := r.tokens, CountTokens(r.text); got != want {
		t.Errorf("compose tokens = %d, want CountTokens(text) = %d", got, want)
	}
	if got := strings.Join(r.chunks, ""); got != r.text {
		t.Errorf("compose chunks joined = %q, want %q", got, r.text)
	}
	for _, n := range []int{1, 7, 100} {
		r := compose(userText, 3, n, 0)
		if len(r.chunks) != n {
			t.Errorf("compose(chunks %d) gave %d chunks", n, len(r.chunks))
		}
	}
	r = compose(userText, 3, 0, 5)
	if !r.truncated || r.tokens != 5 || CountTokens(r.text) != 5 {
		t.Errorf("compose(max 5) = %d tokens, truncated %v, want 5 and true", r.tokens, r.truncated)
	}
	long := strings.Repeat("word ", 200)
	if q := quote(long); CountTokens(q) != maxQuoteTokens+1 {
		t.Errorf("quote(200 words) has %d tokens, want %d", CountTokens(q), maxQuoteTokens+1)
	}
}

func TestNonStreaming(t *testing.T) {
	s := New(Config{})
	tests := []struct {
		name, path, body string
		header           []string
		check            func(t *testing.T, v map[string]any)
	}{
		{"chat", "/v1/chat/completions", chatBody, nil, func(t *testing.T, v map[string]any) {
			wantPrefix(t, v["id"], "chatcmpl-")
			wantEq(t, "object", v["object"], "chat.completion")
			text, _ := path(v, "choices", 0, "message", "content").(string)
			wantEq(t, "finish_reason", path(v, "choices", 0, "finish_reason"), "stop")
			wantEq(t, "prompt_tokens", num(path(v, "usage", "prompt_tokens")), wantInput)
			wantEq(t, "completion_tokens", num(path(v, "usage", "completion_tokens")), CountTokens(text))
			wantEq(t, "total_tokens", num(path(v, "usage", "total_tokens")), wantInput+CountTokens(text))
		}},
		{"responses", "/v1/responses", respBody, nil, func(t *testing.T, v map[string]any) {
			wantPrefix(t, v["id"], "resp_")
			wantEq(t, "object", v["object"], "response")
			wantEq(t, "status", v["status"], "completed")
			wantPrefix(t, path(v, "output", 0, "id"), "msg_")
			text, _ := path(v, "output", 0, "content", 0, "text").(string)
			wantEq(t, "input_tokens", num(path(v, "usage", "input_tokens")), wantInput)
			wantEq(t, "output_tokens", num(path(v, "usage", "output_tokens")), CountTokens(text))
		}},
		{"messages", "/v1/messages", msgBody, nil, func(t *testing.T, v map[string]any) {
			wantPrefix(t, v["id"], "msg_")
			wantEq(t, "type", v["type"], "message")
			wantEq(t, "stop_reason", v["stop_reason"], "end_turn")
			text, _ := path(v, "content", 0, "text").(string)
			wantEq(t, "input_tokens", num(path(v, "usage", "input_tokens")), wantInput)
			wantEq(t, "output_tokens", num(path(v, "usage", "output_tokens")), CountTokens(text))
		}},
		{"gemini", "/v1beta/models/demo:generateContent", gemBody, nil, func(t *testing.T, v map[string]any) {
			wantEq(t, "finishReason", path(v, "candidates", 0, "finishReason"), "STOP")
			wantEq(t, "modelVersion", v["modelVersion"], "demo")
			text, _ := path(v, "candidates", 0, "content", "parts", 0, "text").(string)
			wantEq(t, "promptTokenCount", num(path(v, "usageMetadata", "promptTokenCount")), wantInput)
			wantEq(t, "candidatesTokenCount", num(path(v, "usageMetadata", "candidatesTokenCount")), CountTokens(text))
		}},
		{"count_tokens", "/v1/messages/count_tokens", msgBody, nil, func(t *testing.T, v map[string]any) {
			wantEq(t, "input_tokens", num(v["input_tokens"]), wantInput)
		}},
		{"gemini countTokens", "/v1beta/models/demo:countTokens", gemBody, nil, func(t *testing.T, v map[string]any) {
			wantEq(t, "totalTokens", num(v["totalTokens"]), wantInput)
		}},
		{"gemini countTokens wrapped", "/v1beta/models/demo:countTokens", `{"generateContentRequest":` + gemBody + `}`, nil, func(t *testing.T, v map[string]any) {
			wantEq(t, "totalTokens", num(v["totalTokens"]), wantInput)
		}},
		{"embeddings", "/v1/embeddings", `{"model":"demo-embedding","input":["a b","c"],"dimensions":8}`, nil, func(t *testing.T, v map[string]any) {
			wantEq(t, "object", v["object"], "list")
			wantEq(t, "len(data)", len(path(v, "data").([]any)), 2)
			wantEq(t, "len(embedding)", len(path(v, "data", 1, "embedding").([]any)), 8)
			wantEq(t, "prompt_tokens", num(path(v, "usage", "prompt_tokens")), 3)
		}},
		{"embeddings token ids", "/v1/embeddings", `{"model":"e","input":[[1,2,3],[4]]}`, nil, func(t *testing.T, v map[string]any) {
			wantEq(t, "len(embedding)", len(path(v, "data", 0, "embedding").([]any)), defaultDims)
			wantEq(t, "prompt_tokens", num(path(v, "usage", "prompt_tokens")), 4)
		}},
		{"embedContent", "/v1beta/models/demo-embedding:embedContent", `{"content":{"parts":[{"text":"hi"}]},"outputDimensionality":4}`, nil, func(t *testing.T, v map[string]any) {
			wantEq(t, "len(values)", len(path(v, "embedding", "values").([]any)), 4)
		}},
		{"batchEmbedContents", "/v1beta/models/demo-embedding:batchEmbedContents", `{"requests":[{"content":{"parts":[{"text":"a"}]}},{"content":{"parts":[{"text":"b"}]}}]}`, nil, func(t *testing.T, v map[string]any) {
			wantEq(t, "len(embeddings)", len(path(v, "embeddings").([]any)), 2)
		}},
		{"openai models", "/v1/models", "", nil, func(t *testing.T, v map[string]any) {
			wantEq(t, "object", v["object"], "list")
			wantEq(t, "data[0].object", path(v, "data", 0, "object"), "model")
		}},
		{"anthropic models", "/v1/models", "", []string{"anthropic-version", "2023-06-01"}, func(t *testing.T, v map[string]any) {
			wantEq(t, "data[0].type", path(v, "data", 0, "type"), "model")
			wantEq(t, "has_more", v["has_more"], false)
		}},
		{"gemini models", "/v1beta/models", "", nil, func(t *testing.T, v map[string]any) {
			wantEq(t, "models[0].name", path(v, "models", 0, "name"), "models/demo")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodPost
			if tt.body == "" {
				method = http.MethodGet
			}
			w := call(t, s, method, tt.path, tt.body, tt.header...)
			if w.Code != http.StatusOK {
				t.Fatalf("%s %s = %d %s, want 200", method, tt.path, w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			tt.check(t, jsonOf(t, w.Body.String()))
		})
	}
}

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func wantPrefix(t *testing.T, got any, prefix string) {
	t.Helper()
	if s, _ := got.(string); !strings.HasPrefix(s, prefix) || len(s) <= len(prefix) {
		t.Errorf("id = %v, want %s…", got, prefix)
	}
}

// streamCase is one streaming endpoint and how to read its events.
type streamCase struct {
	name, path, body string
	// names are the event names (or JSON types) in order, with content
	// events collapsed into one "*delta*" entry.
	order []string
	// kind names an event; content reports whether it carries generated
	// text and returns it.
	kind    func(ev event, v map[string]any) string
	content func(kind string, v map[string]any) (string, bool)
	// usage returns the output tokens reported by the final usage event.
	usage func(evs []map[string]any) (in, out int)
}

var streamCases = []streamCase{
	{
		name: "chat", path: "/v1/chat/completions",
		body:  strings.Replace(chatBody, `"model":"demo",`, `"model":"demo","stream":true,"stream_options":{"include_usage":true},`, 1),
		order: []string{"role", "*delta*", "finish", "usage", "[DONE]"},
		kind: func(ev event, v map[string]any) string {
			switch {
			case ev.Data == "[DONE]":
				return "[DONE]"
			case path(v, "usage") != nil:
				return "usage"
			case path(v, "choices", 0, "finish_reason") != nil:
				return "finish"
			case path(v, "choices", 0, "delta", "role") != nil:
				return "role"
			}
			return "*delta*"
		},
		content: func(kind string, v map[string]any) (string, bool) {
			s, ok := path(v, "choices", 0, "delta", "content").(string)
			return s, ok && kind == "*delta*"
		},
		usage: func(evs []map[string]any) (int, int) {
			u := path(evs[len(evs)-1], "usage")
			return num(path(u, "prompt_tokens")), num(path(u, "completion_tokens"))
		},
	},
	{
		name: "responses", path: "/v1/responses",
		body: strings.Replace(respBody, `"model":"demo",`, `"model":"demo","stream":true,`, 1),
		order: []string{"response.created", "response.in_progress", "response.output_item.added",
			"response.content_part.added", "*delta*", "response.output_text.done", "response.content_part.done",
			"response.output_item.done", "response.completed"},
		kind: func(ev event, v map[string]any) string {
			if ev.Name != v["type"] {
				return "mismatch:" + ev.Name
			}
			if ev.Name == "response.output_text.delta" {
				return "*delta*"
			}
			return ev.Name
		},
		content: func(kind string, v map[string]any) (string, bool) {
			s, ok := v["delta"].(string)
			return s, ok && kind == "*delta*"
		},
		usage: func(evs []map[string]any) (int, int) {
			u := path(evs[len(evs)-1], "response", "usage")
			return num(path(u, "input_tokens")), num(path(u, "output_tokens"))
		},
	},
	{
		name: "messages", path: "/v1/messages",
		body: strings.Replace(msgBody, `"model":"demo",`, `"model":"demo","stream":true,`, 1),
		order: []string{"message_start", "content_block_start", "ping", "*delta*", "content_block_stop",
			"message_delta", "message_stop"},
		kind: func(ev event, v map[string]any) string {
			if ev.Name != v["type"] {
				return "mismatch:" + ev.Name
			}
			if ev.Name == "content_block_delta" {
				return "*delta*"
			}
			return ev.Name
		},
		content: func(kind string, v map[string]any) (string, bool) {
			s, ok := path(v, "delta", "text").(string)
			return s, ok && kind == "*delta*"
		},
		usage: func(evs []map[string]any) (int, int) {
			u := path(evs[len(evs)-2], "usage")
			return num(path(u, "input_tokens")), num(path(u, "output_tokens"))
		},
	},
	{
		name: "gemini", path: "/v1beta/models/demo:streamGenerateContent?alt=sse", body: gemBody,
		order: []string{"*delta*"}, // finishReason: see TestGeminiFinishReason
		kind:  func(ev event, v map[string]any) string { return "*delta*" },
		content: func(kind string, v map[string]any) (string, bool) {
			s, ok := path(v, "candidates", 0, "content", "parts", 0, "text").(string)
			return s, ok
		},
		usage: func(evs []map[string]any) (int, int) {
			u := path(evs[len(evs)-1], "usageMetadata")
			return num(path(u, "promptTokenCount")), num(path(u, "candidatesTokenCount"))
		},
	},
}

// collapse replaces runs of the same name by one.
func collapse(names []string) []string {
	var out []string
	for _, n := range names {
		if len(out) == 0 || out[len(out)-1] != n {
			out = append(out, n)
		}
	}
	return out
}

func TestStreaming(t *testing.T) {
	for _, chunks := range []int{0, 1, 9} {
		s := New(Config{Chunks: chunks})
		for _, tc := range streamCases {
			t.Run(tc.name, func(t *testing.T) {
				w := call(t, s, http.MethodPost, tc.path, tc.body)
				if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream") {
					t.Fatalf("POST %s = %d %q, want 200 text/event-stream", tc.path, w.Code, w.Header().Get("Content-Type"))
				}
				evs := readEvents(t, w.Body.Bytes())
				var names []string
				var decoded []map[string]any
				var text strings.Builder
				contents := 0
				for _, ev := range evs {
					var v map[string]any
					if ev.Data != "[DONE]" {
						v = jsonOf(t, ev.Data)
						if _, ok := v["error"]; ok {
							t.Errorf("event %s has a top-level error key", ev.Data)
						}
						decoded = append(decoded, v)
					}
					k := tc.kind(ev, v)
					names = append(names, k)
					if c, ok := tc.content(k, v); ok {
						text.WriteString(c)
						contents++
					}
				}
				if diff := cmp.Diff(tc.order, collapse(names)); diff != "" {
					t.Errorf("event order mismatch (-want +got):\n%s", diff)
				}
				if chunks > 0 && contents != chunks {
					t.Errorf("got %d content events, want Config.Chunks = %d", contents, chunks)
				}
				in, out := tc.usage(decoded)
				if in != wantInput || out != CountTokens(text.String()) {
					t.Errorf("usage = %d in, %d out; want %d in, %d out (the streamed text)", in, out, wantInput, CountTokens(text.String()))
				}
				if !strings.HasPrefix(text.String(), banner) {
					t.Errorf("streamed text = %q, want it to start with the banner", text.String())
				}
			})
		}
	}
}

func TestResponsesSequenceNumbers(t *testing.T) {
	tc := streamCases[1]
	w := call(t, New(Config{}), http.MethodPost, tc.path, tc.body)
	for i, ev := range readEvents(t, w.Body.Bytes()) {
		if got := num(jsonOf(t, ev.Data)["sequence_number"]); got != i {
			t.Fatalf("event %d (%s) has sequence_number %d, want %d", i, ev.Name, got, i)
		}
	}
}

func TestGeminiFinishReason(t *testing.T) {
	tc := streamCases[3]
	evs := readEvents(t, call(t, New(Config{Chunks: 3}), http.MethodPost, tc.path, tc.body).Body.Bytes())
	for i, ev := range evs {
		want := any(nil)
		if i == len(evs)-1 {
			want = "STOP"
		}
		if got := path(jsonOf(t, ev.Data), "candidates", 0, "finishReason"); got != want {
			t.Errorf("chunk %d of %d: finishReason = %v, want %v", i, len(evs), got, want)
		}
	}
}

func TestGeminiJSONArrayStream(t *testing.T) {
	s := New(Config{Chunks: 4})
	w := call(t, s, http.MethodPost, "/v1beta/models/demo:streamGenerateContent", gemBody)
	var chunks []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &chunks); err != nil {
		t.Fatalf("streamGenerateContent without alt=sse: not a JSON array: %v\n%s", err, w.Body)
	}
	if len(chunks) != 4 {
		t.Fatalf("got %d chunks, want 4", len(chunks))
	}
	if path(chunks[3], "candidates", 0, "finishReason") != "STOP" || path(chunks[2], "candidates", 0, "finishReason") != nil {
		t.Errorf("finishReason must be on the last chunk only")
	}
}

func TestStreamMatchesNonStream(t *testing.T) {
	s := New(Config{})
	whole := jsonOf(t, call(t, s, http.MethodPost, "/v1/messages", msgBody).Body.String())
	tc := streamCases[2]
	var text strings.Builder
	for _, ev := range readEvents(t, call(t, s, http.MethodPost, tc.path, tc.body).Body.Bytes()) {
		if c, ok := tc.content(tc.kind(ev, jsonOf(t, ev.Data)), jsonOf(t, ev.Data)); ok {
			text.WriteString(c)
		}
	}
	if got, want := text.String(), path(whole, "content", 0, "text"); got != want {
		t.Errorf("streamed text = %q, want the non-streamed %q", got, want)
	}
}

func TestDeterministic(t *testing.T) {
	for _, tc := range streamCases {
		a := call(t, New(Config{Seed: "x"}), http.MethodPost, tc.path, tc.body).Body.String()
		b := call(t, New(Config{Seed: "x"}), http.MethodPost, tc.path, tc.body).Body.String()
		if a != b {
			t.Errorf("%s: two identical requests gave different bodies", tc.name)
		}
		c := call(t, New(Config{Seed: "y"}), http.MethodPost, tc.path, tc.body).Body.String()
		if a == c {
			t.Errorf("%s: different seeds gave the same body", tc.name)
		}
	}
	e1 := call(t, New(Config{}), http.MethodPost, "/v1/embeddings", `{"input":"same"}`).Body.String()
	e2 := call(t, New(Config{}), http.MethodPost, "/v1/embeddings", `{"input":"same"}`).Body.String()
	if e1 != e2 {
		t.Errorf("embeddings of the same input differ")
	}
}

func TestMaxTokens(t *testing.T) {
	s := New(Config{})
	tests := []struct {
		name, path, body string
		finish           []any
		want             any
	}{
		{"chat", "/v1/chat/completions", `{"model":"m","max_completion_tokens":3,"messages":[{"role":"user","content":"hi"}]}`,
			[]any{"choices", 0, "finish_reason"}, "length"},
		{"responses", "/v1/responses", `{"model":"m","max_output_tokens":3,"input":"hi"}`,
			[]any{"incomplete_details", "reason"}, "max_output_tokens"},
		{"messages", "/v1/messages", `{"model":"m","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}`,
			[]any{"stop_reason"}, "max_tokens"},
		{"gemini", "/v1beta/models/m:generateContent", `{"generationConfig":{"maxOutputTokens":3},"contents":[{"parts":[{"text":"hi"}]}]}`,
			[]any{"candidates", 0, "finishReason"}, "MAX_TOKENS"},
	}
	for _, tt := range tests {
		v := jsonOf(t, call(t, s, http.MethodPost, tt.path, tt.body).Body.String())
		if got := path(v, tt.finish...); got != tt.want {
			t.Errorf("%s with a 3-token cap: %v = %v, want %v", tt.name, tt.finish, got, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	s := New(Config{})
	tests := []struct {
		name, method, path, body string
		status                   int
		// field is where the error's type sits, want its value.
		field []any
		want  any
	}{
		{"openai bad json", "POST", "/v1/chat/completions", "{", 400, []any{"error", "type"}, "invalid_request_error"},
		{"responses bad json", "POST", "/v1/responses", "[1,", 400, []any{"error", "type"}, "invalid_request_error"},
		{"embeddings bad input", "POST", "/v1/embeddings", `{"input":{}}`, 400, []any{"error", "param"}, "input"},
		{"embeddings too long", "POST", "/v1/embeddings", `{"input":"x","dimensions":1000000000}`, 400, []any{"error", "param"}, "dimensions"},
		{"gemini embedding too long", "POST", "/v1beta/models/e:embedContent", `{"outputDimensionality":-1}`, 400, []any{"error", "status"}, "INVALID_ARGUMENT"},
		{"openai unknown path", "POST", "/v1/nope", "{}", 404, []any{"error", "type"}, "invalid_request_error"},
		{"openai wrong method", "GET", "/v1/chat/completions", "", 405, []any{"error", "type"}, "invalid_request_error"},
		{"anthropic bad json", "POST", "/v1/messages", "nope", 400, []any{"error", "type"}, "invalid_request_error"},
		{"anthropic type", "POST", "/v1/messages", "nope", 400, []any{"type"}, "error"},
		{"count_tokens bad json", "POST", "/v1/messages/count_tokens", "{", 400, []any{"error", "type"}, "invalid_request_error"},
		{"gemini bad json", "POST", "/v1beta/models/m:generateContent", "{", 400, []any{"error", "status"}, "INVALID_ARGUMENT"},
		{"gemini unknown action", "POST", "/v1beta/models/m:nope", "{}", 404, []any{"error", "status"}, "NOT_FOUND"},
		{"gemini unknown path", "GET", "/v1beta/tunedModels", "", 404, []any{"error", "code"}, float64(404)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := call(t, s, tt.method, tt.path, tt.body)
			if w.Code != tt.status {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, w.Code, tt.status)
			}
			if got := path(jsonOf(t, w.Body.String()), tt.field...); got != tt.want {
				t.Errorf("%s %s: %v = %v, want %v", tt.method, tt.path, tt.field, got, tt.want)
			}
		})
	}
}

func TestLatencyHonoursCancel(t *testing.T) {
	s := New(Config{Latency: 1 << 40})
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody))
	ctx, cancel := context.WithCancel(r.Context())
	cancel()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r.WithContext(ctx)) // returns at once, or the test times out
	if w.Body.Len() != 0 {
		t.Errorf("a cancelled request got a body: %s", w.Body)
	}
}

// FuzzServeHTTP sends arbitrary bodies to every endpoint: the handler must
// answer with a JSON (or SSE) body and a sensible status, never panic.
func FuzzServeHTTP(f *testing.F) {
	paths := []string{"/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/messages",
		"/v1/messages/count_tokens", "/v1beta/models/m:generateContent",
		"/v1beta/models/m:streamGenerateContent?alt=sse", "/v1beta/models/m:countTokens",
		"/v1beta/models/m:embedContent", "/v1beta/models/m:batchEmbedContents"}
	for _, b := range []string{chatBody, respBody, msgBody, gemBody, `{"tool_choice":"required","tools":[{"name":"t","function":{"name":"t"}}],"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}}`, `{"input":[[1],[2]]}`, `{"stream":true}`, "null", "[]"} {
		f.Add(uint8(0), b)
	}
	s := New(Config{Chunks: 2})
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		p := paths[int(which)%len(paths)]
		w := call(t, s, http.MethodPost, p, body)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("POST %s %q = %d, want 200 or 400", p, body, w.Code)
		}
		if w.Code == http.StatusBadRequest || w.Header().Get("Content-Type") == "application/json" {
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("POST %s %q: invalid JSON body %s", p, body, w.Body)
			}
		}
	})
}
