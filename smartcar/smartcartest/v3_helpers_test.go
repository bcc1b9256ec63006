package smartcartest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// iam posts form to /oauth2/token, with the client credentials as HTTP
// Basic when basic is set.
func iam(t testing.TB, s *smartcartest.Server, form url.Values, basic bool) response {
	t.Helper()
	var hdr []string
	if basic {
		req, _ := http.NewRequest(http.MethodPost, "/", nil)
		req.SetBasicAuth(s.ClientID, s.ClientSecret)
		hdr = []string{"Authorization", req.Header.Get("Authorization")}
	}
	return do(t, nil, http.MethodPost, s.URL+"/oauth2/token", form, hdr...)
}

// appToken gets an application token through /oauth2/token.
func appToken(t testing.TB, s *smartcartest.Server) string {
	t.Helper()
	r := iam(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID},
		"client_secret": {s.ClientSecret}}, false)
	var tok tokenResponse
	r.decode(t, &tok)
	if r.status != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("app token: HTTP %d %s", r.status, r.body)
	}
	return tok.AccessToken
}

// v3 calls /v3<path> with a bearer token and, unless userID is "", an
// sc-user-id header.
func v3(t testing.TB, s *smartcartest.Server, method, token, userID, path string, body any) response {
	t.Helper()
	hdr := []string{"Authorization", "Bearer " + token}
	if userID != "" {
		hdr = append(hdr, "sc-user-id", userID)
	}
	return do(t, nil, method, s.URL+"/v3"+path, body, hdr...)
}

type signalDoc struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		Code   string `json:"code"`
		Name   string `json:"name"`
		Group  string `json:"group"`
		Status struct {
			Value string `json:"value"`
			Error *struct {
				Type string  `json:"type"`
				Code *string `json:"code"`
			} `json:"error"`
		} `json:"status"`
		Body json.RawMessage `json:"body"`
	} `json:"attributes"`
	Meta struct {
		RetrievedAt  int64 `json:"retrievedAt"`
		OEMUpdatedAt int64 `json:"oemUpdatedAt"`
	} `json:"meta"`
}

// errorKind is TYPE:CODE of a failed signal, "" for a successful one.
func (d signalDoc) errorKind() string {
	e := d.Attributes.Status.Error
	if e == nil {
		return ""
	}
	if e.Code == nil {
		return e.Type
	}
	return e.Type + ":" + *e.Code
}

// scalar decodes a {unit, value} body.
func (d signalDoc) scalar(t testing.TB) (string, float64) {
	t.Helper()
	var b struct {
		Unit  string  `json:"unit"`
		Value float64 `json:"value"`
	}
	if err := json.Unmarshal(d.Attributes.Body, &b); err != nil {
		t.Fatalf("%s body %s: %v", d.ID, d.Attributes.Body, err)
	}
	return b.Unit, b.Value
}

// value decodes the "value" of a {value} body into v.
func (d signalDoc) value(t testing.TB, v any) {
	t.Helper()
	var b struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(d.Attributes.Body, &b); err != nil || json.Unmarshal(b.Value, v) != nil {
		t.Fatalf("%s body %s: not {value}", d.ID, d.Attributes.Body)
	}
}

type vehicleDoc struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		Make  string `json:"make"`
		Model string `json:"model"`
		Year  int    `json:"year"`
	} `json:"attributes"`
}

type linksDoc struct {
	Self     string  `json:"self"`
	First    string  `json:"first"`
	Previous *string `json:"previous"`
	Next     *string `json:"next"`
	Last     string  `json:"last"`
}

type metaDoc struct {
	Page       int `json:"page"`
	PageSize   int `json:"pageSize"`
	TotalCount int `json:"totalCount"`
}

type signalsDoc struct {
	Data     []signalDoc `json:"data"`
	Meta     metaDoc     `json:"meta"`
	Links    linksDoc    `json:"links"`
	Included struct {
		Vehicle vehicleDoc `json:"vehicle"`
	} `json:"included"`
}

// allSignals reads every page of a vehicle's signals, following links.next,
// and returns them by code with the number of pages.
func allSignals(t testing.TB, s *smartcartest.Server, token, userID, vehicleID string) (map[string]signalDoc, int) {
	t.Helper()
	out := map[string]signalDoc{}
	path := "/vehicles/" + vehicleID + "/signals"
	pages := 0
	var last string
	for path != "" {
		r := v3(t, s, http.MethodGet, token, userID, path, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d %s", path, r.status, r.body)
		}
		var doc signalsDoc
		r.decode(t, &doc)
		pages++
		for _, sg := range doc.Data {
			if sg.ID <= last {
				t.Errorf("signal %s after %s: not in code order", sg.ID, last)
			}
			last = sg.ID
			out[sg.ID] = sg
		}
		path = ""
		if doc.Links.Next != nil {
			path = strings.TrimPrefix(*doc.Links.Next, "/v3")
		}
		if pages > 100 {
			t.Fatal("links.next never ends")
		}
	}
	return out, pages
}

// signalOf reads one signal.
func signalOf(t testing.TB, s *smartcartest.Server, token, userID, vehicleID, code string) signalDoc {
	t.Helper()
	r := v3(t, s, http.MethodGet, token, userID, "/vehicles/"+vehicleID+"/signals/"+code, nil)
	var doc struct {
		Data signalDoc `json:"data"`
	}
	r.decode(t, &doc)
	if r.status != http.StatusOK || doc.Data.ID != code {
		t.Fatalf("signal %s: HTTP %d %s", code, r.status, r.body)
	}
	return doc.Data
}
