package dashboard_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/llmgw/llmgw/dashboard"
)

// The gateway mounts the dashboard at its root, after its own routes.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `{"ok":true}`)
	})
	mux.Handle("/", dashboard.Handler())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/requests", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
	// Output: 200 text/html; charset=utf-8 no-cache
}
