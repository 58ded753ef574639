package fakeiam

import (
	"io"
	"net/http"
	"net/http/httptest"
	"time"
)

// Endpoint names an IAM or Cloud route for counters and faults.
type Endpoint string

// The IAM routes of the reference's Gcore IAM calls.
const (
	Login         Endpoint = "login"        // POST /iam/auth/jwt/login
	Refresh       Endpoint = "refresh"      // POST /iam/auth/jwt/refresh
	SwitchAccount Endpoint = "switch"       // GET /iam/auth/jwt/clients/{clientId}/login
	Me            Endpoint = "me"           // GET /iam/clients/me
	CreateToken   Endpoint = "create-token" // POST /iam/v2/clients/{clientId}/tokens
	DeleteToken   Endpoint = "delete-token" // DELETE /iam/v2/clients/{clientId}/tokens/{tokenId}
	ListTokens    Endpoint = "list-tokens"  // GET /iam/v2/clients/{clientId}/tokens
)

// The Cloud routes of the reference's service credentials.
const (
	ListProjects          Endpoint = "list-projects"           // GET /cloud/v1/projects
	ListRegions           Endpoint = "list-regions"            // GET /cloud/v1/regions
	ListRegistries        Endpoint = "list-registries"         // GET /cloud/v1/registries/{p}/{r}
	CreateRegistryUser    Endpoint = "create-registry-user"    // POST /cloud/v1/registries/{p}/{r}/{registry_id}/users
	ListRegistryUsers     Endpoint = "list-registry-users"     // GET /cloud/v1/registries/{p}/{r}/{registry_id}/users
	DeleteRegistryUser    Endpoint = "delete-registry-user"    // DELETE /cloud/v1/registries/{p}/{r}/{registry_id}/users/{user_id}
	RefreshRegistrySecret Endpoint = "refresh-registry-secret" // POST /cloud/v1/registries/{p}/{r}/{registry_id}/users/{user_id}/refresh_secret
	ListClusters          Endpoint = "list-clusters"           // GET /cloud/v2/k8s/clusters/{p}/{r}
	ClusterConfig         Endpoint = "cluster-config"          // GET /cloud/v2/k8s/clusters/{p}/{r}/{name}/config
)

// Fault makes an endpoint misbehave. Delay and Hold apply first; then the first of Hang,
// ConsumeThenFail, Truncate and Status that is set decides the answer, and when none is set
// the request is answered normally.
type Fault struct {
	Status     int    // answer this status with Body (default {"message": <status text>})
	Body       string // raw response body for Status
	RetryAfter string // Retry-After header for Status, e.g. "2" with 429 or 503

	Delay time.Duration // sleep before answering, honouring the request context
	// Hold, when set, keeps the request waiting until the channel is closed (or the client
	// goes away), so a test can act while a call is in flight without guessing how long.
	Hold <-chan struct{}

	Hang            bool // never answer until the client goes away
	Truncate        bool // answer 200 with a JSON body cut off mid-token
	ConsumeThenFail bool // run the endpoint for real, then answer 502 as if the response was lost: for refresh, the token is spent
	Times           int  // how many requests this fault applies to; 0 until ClearFaults
}

// truncatedBody is a login/refresh answer cut off mid-token; it is invalid JSON for any endpoint.
const truncatedBody = `{"refresh": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBl`

// Calls returns how many requests e received, including failed and faulted ones.
func (s *Server) Calls(e Endpoint) int {
	if n, ok := s.calls[e]; ok {
		return int(n.Load())
	}
	return 0
}

// RefreshReuse returns how many refresh requests presented an already-used refresh token.
func (s *Server) RefreshReuse() int { return int(s.refreshReuse.Load()) }

// Inject queues f for the next f.Times requests to e, after any faults already queued for e.
func (s *Server) Inject(e Endpoint, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[e] = append(s.faults[e], f)
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// nextFault takes one use of the fault at the head of e's queue.
func (s *Server) nextFault(e Endpoint) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[e]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	if q[0].Times > 0 {
		q[0].Times--
		if q[0].Times == 0 {
			s.faults[e] = q[1:]
		}
	}
	return f, true
}

func (s *Server) serveWithFault(e Endpoint, h http.HandlerFunc, w http.ResponseWriter, r *http.Request) {
	f, ok := s.nextFault(e)
	if !ok {
		h(w, r)
		return
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			panic(http.ErrAbortHandler) // drop the connection: nobody is waiting for an answer
		}
	}
	if f.Hold != nil {
		select {
		case <-f.Hold:
		case <-r.Context().Done():
			panic(http.ErrAbortHandler)
		}
	}
	switch {
	case f.Hang:
		<-r.Context().Done()
		panic(http.ErrAbortHandler)
	case f.ConsumeThenFail:
		h(httptest.NewRecorder(), r)
		writeJSON(w, http.StatusBadGateway, map[string]string{"message": http.StatusText(http.StatusBadGateway)})
	case f.Truncate:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, truncatedBody)
	case f.Status != 0:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if f.Body == "" {
			writeJSON(w, f.Status, map[string]string{"message": http.StatusText(f.Status)})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
	default:
		h(w, r)
	}
}
