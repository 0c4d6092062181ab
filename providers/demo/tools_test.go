package demo

import (
	"net/http"
	"strings"
	"testing"
)

const weather = `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city","days"]}`

func TestArguments(t *testing.T) {
	tests := []struct{ schema, want string }{
		{weather, `{"city":"Paris","days":1}`},
		{`{"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"array"},"c":{"type":"object"}},"required":["a","b","c"]}`, `{"a":true,"b":[],"c":{}}`},
		{`{"type":"object"}`, `{}`},
		{``, `{}`},
	}
	for _, tt := range tests {
		if got := arguments([]byte(tt.schema), "Paris"); got != tt.want {
			t.Errorf("arguments(%s) = %s, want %s", tt.schema, got, tt.want)
		}
	}
}

func TestToolCall(t *testing.T) {
	tools := []tool{{name: "get_weather", schema: []byte(weather)}, {name: "search"}}
	tests := []struct {
		name       string
		last       string
		lastIsUser bool
		force      string
		want       string // tool name, "" for none
	}{
		{"named in the message", "Use get_weather for Paris.", true, "", "get_weather"},
		{"not named", "What is the weather?", true, "", ""},
		{"after a tool result", "Use get_weather.", false, "", ""},
		{"forced any", "hello", true, forceAny, "get_weather"},
		{"forced any prefers the named", "try search", false, forceAny, "search"},
		{"forced by name", "hello", false, "search", "search"},
		{"forbidden", "Use get_weather", true, forceNone, ""},
		{"forced unknown", "hello", true, "nope", ""},
	}
	for _, tt := range tests {
		p := &prompt{last: tt.last, lastIsUser: tt.lastIsUser, force: tt.force, tools: tools}
		got := ""
		if c := p.toolCall(); c != nil {
			got = c.name
		}
		if got != tt.want {
			t.Errorf("%s: toolCall() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestToolCallWire checks each protocol's tool call shape, streaming and
// not.
func TestToolCallWire(t *testing.T) {
	s := New(Config{})
	const ask = "Use get_weather for Paris"
	tests := []struct {
		name, path, body string
		want             []string // substrings of the body, in order
	}{
		{"chat", "/v1/chat/completions",
			`{"model":"m","tools":[{"type":"function","function":{"name":"get_weather","parameters":` + weather + `}}],"messages":[{"role":"user","content":"` + ask + `"}]}`,
			[]string{`"tool_calls":[{"id":"call_`, `"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"` + ask + `\",\"days\":1}"}}]`, `"finish_reason":"tool_calls"`}},
		{"chat stream", "/v1/chat/completions",
			`{"model":"m","stream":true,"tool_choice":"required","tools":[{"type":"function","function":{"name":"get_weather","parameters":` + weather + `}}],"messages":[{"role":"user","content":"hi"}]}`,
			[]string{`"tool_calls":[{"index":0,"id":"call_`, `"name":"get_weather","arguments":""`, `"tool_calls":[{"index":0,"function":{"arguments":"{\"city\"`, `"finish_reason":"tool_calls"`, `[DONE]`}},
		{"responses stream", "/v1/responses",
			`{"model":"m","stream":true,"tools":[{"type":"function","name":"get_weather","parameters":` + weather + `}],"input":"` + ask + `"}`,
			[]string{`event: response.output_item.added`, `"type":"function_call","status":"in_progress","call_id":"call_`, `event: response.function_call_arguments.delta`,
				`event: response.function_call_arguments.done`, `event: response.output_item.done`, `event: response.completed`}},
		{"messages", "/v1/messages",
			`{"model":"m","tools":[{"name":"get_weather","input_schema":` + weather + `}],"messages":[{"role":"user","content":"` + ask + `"}]}`,
			[]string{`"type":"tool_use","id":"toolu_`, `"name":"get_weather","input":{"city":"` + ask + `","days":1}`, `"stop_reason":"tool_use"`}},
		{"messages stream", "/v1/messages",
			`{"model":"m","stream":true,"tool_choice":{"type":"tool","name":"get_weather"},"tools":[{"name":"get_weather","input_schema":` + weather + `}],"messages":[{"role":"user","content":"hi"}]}`,
			[]string{`"content_block":{"type":"tool_use","id":"toolu_`, `"input":{}`, `"type":"input_json_delta","partial_json":"{\"city\"`, `"stop_reason":"tool_use"`, `event: message_stop`}},
		{"gemini stream", "/v1beta/models/m:streamGenerateContent?alt=sse",
			`{"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":` + weather + `}]}],"contents":[{"role":"user","parts":[{"text":"` + ask + `"}]}]}`,
			[]string{`"functionCall":{"name":"get_weather","args":{"city":"` + ask + `","days":1}}`, `"finishReason":"STOP"`}},
	}
	for _, tt := range tests {
		body := call(t, s, http.MethodPost, tt.path, tt.body).Body.String()
		rest := body
		for _, w := range tt.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: body lacks %s (in order) in\n%s", tt.name, w, body)
				break
			}
			rest = rest[i+len(w):]
		}
	}
}
