package smartcartest

import (
	"net/http"
	"net/url"
)

type connectionResource struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		UserID      string `json:"userId"`
		VehicleID   string `json:"vehicleId"`
		Mode        string `json:"mode"`
		ConnectedAt string `json:"connectedAt"`
	} `json:"attributes"`
}

func (cn *connection) resource() connectionResource {
	var r connectionResource
	r.ID, r.Type = cn.VehicleID, "connection"
	r.Attributes.UserID, r.Attributes.VehicleID = cn.UserID, cn.VehicleID
	r.Attributes.Mode, r.Attributes.ConnectedAt = cn.mode, cn.ConnectedAt
	return r
}

// handleConnectionsV3 is /v3/connections[/{vehicleId}] with an application
// token: GET lists (filters filter[userId], filter[vehicleId],
// filter[vehicle.mode]; page[number], page[size]) or reads one, DELETE ends
// one vehicle's connections or all of a user's (filter[userId]), and with
// them the users' v2.0 grants for those vehicles. Never billed.
func (s *Server) handleConnectionsV3(c *call, vehicleID string) {
	if err := s.authApp(c); err != nil {
		c.fail(err)
		return
	}
	if s.fault(c, "") {
		return
	}
	q := c.r.URL.Query()
	switch {
	case c.r.Method == http.MethodGet && vehicleID == "":
		s.listConnectionsV3(c, q)
	case c.r.Method == http.MethodGet:
		s.mu.RLock()
		all := s.connections("", vehicleID)
		s.mu.RUnlock()
		if len(all) == 0 {
			c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
			return
		}
		c.value(map[string]any{"data": all[0].resource()})
	case c.r.Method == http.MethodDelete:
		userID := q.Get("filter[userId]")
		if vehicleID == "" && userID == "" {
			c.fail(validationError("filter[userId]", "give a vehicle id in the path or filter[userId]"))
			return
		}
		s.mu.Lock()
		conns := s.connections(userID, vehicleID)
		for _, cn := range conns {
			s.disconnect(cn.VehicleID, cn.UserID)
		}
		s.mu.Unlock()
		c.value(map[string]any{"meta": map[string]int{"deletedCount": len(conns)}})
	default:
		c.rec.Route = "unknown"
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
	}
}

func (s *Server) listConnectionsV3(c *call, q url.Values) {
	page, size, ok := pageQuery(c, 10, 100)
	if !ok {
		return
	}
	mode := q.Get("filter[vehicle.mode]")
	if mode != "" && mode != "live" && mode != "test" && mode != "simulated" {
		c.fail(validationError("filter[vehicle.mode]", "filter[vehicle.mode] must be live, test or simulated"))
		return
	}
	s.mu.RLock()
	all := s.connections(q.Get("filter[userId]"), q.Get("filter[vehicleId]"))
	s.mu.RUnlock()
	if mode != "" {
		kept := all[:0]
		for _, cn := range all {
			if cn.mode == mode {
				kept = append(kept, cn)
			}
		}
		all = kept
	}
	lo, hi := pageBounds(len(all), page, size)
	data := make([]connectionResource, 0, hi-lo)
	for i := lo; i < hi; i++ {
		data = append(data, all[i].resource())
	}
	filters := url.Values{}
	for _, k := range []string{"filter[userId]", "filter[vehicleId]", "filter[vehicle.mode]"} {
		if v := q.Get(k); v != "" {
			filters.Set(k, v)
		}
	}
	c.value(map[string]any{
		"data":  data,
		"meta":  listMeta{Page: page, PageSize: size, TotalCount: len(all)},
		"links": pageLinks("/v3/connections", filters, page, size, len(all), true),
	})
}
