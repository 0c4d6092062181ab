package gemini

import (
	"encoding/json"
	"testing"

	"github.com/llmgw/llmgw/llm"
)

func TestThinkingConfig(t *testing.T) {
	tests := []struct {
		model string
		r     llm.Reasoning
		want  string
	}{
		{"gemini-2.5-flash", llm.Reasoning{Effort: "none"}, `{"thinkingBudget":0}`},
		{"gemini-2.5-pro", llm.Reasoning{Effort: "none"}, `{"thinkingBudget":128}`},
		{"gemini-2.5-flash-lite", llm.Reasoning{Effort: "minimal"}, `{"thinkingBudget":512}`},
		{"gemini-2.5-flash", llm.Reasoning{Effort: "low"}, `{"thinkingBudget":1024}`},
		{"gemini-2.5-flash", llm.Reasoning{Effort: "high", IncludeThoughts: true}, `{"includeThoughts":true,"thinkingBudget":4096}`},
		{"gemini-2.5-flash", llm.Reasoning{Effort: "max"}, `{"thinkingBudget":16384}`},
		{"gemini-2.5-flash", llm.Reasoning{BudgetTokens: 100000}, `{"thinkingBudget":24576}`},
		{"gemini-2.5-pro", llm.Reasoning{BudgetTokens: 100000}, `{"thinkingBudget":32768}`},
		{"gemini-2.5-flash", llm.Reasoning{BudgetTokens: -1}, `{"thinkingBudget":-1}`},
		{"gemini-2.5-flash", llm.Reasoning{Disabled: true, BudgetTokens: 2000}, `{"thinkingBudget":0}`},
		{"gemini-3-pro-preview", llm.Reasoning{Effort: "medium"}, `{"thinkingLevel":"HIGH"}`},
		{"gemini-3-flash", llm.Reasoning{Effort: "minimal"}, `{"thinkingLevel":"MINIMAL"}`},
		{"gemini-3-flash", llm.Reasoning{BudgetTokens: 2048}, `{"thinkingLevel":"MEDIUM"}`},
		{"gemini-2.5-flash", llm.Reasoning{IncludeThoughts: true}, `{"includeThoughts":true}`},
		{"gemini-2.5-flash", llm.Reasoning{}, `null`},
	}
	for _, tt := range tests {
		r := tt.r
		e := &requestEncoder{req: &llm.Request{Model: tt.model, Reasoning: &r}}
		got, _ := json.Marshal(e.thinking())
		if string(got) != tt.want {
			t.Errorf("thinking(%s, %+v) = %s, want %s", tt.model, tt.r, got, tt.want)
		}
	}
}

func TestEffortForBudget(t *testing.T) {
	for budget, want := range map[int]string{0: "minimal", 1024: "low", 2048: "medium", 4096: "high", 8192: "xhigh", 20000: "max"} {
		if got := EffortForBudget(budget); got != want {
			t.Errorf("EffortForBudget(%d) = %q, want %q", budget, got, want)
		}
	}
}
