package normalize_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// memBatch answers every request in memory with a 200 and body, so a fuzzer
// can run the SDK's real batch parsing many times a second.
type memBatch []byte

func (m memBatch) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(m)), ContentLength: -1, Request: r}, nil
}

// rawOrString is b when it is valid JSON, else b as a JSON string.
func rawOrString(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

// itemFor builds a batch response with one item (path, code, headers, body),
// parses it with a real smartcar.Client and returns the item, or the error
// of the whole batch.
func itemFor(t testing.TB, path string, code int, headers, body []byte, unit smartcar.UnitSystem) (smartcar.BatchItem, error) {
	t.Helper()
	item := map[string]any{"path": path, "code": code, "body": rawOrString(body)}
	if len(headers) > 0 {
		item["headers"] = rawOrString(headers)
	}
	batch, err := json.Marshal(map[string]any{"responses": []any{item}})
	if err != nil {
		t.Fatal(err)
	}
	c := smartcar.NewClient(smartcar.WithAPIOrigin("http://api.invalid"), smartcar.WithUnitSystem(unit),
		smartcar.WithHTTPClient(&http.Client{Transport: memBatch(batch)}))
	res, err := c.Batch(t.Context(), "tok", "veh-1", []string{path})
	if err != nil {
		return smartcar.BatchItem{}, err
	}
	return res.Items()[0], nil
}

// wireSignal is one signal of a VEHICLE_STATE webhook body.
type wireSignal struct {
	Code   string          `json:"code"`
	Name   string          `json:"name,omitempty"`
	Group  string          `json:"group,omitempty"`
	Body   json.RawMessage `json:"body,omitempty"`
	Status json.RawMessage `json:"status,omitempty"`
	Meta   json.RawMessage `json:"meta,omitempty"`
}

// webhook parses a VEHICLE_STATE webhook carrying signals with
// smartcar.ParseWebhook.
func webhook(t testing.TB, signals ...wireSignal) *smartcar.WebhookEvent {
	t.Helper()
	b, err := json.Marshal(map[string]any{"eventId": "e1", "eventType": "VEHICLE_STATE",
		"data": map[string]any{"vehicle": map[string]any{"id": "veh-1"}, "signals": signals}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := smartcar.ParseWebhook(b)
	if err != nil {
		t.Fatalf("parse webhook %s: %v", b, err)
	}
	return ev
}

// sig is a successful webhook signal with body and times (ms).
func sig(code, body string, oemMs, retrievedMs int64) wireSignal {
	meta, _ := json.Marshal(map[string]int64{"retrievedAt": retrievedMs, "oemUpdatedAt": oemMs})
	return wireSignal{Code: code, Body: json.RawMessage(body), Meta: meta}
}

// eventOf builds the event of an item and checks it against its JSON Schema.
func eventOf(t testing.TB, vehicleID string, it normalize.Item) events.Event {
	t.Helper()
	ev, err := events.New(it.Signal, vehicleID, it.Data, events.Meta{
		ID: events.EventID("job", it.Key), Time: it.Time, FetchedAt: it.FetchedAt, RequestID: it.RequestID,
	})
	if err != nil {
		t.Fatalf("events.New(%s, %+v): %v", it.Signal, it.Data, err)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encode event %+v: %v", ev, err)
	}
	if err := events.Validate(b); err != nil {
		t.Fatalf("event fails its schema: %v\n%s", err, b)
	}
	return ev
}

// byKey indexes a result's items by key.
func byKey(items []normalize.Item) map[string]normalize.Item {
	out := map[string]normalize.Item{}
	for _, it := range items {
		out[it.Key] = it
	}
	return out
}

func ms(t time.Time) int64 { return t.UnixMilli() }
