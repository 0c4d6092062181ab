package gateway

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/llm"
)

// policyModels lists the model names the policy can reach: the keys (and
// targets) of every provider's models map, and the demo provider's names.
func policyModels(pol *engine.Policy) []string {
	seen := map[string]bool{}
	for _, p := range pol.Providers {
		for k := range p.Models {
			seen[k] = true
		}
		if p.Kind == "demo" && len(p.Models) == 0 {
			seen["demo"] = true
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// listModels answers GET /v1/models in OpenAI's shape, or Anthropic's when
// the client sent anthropic-version (Claude Code's model discovery).
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	proto := llm.ProtocolOpenAI
	if r.Header.Get("anthropic-version") != "" {
		proto = llm.ProtocolAnthropic
	}
	pol := s.cfg.Policies.Policy()
	if _, herr := authenticate(r, pol); herr != nil {
		writeError(w, proto, herr)
		return
	}
	models := policyModels(pol)
	if one := chi.URLParam(r, "model"); one != "" {
		if !contains(models, one) {
			writeError(w, proto, errorf(http.StatusNotFound, "model %q not found", one))
			return
		}
		models = []string{one}
	}
	created := s.now().Unix()
	if proto == llm.ProtocolAnthropic {
		data := make([]map[string]any, 0, len(models))
		for _, m := range models {
			data = append(data, map[string]any{"type": "model", "id": m, "display_name": m, "created_at": time.Unix(created, 0).UTC().Format(time.RFC3339)})
		}
		if chi.URLParam(r, "model") != "" && len(data) == 1 {
			writeJSON(w, 200, data[0])
			return
		}
		resp := map[string]any{"data": data, "has_more": false, "first_id": nil, "last_id": nil}
		if len(models) > 0 {
			resp["first_id"], resp["last_id"] = models[0], models[len(models)-1]
		}
		writeJSON(w, 200, resp)
		return
	}
	data := make([]map[string]any, 0, len(models))
	for _, m := range models {
		data = append(data, map[string]any{"id": m, "object": "model", "created": created, "owned_by": "llmgw"})
	}
	if chi.URLParam(r, "model") != "" && len(data) == 1 {
		writeJSON(w, 200, data[0])
		return
	}
	writeJSON(w, 200, map[string]any{"object": "list", "data": data})
}

// listGeminiModels answers GET /v1beta/models in Gemini's shape.
func (s *Server) listGeminiModels(w http.ResponseWriter, r *http.Request) {
	pol := s.cfg.Policies.Policy()
	if _, herr := authenticate(r, pol); herr != nil {
		writeError(w, llm.ProtocolGemini, herr)
		return
	}
	models := policyModels(pol)
	one := strings.TrimPrefix(chi.URLParam(r, "model"), "models/")
	list := make([]map[string]any, 0, len(models))
	for _, m := range models {
		if one != "" && m != one {
			continue
		}
		list = append(list, map[string]any{
			"name": "models/" + m, "version": "001", "displayName": m,
			"inputTokenLimit": 1048576, "outputTokenLimit": 65536,
			"supportedGenerationMethods": []string{"generateContent", "streamGenerateContent", "countTokens"},
		})
	}
	if one != "" {
		if len(list) == 0 {
			writeError(w, llm.ProtocolGemini, errorf(http.StatusNotFound, "model %q not found", one))
			return
		}
		writeJSON(w, 200, list[0])
		return
	}
	writeJSON(w, 200, map[string]any{"models": list})
}
