package oauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeySize is the length in bytes of the token-store key (AES-256).
const KeySize = 32

// KeyEnv is the environment variable that holds the token-store key,
// 32 bytes in base64 (standard or URL alphabet, padded or not) or hex.
const KeyEnv = "LLMGW_SECRET_KEY"

// KeyFileName is the name of the generated key file, created beside the
// database when KeyEnv is unset.
const KeyFileName = "llmgw.key"

// ErrWrongKey reports that sealed data cannot be opened with the key at
// hand: the key differs from the one the database was written with, or the
// record was altered or moved to another account.
var ErrWrongKey = errors.New("oauth: cannot decrypt: wrong secret key or tampered record")

// LoadKey returns the token-store key. It is taken from LLMGW_SECRET_KEY
// when set, and otherwise from the file llmgw.key in the directory of
// dbPath, which is created with a fresh random key and permissions 0600 on
// first use. The key is never stored in the database. An existing key file
// that other users can read is refused, as ssh refuses such a private key.
func LoadKey(getenv func(string) string, dbPath string) ([]byte, error) {
	if v := strings.TrimSpace(getenv(KeyEnv)); v != "" {
		k, err := parseKey(v)
		if err != nil {
			return nil, fmt.Errorf("oauth: %s: %w", KeyEnv, err)
		}
		return k, nil
	}
	return loadKeyFile(KeyPath(getenv, dbPath))
}

// KeyPath returns the key file LoadKey uses for a database at dbPath:
// KeyFileName in the database's directory, so that the database and the
// one key that opens its tokens are kept (and backed up) together. It is
// "" when the key comes from LLMGW_SECRET_KEY.
func KeyPath(getenv func(string) string, dbPath string) string {
	if strings.TrimSpace(getenv(KeyEnv)) != "" {
		return ""
	}
	return filepath.Join(filepath.Dir(dbPath), KeyFileName)
}

// parseKey decodes a 32-byte key written in hex or base64. The error never
// repeats the input.
func parseKey(s string) ([]byte, error) {
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		k, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(k) != KeySize {
			return nil, fmt.Errorf("key must be %d bytes, got %d", KeySize, len(k))
		}
		return k, nil
	}
	return nil, fmt.Errorf("key must be %d bytes in base64 or hex", KeySize)
}

func loadKeyFile(path string) ([]byte, error) {
	k, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	k = make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("oauth: generate key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readKeyFile(path) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: create key file: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("oauth: write key file: %w", err)
	}
	return k, nil
}

func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("oauth: key file: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("oauth: key file %s is accessible by other users (mode %04o); run chmod 600 on it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("oauth: key file: %w", err)
	}
	k, err := parseKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("oauth: key file %s: %w", path, err)
	}
	return k, nil
}

// sealVersion prefixes every sealed record, so that a later format or key
// rotation can tell records apart.
const sealVersion = 1

// sealer encrypts records with AES-256-GCM.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("oauth: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal returns version || nonce || ciphertext, authenticated with ad.
func (s *sealer) seal(plain, ad []byte) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("oauth: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:], plain, ad), nil
}

// open reverses seal; any failure is ErrWrongKey.
func (s *sealer) open(sealed, ad []byte) ([]byte, error) {
	n := 1 + s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrWrongKey
	}
	plain, err := s.aead.Open(nil, sealed[1:n], sealed[n:], ad)
	if err != nil {
		return nil, ErrWrongKey
	}
	return plain, nil
}
