package queue

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
)

func TestParseAck(t *testing.T) {
	tests := []struct {
		name    string
		msg     *nats.Msg
		wantDup bool
		wantErr string
	}{
		{"stored", &nats.Msg{Data: []byte(`{"stream":"S_JOBS","seq":12}`)}, false, ""},
		{"duplicate, as the server writes it", &nats.Msg{Data: []byte(`{"stream":"S_JOBS","seq":12,"duplicate": true}`)}, true, ""},
		{"duplicate, no space", &nats.Msg{Data: []byte(`{"stream":"S_JOBS","seq":12,"duplicate":true}`)}, true, ""},
		{"domain first", &nats.Msg{Data: []byte(`{"domain":"hub","stream":"S_JOBS","seq":1,"duplicate":true}`)}, true, ""},
		{"duplicate false", &nats.Msg{Data: []byte(`{"stream":"S_JOBS","seq":12,"duplicate":false}`)}, false, ""},
		{"error", &nats.Msg{Data: []byte(`{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"S_JOBS","seq":0}`)}, false, "maximum messages exceeded"},
		{"no responders", &nats.Msg{Header: nats.Header{"Status": []string{"503"}}}, false, "no responders"},
		{"empty", &nats.Msg{}, false, "invalid publish ack"},
		{"garbage", &nats.Msg{Data: []byte(`nope`)}, false, "invalid publish ack"},
		{"no stream", &nats.Msg{Data: []byte(`{"seq":1}`)}, false, "invalid publish ack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dup, err := parseAck(tt.msg)
			if dup != tt.wantDup {
				t.Errorf("parseAck() dup = %v, want %v", dup, tt.wantDup)
			}
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("parseAck() error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// decode reads what Enqueue writes, and any other JSON form of a job.
func TestDecode(t *testing.T) {
	tick := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	for _, j := range []PollJob{
		{ID: "s/v/1", Schedule: "s", VehicleID: "v", Paths: []string{"/odometer", "/location"}, Tick: tick, Emit: "always"},
		{ID: "s/v/1", Schedule: "s", VehicleID: "v", Tick: tick},
		{ID: "s/v/2", Schedule: "s", VehicleID: "v", Signals: []string{"odometer", "transmission-gearstate"}, Tick: tick, Emit: "on_change"},
		{ID: "x", VehicleID: "v", Signals: []string{"all"}, Tick: time.Date(2026, 1, 2, 3, 4, 5, 600700800, time.FixedZone("", -5*3600-30*60))},
		{ID: "a\"b\\c<&>ünï€😀", Schedule: "tab\there\nnl", VehicleID: "v", Paths: []string{"/a"}, Tick: tick},
	} {
		data, err := json.Marshal(&j)
		if err != nil {
			t.Fatal(err)
		}
		var got PollJob
		if err := decode(data, &got); err != nil {
			t.Fatalf("decode(%s): %v", data, err)
		}
		if diff := cmp.Diff(j, got); diff != "" {
			t.Errorf("decode(%s) (-want +got):\n%s", data, diff)
		}
	}
	var got PollJob
	if err := decode([]byte(`{"vehicle_id":"v","id":"a\"b","paths":["/x"],"tick":"2026-03-01T12:30:00Z"}`), &got); err != nil {
		t.Fatal(err)
	}
	if want := (PollJob{ID: `a"b`, VehicleID: "v", Paths: []string{"/x"}, Tick: tick}); !cmp.Equal(want, got) {
		t.Errorf("decode() = %+v, want %+v", got, want)
	}
	for _, body := range []string{`{"id":"x"}`, `{"vehicle_id":"v"}`} {
		if err := decode([]byte(body), &PollJob{}); !errors.Is(err, errNoID) {
			t.Errorf("decode(%s) error = %v, want errNoID", body, err)
		}
	}
	for _, body := range []string{`{"id":"x"`, ``, `{"id":"x","vehicle_id":"v","tick":"yesterday"}`} {
		if err := decode([]byte(body), &PollJob{}); err == nil {
			t.Errorf("decode(%s) error = nil, want an error", body)
		}
	}
}
