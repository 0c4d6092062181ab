package responses

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/internal/neutralcases"
	"github.com/llmgw/llmgw/providers/openai"
)

func TestDecodeRequestGolden(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	for _, p := range paths {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			req, err := DecodeRequest(mustRead(t, p))
			if err != nil {
				t.Fatalf("DecodeRequest error: %v", err)
			}
			golden(t, "decode_request/"+name, indentJSON(t, req))
		})
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not json", `{"model":`, "invalid JSON"},
		{"null", `null`, "JSON object"},
		{"input type", `{"input": 5}`, "input must be"},
		{"bad role", `{"input": [{"type":"message","role":"robot","content":"x"}]}`, "unknown message role"},
		{"call without id", `{"input": [{"type":"function_call","name":"f","arguments":"{}"}]}`, "without call_id"},
		{"tool choice", `{"tool_choice": "sometimes"}`, "unknown tool_choice"},
		{"instructions type", `{"instructions": 3}`, "instructions must be a string"},
		{"wrong field type", `{"temperature": "hot"}`, "invalid request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.body))
			var le *llm.Error
			if !errors.As(err, &le) || le.Status != 400 || !strings.Contains(le.Message, tt.want) {
				t.Errorf("DecodeRequest(%s) = %v, want a 400 *llm.Error containing %q", tt.body, err, tt.want)
			}
		})
	}
}

func TestConvertible(t *testing.T) {
	stored, err := DecodeRequest(mustRead(t, "testdata/requests/string_input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var le *llm.Error
	if err := Convertible(stored); !errors.As(err, &le) || le.Status != 400 || le.Param != "previous_response_id" {
		t.Errorf("Convertible(previous_response_id) = %v, want a 400 *llm.Error on previous_response_id", err)
	}
	codex, err := DecodeRequest(mustRead(t, "testdata/requests/codex.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Convertible(codex); err != nil {
		t.Errorf("Convertible(codex) = %v, want nil", err)
	}
}

func TestEncodeRequestGolden(t *testing.T) {
	for _, tt := range neutralRequests {
		t.Run(tt.Name, func(t *testing.T) {
			body, warnings, err := EncodeRequest(tt.Req)
			if err != nil {
				t.Fatalf("EncodeRequest error: %v", err)
			}
			out := prettyJSON(t, body)
			out = append(out, "--- warnings\n"...)
			for _, w := range warnings {
				out = append(out, w+"\n"...)
			}
			golden(t, "encode_request/"+tt.Name+".txt", out)
		})
	}
}

func TestEncodeResponseGolden(t *testing.T) {
	cases := append(neutralResponses, neutralcases.ResponseCase{Name: "custom_tool", Resp: &llm.Response{ID: "msg_c", Model: "claude", Created: 1700000000, StopReason: llm.StopToolUse,
		Parts: []llm.Part{call("toolu_c", "apply_patch", `{"input":"*** Begin Patch"}`)}}, Req: codexRequest})
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			if tt.Resp.Created == 0 {
				tt.Resp.Created = 1700000000
			}
			body, err := EncodeResponse(tt.Resp, tt.Req)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "encode_response/"+tt.Name+".json", prettyJSON(t, body))
		})
	}
}

func TestDecodeResponseGolden(t *testing.T) {
	resp, err := DecodeResponse(readFixture(t, "openai_responses_nonstream_text.response.json"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "decode_response/nonstream_text.json", indentJSON(t, resp))
	want := llm.Usage{InputTokens: 14, OutputTokens: 50}
	if got, ok := ResponseUsage(readFixture(t, "openai_responses_nonstream_text.response.json")); !ok || got != want {
		t.Errorf("ResponseUsage(fixture) = %+v, %v, want %+v, true", got, ok, want)
	}
}

// TestResponseRoundTrip: what EncodeResponse writes, DecodeResponse reads
// back to the same parts, stop reason and usage.
func TestResponseRoundTrip(t *testing.T) {
	in := &llm.Response{ID: "x", Model: "m", Created: 1, StopReason: llm.StopToolUse,
		Parts: []llm.Part{{Kind: llm.PartThinking, Text: "why", Signature: "enc", SignatureProtocol: llm.ProtocolResponses},
			text("Hello"), call("call_1", "f", `{"a":1}`)},
		Usage: llm.Usage{InputTokens: 5, CacheReadTokens: 3, OutputTokens: 9, ReasoningTokens: 4}}
	body, err := EncodeResponse(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	in.ID, in.Created = "resp_x", 1
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip mismatch (-in +out):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ body, typ, msg string }{
		{`{"error":{"message":"The model does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}`, "invalid_request_error", "The model does not exist"},
		{`{"error":{"message":"slow down","type":"","code":"rate_limit_exceeded"}}`, "rate_limit_exceeded", "slow down"},
		{`upstream exploded`, "", "upstream exploded"},
	}
	for _, tt := range tests {
		typ, msg := DecodeError(400, []byte(tt.body))
		if typ != tt.typ || msg != tt.msg {
			t.Errorf("DecodeError(%s) = %q, %q, want %q, %q", tt.body, typ, msg, tt.typ, tt.msg)
		}
	}
	got := string(EncodeError(&llm.Error{Status: 400, Type: llm.ErrInvalidRequest, Message: "bad", Param: "input"}))
	if want := `{"error":{"message":"bad","type":"invalid_request_error","param":"input","code":null}}`; got != want {
		t.Errorf("EncodeError = %s, want %s", got, want)
	}
	// The same envelope as openai.EncodeError, for every neutral type.
	for _, e := range []*llm.Error{
		{Status: 404, Type: llm.ErrNotFound, Message: "no such model"},
		{Status: 404, Type: llm.ErrNotFound, Message: "no such model", Code: "model_not_found"},
		{Status: 429, Type: llm.ErrRateLimit, Message: "slow down", Code: "rate_limit_exceeded"},
		{Status: 401, Type: llm.ErrAuthentication, Message: "who"},
		{Status: 403, Type: llm.ErrPermission, Message: "no"},
		{Status: 500, Type: llm.ErrAPI, Message: "boom"},
		{Status: 504, Type: llm.ErrTimeout, Message: "late"},
		{Status: 529, Type: llm.ErrOverloaded, Message: "busy"},
		{Status: 413, Type: llm.ErrTooLarge, Message: "big", Param: "input"},
	} {
		if got, want := string(EncodeError(e)), string(openai.EncodeError(e)); got != want {
			t.Errorf("EncodeError(%+v) = %s, openai.EncodeError = %s", *e, got, want)
		}
	}
}

var fixedNow = func() time.Time { return time.Unix(1700000000, 0) }

// TestCodexRoundTrip: a Codex request decoded and encoded for a
// Responses upstream keeps reasoning items, custom tool calls and the
// fields only the Responses API knows.
func TestCodexRoundTrip(t *testing.T) {
	req, err := DecodeRequest(mustRead(t, "testdata/requests/codex.json"))
	if err != nil {
		t.Fatal(err)
	}
	body, warnings, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	out := prettyJSON(t, body)
	out = append(out, "--- warnings\n"...)
	for _, w := range warnings {
		out = append(out, w+"\n"...)
	}
	golden(t, "encode_request/codex_round_trip.txt", out)
	again, err := DecodeRequest(body)
	if err != nil {
		t.Fatalf("DecodeRequest(EncodeRequest(codex)) error: %v", err)
	}
	if diff := cmp.Diff(req.Messages, again.Messages); diff != "" {
		t.Errorf("messages changed in the round trip (-first +second):\n%s", diff)
	}
}
