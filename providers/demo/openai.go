package demo

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// serveOpenAI dispatches the OpenAI surface: chat completions, responses,
// embeddings and models.
func (s *Server) serveOpenAI(w http.ResponseWriter, r *http.Request) {
	const proto = llm.ProtocolOpenAI
	switch p := r.URL.Path; {
	case p == "/v1/chat/completions":
		if method(w, r, proto, http.MethodPost) {
			s.chatCompletions(w, r)
		}
	case p == "/v1/responses":
		if method(w, r, proto, http.MethodPost) {
			s.responses(w, r)
		}
	case p == "/v1/embeddings":
		if method(w, r, proto, http.MethodPost) {
			s.embeddings(w, r)
		}
	case p == "/v1/models":
		if method(w, r, proto, http.MethodGet) {
			s.writeJSON(w, r, 0, openAIModelList{Object: "list", Data: openAIModels()})
		}
	case strings.HasPrefix(p, "/v1/models/"):
		if method(w, r, proto, http.MethodGet) {
			s.writeJSON(w, r, 0, openAIModel{ID: strings.TrimPrefix(p, "/v1/models/"), Object: "model", Created: created, OwnedBy: owner})
		}
	default:
		notFound(w, r, proto)
	}
}

// owner is the owned_by of the demo models.
const owner = "llmgw-demo"

// Models are the model ids the demo provider lists. It answers any model
// name; these are the ones it advertises.
var models = [...]string{"demo", "demo-embedding"}

func openAIModels() []openAIModel {
	out := make([]openAIModel, len(models))
	for i, id := range models {
		out[i] = openAIModel{ID: id, Object: "model", Created: created, OwnedBy: owner}
	}
	return out
}

type openAIModelList struct {
	Object string        `json:"object"`
	Data   []openAIModel `json:"data"`
}

type openAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type openAIError struct {
	Error openAIErrorBody `json:"error"`
}

type openAIErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func openAIErrorType(e *llm.Error) string {
	switch e.Type {
	case llm.ErrAuthentication:
		return "authentication_error"
	case llm.ErrPermission:
		return "permission_error"
	case llm.ErrRateLimit:
		return "rate_limit_error"
	case llm.ErrAPI, llm.ErrOverloaded, llm.ErrTimeout:
		return "server_error"
	}
	return "invalid_request_error"
}

// chatRequest is the part of a chat completions request the demo reads.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role      string          `json:"role"`
		Content   json.RawMessage `json:"content"`
		ToolCalls []struct {
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int `json:"max_tokens"`
	MaxCompletionTokens int `json:"max_completion_tokens"`
	Tools               []struct {
		Function struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice json.RawMessage `json:"tool_choice"`
}

func (c *chatRequest) prompt() *prompt {
	p := &prompt{model: c.Model, maxTokens: c.MaxCompletionTokens}
	if p.maxTokens == 0 {
		p.maxTokens = c.MaxTokens
	}
	for _, m := range c.Messages {
		t := texts(m.Content)
		p.texts = append(p.texts, t...)
		for _, tc := range m.ToolCalls {
			p.texts = append(p.texts, tc.Function.Name, tc.Function.Arguments)
		}
		if m.Role == "user" {
			p.last = join(t)
		}
		p.lastIsUser = m.Role == "user"
	}
	for _, t := range c.Tools {
		p.tools = append(p.tools, tool{name: t.Function.Name, schema: t.Function.Parameters})
	}
	p.force = openAIForce(c.ToolChoice)
	return p
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []chatChoice `json:"choices"`
	Usage             *chatUsage   `json:"usage,omitempty"`
	ServiceTier       string       `json:"service_tier"`
	SystemFingerprint *string      `json:"system_fingerprint"`
}

type chatChoice struct {
	Index        int          `json:"index"`
	Message      *chatMessage `json:"message,omitempty"`
	Delta        *chatMessage `json:"delta,omitempty"`
	Logprobs     *struct{}    `json:"logprobs"`
	FinishReason *string      `json:"finish_reason"`
}

type chatMessage struct {
	Role        string         `json:"role,omitempty"`
	Content     *string        `json:"content,omitempty"`
	Refusal     *string        `json:"refusal,omitempty"`
	Annotations *[]string      `json:"annotations,omitempty"`
	ToolCalls   []chatToolCall `json:"tool_calls,omitempty"`
}

type chatToolCall struct {
	Index    *int   `json:"index,omitempty"` // stream deltas only
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
		AudioTokens  int `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens          int `json:"reasoning_tokens"`
		AudioTokens              int `json:"audio_tokens"`
		AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
	} `json:"completion_tokens_details"`
}

func newChatUsage(in, out int) *chatUsage {
	return &chatUsage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out}
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := decode(r, &req); err != nil {
		writeError(w, llm.ProtocolOpenAI, err)
		return
	}
	p := req.prompt()
	rep, f := s.answer("openai", p)
	call := p.toolCall()
	finish, out := "stop", rep.tokens
	switch {
	case call != nil:
		finish, out = "tool_calls", call.tokens()
	case rep.truncated:
		finish = "length"
	}
	base := chatCompletion{
		ID: f.id("chatcmpl-", 29), Created: created, Model: p.model,
		ServiceTier: "default",
	}
	w.Header().Set("X-Request-Id", f.id("req_", 32))
	var tc chatToolCall
	if call != nil {
		tc.ID, tc.Type, tc.Function.Name, tc.Function.Arguments = f.id("call_", 24), "function", call.name, call.args
	}
	if !req.Stream {
		base.Object = "chat.completion"
		msg := &chatMessage{Role: "assistant", Content: &rep.text, Annotations: &[]string{}}
		if call != nil {
			msg.Content, msg.ToolCalls = nil, []chatToolCall{tc}
		}
		base.Choices = []chatChoice{{Message: msg, FinishReason: &finish}}
		base.Usage = newChatUsage(p.inputTokens(), out)
		s.writeJSON(w, r, len(rep.chunks), base)
		return
	}
	base.Object = "chat.completion.chunk"
	st := s.startStream(w, r, "text/event-stream; charset=utf-8")
	chunk := func(delta *chatMessage, finish *string) chatCompletion {
		c := base
		c.Choices = []chatChoice{{Delta: delta, FinishReason: finish}}
		return c
	}
	empty := ""
	st.event("", chunk(&chatMessage{Role: "assistant", Content: &empty}, nil))
	if call != nil {
		// As OpenAI streams a call: id, type and name once, then arguments.
		zero, head, args := 0, tc, chatToolCall{}
		head.Index, head.Function.Arguments = &zero, ""
		args.Index, args.Function.Arguments = &zero, tc.Function.Arguments
		st.content("", chunk(&chatMessage{ToolCalls: []chatToolCall{head}}, nil))
		st.content("", chunk(&chatMessage{ToolCalls: []chatToolCall{args}}, nil))
	} else {
		for i := range rep.chunks {
			st.content("", chunk(&chatMessage{Content: &rep.chunks[i]}, nil))
		}
	}
	st.event("", chunk(&chatMessage{}, &finish))
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		c := base
		c.Choices = []chatChoice{}
		c.Usage = newChatUsage(p.inputTokens(), out)
		st.event("", c)
	}
	st.raw([]byte("data: [DONE]\n\n"))
}

// embeddingsRequest is an OpenAI embeddings request.
type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	Dimensions     int             `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
}

// Embedding lengths: the default when the request does not say, and the
// most a request may ask for (OpenAI's largest model has 3072).
const (
	defaultDims = 256
	maxDims     = 4096
)

// dimensions resolves a requested embedding length (0: the default).
func dimensions(n int) (int, *llm.Error) {
	switch {
	case n == 0:
		return defaultDims, nil
	case n < 0 || n > maxDims:
		return 0, llm.Errorf(http.StatusBadRequest, llm.ErrInvalidRequest,
			"embedding dimensions must be between 1 and %d, not %d", maxDims, n)
	}
	return n, nil
}

// inputs returns the texts to embed: input is a string, an array of
// strings, an array of token ids or an array of such arrays (token ids are
// embedded by their decimal text).
func (e *embeddingsRequest) inputs() ([]string, bool) {
	var one string
	if json.Unmarshal(e.Input, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(e.Input, &many) == nil && len(many) > 0 {
		return many, true
	}
	var ids []int
	if json.Unmarshal(e.Input, &ids) == nil && len(ids) > 0 {
		return []string{idText(e.Input)}, true
	}
	var idss []json.RawMessage
	if json.Unmarshal(e.Input, &idss) == nil && len(idss) > 0 {
		out := make([]string, len(idss))
		for i, ids := range idss {
			out[i] = idText(ids)
		}
		return out, true
	}
	return nil, false
}

type embeddingList struct {
	Object string      `json:"object"`
	Data   []embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string of little-endian float32s
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingsRequest
	if err := decode(r, &req); err != nil {
		writeError(w, llm.ProtocolOpenAI, err)
		return
	}
	in, ok := req.inputs()
	if !ok {
		writeError(w, llm.ProtocolOpenAI, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest,
			Message: "'$.input' is invalid: it must be a string, an array of strings or of token ids", Param: "input"})
		return
	}
	dims, errDims := dimensions(req.Dimensions)
	if errDims != nil {
		errDims.Param = "dimensions"
		writeError(w, llm.ProtocolOpenAI, errDims)
		return
	}
	list := embeddingList{Object: "list", Model: req.Model, Data: make([]embedding, len(in))}
	for i, text := range in {
		v := vector(s.cfg.Seed, text, dims)
		var enc any = v
		if req.EncodingFormat == "base64" {
			enc = base64Floats(v)
		}
		list.Data[i] = embedding{Object: "embedding", Index: i, Embedding: enc}
		list.Usage.PromptTokens += max(CountTokens(text), 1)
	}
	list.Usage.TotalTokens = list.Usage.PromptTokens
	s.writeJSON(w, r, 0, list)
}

// idText turns a JSON array of token ids into their decimal texts separated
// by spaces, which CountTokens counts as one token each.
func idText(ids json.RawMessage) string {
	return strings.TrimSpace(strings.NewReplacer("[", " ", "]", " ", ",", " ").Replace(string(ids)))
}
