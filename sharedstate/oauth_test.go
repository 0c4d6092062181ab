package sharedstate

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/llmgw/llmgw/sharedstate/redistest"
)

// TestOAuthLock checks the coordinator on the real Redis: one holder at a
// time across replicas, unlock frees it only for its holder, the lock
// expires, and a published record reads back.
func TestOAuthLock(t *testing.T) {
	url, prefix := sharedRedis(t)
	a := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "a"}, true).OAuth()
	b := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "b"}, true).OAuth()
	ctx := context.Background()

	unlockA, ok, err := a.Lock(ctx, "max-1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("a.Lock = %v, %v; want the lock", ok, err)
	}
	if _, ok, err := b.Lock(ctx, "max-1", time.Minute); err != nil || ok {
		t.Fatalf("b.Lock while a holds it = %v, %v; want refused", ok, err)
	}
	if _, ok, _ := b.Lock(ctx, "other", time.Minute); !ok {
		t.Error("another account's lock is refused")
	}
	unlockA()
	unlockB, ok, _ := b.Lock(ctx, "max-1", 200*time.Millisecond)
	if !ok {
		t.Fatal("b.Lock after a's unlock refused")
	}
	unlockA() // a second unlock by a must not free b's lock
	if _, ok, _ := a.Lock(ctx, "max-1", time.Minute); ok {
		t.Fatal("a's stale unlock freed b's lock")
	}
	_ = unlockB
	time.Sleep(300 * time.Millisecond)
	if _, ok, _ := a.Lock(ctx, "max-1", time.Minute); !ok {
		t.Error("the lock of a replica that never unlocked did not expire")
	}

	if got, err := b.Fetch(ctx, "max-1"); got != nil || err != nil {
		t.Errorf("Fetch before Publish = %q, %v", got, err)
	}
	sealed := []byte{1, 2, 3, 0, 255}
	if err := a.Publish(ctx, "max-1", sealed, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Fetch(ctx, "max-1"); err != nil || !bytes.Equal(got, sealed) {
		t.Errorf("Fetch = %v, %v; want %v", got, err, sealed)
	}
}

// TestOAuthWithoutRedis: the coordinator says it cannot help, at once, so
// that the manager refreshes alone.
func TestOAuthWithoutRedis(t *testing.T) {
	srv := redistest.Start(t)
	s := start(t, Config{URL: srv.URL(), ReplicaID: "a"}, true)
	srv.Kill()
	o := s.OAuth()
	// The first call finds Redis gone; the next ones know.
	o.Fetch(context.Background(), "x")
	waitShared(t, s, false, 3*time.Second)
	begin := time.Now()
	if _, _, err := o.Lock(context.Background(), "x", time.Minute); err == nil {
		t.Error("Lock with Redis down: no error")
	}
	if d := time.Since(begin); d > 10*time.Millisecond {
		t.Errorf("Lock with the circuit open took %v", d)
	}
}
