package llm

import (
	"encoding/base64"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestCarryRoundTrip(t *testing.T) {
	parts := []Part{
		{Kind: PartThinking, Text: "Let me think — ünïcode \"quotes\"", Signature: "EqQBCkYIBxgCKkA+/=", SignatureProtocol: ProtocolAnthropic},
		{Kind: PartRedactedThinking, Data: "EmwKAhgBEgy3va", SignatureProtocol: ProtocolAnthropic},
		{Kind: PartThinking, Signature: "CikBcsjafFK1", SignatureProtocol: ProtocolGemini},
	}
	tok := Carry(parts)
	if !strings.HasPrefix(tok, CarryPrefix) || !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(tok) {
		t.Fatalf("token %q is not [A-Za-z0-9_-] after its prefix", tok)
	}
	got, ok := Uncarry(tok)
	if !ok || !reflect.DeepEqual(got, parts) {
		t.Errorf("Uncarry = %+v, %v; want %+v", got, ok, parts)
	}
	if Carry(nil) != "" {
		t.Error("Carry(nil) is not empty")
	}
	for _, bad := range []string{"", "gAAAAB", CarryPrefix, CarryPrefix + "!!", CarryPrefix + base64.RawURLEncoding.EncodeToString([]byte(`[{"k":"text","p":"gemini"}]`)),
		CarryPrefix + base64.RawURLEncoding.EncodeToString([]byte(`[{"k":"thinking","p":"nobody"}]`))} {
		if _, ok := Uncarry(bad); ok {
			t.Errorf("Uncarry(%q) accepted a value it did not make", bad)
		}
	}
}

func TestCarryInID(t *testing.T) {
	parts := []Part{{Kind: PartThinking, Text: "t", Signature: "s", SignatureProtocol: ProtocolAnthropic}}
	id := CarryInID("call_1", parts)
	got, carried := SplitID(id)
	if got != "call_1" || !reflect.DeepEqual(carried, parts) {
		t.Errorf("SplitID(%q) = %q, %+v", id, got, carried)
	}
	if CarryInID("call_1", nil) != "call_1" {
		t.Error("CarryInID without parts changed the id")
	}
	for _, plain := range []string{"call_1", "toolu_01~x", "a~llmgw1!!"} {
		if got, carried := SplitID(plain); got != plain || carried != nil {
			t.Errorf("SplitID(%q) = %q, %+v", plain, got, carried)
		}
	}
}

func TestCarries(t *testing.T) {
	signed := Part{Kind: PartThinking, Signature: "s", SignatureProtocol: ProtocolGemini}
	if !Carries(signed, ProtocolAnthropic) || Carries(signed, ProtocolGemini) {
		t.Error("a Gemini signature is carried by others, never by Gemini's own clients")
	}
	if Carries(Part{Kind: PartThinking, Text: "unsigned"}, ProtocolOpenAI) || Carries(Part{Kind: PartText, Signature: "s", SignatureProtocol: ProtocolGemini}, ProtocolOpenAI) {
		t.Error("unsigned thinking or a signed text part is carried")
	}
}

func TestNewNonce(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		n := NewNonce()
		if len(n) != 12 || seen[n] {
			t.Fatalf("nonce %q: repeated or not 12 hex digits", n)
		}
		seen[n] = true
	}
}
