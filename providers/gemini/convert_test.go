package gemini

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/llm"
)

func TestDecodeRequestGolden(t *testing.T) {
	inputs := map[string][]byte{}
	for _, f := range fixtures(t, "*.request.json") {
		inputs[f] = readFixture(t, f)
	}
	extra, _ := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	for _, p := range extra {
		inputs[filepath.Base(p)] = mustRead(t, p)
	}
	for name, body := range inputs {
		t.Run(name, func(t *testing.T) {
			req, err := DecodeRequestModel("models/gemini-2.5-flash", body)
			if err != nil {
				t.Fatalf("DecodeRequestModel(%s) error: %v", name, err)
			}
			golden(t, "decode_request/"+goldenName(name, ".json"), indentJSON(t, req))
		})
	}
}

func TestDecodeRequestPairsCalls(t *testing.T) {
	req, err := DecodeRequest(mustRead(t, "testdata/requests/parallel_tools.json"))
	if err != nil {
		t.Fatal(err)
	}
	calls := req.Messages[1].Parts
	results := req.Messages[2].Parts
	if got, want := results[0].ToolCallID, calls[1].ToolCallID; got != want {
		t.Errorf("first result id = %q, want %q (the first call)", got, want)
	}
	if got, want := results[1].ToolCallID, calls[2].ToolCallID; got != want {
		t.Errorf("second result id = %q, want %q (the second call)", got, want)
	}
	if got := results[2]; got.Kind != llm.PartText || !strings.Contains(got.Text, "unknown_tool") {
		t.Errorf("orphan result = %+v, want a text part", got)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not json", `{`, "invalid JSON"},
		{"array", `[]`, "invalid JSON"},
		{"null", `null`, "must be a JSON object"},
		{"contents type", `{"contents": 3}`, "invalid contents"},
		{"bad role", `{"contents": [{"role": "robot", "parts": [{"text": "x"}]}]}`, "unknown role"},
		{"args not object", `{"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": [1]}}]}]}`, "JSON object"},
		{"generation type", `{"generationConfig": {"temperature": "hot"}}`, "invalid generationConfig"},
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

func TestEncodeRequestRejects(t *testing.T) {
	tests := []struct {
		name string
		req  *llm.Request
	}{
		{"n", &llm.Request{Extra: map[string]json.RawMessage{"n": json.RawMessage("2")}, ExtraProtocol: llm.ProtocolOpenAI}},
		{"previous_response_id", &llm.Request{Extra: map[string]json.RawMessage{"previous_response_id": json.RawMessage(`"resp_1"`)}, ExtraProtocol: llm.ProtocolResponses}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := EncodeRequest(tt.req)
			var le *llm.Error
			if !errors.As(err, &le) || le.Status != 400 {
				t.Errorf("EncodeRequest(%s) error = %v, want a 400 *llm.Error", tt.name, err)
			}
		})
	}
}

// TestRequestRoundTrip: a Gemini request decoded and encoded again keeps
// its meaning (ids synthesized for Gemini 2.x calls are not sent back,
// signatures are kept).
func TestRequestRoundTrip(t *testing.T) {
	body := mustRead(t, "testdata/requests/parallel_tools.json")
	req, err := DecodeRequestModel("gemini-3-pro", body)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var got generateRequest
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	model := got.Contents[1].Parts
	if model[1].FunctionCall.ID != "" || model[1].ThoughtSignature != "c2lnMg==" {
		t.Errorf("first call = %+v, want no id and its own signature", model[1])
	}
	resp := got.Contents[2].Parts
	if resp[0].FunctionResponse == nil || resp[0].FunctionResponse.Name != "get_weather" {
		t.Errorf("first response part = %+v, want functionResponse get_weather", resp[0])
	}
	if got, want := string(resp[1].FunctionResponse.Response), `{"temp":25,"unit":"C"}`; got != want {
		t.Errorf("object response = %s, want %s", got, want)
	}
}

func TestDecodeResponseGolden(t *testing.T) {
	inputs := map[string]string{
		"gemini_nonstream_text.response.json": string(readFixture(t, "gemini_nonstream_text.response.json")),
		"function_call.json": `{"candidates":[{"content":{"role":"model","parts":[{"text":"Let me check."},` +
			`{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"},` +
			`{"functionCall":{"id":"call_9","name":"get_time"}}]},"finishReason":"STOP"}],` +
			`"usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":60,"candidatesTokenCount":20,"thoughtsTokenCount":30,"toolUsePromptTokenCount":5,"totalTokenCount":155},"modelVersion":"gemini-2.5-pro","responseId":"r-1"}`,
		"blocked.json":    `{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7}}`,
		"max_tokens.json": `{"candidates":[{"content":{"role":"model","parts":[{"text":"thinking...","thought":true},{"text":"","thoughtSignature":"c2ln"}]},"finishReason":"MAX_TOKENS"}]}`,
		"safety.json":     `{"candidates":[{"finishReason":"SAFETY"}]}`,
	}
	for name, body := range inputs {
		t.Run(name, func(t *testing.T) {
			resp, err := DecodeResponseNonce([]byte(body), testNonce)
			if err != nil {
				t.Fatalf("DecodeResponse error: %v", err)
			}
			golden(t, "decode_response/"+goldenName(name, ".json"), indentJSON(t, resp))
		})
	}
}

func TestDecodeResponseError(t *testing.T) {
	_, err := DecodeResponse([]byte(`{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}`))
	var le *llm.Error
	if !errors.As(err, &le) || le.Status != 429 || le.Type != llm.ErrRateLimit {
		t.Errorf("DecodeResponse(error body) = %v, want a 429 rate_limit *llm.Error", err)
	}
}

func TestEncodeResponseGolden(t *testing.T) {
	for _, tt := range neutralResponses {
		t.Run(tt.Name, func(t *testing.T) {
			body, err := EncodeResponse(tt.Resp, tt.Req)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "encode_response/"+tt.Name+".json", prettyJSON(t, body))
		})
	}
}

func TestUsageMapping(t *testing.T) {
	tests := []struct {
		name string
		in   usageMetadata
		want llm.Usage
	}{
		{"developer api", usageMetadata{PromptTokenCount: 83, CandidatesTokenCount: 14, ThoughtsTokenCount: 104, TotalTokenCount: 201},
			llm.Usage{InputTokens: 83, OutputTokens: 118, ReasoningTokens: 104}},
		{"cached and tool use", usageMetadata{PromptTokenCount: 100, CachedContentTokenCount: 60, ToolUsePromptTokenCount: 5, CandidatesTokenCount: 20, TotalTokenCount: 125},
			llm.Usage{InputTokens: 45, CacheReadTokens: 60, OutputTokens: 20}},
		{"thoughts already inclusive", usageMetadata{PromptTokenCount: 10, CandidatesTokenCount: 30, ThoughtsTokenCount: 20, TotalTokenCount: 40},
			llm.Usage{InputTokens: 10, OutputTokens: 30, ReasoningTokens: 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.in.toLLM()); diff != "" {
				t.Errorf("toLLM(%+v) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
	u := llm.Usage{InputTokens: 45, CacheReadTokens: 60, OutputTokens: 50, ReasoningTokens: 30}
	got := usageFromLLM(u)
	want := &usageMetadata{PromptTokenCount: 105, CachedContentTokenCount: 60, CandidatesTokenCount: 20, ThoughtsTokenCount: 30, TotalTokenCount: 155}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("usageFromLLM(%+v) mismatch (-want +got):\n%s", u, diff)
	}
	if back := got.toLLM(); back != u {
		t.Errorf("toLLM(usageFromLLM(u)) = %+v, want %+v", back, u)
	}
}

func TestResponseUsage(t *testing.T) {
	got, ok := ResponseUsage(readFixture(t, "gemini_nonstream_text.response.json"))
	want := llm.Usage{InputTokens: 3, OutputTokens: 19, ReasoningTokens: 17}
	if !ok || got != want {
		t.Errorf("ResponseUsage(fixture) = %+v, %v, want %+v, true", got, ok, want)
	}
	if _, ok := ResponseUsage([]byte(`{"candidates":[]}`)); ok {
		t.Errorf("ResponseUsage(no usage) ok = true, want false")
	}
}

func TestParseModelAction(t *testing.T) {
	tests := []struct {
		path, model, action string
		ok                  bool
	}{
		{"/v1beta/models/gemini-2.5-flash:generateContent", "gemini-2.5-flash", "generateContent", true},
		{"/v1beta/models/gemini-2.5-pro:streamGenerateContent", "gemini-2.5-pro", "streamGenerateContent", true},
		{"/v1/models/gemini-3-pro-preview:countTokens", "gemini-3-pro-preview", "countTokens", true},
		{"models/x:embedContent", "x", "embedContent", true},
		{"/v1beta/models/gemini-2.5-flash", "", "", false},
		{"/v1beta/models/:generateContent", "", "", false},
		{"/v1beta/models/a:", "", "", false},
		{"/v1beta/other/a:b", "", "", false},
		{"/v1beta/models/a/b:c", "", "", false},
	}
	for _, tt := range tests {
		model, action, ok := ParseModelAction(tt.path)
		if model != tt.model || action != tt.action || ok != tt.ok {
			t.Errorf("ParseModelAction(%q) = %q, %q, %v, want %q, %q, %v", tt.path, model, action, ok, tt.model, tt.action, tt.ok)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, body, typ, msg string
	}{
		{"object", `{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}`, "INVALID_ARGUMENT", "API key not valid."},
		{"array", `[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]`, "RESOURCE_EXHAUSTED", "quota"},
		{"html", `<html>bad gateway</html>`, "", "<html>bad gateway</html>"},
	}
	for _, tt := range tests {
		typ, msg := DecodeError(400, []byte(tt.body))
		if typ != tt.typ || msg != tt.msg {
			t.Errorf("DecodeError(%s) = %q, %q, want %q, %q", tt.body, typ, msg, tt.typ, tt.msg)
		}
	}
	got := string(EncodeError(&llm.Error{Status: 503, Type: llm.ErrOverloaded, Message: "busy"}))
	if want := `{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}`; got != want {
		t.Errorf("EncodeError = %s, want %s", got, want)
	}
	if got, want := string(EncodeStreamError(nil, &llm.Error{Status: 500, Type: llm.ErrAPI, Message: "x"})), "data: {\"error\":{\"code\":500,\"message\":\"x\",\"status\":\"INTERNAL\"}}\n\n"; got != want {
		t.Errorf("EncodeStreamError = %q, want %q", got, want)
	}
}

func TestSanitizeSchema(t *testing.T) {
	got := string(sanitizeSchema(weatherTool.Parameters))
	want := `{"properties":{"city":{"type":"string"},"days":{"type":"integer"},"unit":{"enum":["c","f"],"nullable":true,"type":"string"}},"required":["city"],"type":"object"}`
	if got != want {
		t.Errorf("sanitizeSchema = %s, want %s", got, want)
	}
	if got := sanitizeSchema(json.RawMessage(`{"type":"object","properties":{}}`)); got != nil {
		t.Errorf("sanitizeSchema(empty object) = %s, want nil", got)
	}
}

// TestToolSchemaDialect: what reaches Gemini for a tool's JSON Schema,
// since Gemini answers keys outside its dialect with a 400. The OpenAPI
// subset of parameters takes no const, only string enums and none of
// $schema or additionalProperties; a schema that needs $ref, oneOf or
// allOf cannot be reduced without changing its meaning and goes whole as
// parametersJsonSchema instead.
func TestToolSchemaDialect(t *testing.T) {
	tests := []struct {
		name, schema     string
		parameters, json string // what the declaration carries
	}{
		{"const becomes a one-value enum",
			`{"type":"object","properties":{"op":{"const":"add"}},"required":["op"]}`,
			`{"properties":{"op":{"enum":["add"],"type":"string"}},"required":["op"],"type":"object"}`, ""},
		{"non-string enum dropped, string enum kept",
			`{"type":"object","properties":{"n":{"type":"integer","enum":[1,2]},"s":{"type":"string","enum":["a"]}},"additionalProperties":false}`,
			`{"properties":{"n":{"type":"integer"},"s":{"enum":["a"],"type":"string"}},"type":"object"}`, ""},
		{"$ref travels as JSON Schema",
			`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"p":{"$ref":"#/$defs/P"}},"$defs":{"P":{"type":"string"}}}`,
			"", `{"$defs":{"P":{"type":"string"}},"properties":{"p":{"$ref":"#/$defs/P"}},"type":"object"}`},
		{"oneOf travels as JSON Schema",
			`{"type":"object","properties":{"v":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}`,
			"", `{"properties":{"v":{"oneOf":[{"type":"string"},{"type":"integer"}]}},"type":"object"}`},
		{"allOf travels as JSON Schema",
			`{"type":"object","properties":{"v":{"allOf":[{"type":"string"},{"minLength":1}]}}}`,
			"", `{"properties":{"v":{"allOf":[{"type":"string"},{"minLength":1}]}},"type":"object"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &llm.Request{Model: "gemini-2.5-flash",
				Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "go"}}}},
				Tools:    []llm.Tool{{Name: "f", Parameters: json.RawMessage(tt.schema)}}}
			body, _, err := EncodeRequest(req)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			var got struct {
				Tools []struct {
					FunctionDeclarations []struct {
						Parameters           json.RawMessage `json:"parameters"`
						ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
					} `json:"functionDeclarations"`
				} `json:"tools"`
			}
			if err := json.Unmarshal(body, &got); err != nil || len(got.Tools) != 1 || len(got.Tools[0].FunctionDeclarations) != 1 {
				t.Fatalf("body %s (%v), want one function declaration", body, err)
			}
			fd := got.Tools[0].FunctionDeclarations[0]
			if canon(t, fd.Parameters) != tt.parameters || canon(t, fd.ParametersJSONSchema) != tt.json {
				t.Errorf("parameters %s, parametersJsonSchema %s; want %q and %q", fd.Parameters, fd.ParametersJSONSchema, tt.parameters, tt.json)
			}
		})
	}
}

// canon re-marshals a JSON value with sorted keys ("" for none).
func canon(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	if len(raw) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", raw, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCamelize(t *testing.T) {
	in := `{"system_instruction":{"parts":[{"text":"a_b"}]},"contents":[{"parts":[{"function_call":{"name":"f","args":{"snake_key":1}}}]}]}`
	got := string(camelize([]byte(in)))
	want := `{"contents":[{"parts":[{"functionCall":{"args":{"snake_key":1},"name":"f"}}]}],"systemInstruction":{"parts":[{"text":"a_b"}]}}`
	if got != want {
		t.Errorf("camelize(%s) = %s, want %s", in, got, want)
	}
}

// TestEncodeRequestPairsSameNameResults: two calls of one function whose
// ids llmgw made up (Gemini 2.x sends none, so neither is sent back) are
// answered in the other order. On the wire the two calls differ only by
// their arguments, so the responses must be put in call order by the
// request's own ids: Tokyo's answer was paired with the Paris call when
// the order came from the wire ids and names.
func TestEncodeRequestPairsSameNameResults(t *testing.T) {
	call := func(id, city string) llm.Part {
		return llm.Part{Kind: llm.PartToolCall, ToolCallID: id, ToolName: "get_weather", Arguments: json.RawMessage(`{"city":"` + city + `"}`)}
	}
	result := func(id, text string) llm.Part {
		return llm.Part{Kind: llm.PartToolResult, ToolCallID: id, Content: []llm.Part{{Kind: llm.PartText, Text: text}}}
	}
	for _, ids := range [][2]string{
		{syntheticIDPrefix + "r1_0", syntheticIDPrefix + "r1_1"}, // made up: not sent
		{"call_paris", "call_tokyo"},                             // the client's own: sent
	} {
		req := &llm.Request{Model: "gemini-2.5-flash", Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Paris and Tokyo?"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{call(ids[0], "Paris"), call(ids[1], "Tokyo")}},
			{Role: llm.RoleTool, Parts: []llm.Part{result(ids[1], "Tokyo: 25C")}},
			{Role: llm.RoleTool, Parts: []llm.Part{result(ids[0], "Paris: 12C")}},
		}}
		body, _, err := EncodeRequest(req)
		if err != nil {
			t.Fatalf("EncodeRequest: %v", err)
		}
		var got struct {
			Contents []struct {
				Role  string `json:"role"`
				Parts []struct {
					FunctionCall     *struct{ Args struct{ City string } } `json:"functionCall"`
					FunctionResponse *struct {
						ID       string `json:"id"`
						Response struct{ Result string }
					} `json:"functionResponse"`
				} `json:"parts"`
			} `json:"contents"`
		}
		if err := json.Unmarshal(body, &got); err != nil || len(got.Contents) != 3 {
			t.Fatalf("ids %v: body %s (%v), want user, model and user turns", ids, body, err)
		}
		var calls, answers []string
		for _, p := range got.Contents[1].Parts {
			if p.FunctionCall != nil {
				calls = append(calls, p.FunctionCall.Args.City)
			}
		}
		for _, p := range got.Contents[2].Parts {
			if p.FunctionResponse != nil {
				answers = append(answers, p.FunctionResponse.Response.Result)
			}
		}
		if want := []string{"Paris", "Tokyo"}; !cmp.Equal(calls, want) {
			t.Errorf("ids %v: calls %v, want %v", ids, calls, want)
		}
		if want := []string{"Paris: 12C", "Tokyo: 25C"}; !cmp.Equal(answers, want) {
			t.Errorf("ids %v: responses %v, want them in the calls' order %v", ids, answers, want)
		}
	}
}

// TestConvertible: what only Gemini can serve (several candidates, content
// cached at Google) is refused before a conversion, naming the field;
// anything else converts.
func TestConvertible(t *testing.T) {
	for _, tt := range []struct {
		body, param string // param "" when convertible
	}{
		{`{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"candidateCount":2}}`, "generationConfig.candidateCount"},
		{`{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"cachedContent":"cachedContents/abc123"}`, "cachedContent"},
		{`{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"cachedContent":null}`, ""},
		{`{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"candidateCount":1}}`, ""},
	} {
		req, err := DecodeRequest([]byte(tt.body))
		if err != nil {
			t.Fatalf("DecodeRequest(%s): %v", tt.body, err)
		}
		err = Convertible(req)
		var le *llm.Error
		switch {
		case tt.param == "" && err != nil:
			t.Errorf("Convertible(%s) = %v, want nil", tt.body, err)
		case tt.param != "" && (!errors.As(err, &le) || le.Status != 400 || le.Param != tt.param):
			t.Errorf("Convertible(%s) = %v, want a 400 *llm.Error on %s", tt.body, err, tt.param)
		}
	}
}
