package smartcar

import (
	"cmp"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// connectionsPageSize is the page size the v3 lists ask for.
const connectionsPageSize = 100

// connectionWire is a v3 connection resource {id: vehicleId, type:
// "connection", attributes: {userId, vehicleId, mode, connectedAt}}.
type connectionWire struct {
	ID         string `json:"id"`
	Attributes struct {
		UserID      string   `json:"userId"`
		VehicleID   string   `json:"vehicleId"`
		Mode        string   `json:"mode"`
		ConnectedAt flexTime `json:"connectedAt"`
	} `json:"attributes"`
}

func (w *connectionWire) connection() Connection {
	a := &w.Attributes
	return Connection{VehicleID: cmp.Or(a.VehicleID, w.ID), UserID: a.UserID, Mode: a.Mode,
		ConnectedAt: time.Time(a.ConnectedAt)}
}

// listQuery renders JSON:API filters (in the order given, empty ones left
// out) and page[number]=1&page[size]=100.
func listQuery(filters ...[2]string) string {
	var q queryBuilder
	for _, f := range filters {
		if f[1] != "" {
			q.add("filter["+f[0]+"]", f[1])
		}
	}
	q.add("page[number]", "1")
	q.add("page[size]", strconv.Itoa(connectionsPageSize))
	return q.String()
}

// list yields every resource of a paged v3 list starting at u on origin,
// following links.next, converted by conv. A failure is yielded once, last.
func list[W any, T any](ctx context.Context, a *AppClient, origin, u string, conv func(*W) T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var visited []string
		for u != "" {
			if len(visited) == maxPages {
				yield(zero, pagingError("links.next did not end after "+itoa(maxPages)+" pages"))
				return
			}
			visited = append(visited, u)
			r := request{method: http.MethodGet, url: u}
			var p page[W]
			if _, _, err := fetchV3(ctx, a.client, a.appBearer(), &r, &p); err != nil {
				yield(zero, err)
				return
			}
			for i := range p.Data {
				if !yield(conv(&p.Data[i]), nil) {
					return
				}
			}
			var err error
			if u, err = nextPage(origin, u, string(p.Links.Next), visited); err != nil {
				yield(zero, err)
				return
			}
		}
	}
}

// collect gathers every item of seq, or the first error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for item, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, item)
	}
	return out, nil
}

// Connections lists the application's connections (GET /v3/connections),
// one user-vehicle pair at a time, filtered by filter's UserID, VehicleID and
// Mode (filter may be nil), following every page. Stop ranging to stop
// fetching; a failure is the last pair the iterator yields. Listing
// connections is not billed.
//
//	for conn, err := range app.Connections(ctx, &smartcar.ConnectionsFilter{UserID: uid}) {
//		if err != nil { return err }
//		...
//	}
func (a *AppClient) Connections(ctx context.Context, filter *ConnectionsFilter) iter.Seq2[Connection, error] {
	var f ConnectionsFilter
	if filter != nil {
		f = *filter
	}
	u := a.client.apiV3Origin + "/v3/connections?" +
		listQuery([2]string{"userId", f.UserID}, [2]string{"vehicleId", f.VehicleID}, [2]string{"vehicle.mode", f.Mode})
	return list(ctx, a, a.client.apiV3Origin, u, (*connectionWire).connection)
}

// ListConnections returns every connection Connections yields.
func (a *AppClient) ListConnections(ctx context.Context, filter *ConnectionsFilter) ([]Connection, error) {
	return collect(a.Connections(ctx, filter))
}

// Connection returns the connection of one vehicle (GET
// /v3/connections/{vehicleID}).
func (a *AppClient) Connection(ctx context.Context, vehicleID string) (*Connection, error) {
	if vehicleID == "" {
		return nil, validationError("PARAMETER", "connection: vehicle id is empty")
	}
	r := request{method: http.MethodGet, url: a.client.apiV3Origin + "/v3/connections/" + url.PathEscape(vehicleID)}
	var doc struct {
		Data *connectionWire `json:"data"`
		connectionWire
	}
	if _, _, err := fetchV3(ctx, a.client, a.appBearer(), &r, &doc); err != nil {
		return nil, err
	}
	w := &doc.connectionWire
	if doc.Data != nil {
		w = doc.Data
	}
	c := w.connection()
	c.VehicleID = cmp.Or(c.VehicleID, vehicleID)
	return &c, nil
}

// ConnectionsDeleted is the answer of AppClient.DeleteConnections.
type ConnectionsDeleted struct {
	// Count is meta.deletedCount, or -1 when the answer did not say.
	Count      int
	StatusCode int // 200, 202 or 204
	Meta       Meta
}

// DeleteConnections removes connections, revoking the application's access:
// the one of filter.VehicleID (DELETE /v3/connections/{vehicleId}) or every
// one of filter.UserID (DELETE /v3/connections?filter[userId]=...). Exactly
// one of the two must be set (Mode is ignored), else it fails before sending
// with a VALIDATION *Error. Any 2xx answer is a success.
func (a *AppClient) DeleteConnections(ctx context.Context, filter ConnectionsFilter) (*ConnectionsDeleted, error) {
	if (filter.UserID == "") == (filter.VehicleID == "") {
		return nil, validationError("PARAMETER", "delete connections: set exactly one of UserID and VehicleID")
	}
	u := a.client.apiV3Origin + "/v3/connections"
	if filter.VehicleID != "" {
		u += "/" + url.PathEscape(filter.VehicleID)
	} else {
		var q queryBuilder
		q.add("filter[userId]", filter.UserID)
		u += "?" + q.String()
	}
	r := request{method: http.MethodDelete, url: u}
	resp, err := rawV3(ctx, a.client, a.appBearer(), &r)
	if err != nil {
		return nil, err
	}
	out := &ConnectionsDeleted{Count: -1, StatusCode: resp.StatusCode, Meta: resp.Meta}
	var body struct {
		Meta struct {
			DeletedCount *int `json:"deletedCount"`
		} `json:"meta"`
	}
	if json.Unmarshal(resp.Body, &body) == nil && body.Meta.DeletedCount != nil {
		out.Count = *body.Meta.DeletedCount
	}
	return out, nil
}
