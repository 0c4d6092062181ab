package main

import (
	"context"
	"fmt"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/llmgw/llmgw/gateway"
	"github.com/llmgw/llmgw/health"
	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/metrics"
	"github.com/llmgw/llmgw/oauth"
	"github.com/llmgw/llmgw/sharedstate"
	"github.com/llmgw/llmgw/sticky"
)

// replicaState is the state a gateway keeps besides its request log:
// in-process alone (no --state), shared with the other replicas on Redis
// with --state redis://….
type replicaState struct {
	health *health.Tracker
	sticky gateway.StickyStore
	// shared is nil without --state.
	shared *sharedstate.State
}

// newReplicaState builds the state --state asks for. Without it the health
// tracker and the sticky table are the in-process ones, exactly as a
// gateway alone has them. With a redis:// URL they are backed by Redis,
// with the in-process ones as the fallback while Redis is unreachable.
func newReplicaState(raw, version string, policyHash func() string, logger zerolog.Logger, m *metrics.Metrics) (replicaState, error) {
	local := sticky.New(sticky.Config{})
	if raw == "" {
		return replicaState{health: health.New(health.Config{}), sticky: local}, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return replicaState{}, fmt.Errorf("--state: want redis://host:port[/db] or rediss://…, got %q", redactState(raw))
	}
	st, err := sharedstate.Open(sharedstate.Config{URL: raw, Version: version, PolicyHash: policyHash, Logger: logger})
	if err != nil {
		return replicaState{}, fmt.Errorf("--state: %w", err)
	}
	// go-redis reports pool and dial errors through a logger of its own:
	// the fallback they cause is logged once per transition already, so
	// they go to the debug level.
	redis.SetLogger(redisLogger{logger})
	tr := health.New(health.Config{OnCooldown: st.OnCooldown})
	st.FollowHealth(tr)
	m.RegisterState(func() metrics.StateStats {
		s := st.Status()
		return metrics.StateStats{Shared: s.Shared, Fallbacks: s.Fallbacks, Rejoins: s.Rejoins, Errors: s.Errors, Dropped: s.Dropped, AllowanceAdmits: s.AllowanceAdmits}
	})
	return replicaState{health: tr, sticky: st.Sticky(local), shared: st}, nil
}

// replicaVersion is the version a replica publishes in the registry:
// 'llmgw version' without its name, so that replicas built from different
// revisions tell apart even when both are "devel".
func replicaVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return strings.TrimPrefix(versionLine(bi), "llmgw ")
}

// cluster is the gateway's view of the replicas: nil alone.
func (r replicaState) cluster() gateway.Cluster {
	if r.shared == nil {
		return nil
	}
	return r.shared
}

// limits returns the limit counters: local alone, or Redis's with local
// as the fallback. Redis's counters are the cluster's and are not rebuilt
// from the request log; local, rebuilt at start, serves while Redis is
// unreachable.
func (r replicaState) limits(local *limits.Memory) limits.Store {
	if r.shared == nil {
		return local
	}
	return r.shared.Limits(local)
}

// onFallback has f called each time the replica falls back to its own
// state; alone, never.
func (r replicaState) onFallback(f func()) {
	if r.shared != nil {
		r.shared.OnFallback(f)
	}
}

// oauth returns the coordinator of OAuth refreshes: nil alone.
func (r replicaState) oauth() oauth.Coordinator {
	if r.shared == nil {
		return nil
	}
	return r.shared.OAuth()
}

// run keeps the replica joined until ctx is done.
func (r replicaState) run(ctx context.Context) error {
	if r.shared == nil {
		return nil
	}
	defer r.shared.Close()
	return r.shared.Run(ctx)
}

// redactState is a --state URL without its password, for messages.
func redactState(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// redisLogger puts go-redis's own log lines at the debug level.
type redisLogger struct{ l zerolog.Logger }

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	r.l.Debug().Str("component", "redis").Msgf(format, v...)
}
