package gemini

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/llm"
)

func TestGeminiPage(t *testing.T) {
	models := []llm.Model{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}
	// Walk the pages as a client does, following nextPageToken.
	for _, size := range []string{"", "1", "2", "3", "5", "1000"} {
		var got []string
		q := url.Values{}
		if size != "" {
			q.Set("pageSize", size)
		}
		for i := 0; i < 10; i++ {
			page, herr := pageOf(models, q)
			if herr != nil {
				t.Fatalf("pageOf(%v): %v", q, herr)
			}
			for _, m := range page.Models {
				got = append(got, m.(modelJSON).Name)
			}
			if page.NextPageToken == "" {
				break
			}
			q.Set("pageToken", page.NextPageToken)
		}
		want := []string{"models/a", "models/b", "models/c", "models/d", "models/e"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("geminiPage pages of %q (-want +got):\n%s", size, diff)
		}
	}
	for _, q := range []string{"pageToken=%25%25", "pageSize=x"} {
		v, _ := url.ParseQuery(q)
		if _, herr := pageOf(models, v); herr == nil || herr.(*llm.Error).Status != http.StatusBadRequest {
			t.Errorf("pageOf(%q) error = %v, want 400", q, herr)
		}
	}
}
