package smartcar

import (
	"context"
	"net/http"
	"strconv"
)

// ConnectionsOptions filters and pages GetConnections. Pass a page's
// Paging.Cursor back as Cursor for the next page.
type ConnectionsOptions struct {
	UserID    string
	VehicleID string
	Limit     int
	Cursor    string
}

// ConnectionsFilter selects the connections DeleteConnections removes:
// exactly one of UserID and VehicleID must be set. AppClient.Connections
// uses it as a filter, where any of the fields may be set and Mode (live,
// test or simulated) selects the vehicles' mode; DeleteConnections ignores
// Mode.
type ConnectionsFilter struct {
	UserID    string
	VehicleID string
	Mode      string
}

func (c *Client) connectionsRequest(method, amt, query string) request {
	u := c.managementOrigin + "/v" + c.version + "/management/connections"
	if query != "" {
		u += "?" + query
	}
	return request{method: method, url: u, auth: []string{basicAuth("default", amt)}, secrets: secrets{amt}}
}

// GetConnections lists the application's connections (newest first) with
// the application management token amt; opts may be nil.
func (c *Client) GetConnections(ctx context.Context, amt string, opts *ConnectionsOptions) (*Connections, error) {
	if c.err != nil {
		return nil, c.err
	}
	var q queryBuilder
	if opts != nil {
		if opts.UserID != "" {
			q.add("user_id", opts.UserID)
		}
		if opts.VehicleID != "" {
			q.add("vehicle_id", opts.VehicleID)
		}
		if opts.Limit > 0 {
			q.add("limit", strconv.Itoa(opts.Limit))
		}
		if opts.Cursor != "" {
			q.add("cursor", opts.Cursor)
		}
	}
	r := c.connectionsRequest(http.MethodGet, amt, q.String())
	return fetch[Connections](ctx, c, &r)
}

// DeleteConnections removes the connections of one user or one vehicle,
// revoking the application's access to them. A filter with both or neither
// id fails before sending with a VALIDATION *Error.
func (c *Client) DeleteConnections(ctx context.Context, amt string, filter ConnectionsFilter) (*DeletedConnections, error) {
	if (filter.UserID == "") == (filter.VehicleID == "") {
		return nil, validationError("PARAMETER", "delete connections: set exactly one of UserID and VehicleID")
	}
	if c.err != nil {
		return nil, c.err
	}
	var q queryBuilder
	if filter.UserID != "" {
		q.add("user_id", filter.UserID)
	} else {
		q.add("vehicle_id", filter.VehicleID)
	}
	r := c.connectionsRequest(http.MethodDelete, amt, q.String())
	r.allowEmpty = true
	return fetch[DeletedConnections](ctx, c, &r)
}

// GetConnections calls Client.GetConnections on a client configured from the
// environment.
func GetConnections(ctx context.Context, amt string, opts *ConnectionsOptions) (*Connections, error) {
	return NewClient().GetConnections(ctx, amt, opts)
}

// DeleteConnections calls Client.DeleteConnections on a client configured
// from the environment.
func DeleteConnections(ctx context.Context, amt string, filter ConnectionsFilter) (*DeletedConnections, error) {
	return NewClient().DeleteConnections(ctx, amt, filter)
}
