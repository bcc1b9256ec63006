package queue

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
)

func TestAppendJob(t *testing.T) {
	tick := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		job  PollJob
	}{
		{"plain", PollJob{ID: "s/v/1", Schedule: "s", VehicleID: "v", Paths: []string{"/odometer", "/location"}, Tick: tick, Emit: "always"}},
		{"no emit, nil paths", PollJob{ID: "s/v/1", Schedule: "s", VehicleID: "v", Tick: tick}},
		{"empty paths", PollJob{ID: "x", VehicleID: "v", Paths: []string{}, Tick: tick}},
		{"escapes", PollJob{ID: "a\"b\\c", Schedule: "tab\there\nnl\rcr\x01\x1f", VehicleID: "v", Paths: []string{"<&>", "ünï€😀"}, Tick: tick}},
		{"zoned nanos", PollJob{ID: "x", VehicleID: "v", Tick: time.Date(2026, 1, 2, 3, 4, 5, 600700800, time.FixedZone("", -5*3600-30*60))}},
		{"zero tick", PollJob{ID: "x", VehicleID: "v"}},
		{"invalid utf8", PollJob{ID: "x\xff", VehicleID: "v", Tick: tick}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appendJob(nil, &tt.job)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("appendJob() = %s, not valid JSON", got)
			}
			// Same value as encoding/json produces, once decoded.
			want, err := json.Marshal(&tt.job)
			if err != nil {
				t.Fatal(err)
			}
			var gotV, wantV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &wantV); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantV, gotV); diff != "" {
				t.Errorf("appendJob() differs from json.Marshal (-want +got):\n%s", diff)
			}
			var back PollJob
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if tt.name != "invalid utf8" {
				if diff := cmp.Diff(tt.job, back); diff != "" {
					t.Errorf("round trip (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func BenchmarkAppendJob(b *testing.B) {
	j := PollJob{ID: "default/7d0a6c8e-2f4b-4f0e-9a51-1c2d3e4f5a6b/1772368200", Schedule: "default",
		VehicleID: "7d0a6c8e-2f4b-4f0e-9a51-1c2d3e4f5a6b", Paths: []string{"/odometer", "/location", "/battery"},
		Tick: time.Unix(1772368200, 0).UTC(), Emit: "on_change"}
	b.Run("appendJob", func(b *testing.B) {
		for b.Loop() {
			if _, err := appendJob(make([]byte, 0, jobSize(&j)), &j); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline_json_marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(&j); err != nil {
				b.Fatal(err)
			}
		}
	})
}

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

func TestParseJob(t *testing.T) {
	tick := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	// What appendJob writes parses back to the same job, fast.
	for _, j := range []PollJob{
		{ID: "s/v/1", Schedule: "s", VehicleID: "v", Paths: []string{"/odometer", "/location"}, Tick: tick, Emit: "always"},
		{ID: "s/v/1", Schedule: "s", VehicleID: "v", Tick: tick},
		{ID: "x", VehicleID: "v", Paths: []string{}, Tick: time.Date(2026, 1, 2, 3, 4, 5, 600700800, time.FixedZone("", -5*3600-30*60))},
		{ID: "ünï€", VehicleID: "v", Paths: []string{"/a"}, Tick: tick},
	} {
		data, err := appendJob(nil, &j)
		if err != nil {
			t.Fatal(err)
		}
		var got PollJob
		if !parseJob(data, &got) {
			t.Errorf("parseJob(%s) = false, want the fast path", data)
			continue
		}
		if diff := cmp.Diff(j, got); diff != "" {
			t.Errorf("parseJob(%s) (-want +got):\n%s", data, diff)
		}
	}
	// Anything else is left to encoding/json, which decode falls back to.
	for _, body := range []string{
		`{"id":"a\"b","schedule":"s","vehicle_id":"v","paths":null,"tick":"2026-03-01T12:30:00Z"}`,
		`{"vehicle_id":"v","id":"x","schedule":"s","paths":null,"tick":"2026-03-01T12:30:00Z"}`,
		`{ "id":"x","schedule":"s","vehicle_id":"v","paths":null,"tick":"2026-03-01T12:30:00Z"}`,
		`{"id":"x","schedule":"s","vehicle_id":"v","paths":null,"tick":"2026-03-01T12:30:00Z","extra":1}`,
		`{"id":"x","schedule":"s","vehicle_id":"v","paths":["a",],"tick":"2026-03-01T12:30:00Z"}`,
		`{"id":"x","schedule":"s","vehicle_id":"v","paths":null,"tick":"yesterday"}`,
		`{"id":"x","schedule":"s","vehicle_id":"v","paths":null,"tick":"2026-03-01T12:30:00Z"}garbage`,
		`{"id":"x"`,
		``,
	} {
		var got PollJob
		if parseJob([]byte(body), &got) {
			t.Errorf("parseJob(%s) = true, want false", body)
		}
	}
	// decode still reads the escaped and reordered forms.
	var got PollJob
	if err := decode([]byte(`{"vehicle_id":"v","id":"a\"b","paths":["/x"],"tick":"2026-03-01T12:30:00Z"}`), &got); err != nil {
		t.Fatal(err)
	}
	if want := (PollJob{ID: `a"b`, VehicleID: "v", Paths: []string{"/x"}, Tick: tick}); !cmp.Equal(want, got) {
		t.Errorf("decode() = %+v, want %+v", got, want)
	}
}

func BenchmarkDecode(b *testing.B) {
	j := PollJob{ID: "default/7d0a6c8e-2f4b-4f0e-9a51-1c2d3e4f5a6b/1772368200", Schedule: "default",
		VehicleID: "7d0a6c8e-2f4b-4f0e-9a51-1c2d3e4f5a6b", Paths: []string{"/odometer", "/location", "/battery"},
		Tick: time.Unix(1772368200, 0).UTC(), Emit: "on_change"}
	data, _ := appendJob(nil, &j)
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			var got PollJob
			if err := decode(data, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline_json_unmarshal", func(b *testing.B) {
		for b.Loop() {
			var got PollJob
			if err := json.Unmarshal(data, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}
