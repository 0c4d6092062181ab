package demo

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// serveGemini dispatches the Gemini surface; rest is the path after
// "/v1beta/".
func (s *Server) serveGemini(w http.ResponseWriter, r *http.Request, rest string) {
	const proto = llm.ProtocolGemini
	if rest == "models" {
		if method(w, r, proto, http.MethodGet) {
			s.writeJSON(w, r, 0, geminiModelList{Models: geminiModels()})
		}
		return
	}
	name, ok := strings.CutPrefix(rest, "models/")
	if !ok || name == "" {
		notFound(w, r, proto)
		return
	}
	model, action, _ := strings.Cut(name, ":")
	if action == "" {
		if method(w, r, proto, http.MethodGet) {
			s.writeJSON(w, r, 0, geminiModel(model))
		}
		return
	}
	if !method(w, r, proto, http.MethodPost) {
		return
	}
	switch action {
	case "generateContent":
		s.generateContent(w, r, model, false)
	case "streamGenerateContent":
		s.generateContent(w, r, model, true)
	case "countTokens":
		s.geminiCountTokens(w, r)
	case "embedContent":
		s.embedContent(w, r)
	case "batchEmbedContents":
		s.batchEmbedContents(w, r)
	default:
		notFound(w, r, proto)
	}
}

type geminiModelInfo struct {
	Name                       string   `json:"name"`
	Version                    string   `json:"version"`
	DisplayName                string   `json:"displayName"`
	Description                string   `json:"description"`
	InputTokenLimit            int      `json:"inputTokenLimit"`
	OutputTokenLimit           int      `json:"outputTokenLimit"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}

type geminiModelList struct {
	Models []geminiModelInfo `json:"models"`
}

func geminiModel(id string) geminiModelInfo {
	methods := []string{"generateContent", "streamGenerateContent", "countTokens"}
	if strings.Contains(id, "embedding") {
		methods = []string{"embedContent", "batchEmbedContents"}
	}
	return geminiModelInfo{
		Name: "models/" + id, Version: "001", DisplayName: "llmgw demo (" + id + ")",
		Description:     "llmgw's offline demo provider: deterministic replies, no network.",
		InputTokenLimit: 1 << 20, OutputTokenLimit: 1 << 16, SupportedGenerationMethods: methods,
	}
}

func geminiModels() []geminiModelInfo {
	out := make([]geminiModelInfo, len(models))
	for i, id := range models {
		out[i] = geminiModel(id)
	}
	return out
}

type geminiError struct {
	Error geminiErrorBody `json:"error"`
}

type geminiErrorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

// geminiStatus is the gRPC status name Google's APIs pair with an HTTP
// status.
func geminiStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusMethodNotAllowed:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	return "INTERNAL"
}

type geminiContent struct {
	Role  string `json:"role"`
	Parts []struct {
		Text         string `json:"text"`
		FunctionCall *struct {
			Name string          `json:"name"`
			Args json.RawMessage `json:"args"`
		} `json:"functionCall"`
		FunctionResponse *struct {
			Name     string          `json:"name"`
			Response json.RawMessage `json:"response"`
		} `json:"functionResponse"`
	} `json:"parts"`
}

// texts returns the content's texts, and separately those of its text
// parts.
func (c *geminiContent) texts() (all, text []string) {
	for _, p := range c.Parts {
		if p.Text != "" {
			all, text = append(all, p.Text), append(text, p.Text)
		}
		if fc := p.FunctionCall; fc != nil {
			all = append(all, fc.Name, string(fc.Args))
		}
		if fr := p.FunctionResponse; fr != nil {
			all = append(all, fr.Name, string(fr.Response))
		}
	}
	return all, text
}

// geminiRequest is the part of a generateContent (or countTokens) request
// the demo reads.
type geminiRequest struct {
	Contents          []geminiContent `json:"contents"`
	SystemInstruction *geminiContent  `json:"systemInstruction"`
	GenerationConfig  struct {
		MaxOutputTokens int `json:"maxOutputTokens"`
	} `json:"generationConfig"`
	// GenerateContentRequest is countTokens' alternative to Contents.
	GenerateContentRequest *geminiRequest `json:"generateContentRequest"`
	Tools                  []struct {
		FunctionDeclarations []struct {
			Name                 string          `json:"name"`
			Parameters           json.RawMessage `json:"parameters"`
			ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	ToolConfig struct {
		FunctionCallingConfig struct {
			Mode                 string   `json:"mode"`
			AllowedFunctionNames []string `json:"allowedFunctionNames"`
		} `json:"functionCallingConfig"`
	} `json:"toolConfig"`
}

func (g *geminiRequest) prompt(model string) *prompt {
	p := &prompt{model: model, maxTokens: g.GenerationConfig.MaxOutputTokens}
	if g.SystemInstruction != nil {
		all, _ := g.SystemInstruction.texts()
		p.texts = append(p.texts, all...)
	}
	for i := range g.Contents {
		all, text := g.Contents[i].texts()
		p.texts = append(p.texts, all...)
		role := g.Contents[i].Role
		if (role == "user" || role == "") && len(text) > 0 {
			p.last = join(text)
		}
		p.lastIsUser = (role == "user" || role == "") && len(text) > 0
	}
	for _, t := range g.Tools {
		for _, d := range t.FunctionDeclarations {
			schema := d.Parameters
			if len(schema) == 0 {
				schema = d.ParametersJSONSchema
			}
			p.tools = append(p.tools, tool{name: d.Name, schema: schema})
		}
	}
	switch fc := g.ToolConfig.FunctionCallingConfig; fc.Mode {
	case "NONE":
		p.force = forceNone
	case "ANY":
		p.force = forceAny
		if len(fc.AllowedFunctionNames) == 1 {
			p.force = fc.AllowedFunctionNames[0]
		}
	}
	return p
}

type geminiResponse struct {
	Candidates    []geminiCandidate `json:"candidates"`
	UsageMetadata geminiUsage       `json:"usageMetadata"`
	ModelVersion  string            `json:"modelVersion"`
	ResponseID    string            `json:"responseId"`
}

type geminiCandidate struct {
	Content struct {
		Parts []geminiText `json:"parts"`
		Role  string       `json:"role"`
	} `json:"content"`
	FinishReason string `json:"finishReason,omitempty"`
	Index        int    `json:"index"`
}

// geminiText is a text or functionCall part.
type geminiText struct {
	Text         *string         `json:"text,omitempty"`
	FunctionCall *geminiFuncCall `json:"functionCall,omitempty"`
}

type geminiFuncCall struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type geminiUsage struct {
	PromptTokenCount     int             `json:"promptTokenCount"`
	CandidatesTokenCount int             `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount      int             `json:"totalTokenCount"`
	PromptTokensDetails  []modalityCount `json:"promptTokensDetails,omitempty"`
}

type modalityCount struct {
	Modality   string `json:"modality"`
	TokenCount int    `json:"tokenCount"`
}

func newGeminiUsage(in, out int) geminiUsage {
	return geminiUsage{PromptTokenCount: in, CandidatesTokenCount: out, TotalTokenCount: in + out,
		PromptTokensDetails: []modalityCount{{Modality: "TEXT", TokenCount: in}}}
}

// geminiChunk returns a response carrying part.
func geminiChunk(part geminiText, finish, model, id string, usage geminiUsage) geminiResponse {
	c := geminiCandidate{FinishReason: finish}
	c.Content.Parts, c.Content.Role = []geminiText{part}, "model"
	return geminiResponse{Candidates: []geminiCandidate{c}, UsageMetadata: usage, ModelVersion: model, ResponseID: id}
}

// generateContent serves generateContent and streamGenerateContent: with
// ?alt=sse a stream of data: events, otherwise a JSON array of the chunks
// written as they are generated.
func (s *Server) generateContent(w http.ResponseWriter, r *http.Request, model string, streaming bool) {
	var req geminiRequest
	if err := decode(r, &req); err != nil {
		writeError(w, llm.ProtocolGemini, err)
		return
	}
	p := req.prompt(model)
	rep, f := s.answer("gemini", p)
	finish := "STOP"
	if rep.truncated {
		finish = "MAX_TOKENS"
	}
	in, id := p.inputTokens(), f.id("", 24)
	parts := make([]geminiText, len(rep.chunks))
	whole := geminiText{Text: &rep.text}
	for i := range rep.chunks {
		parts[i].Text = &rep.chunks[i]
	}
	out := rep.tokens
	if call := p.toolCall(); call != nil {
		// Gemini sends a call whole, in one chunk, and finishes with STOP.
		whole = geminiText{FunctionCall: &geminiFuncCall{Name: call.name, Args: json.RawMessage(call.args)}}
		parts, finish, out = []geminiText{whole}, "STOP", call.tokens()
	}
	if !streaming {
		s.writeJSON(w, r, len(rep.chunks), geminiChunk(whole, finish, model, id, newGeminiUsage(in, out)))
		return
	}
	sseMode := r.URL.Query().Get("alt") == "sse"
	contentType := "application/json; charset=UTF-8"
	if sseMode {
		contentType = "text/event-stream"
	}
	st := s.startStream(w, r, contentType)
	sofar := 0
	for i, part := range parts {
		if part.Text != nil {
			sofar += CountTokens(*part.Text)
		}
		fr := ""
		if i == len(parts)-1 {
			fr, sofar = finish, out
		}
		chunk := geminiChunk(part, fr, model, id, newGeminiUsage(in, sofar))
		if sseMode {
			st.content("", chunk)
			continue
		}
		if !st.pace() {
			return
		}
		sep := ",\r\n"
		if i == 0 {
			sep = "["
		}
		b, _ := json.Marshal(chunk)
		st.raw(append([]byte(sep), b...))
	}
	if !sseMode {
		st.raw([]byte("]"))
	}
}

func (s *Server) geminiCountTokens(w http.ResponseWriter, r *http.Request) {
	var req geminiRequest
	if err := decode(r, &req); err != nil {
		writeError(w, llm.ProtocolGemini, err)
		return
	}
	if req.GenerateContentRequest != nil {
		req = *req.GenerateContentRequest
	}
	n := req.prompt("").inputTokens()
	s.writeJSON(w, r, 0, struct {
		TotalTokens         int             `json:"totalTokens"`
		PromptTokensDetails []modalityCount `json:"promptTokensDetails"`
	}{n, []modalityCount{{Modality: "TEXT", TokenCount: n}}})
}

// embedRequest is an embedContent request, or one of batchEmbedContents'.
type embedRequest struct {
	Content              geminiContent `json:"content"`
	OutputDimensionality int           `json:"outputDimensionality"`
}

type geminiEmbedding struct {
	Values []float32 `json:"values"`
}

func (s *Server) geminiVector(e *embedRequest) (geminiEmbedding, *llm.Error) {
	all, _ := e.Content.texts()
	dims, err := dimensions(e.OutputDimensionality)
	if err != nil {
		return geminiEmbedding{}, err
	}
	return geminiEmbedding{Values: vector(s.cfg.Seed, join(all), dims)}, nil
}

func (s *Server) embedContent(w http.ResponseWriter, r *http.Request) {
	var req embedRequest
	if err := decode(r, &req); err != nil {
		writeError(w, llm.ProtocolGemini, err)
		return
	}
	v, verr := s.geminiVector(&req)
	if verr != nil {
		writeError(w, llm.ProtocolGemini, verr)
		return
	}
	s.writeJSON(w, r, 0, struct {
		Embedding geminiEmbedding `json:"embedding"`
	}{v})
}

func (s *Server) batchEmbedContents(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Requests []embedRequest `json:"requests"`
	}
	if err := decode(r, &req); err != nil {
		writeError(w, llm.ProtocolGemini, err)
		return
	}
	out := struct {
		Embeddings []geminiEmbedding `json:"embeddings"`
	}{make([]geminiEmbedding, len(req.Requests))}
	for i := range req.Requests {
		v, verr := s.geminiVector(&req.Requests[i])
		if verr != nil {
			writeError(w, llm.ProtocolGemini, verr)
			return
		}
		out.Embeddings[i] = v
	}
	s.writeJSON(w, r, 0, out)
}
