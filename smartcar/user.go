package smartcar

import (
	"context"
	"net/http"
)

// GetVehicles lists the ids of the vehicles the access token can reach;
// paging may be nil.
func (c *Client) GetVehicles(ctx context.Context, accessToken string, paging *Paging) (*Vehicles, error) {
	if c.err != nil {
		return nil, c.err
	}
	u := c.apiOrigin + "/v" + c.version + "/vehicles"
	if q := paging.query(); q != "" {
		u += "?" + q
	}
	r := c.userRequest(u, accessToken)
	return fetch[Vehicles](ctx, c, &r)
}

// GetUser returns the id of the Smartcar user the access token belongs to.
func (c *Client) GetUser(ctx context.Context, accessToken string) (*User, error) {
	if c.err != nil {
		return nil, c.err
	}
	r := c.userRequest(c.apiOrigin+"/v"+c.version+"/user", accessToken)
	return fetch[User](ctx, c, &r)
}

func (c *Client) userRequest(u, accessToken string) request {
	return request{method: http.MethodGet, url: u, auth: []string{"Bearer " + accessToken}, secrets: secrets{accessToken}}
}

// GetVehicles calls Client.GetVehicles on a client configured from the environment.
func GetVehicles(ctx context.Context, accessToken string, paging *Paging) (*Vehicles, error) {
	return NewClient().GetVehicles(ctx, accessToken, paging)
}

// GetUser calls Client.GetUser on a client configured from the environment.
func GetUser(ctx context.Context, accessToken string) (*User, error) {
	return NewClient().GetUser(ctx, accessToken)
}
