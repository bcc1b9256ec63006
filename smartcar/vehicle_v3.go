package smartcar

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// signalsPageSize is the page size Signals asks for (Smartcar's maximum).
const signalsPageSize = "100"

// maxPages bounds how many pages a list follows, in case links.next never
// ends.
const maxPages = 1000

// VehicleV3 is one vehicle seen through Smartcar API v3, authorized either
// by an AppClient's application token on behalf of a user (AppClient.Vehicle)
// or by the user's own access token (Client.VehicleV3, NewVehicleV3WithToken,
// the mode of Smartcar's official SDKs). Every call sends sc-user-id when a
// user id is known. It is safe for concurrent use; every method returns a
// *Error when the request fails. String, GoString and LogValue never show a
// token.
type VehicleV3 struct {
	id     string
	userID string
	client *Client
	b      bearer
	origin string   // {api}
	base   string   // {api}/v3/vehicles/{id}
	user   []string // sc-user-id header value, or nil
}

func newVehicleV3(c *Client, b bearer, vehicleID, userID string) *VehicleV3 {
	v := &VehicleV3{id: vehicleID, client: c, b: b, origin: c.apiV3Origin,
		base: c.apiV3Origin + "/v3/vehicles/" + url.PathEscape(vehicleID)}
	return v.setUser(userID)
}

func (v *VehicleV3) setUser(userID string) *VehicleV3 {
	v.userID, v.user = userID, nil
	if userID != "" {
		v.user = []string{userID}
	}
	return v
}

// VehicleV3 returns vehicleID on the v3 vehicle API authorized with a user's
// access token, as the official SDKs do, using c's v3 origin and HTTP client.
// Add the user id with WithUserID to send sc-user-id too.
func (c *Client) VehicleV3(vehicleID, accessToken string) *VehicleV3 {
	return newVehicleV3(c, bearer{token: accessToken, auth: []string{"Bearer " + accessToken}}, vehicleID, "")
}

// NewVehicleV3WithToken is Client.VehicleV3 on a client configured from the
// environment.
func NewVehicleV3WithToken(vehicleID, accessToken string) *VehicleV3 {
	return NewClient().VehicleV3(vehicleID, accessToken)
}

// WithUserID returns a copy of v that sends userID as sc-user-id ("" sends
// none).
func (v *VehicleV3) WithUserID(userID string) *VehicleV3 {
	cp := *v
	return cp.setUser(userID)
}

// ID returns the Smartcar vehicle id.
func (v *VehicleV3) ID() string { return v.id }

// UserID returns the user id sent as sc-user-id, or "".
func (v *VehicleV3) UserID() string { return v.userID }

// String shows the vehicle without its token.
func (v *VehicleV3) String() string {
	mode := "app_token"
	if v.b.app == nil {
		mode = "user_token"
	}
	return "smartcar.VehicleV3{id:" + v.id + " user_id:" + v.userID + " auth:" + mode + " token:REDACTED}"
}

// GoString shows the vehicle without its token (for %#v).
func (v *VehicleV3) GoString() string { return v.String() }

// LogValue makes slog print the vehicle without its token.
func (v *VehicleV3) LogValue() slog.Value {
	return slog.GroupValue(slog.String("vehicle_id", v.id), slog.String("user_id", v.userID))
}

func (v *VehicleV3) request(method, u string, body []byte) request {
	r := request{method: method, url: u, userID: v.user}
	if body != nil {
		r.body, r.ctype = body, jsonContentType
	}
	return r
}

// Info returns the vehicle's id, make, model and year (GET /v3/vehicles/{id}).
func (v *VehicleV3) Info(ctx context.Context) (*Info, error) {
	r := v.request(http.MethodGet, v.base, nil)
	var doc vehicleDoc
	meta, _, err := fetchV3(ctx, v.client, &v.b, &r, &doc)
	if err != nil {
		return nil, err
	}
	w := &doc.vehicleWire
	if doc.Data != nil {
		w = doc.Data
	}
	info := w.info(meta)
	if info.ID == "" {
		info.ID = v.id
	}
	return info, nil
}

// Signals returns every signal of the vehicle (GET
// /v3/vehicles/{id}/signals?page=1&pageSize=100, then links.next until it is
// null). A signal the vehicle cannot provide is an item with its own Err,
// not a failure of the call. Every page is one billed request.
func (v *VehicleV3) Signals(ctx context.Context) (*Signals, error) {
	u := v.base + "/signals?page=1&pageSize=" + signalsPageSize
	out := &Signals{}
	var seen [4]string // the pages read, on the stack for the common case
	visited := seen[:0]
	p := getSignalsPage()
	defer putSignalsPage(p)
	for u != "" {
		if len(visited) == maxPages {
			return nil, pagingError("links.next did not end after " + itoa(maxPages) + " pages")
		}
		visited = append(visited, u)
		r := v.request(http.MethodGet, u, nil)
		p.reset()
		meta, _, err := fetchV3(ctx, v.client, &v.b, &r, p)
		if err != nil {
			return nil, err
		}
		if len(visited) == 1 {
			out.Meta = meta
			if p.Included.Vehicle != nil {
				out.Vehicle = p.Included.Vehicle.info(meta)
			}
			out.Items = make([]Signal, 0, max(len(p.Data), min(p.Meta.TotalCount, 1000)))
		}
		for i := range p.Data {
			out.Items = append(out.Items, p.Data[i].signal(meta.RequestID, r.secrets))
		}
		if u, err = nextPage(v.origin, u, string(p.Links.Next), visited); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// nextPage resolves a list's links.next: "" when there is none, an error
// when it leaves the origin or goes back to a page already read.
func nextPage(origin, current, next string, visited []string) (string, error) {
	if strings.TrimSpace(next) == "" {
		return "", nil
	}
	u, ok := resolveLink(origin, current, next)
	if !ok {
		return "", pagingError("links.next " + snippet([]byte(next)) + " is not on the API origin")
	}
	for _, seen := range visited {
		if seen == u {
			return "", pagingError("links.next goes back to a page already read")
		}
	}
	return u, nil
}

func pagingError(description string) *Error {
	return &Error{Type: TypeSDK, Code: "INVALID_RESPONSE", StatusCode: http.StatusOK, Description: description}
}

// Signal returns one signal of the vehicle (GET
// /v3/vehicles/{id}/signals/{code}). A signal the vehicle cannot provide is
// returned with its Err set and a nil error, as in Signals; an unknown code is
// a RESOURCE_NOT_FOUND *Error.
func (v *VehicleV3) Signal(ctx context.Context, code string) (*Signal, error) {
	if strings.TrimSpace(code) == "" {
		return nil, validationError("PARAMETER", "signal code is empty")
	}
	r := v.request(http.MethodGet, v.base+"/signals/"+url.PathEscape(code), nil)
	var doc signalDoc
	meta, _, err := fetchV3(ctx, v.client, &v.b, &r, &doc)
	if err != nil {
		return nil, err
	}
	w := &doc.signalWire
	if doc.Data != nil {
		w = doc.Data
	}
	s := w.signal(meta.RequestID, r.secrets)
	if s.Code == "" {
		s.Code = code
	}
	return &s, nil
}

// Request sends a request to a path below this vehicle on the v3 API
// ("/signals/charge-voltage", "commands/charge/start"; "" is the vehicle
// itself), authorized and with sc-user-id like every other call, and
// returns the raw response. body is sent as JSON: nil sends nothing, []byte
// and json.RawMessage are sent as they are, anything else is marshalled.
func (v *VehicleV3) Request(ctx context.Context, method, path string, body any) (*Response, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = encodeBody(body); err != nil {
			return nil, err
		}
	}
	p, q, _ := strings.Cut(path, "?")
	u := v.base
	if p = strings.Trim(strings.TrimSpace(p), "/"); p != "" {
		u += "/" + p
	}
	if q != "" {
		u += "?" + q
	}
	r := v.request(strings.ToUpper(method), u, raw)
	return rawV3(ctx, v.client, &v.b, &r)
}

// Signals returns every v3 signal of the vehicle, authorized with the
// vehicle's access token against the v3 API origin (Client's
// WithAPIV3Origin), like Python's get_signals. See VehicleV3.Signals.
func (v *Vehicle) Signals(ctx context.Context) (*Signals, error) { return v.v3().Signals(ctx) }

// Signal returns one v3 signal of the vehicle, like Python's get_signal. See
// VehicleV3.Signal.
func (v *Vehicle) Signal(ctx context.Context, code string) (*Signal, error) {
	return v.v3().Signal(ctx, code)
}

func (v *Vehicle) v3() *VehicleV3 {
	return newVehicleV3(v.client, bearer{token: v.secrets[0], auth: v.auth}, v.id, "")
}
