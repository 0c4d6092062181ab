package wirejson

import (
	"encoding/json"
	"testing"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote \" back \\ slash", "ctl \x01\n\r\t", "今日の東京", "bad \xff utf8", "sep \u2028 \u2029"} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("AppendString(%q) decodes to %q, want %q", s, back, wantBack)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\\c\n\xff")
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil {
			t.Fatalf("AppendString(%q) is not JSON: %v", s, err)
		}
	})
}

func TestKindAndIsNull(t *testing.T) {
	tests := []struct {
		in, kind string
		null     bool
	}{
		{"", "nothing", true}, {" null", "null", true}, {`{"a":1}`, "an object", false}, {"[1]", "an array", false},
		{`"s"`, "a string", false}, {"true", "a boolean", false}, {"-1.5", "a number", false},
	}
	for _, tt := range tests {
		if got := Kind([]byte(tt.in)); got != tt.kind {
			t.Errorf("Kind(%q) = %q, want %q", tt.in, got, tt.kind)
		}
		if got := IsNull([]byte(tt.in)); got != tt.null {
			t.Errorf("IsNull(%q) = %v, want %v", tt.in, got, tt.null)
		}
	}
}
