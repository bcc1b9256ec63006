package smartcar_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Credentials the fuzzed requests carry. In fuzzed bodies and headers the
// markers $TOK (the access or refresh token), $SEC (the client secret) and
// $B64 (the Basic authorization value) are replaced by them, so the fuzzer can echo credentials back.
const (
	fuzzAccess  = "acc-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
	fuzzRefresh = "ref-0a1b2c3d-4e5f-4061-8273-9485a6b7c8d9"
	fuzzSecret  = "sec-f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f"
	fuzzID      = "client-id-1"
)

// memTransport answers every request in memory with one canned response, so a
// fuzzer can try many responses a second (the hostile-response tests below
// use a real HTTP server instead).
type memTransport struct {
	status int
	header http.Header
	body   []byte
}

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: m.status, Status: strconv.Itoa(m.status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: m.header.Clone(), Body: io.NopCloser(bytes.NewReader(m.body)), ContentLength: -1, Request: r,
	}, nil
}

func withSecrets(s, token string) string {
	return strings.NewReplacer("$TOK", token, "$SEC", fuzzSecret, "$B64", basicAuth(fuzzID, fuzzSecret)).Replace(s)
}

// checkFuzzErr fails unless err is a *smartcar.Error (itself, not wrapped)
// that holds none of the request's credentials: the access token for a
// vehicle request, else the refresh token, client secret and Basic value.
func checkFuzzErr(t *testing.T, err error, tokenEndpoint ...bool) *smartcar.Error {
	t.Helper()
	e, ok := err.(*smartcar.Error)
	if !ok || e == nil {
		t.Fatalf("error %v is a %T, want *smartcar.Error", err, err)
	}
	if e.Type == "" {
		t.Errorf("error %v has no type", e)
	}
	if e.RetryAfter < 0 || e.RetryAfter > 366*24*time.Hour {
		t.Errorf("RetryAfter = %v, want 0..1y", e.RetryAfter)
	}
	if e.Retryable() == e.Permanent() {
		t.Errorf("Retryable() == Permanent() == %v for %v", e.Retryable(), e)
	}
	texts := []string{e.Error(), e.Type, e.Code, e.Description, e.DocURL, e.RequestID, e.SuggestedUserMessage,
		e.Resolution.Type, e.Resolution.URL, fmt.Sprint(e.Detail)}
	for u := error(e); u != nil; u = errors.Unwrap(u) {
		texts = append(texts, u.Error())
	}
	creds := []string{fuzzAccess}
	if len(tokenEndpoint) > 0 && tokenEndpoint[0] {
		creds = []string{fuzzRefresh, fuzzSecret, basicAuth(fuzzID, fuzzSecret)}
	}
	for _, s := range texts {
		for _, secret := range creds {
			if strings.Contains(s, secret) {
				t.Fatalf("error %#v holds a credential in %q", e, s)
			}
		}
	}
	return e
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// FuzzErrorResponse sends any non-2xx status, Retry-After, Content-Type,
// SC-Request-Id and body through Client.Batch or AuthClient.ExchangeRefreshToken.
// The result is always a *smartcar.Error carrying the status, never a panic,
// and never holds the access token, refresh token or client secret.
func FuzzErrorResponse(f *testing.F) {
	for _, s := range []struct {
		status           int
		retryAfter, ct   string
		requestID, body  string
		tokenEndpointReq bool
	}{
		{429, "60", "application/json", "req-1", `{"type":"RATE_LIMIT","code":"VEHICLE","description":"slow","resolution":{"type":"RETRY_LATER"}}`, false},
		{409, "", "application/json", "", `{"type":"VEHICLE_STATE","code":"ASLEEP","requestId":"r","detail":[{"field":"x"}]}`, false},
		{400, "", "application/json", "", `{"type":"VALIDATION","code":123,"detail":[{"token":"$TOK"}],"description":"bad $TOK"}`, false},
		{401, "", "application/json", "$TOK", `{"error":"authentication_error","message":"token $TOK expired","code":"AUTH"}`, false},
		{400, "", "application/json", "", `{"error":"invalid_grant","error_description":"refresh token $TOK spent, secret $SEC"}`, true},
		{401, "", "application/json", "", `{"error":"invalid_client","error_description":"\u0073ec-f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f"}`, true},
		{400, "", "application/json", "", `{"type":"VALIDATION","description":"\u0061cc-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"}`, false},
		{400, "", "application/json", "", `{"type":"VALIDATION","detail":[{"h":"Basic $B64"}]}`, true},
		{503, "Wed, 21 Oct 2099 07:28:00 GMT", "application/json", "", `{"errors":[{"type":"UPSTREAM","code":"UNKNOWN","title":"t","detail":"$TOK","links":{"about":"u"}}]}`, false},
		{502, "", "text/html", "", "<html><body>Bad Gateway $TOK</body></html>", false},
		{500, "1e999", "", "", ``, false},
		{500, "NaN", "application/json", "", `null`, false},
		{500, "-5", "application/json", "", `[1,2,3]`, false},
		{404, "0.5", "application/json", "", `{"type":123}`, false},
		{418, "", "application/json", "", `{"type":"X","resolution":"REAUTHENTICATE","code":{"a":1}}`, false},
		{300, "", "application/json", "", `{"type":"X","resolution":{"type":null,"url":7}}`, false},
		{599, "", "application/json", "", "\xff\xfe{\"type\"", false},
		{400, "", "application/json", "", `{"type":"VALIDATION","detail":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, false},
	} {
		f.Add(s.status, s.retryAfter, s.ct, s.requestID, []byte(s.body), s.tokenEndpointReq)
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter, contentType, requestID string, body []byte, tokenEndpoint bool) {
		status = 300 + int(uint(status)%300) // any non-2xx status a server can send
		token := fuzzAccess
		if tokenEndpoint {
			token = fuzzRefresh
		}
		h := http.Header{}
		h["Retry-After"] = []string{withSecrets(retryAfter, token)}
		h["Content-Type"] = []string{contentType}
		h["Sc-Request-Id"] = []string{withSecrets(requestID, token)}
		tr := memTransport{status: status, header: h, body: []byte(withSecrets(string(body), token))}
		c := smartcar.NewClient(smartcar.WithAPIOrigin("http://api.invalid"), smartcar.WithAuthOrigin("http://auth.invalid"),
			smartcar.WithHTTPClient(&http.Client{Transport: tr}))
		var err error
		if tokenEndpoint {
			a, aerr := smartcar.NewAuthClient(smartcar.WithClientID(fuzzID), smartcar.WithClientSecret(fuzzSecret),
				smartcar.WithRedirectURI("http://localhost/cb"), smartcar.WithClient(c))
			if aerr != nil {
				t.Fatal(aerr)
			}
			var acc *smartcar.Access
			acc, err = a.ExchangeRefreshToken(t.Context(), fuzzRefresh)
			if acc != nil {
				t.Fatalf("ExchangeRefreshToken returned an Access for HTTP %d", status)
			}
		} else {
			var res *smartcar.BatchResponse
			res, err = c.Batch(t.Context(), fuzzAccess, "veh-1", []string{"/odometer"})
			if res != nil {
				t.Fatalf("Batch returned a response for HTTP %d", status)
			}
		}
		e := checkFuzzErr(t, err, tokenEndpoint)
		if e.StatusCode != status {
			t.Errorf("StatusCode = %d, want %d", e.StatusCode, status)
		}
	})
}

// fuzzPaths are the paths FuzzBatchResponse picks from with a bit mask.
var fuzzPaths = []string{
	smartcar.PathAttributes, smartcar.PathVIN, smartcar.PathOdometer, smartcar.PathLocation, smartcar.PathBattery,
	smartcar.PathBatteryCapacity, smartcar.PathNominalCapacity, smartcar.PathCharge, smartcar.PathChargeLimit,
	smartcar.PathFuel, smartcar.PathTirePressure, smartcar.PathEngineOil, smartcar.PathLockStatus,
	smartcar.PathDiagnosticSystemStatus, smartcar.PathDiagnosticTroubleCodes,
}

// FuzzBatchResponse sends any 200 body through Client.Batch. The result is
// either a *smartcar.Error or a BatchResponse holding one item per requested
// path, in order, each either a success (2xx, no Err) or an error (Err set),
// and every accessor returns a value or a *smartcar.Error without panicking.
func FuzzBatchResponse(f *testing.F) {
	f.Add(uint16(0x7fff), "", []byte(`{"responses":[
		{"path":"/odometer","code":200,"headers":{"sc-unit-system":"imperial","sc-data-age":"2024-01-01T00:00:00Z"},"body":{"distance":12.5}},
		{"path":"/location","code":200,"body":{"latitude":1,"longitude":2}},
		{"path":"/battery","code":409,"headers":{"retry-after":"30"},"body":{"type":"VEHICLE_STATE","code":"ASLEEP"}},
		{"path":"/charge","code":429,"headers":{"retry-after":999},"body":{"type":"RATE_LIMIT","code":"VEHICLE"}},
		{"path":"/security","code":200,"body":{"isLocked":true,"doors":[{"type":"frontLeft","status":"LOCKED"}]}},
		{"path":"/diagnostics/dtcs","code":200,"body":{"activeCodes":[{"code":"P1","timestamp":"2024-01-01T00:00:00Z"}]}}]}`))
	f.Add(uint16(0x0004), "/tesla/charge/ammeter", []byte(`{"responses":[{"path":"tesla/charge/ammeter/","code":200,"body":{"amperage":7}},{"path":"/x","code":-1,"body":null}]}`))
	f.Add(uint16(0x0006), "", []byte(`{"responses":[{"path":"/vin","code":500,"body":"$TOK"},{"path":"/odometer","code":401,"body":{"type":"AUTHENTICATION","description":"$TOK"}}]}`))
	f.Add(uint16(0x0001), "", []byte(`{"responses":[{"path":"/","code":700,"body":{}},{"path":"/","code":0},{"path":"/","code":204}]}`))
	f.Add(uint16(0x0002), "", []byte(`{"responses":[{"path":"/vin","code":200,"headers":{"a":null,"b":[1],"c":{"d":1}},"body":[]}]}`))
	f.Add(uint16(0x0002), "", []byte(`{"responses":[{"path":"/vin","code":200,"headers":{"re\u0074ry-after":"5","x":"\n"},"body":{"vin":7}}]}`))
	f.Add(uint16(0x0002), "", []byte(`{"responses":[{"path":"/vin","code":200,"headers":{"sc-data-age":"9999-12-31T23:59:59-23:59","sc-fetched-at":"0000-01-01T00:00:00+01:00"},"body":{"vin":"V"}}]}`))
	f.Add(uint16(0x0002), "", []byte(`{"responses":null}`))
	f.Add(uint16(0x0002), "", []byte(`{"responses":{"path":"/vin"}}`))
	f.Add(uint16(0x0002), "", []byte(`{"responses":[{"path":"/vin","code":"200"}]}`))
	f.Add(uint16(0x0002), "", []byte(`{"responses":[`+strings.Repeat("[", 100)))
	f.Fuzz(func(t *testing.T, mask uint16, extra string, body []byte) {
		var paths []string
		for i, p := range fuzzPaths {
			if mask&(1<<i) != 0 {
				paths = append(paths, p)
			}
		}
		if extra != "" || len(paths) == 0 {
			paths = append(paths, extra)
		}
		var want []string
		for _, p := range paths {
			if p = smartcar.NormalizePath(p); !slices.Contains(want, p) {
				want = append(want, p)
			}
		}
		tr := memTransport{status: http.StatusOK, body: []byte(withSecrets(string(body), fuzzAccess)),
			header: http.Header{"Content-Type": {"application/json"}, "Sc-Request-Id": {"outer"}}}
		c := smartcar.NewClient(smartcar.WithAPIOrigin("http://api.invalid"), smartcar.WithHTTPClient(&http.Client{Transport: tr}))
		res, err := c.Batch(t.Context(), fuzzAccess, "veh-1", paths)
		if err != nil {
			if res != nil {
				t.Fatalf("Batch returned both a response and %v", err)
			}
			checkFuzzErr(t, err)
			return
		}
		items := res.Items()
		if len(items) < len(want) {
			t.Fatalf("%d items for %d requested paths", len(items), len(want))
		}
		for i, it := range items {
			if i < len(want) && it.Path != want[i] {
				t.Errorf("item %d is %q, want %q", i, it.Path, want[i])
			}
			ok2xx := it.StatusCode >= 200 && it.StatusCode <= 299
			if (it.Err == nil) != ok2xx {
				t.Errorf("item %s: status %d with Err %v: want success XOR error", it.Path, it.StatusCode, it.Err)
			}
			if it.Err != nil {
				if e := checkFuzzErr(t, it.Err); e.StatusCode != 0 && (e.StatusCode < 100 || e.StatusCode > 599) {
					t.Errorf("item %s: error status %d is not an HTTP status", it.Path, e.StatusCode)
				}
			}
			for _, tm := range []time.Time{it.Meta.DataAge, it.Meta.FetchedAt} {
				if _, err := tm.UTC().MarshalJSON(); err != nil {
					t.Errorf("item %s: metadata time %v cannot be encoded: %v", it.Path, tm, err)
				}
			}
			var v any
			if err := it.Decode(&v); err != nil {
				checkFuzzErr(t, err)
			}
			if got, ok := res.Item(it.Path); !ok || got.Path != it.Path {
				t.Errorf("Item(%q) = %q, %v", it.Path, got.Path, ok)
			}
		}
		checkAccessors(t, res)
	})
}

// checkAccessors calls every typed accessor: each gives a value or a *smartcar.Error.
func checkAccessors(t *testing.T, res *smartcar.BatchResponse) {
	t.Helper()
	check := func(name string, isNil bool, err error) {
		if (err == nil) == isNil {
			t.Errorf("%s: nil value = %v with error %v: want exactly one", name, isNil, err)
		}
		if err != nil {
			checkFuzzErr(t, err)
		}
	}
	v1, err := res.Info()
	check("Info", v1 == nil, err)
	v2, err := res.VIN()
	check("VIN", v2 == nil, err)
	v3, err := res.Odometer()
	check("Odometer", v3 == nil, err)
	v4, err := res.Location()
	check("Location", v4 == nil, err)
	v5, err := res.Battery()
	check("Battery", v5 == nil, err)
	v6, err := res.BatteryCapacity()
	check("BatteryCapacity", v6 == nil, err)
	v7, err := res.NominalCapacity()
	check("NominalCapacity", v7 == nil, err)
	v8, err := res.Charge()
	check("Charge", v8 == nil, err)
	v9, err := res.ChargeLimit()
	check("ChargeLimit", v9 == nil, err)
	v10, err := res.Fuel()
	check("Fuel", v10 == nil, err)
	v11, err := res.TirePressure()
	check("TirePressure", v11 == nil, err)
	v12, err := res.EngineOil()
	check("EngineOil", v12 == nil, err)
	v13, err := res.LockStatus()
	check("LockStatus", v13 == nil, err)
	v14, err := res.DiagnosticSystemStatus()
	check("DiagnosticSystemStatus", v14 == nil, err)
	v15, err := res.DiagnosticTroubleCodes()
	check("DiagnosticTroubleCodes", v15 == nil, err)
}

func wantMAC(key string, msg []byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(msg)
	return m.Sum(nil)
}

// FuzzVerifyPayload checks that VerifyPayload never panics and is true
// exactly for the HMAC-SHA256 of the body (hex, any case, surrounding
// space), and that HashChallenge is that HMAC in lowercase hex, every time.
func FuzzVerifyPayload(f *testing.F) {
	f.Add("amt-1", []byte(`{"eventName":"verify","payload":{"challenge":"abc"}}`), "")
	f.Add("", []byte{}, "00")
	f.Add("k", []byte("body"), " e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ")
	f.Add("k\x00", []byte("\xff"), "zz")
	f.Add("k", []byte("b"), strings.Repeat("a", 64))
	f.Fuzz(func(t *testing.T, amt string, body []byte, other string) {
		mac := wantMAC(amt, body)
		right := hex.EncodeToString(mac)
		for _, sig := range []string{right, strings.ToUpper(right), " \t" + right + "\n"} {
			if !smartcar.VerifyPayload(amt, sig, body) {
				t.Fatalf("VerifyPayload(%q, %q, %q) = false for the right HMAC", amt, sig, body)
			}
		}
		if smartcar.VerifyPayload(amt+"x", right, body) {
			t.Fatalf("VerifyPayload accepted the HMAC of another key")
		}
		if smartcar.VerifyPayload(amt, right, append(slices.Clone(body), 0)) {
			t.Fatalf("VerifyPayload accepted the HMAC of another body")
		}
		if smartcar.VerifyPayload(amt, right[:len(right)-2], body) {
			t.Fatalf("VerifyPayload accepted a truncated HMAC")
		}
		decoded, err := hex.DecodeString(strings.TrimSpace(other))
		want := err == nil && bytes.Equal(decoded, mac)
		if got := smartcar.VerifyPayload(amt, other, body); got != want {
			t.Fatalf("VerifyPayload(%q, %q, %q) = %v, want %v", amt, other, body, got, want)
		}

		challenge := string(body)
		h1, h2 := smartcar.HashChallenge(amt, challenge), smartcar.HashChallenge(amt, challenge)
		if h1 != h2 || h1 != right {
			t.Fatalf("HashChallenge(%q, %q) = %q then %q, want %q", amt, challenge, h1, h2, right)
		}
		if !smartcar.VerifyPayload(amt, h1, body) {
			t.Fatalf("VerifyPayload rejects HashChallenge's answer")
		}
	})
}

// hostile is an HTTP server whose handler misbehaves; it counts the bytes the
// client read from its responses.
type hostile struct {
	srv  *httptest.Server
	read atomic.Int64
}

func serveHostile(t *testing.T, h http.HandlerFunc) *hostile {
	t.Helper()
	hs := &hostile{srv: httptest.NewServer(h)}
	t.Cleanup(hs.srv.Close)
	return hs
}

func (hs *hostile) client(opts ...smartcar.ClientOption) *smartcar.Client {
	hc := &http.Client{Transport: readCounter{next: hs.srv.Client().Transport, n: &hs.read}}
	return smartcar.NewClient(append([]smartcar.ClientOption{smartcar.WithAPIOrigin(hs.srv.URL), smartcar.WithHTTPClient(hc)}, opts...)...)
}

// readCounter counts the response body bytes the client reads.
type readCounter struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (rc readCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rc.next.RoundTrip(r)
	if err == nil {
		resp.Body = countedBody{ReadCloser: resp.Body, n: rc.n}
	}
	return resp, err
}

type countedBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// endless writes chunk until the client goes away.
func endless(status int, prefix, chunk string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, prefix)
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	}
}

func fixed(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("SC-Request-Id", "req-h")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// drip sends prefix, then one byte every 20ms until the client goes away.
func drip(status int, prefix string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, prefix)
		w.(http.Flusher).Flush()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				if _, err := io.WriteString(w, " "); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	}
}

// truncated promises more bytes than it sends, then closes the connection.
func truncated(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+100))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func TestBatch_hostileResponses(t *testing.T) {
	const limit = 64 << 10
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		timeout  time.Duration
		wantCode string
		wantIs   error
	}{
		{name: "endless success body", handler: endless(200, `{"responses":[{"path":"/odometer","code":200,"body":"`, "xxxxxxxxxxxxxxxx"), wantCode: "RESPONSE_TOO_LARGE"},
		{name: "endless error body", handler: endless(500, `{"type":"SERVER","description":"`, "xxxxxxxxxxxxxxxx"), wantCode: "RESPONSE_TOO_LARGE"},
		{name: "huge whitespace body", handler: endless(200, "", "                "), wantCode: "RESPONSE_TOO_LARGE"},
		{name: "deeply nested success body", handler: fixed(200, `{"responses":`+deep+`}`), wantCode: "INVALID_RESPONSE"},
		{name: "deeply nested item body", handler: fixed(200, `{"responses":[{"path":"/odometer","code":200,"body":`+deep+`}]}`), wantCode: "INVALID_RESPONSE"},
		{name: "deeply nested error body", handler: fixed(503, `{"type":"SERVER","detail":`+deep+`}`), wantCode: "INVALID_RESPONSE"},
		{name: "object for responses array", handler: fixed(200, `{"responses":{"path":"/odometer","code":200}}`), wantCode: "INVALID_RESPONSE"},
		{name: "array for body object", handler: fixed(200, `[{"responses":[]}]`), wantCode: "INVALID_RESPONSE"},
		{name: "string for item code", handler: fixed(200, `{"responses":[{"path":"/odometer","code":"200","body":{}}]}`), wantCode: "INVALID_RESPONSE"},
		{name: "number for item path", handler: fixed(200, `{"responses":[{"path":7,"code":200,"body":{}}]}`), wantCode: "INVALID_RESPONSE"},
		{name: "array for item headers", handler: fixed(200, `{"responses":[{"path":"/odometer","code":200,"headers":["a"],"body":{}}]}`), wantCode: "INVALID_RESPONSE"},
		{name: "null responses", handler: fixed(200, `{"responses":null}`), wantCode: "INVALID_RESPONSE"},
		{name: "truncated success body", handler: truncated(200, `{"responses":[{"path":"/odometer","code":200,"bo`), wantCode: "INVALID_RESPONSE", wantIs: io.ErrUnexpectedEOF},
		{name: "truncated error body", handler: truncated(500, `{"type":"SERVER","desc`), wantCode: "INVALID_RESPONSE", wantIs: io.ErrUnexpectedEOF},
		{name: "slow drip success body", handler: drip(200, `{"responses":[`), timeout: 300 * time.Millisecond, wantCode: "TIMEOUT", wantIs: context.DeadlineExceeded},
		{name: "slow drip error body", handler: drip(500, `{"type":"SERVER"`), timeout: 300 * time.Millisecond, wantCode: "TIMEOUT", wantIs: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := serveHostile(t, tt.handler)
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			res, err := hs.client(smartcar.WithMaxResponseBytes(limit)).Batch(ctx, fuzzAccess, "veh-1", []string{"/odometer"})
			if err == nil {
				it, _ := res.Item("/odometer")
				t.Fatalf("Batch succeeded with item %+v, want a *smartcar.Error", it)
			}
			e := checkFuzzErr(t, err)
			if e.Type != smartcar.TypeSDK || e.Code != tt.wantCode {
				t.Errorf("error %v: got %s:%s, want %s:%s", e, e.Type, e.Code, smartcar.TypeSDK, tt.wantCode)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if got := hs.read.Load(); got > limit+1 {
				t.Errorf("client read %d body bytes, want at most the limit %d (+1)", got, limit)
			}
		})
	}
}

// TestBatch_hostileItems: a well-formed batch whose items have the wrong
// shape still succeeds; the bad items become *smartcar.Error on access.
func TestBatch_hostileItems(t *testing.T) {
	body := `{"responses":[
		{"path":"/odometer","code":200,"body":{"distance":"12"}},
		{"path":"/location","code":200,"body":[1,2]},
		{"path":"/vin","code":200,"body":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `},
		{"path":"/battery","code":200,"body":{"percentRemaining":1e999}},
		{"path":"/charge","code":200},
		{"path":"/fuel","code":500,"body":"<html>$TOK</html>"}]}`
	hs := serveHostile(t, fixed(200, withSecrets(body, fuzzAccess)))
	res, err := hs.client().Batch(t.Context(), fuzzAccess, "veh-1",
		[]string{"/odometer", "/location", "/vin", "/battery", "/charge", "/fuel"})
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	accessors := map[string]func() error{
		"/odometer": func() error { _, err := res.Odometer(); return err },
		"/location": func() error { _, err := res.Location(); return err },
		"/vin":      func() error { _, err := res.VIN(); return err },
		"/battery":  func() error { _, err := res.Battery(); return err },
		"/charge":   func() error { _, err := res.Charge(); return err },
		"/fuel":     func() error { _, err := res.Fuel(); return err },
	}
	for path, get := range accessors {
		t.Run(path, func(t *testing.T) {
			e := checkFuzzErr(t, get())
			if e.Type != smartcar.TypeSDK || e.Code != "INVALID_RESPONSE" {
				t.Errorf("got %s:%s (%v), want SDK_ERROR:INVALID_RESPONSE", e.Type, e.Code, e)
			}
		})
	}
}

// TestErrorResponse_escapedSecrets: a server that echoes a credential with
// JSON escapes must not get it into the error.
func TestErrorResponse_escapedSecrets(t *testing.T) {
	escaped := func(s string) string {
		b, _ := json.Marshal(s)
		return `\u00` + hex.EncodeToString([]byte{s[0]}) + string(b[2:len(b)-1])
	}
	body := `{"type":"VALIDATION","code":"` + escaped(fuzzAccess) + `","description":"token ` + escaped(fuzzAccess) +
		`","docURL":"` + escaped(fuzzAccess) + `","suggestedUserMessage":"` + escaped(fuzzAccess) +
		`","resolution":{"type":"RETRY_LATER","url":"` + escaped(fuzzAccess) + `"},"detail":[{"a":{"b":["` + escaped(fuzzAccess) + `"]}}]}`
	hs := serveHostile(t, fixed(400, body))
	_, err := hs.client().Batch(t.Context(), fuzzAccess, "veh-1", []string{"/odometer"})
	e := checkFuzzErr(t, err)
	if e.Type != smartcar.TypeValidation || !strings.Contains(e.Description, "REDACTED") {
		t.Errorf("error %#v: want VALIDATION with the token redacted", e)
	}
}
