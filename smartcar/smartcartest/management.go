package smartcartest

import (
	"cmp"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// connection is one user-vehicle connection of the management API.
type connection struct {
	VehicleID   string `json:"vehicleId"`
	UserID      string `json:"userId"`
	ConnectedAt string `json:"connectedAt,omitempty"`
	at          time.Time
	mode        string
}

// handleConnections is GET/DELETE /v2.0/management/connections, with Basic
// auth "default:<AMT>".
func (s *Server) handleConnections(c *call) {
	user, pass, ok := c.r.BasicAuth()
	if !ok || user != "default" || subtle.ConstantTimeCompare([]byte(pass), []byte(s.ManagementToken)) != 1 {
		c.fail(newError("AUTHENTICATION", ""))
		return
	}
	if s.fault(c, "") {
		return
	}
	q := c.r.URL.Query()
	userID, vehicleID := q.Get("user_id"), q.Get("vehicle_id")
	switch c.r.Method {
	case http.MethodGet:
		s.listConnections(c, userID, vehicleID)
	case http.MethodDelete:
		if (userID == "") == (vehicleID == "") {
			c.fail(validationError("user_id", "exactly one of user_id and vehicle_id is required"))
			return
		}
		deleted := []connection{}
		s.mu.Lock()
		for _, conn := range s.connections(userID, vehicleID) {
			s.disconnect(conn.VehicleID, conn.UserID)
			deleted = append(deleted, connection{VehicleID: conn.VehicleID, UserID: conn.UserID})
		}
		s.mu.Unlock()
		c.value(map[string]any{"connections": deleted})
	default:
		c.rec.Route = "unknown"
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
	}
}

// connections lists live connections, newest first; the caller holds s.mu.
func (s *Server) connections(userID, vehicleID string) []connection {
	type conn struct {
		at   time.Time
		mode string
	}
	latest := map[[2]string]conn{}
	for _, g := range s.grants {
		if g.revoked || (userID != "" && g.userID != userID) {
			continue
		}
		for id, at := range g.vehicles {
			if vehicleID != "" && id != vehicleID {
				continue
			}
			k := [2]string{g.userID, id}
			if old, ok := latest[k]; !ok || at.After(old.at) {
				latest[k] = conn{at, cmp.Or(g.mode, "live")}
			}
		}
	}
	out := make([]connection, 0, len(latest))
	for k, cn := range latest {
		out = append(out, connection{VehicleID: k[1], UserID: k[0], ConnectedAt: cn.at.UTC().Format(timeLayout),
			at: cn.at, mode: cn.mode})
	}
	slices.SortFunc(out, func(a, b connection) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(a.VehicleID+a.UserID, b.VehicleID+b.UserID)
	})
	return out
}

func (s *Server) listConnections(c *call, userID, vehicleID string) {
	q := c.r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			c.fail(validationError("limit", "limit must be an integer from 1 to 100"))
			return
		}
		limit = n
	}
	offset := 0
	if cur := q.Get("cursor"); cur != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cur)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || err2 != nil || n < 0 {
			c.fail(validationError("cursor", "cursor is not valid"))
			return
		}
		offset = n
	}
	s.mu.RLock()
	all := s.connections(userID, vehicleID)
	s.mu.RUnlock()
	var next *string
	if offset+limit < len(all) {
		cur := base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset+limit)))
		next = &cur
	}
	pageItems := []connection{}
	if offset < len(all) {
		pageItems = all[offset:min(len(all), offset+limit)]
	}
	c.value(map[string]any{
		"connections": pageItems,
		"paging":      map[string]any{"cursor": next, "count": len(all)},
	})
}

// scopeEndpoints is the endpoint compatibility reports for each permission.
var scopeEndpoints = map[string]string{
	"read_vehicle_info": "/", "read_vin": "/vin", "read_odometer": "/odometer", "read_location": "/location",
	"read_battery": "/battery", "read_charge": "/charge", "control_charge": "/charge", "read_fuel": "/fuel",
	"read_tires": "/tires/pressure", "read_engine_oil": "/engine/oil", "read_security": "/security",
	"control_security": "/security", "control_navigation": "/navigation/destination",
	"read_service_history": "/service/history", "read_diagnostics": "/diagnostics/system_status",
	"read_user_profile": "/user",
}

type capability struct {
	Permission string  `json:"permission"`
	Endpoint   string  `json:"endpoint"`
	Capable    bool    `json:"capable"`
	Reason     *string `json:"reason"`
}

// handleCompatibility is GET /v2.0/compatibility with Basic client auth:
// vehicles of the simulator are compatible, other VINs are not.
func (s *Server) handleCompatibility(c *call) {
	id, secret, ok := c.r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(id), []byte(s.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.ClientSecret)) != 1 {
		c.fail(newError("AUTHENTICATION", ""))
		return
	}
	if s.fault(c, "") {
		return
	}
	q := c.r.URL.Query()
	vin, scope := q.Get("vin"), strings.Fields(q.Get("scope"))
	if vin == "" {
		c.fail(validationError("vin", `"vin" is required`))
		return
	}
	if len(scope) == 0 {
		c.fail(validationError("scope", `"scope" is required`))
		return
	}
	var found *vehicle
	s.mu.RLock()
	for _, v := range s.order {
		if v.VIN == vin {
			found = v
			break
		}
	}
	s.mu.RUnlock()
	caps := []capability{}
	for _, sc := range scope {
		ep, known := scopeEndpoints[sc]
		if !known {
			c.fail(validationError("scope", "unknown permission "+sc))
			return
		}
		capable := found != nil && found.capable(endpointKinds(ep))
		cp := capability{Permission: sc, Endpoint: ep, Capable: capable}
		if !capable {
			r := "VEHICLE_NOT_CAPABLE"
			cp.Reason = &r
		}
		caps = append(caps, cp)
	}
	var reason *string
	if found == nil {
		r := "VEHICLE_NOT_COMPATIBLE"
		reason = &r
	}
	if country := q.Get("country"); country != "" && !strings.EqualFold(country, "US") {
		caps = []capability{}
	}
	c.value(map[string]any{"compatible": found != nil, "reason": reason, "capabilities": caps})
}

func endpointKinds(path string) kinds {
	if ep := endpoints[path]; ep != nil {
		return ep.kinds
	}
	if cmd := commands[path]; cmd != nil {
		return cmd.kinds
	}
	return 0
}
