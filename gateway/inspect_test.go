package gateway

import (
	"net/http"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/anthropic"
	"github.com/llmgw/llmgw/providers/gemini"
	"github.com/llmgw/llmgw/providers/openai"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/providers/responses"
)

// TestInspectBodyUsageIsTheProviders checks that the usage read from the
// member inspectBody picks up on its one pass is what each provider's own
// ResponseUsage reads from the whole body, on the recorded responses and on
// the edge cases of the member (absent, null, not an object, repeated).
func TestInspectBodyUsageIsTheProviders(t *testing.T) {
	type usageFunc func([]byte) (llm.Usage, bool)
	protocols := map[llm.Protocol]usageFunc{
		llm.ProtocolOpenAI:    openai.ResponseUsage,
		llm.ProtocolResponses: responses.ResponseUsage,
		llm.ProtocolAnthropic: anthropic.ResponseUsage,
		llm.ProtocolGemini:    gemini.ResponseUsage,
	}
	fixtures := map[llm.Protocol][]string{
		llm.ProtocolOpenAI: {
			"openai_cassette_chat-tools.response.200.json",
			"openai_cassette_chat-detailed-usage.response.200.json",
			"openai_cassette_chat-reasoning.response.200.json",
			"openai_cassette_chat-parallel-tools.response.200.json",
		},
		llm.ProtocolResponses: {"openai_responses_nonstream_text.response.json"},
		llm.ProtocolAnthropic: {
			"anthropic_nonstream_tool_use_response.json",
			"anthropic_nonstream_after_tool_result_response.json",
		},
		llm.ProtocolGemini: {"gemini_nonstream_text.response.json"},
	}
	for p, whole := range protocols {
		c := builtinAdapters()[p]
		member := c.UsageMember()
		bodies := []string{
			`{"id":"x"}`,
			`{"id":"x","` + member + `":null}`,
			`{"id":"x","` + member + `":5}`,
			`{"id":"x","` + member + `":"many"}`,
			`{"id":"x","` + member + `":[1,2]}`,
			`{"id":"x","` + member + `":{}}`,
			`{"id":"x","` + member + `":{"prompt_tokens":3,"input_tokens":3,"promptTokenCount":3},"` + member + `":{"prompt_tokens":9,"input_tokens":9,"promptTokenCount":9}}`,
			`{"id":"x","` + member + `":null,"` + member + `":{"prompt_tokens":9,"input_tokens":9,"promptTokenCount":9}}`,
		}
		for _, name := range fixtures[p] {
			bodies = append(bodies, string(providertest.Fixture(t, name)))
		}
		for _, body := range bodies {
			info := inspectBody([]byte(body), member, nil)
			if !info.valid || info.isErr {
				t.Fatalf("%s: inspectBody(%.60q) = %+v, want a valid success body", p, body, info)
			}
			got, gotOK := c.ParseUsage(info.usage)
			want, wantOK := whole([]byte(body))
			if got != want || gotOK != wantOK {
				t.Errorf("%s: usage of %.80q from inspectBody's member = %+v, %v; ResponseUsage = %+v, %v", p, body, got, gotOK, want, wantOK)
			}
		}
		if _, ok := c.ParseUsage(inspectBody(providertest.Fixture(t, fixtures[p][0]), member, nil).usage); !ok {
			t.Errorf("%s: no usage found in %s", p, fixtures[p][0])
		}
	}
}

// TestInspectBody covers the verdicts: JSON or not, an error delivered
// with a 2xx status or a success body that merely has an error member.
func TestInspectBody(t *testing.T) {
	for _, tc := range []struct {
		body         string
		valid, isErr bool
		status       int
		message      string
		usagePresent bool
	}{
		{body: `<html>502</html>`},
		{body: ``},
		{body: `{"id":"x",`},
		{body: `[1,2]`, valid: true},
		{body: `{"choices":[],"usage":{"prompt_tokens":1}}`, valid: true, usagePresent: true},
		{body: `{"error":{"message":"slow down","code":429}}`, valid: true, isErr: true, status: http.StatusTooManyRequests, message: "slow down"},
		{body: `{"error":{"message":"odd","code":"x"}}`, valid: true, isErr: true, status: http.StatusBadGateway, message: "odd"},
		{body: `{"error":{"message":"fine"},"choices":[]}`, valid: true},
		{body: `{"error":"a string is not an error object"}`, valid: true},
	} {
		info := inspectBody([]byte(tc.body), "usage", nil)
		if info.valid != tc.valid || info.isErr != tc.isErr || info.status != tc.status || info.message != tc.message || (info.usage != nil) != tc.usagePresent {
			t.Errorf("inspectBody(%q) = %+v, want valid %v, isErr %v, status %d, message %q, usage present %v",
				tc.body, info, tc.valid, tc.isErr, tc.status, tc.message, tc.usagePresent)
		}
	}
}
