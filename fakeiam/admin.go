package fakeiam

import (
	"encoding/json"
	"net/http"
	"time"
)

// The /_fake/ admin routes let a test in another process, or `make demo`, watch and steer the
// fake: GET /_fake/stats, POST and DELETE /_fake/faults, POST /_fake/reset-counters.

// Stats is the JSON answer of GET /_fake/stats, for tests in another process.
type Stats struct {
	Calls         map[Endpoint]int `json:"calls"`
	RefreshReuse  int              `json:"refresh_reuse"`
	LiveAPITokens int              `json:"live_api_tokens"`
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	st := Stats{Calls: make(map[Endpoint]int), RefreshReuse: s.RefreshReuse()}
	for e := range s.calls {
		st.Calls[e] = s.Calls(e)
	}
	now := s.cfg.Now()
	s.mu.Lock()
	st.LiveAPITokens = s.liveTokensLocked(0, now)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

// serveInject answers POST /_fake/faults with a body like
// {"endpoint": "refresh", "status": 503, "retry_after": "2", "delay": "1.5s", "times": 1}
// (other fields: body, hang, truncate, consume_then_fail).
func (s *Server) serveInject(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Endpoint        Endpoint `json:"endpoint"`
		Status          int      `json:"status"`
		Body            string   `json:"body"`
		RetryAfter      string   `json:"retry_after"`
		Delay           string   `json:"delay"`
		Hang            bool     `json:"hang"`
		Truncate        bool     `json:"truncate"`
		ConsumeThenFail bool     `json:"consume_then_fail"`
		Times           int      `json:"times"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "decode fault: " + err.Error()})
		return
	}
	var delay time.Duration
	if req.Delay != "" {
		var err error
		if delay, err = time.ParseDuration(req.Delay); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "parse delay: " + err.Error()})
			return
		}
	}
	_, known := s.calls[req.Endpoint]
	// A status outside 100-599 would make WriteHeader panic in the middle of a later test.
	if !known || req.Times < 0 || delay < 0 || req.Status != 0 && (req.Status < 100 || req.Status > 599) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "unknown endpoint, negative times or delay, or bad status"})
		return
	}
	s.Inject(req.Endpoint, Fault{
		Status: req.Status, Body: req.Body, RetryAfter: req.RetryAfter, Delay: delay,
		Hang: req.Hang, Truncate: req.Truncate, ConsumeThenFail: req.ConsumeThenFail, Times: req.Times,
	})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveClearFaults(w http.ResponseWriter, r *http.Request) {
	s.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveResetCounters(w http.ResponseWriter, r *http.Request) {
	for _, n := range s.calls {
		n.Store(0)
	}
	s.refreshReuse.Store(0)
	w.WriteHeader(http.StatusNoContent)
}
