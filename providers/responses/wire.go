package responses

import "encoding/json"

type wireRequest struct {
	Model             string            `json:"model"`
	Instructions      json.RawMessage   `json:"instructions,omitempty"`
	Input             json.RawMessage   `json:"input,omitempty"`
	Tools             []json.RawMessage `json:"tools,omitempty"`
	ToolChoice        json.RawMessage   `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool             `json:"parallel_tool_calls,omitempty"`
	MaxOutputTokens   int               `json:"max_output_tokens,omitempty"`
	Temperature       *float64          `json:"temperature,omitempty"`
	TopP              *float64          `json:"top_p,omitempty"`
	Reasoning         *wireReasoning    `json:"reasoning,omitempty"`
	Text              *wireText         `json:"text,omitempty"`
	Stream            bool              `json:"stream,omitempty"`
	User              string            `json:"user,omitempty"`
}

type wireReasoning struct {
	Effort  string `json:"effort,omitempty"`
	Summary string `json:"summary,omitempty"`
}

type wireText struct {
	Format    *wireFormat `json:"format,omitempty"`
	Verbosity string      `json:"verbosity,omitempty"`
}

type wireFormat struct {
	Type   string          `json:"type"`
	Name   string          `json:"name,omitempty"`
	Schema json.RawMessage `json:"schema,omitempty"`
	Strict *bool           `json:"strict,omitempty"`
}

type wireTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
	// Tools are a namespace tool's members.
	Tools []json.RawMessage `json:"tools,omitempty"`
}

// item is an input or output item; Type says which fields matter.
type item struct {
	Type             string          `json:"type,omitempty"`
	ID               string          `json:"id,omitempty"`
	Role             string          `json:"role,omitempty"`
	Status           string          `json:"status,omitempty"`
	Content          json.RawMessage `json:"content,omitempty"`
	CallID           string          `json:"call_id,omitempty"`
	Name             string          `json:"name,omitempty"`
	Namespace        string          `json:"namespace,omitempty"`
	Arguments        *string         `json:"arguments,omitempty"`
	Input            *string         `json:"input,omitempty"`
	Output           json.RawMessage `json:"output,omitempty"`
	Summary          []summaryPart   `json:"summary,omitempty"`
	EncryptedContent string          `json:"encrypted_content,omitempty"`
}

type summaryPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// contentPart is a part of a message item's content.
type contentPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text,omitempty"`
	Refusal  string          `json:"refusal,omitempty"`
	ImageURL string          `json:"image_url,omitempty"`
	FileID   string          `json:"file_id,omitempty"`
	FileData string          `json:"file_data,omitempty"`
	FileURL  string          `json:"file_url,omitempty"`
	Filename string          `json:"filename,omitempty"`
	Detail   string          `json:"detail,omitempty"`
	Raw      json.RawMessage `json:"-"`
}

type wireUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens,omitempty"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

type wireError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Type    string  `json:"type,omitempty"`
	Param   *string `json:"param,omitempty"`
}

type incompleteDetails struct {
	Reason string `json:"reason"`
}

// wireResponse is the response object of non-stream bodies and of the
// response.* stream events.
type wireResponse struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	CreatedAt         int64              `json:"created_at"`
	Status            string             `json:"status"`
	Error             *wireError         `json:"error"`
	IncompleteDetails *incompleteDetails `json:"incomplete_details"`
	Model             string             `json:"model"`
	Output            []json.RawMessage  `json:"output"`
	ParallelToolCalls bool               `json:"parallel_tool_calls"`
	ToolChoice        json.RawMessage    `json:"tool_choice,omitempty"`
	Tools             []json.RawMessage  `json:"tools"`
	Usage             *wireUsage         `json:"usage"`
}
