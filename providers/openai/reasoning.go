package openai

// effortForBudget derives a reasoning_effort from a thinking budget
// (LiteLLM's reasoning_effort_from_thinking_budget thresholds),
// clamped to the efforts chat completions accepts.
func effortForBudget(budget int) string {
	switch {
	case budget < 0:
		return "medium" // dynamic
	case budget >= 8192:
		return "high" // xhigh and max are not accepted by every model
	case budget >= 4096:
		return "high"
	case budget >= 2048:
		return "medium"
	case budget >= 1024:
		return "low"
	}
	return "minimal"
}

// effortOf maps a neutral effort to a chat completions reasoning_effort.
func effortOf(effort string) string {
	switch effort {
	case "max":
		return "xhigh"
	}
	return effort
}
