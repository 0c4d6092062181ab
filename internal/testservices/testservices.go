// Package testservices finds the Redis and PostgreSQL servers that the
// replica tests run against.
//
// Every development and CI machine runs Redis on 127.0.0.1:6379 and
// PostgreSQL on 127.0.0.1:5432 (trust authentication, user postgres,
// database test). LLMGW_TEST_REDIS_URL and LLMGW_TEST_POSTGRES_URL point
// the tests elsewhere. Where a service cannot be reached the test is
// skipped with a message saying so, unless LLMGW_REQUIRE_SERVICES=1 is set
// (as .ci/run does): then it fails, so that a CI run never passes with the
// replica tests silently skipped.
package testservices

import (
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// Default addresses of the local services.
const (
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// RequireEnv, when "1", turns an unreachable service into a test failure.
const RequireEnv = "LLMGW_REQUIRE_SERVICES"

// RedisURL returns the URL of a reachable Redis server, or skips (or fails
// under LLMGW_REQUIRE_SERVICES=1) the test when there is none.
func RedisURL(t testing.TB) string {
	t.Helper()
	return find(t, "Redis", "LLMGW_TEST_REDIS_URL", DefaultRedisURL)
}

// PostgresURL returns the URL of a reachable PostgreSQL server, or skips
// (or fails under LLMGW_REQUIRE_SERVICES=1) the test when there is none.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return find(t, "PostgreSQL", "LLMGW_TEST_POSTGRES_URL", DefaultPostgresURL)
}

func find(t testing.TB, name, env, def string) string {
	t.Helper()
	raw := os.Getenv(env)
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s=%q: %v", env, raw, err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		msg := name + " is not reachable at " + u.Host + " (set " + env + "): " + err.Error()
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal(msg + "; " + RequireEnv + "=1 forbids skipping")
		}
		t.Skip(msg)
	}
	_ = conn.Close()
	return raw
}
