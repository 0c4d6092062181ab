package gateway

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/llmgw/llmgw/llm"
)

// TestErrorBodyFollowsTheStatusTable checks the gateway's own errors
// against what each provider sends for each condition (status, type, and
// Gemini's gRPC status): an official client must not tell llmgw's refusal
// from its provider's.
func TestErrorBodyFollowsTheStatusTable(t *testing.T) {
	tests := []struct {
		status                  int
		openai, openaiCode      string
		anthropic, geminiStatus string
		geminiCode              int
	}{
		{400, "invalid_request_error", "", "invalid_request_error", "INVALID_ARGUMENT", 400},
		{401, "authentication_error", "", "authentication_error", "UNAUTHENTICATED", 401},
		{403, "permission_error", "", "permission_error", "PERMISSION_DENIED", 403},
		{404, "invalid_request_error", "not_found", "not_found_error", "NOT_FOUND", 404},
		{405, "invalid_request_error", "", "invalid_request_error", "UNIMPLEMENTED", 405},
		{408, "invalid_request_error", "", "invalid_request_error", "DEADLINE_EXCEEDED", 408},
		{413, "invalid_request_error", "", "request_too_large", "INVALID_ARGUMENT", 413},
		{429, "rate_limit_error", "", "rate_limit_error", "RESOURCE_EXHAUSTED", 429},
		{499, "invalid_request_error", "", "invalid_request_error", "CANCELLED", 499},
		{500, "server_error", "", "api_error", "INTERNAL", 500},
		{502, "server_error", "", "api_error", "INTERNAL", 502},
		{503, "service_unavailable_error", "", "overloaded_error", "UNAVAILABLE", 503},
		{504, "server_error", "", "timeout_error", "DEADLINE_EXCEEDED", 504},
		{529, "service_unavailable_error", "", "overloaded_error", "UNAVAILABLE", 503},
	}
	for _, tt := range tests {
		e := errorf(tt.status, "condition %d", tt.status)
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			for _, p := range []llm.Protocol{llm.ProtocolOpenAI, llm.ProtocolResponses} {
				var got struct {
					Error struct {
						Message, Type string
						Param, Code   *string
					}
				}
				decode(t, errorBody(builtinAdapters()[p], e), &got)
				code := ""
				if got.Error.Code != nil {
					code = *got.Error.Code
				}
				if got.Error.Type != tt.openai || code != tt.openaiCode || got.Error.Message != e.Message || got.Error.Param != nil {
					t.Errorf("%s: type, code, message, param = %q, %q, %q, %v; want %q, %q, %q, null",
						p, got.Error.Type, code, got.Error.Message, got.Error.Param, tt.openai, tt.openaiCode, e.Message)
				}
			}
			var an struct {
				Type  string
				Error struct{ Type, Message string }
			}
			decode(t, errorBody(builtinAdapters()[llm.ProtocolAnthropic], e), &an)
			if an.Type != "error" || an.Error.Type != tt.anthropic || an.Error.Message != e.Message {
				t.Errorf("anthropic: %+v, want type error, error.type %q", an, tt.anthropic)
			}
			var ge struct {
				Error struct {
					Code            int
					Message, Status string
				}
			}
			decode(t, errorBody(builtinAdapters()[llm.ProtocolGemini], e), &ge)
			if ge.Error.Code != tt.geminiCode || ge.Error.Status != tt.geminiStatus || ge.Error.Message != e.Message {
				t.Errorf("gemini: %+v, want code %d, status %q", ge.Error, tt.geminiCode, tt.geminiStatus)
			}
		})
	}
}

// TestErrorBodyKeepsTheCode checks that an OpenAI error code the gateway
// sets (model_not_found) reaches the client.
func TestErrorBodyKeepsTheCode(t *testing.T) {
	e := errorf(http.StatusNotFound, "model %q not found", "x")
	e.Code = "model_not_found"
	want := `{"error":{"message":"model \"x\" not found","type":"invalid_request_error","param":null,"code":"model_not_found"}}`
	if got := string(errorBody(builtinAdapters()[llm.ProtocolOpenAI], e)); got != want {
		t.Errorf("errorBody = %s\nwant %s", got, want)
	}
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
}
