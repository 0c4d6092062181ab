package gemini

import "strings"

// SkipSignatureSentinel is the documented thoughtSignature value that
// tells Gemini 3 to skip validation for a function call it did not issue
// (a call made by another provider, or by the client).
const SkipSignatureSentinel = "skip_thought_signature_validator"

// EffortForBudget maps a thinking budget onto a reasoning effort, by
// LiteLLM's thresholds.
func EffortForBudget(budget int) string {
	switch {
	case budget >= 16384:
		return "max"
	case budget >= 8192:
		return "xhigh"
	case budget >= 4096:
		return "high"
	case budget >= 2048:
		return "medium"
	case budget >= 1024:
		return "low"
	}
	return "minimal"
}

// family is the thinking behaviour of a Gemini model.
type family int

const (
	familyFlash family = iota // 2.5 Flash and unknown models: budget 0–24576, can disable
	familyFlashLite
	familyPro // 2.5 Pro: budget 128–32768, cannot disable
	family3   // Gemini 3: thinkingLevel, cannot disable
)

func modelFamily(model string) family {
	m := strings.TrimPrefix(strings.ToLower(model), "models/")
	switch {
	case strings.HasPrefix(m, "gemini-3"):
		return family3
	case strings.Contains(m, "flash-lite"):
		return familyFlashLite
	case strings.Contains(m, "pro"):
		return familyPro
	}
	return familyFlash
}

// budgetForEffort maps an effort onto a Gemini 2.5 thinking budget for the
// model's family; ok is false for an unknown effort.
func budgetForEffort(effort string, f family) (budget int, ok bool) {
	switch effort {
	case "none":
		if f == familyPro {
			return 128, true
		}
		return 0, true
	case "minimal":
		switch f {
		case familyPro:
			return 128, true
		case familyFlashLite:
			return 512, true
		}
		return 1, true
	case "low":
		return 1024, true
	case "medium":
		return 2048, true
	case "high":
		return 4096, true
	case "xhigh":
		return 8192, true
	case "max":
		return clampBudget(16384, f), true
	}
	return 0, false
}

func clampBudget(b int, f family) int {
	limit := 24576
	if f == familyPro {
		limit = 32768
	}
	if b > limit {
		return limit
	}
	if f == familyPro && b >= 0 && b < 128 {
		return 128
	}
	return b
}

// levelForEffort maps an effort onto a Gemini 3 thinkingLevel.
func levelForEffort(effort, model string) string {
	pro := strings.Contains(model, "pro")
	switch effort {
	case "none", "minimal":
		if pro {
			return "low"
		}
		return "minimal"
	case "low":
		return "low"
	case "medium":
		if pro {
			return "high"
		}
		return "medium"
	}
	return "high"
}
