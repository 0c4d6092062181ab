package anthropic

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/llm"
)

func TestAnthropicPage(t *testing.T) {
	models := []llm.Model{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}
	tests := []struct {
		query     string
		want      string // ids, has_more, first_id, last_id
		wantError bool
	}{
		{"", "a b c d e|false|a|e", false},
		{"limit=2", "a b|true|a|b", false},
		{"limit=2&after_id=b", "c d|true|c|d", false},
		{"limit=2&after_id=c", "d e|false|d|e", false},
		{"limit=2&after_id=e", "|false||", false},
		{"limit=2&after_id=bb", "c d|true|c|d", false}, // a cursor that left the list
		{"limit=2&before_id=d", "b c|true|b|c", false},
		{"limit=2&before_id=b", "a|false|a|a", false},
		{"limit=5000", "a b c d e|false|a|e", false},
		{"limit=x", "", true},
		{"limit=-1", "", true},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		page, herr := pageOf(models, q)
		if (herr != nil) != tt.wantError {
			t.Errorf("pageOf(%q) error = %v, want error %v", tt.query, herr, tt.wantError)
			continue
		}
		if herr != nil {
			if le, ok := herr.(*llm.Error); !ok || le.Status != http.StatusBadRequest {
				t.Errorf("pageOf(%q) error = %v, want a 400", tt.query, herr)
			}
			continue
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.(modelJSON).ID)
		}
		deref := func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		}
		got := strings.Join(ids, " ") + "|" + map[bool]string{true: "true", false: "false"}[page.HasMore] + "|" + deref(page.FirstID) + "|" + deref(page.LastID)
		if got != tt.want {
			t.Errorf("pageOf(%q) = %s, want %s", tt.query, got, tt.want)
		}
	}
}
