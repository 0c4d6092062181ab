package oauth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/oauth"
)

func TestLoadKeyEnv(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb}, oauth.KeySize) // base64 of it uses + and /
	tests := []struct {
		name, value string
		wantErr     bool
	}{
		{"hex", hex.EncodeToString(key), false},
		{"base64", base64.StdEncoding.EncodeToString(key), false},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(key), false},
		{"surrounding space", " " + base64.StdEncoding.EncodeToString(key) + "\n", false},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), true},
		{"not a key", "correct horse battery staple", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			getenv := func(k string) string {
				if k == oauth.KeyEnv {
					return tt.value
				}
				return ""
			}
			got, err := oauth.LoadKey(getenv, filepath.Join(dir, "llmgw.db"))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("LoadKey(%q) = nil error, want one", tt.value)
				}
				if strings.Contains(err.Error(), strings.TrimSpace(tt.value)) {
					t.Errorf("LoadKey error %q repeats the secret", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("LoadKey(%q) = %x, %v, want %x", tt.value, got, err, key)
			}
			if _, err := os.Stat(filepath.Join(dir, oauth.KeyFileName)); !os.IsNotExist(err) {
				t.Errorf("LoadKey with %s set created a key file", oauth.KeyEnv)
			}
		})
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "llmgw.db")
	noEnv := func(string) string { return "" }
	k1, err := oauth.LoadKey(noEnv, db)
	if err != nil {
		t.Fatalf("LoadKey (create) = %v", err)
	}
	if len(k1) != oauth.KeySize || bytes.Equal(k1, make([]byte, oauth.KeySize)) {
		t.Fatalf("LoadKey (create) = %x, want %d random bytes", k1, oauth.KeySize)
	}
	path := filepath.Join(dir, oauth.KeyFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", fi.Mode().Perm())
	}
	k2, err := oauth.LoadKey(noEnv, db)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("LoadKey (reuse) = %x, %v, want the key created first %x", k2, err, k1)
	}

	if runtime.GOOS == "windows" {
		return
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := oauth.LoadKey(noEnv, db); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("LoadKey(key file mode 0644) = %v, want a refusal saying chmod 600", err)
	}
}
