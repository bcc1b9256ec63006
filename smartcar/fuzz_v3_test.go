package smartcar_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Credentials of the fuzzed v3 requests; $TOK in a fuzzed body or header is
// the bearer token of the request, $SEC the client secret.
const (
	fuzzAppToken  = "apptok-4e3d2c1b-0a9f-4e8d-8c7b-6a5f4e3d2c1b"
	fuzzUserToken = "usrtok-1b2c3d4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e"
	fuzzV3Secret  = "v3sec-9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
)

// v3Transport answers the token endpoint with fuzzAppToken and every other
// request with one canned response, counting both.
type v3Transport struct {
	status       int
	header       http.Header
	body         string
	tokens, apis atomic.Int32
}

func (m *v3Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	status, h, body := m.status, m.header.Clone(), m.body
	if r.URL.Path == "/oauth2/token" {
		m.tokens.Add(1)
		status, h, body = 200, http.Header{}, `{"access_token":"`+fuzzAppToken+`","token_type":"Bearer","expires_in":3600}`
	} else {
		m.apis.Add(1)
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		repl := strings.NewReplacer("$TOK", tok, "$SEC", fuzzV3Secret)
		body = repl.Replace(body)
		for k, vs := range h {
			for i := range vs {
				vs[i] = repl.Replace(vs[i])
			}
			h[k] = vs
		}
	}
	return &http.Response{
		StatusCode: status, Status: strconv.Itoa(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: -1, Request: r,
	}, nil
}

// FuzzErrorResponseV3 sends any non-2xx status, Retry-After, SC-Request-Id
// and body to VehicleV3.Signals, with an application token or a user's. The
// result is a *smartcar.Error carrying the status that holds none of the
// credentials the request carried; an application token answered 401 is renewed once and the call
// retried once, never more.
func FuzzErrorResponseV3(f *testing.F) {
	for _, s := range []struct {
		status          int
		retryAfter, rid string
		body            string
		app             bool
	}{
		{430, "", "req-1", `{"type":"BILLING","code":"VEHICLE_REQUEST_LIMIT","description":"spent","statusCode":430}`, true},
		{400, "", "", `{"type":"VALIDATION","code":"PARAMETER","description":"missing userId","statusCode":400}`, true},
		{401, "", "", `{"type":"AUTHENTICATION","code":null,"description":"token $TOK expired"}`, true},
		{401, "", "$TOK", `{"errors":[{"status":"401","type":"AUTHENTICATION","detail":"$TOK and $SEC"}]}`, false},
		{403, "", "", `{"type":"PERMISSION","description":"user did not connect vehicle","resolution":{"type":"REAUTHENTICATE"}}`, true},
		{429, "30", "", `{"type":"RATE_LIMIT","code":"VEHICLE","description":"slow down"}`, true},
		{502, "", "", `{"errors":[{"status":"502","type":"UPSTREAM","code":"INVALID_DATA","title":"Bad Gateway","detail":"x","links":{"about":{"href":"$SEC"}},"resolution":{"type":"RETRY_LATER"}}]}`, true},
		{400, "", "", `{"errors":[{"type":"VALIDATION","detail":[{"field":"$TOK"}]}]}`, true},
		{404, "", "", `{"errors":[]}`, false},
		{500, "", "", `{"errors":[null,{"type":7}]}`, true},
		{503, "NaN", "", `<html>$TOK</html>`, true},
		{599, "", "", "\xff{\"errors\":", false},
	} {
		f.Add(s.status, s.retryAfter, s.rid, []byte(s.body), s.app)
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter, requestID string, body []byte, app bool) {
		status = 300 + int(uint(status)%300)
		tr := &v3Transport{status: status, body: string(body),
			header: http.Header{"Retry-After": {retryAfter}, "Sc-Request-Id": {requestID}, "Content-Type": {"application/json"}}}
		hc := &http.Client{Transport: tr}
		var v *smartcar.VehicleV3
		if app {
			a, err := smartcar.NewAppClient(&smartcar.AppClientOptions{ClientID: "id", ClientSecret: fuzzV3Secret,
				IAMOrigin: "http://iam.invalid", APIOrigin: "http://api.invalid", ManagementOrigin: "http://mgmt.invalid", HTTPClient: hc})
			if err != nil {
				t.Fatal(err)
			}
			v = a.Vehicle("veh-1", "user-1")
		} else {
			v = smartcar.NewClient(smartcar.WithAPIV3Origin("http://api.invalid"), smartcar.WithHTTPClient(hc)).VehicleV3("veh-1", fuzzUserToken)
		}
		res, err := v.Signals(t.Context())
		if res != nil {
			t.Fatalf("Signals returned %+v for HTTP %d", res, status)
		}
		e, ok := err.(*smartcar.Error)
		if !ok || e == nil {
			t.Fatalf("error %v is a %T, want *smartcar.Error", err, err)
		}
		if e.StatusCode != status || e.Type == "" {
			t.Errorf("error %v: status %d, want %d and a type", e, e.StatusCode, status)
		}
		if e.Retryable() == e.Permanent() || (e.QuotaExhausted() && (e.Retryable() || e.NotBefore(time.Now()).IsZero())) {
			t.Errorf("inconsistent classification of %v", e)
		}
		if app { // the credentials the request carried
			checkNoSecrets(t, e, fuzzAppToken, fuzzV3Secret)
		} else {
			checkNoSecrets(t, e, fuzzUserToken)
		}
		wantAPI, wantTokens := int32(1), int32(0)
		if app {
			wantTokens = 1
			if status == http.StatusUnauthorized {
				wantAPI, wantTokens = 2, 2
			}
		}
		if tr.apis.Load() != wantAPI || tr.tokens.Load() != wantTokens {
			t.Errorf("HTTP %d (app %v): %d API and %d token requests, want %d and %d", status, app,
				tr.apis.Load(), tr.tokens.Load(), wantAPI, wantTokens)
		}
	})
}

// checkNoSecrets fails if any text of e (and what it wraps) holds a secret.
func checkNoSecrets(t *testing.T, e *smartcar.Error, secrets ...string) {
	t.Helper()
	texts := []string{e.Error(), e.Type, e.Code, e.Description, e.DocURL, e.RequestID, e.SuggestedUserMessage,
		e.Resolution.Type, e.Resolution.URL, fmt.Sprint(e.Detail)}
	for u := error(e); u != nil; u = errors.Unwrap(u) {
		texts = append(texts, u.Error())
	}
	for _, s := range texts {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Fatalf("error %#v holds a secret in %q", e, s)
			}
		}
	}
}

// FuzzParseWebhook parses any body. The result is an event or a
// VALIDATION:WEBHOOK *Error, never a panic; parsing is deterministic; an
// event has a type, one Signal per signal sent, and signals whose status,
// error and body agree; its times can be encoded again.
func FuzzParseWebhook(f *testing.F) {
	for _, s := range []string{
		webhookVehicleState, webhookVehicleError,
		`{"eventId":"e","eventType":"VERIFY","data":{"challenge":"c"},"meta":{"version":"4.0","deliveredAt":"2025-07-31T19:38:42.332Z"}}`,
		`{"version":"2.0","webhookId":"wh","eventName":"verify","payload":{"challenge":"abc"}}`,
		`{"version":2,"eventName":"schedule","payload":null}`,
		`{"eventType":"VEHICLE_STATE","data":{"signals":[{"code":"a","status":{"value":"error"}},{"code":"b","status":"SUCCESS"},{"code":"c","body":null,"meta":{"retrievedAt":-1,"oemUpdatedAt":1e300}}]}}`,
		`{"eventType":"VEHICLE_STATE","data":{"vehicle":{"year":"20x0"},"signals":[{"code":"d","meta":{"retrievedAt":"99999999999999999"}}]},"meta":{"deliveredAt":"9999-12-31T23:59:59-23:59","signalCount":"3"}}`,
		`{"eventType":"VEHICLE_ERROR","data":{"errors":[{"code":5,"state":"resolved","resolution":"REAUTHENTICATE","signals":[{}]},{}]}}`,
		`{"eventType":"X","triggers":[{"signal":null}],"meta":{"version":{"a":1}}}`,
		`[]`, `null`, `{"eventType":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := smartcar.ParseWebhook(body)
		if err != nil {
			e, ok := err.(*smartcar.Error)
			if !ok || ev != nil || e.Type != smartcar.TypeValidation || e.Code != "WEBHOOK" {
				t.Fatalf("ParseWebhook = %v, %v (%T); want a VALIDATION:WEBHOOK *Error", ev, err, err)
			}
			return
		}
		if ev == nil || ev.Type == "" {
			t.Fatalf("event %+v has no type", ev)
		}
		again, _ := smartcar.ParseWebhook(body)
		if !reflect.DeepEqual(ev, again) {
			t.Fatalf("two parses differ:\n%+v\n%+v", ev, again)
		}
		var raw struct {
			Data struct {
				Signals []json.RawMessage `json:"signals"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &raw) == nil && !ev.Legacy() && len(raw.Data.Signals) != len(ev.Signals) {
			t.Errorf("%d signals sent, %d parsed", len(raw.Data.Signals), len(ev.Signals))
		}
		times := []time.Time{ev.Meta.DeliveredAt}
		for i := range ev.Signals {
			s := &ev.Signals[i]
			if (s.Status == smartcar.SignalError) != (s.Err != nil) || (s.Err != nil && (s.Err.Type == "" || s.Body != nil)) {
				t.Errorf("signal %+v: status, error and body disagree", s)
			}
			if s.Err != nil && s.Decode(new(any)) != s.Err {
				t.Errorf("Decode of failed signal %q does not return its error", s.Code)
			}
			if s.Body != nil && !json.Valid(s.Body) {
				t.Errorf("signal %q body %q is not JSON", s.Code, s.Body)
			}
			times = append(times, s.RetrievedAt, s.OEMUpdatedAt)
		}
		for _, we := range ev.Errors {
			if we.Err == nil || we.Err.Type == "" || we.State == "" {
				t.Errorf("webhook error %+v lacks an error, type or state", we)
			}
		}
		for _, tm := range times {
			if _, err := tm.MarshalJSON(); err != nil {
				t.Errorf("time %v cannot be encoded: %v", tm, err)
			}
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Errorf("event cannot be encoded: %v", err)
		}
	})
}
