package imagefetch

import (
	"net/netip"
	"strings"
	"testing"
)

func TestPublicAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true},
		{"142.250.74.46", true},
		{"2606:4700:4700::1111", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},  // 6to4 of 8.8.8.8

		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"172.16.5.4", false},
		{"192.168.1.1", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"100.64.0.1", false},
		{"100.127.255.254", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"ff02::1", false},
		{"255.255.255.255", false},
		{"240.0.0.1", false},
		{"192.0.2.10", false},
		{"198.18.0.1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:10.0.0.1", false},
		{"::10.0.0.1", false},         // IPv4-compatible
		{"64:ff9b::a00:1", false},     // NAT64 of 10.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"2002:a00:1::1", false},      // 6to4 of 10.0.0.1
		{"2002:7f00:1::1", false},     // 6to4 of 127.0.0.1
		{"2001:db8::1", false},
		{"2001:0:4136:e378::1", false}, // Teredo
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr)
		if got := PublicAddr(a); got != tt.want {
			t.Errorf("PublicAddr(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if PublicAddr(netip.Addr{}) {
		t.Errorf("PublicAddr(zero Addr) = true, want false")
	}
}

func TestMediaType(t *testing.T) {
	tests := []struct {
		name, header string
		data         []byte
		want         string
		ok           bool
	}{
		{"png sniffed over header", "text/plain", pngBytes, "image/png", true},
		{"jpeg", "", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "image/jpeg", true},
		{"webp", "", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "image/webp", true},
		{"gif", "", []byte("GIF89a\x01\x00\x01\x00"), "image/gif", true},
		{"pdf", "application/octet-stream", []byte("%PDF-1.4\n"), "application/pdf", true},
		{"heic by header", "image/heic; charset=binary", []byte("\x00\x00\x00\x18ftypheic"), "image/heic", true},
		{"html claiming png", "image/png", []byte("<html><body>x</body></html>"), "text/html", false},
		{"text", "", []byte("hello"), "text/plain", false},
		{"unknown bytes, no header", "", []byte{0, 1, 2, 3}, "application/octet-stream", false},
		{"unknown bytes, octet-stream", "application/octet-stream", []byte{0, 1, 2, 3}, "application/octet-stream", false},
		{"svg header", "image/svg+xml", []byte{0, 1, 2, 3}, "application/octet-stream", false},
		{"bad header", "image/png;;;=", []byte{0, 1, 2, 3}, "application/octet-stream", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MediaType(tt.header, tt.data)
			if got != tt.want || ok != tt.ok {
				t.Errorf("MediaType(%q, %q) = %q, %v, want %q, %v", tt.header, tt.data, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzPublicAddr checks that an IPv4 address and its IPv4-mapped IPv6
// form are judged alike, and that nothing in a refused range passes.
func FuzzPublicAddr(f *testing.F) {
	for _, s := range []string{"8.8.8.8", "127.0.0.1", "169.254.169.254", "10.1.2.3", "100.64.0.1", "0.0.0.0"} {
		f.Add(netip.MustParseAddr(s).AsSlice())
	}
	for _, s := range []string{"::1", "fe80::1", "fc00::1", "64:ff9b::a00:1", "2002:a00:1::", "2606:4700::1111"} {
		f.Add(netip.MustParseAddr(s).AsSlice())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		got := PublicAddr(a)
		if a.Is4() {
			if mapped := netip.AddrFrom16(a.As16()); PublicAddr(mapped) != got {
				t.Errorf("PublicAddr(%s) = %v but PublicAddr(%s) = %v", a, got, mapped, !got)
			}
		}
		u := a.Unmap()
		if got && (u.IsLoopback() || u.IsPrivate() || u.IsLinkLocalUnicast() || u.IsUnspecified() || u.IsMulticast()) {
			t.Errorf("PublicAddr(%s) = true for a non-public address", a)
		}
	})
}

// FuzzMediaType checks that only images and PDFs are ever accepted.
func FuzzMediaType(f *testing.F) {
	f.Add("image/png", pngBytes)
	f.Add("image/heic", []byte{0, 0, 0, 0x18})
	f.Add("text/html", []byte("<html>"))
	f.Add("", []byte("%PDF-1.7"))
	f.Add("image/svg+xml", []byte("<svg>"))
	f.Fuzz(func(t *testing.T, header string, data []byte) {
		mt, ok := MediaType(header, data)
		if ok && !(strings.HasPrefix(mt, "image/") && mt != "image/svg+xml" || mt == "application/pdf") {
			t.Errorf("MediaType(%q, %q) = %q accepted", header, data, mt)
		}
	})
}
