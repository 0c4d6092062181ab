package gateway

import (
	"fmt"
	"net/http"
	"os"

	"github.com/llmgw/llmgw/sharedstate"
)

// clusterView is GET /api/cluster: the replicas that share this gateway's
// state, so that replicas serving different policies do not drift apart
// silently.
type clusterView struct {
	// Self is the id of the replica that answered.
	Self string `json:"self"`
	// State is the state backend's status: "local" without --state, or
	// Redis's, with shared false while this replica has fallen back.
	State sharedstate.Status `json:"state"`
	// PolicyHash is the majority's policy hash ("" when there is none).
	PolicyHash string `json:"policy_hash"`
	// Drift is true when some replica serves another policy.
	Drift    bool                  `json:"drift"`
	Replicas []sharedstate.Replica `json:"replicas"`
}

func (s *Server) apiCluster(w http.ResponseWriter, r *http.Request) {
	var v clusterView
	if c := s.cfg.Cluster; c != nil {
		v.Replicas = c.Replicas(r.Context())
		v.State = c.Status()
	} else {
		self := sharedstate.Replica{
			ID: s.replicaID, Version: s.cfg.Version, State: "local",
			StartedAt: s.started, LastSeen: s.now().UTC(), Self: true,
		}
		if pol := s.cfg.Policies.Policy(); pol != nil {
			self.PolicyHash = pol.Hash
		}
		v.Replicas = []sharedstate.Replica{self}
		v.State = sharedstate.Status{Backend: "local", Since: s.started}
	}
	v.PolicyHash = sharedstate.MarkDrift(v.Replicas)
	for _, rep := range v.Replicas {
		if rep.Self {
			v.Self = rep.ID
		}
		v.Drift = v.Drift || rep.Drift
	}
	writeJSON(w, http.StatusOK, v)
}

// localReplicaID names a gateway that shares no state: its host and
// process.
func localReplicaID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "llmgw"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// stateStatus is the state backend's status, for GET /api/providers.
func (s *Server) stateStatus() sharedstate.Status {
	if s.cfg.Cluster != nil {
		return s.cfg.Cluster.Status()
	}
	return sharedstate.Status{Backend: "local", Since: s.started}
}
