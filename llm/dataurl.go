package llm

import "strings"

// Parts carry inline data as base64 (Part.Data); the wire protocols that
// inline it in a URL (OpenAI's image_url and file_data, Responses'
// input_image and input_file) use base64 data URLs.

// ParseDataURL splits a base64 data URL, "data:<media type>;base64,<data>".
// ok is false for anything else, a data URL without ";base64" included.
func ParseDataURL(u string) (mediaType, data string, ok bool) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return "", "", false
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return "", "", false
	}
	return strings.TrimSuffix(meta, ";base64"), data, true
}

// DataURL builds a base64 data URL.
func DataURL(mediaType, data string) string {
	return "data:" + mediaType + ";base64," + data
}
