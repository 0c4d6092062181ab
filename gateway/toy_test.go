package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// The toy protocol is a fifth wire protocol that exists only in this file:
// a whole protocol is one Adapter plus one map entry (here through
// Config.Adapters, in the gateway through builtinAdapters), with nothing
// else of the gateway edited. A toy request is {"model", "prompt",
// "stream"}; its answer is {"text", "usage": {"in", "out"}}; its stream
// is data: {"delta"} events ending with data: {"done", "usage"}; its
// errors are {"toy_error", "status"}.

const protocolToy llm.Protocol = "toy"

type toyAdapter struct{}

type toyRequest struct {
	Model  string `json:"model"`
	Prompt string `json:"prompt"`
	Stream bool   `json:"stream,omitempty"`
}

type toyUsage struct {
	In  int64 `json:"in"`
	Out int64 `json:"out"`
}

type toyAnswer struct {
	Text  string   `json:"text"`
	Usage toyUsage `json:"usage"`
}

func (toyAdapter) Kind() string   { return "toy" }
func (toyAdapter) Vendor() string { return "Toy" }
func (toyAdapter) Doors() []llm.Door {
	return []llm.Door{{Path: "/toy/generate", Op: llm.OpGenerate, Name: "toy.generate"}}
}
func (toyAdapter) DefaultBaseURL() string { return "https://toy.invalid/api" }
func (toyAdapter) URL(base string, _ llm.Operation, _ string, stream bool) string {
	if stream {
		return base + "/generate?stream=1"
	}
	return base + "/generate"
}
func (toyAdapter) SetAuth(h http.Header, secret string, _ bool) { h.Set("X-Toy-Key", secret) }
func (toyAdapter) InlineImages() bool                           { return false }

func (toyAdapter) DecodeRequest(b []byte) (*llm.Request, error) {
	var r toyRequest
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: err.Error()}
	}
	return &llm.Request{Model: r.Model, Stream: r.Stream, Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: r.Prompt}}},
	}}, nil
}

// toyFeatures reads the toy body's routing features: its model and
// whether it streams.
type toyFeatures struct{ f llm.Features }

func (t *toyFeatures) Take(key, v []byte) bool {
	switch string(key) {
	case "model":
		_ = json.Unmarshal(v, &t.f.Model)
	case "stream":
		t.f.Stream = string(v) == "true"
	}
	return true
}
func (t *toyFeatures) Features() llm.Features { return t.f }

func (toyAdapter) NewFeatureScanner() llm.FeatureScanner { return &toyFeatures{} }
func (toyAdapter) Convertible(*llm.Request) error        { return nil }
func (toyAdapter) EncodeRequest(r *llm.Request) ([]byte, []string, error) {
	var prompt strings.Builder
	for _, m := range r.Messages {
		for _, p := range m.Parts {
			prompt.WriteString(p.Text)
		}
	}
	b, err := json.Marshal(toyRequest{Model: r.Model, Prompt: prompt.String(), Stream: r.Stream})
	return b, nil, err
}
func (toyAdapter) DecodeResponse(b []byte) (*llm.Response, error) {
	var a toyAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, err
	}
	return &llm.Response{Parts: []llm.Part{{Kind: llm.PartText, Text: a.Text}}, StopReason: llm.StopEnd,
		Usage: llm.Usage{InputTokens: a.Usage.In, OutputTokens: a.Usage.Out}}, nil
}
func (toyAdapter) EncodeResponse(r *llm.Response, _ *llm.Request) ([]byte, error) {
	a := toyAnswer{Usage: toyUsage{In: r.Usage.InputTokens, Out: r.Usage.OutputTokens}}
	for _, p := range r.Parts {
		a.Text += p.Text
	}
	return json.Marshal(a)
}
func (toyAdapter) UsageMember() string { return "usage" }
func (toyAdapter) ParseUsage(raw []byte) (llm.Usage, bool) {
	var u toyUsage
	if json.Unmarshal(raw, &u) != nil {
		return llm.Usage{}, false
	}
	return llm.Usage{InputTokens: u.In, OutputTokens: u.Out}, true
}
func (toyAdapter) DecodeError(_ int, b []byte) (string, string) {
	var e struct {
		Msg string `json:"toy_error"`
	}
	_ = json.Unmarshal(b, &e)
	return "", e.Msg
}
func (toyAdapter) EncodeError(e *llm.Error) []byte {
	b, _ := json.Marshal(map[string]any{"toy_error": e.Message, "status": e.Status})
	return b
}
func (toyAdapter) EncodeStreamError(dst []byte, e *llm.Error) []byte {
	return sse.AppendEvent(dst, "", toyAdapter{}.EncodeError(e))
}
func (toyAdapter) NewStreamDecoder() StreamDecoder { return &toyDecoder{} }
func (toyAdapter) NewStreamEncoder(*llm.Request) llm.StreamEncoder {
	return &toyEncoder{}
}
func (toyAdapter) NewUsageScanner() UsageScanner { return &toyScanner{} }
func (toyAdapter) CountEstimate(n int) []byte {
	return []byte(`{"tokens":` + strconv.Itoa(n) + `}`)
}
func (toyAdapter) PassMember() string { return "" }
func (toyAdapter) EditBody(body []byte, _ llm.PassEdit) (llm.Passed, error) {
	return llm.Passed{Body: body}, nil
}
func (toyAdapter) RelayEvent(ev sse.Event, _ bool) ([]byte, []byte, bool) {
	return ev.Raw, ev.Data, true
}

// toyEvent is one event of a toy stream.
type toyEvent struct {
	Delta string    `json:"delta,omitempty"`
	Done  bool      `json:"done,omitempty"`
	Usage *toyUsage `json:"usage,omitempty"`
}

type toyDecoder struct{ started bool }

func (d *toyDecoder) Decode(ev sse.Event) ([]llm.Event, error) {
	var e toyEvent
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		return nil, err
	}
	var out []llm.Event
	if !d.started {
		d.started = true
		out = append(out, llm.Event{Kind: llm.EventStart}, llm.Event{Kind: llm.EventBlockStart, Block: llm.PartText})
	}
	if e.Delta != "" {
		out = append(out, llm.Event{Kind: llm.EventDelta, Text: e.Delta})
	}
	if e.Done {
		out = append(out, llm.Event{Kind: llm.EventBlockStop}, llm.Event{Kind: llm.EventFinish, StopReason: llm.StopEnd})
		if e.Usage != nil {
			out = append(out, llm.Event{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: e.Usage.In, OutputTokens: e.Usage.Out}})
		}
	}
	return out, nil
}
func (d *toyDecoder) Close() []llm.Event { return nil }

type toyEncoder struct{ usage *llm.Usage }

func (e *toyEncoder) Encode(dst []byte, ev llm.Event) []byte {
	switch ev.Kind {
	case llm.EventDelta:
		b, _ := json.Marshal(toyEvent{Delta: ev.Text})
		return sse.AppendEvent(dst, "", b)
	case llm.EventUsage, llm.EventStart:
		if ev.Usage != nil {
			e.usage = ev.Usage
		}
	}
	return dst
}
func (e *toyEncoder) Close(dst []byte) []byte {
	done := toyEvent{Done: true}
	if e.usage != nil {
		done.Usage = &toyUsage{In: e.usage.InputTokens, Out: e.usage.OutputTokens}
	}
	b, _ := json.Marshal(done)
	return sse.AppendEvent(dst, "", b)
}

type toyScanner struct {
	u  llm.Usage
	ok bool
}

func (s *toyScanner) Observe(ev sse.Event) {
	var e toyEvent
	if json.Unmarshal(ev.Data, &e) == nil && e.Usage != nil {
		s.u, s.ok = llm.Usage{InputTokens: e.Usage.In, OutputTokens: e.Usage.Out}, true
	}
}
func (s *toyScanner) Usage() (llm.Usage, bool) { return s.u, s.ok }

// toyHarness serves policy with the toy protocol added, and the demo kind
// served by upstream (so that a toy client reaches a provider speaking
// toy: the demo kind is every protocol's pass-through).
func toyHarness(t *testing.T, policy string, upstream http.Handler) *harness {
	return newHarness(t, policy, func(c *Config) {
		c.Adapters = map[llm.Protocol]Adapter{protocolToy: toyAdapter{}}
		if upstream != nil {
			c.Demo = handlerTransport{upstream}
		}
	})
}

// handlerTransport serves requests with a handler, in-process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

// toyUpstream is a provider speaking toy, recording what it was sent.
type toyUpstream struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (u *toyUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.reqs, u.body = append(u.reqs, r), append(u.body, b)
	u.mu.Unlock()
	var req toyRequest
	_ = json.Unmarshal(b, &req)
	if req.Prompt == "fail" {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"toy_error":"toy upstream broke"}`))
		return
	}
	if r.URL.Query().Get("stream") == "1" {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"delta\":\"echo \"}\n\ndata: {\"delta\":\""+req.Prompt+"\"}\n\ndata: {\"done\":true,\"usage\":{\"in\":3,\"out\":2}}\n\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"text":"echo %s","usage":{"in":3,"out":2}}`, req.Prompt)
}

// TestToyProtocolConvertsThroughOpenAI serves a toy client from an OpenAI
// provider: the toy adapter decodes the request and encodes the answer,
// OpenAI's the rest, and the gateway is not edited.
func TestToyProtocolConvertsThroughOpenAI(t *testing.T) {
	var got []map[string]any
	var mu sync.Mutex
	oai := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
		if body["stream"] == true {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, `data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-x","choices":[{"index":0,"delta":{"role":"assistant","content":"hel"}}]}`+"\n\n")
			fmt.Fprint(w, `data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-x","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}`+"\n\n")
			fmt.Fprint(w, `data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-x","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}`+"\n\n")
			fmt.Fprint(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"c1","object":"chat.completion","model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}`)
	}))
	t.Cleanup(oai.Close)
	h := toyHarness(t, providerDecl("a", "openai", oai.URL, "")+`
def route(req, ctx):
    return [a]
`, nil)

	resp, body := h.post("/toy/generate", `{"model":"gpt-x","prompt":"hi"}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-LLMGW-Provider") != "a" {
		t.Fatalf("toy request = %d (provider %q) %s", resp.StatusCode, resp.Header.Get("X-LLMGW-Provider"), body)
	}
	var a toyAnswer
	if err := json.Unmarshal(body, &a); err != nil || a.Text != "hello" || a.Usage != (toyUsage{In: 7, Out: 2}) {
		t.Errorf("toy answer = %s (%v), want text hello, usage 7/2", body, err)
	}
	mu.Lock()
	msgs, _ := got[0]["messages"].([]any)
	mu.Unlock()
	if len(msgs) != 1 || msgs[0].(map[string]any)["content"] != "hi" {
		t.Errorf("OpenAI upstream got messages %v, want the prompt as one user message", msgs)
	}
	if rec := h.rec.last(t); rec.ProtocolIn != string(protocolToy) || rec.Usage.InputTokens != 7 {
		t.Errorf("log row protocol %q, usage %+v; want toy, 7 input tokens", rec.ProtocolIn, rec.Usage)
	}

	resp, body = h.post("/toy/generate", `{"model":"gpt-x","prompt":"hi","stream":true}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("toy stream = %d %s", resp.StatusCode, body)
	}
	var text strings.Builder
	var done *toyEvent
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e toyEvent
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatalf("toy stream event %q: %v", data, err)
		}
		text.WriteString(e.Delta)
		if e.Done {
			done = &e
		}
	}
	if text.String() != "hello" || done == nil || done.Usage == nil || *done.Usage != (toyUsage{In: 7, Out: 2}) {
		t.Errorf("toy stream = %q, done %+v; want hello and usage 7/2:\n%s", text.String(), done, body)
	}

	// The gateway's own errors come in the toy shape.
	resp, body = h.post("/toy/generate", `{"prompt":"no model"}`)
	var te struct {
		Msg    string `json:"toy_error"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(body, &te); err != nil || resp.StatusCode != http.StatusBadRequest || te.Status != 400 || te.Msg == "" {
		t.Errorf("toy request without a model = %d %s, want a 400 in the toy shape", resp.StatusCode, body)
	}
}

// TestToyProtocolPassesThrough serves a toy client from a provider that
// speaks toy: the client's bytes are forwarded, to the adapter's URL with
// its auth, the usage read by its scanner, and an upstream's error
// decoded by the adapter and quoted in the toy shape once the walk gives up.
func TestToyProtocolPassesThrough(t *testing.T) {
	up := &toyUpstream{}
	h := toyHarness(t, `p = provider("p", kind = "demo", api_key = "toy-secret")
def route(req, ctx):
    return [p]
`, up)

	in := `{"model":"m","prompt":"hi"}`
	resp, body := h.post("/toy/generate", in)
	if resp.StatusCode != http.StatusOK || string(body) != `{"text":"echo hi","usage":{"in":3,"out":2}}` {
		t.Fatalf("toy pass-through = %d %s", resp.StatusCode, body)
	}
	up.mu.Lock()
	r, sent := up.reqs[0], up.body[0]
	up.mu.Unlock()
	if r.URL.String() != demoBase+"/api/generate" || r.Header.Get("X-Toy-Key") != "toy-secret" || string(sent) != in {
		t.Errorf("toy upstream got %s (key %q) %s; want %s/api/generate, the provider's key, the client's bytes",
			r.URL, r.Header.Get("X-Toy-Key"), sent, demoBase)
	}
	if rec := h.rec.last(t); rec.Usage.InputTokens != 3 || rec.Usage.OutputTokens != 2 {
		t.Errorf("usage logged %+v, want 3/2 from the toy answer's usage member", rec.Usage)
	}

	resp, body = h.post("/toy/generate", `{"model":"m","prompt":"hi","stream":true}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"delta":"hi"`) {
		t.Fatalf("toy stream pass-through = %d %s", resp.StatusCode, body)
	}
	if rec := h.rec.last(t); rec.Usage.OutputTokens != 2 {
		t.Errorf("stream usage logged %+v, want 2 output tokens from the toy scanner", rec.Usage)
	}

	resp, body = h.post("/toy/generate", `{"model":"m","prompt":"fail"}`)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), `"toy_error":"all providers failed`) || !strings.Contains(string(body), "toy upstream broke") {
		t.Errorf("toy upstream error = %d %s, want a 502 in the toy shape quoting the upstream's message", resp.StatusCode, body)
	}
	if rec := h.rec.last(t); len(rec.Attempts) != 1 || !strings.Contains(rec.Attempts[0].Error, "toy upstream broke") {
		t.Errorf("log row attempts %+v, want one whose error is the toy adapter's decoding of the upstream's", rec.Attempts)
	}
}
