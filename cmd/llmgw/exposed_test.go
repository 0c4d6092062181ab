package main

import (
	"net"
	"testing"
)

// TestExposedAdminWarning: start warns when it listens on a non-loopback
// address while the policy declares no admin_key(), and only then.
func TestExposedAdminWarning(t *testing.T) {
	for _, tt := range []struct {
		ip       string
		adminKey bool
		warn     bool
	}{
		{"127.0.0.1", false, false},
		{"::1", false, false},
		{"0.0.0.0", false, true},
		{"::", false, true},
		{"192.0.2.10", false, true},
		{"0.0.0.0", true, false},
		{"192.0.2.10", true, false},
	} {
		got := exposedAdminWarning(&net.TCPAddr{IP: net.ParseIP(tt.ip), Port: 8080}, tt.adminKey)
		if (got != "") != tt.warn {
			t.Errorf("listen %s, admin key %v: warning %q, want one: %v", tt.ip, tt.adminKey, got, tt.warn)
		}
	}
}
