package gateway

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// corsHeaderPrefix starts every CORS response header. Upstreams' are never
// relayed: whether a browser may read an answer is the gateway's decision.
var corsHeaderPrefix = []byte("access-control-")

// browserGuard keeps web pages the operator visits away from the gateway.
// A browser lets any page send a simple cross-site POST and, through DNS
// rebinding, read answers from a name that resolves to 127.0.0.1:
//
//   - the model doors and the admin API refuse a request whose Origin is
//     another site's and not in Config.AllowedOrigins (403);
//   - without admin_key(), the admin API, dashboard, /metrics and pprof
//     answer only to a Host that is a loopback name or address or is in
//     Config.AllowedHosts (403): a rebound name is neither.
//
// Allowed origins get CORS headers, and their preflights an answer.
func (s *Server) browserGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		front, probe := isFrontPath(p), p == "/health" || p == "/ready"
		if !front && !probe && !s.adminKeyed() && !s.hostAllowed(r.Host) {
			writeError(w, s.adapter(protocolOf(r)), errorf(http.StatusForbidden, "host %s is not served the admin API or dashboard: use a loopback address or add it to --allowed-hosts", quoteInput(r.Host)))
			return
		}
		origin := r.Header.Get("Origin")
		if origin == "" || probe {
			next.ServeHTTP(w, r)
			return
		}
		configured := s.originAllowed(origin)
		// The dashboard served by this gateway calls /api/* from its own
		// origin; the Host check above already refused a rebound one.
		sameOrigin := !front && sameHost(origin, r.Host)
		if !configured && !sameOrigin && (front || isAPIPath(p) || strings.HasPrefix(p, "/debug/")) {
			e := errorf(http.StatusForbidden, "cross-origin request from %s refused: add the origin to --allowed-origins to allow it", quoteInput(origin))
			if front {
				ep, ok := s.doors[p]
				if !ok {
					ep = endpoint{proto: protocolOf(r), name: "unknown"}
				}
				s.reject(w, r, ep, e)
			} else {
				writeError(w, s.adapter(protocolOf(r)), e)
			}
			return
		}
		if configured {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
					h.Set("Access-Control-Allow-Headers", rh)
				}
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, X-LLMGW-Provider, Retry-After")
		}
		next.ServeHTTP(w, r)
	})
}

// adminKeyed reports whether the live policy declares admin_key(): then the
// admin surface demands the key, which a rebound page does not have.
func (s *Server) adminKeyed() bool {
	pol := s.cfg.Policies.Policy()
	return pol != nil && pol.AdminKey != ""
}

func (s *Server) originAllowed(origin string) bool {
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

// hostAllowed reports whether a Host header names this machine's loopback
// (localhost, *.localhost, 127.0.0.0/8, ::1) or a configured host.
func (s *Server) hostAllowed(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.ToLower(strings.TrimSuffix(strings.Trim(name, "[]"), "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	if ip := net.ParseIP(name); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, h := range s.cfg.AllowedHosts {
		if strings.EqualFold(h, host) || strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// sameHost reports whether origin (scheme://host[:port]) names host.
func sameHost(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}
