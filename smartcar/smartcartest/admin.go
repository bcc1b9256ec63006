package smartcartest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// duration decodes "1.5s"-style strings or numbers of seconds.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var secs float64
	if err := json.Unmarshal(b, &secs); err == nil {
		*d = duration(secs * float64(time.Second))
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("duration must be a string like \"1.5s\" or a number of seconds")
	}
	v, err := time.ParseDuration(str)
	if err != nil {
		return fmt.Errorf("parse duration: %w", err)
	}
	*d = duration(v)
	return nil
}

// faultWire is a Fault in JSON, with durations as "30s" or seconds.
type faultWire struct {
	Type            string   `json:"type,omitempty"`
	Code            string   `json:"code,omitempty"`
	Status          int      `json:"status,omitempty"`
	Description     string   `json:"description,omitempty"`
	RetryAfter      duration `json:"retryAfter,omitempty"`
	Latency         duration `json:"latency,omitempty"`
	HTML502         bool     `json:"html502,omitempty"`
	Drop            bool     `json:"drop,omitempty"`
	Hang            bool     `json:"hang,omitempty"`
	DropAfterRotate bool     `json:"dropAfterRotate,omitempty"`
	Probability     float64  `json:"probability,omitempty"`
	Times           int      `json:"times,omitempty"`
	JSONAPI         bool     `json:"jsonapi,omitempty"`
}

// MarshalJSON writes durations as strings like "1m30s".
func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// MarshalJSON encodes f as the admin API reads it: camelCase keys and
// durations as strings like "30s".
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultWire{Type: f.Type, Code: f.Code, Status: f.Status, Description: f.Description,
		RetryAfter: duration(f.RetryAfter), Latency: duration(f.Latency), HTML502: f.HTML502, Drop: f.Drop,
		Hang: f.Hang, DropAfterRotate: f.DropAfterRotate, Probability: f.Probability, Times: f.Times,
		JSONAPI: f.JSONAPI})
}

// UnmarshalJSON reads a fault; durations may be strings ("30s") or seconds.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var w faultWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*f = Fault{Type: w.Type, Code: w.Code, Status: w.Status, Description: w.Description,
		RetryAfter: time.Duration(w.RetryAfter), Latency: time.Duration(w.Latency), HTML502: w.HTML502,
		Drop: w.Drop, Hang: w.Hang, DropAfterRotate: w.DropAfterRotate, Probability: w.Probability, Times: w.Times,
		JSONAPI: w.JSONAPI}
	return nil
}

// AdminConfig is what GET /admin/config tells a black-box client.
type AdminConfig struct {
	Origins         Origins  `json:"origins"`
	ClientID        string   `json:"clientId"`
	ClientSecret    string   `json:"clientSecret"`
	RedirectURI     string   `json:"redirectUri"`
	ManagementToken string   `json:"managementToken"`
	Users           []string `json:"users"`
}

// handleAdmin serves /admin/...: the Go API over HTTP for black-box tests.
// It has no authentication; the simulator listens on loopback.
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if v != nil {
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	bad := func(err error) { reply(http.StatusBadRequest, map[string]string{"error": err.Error()}) }
	decode := func(v any) bool {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
			bad(fmt.Errorf("decode body: %w", err))
			return false
		}
		return true
	}
	q := r.URL.Query()
	switch route := r.Method + " " + strings.TrimSuffix(r.URL.Path, "/"); route {
	case "GET /admin/config":
		reply(http.StatusOK, AdminConfig{Origins: s.Origins(), ClientID: s.ClientID, ClientSecret: s.ClientSecret,
			RedirectURI: s.RedirectURI, ManagementToken: s.ManagementToken, Users: s.Users()})
	case "POST /admin/connect":
		var req struct {
			UserID     string   `json:"userId"`
			VehicleIDs []string `json:"vehicleIds"`
			Scopes     []string `json:"scopes"`
		}
		if !decode(&req) {
			return
		}
		if req.UserID == "" {
			reply(http.StatusOK, s.Connect(req.VehicleIDs, req.Scopes))
			return
		}
		t, ok := s.ConnectUser(req.UserID, req.VehicleIDs, req.Scopes)
		if !ok {
			bad(fmt.Errorf("unknown user %q", req.UserID))
			return
		}
		reply(http.StatusOK, t)
	case "POST /admin/connect-config":
		var cc ConnectConfig
		if !decode(&cc) {
			return
		}
		s.SetConnect(cc)
		reply(http.StatusNoContent, nil)
	case "POST /admin/faults":
		var req struct {
			VehicleID string `json:"vehicleId"`
			Path      string `json:"path"`
			Fault     Fault  `json:"fault"`
		}
		if !decode(&req) {
			return
		}
		s.SetFault(req.VehicleID, req.Path, req.Fault)
		reply(http.StatusNoContent, nil)
	case "DELETE /admin/faults":
		if q.Has("vehicleId") || q.Has("path") {
			s.ClearFault(q.Get("vehicleId"), q.Get("path"))
		} else {
			s.ClearFaults()
		}
		reply(http.StatusNoContent, nil)
	case "GET /admin/stats":
		reply(http.StatusOK, s.Stats())
	case "GET /admin/requests":
		reqs := s.Requests()
		if id := q.Get("vehicleId"); id != "" {
			kept := reqs[:0]
			for _, rq := range reqs {
				if rq.VehicleID == id {
					kept = append(kept, rq)
				}
			}
			reqs = kept
		}
		if n, err := strconv.Atoi(q.Get("limit")); err == nil && n >= 0 && n < len(reqs) {
			reqs = reqs[len(reqs)-n:]
		}
		reply(http.StatusOK, reqs)
	case "POST /admin/reset":
		s.ResetRecords()
		reply(http.StatusNoContent, nil)
	case "POST /admin/revoke":
		var req struct {
			UserID    string `json:"userId"`
			VehicleID string `json:"vehicleId"`
		}
		if !decode(&req) {
			return
		}
		switch {
		case req.UserID != "" && req.VehicleID == "":
			reply(http.StatusOK, map[string]int{"revokedGrants": s.RevokeGrant(req.UserID)})
		case req.VehicleID != "" && req.UserID == "":
			reply(http.StatusOK, map[string][]string{"users": s.RevokeVehicle(req.VehicleID)})
		default:
			bad(fmt.Errorf("give exactly one of userId and vehicleId"))
		}
	case "GET /admin/vehicles":
		reply(http.StatusOK, s.Vehicles())
	case "POST /admin/vehicles":
		var req struct {
			Kind Kind `json:"kind"`
		}
		if !decode(&req) {
			return
		}
		reply(http.StatusCreated, s.NewVehicle(req.Kind))
	case "POST /admin/plug":
		var req struct {
			VehicleID string `json:"vehicleId"`
			Plugged   bool   `json:"plugged"`
		}
		if !decode(&req) {
			return
		}
		if !s.SetPlugged(req.VehicleID, req.Plugged) {
			bad(fmt.Errorf("vehicle %q is unknown, ICE or driving", req.VehicleID))
			return
		}
		reply(http.StatusNoContent, nil)
	case "POST /admin/webhooks/send":
		var req struct {
			URL       string `json:"url"`
			EventType string `json:"eventType"`
			VehicleID string `json:"vehicleId"`
		}
		if !decode(&req) {
			return
		}
		if err := s.SendWebhook(r.Context(), req.URL, req.EventType, req.VehicleID); err != nil {
			reply(http.StatusBadGateway, map[string]string{"error": err.Error()})
			return
		}
		reply(http.StatusNoContent, nil)
	case "POST /admin/webhooks/verify":
		var req struct {
			URL string `json:"url"`
		}
		if !decode(&req) {
			return
		}
		if err := s.VerifyWebhook(r.Context(), req.URL); err != nil {
			reply(http.StatusBadGateway, map[string]string{"error": err.Error()})
			return
		}
		reply(http.StatusNoContent, nil)
	default:
		if id, ok := strings.CutPrefix(r.URL.Path, "/admin/vehicles/"); ok && r.Method == http.MethodGet {
			if id, ok := strings.CutSuffix(id, "/changes"); ok && s.vehicle(id) != nil {
				s.adminChanges(id, r, reply, bad)
				return
			}
			if st, found := s.VehicleState(strings.TrimSuffix(id, "/state")); found {
				reply(http.StatusOK, st)
				return
			}
		}
		reply(http.StatusNotFound, map[string]string{"error": "no admin endpoint " + route})
	}
}

// adminChanges answers GET /admin/vehicles/{id}/changes?from=&to= (RFC 3339;
// default the last simulated day up to now).
func (s *Server) adminChanges(id string, r *http.Request, reply func(int, any), bad func(error)) {
	now := s.clock()
	from, to := now.Add(-24*time.Hour), now
	for name, t := range map[string]*time.Time{"from": &from, "to": &to} {
		if raw := r.URL.Query().Get(name); raw != "" {
			v, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				bad(fmt.Errorf("%s must be an RFC 3339 time: %w", name, err))
				return
			}
			*t = v
		}
	}
	changes := s.StateChanges(id, from, to)
	if changes == nil {
		changes = []StateChange{}
	}
	reply(http.StatusOK, changes)
}
