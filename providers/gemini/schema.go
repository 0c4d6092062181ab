package gemini

import (
	"bytes"
	"encoding/json"
	"strings"
)

// camelize rewrites the snake_case object keys of a proto-JSON body
// (system_instruction, function_call, inline_data…) to camelCase, leaving
// user data alone: function arguments and responses and JSON schemas are
// copied verbatim. Bodies without an underscore are returned as they are.
// Invalid JSON is returned unchanged for the caller to reject.
func camelize(body []byte) []byte {
	if bytes.IndexByte(body, '_') < 0 {
		return body
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return body
	}
	if !camelizeValue(v) {
		return body
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}

// opaqueKeys hold user data whose keys must not be rewritten.
var opaqueKeys = map[string]bool{
	"args": true, "response": true, "parameters": true,
	"parametersJsonSchema": true, "responseSchema": true,
	"responseJsonSchema": true, "labels": true,
}

// camelizeValue rewrites v in place and reports whether anything changed.
func camelizeValue(v any) bool {
	changed := false
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			nk := k
			if strings.IndexByte(k, '_') > 0 {
				nk = snakeToCamel(k)
				delete(t, k)
				t[nk] = val
				changed = true
			}
			if !opaqueKeys[nk] && camelizeValue(val) {
				changed = true
			}
		}
	case []any:
		for _, e := range t {
			if camelizeValue(e) {
				changed = true
			}
		}
	}
	return changed
}

func snakeToCamel(s string) string {
	var b strings.Builder
	up := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			up = true
		case up && 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
			up = false
		default:
			b.WriteByte(c)
			up = false
		}
	}
	return b.String()
}

// openAPIToJSONSchema turns a Gemini OpenAPI-subset schema (type "OBJECT",
// nullable) into JSON Schema (type "object"). It is a close subset
// already; only the type names differ in case.
func openAPIToJSONSchema(raw json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	v = walkSchema(v, func(m map[string]any) {
		if t, ok := m["type"].(string); ok {
			m["type"] = strings.ToLower(t)
		}
		if n, _ := m["nullable"].(bool); n {
			if t, ok := m["type"].(string); ok {
				m["type"] = []any{t, "null"}
			}
			delete(m, "nullable")
		}
	})
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

// walkSchema calls fn on every schema object of a JSON Schema, children
// first.
func walkSchema(v any, fn func(map[string]any)) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for k, p := range props {
			props[k] = walkSchema(p, fn)
		}
	}
	for _, k := range []string{"items", "additionalProperties", "not"} {
		if sub, ok := m[k]; ok {
			m[k] = walkSchema(sub, fn)
		}
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf", "prefixItems"} {
		if list, ok := m[k].([]any); ok {
			for i, sub := range list {
				list[i] = walkSchema(sub, fn)
			}
		}
	}
	for _, k := range []string{"$defs", "definitions"} {
		if defs, ok := m[k].(map[string]any); ok {
			for name, sub := range defs {
				defs[name] = walkSchema(sub, fn)
			}
		}
	}
	fn(m)
	return m
}

// openAPIKeys is what Gemini's parameters (an OpenAPI 3.0 subset Schema)
// accepts; everything else is a 400.
var openAPIKeys = map[string]bool{
	"type": true, "format": true, "title": true, "description": true,
	"nullable": true, "enum": true, "maxItems": true, "minItems": true,
	"properties": true, "required": true, "minProperties": true,
	"maxProperties": true, "minLength": true, "maxLength": true,
	"pattern": true, "example": true, "anyOf": true, "propertyOrdering": true,
	"default": true, "items": true, "minimum": true, "maximum": true,
}

// needsJSONSchema reports whether a schema uses what the OpenAPI subset
// cannot express without changing its meaning ($ref, oneOf, allOf), so
// that it must travel as parametersJsonSchema.
func needsJSONSchema(raw json.RawMessage) bool {
	return bytes.Contains(raw, []byte(`"$ref"`)) || bytes.Contains(raw, []byte(`"oneOf"`)) || bytes.Contains(raw, []byte(`"allOf"`))
}

// sanitizeSchema reduces a JSON Schema to the OpenAPI subset Gemini's
// parameters accept: unknown keywords are removed, type arrays become
// type + nullable, const becomes a one-value enum, non-string enums and
// unsupported formats are dropped. It returns nil for an object schema
// without properties (Gemini wants parameters omitted then).
func sanitizeSchema(raw json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	v = walkSchema(v, sanitizeNode)
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if props, _ := m["properties"].(map[string]any); len(props) == 0 && m["type"] == "object" {
		return nil
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return out
}

func sanitizeNode(m map[string]any) {
	if c, ok := m["const"].(string); ok {
		m["enum"] = []any{c}
	}
	if list, ok := m["type"].([]any); ok {
		var t any
		for _, e := range list {
			if e == "null" {
				m["nullable"] = true
			} else if t == nil {
				t = e
			}
		}
		m["type"] = t
		if t == nil {
			delete(m, "type")
		}
	}
	if enum, ok := m["enum"].([]any); ok {
		for _, e := range enum {
			if _, isStr := e.(string); !isStr {
				delete(m, "enum")
				break
			}
		}
		if _, ok := m["type"]; !ok && m["enum"] != nil {
			m["type"] = "string"
		}
	}
	if f, ok := m["format"].(string); ok && f != "enum" && f != "date-time" && f != "int32" && f != "int64" && f != "float" && f != "double" {
		delete(m, "format")
	}
	if req, ok := m["required"].([]any); ok {
		props, _ := m["properties"].(map[string]any)
		kept := req[:0]
		for _, r := range req {
			if s, ok := r.(string); ok && props[s] != nil {
				kept = append(kept, r)
			}
		}
		if len(kept) == 0 {
			delete(m, "required")
		} else {
			m["required"] = kept
		}
	}
	for k := range m {
		if !openAPIKeys[k] {
			delete(m, k)
		}
	}
}

// stripSchemaKey removes a top-level "$schema" keyword, which
// parametersJsonSchema and responseJsonSchema do not need.
func stripSchemaKey(raw json.RawMessage) json.RawMessage {
	if !bytes.Contains(raw, []byte(`"$schema"`)) {
		return raw
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	delete(m, "$schema")
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}
