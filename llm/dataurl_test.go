package llm

import "testing"

func TestParseDataURL(t *testing.T) {
	tests := []struct {
		in       string
		mt, data string
		ok       bool
	}{
		{"data:image/png;base64,iVBORw0KGgo=", "image/png", "iVBORw0KGgo=", true},
		{"data:application/pdf;base64,", "application/pdf", "", true},
		{"data:text/plain,hello", "", "", false}, // not base64
		{"data:image/png;base64", "", "", false}, // no comma
		{"https://example.com/a.png", "", "", false},
	}
	for _, tt := range tests {
		mt, data, ok := ParseDataURL(tt.in)
		if mt != tt.mt || data != tt.data || ok != tt.ok {
			t.Errorf("ParseDataURL(%q) = %q, %q, %v; want %q, %q, %v", tt.in, mt, data, ok, tt.mt, tt.data, tt.ok)
		}
		if tt.ok {
			if got := DataURL(mt, data); got != tt.in {
				t.Errorf("DataURL(%q, %q) = %q, want %q", mt, data, got, tt.in)
			}
		}
	}
}
