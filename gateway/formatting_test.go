package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/internal/fixtures"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/sse"
)

// JSON is valid however it is laid out: Python servers and proxies write
// ", " and ": " between tokens, some servers indent. Every place llmgw
// reads JSON as bytes must not care. These tests replay every recorded
// fixture re-serialised in each of fixtures.Layouts (compact, spaced like
// Python's json.dumps, indented, blanks around every separator) in every
// direction the gateway serves it, and check that the client's output (as
// JSON values, in order) and the logged request (status, error class,
// usage, whether it was estimated) do not depend on the layout.

// sseLayout re-serialises every event's data in layout l (one of
// fixtures.Layouts). A multi-line value becomes one data: line per line,
// which SSE joins back with newlines.
func sseLayout(t *testing.T, l string, stream []byte) []byte {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(stream))
	var out []byte
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Name != "" {
			out = append(out, "event: "+ev.Name+"\n"...)
		}
		for _, line := range bytes.Split(fixtures.Relayout(ev.Data, l), []byte("\n")) {
			out = append(out, "data: "...)
			out = append(out, line...)
			out = append(out, '\n')
		}
		out = append(out, '\n')
	}
}

// volatile matches what differs between two answers to the same upstream
// bytes whatever their layout: ids and call ids llmgw mints with a random
// nonce, and timestamps it stamps.
var volatile = regexp.MustCompile(`llmgw_[A-Za-z0-9_]+|"(created|created_at|createTime)":\d+|"(id|responseId|item_id)":"[^"]*"`)

// normalised is a client's output as comparable text: each SSE event's
// name and data (JSON compacted), or the compacted body, volatile values
// masked. A string that holds JSON (a tool call's arguments, which
// conversions carry as the upstream wrote them) is compacted too.
func normalised(t *testing.T, contentType string, body []byte) string {
	t.Helper()
	compact := func(b []byte) string {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		if d.Decode(&v) != nil {
			return string(b)
		}
		c, err := json.Marshal(compactStrings(v))
		if err != nil {
			t.Fatal(err)
		}
		return volatile.ReplaceAllString(string(c), "…")
	}
	if !strings.HasPrefix(contentType, "text/event-stream") {
		return compact(body)
	}
	var out []string
	rd := sse.NewReader(bytes.NewReader(body))
	for {
		ev, err := rd.Next()
		if err != nil {
			return strings.Join(out, "\n")
		}
		out = append(out, ev.Name+" "+compact(ev.Data))
	}
}

// compactStrings returns v with every string that holds a JSON object or
// array compacted.
func compactStrings(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = compactStrings(e)
		}
	case []any:
		for i, e := range v {
			v[i] = compactStrings(e)
		}
	case string:
		var c bytes.Buffer
		if t := strings.TrimSpace(v); (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Compact(&c, []byte(t)) == nil {
			return c.String()
		}
	}
	return v
}

// clientCall is a client request of one protocol, streaming or not.
type clientCall struct {
	proto llm.Protocol
	path  string
	body  string
}

func clientCalls(stream bool) []clientCall {
	gem := "/v1beta/models/m:generateContent"
	if stream {
		gem = "/v1beta/models/m:streamGenerateContent?alt=sse"
	}
	s := fmt.Sprint(stream)
	return []clientCall{
		// No include_usage: the usage chunk llmgw asks for must stay hidden.
		{llm.ProtocolOpenAI, "/v1/chat/completions", `{"model":"m","stream":` + s + `,"messages":[{"role":"user","content":"hi"}]}`},
		{llm.ProtocolResponses, "/v1/responses", `{"model":"m","stream":` + s + `,"input":"hi"}`},
		{llm.ProtocolAnthropic, "/v1/messages", `{"model":"m","max_tokens":100,"stream":` + s + `,"messages":[{"role":"user","content":"hi"}]}`},
		{llm.ProtocolGemini, gem, `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
	}
}

// upstreamFixture is a recorded answer and the upstream it came from.
type upstreamFixture struct {
	name string
	kind string       // provider kind
	up   llm.Protocol // the protocol it is written in
}

// recordedAnswers lists every recorded upstream answer, streams and
// bodies, errors included.
func recordedAnswers(t *testing.T) []upstreamFixture {
	t.Helper()
	var out []upstreamFixture
	for _, p := range fixtures.Glob(t, "*") {
		name := filepath.Base(p)
		f := upstreamFixture{name: name}
		switch {
		case strings.Contains(name, "request"), !strings.HasSuffix(name, ".sse") && !strings.HasSuffix(name, ".json"):
			continue
		case strings.HasPrefix(name, "openai_responses_"):
			f.kind, f.up = "openai", llm.ProtocolResponses
		case strings.HasPrefix(name, "openai_"):
			f.kind, f.up = "openai", llm.ProtocolOpenAI
		case strings.HasPrefix(name, "anthropic_"):
			f.kind, f.up = "anthropic", llm.ProtocolAnthropic
		case strings.HasPrefix(name, "gemini_"):
			f.kind, f.up = "gemini", llm.ProtocolGemini
		default:
			t.Fatalf("fixture %s: unknown upstream", name)
		}
		out = append(out, f)
	}
	return out
}

// replayOutcome is what must not depend on the upstream's layout.
type replayOutcome struct {
	Status         int
	Output         string
	ErrorClass     string
	Usage          llm.Usage
	UsageEstimated bool
}

// TestAnyJSONLayoutReplaysAlike replays every recorded upstream answer in
// each layout to every client protocol the gateway serves from it
// (pass-through and conversions).
func TestAnyJSONLayoutReplaysAlike(t *testing.T) {
	answers := recordedAnswers(t)
	for _, kind := range []string{"openai", "anthropic", "gemini"} {
		up := providertest.New(t, providertest.Reply{})
		h := newHarness(t, providerDecl("p", kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
		for _, f := range answers {
			if f.kind != kind {
				continue
			}
			stream := strings.HasSuffix(f.name, ".sse")
			recorded := providertest.FixtureReply(t, f.name)
			for _, c := range clientCalls(stream) {
				if h.gw.upstreamProtocol(kind, c.proto) != f.up {
					continue
				}
				t.Run(f.name+"/to_"+string(c.proto), func(t *testing.T) {
					var base replayOutcome
					for _, l := range fixtures.Layouts {
						reply := recorded
						if stream {
							reply.Body = sseLayout(t, l, recorded.Body)
						} else {
							reply.Body = fixtures.Relayout(recorded.Body, l)
						}
						up.SetDefault(reply)
						n := len(h.rec.all())
						resp, body := h.post(c.path, c.body)
						rec := waitRecord(t, h.rec, n+1)
						got := replayOutcome{resp.StatusCode, normalised(t, resp.Header.Get("Content-Type"), body), rec.ErrorClass, rec.Usage, rec.UsageEstimated}
						if l == "compact" {
							base = got
							continue
						}
						if base.UsageEstimated && got.UsageEstimated {
							// No usage reported: the output estimate counts
							// the bytes relayed, which the layout changes.
							got.Usage.OutputTokens = base.Usage.OutputTokens
						}
						if diff := cmp.Diff(base, got); diff != "" {
							t.Errorf("%s upstream answer replayed differently from the compact one (-compact +%s):\n%s", l, l, diff)
						}
					}
				})
			}
		}
	}
}

// TestAnyJSONLayoutForwardsAlike sends every recorded client request in
// each layout to an upstream of every kind: what the upstream receives
// (as JSON) and what is logged must not depend on the layout.
func TestAnyJSONLayoutForwardsAlike(t *testing.T) {
	answers := map[string][2]string{ // kind: non-stream answer, stream
		"openai":    {"openai_cassette_chat-detailed-usage.response.200.json", "openai_chat_stream_text_with_usage.sse"},
		"anthropic": {"anthropic_nonstream_tool_use_response.json", "anthropic_stream_text_end_turn.sse"},
		"gemini":    {"gemini_nonstream_text.response.json", "gemini_stream_single_chunk.sse"},
	}
	var requests []string
	for _, p := range fixtures.Glob(t, "*request*.json") {
		if name := filepath.Base(p); !strings.Contains(name, "response") {
			requests = append(requests, name)
		}
	}
	for _, kind := range []string{"openai", "anthropic", "gemini"} {
		up := providertest.New(t, providertest.Reply{})
		up.Handle(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			var v struct{ Stream bool }
			_ = json.Unmarshal(b, &v)
			name := answers[kind][0]
			if v.Stream || strings.HasSuffix(r.URL.Path, ":streamGenerateContent") {
				name = answers[kind][1]
			}
			providertest.Write(w, r, providertest.FixtureReply(t, name))
		})
		h := newHarness(t, providerDecl("p", kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
		for _, name := range requests {
			raw := fixtures.Read(t, name)
			var path string
			// Embeddings are forwarded to OpenAI only, never converted.
			converts := true
			switch {
			case strings.HasPrefix(name, "openai_") && strings.Contains(name, "embeddings"):
				path, converts = "/v1/embeddings", kind == "openai"
			case strings.HasPrefix(name, "openai_"):
				path = "/v1/chat/completions"
			case strings.HasPrefix(name, "anthropic_"):
				path = "/v1/messages"
			case strings.HasPrefix(name, "gemini_stream_"):
				path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
			case strings.HasPrefix(name, "gemini_"):
				path = "/v1beta/models/gemini-2.5-flash:generateContent"
			default:
				t.Fatalf("request fixture %s: unknown protocol", name)
			}
			t.Run(name+"/to_"+kind, func(t *testing.T) {
				type forwarded struct {
					Out                  replayOutcome
					Model, UpstreamModel string
					Stream               bool
					Upstream             string
				}
				var base forwarded
				for _, l := range fixtures.Layouts {
					n, sent := len(h.rec.all()), up.Count()
					resp, body := h.post(path, string(fixtures.Relayout(raw, l)))
					rec := waitRecord(t, h.rec, n+1)
					got := forwarded{
						Out:   replayOutcome{resp.StatusCode, normalised(t, resp.Header.Get("Content-Type"), body), rec.ErrorClass, rec.Usage, rec.UsageEstimated},
						Model: rec.Model, UpstreamModel: rec.UpstreamModel, Stream: rec.Stream,
					}
					if reqs := up.Requests(); len(reqs) > sent {
						got.Upstream = normalised(t, "application/json", reqs[len(reqs)-1].Body)
					}
					if l == "compact" {
						base = got
						if got.Upstream == "" && converts {
							t.Fatalf("nothing reached the upstream: %d %s", resp.StatusCode, body)
						}
						continue
					}
					if diff := cmp.Diff(base, got); diff != "" {
						t.Errorf("%s client request forwarded differently from the compact one (-compact +%s):\n%s", l, l, diff)
					}
				}
			})
		}
	}
}
